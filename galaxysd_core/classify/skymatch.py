"""Give generated galaxies the survey's sky: background level, noise and JPEG coding.

A diffusion model trained with an MSE objective draws a clean, dark, noise-free
sky, while survey cutouts carry sky background, photon noise and JPEG
artefacts. Mixed into a classifier's positives, generated images then teach
"clean sky = positive", a cue no real galaxy has. Matching the sky removes it:
each generated image gets the real images' per-channel sky level, Gaussian
noise that brings its own noise up to the real one, and the same JPEG coding.
Sky statistics come from the image corners, where the galaxy is not.
"""

from __future__ import annotations

import io

import numpy as np
import torch

from galaxysd_core.errors import ConfigError

#: Side in pixels of each corner square that samples the sky.
CORNER = 8
#: Passes that calibrate the added noise and level after JPEG coding.
CALIBRATION_PASSES = 3
#: MAD -> standard deviation for Gaussian noise.
_MAD_TO_SIGMA = 1.4826


def _corners(images: torch.Tensor, corner: int) -> np.ndarray:
    """Corner pixels ``(N, 3, 4 * corner**2)`` as float64."""
    if images.ndim != 4 or images.shape[1] != 3 or images.dtype != torch.uint8:
        raise ConfigError(
            f"sky matching takes uint8 images (N, 3, H, W), got {tuple(images.shape)} "
            f"{images.dtype}"
        )
    if min(images.shape[-2:]) < 2 * corner:
        raise ConfigError(f"images of {tuple(images.shape[-2:])} px are too small for the sky")
    x = images.numpy()
    c = corner
    parts = [x[..., :c, :c], x[..., :c, -c:], x[..., -c:, :c], x[..., -c:, -c:]]
    # cast only the corners: the galaxy pixels are never read
    return np.concatenate([p.reshape(*x.shape[:2], -1) for p in parts], axis=-1).astype(np.float64)


def sky_statistics(images: torch.Tensor, *, corner: int = CORNER) -> np.ndarray:
    """Per image and channel, the sky level (median) and noise (scaled MAD).

    Parameters
    ----------
    images : Tensor
        uint8 ``(N, 3, H, W)``.
    corner : int, default 8
        Side of each corner square sampled.

    Returns
    -------
    ndarray, shape (N, 2, 3)
        ``[:, 0]`` the sky level, ``[:, 1]`` the noise sigma, in 0-255 units.

    Raises
    ------
    ConfigError
        Not uint8 RGB images, or images too small to have corners.
    """
    px = _corners(images, corner)
    level = np.median(px, axis=-1)
    sigma = _MAD_TO_SIGMA * np.median(np.abs(px - level[..., None]), axis=-1)
    return np.stack([level, sigma], axis=1)


def match_sky(
    images: torch.Tensor,
    reference: torch.Tensor,
    *,
    seed: int = 0,
    jpeg_quality: int | None = 90,
    corner: int = CORNER,
) -> torch.Tensor:
    """Images with the sky of ``reference`` images: level, noise, JPEG coding.

    Each image's sky level is moved to the reference median, and Gaussian
    noise of ``sqrt(max(sigma_ref**2 - sigma_own**2, 0))`` per channel is
    added, so an image that is already noisy enough gets none.

    Parameters
    ----------
    images : Tensor
        uint8 ``(N, 3, H, W)``, e.g. generated galaxies.
    reference : Tensor
        uint8 ``(M, 3, H', W')`` real cutouts whose sky to copy.
    seed : int, default 0
        Seed of the noise: the same call gives the same pixels.
    jpeg_quality : int or None, default 90
        Encode and decode each result as JPEG at this quality (the mock sky's
        cutouts are quality-90 JPEGs); None keeps the pixels as they are.
    corner : int, default 8

    Returns
    -------
    Tensor
        uint8, the shape of ``images``.

    Raises
    ------
    ConfigError
        Bad image tensors, an empty reference, or a quality outside 1-100.
    """
    if len(reference) == 0:
        raise ConfigError("sky matching needs at least one reference image")
    if jpeg_quality is not None and not 1 <= jpeg_quality <= 100:
        raise ConfigError(f"jpeg_quality must be in 1-100, got {jpeg_quality}")
    if len(images) == 0:
        return images.clone()
    target = np.median(sky_statistics(reference, corner=corner), axis=0)  # (2, 3)
    own = sky_statistics(images, corner=corner)
    extra = np.sqrt(np.clip(target[1] ** 2 - own[:, 1] ** 2, 0.0, None))
    out = _add_sky(images, target[0] - own[:, 0], extra, seed, jpeg_quality)
    if jpeg_quality is not None and extra.any():
        # JPEG coding smooths fine noise, so the sky it leaves is quieter than
        # what was added; calibration passes scale the noise to land on the
        # reference's (itself measured after JPEG coding). On a faint sky the
        # noise is also clipped at 0, which lifts the level: correct that too.
        gain, shift = np.ones(3), target[0] - own[:, 0]
        for _ in range(CALIBRATION_PASSES):
            got = np.median(sky_statistics(out, corner=corner), axis=0)
            gain = np.clip(gain * target[1] / np.maximum(got[1], 1e-6), 1.0, 4.0)
            shift = shift + (target[0] - got[0])
            out = _add_sky(images, shift, extra * gain, seed, jpeg_quality)
    return out


def _add_sky(
    images: torch.Tensor,
    shift: np.ndarray,
    noise: np.ndarray,
    seed: int,
    jpeg_quality: int | None,
) -> torch.Tensor:
    """Add a per-image, per-channel level ``shift`` and Gaussian ``noise``; round, code."""
    rng = np.random.default_rng(seed)
    x = images.numpy().astype(np.float64)
    x += shift[..., None, None]
    x += rng.standard_normal(x.shape) * noise[..., None, None]
    out = np.clip(np.rint(x), 0, 255).astype(np.uint8)
    if jpeg_quality is not None:
        out = np.stack([_jpeg(a, jpeg_quality) for a in out])
    return torch.from_numpy(out)


def _jpeg(chw: np.ndarray, quality: int) -> np.ndarray:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(chw.transpose(1, 2, 0)).save(buffer, format="JPEG", quality=quality)
    buffer.seek(0)
    with Image.open(buffer) as img:
        return np.asarray(img.convert("RGB"), dtype=np.uint8).transpose(2, 0, 1)
