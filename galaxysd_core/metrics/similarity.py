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

from galaxysd_core.embedding.vectors import EmbeddingError, check_embeddings, normalise

#: Default cap on one similarity block (bytes); 64 MiB keeps a 2-core machine's
#: cache-friendly GEMMs while bounding memory for any set size.
DEFAULT_BLOCK_BYTES = 64 * 2**20
# EmbeddingError, check_embeddings and normalise live in embedding.vectors (the map
# and the probe use them too); named here for the metrics' callers.
__all__ = [
    "DEFAULT_BLOCK_BYTES",
    "EmbeddingError",
    "check_embeddings",
    "diversity",
    "mean_over_prompts",
    "nearest_real",
    "normalise",
    "realism",
]


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
    real, gen : np.ndarray, shapes (N', d) and (N, d)
        Real embeddings X and generated embeddings Y.

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
