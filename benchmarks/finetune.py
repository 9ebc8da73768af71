"""Fine-tuning speed: our ``finetune()`` loop vs a minimal diffusers loop, same tiny model.

Both train UNet + text encoder on cached latents with AdamW and epsilon MSE;
ours adds tag shuffling, prompt dropout, the LR schedule, gradient clipping and
progress events (EMA and min-SNR off here, as in the minimal loop; a second line
shows ours with EMA on). Goal (issue 4): ours / minimal >= 0.9 steps/s.

    python benchmarks/finetune.py [--steps 40] [--batch 8]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

from galaxysd_core.diffusion.data import encode_latents, read_metadata
from galaxysd_core.diffusion.finetune import FinetuneConfig, finetune
from galaxysd_core.progress import Progress

# The tiny model and dataset are shared with the fine-tuning tests.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from _tiny import tiny_model_and_dataset


class Clock(Progress):
    """Records when each training step ended."""

    def __init__(self) -> None:
        self.times: dict[int, float] = {}

    def update(self, step: int, total: int, **logs) -> None:
        self.times.setdefault(step, time.perf_counter())


def rate(times: dict[int, float], first: int, last: int) -> float:
    """Steps per second between two step ends (setup and checkpoints excluded)."""
    return (last - first) / (times[last] - times[first])


def minimal_loop(model: Path, data: Path, *, steps: int, batch: int) -> dict[int, float]:
    """The shortest faithful diffusers training loop (train_text_to_image without extras)."""
    from diffusers import DDPMScheduler

    from galaxysd_core.diffusion import load_pipeline

    pipe = load_pipeline(model)
    records = read_metadata(data)
    latents = encode_latents(pipe.vae, records, size=32).float()[:, 0]
    ids = pipe.tokenizer(
        [r.text for r in records], padding="max_length", max_length=77, return_tensors="pt"
    ).input_ids
    sched = DDPMScheduler.from_config(pipe.scheduler.config)
    params = [*pipe.unet.parameters(), *pipe.text_encoder.parameters()]
    opt = torch.optim.AdamW(params, lr=1e-4)
    pipe.unet.train()
    pipe.text_encoder.train()
    times = {}
    gen = torch.Generator().manual_seed(0)
    for step in range(1, steps + 1):
        index = torch.randint(0, len(records), (batch,), generator=gen)
        x = latents[index]
        noise = torch.randn_like(x)
        t = torch.randint(0, 1000, (batch,))
        pred = pipe.unet(sched.add_noise(x, noise, t), t, pipe.text_encoder(ids[index])[0]).sample
        loss = torch.nn.functional.mse_loss(pred, noise)
        loss.backward()
        opt.step()
        opt.zero_grad()
        times[step] = time.perf_counter()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--batch", type=int, default=8)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="galaxysd-bench-"))
    model, data = tiny_model_and_dataset(root, ["sdss, spiral galaxy, 2 spiral arms"] * 32)
    first, last = 5, args.steps - 1  # skip warm-up and the final checkpoint
    minimal = rate(minimal_loop(model, data, steps=args.steps, batch=args.batch), first, last)
    results = {}
    for ema in (False, True):
        clock = Clock()
        config = FinetuneConfig(
            model=model, dataset=data, output_dir=root / f"run-{ema}", steps=args.steps,
            batch=args.batch, lr=1e-4, warmup_steps=2, ema=ema, checkpoint_every=10**6, validation_prompts=["sdss"],
            validation_steps=1,
        )  # fmt: skip
        finetune(config, progress=clock)
        results[ema] = rate(clock.times, first, last)
    print(
        f"threads={torch.get_num_threads()} batch={args.batch} steps={args.steps} (tiny model, 32x32)"
    )
    print(f"minimal diffusers loop   {minimal:6.2f} steps/s")
    print(
        f"ours, EMA off            {results[False]:6.2f} steps/s   ratio {results[False] / minimal:.3f}"
    )
    print(
        f"ours, EMA on             {results[True]:6.2f} steps/s   ratio {results[True] / minimal:.3f}"
    )


if __name__ == "__main__":
    main()
