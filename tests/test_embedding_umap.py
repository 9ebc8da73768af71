"""UMAP through ``project_2d`` for real (its first fit compiles numba code: about a minute)."""

from __future__ import annotations

import numpy as np

from galaxysd_core.embedding.map import project_2d


def test_umap_keeps_cosine_clusters_apart():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 32))
    labels = np.repeat(np.arange(3), 60)
    # Different lengths along the same direction: cosine geometry must ignore them.
    x = (centres[labels] + 0.15 * rng.normal(size=(180, 32))) * rng.uniform(0.5, 3, (180, 1))
    xy = project_2d(x, method="umap", seed=0, n_neighbors=10)
    assert xy.shape == (180, 2) and xy.dtype == np.float32 and np.isfinite(xy).all()
    distance = np.linalg.norm(xy[:, None] - xy[None], axis=-1)
    np.fill_diagonal(distance, np.inf)
    nearest = np.argsort(distance, axis=1)[:, :5]
    assert (labels[nearest] == labels[:, None]).mean() > 0.95
    # Same seed, same map (UMAP with random_state runs single-threaded and reproducibly).
    np.testing.assert_array_equal(project_2d(x, method="umap", seed=0, n_neighbors=10), xy)
