"""Realism, diversity, consistency and Pareto fronts against hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from galaxysd_core.metrics import (
    EmbeddingError,
    consistency,
    consistency_per_image,
    diversity,
    nearest_real,
    pareto_front,
    realism,
)


def _loop_realism(real: np.ndarray, gen: np.ndarray) -> float:
    r = real / np.linalg.norm(real, axis=1, keepdims=True)
    return float(
        np.mean(
            [max(float(y @ x) for x in r) for y in gen / np.linalg.norm(gen, axis=1, keepdims=True)]
        )
    )


def test_identical_sets_have_realism_one():
    x = np.random.default_rng(0).normal(size=(20, 8)).astype(np.float32)
    assert realism(x, x) == pytest.approx(1.0, abs=1e-6)


def test_hand_computed_realism_and_diversity():
    real = np.array([[1.0, 0.0], [0.0, 1.0]])
    gen = np.array([[1.0, 1.0], [-1.0, 0.0]])
    # gen 0 is at 45 degrees to both reals (cos = 1/sqrt 2); gen 1 is best
    # matched by the orthogonal (0, 1) (cos 0), not by (1, 0) (cos -1).
    assert realism(real, gen) == pytest.approx((1 / np.sqrt(2) + 0.0) / 2)
    # all four cosines: 1/sqrt2, 1/sqrt2, -1, 0
    assert diversity(real, gen) == pytest.approx((2 / np.sqrt(2) - 1) / 4)


def test_scale_invariance_and_nearest_real():
    real = np.array([[1.0, 0.0], [0.0, 3.0], [2.0, 2.0]])
    gen = np.array([[0.0, 10.0], [5.0, 4.0]])
    sim, idx = nearest_real(real, gen)
    assert idx.tolist() == [1, 2]
    assert sim[0] == pytest.approx(1.0)
    assert realism(real * 7, gen) == pytest.approx(realism(real, gen))


def test_chunked_equals_unchunked_and_loop():
    rng = np.random.default_rng(1)
    real = rng.normal(size=(301, 16)).astype(np.float32)
    gen = rng.normal(size=(97, 16)).astype(np.float32)
    whole = realism(real, gen, max_block_bytes=2**30)
    tiny = realism(real, gen, max_block_bytes=4 * 7)  # blocks of 1 x 7 cells
    assert tiny == pytest.approx(whole, abs=1e-6)
    assert whole == pytest.approx(
        _loop_realism(real.astype(np.float64), gen.astype(np.float64)), abs=1e-5
    )
    _, idx_tiny = nearest_real(real, gen, max_block_bytes=4 * 13)
    _, idx_whole = nearest_real(real, gen)
    assert (idx_tiny == idx_whole).all()


def test_diversity_equals_mean_pairwise_cosine():
    rng = np.random.default_rng(2)
    real, gen = rng.normal(size=(40, 5)), rng.normal(size=(30, 5))
    rn = real / np.linalg.norm(real, axis=1, keepdims=True)
    gn = gen / np.linalg.norm(gen, axis=1, keepdims=True)
    assert diversity(real, gen) == pytest.approx(float((gn @ rn.T).mean()), abs=1e-12)


@pytest.mark.parametrize(
    ("real", "gen", "match"),
    [
        (np.zeros((0, 4)), np.ones((3, 4)), "real is empty"),
        (np.ones((3, 4)), np.ones((3, 5)), "5-d embeddings but the other set has 4-d"),
        (np.ones((3, 4)), np.array([[1.0, np.nan, 0, 0]]), "NaN or infinite.*row 0"),
        (np.ones(4), np.ones((3, 4)), "2-D array"),
        (np.ones((2, 4)), np.zeros((1, 4)), "all-zero row"),
    ],
)
def test_bad_embeddings_raise(real, gen, match):
    for fn in (realism, diversity):
        with pytest.raises(ValueError, match=match):
            fn(real, gen)


def test_consistency_all_applicable():
    pred = np.array([[1, 0, 1], [1, 1, 1]], dtype=bool)
    truth = np.array([True, False, True])
    # image 0 agrees 3/3, image 1 agrees 2/3
    assert consistency(pred, np.tile(truth, (2, 1))) == pytest.approx((1 + 2 / 3) / 2)
    assert consistency(pred, truth) == pytest.approx((1 + 2 / 3) / 2)


def test_consistency_partial_applicability():
    pred = np.array([[1, 0, 0], [0, 0, 1], [1, 1, 1]], dtype=bool)
    truth = np.array([[1, 1, 1]] * 3, dtype=bool)
    applicable = np.array([[1, 0, 0], [1, 1, 0], [0, 0, 0]], dtype=bool)
    per = consistency_per_image(pred, truth, applicable=applicable)
    assert per[0] == 1.0 and per[1] == 0.0 and np.isnan(per[2])
    # image 2 has no applicable classifier and is left out of the mean
    assert consistency(pred, truth, applicable=applicable) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="no classifier is applicable"):
        consistency(pred, truth, applicable=np.zeros(3, dtype=bool))


def test_consistency_bad_input():
    with pytest.raises(EmbeddingError, match="boolean"):
        consistency(np.array([[0.3, 1.0]]), np.array([True, False]))
    with pytest.raises(ValueError, match="does not match"):
        consistency(np.ones((2, 3), dtype=bool), np.ones(4, dtype=bool))
    with pytest.raises(ValueError, match="non-empty"):
        consistency(np.ones((0, 3), dtype=bool), np.ones(3, dtype=bool))


def test_pareto_front_known_points():
    # columns: realism (maximise), diversity score (minimise)
    pts = np.array(
        [
            [0.9, 0.5],  # front: best realism
            [0.8, 0.3],  # front
            [0.7, 0.3],  # dominated by row 1
            [0.5, 0.1],  # front: best diversity
            [0.6, 0.4],  # dominated by row 1
            [0.8, 0.3],  # duplicate of row 1: stays
        ]
    )
    assert pareto_front(pts, [True, False]).tolist() == [True, True, False, True, False, True]
    assert pareto_front(pts, [True, True]).tolist() == [True, False, False, False, False, False]
    with pytest.raises(ValueError, match="maximize has 1"):
        pareto_front(pts, [True])
    with pytest.raises(ValueError, match="NaN"):
        pareto_front(np.array([[np.nan, 1.0]]), [True, True])


def test_beyond_paper_distances_separate_shifted_sets():
    from galaxysd_core.metrics.distances import all_metrics, prdc, reference_metrics

    rng = np.random.default_rng(3)
    real = rng.normal(size=(300, 8)) + 2.0
    same = rng.normal(size=(300, 8)) + 2.0
    shifted = rng.normal(size=(300, 8)) + np.r_[4.0, [2.0] * 7]
    near = all_metrics(real, same)
    far = all_metrics(real, shifted)
    assert near["fd"] < far["fd"] and near["kid"] < far["kid"]
    assert abs(near["c2st"] - 0.5) < 0.1 and far["c2st"] > 0.75
    assert near["precision"] > 0.8 and near["coverage"] > 0.8 and 0.6 < near["density"] < 1.4
    assert far["coverage"] < near["coverage"]
    ref = reference_metrics(real)
    assert ref["n_real"] == 150 and ref["n_gen"] == 150 and ref["realism"] < 1.0
    # identical sets: every point inside the other's balls, each real ball holds itself
    self_prdc = prdc(real, real, k=3)
    assert self_prdc["precision"] == 1.0 and self_prdc["coverage"] == 1.0
    chunked = prdc(real, same, k=3, max_block_bytes=8 * 300 * 7)
    assert chunked == pytest.approx(prdc(real, same, k=3))


def test_frechet_distance_of_known_gaussians():
    from galaxysd_core.metrics.distances import frechet_distance

    # two sets whose unit-normalised rows are exactly {(1,0),(0,1)} and {(0,1),(1,0)}: equal
    a = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert frechet_distance(a, a[::-1]) == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match="at least 2"):
        frechet_distance(a[:1], a)
