"""Sample with two denoisers split by noise level (eDiff-I's experts) and judge them.

A lever against the clumps (docs/generator-v2.md, "Where the clumps form"):
they form on the sampler's own path between t ~ 800 and 400, where one
3.6M-parameter UNet must also serve the low-noise steps. Balaji et al. (2022,
"eDiff-I: Text-to-Image Diffusion Models with an Ensemble of Expert
Denoisers") give each range of noise levels its own denoiser, at one
network's cost per step. Here ``--high`` (a copy of the model fine-tuned only
on LOW <= t < 1000 with ``FinetuneConfig.timestep_range``) takes every
sampler step at t >= ``--boundary`` and ``--model`` the rest. The images go
through ``galaxysd evaluate``'s own judging, text-only, so the figures compare
with the README's goal table.

    galaxysd finetune --config HIGH.json      # timestep_range [400, 1000], from --model
    python benchmarks/noise_experts.py --model assets/demo-model \
        --high RUN/model --real SKY --seed 0 --guidance-interval 0 400 --out DIR

``--high`` left out judges ``--model`` alone through the same code, the
yardstick on the same seeds.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from galaxysd_core.metrics import EvaluateConfig
from galaxysd_core.metrics.evaluate import (
    diffusion_generate,
    evaluate_run,
    load_checkpoint_pipeline,
)


class NoiseExperts(torch.nn.Module):
    """One UNet for t >= ``boundary``, another below; the pipeline sees one UNet."""

    def __init__(self, low: Any, high: Any, boundary: float) -> None:
        super().__init__()
        self.low, self.high, self.boundary = low, high, boundary

    @property
    def config(self) -> Any:
        return self.low.config

    @property
    def device(self) -> torch.device:
        return self.low.device

    @property
    def dtype(self) -> torch.dtype:
        return self.low.dtype

    def forward(self, sample: torch.Tensor, timestep: Any, *args: Any, **kwargs: Any) -> Any:
        t = float(timestep.flatten()[0]) if torch.is_tensor(timestep) else float(timestep)
        return (self.high if t >= self.boundary else self.low)(sample, timestep, *args, **kwargs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help="the low-noise denoiser's pipeline folder")
    parser.add_argument(
        "--high",
        help="the high-noise expert: a model folder or a checkpoint-N (EMA weights); default none",
    )
    parser.add_argument("--boundary", type=float, default=400)
    parser.add_argument("--real", required=True, help="held-out mock sky")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-images", type=int, default=12)
    parser.add_argument("--guidance", type=float, default=7.0)
    parser.add_argument("--guidance-interval", type=float, nargs=2)
    parser.add_argument("--out", required=True, help="evaluation folder")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    high = load_checkpoint_pipeline(Path(args.high)).unet if args.high else None
    interval = tuple(args.guidance_interval) if args.guidance_interval else None

    def experts_generate(pipeline: Any, prompt: str, **settings: Any) -> list:
        if high is not None and not isinstance(pipeline.unet, NoiseExperts):
            # Not the pipeline's setattr: that would rewrite its saved config.
            object.__setattr__(pipeline, "unet", NoiseExperts(pipeline.unet, high, args.boundary))
        return diffusion_generate(pipeline, prompt, guidance_interval=interval or (), **settings)

    config = EvaluateConfig(
        run=Path(args.model),
        real=Path(args.real),
        modes=("text",),
        n_images=args.n_images,
        steps=20,
        guidance=args.guidance,
        sweep=False,
        seed=args.seed,
        output_dir=Path(args.out),
    )
    start = time.perf_counter()
    evaluate_run(config, generate_fn=experts_generate)
    metrics = pd.read_parquet(Path(args.out) / "metrics.parquet")
    row = metrics[(metrics["prompt"] == "ALL") & (metrics["mode"] == "text")].iloc[0]
    result = {
        "model": args.model,
        "high": args.high,
        "boundary": args.boundary,
        "seed": args.seed,
        "guidance": args.guidance,
        "guidance_interval": interval,
        "seconds": round(time.perf_counter() - start),
        **{
            k: round(float(row[k]), 3)
            for k in ("c2st", "fd", "coverage", "physical", "realism", "consistency")
        },
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
