"""GPU check at Stable Diffusion 1.5's real size: sampling and fine-tuning speed.

SD-1.5's weights cannot be downloaded here, so the networks are SD-1.5's
architecture with random weights (``sd15_components``: UNet 859.5M, CLIP
text encoder 123.1M, VAE 83.7M). Speed does not depend on the weights. The
model is saved as a diffusers folder and loaded back with ``load_pipeline``,
which is the same path a user's real SD-1.5 or GalaxySD folder takes.

Measured side by side, in one run:

1. Sampling at 512x512, fp16, Euler ancestral, 30 steps, CFG 7.5: our
   ``generate()`` against a bare diffusers call on the same components, at
   batch 1 and 4.
2. Fine-tuning with our ``finetune()`` loop: UNet and text encoder, fp16
   mixed precision, EMA, batch 16, cached latents, on the real SDSS images
   resized to SD's 512x512 (the paper trained at 424x424, 0.69 of the pixels,
   so this is the dearer case). The paper's run is for comparison:
   10,000 steps in about 3.7 h on one RTX 3090, which is 0.75 steps/s.
3. The bundled demo model at 64x64 on the same GPU.

    python benchmarks/gpu_sd15.py --images DIR_WITH_labels.csv --out RESULTS.json

``DIR`` is ``../shared/reference/sdss_gz2`` or a copy of it. Results are
printed and written to ``--out`` after each part, so a run cut short keeps
what it measured.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import tempfile
import time
from pathlib import Path

import torch

from galaxysd_core.diffusion import (
    build_pipeline,
    generate,
    load_pipeline,
    make_scheduler,
    save_pipeline,
)
from galaxysd_core.diffusion.finetune import FinetuneConfig, finetune
from galaxysd_core.diffusion.pipelines import sd15_components
from galaxysd_core.paths import DEMO_MODEL
from galaxysd_core.progress import Progress

PROMPT = "sdss, spiral galaxy, tightly wound spiral arms"


class Clock(Progress):
    """Records when each training step ended."""

    def __init__(self) -> None:
        self.times: dict[int, float] = {}

    def update(self, step: int, total: int, **logs) -> None:
        self.times.setdefault(step, time.perf_counter())


def timed(fn, repeats: int) -> float:
    """Median wall time of ``fn`` after one warm-up call, GPU work included."""
    fn()
    times = []
    for _ in range(repeats):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def sampling(model: Path, *, steps: int, repeats: int) -> dict:
    """Our ``generate()`` vs a bare pipeline call, fp16 on the GPU, at the model's size."""
    pipe = load_pipeline(model, device="cuda", dtype=torch.float16)
    size = pipe.unet.config.sample_size * pipe.vae_scale_factor
    bare = type(pipe)(**pipe.components, requires_safety_checker=False)
    bare.scheduler = make_scheduler("euler_a", pipe.scheduler.config)
    bare.set_progress_bar_config(disable=True)
    result = {"size": size, "steps": steps, "dtype": "float16", "scheduler": "euler_a"}
    for n in (1, 4):

        def ours(n: int = n) -> None:
            generate(pipe, PROMPT, n=n, seed=0, steps=steps, guidance=7.5, batch_size=n)

        def bare_call(n: int = n) -> None:
            gens = [torch.Generator().manual_seed(i) for i in range(n)]
            bare(
                [PROMPT] * n,
                num_inference_steps=steps,
                guidance_scale=7.5,
                generator=gens,
            )

        t_bare, t_ours = timed(bare_call, repeats), timed(ours, repeats)
        result[f"batch{n}"] = {
            "bare_s": round(t_bare, 3),
            "ours_s": round(t_ours, 3),
            "ratio": round(t_ours / t_bare, 3),
            "ours_images_per_s": round(n / t_ours, 2),
        }
        print(f"sampling {size}px batch {n}: {result[f'batch{n}']}", flush=True)
    return result


def sdss_dataset(images: Path, out: Path) -> Path:
    """A prepared-dataset folder (``metadata.jsonl``) over the real SDSS images."""
    out.mkdir(parents=True, exist_ok=True)
    with (images / "labels.csv").open() as fh, (out / "metadata.jsonl").open("w") as meta:
        for row in csv.DictReader(fh):
            src = images / row["file"]
            (out / src.name).write_bytes(src.read_bytes())
            text = f"sdss, {row['paper_prompt']}"
            meta.write(json.dumps({"file_name": src.name, "text": text, "tags": []}) + "\n")
    return out


def training(model: Path, data: Path, run: Path, *, steps: int, batch: int) -> dict:
    """Steps/s of our fine-tuning loop at SD-1.5 size (after 5 warm-up steps)."""
    clock = Clock()
    torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    config = FinetuneConfig(
        model=model,
        dataset=data,
        output_dir=run,
        steps=steps,
        batch=batch,
        lr=1.6e-6,
        warmup_steps=5,
        mixed_precision="fp16",
        ema=True,
        augment=8,
        checkpoint_every=steps,
        keep_last=1,
        validation_prompts=[PROMPT],
        validation_steps=2,
    )
    result = finetune(config, progress=clock)
    total = time.perf_counter() - t0
    unet = json.loads((model / "unet" / "config.json").read_text())
    vae = json.loads((model / "vae" / "config.json").read_text())
    size = unet["sample_size"] * 2 ** (len(vae["block_out_channels"]) - 1)
    first = 5
    rate = (steps - first) / (clock.times[steps] - clock.times[first])
    return {
        "steps": steps,
        "batch": batch,
        "image_size": size,
        "mixed_precision": "fp16",
        "ema": True,
        "steps_per_s": round(rate, 3),
        "images_per_s": round(rate * batch, 1),
        "paper_rtx3090_steps_per_s": round(10_000 / (3.7 * 3600), 3),
        "hours_for_paper_10k_steps": round(10_000 / rate / 3600, 2),
        "peak_gpu_memory_gib": round(torch.cuda.max_memory_allocated() / 2**30, 1),
        "wall_s_including_setup_and_checkpoint": round(total, 1),
        "final_loss": result.loss,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--train-steps", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("this check needs a CUDA GPU")
    torch.backends.cuda.matmul.allow_tf32 = True
    results: dict = {
        "gpu": torch.cuda.get_device_name(),
        "torch": torch.__version__,
    }

    def save() -> None:
        args.out.write_text(json.dumps(results, indent=2) + "\n")

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        components = sd15_components(0)
        results["parameters_millions"] = {
            k: round(sum(p.numel() for p in components[k].parameters()) / 1e6, 2)
            for k in ("unet", "text_encoder", "vae")
        }
        model = save_pipeline(build_pipeline(components), tmp / "sd15", fp16=True)
        del components
        results["build_and_save_s"] = round(time.perf_counter() - t0, 1)
        print(results, flush=True)
        save()
        results["sampling_sd15"] = sampling(model, steps=30, repeats=args.repeats)
        save()
        results["sampling_demo_model"] = sampling(DEMO_MODEL, steps=30, repeats=args.repeats)
        torch.cuda.empty_cache()
        save()
        data = sdss_dataset(args.images, tmp / "data")
        results["finetune"] = training(model, data, tmp / "run", steps=args.train_steps, batch=16)
        print(results["finetune"], flush=True)
        save()


if __name__ == "__main__":
    main()
