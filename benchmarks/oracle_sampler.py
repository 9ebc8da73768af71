"""Is the sampling path sound? Sample with the ideal denoiser of a set of galaxies.

For a finite training set the best possible denoiser is known in closed form:
given a noised latent, the clean latent it came from is each training latent
weighted by how likely the noise made it (a softmax over distances). A
sampler driven by that denoiser must end on one of the training latents, so
its decoded images must be the training images' VAE round trips. This
script swaps the model's UNet for that denoiser and runs ``generate()``
through each of its paths (diffusers' pipeline, and the own loop that the
guidance interval, epsilon scaling and autoguidance use) with each sampler.
If the images come out clumpy here, the sampling code is at fault; if they
come out as the training galaxies, the clumps of the demo models are the
trained network's.

    python benchmarks/oracle_sampler.py --model assets/demo-model --sky SKY \\
        [--n-train 300] [--n 8] [--steps 20] [--sheet sheet.png]

SKY is any mock sky of the model's image size (``galaxysd sky --n 400 --size 128``).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch
from PIL import Image

from galaxysd_core.diffusion import generate, load_pipeline
from galaxysd_core.diffusion.data import load_image


def ideal_denoiser(train: torch.Tensor, alphas_cumprod: torch.Tensor, prediction: str):
    """A UNet ``forward`` that returns the ideal prediction for the latents ``train``.

    Parameters
    ----------
    train : torch.Tensor
        ``(N, C, h, w)`` scaled training latents.
    alphas_cumprod : torch.Tensor
        The training noise schedule (the model's DDPM schedule).
    prediction : {"epsilon", "v_prediction"}
    """
    flat = train.double().flatten(1)

    def forward(sample, timestep, encoder_hidden_states=None, return_dict=True, **_):
        alpha_bar = alphas_cumprod[int(torch.as_tensor(timestep).flatten()[0])].double()
        a, s = alpha_bar.sqrt(), (1 - alpha_bar).sqrt()
        x = sample.double().flatten(1)
        # Posterior over the training latents: x_t = a x0 + s eps with eps ~ N(0, 1).
        logits = -torch.cdist(x, a * flat).pow(2) / (2 * s**2)
        x0 = torch.softmax(logits, dim=1) @ flat
        eps = (x - a * x0) / s
        out = a * eps - s * x0 if prediction == "v_prediction" else eps
        out = out.view_as(sample).to(sample.dtype)
        return SimpleNamespace(sample=out) if return_dict else (out,)

    return forward


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="assets/demo-model")
    parser.add_argument("--sky", required=True, help="a mock sky of the model's image size")
    parser.add_argument("--n-train", type=int, default=300)
    parser.add_argument("--n", type=int, default=8, help="images per path")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--sheet", type=Path, help="generated beside nearest training image")
    args = parser.parse_args()

    pipe = load_pipeline(args.model)
    side = pipe.unet.config.sample_size * pipe.vae_scale_factor
    files = sorted((Path(args.sky) / "images").glob("*"))[: args.n_train]
    images = torch.stack([load_image(f, size=side) for f in files])
    factor = pipe.vae.config.scaling_factor
    with torch.inference_mode():
        train = torch.cat(
            [pipe.vae.encode(images[i : i + 32]).latent_dist.mean for i in range(0, len(files), 32)]
        )
        train = train * factor
        decoded = torch.cat(
            [pipe.vae.decode(train[i : i + 32] / factor).sample for i in range(0, len(files), 32)]
        )
    # The round trips as 0-255 arrays: what a perfect sampler can at best give back.
    trips = ((decoded.clamp(-1, 1) + 1) * 127.5).round().permute(0, 2, 3, 1).numpy()
    flat = trips.reshape(len(trips), -1)
    spacing = np.sqrt(((flat[:, None] - flat[None]) ** 2).mean(-1))
    np.fill_diagonal(spacing, np.inf)
    print(
        f"{len(files)} training galaxies of {args.sky}; RMS distance between a round "
        f"trip and its nearest other round trip: median {np.median(spacing.min(1)):.1f} "
        "(0-255 levels)"
    )

    from diffusers import DDPMScheduler

    ddpm = DDPMScheduler.from_config(pipe.scheduler.config)
    pipe.unet.forward = ideal_denoiser(train, ddpm.alphas_cumprod, ddpm.config.prediction_type)
    paths = [
        ("pipeline", "euler_a", {}),
        ("pipeline", "dpmpp_2m", {}),
        ("pipeline", "ddim", {}),
        ("own loop", "euler_a", {"guidance_interval": (0, 1000)}),
        ("own loop, t <= 400", "euler_a", {"guidance_interval": (0, 400)}),
        ("own loop, eps 1.05", "euler_a", {"guidance_interval": (0, 400), "eps_scale": 1.05}),
    ]
    rows = []
    print(f"{'path':<20} {'sampler':<9} {'RMS to nearest round trip':>26} {'distinct':>9} {'s':>5}")
    for name, sampler, extra in paths:
        t0 = time.perf_counter()
        made = generate(
            pipe,
            "sdss, smooth, completely round galaxy",
            n=args.n,
            seed=0,
            steps=args.steps,
            guidance=7.0,
            scheduler=sampler,
            batch_size=args.n,
            **extra,
        )
        got = np.stack([np.asarray(im.convert("RGB"), dtype=np.float64) for im in made.images])
        dist = np.sqrt(((got.reshape(len(got), -1)[:, None] - flat[None]) ** 2).mean(-1))
        nearest = dist.argmin(1)
        rms = dist.min(1)
        print(
            f"{name:<20} {sampler:<9} {np.median(rms):>12.2f} (max {rms.max():6.2f})"
            f" {len(set(nearest)):>9} {time.perf_counter() - t0:>5.1f}",
            flush=True,
        )
        rows.append((name, sampler, made.images, nearest))
    if args.sheet:
        tile = side
        sheet = Image.new("RGB", (tile * args.n, tile * 2 * len(rows)))
        for r, (_, _, made_images, nearest) in enumerate(rows):
            for c, (im, k) in enumerate(zip(made_images, nearest, strict=True)):
                sheet.paste(im.convert("RGB"), (c * tile, 2 * r * tile))
                sheet.paste(
                    Image.fromarray(trips[k].astype(np.uint8)), (c * tile, (2 * r + 1) * tile)
                )
        sheet.save(args.sheet)
        print(f"sheet: {args.sheet} (each path: generated row, then its nearest round trips)")


if __name__ == "__main__":
    main()
