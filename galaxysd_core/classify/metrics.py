"""Purity, completeness and F1 of the positive class, with bootstrap intervals.

The paper reports purity (precision), completeness (recall) and their harmonic
mean F1 for the positive class (Sec. 4.2, Tables 2 and 3). Here the 0/0 cases
are defined as 0.0 (as scikit-learn's ``zero_division=0``): no predicted
positives gives purity 0, no true positives gives completeness 0, and purity +
completeness = 0 gives F1 0. A classifier that never says "yes" thus scores
0/0/0 instead of an undefined value that would vanish from an average.
"""

from __future__ import annotations

import logging

import numpy as np
from numpy.typing import ArrayLike

from galaxysd_core.errors import GalaxySDError

log = logging.getLogger(__name__)

METRICS = ("purity", "completeness", "f1")


class MetricInputError(GalaxySDError, ValueError):
    """Labels or predictions are not binary 1-D arrays of one length."""


def _as_binary(values: ArrayLike, name: str) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise MetricInputError(f"{name} must be 1-D, got shape {array.shape}")
    if array.dtype == bool:
        return array
    if array.size and not np.isin(array, (0, 1)).all():
        bad = array[~np.isin(array, (0, 1))][:3].tolist()
        raise MetricInputError(f"{name} must hold only 0/1 or booleans, got values like {bad}")
    return array.astype(bool)


def confusion_counts(y_true: ArrayLike, y_pred: ArrayLike) -> tuple[int, int, int, int]:
    """Return ``(tp, fp, fn, tn)`` for binary labels and predictions.

    Raises
    ------
    MetricInputError
        If the arrays are not 1-D, binary and of one length.
    """
    t = _as_binary(y_true, "y_true")
    p = _as_binary(y_pred, "y_pred")
    if t.shape != p.shape:
        raise MetricInputError(f"y_true has {t.size} values but y_pred has {p.size}")
    tp = int(np.sum(t & p))
    fp = int(np.sum(~t & p))
    fn = int(np.sum(t & ~p))
    return tp, fp, fn, int(t.size - tp - fp - fn)


def _from_counts(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> tuple[np.ndarray, ...]:
    tp, fp, fn = (np.asarray(x, dtype=float) for x in (tp, fp, fn))
    with np.errstate(divide="ignore", invalid="ignore"):
        purity = np.where(tp + fp > 0, tp / (tp + fp), 0.0)
        completeness = np.where(tp + fn > 0, tp / (tp + fn), 0.0)
        total = purity + completeness
        f1 = np.where(total > 0, 2 * purity * completeness / total, 0.0)
    return purity, completeness, f1


def purity_completeness_f1(y_true: ArrayLike, y_pred: ArrayLike) -> tuple[float, float, float]:
    """Purity, completeness and F1 of the positive class (Sec. 4.2).

    Parameters
    ----------
    y_true, y_pred : array-like of bool or {0, 1}
        True labels and predicted labels, 1-D and of one length.

    Returns
    -------
    tuple of float
        ``(purity, completeness, f1)``: TP/(TP+FP), TP/(TP+FN) and their
        harmonic mean. Each 0/0 case is 0.0 (see the module docstring).

    Raises
    ------
    MetricInputError
        If the inputs are not binary 1-D arrays of one length.
    """
    tp, fp, fn, _ = confusion_counts(y_true, y_pred)
    purity, completeness, f1 = _from_counts(tp, fp, fn)
    return float(purity), float(completeness), float(f1)


def bootstrap_metrics(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> dict[str, tuple[float, float, float]]:
    """Purity, completeness and F1 with percentile bootstrap intervals.

    Resampling the test set with replacement only changes how many of each
    outcome (TP, FP, FN, TN) it holds, so the resamples are drawn directly as
    multinomial counts: exact, and fast for any test-set size.

    Parameters
    ----------
    y_true, y_pred : array-like
        Binary labels and predictions.
    n_boot : int, default 1000
        Number of bootstrap resamples.
    level : float, default 0.95
        Central coverage of the interval.
    seed : int, default 0
        Seed of the resampling.

    Returns
    -------
    dict
        ``{"purity": (value, low, high), "completeness": ..., "f1": ...}``.
    """
    if n_boot < 1:
        raise MetricInputError(f"n_boot must be >= 1, got {n_boot}")
    if not 0 < level < 1:
        raise MetricInputError(f"level must be in (0, 1), got {level}")
    counts = np.array(confusion_counts(y_true, y_pred), dtype=float)
    values = _from_counts(*counts[:3])
    n = int(counts.sum())
    rng = np.random.default_rng(seed)
    draws = np.zeros((n_boot, 4)) if n == 0 else rng.multinomial(n, counts / n, size=n_boot)
    boots = _from_counts(draws[:, 0], draws[:, 1], draws[:, 2])
    tail = (1 - level) / 2 * 100
    out = {}
    for name, value, boot in zip(METRICS, values, boots, strict=True):
        low, high = np.percentile(boot, [tail, 100 - tail])
        out[name] = (float(value), float(low), float(high))
    return out


def best_f1_threshold(y_true: ArrayLike, scores: ArrayLike, *, default: float = 0.5) -> float:
    """The decision threshold that maximises F1 on a validation set.

    Every distinct score is a candidate cut (predict positive when
    ``score >= cut``). The returned threshold is the midpoint between the best
    cut and the next lower distinct score, so it does not sit exactly on a
    validation example. Ties go to the higher cut (fewer false positives).

    Parameters
    ----------
    y_true : array-like
        Binary validation labels.
    scores : array-like of float
        Classifier probabilities for the same examples.
    default : float, default 0.5
        Returned when the validation set holds no positive (nothing to tune on).

    Returns
    -------
    float
    """
    t = _as_binary(y_true, "y_true")
    s = np.asarray(scores, dtype=float)
    if s.shape != t.shape:
        raise MetricInputError(f"y_true has {t.size} values but scores has {s.size}")
    if not t.any():
        log.warning("validation set has no positive; using threshold %.2f", default)
        return default
    order = np.argsort(-s, kind="stable")
    s_sorted, t_sorted = s[order], t[order]
    tp = np.cumsum(t_sorted)
    fp = np.cumsum(~t_sorted)
    # Only the last index of each run of equal scores is a valid cut.
    last = np.r_[s_sorted[1:] != s_sorted[:-1], True]
    idx = np.flatnonzero(last)
    fn = t.sum() - tp[idx]
    _, _, f1 = _from_counts(tp[idx], fp[idx], fn)
    best = idx[int(np.argmax(f1))]  # argmax picks the first max: the highest cut
    cut = s_sorted[best]
    lower = s_sorted[best + 1] if best + 1 < s.size else max(cut - 1e-6, 0.0)
    return float((cut + lower) / 2)
