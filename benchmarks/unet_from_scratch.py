"""Train a model's UNet from scratch with other GroupNorm groups or other channel widths.

A diagnosis of the clumps (docs/generator-v2.md, "Where the clumps form"). Two questions.
Normalisation (``--groups``): the v3 preset's
UNet has 16 channels at its finest (32x32) level and 16 norm groups, so each
group there is a single channel: GroupNorm becomes instance normalisation,
which StyleGAN's authors (Karras et al. 2020, "Analyzing and Improving the
Image Quality of StyleGAN", section 2) found makes a generator paint strong
local blobs to carry the per-channel scale the normalisation removes.
Width (``--channels``): the same UNet trained on 46 spirals draws their arms
(``benchmarks/memorise.py``), so is it too narrow for the whole sky?

Each run trains ``--model``'s UNet blocks with a fresh initialisation,
``--groups`` groups and, if given, ``--channels`` per level, with the demo
guide's recipe: ``--model``'s VAE and frozen text encoder, its training sky's
pairs, AdamW one-cycle, EMA, min-SNR 5. Runs with the same ``--steps`` and
``--seed`` differ in the UNet's shape alone. Judge them with ``galaxysd
evaluate`` and ``benchmarks/generator_sheet.py``.

    python benchmarks/unet_from_scratch.py --model assets/demo-model --out DIR --prepare
    python benchmarks/unet_from_scratch.py --model assets/demo-model --out DIR --groups 16 --steps 4000
    python benchmarks/unet_from_scratch.py --model assets/demo-model --out DIR --groups 4 --steps 4000
    python benchmarks/unet_from_scratch.py --model assets/demo-model --out DIR --groups 8 \
        --channels 32 96 96 96 --steps 4000

``--prepare`` builds the training sky (``galaxysd sky --n 16000 --size 128
--seed 0``, the demo model's) and its pairs in ``DIR`` once, so variants can
then train side by side. A variant resumes from its latest checkpoint and
writes ``DIR/<variant>/model`` (fp32, the EMA weights), where the variant is
``g<groups>``, or ``c<channels>_g<groups>`` with ``--channels``.
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import torch
from diffusers import UNet2DConditionModel

from galaxysd_core.diffusion.config import GuideBuildConfig
from galaxysd_core.diffusion.demo import _unet_stage, training_pairs
from galaxysd_core.diffusion.finetune import finetune
from galaxysd_core.diffusion.pipelines import load_pipeline, save_pipeline
from galaxysd_core.progress import Progress, progress_for_cli


def fresh_unet(
    unet: UNet2DConditionModel, groups: int, channels: list[int] | None, seed: int
) -> UNet2DConditionModel:
    """``unet``'s blocks with ``groups`` norm groups and ``channels`` (None: its own), fresh."""
    channels = list(channels or unet.config.block_out_channels)
    if len(channels) != len(unet.config.block_out_channels):
        raise SystemExit(
            f"--channels {channels} needs {len(unet.config.block_out_channels)} values, one a level"
        )
    if any(c % groups for c in channels):
        raise SystemExit(f"--groups {groups} does not divide the channels {channels}")
    torch.manual_seed(seed)
    return UNet2DConditionModel.from_config(
        {**dict(unet.config), "norm_num_groups": groups, "block_out_channels": channels}
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--model", required=True, help="diffusers folder (VAE, text encoder, UNet blocks)"
    )
    parser.add_argument("--out", required=True, help="experiment folder")
    parser.add_argument("--prepare", action="store_true", help="only build the sky and pairs")
    parser.add_argument("--groups", type=int, help="GroupNorm groups of the fresh UNet")
    parser.add_argument(
        "--channels", type=int, nargs="+", help="channels per level (default: --model's)"
    )
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--lr", type=float, default=4e-4)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    _, dataset = training_pairs(out, sky=None, n=16000, size=128, seed=0, progress=Progress())
    if args.prepare:
        print(f"sky and pairs ready in {out} ({time.monotonic() - t0:.0f} s)")
        return
    if args.groups is None:
        raise SystemExit("--groups is required unless --prepare")
    name = f"g{args.groups}"
    if args.channels:
        name = f"c{'-'.join(map(str, args.channels))}_{name}"
    work = out / name
    init = work / "init-model"
    if not (init / "model_index.json").is_file():
        pipe = load_pipeline(args.model)
        pipe.unet = fresh_unet(pipe.unet, args.groups, args.channels, args.seed)
        save_pipeline(pipe, init)
    # The demo guide's recipe (galaxysd demo guide), one home for it; only the UNet differs.
    recipe = GuideBuildConfig(steps=args.steps, batch=args.batch, lr=args.lr, seed=args.seed)
    config = _unet_stage(
        init,
        dataset,
        work / "finetune",
        recipe,
        warmup_steps=min(200, args.steps // 10),
        train_text_encoder=False,  # the variants read prompts alike
        checkpoint_every=min(500, args.steps),
        log_every=50,
    )
    result = finetune(config, progress=progress_for_cli(name))
    trained = load_pipeline(result.model_dir)
    save_pipeline(trained, work / "model")
    print(
        f"{name}: {sum(p.numel() for p in trained.unet.parameters()):,} "
        f"UNet parameters, step {result.step}, loss {result.loss:.4f}, "
        f"{time.monotonic() - t0:.0f} s; model in {work / 'model'}"
    )


if __name__ == "__main__":
    main()
