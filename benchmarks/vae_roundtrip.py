"""What survives a model's VAE: feature rates and the sky, before and after a round trip.

A latent diffusion model can only draw what its VAE carries. For a mock sky
with truth, up to ``--n`` galaxies per group (true dust lanes, spirals, bars)
are judged by the feature classifiers as rendered and after an encode
(posterior mean) / decode round trip; the sky level and noise of the image
corners (``galaxysd_core.classify.skymatch.sky_statistics``) are compared the
same way. Issue 14's goal: the round trip keeps >= 80 % of the rendered
images' dust-lane rate. The classifiers can call a round trip "dust lane"
without the band (a reddened core), so the sky's D-ETGs are also judged
without a network: the share whose darkest band through the centre is
deeper than ``LANE_DEPTH_CUT`` (``galaxysd_core.metrics.morphology.lane_share``).

    python benchmarks/vae_roundtrip.py --model assets/demo-model --sky SKY [--n 96]

``--model`` may be a pipeline folder or a bare VAE folder; ``--classifiers``
picks the judges (default: the shipped ones).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from PIL import Image

from galaxysd_core.classify.skymatch import sky_statistics
from galaxysd_core.metrics.feature_cnn import DEFAULT_FOLDER, load_feature_cnn
from galaxysd_core.metrics.features import FEATURES, feature_labels
from galaxysd_core.metrics.morphology import lane_share

NAMES = [f.name for f in FEATURES]
GROUPS = {"dust_lane": "dust_lane", "spiral": "spiral", "bar": "bar", "edge_on": "edge_on"}


def load_vae(folder: str):
    """The VAE of a pipeline folder, or a bare VAE folder."""
    from diffusers import AutoencoderKL

    path = Path(folder)
    path = path / "vae" if (path / "vae" / "config.json").is_file() else path
    return AutoencoderKL.from_pretrained(path, local_files_only=True).float().eval()


def round_trip(vae, images: list[Image.Image], batch: int = 16) -> list[Image.Image]:
    """Encode (posterior mean) and decode RGB images at the VAE's own size."""
    size = vae.config.sample_size
    out = []
    for start in range(0, len(images), batch):
        chunk = [i.resize((size, size), Image.BICUBIC) for i in images[start : start + batch]]
        x = np.stack([np.asarray(i, dtype=np.float32) / 127.5 - 1 for i in chunk])
        with torch.no_grad():
            z = vae.encode(torch.from_numpy(x).permute(0, 3, 1, 2)).latent_dist.mean
            y = vae.decode(z).sample.clamp(-1, 1)
        y = ((y + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy()
        out.extend(Image.fromarray(a) for a in y)
    return out


def sky(images: list[Image.Image]) -> tuple[float, float]:
    """Median corner level and noise (0-255, mean over channels) of a set of images."""
    x = torch.from_numpy(np.stack([np.asarray(i) for i in images])).permute(0, 3, 1, 2)
    stats = sky_statistics(x.contiguous())
    return float(np.median(stats[:, 0].mean(-1))), float(np.median(stats[:, 1].mean(-1)))


def measure(model: str, sky_dir: str, classifiers, n: int) -> dict:
    truth = pd.read_parquet(f"{sky_dir}/truth.parquet")
    labels, _ = feature_labels(truth)
    vae = load_vae(model)
    result: dict = {"model": model, "size": vae.config.sample_size, "groups": {}}
    all_before, all_after = [], []
    for group, column in GROUPS.items():
        ids = truth["asset_id"].to_numpy()[labels[column].to_numpy(bool)][:n]
        before = [Image.open(f"{sky_dir}/images/{a}.jpg").convert("RGB") for a in ids]
        before = [i.resize((vae.config.sample_size,) * 2, Image.BICUBIC) for i in before]
        after = round_trip(vae, before)
        k = NAMES.index(column)
        rate_before = float(classifiers.predict(before)[:, k].mean())
        rate_after = float(classifiers.predict(after)[:, k].mean())
        result["groups"][f"{group} (n={len(ids)})"] = {
            "rendered": round(rate_before, 3),
            "after round trip": round(rate_after, 3),
            "kept": round(rate_after / rate_before, 3) if rate_before else None,
        }
        all_before += before
        all_after += after
    ids = truth["asset_id"].to_numpy()[truth["is_detg"].to_numpy(bool)][:n]
    before = [Image.open(f"{sky_dir}/images/{a}.jpg").convert("RGB") for a in ids]
    before = [i.resize((vae.config.sample_size,) * 2, Image.BICUBIC) for i in before]
    share_before, share_after = lane_share(before), lane_share(round_trip(vae, before))
    result["groups"][f"D-ETG band, lane_depth (n={len(ids)})"] = {
        "rendered": round(share_before, 3),
        "after round trip": round(share_after, 3),
        "kept": round(share_after / share_before, 3) if share_before else None,
    }
    level_b, noise_b = sky(all_before)
    level_a, noise_a = sky(all_after)
    result["sky"] = {
        "rendered": {"level": round(level_b, 2), "noise": round(noise_b, 2)},
        "after round trip": {"level": round(level_a, 2), "noise": round(noise_a, 2)},
    }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", required=True, help="pipeline or VAE folder")
    parser.add_argument("--sky", required=True, help="mock sky folder with truth.parquet")
    parser.add_argument("--n", type=int, default=96, help="galaxies per group")
    parser.add_argument("--classifiers", default=str(DEFAULT_FOLDER), help="feature classifiers")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    classifiers = load_feature_cnn(args.classifiers)
    print(f"judges: {args.classifiers}; sky: {args.sky}; up to {args.n} galaxies per group")
    results = []
    for model in args.model:
        t0 = time.perf_counter()
        r = measure(model, args.sky, classifiers, args.n)
        results.append(r)
        print(f"\n{model} ({r['size']} px, {time.perf_counter() - t0:.0f} s)")
        for group, row in r["groups"].items():
            print(
                f"  {group:<34} {row['rendered']:.3f} -> {row['after round trip']:.3f}"
                f"  (kept {row['kept']})"
            )
        s = r["sky"]
        print(
            f"  sky level {s['rendered']['level']} -> {s['after round trip']['level']}, "
            f"noise {s['rendered']['noise']} -> {s['after round trip']['noise']}"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
