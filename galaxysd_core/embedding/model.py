"""The SimCLR encoder f of the paper's Sec. 4.1: build, views, loss, save, load, embed.

f is a ResNet-18 (transformers' ``ResNetModel``, basic blocks, depths
[2, 2, 2, 2]); its pooled 512-d output is the embedding every metric uses. A
two-layer projection head maps it to the 128-d space where the NT-Xent loss
(InfoNCE, tau = 0.5) pulls two views of the same galaxy together (Chen et al.
2020); the head is dropped after training, as in SimCLR.

An encoder folder holds ``config.json`` (architecture, image size, pixel
scaling) and ``model.safetensors`` (weights, fp32 or fp16).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn
from torch.nn import functional as F  # noqa: N812 - the usual torch alias

from galaxysd_core.atomic import atomic_dir
from galaxysd_core.errors import ConfigError, ImageReadError, ModelFolderError

log = logging.getLogger(__name__)

WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"


@dataclass
class EncoderSpec:
    """Architecture and input scaling of an encoder (saved as ``config.json``).

    Defaults are ResNet-18 at 64x64; tests shrink ``depths``/``hidden_sizes``.
    """

    image_size: int = 64
    depths: list[int] = field(default_factory=lambda: [2, 2, 2, 2])
    hidden_sizes: list[int] = field(default_factory=lambda: [64, 128, 256, 512])
    embedding_size: int = 64  # stem channels
    projection_dim: int = 128
    # Pixel scaling: uint8 -> [0, 1] -> roughly zero mean, unit spread for dark sky images.
    mean: float = 0.2
    std: float = 0.25

    @property
    def dim(self) -> int:
        """Width of the embedding (the last stage's channels)."""
        return self.hidden_sizes[-1]


class Encoder(nn.Module):
    """ResNet backbone + projection head; :meth:`forward` returns the embedding h."""

    def __init__(self, spec: EncoderSpec) -> None:
        super().__init__()
        from transformers import ResNetConfig, ResNetModel

        self.spec = spec
        config = ResNetConfig(
            num_channels=3,
            embedding_size=spec.embedding_size,
            hidden_sizes=list(spec.hidden_sizes),
            depths=list(spec.depths),
            layer_type="basic",
            hidden_act="relu",
        )
        self.backbone = ResNetModel(config)
        self.head = nn.Sequential(
            nn.Linear(spec.dim, spec.dim), nn.ReLU(), nn.Linear(spec.dim, spec.projection_dim)
        )

    def scale(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 or [0, 1] float images ``(B, 3, H, W)`` -> the network's input scaling."""
        x = images.float() / 255.0 if images.dtype == torch.uint8 else images.float()
        if x.shape[-1] != self.spec.image_size or x.shape[-2] != self.spec.image_size:
            x = F.interpolate(x, size=(self.spec.image_size,) * 2, mode="bilinear", antialias=True)
        return (x - self.spec.mean) / self.spec.std

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Embedding h (B, dim) of scaled images."""
        return self.backbone(x).pooler_output.flatten(1)

    def project(self, h: torch.Tensor) -> torch.Tensor:
        """Projection z (B, projection_dim) where the contrastive loss lives."""
        return self.head(h)


def galaxy_views(
    images: torch.Tensor, *, generator: torch.Generator | None = None, randomise: bool = False
) -> torch.Tensor:
    """One random view per image of a float [0, 1] batch ``(B, 3, H, W)``.

    Geometry: any rotation, mirror flips and mild resized crops (a galaxy has no
    preferred orientation or handedness; crops teach some scale invariance). Then a
    small brightness jitter (x0.8-1.2: survey depth and distance vary) and
    pixel noise (sigma up to 0.03: sky noise).

    No hue or saturation jitter, on purpose: colour carries physics here -
    red, old bulges and ellipticals versus blue, star-forming arms (and the
    red D-ETG dust lanes) - and an encoder taught to ignore colour would call
    a blue spiral and a red one of the same shape identical.

    With ``randomise``, each view also gets survey domain randomisation
    (:func:`~galaxysd_core.classify.augment.survey_randomise`: sky level,
    noise grain, PSF, stretch, JPEG, stars, resolution) with a colour tilt of
    at most 0.05 in log gain, so two views of one galaxy differ the way two
    surveys' cutouts would and the embedding learns to ignore the renderer.
    """
    from galaxysd_core.classify.augment import random_affine

    # Crops stay gentle (side >= 0.8, shift <= 0.05): a mock companion sits 0.3-0.65
    # of the half-side from the centre, and rings and outer arms nearly as far, so a
    # 0.6 crop (the first demo encoder's) cut them off and made a merger and an
    # isolated galaxy a positive pair; a >= 0.75 inscribed radius keeps them in view.
    x = random_affine(images, generator=generator, crop_scale=(0.8, 1.0), max_shift=0.05)
    if randomise:
        from galaxysd_core.classify.augment import survey_randomise

        x = survey_randomise(x, generator=generator, colour=0.05)
    n = x.shape[0]
    bright = 0.8 + 0.4 * torch.rand(n, 1, 1, 1, generator=generator)
    sigma = 0.03 * torch.rand(n, 1, 1, 1, generator=generator)
    noise = torch.randn(x.shape, generator=generator) * sigma
    return (x * bright.to(x) + noise.to(x)).clamp(0.0, 1.0)


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, *, temperature: float = 0.5) -> torch.Tensor:
    """NT-Xent (normalised-temperature cross entropy) of two views' projections.

    For 2B projections, each one's positive is the other view of the same
    image and its negatives are the other 2B - 2; logits are cosine
    similarities divided by ``temperature`` (0.5 in the paper, Sec. 4.1).
    """
    if z1.shape != z2.shape or z1.shape[0] < 2:
        raise ValueError(f"need two equal batches of >= 2 projections, got {z1.shape}, {z2.shape}")
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    logits = z @ z.T / temperature
    n = z1.shape[0]
    logits.fill_diagonal_(float("-inf"))  # an image is not its own negative
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)
    return F.cross_entropy(logits, target)


def save_encoder(
    encoder: Encoder,
    folder: str | os.PathLike[str],
    *,
    half: bool = False,
    extra: dict[str, Any] | None = None,
    overwrite: bool = True,
) -> Path:
    """Write an encoder folder (``config.json`` + ``model.safetensors``) atomically.

    Parameters
    ----------
    encoder : Encoder
        The trained encoder (the projection head is saved too, for resuming).
    folder : path-like
        Destination folder.
    half : bool, default False
        Store weights as fp16 (half the size; loaded back as fp32).
    extra : dict, optional
        More JSON-safe facts for ``config.json`` (training steps, probe scores).
    overwrite : bool, default True
        Replace an existing folder.
    """
    with atomic_dir(folder, overwrite=overwrite) as tmp:
        write_encoder(encoder, tmp, half=half, extra=extra)
    return Path(folder)


def write_encoder(
    encoder: Encoder, folder: Path, *, half: bool = False, extra: dict[str, Any] | None = None
) -> None:
    """Write the encoder files into an existing (temporary) folder; not atomic by itself."""
    state = {k: v.detach().cpu().contiguous() for k, v in encoder.state_dict().items()}
    if half:
        state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    meta = {"spec": asdict(encoder.spec), **(extra or {})}
    save_file(state, str(folder / WEIGHTS_FILE))
    (folder / CONFIG_FILE).write_text(json.dumps(meta, indent=2, default=str) + "\n")


def load_encoder(path: str | os.PathLike[str], *, device: str = "cpu") -> Encoder:
    """Load an encoder folder written by :func:`save_encoder` (eval mode, float32).

    Raises
    ------
    ModelFolderError
        If the folder or its files are missing or do not fit together.
    """
    folder = Path(path)
    config, weights = folder / CONFIG_FILE, folder / WEIGHTS_FILE
    if not config.is_file() or not weights.is_file():
        raise ModelFolderError(
            f"{folder} is not an encoder folder (needs {CONFIG_FILE} and {WEIGHTS_FILE}); "
            "train one with `galaxysd simclr` or use assets/demo-encoder"
        )
    spec = EncoderSpec(**json.loads(config.read_text())["spec"])
    encoder = Encoder(spec)
    state = {k: v.float() if v.is_floating_point() else v for k, v in load_file(weights).items()}
    try:
        encoder.load_state_dict(state)
    except RuntimeError as exc:
        raise ModelFolderError(f"weights in {weights} do not match {config}: {exc}") from exc
    return encoder.to(device).eval()


def _to_uint8(item: Any, size: int) -> np.ndarray:
    """One image (path, PIL image or HxWx3 array) as an RGB uint8 array at ``size``."""
    from PIL import Image

    from galaxysd_core.images import read_image, to_rgb

    if isinstance(item, str | os.PathLike):
        return read_image(item, size)
    if isinstance(item, Image.Image):
        return to_rgb(item, size)
    arr = np.asarray(item)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise ImageReadError(f"an image array must be H x W x 3, got shape {arr.shape}")
    if arr.dtype != np.uint8:
        arr = np.clip(np.asarray(arr, dtype=np.float64) * 255.0, 0, 255).astype(np.uint8)
    return arr if arr.shape[:2] == (size, size) else _to_uint8(Image.fromarray(arr), size)


def _batches(items: Iterable[Any], batch_size: int) -> Iterator[list[Any]]:
    it = iter(items)
    while batch := list(islice(it, batch_size)):
        yield batch


@torch.no_grad()
def embed(
    images: Iterable[Any],
    *,
    encoder: Encoder,
    batch_size: int = 64,
    device: str = "cpu",
) -> np.ndarray:
    """Embed any number of images, streaming them in batches.

    Parameters
    ----------
    images : iterable
        Image paths, PIL images or H x W x 3 arrays (uint8, or float in [0, 1]);
        a generator is consumed lazily, ``batch_size`` at a time.
    encoder : Encoder
        From :func:`load_encoder`.
    batch_size : int, default 64
        Images decoded and embedded at once (bounds memory).
    device : str, default "cpu"
        Where the encoder runs.

    Returns
    -------
    np.ndarray of float32, shape (N, encoder.spec.dim)
        One row per image, in input order.

    Raises
    ------
    ImageReadError
        If an image cannot be read.
    ValueError
        If ``batch_size`` < 1.
    """
    if batch_size < 1:
        raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
    encoder = encoder.to(device).eval()
    size = encoder.spec.image_size
    out = []
    for batch in _batches(images, batch_size):
        arr = np.stack([_to_uint8(item, size) for item in batch])
        x = torch.from_numpy(arr).permute(0, 3, 1, 2).to(device)
        out.append(encoder(encoder.scale(x)).float().cpu().numpy())
    if not out:
        return np.zeros((0, encoder.spec.dim), dtype=np.float32)
    return np.concatenate(out)
