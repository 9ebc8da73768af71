"""Where a model's clumps come from: its decoder, its one-step denoiser, or its sampling path.

Three looks at one model, on one sheet (centres enlarged), for training images
whose tags include ``--tags``:

1. **decoder**: each image's latent plus Gaussian noise of 0 to 0.3 (in the
   UNet's scaled units), decoded. Clumps here would be the VAE's.
2. **one step from a training image**: the image noised to timestep t and the
   clean latent predicted by the UNet in one step, for t from 200 to 950.
   What the UNet knows when it starts from the training distribution.
3. **along its own path**: the predicted clean latent every few steps of a
   deterministic DDIM run from pure noise (same caption, ``--guidance``).
   Where the second look stays smooth and this one turns clumpy, the UNet
   fails on its own intermediate states, not on the data.

It also prints the per-channel spread and the high-pass energy (latent minus
its 3x3 mean) of the training latents and of the generated ones.

    python benchmarks/trajectory.py --model assets/demo-model --dataset DATASET \\
        [--tags dust_lane dominant_bulge] [--guidance 7] --out trajectory.png
"""

from __future__ import annotations

import argparse

import torch
from PIL import Image, ImageDraw

from galaxysd_core.diffusion import load_pipeline
from galaxysd_core.diffusion.data import load_image, read_metadata
from galaxysd_core.diffusion.pipelines import make_scheduler

NOISE = (0.0, 0.1, 0.2, 0.3)
ONE_STEP_T = (200, 400, 600, 800, 950)
PATH_STEPS = 40
PATH_EVERY = 8  # one tile per this many sampler steps, plus the last


def high_pass(z: torch.Tensor) -> float:
    """Standard deviation of a latent minus its 3x3 local mean."""
    return float((z - torch.nn.functional.avg_pool2d(z, 3, 1, 1)).std())


def to_images(pipe, latents: torch.Tensor) -> list[Image.Image]:
    x = pipe.vae.decode(latents / pipe.vae.config.scaling_factor).sample
    x = ((x.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy()
    return [Image.fromarray(a) for a in x]


@torch.inference_mode()
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--dataset", required=True, help="prepared training dataset")
    parser.add_argument("--tags", nargs="*", default=["dust_lane", "dominant_bulge"])
    parser.add_argument("--n", type=int, default=4, help="training images (rows per look)")
    parser.add_argument("--guidance", type=float, default=7.0)
    parser.add_argument("--tile", type=int, default=128)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    pipe = load_pipeline(args.model)
    records = [r for r in read_metadata(args.dataset) if set(args.tags) <= set(r.tags)][: args.n]
    if not records:
        raise SystemExit(f"--tags {args.tags}: no training image carries them all")
    size = pipe.unet.config.sample_size * pipe.vae_scale_factor
    images = torch.stack([load_image(r.image, size=size) for r in records])
    factor = pipe.vae.config.scaling_factor
    z0 = pipe.vae.encode(images).latent_dist.mean * factor
    text = [pipe.encode_prompt(r.text, "cpu", 1, True, "") for r in records]
    cond, uncond = torch.cat([t[0] for t in text]), torch.cat([t[1] for t in text])
    noise = torch.randn(z0.shape, generator=torch.Generator().manual_seed(0))
    rows: list[tuple[str, list[list[Image.Image]]]] = []

    originals = [Image.open(r.image).convert("RGB") for r in records]
    decoded = [to_images(pipe, z0 + s * noise) for s in NOISE]
    rows.append(("image; decoded + noise", [originals, *decoded]))

    scheduler = make_scheduler("ddim", pipe.scheduler.config)
    alphas = scheduler.alphas_cumprod
    one_step = []
    for t in ONE_STEP_T:
        a = alphas[t]
        zt = a.sqrt() * z0 + (1 - a).sqrt() * noise
        v = pipe.unet(zt, torch.tensor([t]), encoder_hidden_states=cond).sample
        # v prediction (the demo models') or epsilon (SD-1.5's) to a clean latent
        if scheduler.config.prediction_type == "v_prediction":
            x0 = a.sqrt() * zt - (1 - a).sqrt() * v
        else:
            x0 = (zt - (1 - a).sqrt() * v) / a.sqrt()
        one_step.append(to_images(pipe, x0))
    rows.append(("one step from data", one_step))

    scheduler.set_timesteps(PATH_STEPS)
    latents = torch.randn(z0.shape, generator=torch.Generator().manual_seed(1))
    path, labels = [], []
    for k, t in enumerate(scheduler.timesteps):
        out = pipe.unet(
            torch.cat([latents, latents]), t, encoder_hidden_states=torch.cat([uncond, cond])
        )
        u, c = out.sample.chunk(2)
        step = scheduler.step(u + args.guidance * (c - u), t, latents)
        if k % PATH_EVERY == 0 or k == len(scheduler.timesteps) - 1:
            path.append(to_images(pipe, step.pred_original_sample))
            labels.append(int(t))
        latents = step.prev_sample
    rows.append(("own path", path))

    print(f"{args.model}: {len(records)} training images tagged {args.tags}")
    print(
        f"  training latents  per-channel std {z0.std(dim=(0, 2, 3)).numpy().round(3)}  high-pass {high_pass(z0):.3f}"
    )
    print(
        f"  generated latents per-channel std {latents.std(dim=(0, 2, 3)).numpy().round(3)}  high-pass {high_pass(latents):.3f}"
    )
    print(f"  columns: decoder noise {NOISE}; one-step t {ONE_STEP_T}; own path t {tuple(labels)}")

    tile, label_w = args.tile, 140
    width = label_w + tile * max(len(cols) for _, cols in rows)
    sheet = Image.new("RGB", (width, tile * len(records) * len(rows)), "white")
    draw = ImageDraw.Draw(sheet)
    for block, (name, cols) in enumerate(rows):
        top = block * tile * len(records)
        draw.text((4, top + 4), name, fill="black")
        for c, col in enumerate(cols):
            for r, im in enumerate(col):
                s = im.size[0]
                crop = im.crop((s // 4, s // 4, 3 * s // 4, 3 * s // 4)).resize((tile, tile))
                sheet.paste(crop, (label_w + c * tile, top + r * tile))
    sheet.save(args.out)
    print(args.out)


if __name__ == "__main__":
    main()
