"""Realism and diversity in an embedding space (the paper's Sec. 4.1, Eq. 1-4).

Rows of ``real`` (X, N' images) and ``gen`` (Y, N images) are embeddings
f(X_i), f(Y_j) of one prompt's images; S is cosine similarity.

- Realism (Eq. 1): R_p = (1/N) sum_j max_i S(f(X_i), f(Y_j)).
- Diversity (Eq. 3): D_p = (1/(N N')) sum_i sum_j S(f(X_i), f(Y_j)); lower is
  more varied.
- Eq. 2 and 4 average R_p and D_p over prompts (:func:`mean_over_prompts`).

Realism needs the full N x N' similarity matrix's row maxima; it is computed in
blocks so no block exceeds ``max_block_bytes``, and the maxima are summed in
float64. Diversity needs no matrix at all: the mean of all pairwise cosines is
the dot product of the two mean unit vectors, exact and O(N + N').
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import numpy as np

from galaxysd_core.errors import GalaxySDError

#: Default cap on one similarity block (bytes); 64 MiB keeps a 2-core machine's
#: cache-friendly GEMMs while bounding memory for any set size.
DEFAULT_BLOCK_BYTES = 64 * 2**20


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


def _pair(real: np.ndarray, gen: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r = check_embeddings(real, name="real")
    g = check_embeddings(gen, name="gen", dim=r.shape[1])
    dtype = np.result_type(r.dtype, g.dtype)
    return normalise(r.astype(dtype, copy=False), name="real"), normalise(
        g.astype(dtype, copy=False), name="gen"
    )


def _blocks(
    n_gen: int, n_real: int, itemsize: int, max_block_bytes: int
) -> Iterator[tuple[slice, list[slice]]]:
    """Split the N x N' similarity matrix into blocks of at most ``max_block_bytes``."""
    if max_block_bytes < itemsize:
        raise EmbeddingError(f"max_block_bytes={max_block_bytes} is smaller than one value")
    cells = max_block_bytes // itemsize
    real_rows = min(n_real, cells)  # a whole row of the matrix if it fits
    gen_rows = max(1, min(n_gen, cells // real_rows))
    real_slices = [slice(i, min(i + real_rows, n_real)) for i in range(0, n_real, real_rows)]
    for j in range(0, n_gen, gen_rows):
        yield slice(j, min(j + gen_rows, n_gen)), real_slices


def nearest_real(
    real: np.ndarray,
    gen: np.ndarray,
    *,
    max_block_bytes: int = DEFAULT_BLOCK_BYTES,
) -> tuple[np.ndarray, np.ndarray]:
    """For each generated embedding, its most similar real one (the max of Eq. 1).

    Parameters
    ----------
    real : np.ndarray, shape (N', d)
        Real embeddings X.
    gen : np.ndarray, shape (N, d)
        Generated embeddings Y.
    max_block_bytes : int, default 64 MiB
        Cap on the size of one block of the similarity matrix.

    Returns
    -------
    similarity : np.ndarray of float64, shape (N,)
        max_i S(f(X_i), f(Y_j)).
    index : np.ndarray of int64, shape (N,)
        The row of ``real`` achieving it.

    Raises
    ------
    EmbeddingError
        On empty sets, mismatched dimensions, NaN/inf or all-zero rows.
    """
    r, g = _pair(real, gen)
    best = np.full(g.shape[0], -np.inf)
    where = np.zeros(g.shape[0], dtype=np.int64)
    for gs, real_slices in _blocks(g.shape[0], r.shape[0], r.itemsize, max_block_bytes):
        for rs in real_slices:
            block = g[gs] @ r[rs].T
            arg = block.argmax(axis=1)
            val = block[np.arange(block.shape[0]), arg].astype(np.float64)
            better = val > best[gs]
            best[gs] = np.where(better, val, best[gs])
            where[gs] = np.where(better, arg + rs.start, where[gs])
    return best, where


def realism(
    real: np.ndarray, gen: np.ndarray, *, max_block_bytes: int = DEFAULT_BLOCK_BYTES
) -> float:
    """Realism of one prompt's generated images (Eq. 1).

    R_p = (1/N) sum_j max_i S(f(X_i), f(Y_j)): each generated image scores the
    cosine similarity of its nearest real image; 1 means every generated image
    has an exact real twin in the embedding space.

    Parameters
    ----------
    real : np.ndarray, shape (N', d)
        Real embeddings X (rows).
    gen : np.ndarray, shape (N, d)
        Generated embeddings Y (rows).
    max_block_bytes : int, default 64 MiB
        No block of the similarity matrix is larger than this.

    Returns
    -------
    float
        Realism in [-1, 1].

    Raises
    ------
    EmbeddingError (a ValueError)
        On empty sets, mismatched dimensions, NaN/inf or all-zero rows.
    """
    r, g = _pair(real, gen)
    total = 0.0
    for gs, real_slices in _blocks(g.shape[0], r.shape[0], r.itemsize, max_block_bytes):
        best = np.full(gs.stop - gs.start, -np.inf, dtype=r.dtype)
        for rs in real_slices:
            np.maximum(best, (g[gs] @ r[rs].T).max(axis=1), out=best)
        total += float(best.sum(dtype=np.float64))  # float64 accumulation
    return total / g.shape[0]


def diversity(real: np.ndarray, gen: np.ndarray) -> float:
    """Diversity of one prompt's generated images (Eq. 3); lower is more varied.

    D_p = (1/(N N')) sum_i sum_j S(f(X_i), f(Y_j)). With unit rows x_i, y_j the
    double sum factorises: sum_i sum_j x_i . y_j = (sum_i x_i) . (sum_j y_j), so
    D_p is the dot product of the two mean unit vectors, computed exactly in
    float64 in O(N + N') without any similarity matrix.

    Parameters
    ----------
    real : np.ndarray, shape (N', d)
        Real embeddings X.
    gen : np.ndarray, shape (N, d)
        Generated embeddings Y.

    Returns
    -------
    float
        Mean pairwise cosine similarity in [-1, 1].

    Raises
    ------
    EmbeddingError (a ValueError)
        On empty sets, mismatched dimensions, NaN/inf or all-zero rows.
    """
    r, g = _pair(real, gen)
    mean_r = r.mean(axis=0, dtype=np.float64)
    mean_g = g.mean(axis=0, dtype=np.float64)
    return float(mean_r @ mean_g)


def mean_over_prompts(per_prompt: Mapping[str, float]) -> float:
    """Average a per-prompt score over prompts (Eq. 2, 4 and 6).

    Raises
    ------
    EmbeddingError
        If there are no prompts or a score is not finite.
    """
    values = np.asarray(list(per_prompt.values()), dtype=np.float64)
    if values.size == 0:
        raise EmbeddingError("no per-prompt scores to average")
    if not np.isfinite(values).all():
        bad = [k for k, v in per_prompt.items() if not np.isfinite(v)]
        raise EmbeddingError(f"non-finite per-prompt score(s) for {bad}")
    return float(values.mean())
