"""Checks on arrays of embeddings, shared by the map, the probe and the metrics."""

from __future__ import annotations

import numpy as np

from galaxysd_core.errors import GalaxySDError


class EmbeddingError(GalaxySDError, ValueError):
    """Embeddings are empty, of mismatched dimension, non-finite or zero."""


def check_embeddings(x: np.ndarray, *, name: str, dim: int | None = None) -> np.ndarray:
    """Validate a 2-D array of embeddings and return it as a float array.

    Parameters
    ----------
    x : array-like
        Rows are embeddings.
    name : str
        The argument's name, used in error messages.
    dim : int, optional
        The required number of columns.

    Returns
    -------
    np.ndarray
        ``x`` as float32 (or float64 if it was float64), C-contiguous.

    Raises
    ------
    EmbeddingError
        If ``x`` is not 2-D, has no rows or columns, has the wrong width, or
        contains NaN or infinite values.
    """
    arr = np.asarray(x)
    if arr.ndim != 2:
        raise EmbeddingError(
            f"{name} must be a 2-D array (images x features), got shape {arr.shape}"
        )
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise EmbeddingError(f"{name} is empty (shape {arr.shape}); need at least one embedding")
    if dim is not None and arr.shape[1] != dim:
        raise EmbeddingError(
            f"{name} has {arr.shape[1]}-d embeddings but the other set has {dim}-d; "
            "both must come from the same encoder"
        )
    if not np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.complexfloating):
        raise EmbeddingError(f"{name} must be real numbers, got dtype {arr.dtype}")
    dtype = np.float64 if arr.dtype == np.float64 else np.float32
    arr = np.ascontiguousarray(arr, dtype=dtype)
    bad = ~np.isfinite(arr).all(axis=1)
    if bad.any():
        rows = np.flatnonzero(bad)
        raise EmbeddingError(
            f"{name} has {rows.size} row(s) with NaN or infinite values (first: row {rows[0]})"
        )
    return arr


def normalise(x: np.ndarray, *, name: str) -> np.ndarray:
    """Scale rows to unit length (cosine similarity becomes a dot product).

    Raises
    ------
    EmbeddingError
        If a row has zero length (its cosine similarity is undefined).
    """
    norms = np.sqrt(np.einsum("ij,ij->i", x, x, dtype=np.float64))
    zero = norms == 0
    if zero.any():
        raise EmbeddingError(
            f"{name} has {int(zero.sum())} all-zero row(s) (first: row {int(np.flatnonzero(zero)[0])}); "
            "cosine similarity is undefined for them"
        )
    return (x / norms[:, None].astype(x.dtype, copy=False)).astype(x.dtype, copy=False)
