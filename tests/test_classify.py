"""Classifier metrics, losses, augmentation and a tiny training run."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from galaxysd_core.classify import purity_completeness_f1
from galaxysd_core.classify.augment import random_affine
from galaxysd_core.classify.losses import bce_loss, focal_loss
from galaxysd_core.classify.metrics import (
    MetricInputError,
    best_f1_threshold,
    bootstrap_metrics,
)
from galaxysd_core.classify.model import (
    ClassifierConfig,
    GalaxyClassifier,
    freeze_for_scoring,
    train_classifier,
)
from galaxysd_core.classify.skymatch import match_sky, sky_statistics
from galaxysd_core.errors import ConfigError

TINY = {"arch": "tiny", "image_size": 32}


def test_purity_completeness_f1_hand_case():
    y_true = [1, 1, 1, 0, 0, 0, 0, 1]
    y_pred = [1, 1, 0, 1, 0, 0, 0, 0]
    # TP 2, FP 1, FN 2: purity 2/3, completeness 1/2, F1 = 2*(1/3)/(7/6) = 4/7
    p, c, f = purity_completeness_f1(y_true, y_pred)
    assert (p, c) == pytest.approx((2 / 3, 0.5))
    assert f == pytest.approx(4 / 7)
    assert purity_completeness_f1(np.array(y_true, bool), np.array(y_true, bool)) == (1, 1, 1)


def test_zero_division_cases_are_zero():
    assert purity_completeness_f1([1, 0, 1], [0, 0, 0]) == (0.0, 0.0, 0.0)  # no predictions
    assert purity_completeness_f1([0, 0], [1, 0]) == (0.0, 0.0, 0.0)  # no true positives
    assert purity_completeness_f1([], []) == (0.0, 0.0, 0.0)


def test_metric_input_errors_name_the_value():
    with pytest.raises(MetricInputError, match="values like \\[2\\]"):
        purity_completeness_f1([0, 2], [0, 1])
    with pytest.raises(MetricInputError, match="3 values but y_pred has 2"):
        purity_completeness_f1([0, 1, 1], [0, 1])


def test_bootstrap_interval_brackets_value_and_shrinks_with_n():
    rng = np.random.default_rng(1)
    y = rng.random(400) < 0.3
    pred = np.where(rng.random(400) < 0.8, y, ~y)
    small = bootstrap_metrics(y[:80], pred[:80], seed=0)
    big = bootstrap_metrics(y, pred, seed=0)
    for name in ("purity", "completeness", "f1"):
        value, low, high = big[name]
        assert low <= value <= high
        assert (high - low) < (small[name][2] - small[name][1])


def test_focal_loss_reduces_to_bce_at_gamma_zero():
    logits = torch.tensor([2.0, -1.0, 0.3, -3.0])
    y = torch.tensor([1.0, 0.0, 0.0, 1.0])
    assert focal_loss(logits, y, alpha=None, gamma=0) == pytest.approx(float(bce_loss(logits, y)))
    # With alpha, gamma 0 is BCE weighted alpha on positives and 1 - alpha on negatives.
    ce = torch.nn.functional.binary_cross_entropy_with_logits(logits, y, reduction="none")
    weighted = (ce * torch.tensor([0.25, 0.75, 0.75, 0.25])).mean()
    assert focal_loss(logits, y, alpha=0.25, gamma=0) == pytest.approx(float(weighted))
    # gamma > 0 down-weights the easy (well-classified) first example the most.
    assert focal_loss(logits, y, alpha=None, gamma=2) < bce_loss(logits, y)
    with pytest.raises(ConfigError, match="gamma must be >= 0, got -1"):
        focal_loss(logits, y, gamma=-1)


def test_best_threshold_maximises_f1():
    y = np.array([0, 0, 0, 1, 0, 1, 1])
    s = np.array([0.1, 0.2, 0.3, 0.4, 0.45, 0.8, 0.9])
    t = best_f1_threshold(y, s)
    # Cut at 0.4 catches all 3 positives with 1 FP (F1 0.857), the best possible.
    assert 0.3 < t < 0.4
    assert purity_completeness_f1(y, s >= t)[2] == pytest.approx(6 / 7)
    assert best_f1_threshold([0, 0], [0.1, 0.9]) == 0.5  # no positive: the default


def test_augmentation_keeps_shape_and_flux_roughly():
    x = torch.zeros(4, 3, 32, 32)
    x[:, :, 12:20, 12:20] = 1.0
    out = random_affine(x, generator=torch.Generator().manual_seed(0))
    assert out.shape == x.shape
    # A centred blob stays mostly inside; zoom of at most 1/0.8 changes area <= 1.6x.
    ratio = out.sum(dim=(1, 2, 3)) / x.sum(dim=(1, 2, 3))
    assert ((ratio > 0.8) & (ratio < 1.7)).all()
    assert not torch.equal(out[0], out[1])


def _toy_set(n: int, seed: int) -> tuple[torch.Tensor, np.ndarray]:
    """Dark noisy images; positives carry a bright bar through the centre."""
    rng = np.random.default_rng(seed)
    y = rng.random(n) < 0.3
    imgs = rng.integers(0, 40, size=(n, 3, 32, 32)).astype(np.uint8)
    imgs[y, :, 13:19, 4:28] = 220
    return torch.from_numpy(imgs), y


def test_tiny_training_learns_and_round_trips(tmp_path):
    x, y = _toy_set(160, 0)
    xv, yv = _toy_set(40, 1)
    xt, yt = _toy_set(80, 2)
    cfg = ClassifierConfig(**TINY, lr=3e-3, epochs=6, batch_size=16, patience=3)
    clf = train_classifier(x, y, val_images=xv, val_labels=yv, config=cfg)
    assert 0.0 < clf.threshold < 1.0
    assert len(clf.info["history"]) >= 1
    pred = clf.predict(xt)
    assert purity_completeness_f1(yt, pred)[2] > 0.8
    clf.save(tmp_path / "clf")
    again = GalaxyClassifier.load(tmp_path / "clf")
    assert again.threshold == clf.threshold
    np.testing.assert_allclose(again.predict_proba(xt), clf.predict_proba(xt), atol=1e-6)
    frozen = freeze_for_scoring(GalaxyClassifier.load(tmp_path / "clf"))
    np.testing.assert_allclose(frozen.predict_proba(xt), clf.predict_proba(xt), atol=1e-5)


def test_classifier_config_errors():
    with pytest.raises(ConfigError, match="loss: must be 'bce' or 'focal', got 'hinge'"):
        ClassifierConfig(loss="hinge").validate()
    with pytest.raises(ConfigError, match="pretrained: weights file not found"):
        ClassifierConfig(pretrained="/nonexistent/w.safetensors").validate()


def _sky(n: int, level: float, sigma: float, seed: int) -> torch.Tensor:
    """uint8 cutouts of pure sky: a level plus Gaussian noise, one bright central galaxy."""
    rng = np.random.default_rng(seed)
    x = level + sigma * rng.standard_normal((n, 3, 32, 32))
    x[:, :, 12:20, 12:20] += 120.0  # the galaxy sits away from the corners
    return torch.from_numpy(np.clip(np.rint(x), 0, 255).astype(np.uint8))


def test_sky_statistics_read_level_and_noise_from_the_corners():
    stats = sky_statistics(_sky(20, level=30.0, sigma=4.0, seed=0))
    assert stats.shape == (20, 2, 3)
    assert np.allclose(np.median(stats[:, 0], axis=0), 30.0, atol=1.0)
    assert np.allclose(np.median(stats[:, 1], axis=0), 4.0, atol=0.6)


def test_match_sky_gives_clean_images_the_reference_sky():
    real = _sky(50, level=30.0, sigma=4.0, seed=1)
    clean = _sky(10, level=5.0, sigma=0.0, seed=2)
    matched = match_sky(clean, real, seed=3, jpeg_quality=None)
    stats = np.median(sky_statistics(matched), axis=0)
    assert np.allclose(stats[0], 30.0, atol=1.0) and np.allclose(stats[1], 4.0, atol=0.6)
    # The galaxy itself moves only by the sky shift (+25) and the noise.
    centre = matched[:, :, 14:18, 14:18].float().mean() - clean[:, :, 14:18, 14:18].float().mean()
    assert abs(float(centre) - 25.0) < 1.5
    assert torch.equal(matched, match_sky(clean, real, seed=3, jpeg_quality=None))
    assert not torch.equal(matched, match_sky(clean, real, seed=4, jpeg_quality=None))
    # An image already as noisy as the reference gets no extra noise, only its level.
    noisy = _sky(4, level=30.0, sigma=6.0, seed=5)
    shift = match_sky(noisy, real, jpeg_quality=None).int() - noisy.int()
    assert shift.abs().max() <= 2
    # JPEG coding smooths noise; the calibration pass still lands near the reference.
    coded = np.median(sky_statistics(match_sky(clean, real, seed=3)), axis=0)
    assert np.allclose(coded[1], 4.0, atol=1.2)


def test_match_sky_rejects_bad_input():
    real = _sky(2, level=30.0, sigma=4.0, seed=0)
    with pytest.raises(ConfigError, match="at least one reference"):
        match_sky(real, real[:0])
    with pytest.raises(ConfigError, match="uint8 images"):
        match_sky(real.float(), real)
    with pytest.raises(ConfigError, match="jpeg_quality"):
        match_sky(real, real, jpeg_quality=0)
    with pytest.raises(ConfigError, match="too small"):
        sky_statistics(real[:, :, :8, :8])


def test_survey_randomise_keeps_shape_and_dtype_and_is_reproducible():
    from galaxysd_core.classify.augment import survey_randomise

    rng = np.random.default_rng(0)
    images = torch.from_numpy((rng.random((16, 3, 64, 64)) * 60).astype(np.uint8))
    a = survey_randomise(images, generator=torch.Generator().manual_seed(2))
    b = survey_randomise(images, generator=torch.Generator().manual_seed(2))
    assert a.dtype == torch.uint8 and a.shape == images.shape and torch.equal(a, b)
    changed = (a != images).flatten(1).any(dim=1)
    assert 8 <= int(changed.sum()) <= 16  # about p = 0.8 of the images are randomised
    assert torch.equal(survey_randomise(images, p=0.0), images)  # p = 0: untouched
    floats = survey_randomise(images.float() / 255, generator=torch.Generator().manual_seed(2))
    assert floats.dtype == torch.float32 and torch.allclose(floats * 255, a.float())
    # stars and sky add light on average; noise and JPEG do not remove it
    dark = torch.zeros((32, 3, 64, 64), dtype=torch.uint8)
    lit = survey_randomise(dark, generator=torch.Generator().manual_seed(0), p=1.0)
    assert lit.float().mean() > 0.5
