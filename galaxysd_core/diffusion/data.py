"""Training pairs for fine-tuning: images + prompts from a prepared dataset folder.

A prepared dataset (``galaxysd prepare``) is a diffusers image folder whose
``metadata.jsonl`` lines hold ``file_name``, ``text`` (the comma-joined tag
phrases, e.g. ``sdss, spiral galaxy, 2 spiral arms``) and ``tags``.
"""

from __future__ import annotations

import json
import logging
import os
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from galaxysd_core.errors import ConfigError

log = logging.getLogger(__name__)

METADATA = "metadata.jsonl"


@dataclass(frozen=True)
class Record:
    """One training pair."""

    image: Path
    text: str
    tags: tuple[str, ...]


def read_metadata(folder: str | os.PathLike[str]) -> list[Record]:
    """Read a prepared dataset's ``metadata.jsonl``.

    Raises
    ------
    ConfigError
        If the folder has no ``metadata.jsonl`` or a line lacks ``file_name``/``text``.
    """
    folder = Path(folder)
    path = folder / METADATA
    if not path.is_file():
        raise ConfigError(f"dataset folder {folder} has no {METADATA} (run `galaxysd prepare`)")
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            records.append(
                Record(folder / row["file_name"], str(row["text"]), tuple(row.get("tags") or ()))
            )
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ConfigError(f"{path} line {number} is not a valid record: {exc}") from exc
    if not records:
        raise ConfigError(f"{path} holds no records")
    return records


def load_image(path: str | os.PathLike[str], *, size: int | None = None) -> torch.Tensor:
    """Read an RGB image as a ``(3, H, W)`` float tensor in [-1, 1].

    Raises
    ------
    ImageReadError
        If the file is missing or cannot be decoded.
    """
    from PIL import Image

    from galaxysd_core.images import read_image

    array = read_image(path, size, resample=Image.Resampling.BICUBIC, draft=False)
    return torch.from_numpy(array.astype(np.float32)).permute(2, 0, 1) / 127.5 - 1.0


def load_images_uint8(
    records: list[Record], size: int, device: str | torch.device = "cpu"
) -> torch.Tensor:
    """Every record's image as one uint8 ``(N, 3, size, size)`` tensor on ``device``.

    uint8 keeps a whole training set in memory at a quarter of float32's cost;
    the VAE and decoder stages crop and convert batches from it.

    Parameters
    ----------
    records : list of Record
        From :func:`read_metadata`.
    size : int
        Side in pixels each image is resized to.
    device : str or torch.device
        Where the tensor lives.
    """
    return torch.stack(
        [((load_image(r.image, size=size) + 1) * 127.5).round().to(torch.uint8) for r in records]
    ).to(device)


def dihedral(images: torch.Tensor, k: int) -> torch.Tensor:
    """The ``k``-th (0-7) of the 8 rotations/flips of a batch ``(..., H, W)``.

    Galaxies have no preferred orientation on the sky, so all 8 are valid
    training images.
    """
    out = torch.rot90(images, k % 4, dims=(-2, -1))
    return torch.flip(out, dims=(-1,)) if k >= 4 else out


def shuffle_phrases(text: str, rng: random.Random, *, keep: float = 1.0) -> str:
    """Shuffle (and optionally sub-sample) a prompt's tag phrases, keeping its head.

    The paper shuffles and sub-samples the tags at every training step (Sec. 3.1),
    so the model learns each phrase rather than one fixed sentence. The first
    phrase (``sdss``) stays first; weights in braces are left intact.

    Parameters
    ----------
    text : str
        Comma-joined phrases.
    rng : random.Random
    keep : float, default 1.0
        Probability to keep each phrase after the head (at least one is kept).
    """
    phrases = [p.strip() for p in text.split(",") if p.strip()]
    if len(phrases) <= 2:
        return ", ".join(phrases)
    head, rest = phrases[0], phrases[1:]
    rng.shuffle(rest)
    if keep < 1.0:
        kept = [p for p in rest if rng.random() < keep]
        rest = kept or rest[:1]
    return ", ".join([head, *rest])


def encode_latents(
    vae,
    records: list[Record],
    *,
    size: int,
    variants: int = 1,
    batch: int = 32,
) -> torch.Tensor:
    """Encode every image (and its rotated/flipped variants) once: cached latents.

    Returns
    -------
    torch.Tensor
        ``(len(records), variants, C, h, w)`` scaled latents (mean of the
        posterior times the VAE's scaling factor), float16 to save memory.
    """
    factor = float(vae.config.scaling_factor)
    out = []
    with torch.inference_mode():
        for start in range(0, len(records), batch):
            chunk = torch.stack(
                [load_image(r.image, size=size) for r in records[start : start + batch]]
            )
            chunk = chunk.to(vae.device, vae.dtype)
            per_variant = [
                vae.encode(dihedral(chunk, k)).latent_dist.mean * factor for k in range(variants)
            ]
            out.append(torch.stack(per_variant, dim=1).to("cpu", torch.float16))
    return torch.cat(out)
