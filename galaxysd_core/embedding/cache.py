"""Embeddings cached on disk, keyed by encoder and image files.

Embedding a sky is the slow part of every evaluation and map; the result is
stored as ``<cache>/embeddings/<key>.npy`` (atomic write) where the key hashes
the encoder's weights file (path, size, mtime) and every image's path, size
and mtime, so a changed file or encoder never reuses stale rows.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from galaxysd_core.atomic import atomic_write_bytes

log = logging.getLogger(__name__)


def _stamp(path: Path) -> str:
    st = path.stat()
    return f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}"


def cache_key(encoder_dir: str | os.PathLike[str], paths: Sequence[str | os.PathLike[str]]) -> str:
    """A hash of the encoder weights and the image files (names, sizes, mtimes)."""
    from galaxysd_core.embedding.model import WEIGHTS_FILE

    digest = hashlib.sha1(_stamp(Path(encoder_dir) / WEIGHTS_FILE).encode())
    for p in paths:
        digest.update(_stamp(Path(p)).encode())
    return digest.hexdigest()[:20]


def cached_embeddings(
    paths: Sequence[str | os.PathLike[str]],
    *,
    encoder_dir: str | os.PathLike[str],
    cache_dir: str | os.PathLike[str] | None,
    batch_size: int = 64,
    device: str = "cpu",
) -> np.ndarray:
    """Embeddings of image files, read from or written to the cache.

    Parameters
    ----------
    paths : sequence of path-like
        Image files, in the order of the returned rows.
    encoder_dir : path-like
        Encoder folder.
    cache_dir : path-like or None
        The workspace's ``cache/`` folder; None disables caching.
    batch_size : int, default 64
    device : str, default "cpu"

    Returns
    -------
    np.ndarray of float32, shape (len(paths), dim)
    """
    from galaxysd_core.embedding.model import embed, load_encoder

    target = None
    if cache_dir is not None:
        target = Path(cache_dir) / "embeddings" / f"{cache_key(encoder_dir, paths)}.npy"
        if target.is_file():
            return np.load(target)
    encoder = load_encoder(encoder_dir, device=device)
    out = embed([str(p) for p in paths], encoder=encoder, batch_size=batch_size, device=device)
    if target is not None:
        buffer = io.BytesIO()
        np.save(buffer, out)
        atomic_write_bytes(target, buffer.getvalue())
        log.info("cached %d embeddings in %s", len(out), target)
    return out
