"""Image files: listing a folder's images, decoding and resizing them (one routine).

Every domain reads galaxy images through here: the classifiers, the encoder,
the feature CNN, the catalogue scorer and the diffusion training data. JPEGs
are decoded with PIL's draft mode, which lets libjpeg decode directly at
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

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg"})


def read_image(
    path: str | os.PathLike[str],
    size: int | None,
    *,
    resample: Image.Resampling = Image.Resampling.BILINEAR,
    draft: bool = True,
) -> np.ndarray:
    """Decode one image as an RGB ``(size, size, 3)`` uint8 array.

    Parameters
    ----------
    path : path-like
        A PNG or JPEG file.
    size : int or None
        Output side in pixels; ``None`` keeps the file's size.
    resample : PIL.Image.Resampling, default BILINEAR
        Filter of the resize.
    draft : bool, default True
        Let libjpeg decode a JPEG at a reduced scale first (fast; pixels
        differ slightly from a full decode).

    Raises
    ------
    ImageReadError
        If the file is missing or cannot be decoded.
    """
    try:
        with Image.open(path) as img:
            if draft and size is not None and img.format == "JPEG":
                img.draft("RGB", (size, size))
            return to_rgb(img, size, resample=resample)
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        raise ImageReadError(f"cannot read image {path}: {exc}") from exc


def to_rgb(
    image: Image.Image,
    size: int | None,
    *,
    resample: Image.Resampling = Image.Resampling.BILINEAR,
) -> np.ndarray:
    """A PIL image as an RGB ``(size, size, 3)`` uint8 array (``size=None``: as is)."""
    image = image.convert("RGB")
    if size is not None and image.size != (size, size):
        image = image.resize((size, size), resample)
    return np.asarray(image, dtype=np.uint8)


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


def image_files(
    folder: str | os.PathLike[str], *, require: bool = False, recursive: bool = False
) -> list[Path]:
    """The PNG/JPEG files of a folder, sorted by name.

    A mock sky or GZ2 download keeps its images in ``images/``: when the folder
    has that subfolder, its files are listed instead.

    Parameters
    ----------
    folder : path-like
        An image folder, or a sky / dataset folder with ``images/``.
    require : bool, default False
        Raise when no image is found instead of returning an empty list.
    recursive : bool, default False
        Also list the images of its subfolders.

    Raises
    ------
    ImageReadError
        If the folder does not exist (or, with ``require``, holds no image).
    """
    root = Path(folder)
    if not root.is_dir():
        raise ImageReadError(f"image folder not found: {root}")
    base = root / "images" if (root / "images").is_dir() else root
    found = base.rglob("*") if recursive else base.iterdir()
    files = sorted(p for p in found if p.suffix.lower() in IMAGE_SUFFIXES)
    if require and not files:
        raise ImageReadError(f"no PNG/JPEG images in {base}")
    return files
