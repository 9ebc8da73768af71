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
