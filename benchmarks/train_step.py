"""Training throughput of the demo model on this machine: which CPU levers pay.

Times full training steps (UNet and text encoder forward and backward, AdamW,
gradient clipping, EMA) of a diffusers model on random latents and real
prompts, under one lever at a time, and prints images per second with the
ratio to the plain float32 step at the same batch size. Issue 14 asks for
"more steps per CPU-second (bf16 autocast where it is faster on CPU,
channels-last if it helps)"; this script is how that was decided. On a GPU
(``--device cuda``) it sizes the GPU recipe's batch: there the host's kernel
launches, not the arithmetic, set a small model's pace.

    python benchmarks/train_step.py [--model assets/demo-model | --preset gpu]
        [--device cpu] [--steps 12] [--batch 16 64] [--levers plain bf16-autocast]
        [--json FILE]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import time
from pathlib import Path

import torch

LEVERS = ("plain", "adamw-foreach", "ema-foreach", "channels-last", "bf16-autocast", "all")


def load(model: Path | None, preset: str | None):
    """The pipeline to time: a model folder, or a fresh 128 px model of a preset."""
    from galaxysd_core.diffusion import load_pipeline
    from galaxysd_core.diffusion.pipelines import build_pipeline, tiny_components

    if preset is None:
        return load_pipeline(model)
    parts = tiny_components(0, preset=preset, image_size=128, noise_schedule="zero_snr")
    return build_pipeline(parts)


def time_steps(
    pipe, lever: str, batch: int, steps: int, device: str = "cpu", warm: int = 3
) -> float:
    """Images per second of ``steps`` training steps after ``warm`` untimed ones."""
    import copy

    from diffusers import DDPMScheduler
    from diffusers.training_utils import EMAModel

    torch.manual_seed(0)
    # A fresh copy per lever: every lever starts from the same weights.
    unet = copy.deepcopy(pipe.unet).float().to(device)
    text = copy.deepcopy(pipe.text_encoder).float().to(device)
    unet.train()
    text.train()
    trained = [unet, text]
    params = [p for m in trained for p in m.parameters()]
    on = {lever} if lever != "all" else set(LEVERS)
    if device == "cuda":  # what finetune() does there: foreach EMA, AdamW's CUDA default
        on |= {"ema-foreach"}
    opt = torch.optim.AdamW(params, lr=1e-4, foreach="adamw-foreach" in on or None)
    emas = [EMAModel(m.parameters(), foreach="ema-foreach" in on) for m in trained]
    if "channels-last" in on:
        unet.to(memory_format=torch.channels_last)
    sched = DDPMScheduler.from_config(pipe.scheduler.config)
    size = unet.config.sample_size
    ids = pipe.tokenizer(
        ["sdss, spiral galaxy, 2 spiral arms"] * batch,
        padding="max_length",
        max_length=pipe.tokenizer.model_max_length,
        return_tensors="pt",
    ).input_ids.to(device)
    autocast = (
        torch.autocast(device, dtype=torch.bfloat16)
        if "bf16-autocast" in on
        else contextlib.nullcontext()
    )
    t0 = 0.0
    for step in range(warm + steps):
        if step == warm:
            t0 = time.perf_counter()
        x = torch.randn(batch, unet.config.in_channels, size, size, device=device)
        if "channels-last" in on:
            x = x.contiguous(memory_format=torch.channels_last)
        noise = torch.randn_like(x)
        t = torch.randint(0, sched.config.num_train_timesteps, (batch,), device=device)
        with autocast:
            pred = unet(sched.add_noise(x, noise, t), t, text(ids)[0]).sample
        loss = (pred.float() - noise).pow(2).mean()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        for ema, m in zip(emas, trained, strict=True):
            ema.step(m.parameters())
        float(loss.detach())  # the per-step report of finetune() at log_every 1
    return batch * steps / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=Path("assets/demo-model"))
    parser.add_argument("--preset", help="time a fresh model of this preset instead")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--batch", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--levers", nargs="+", default=list(LEVERS), choices=LEVERS)
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args()
    pipe = load(args.model, args.preset)
    where = f"{torch.get_num_threads()} threads" if args.device == "cpu" else args.device
    print(f"torch {torch.__version__}, {where}, model {args.preset or args.model}")
    print(f"{'batch':>5}  {'lever':<14} {'images/s':>9} {'ratio':>6}")
    rows = []
    for batch in args.batch:
        base = None
        for lever in args.levers:
            rate = time_steps(pipe, lever, batch, args.steps, args.device)
            base = base or rate
            print(f"{batch:>5}  {lever:<14} {rate:>9.1f} {rate / base:>6.2f}", flush=True)
            rows.append({"batch": batch, "lever": lever, "images_per_s": round(rate, 2)})
    if args.json:
        args.json.write_text(json.dumps({"device": args.device, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
