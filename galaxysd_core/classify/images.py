"""Reading galaxy JPEGs/PNGs into uint8 tensors at the classifier's size.

JPEGs are decoded with PIL's draft mode, which lets libjpeg decode directly at
1/2, 1/4 or 1/8 scale; a 424x424 GZ2 image read for a 64x64 classifier thus
costs a fraction of a full decode (this matters when scoring all 239,695).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from galaxysd_core.errors import ImageReadError


def read_image(path: str | os.PathLike[str], size: int) -> np.ndarray:
    """Decode one image as an RGB ``(size, size, 3)`` uint8 array.

    Raises
    ------
    ImageReadError
        If the file is missing or cannot be decoded.
    """
    try:
        with Image.open(path) as img:
            if img.format == "JPEG":
                img.draft("RGB", (size, size))
            img = img.convert("RGB")
            if img.size != (size, size):
                img = img.resize((size, size), Image.Resampling.BILINEAR)
            return np.asarray(img, dtype=np.uint8)
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        raise ImageReadError(f"cannot read image {path}: {exc}") from exc


def load_images(
    paths: Sequence[str | os.PathLike[str]], size: int, *, skip_unreadable: bool = False
) -> tuple[torch.Tensor, np.ndarray]:
    """Decode many images into one ``(N, 3, size, size)`` uint8 tensor.

    Parameters
    ----------
    paths : sequence of path-like
        Image files.
    size : int
        Output side in pixels.
    skip_unreadable : bool, default False
        Leave an unreadable file out (its ``ok`` flag is False) instead of
        raising.

    Returns
    -------
    images : Tensor
        The readable images, in order.
    ok : ndarray of bool
        Per input path, whether it was read.

    Raises
    ------
    ImageReadError
        On the first unreadable file unless ``skip_unreadable``.
    """
    arrays, ok = [], np.zeros(len(paths), dtype=bool)
    for i, path in enumerate(paths):
        try:
            arrays.append(read_image(path, size))
            ok[i] = True
        except ImageReadError:
            if not skip_unreadable:
                raise
    if not arrays:
        return torch.zeros((0, 3, size, size), dtype=torch.uint8), ok
    batch = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()
    return batch, ok


def image_files(folder: str | os.PathLike[str]) -> list[Path]:
    """The PNG/JPEG files of a folder, sorted by name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ImageReadError(f"image folder not found: {folder}")
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in {".png", ".jpg", ".jpeg"})
