"""Crop / rotate / flip augmentation in plain torch (Sec. 4.2).

A galaxy has no preferred orientation or handedness, so every training batch
is rotated by a random angle, mirrored at random and zoomed into a random
crop. The three are one affine transform per image, applied with a single
``grid_sample`` call (no torchvision).
"""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F  # noqa: N812 - the usual torch alias


def random_affine(
    images: torch.Tensor,
    *,
    generator: torch.Generator | None = None,
    crop_scale: tuple[float, float] = (0.8, 1.0),
    max_shift: float = 0.05,
) -> torch.Tensor:
    """Randomly rotate, flip, crop and shift a batch of images.

    Parameters
    ----------
    images : Tensor
        Float batch ``(N, C, H, W)``.
    generator : torch.Generator, optional
        Source of randomness (for reproducible training).
    crop_scale : (float, float), default (0.8, 1.0)
        Range of the crop side as a fraction of the image side; the crop is
        resized back to the full size (a zoom of up to 1/0.8).
    max_shift : float, default 0.05
        Largest shift of the crop centre, as a fraction of the half-side.

    Returns
    -------
    Tensor
        The augmented batch, same shape; corners rotated in from outside the
        image are zero (the dark sky background).
    """
    n = images.shape[0]
    device, dtype = images.device, images.dtype

    def uniform(low: float, high: float) -> torch.Tensor:
        return low + (high - low) * torch.rand(n, generator=generator).to(device, dtype)

    angle = uniform(0.0, 2 * math.pi)
    scale = uniform(*crop_scale)
    flip = torch.where(torch.rand(n, generator=generator) < 0.5, -1.0, 1.0).to(device, dtype)
    cos, sin = torch.cos(angle) * scale, torch.sin(angle) * scale
    theta = torch.zeros(n, 2, 3, device=device, dtype=dtype)
    theta[:, 0, 0] = cos * flip
    theta[:, 0, 1] = -sin
    theta[:, 1, 0] = sin * flip
    theta[:, 1, 1] = cos
    theta[:, 0, 2] = uniform(-max_shift, max_shift)
    theta[:, 1, 2] = uniform(-max_shift, max_shift)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def _gaussian_blur(x: torch.Tensor, sigma: torch.Tensor, *, radius: int = 3) -> torch.Tensor:
    """Blur each image of ``(N, C, H, W)`` with its own Gaussian width ``sigma`` (N,), in pixels."""
    n, c, h, w = x.shape
    offsets = torch.arange(-radius, radius + 1, device=x.device, dtype=x.dtype)
    s = sigma.to(x).clamp(min=1e-3)[:, None]
    kernel = torch.exp(-0.5 * (offsets[None, :] / s) ** 2)
    kernel = (kernel / kernel.sum(dim=1, keepdim=True)).repeat_interleave(c, dim=0)  # (N*C, K)
    flat = F.pad(x.reshape(1, n * c, h, w), (radius,) * 4, mode="reflect")
    flat = F.conv2d(flat, kernel[:, None, None, :], groups=n * c)  # separable: rows ...
    flat = F.conv2d(flat, kernel[:, None, :, None], groups=n * c)  # ... then columns
    return flat.reshape(n, c, h, w)


def _add_stars(
    x: torch.Tensor, *, generator: torch.Generator | None, rate: float, max_stars: int = 3
) -> torch.Tensor:
    """Foreground stars: Gaussian cores, bright ones with four diffraction spikes."""
    n, _, size, _ = x.shape
    coords = torch.arange(size, dtype=x.dtype, device=x.device)
    yy, xx = coords[None, :, None], coords[None, None, :]
    out = x.clone()
    for _ in range(max_stars):
        draw = torch.nonzero(torch.rand(n, generator=generator) < rate / max_stars).flatten()
        m = len(draw)
        if m == 0:
            continue

        def uniform(low: float, high: float, *shape: int, m: int = m) -> torch.Tensor:
            return (low + (high - low) * torch.rand(m, *shape, generator=generator)).to(x)

        # anywhere but the central ~12 % of the side, where the target galaxy sits
        angle = uniform(0, 2 * math.pi)
        r = size * uniform(0.12, 0.48)
        cx = (size / 2 + r * torch.cos(angle))[:, None, None]
        cy = (size / 2 + r * torch.sin(angle))[:, None, None]
        width = uniform(0.5, 1.2)[:, None, None]
        peak = torch.exp(math.log(0.1) * uniform(0, 1))  # 0.1-1
        dx, dy = xx - cx, yy - cy
        core = torch.exp(-(dx**2 + dy**2) / (2 * width**2))
        # Spikes of the secondary-mirror supports: along the pixel axes, only on
        # bright stars, decaying over a few pixels.
        length = uniform(2.0, 8.0)[:, None, None]
        spikes = torch.exp(-dy.abs() / length - dx**2 / 0.3) + torch.exp(
            -dx.abs() / length - dy**2 / 0.3
        )
        profile = core + 0.35 * spikes * (peak > 0.5).to(x)[:, None, None]
        tint = 1.0 + 0.25 * uniform(-1, 1, 3)
        out[draw.to(x.device)] += (
            peak[:, None, None, None] * tint[:, :, None, None] * profile[:, None]
        )
    return out


def _jpeg(x: torch.Tensor, quality: torch.Tensor) -> torch.Tensor:
    """JPEG round trip of uint8 images ``(N, 3, H, W)`` at per-image quality (0 = skip)."""
    import io

    import numpy as np
    from PIL import Image

    out = x.clone()
    for i in torch.nonzero(quality > 0).flatten().tolist():
        buffer = io.BytesIO()
        Image.fromarray(x[i].permute(1, 2, 0).cpu().numpy()).save(
            buffer, format="JPEG", quality=int(quality[i])
        )
        decoded = np.asarray(Image.open(buffer).convert("RGB"))
        out[i] = torch.from_numpy(decoded.copy()).permute(2, 0, 1)
    return out


def survey_randomise(
    images: torch.Tensor,
    *,
    generator: torch.Generator | None = None,
    p: float = 0.8,
    colour: float = 0.15,
    zoom: tuple[float, float] = (0.75, 1.2),
) -> torch.Tensor:
    """Domain randomisation: make mock cutouts vary the way real survey cutouts do.

    A network trained on one renderer learns its sky, noise and PSF; real SDSS
    gri JPEGs differ in all of them (a brighter, slightly red sky, coloured
    grain, foreground stars with spikes, another stretch). Each image, with
    probability ``p``, gets at random: a change of apparent size (``zoom``),
    a Gaussian PSF blur (sigma 0-1.2 px), a loss of resolution (down to
    20-48 px and back, for images that arrive upsampled), a gain (x0.6-1.6)
    and gamma (0.75-1.35) stretch, a colour tilt (red vs blue gain, up to
    ``colour`` in log), a sky level (-1 to +5 of 255, redder or bluer),
    foreground stars (bright ones with four diffraction spikes), noise of
    0-3 of 255 with grain (smoothed over 0-1 px) and partly shared between
    the bands, and a JPEG round trip at quality 50-95. Geometry is left to
    the caller's rotation/flip augmentation.

    Parameters
    ----------
    images : Tensor
        ``(N, 3, S, S)``, uint8 or float in [0, 1].
    generator : torch.Generator, optional
        Source of randomness.
    p : float, default 0.8
        Share of images randomised (the rest pass unchanged).
    colour : float, default 0.15
        Largest red-vs-blue log gain; keep it small where colour carries physics.
    zoom : (float, float), default (0.75, 1.2)
        Range of the field of view relative to the input (> 1 shrinks the galaxy).

    Returns
    -------
    Tensor
        Same shape and dtype as ``images``.
    """
    uint8 = images.dtype == torch.uint8
    x = images.float() / 255.0 if uint8 else images.float()
    n, _, size, _ = x.shape
    if n == 0:
        return images

    def uniform(low: float, high: float, *shape: int) -> torch.Tensor:
        return (low + (high - low) * torch.rand(n, *shape, generator=generator)).to(x)

    def chance(q: float) -> torch.Tensor:
        return (torch.rand(n, generator=generator) < q).to(x.device)

    def pick(mask: torch.Tensor, new: torch.Tensor, old: torch.Tensor) -> torch.Tensor:
        return torch.where(mask[:, None, None, None], new, old)

    original = x
    # apparent size (reflection keeps the border sky-like when zooming out)
    scale = torch.exp(uniform(math.log(zoom[0]), math.log(zoom[1])))
    theta = torch.zeros(n, 2, 3, dtype=x.dtype, device=x.device)
    theta[:, 0, 0] = theta[:, 1, 1] = scale
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = pick(chance(0.7), F.grid_sample(x, grid, padding_mode="reflection", align_corners=False), x)
    x = pick(chance(0.6), _gaussian_blur(x, uniform(0.3, 1.2)), x)
    low = int(torch.randint(20, 49, (1,), generator=generator))
    coarse = F.interpolate(x, size=(low, low), mode="bilinear", antialias=True)
    x = pick(chance(0.25), F.interpolate(coarse, size=(size, size), mode="bilinear"), x)
    gain = torch.exp(uniform(math.log(0.6), math.log(1.6)))[:, None, None, None]
    gamma = uniform(0.75, 1.35)[:, None, None, None]
    x = pick(chance(0.7), (x * gain).clamp(0, 1) ** gamma, x)
    tilt = uniform(-colour, colour)
    bands = torch.stack([tilt, torch.zeros_like(tilt), -tilt], dim=1) + uniform(
        -colour / 3, colour / 3, 3
    )
    x = pick(chance(0.7), x * torch.exp(bands)[:, :, None, None], x)
    level = (
        uniform(-1.0, 5.0)[:, None]
        / 255
        * (1 + uniform(-0.3, 0.3)[:, None] * torch.tensor([1.0, 0.0, -1.0], device=x.device))
    )
    x = pick(chance(0.7), x + level[:, :, None, None], x)
    x = _add_stars(x, generator=generator, rate=0.5)
    sigma = uniform(0.0, 3.0)[:, None, None, None] / 255
    shared = torch.randn((n, 1, size, size), generator=generator).to(x)
    own = torch.randn((n, 3, size, size), generator=generator).to(x)
    mix = uniform(0.0, 1.0)[:, None, None, None]
    noise = mix * shared + (1 - mix**2).sqrt() * own
    grain = uniform(0.3, 1.0)
    smooth = _gaussian_blur(noise, grain)
    # a Gaussian of width s keeps 1 / (2 s sqrt(pi)) of white noise's variance in 2-D
    smooth = smooth * (2 * grain * math.sqrt(math.pi))[:, None, None, None]
    noise = pick(chance(0.5), smooth, noise)
    x = pick(chance(0.7), x + sigma * noise, x)
    x = pick(chance(p), x, original).clamp(0.0, 1.0)
    out = (x * 255).round().to(torch.uint8)
    quality = torch.where(
        chance(0.5).cpu() & (torch.rand(n, generator=generator) < p),
        torch.randint(50, 96, (n,), generator=generator),
        torch.zeros(n, dtype=torch.long),
    )
    out = _jpeg(out.cpu(), quality).to(images.device)
    return out if uint8 else out.float() / 255.0
