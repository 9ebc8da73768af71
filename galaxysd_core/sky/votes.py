"""Simulated Galaxy Zoo 2 volunteers and the Hart et al. (2016)-format catalogue.

Each galaxy is classified by 40-60 simulated volunteers who walk the GZ2 tree
(Willett et al. 2013, Table 2): only the tasks on a volunteer's own path get a
vote. A volunteer answers the galaxy's true answer with a probability that
drops for faint, small (poorly resolved) and distant galaxies, and harder
tasks (arm count, winding, bulge) are noisier. Features fade with redshift, so
"features" and "spiral" votes leak to "smooth" and "no spiral" (the bias that
Hart et al. 2016 debias); ``_debiased`` undoes it with an estimate of the bias
that is close to, but not exactly, the simulated one. A few per cent of
volunteers click at random; they get low ``_weight`` as in Willett's
consistency weighting.

``_flag`` is this simulation's clean flag: the answer's debiased fraction
exceeds 0.8, its task has at least 20 votes, and every earlier answer on the
task's path exceeds the N >= 20 threshold of Willett et al. 2013 Table 3
(NOTES.md "Well-sampled selection").
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from galaxysd_core.gz2.tree import ANSWER_BY_TAG, ANSWERS, SUFFIXES, TASKS, answers_of

TASK_IDS = tuple(TASKS)  # t01 ... t11
N_TASKS = len(TASK_IDS)
MAX_ANS = max(len(answers_of(t)) for t in TASK_IDS)
_T = {t: i for i, t in enumerate(TASK_IDS)}
# Answer k of task t -> index of the task asked next (-1 ends the walk).
NEXT = np.full((N_TASKS, MAX_ANS), -1, dtype=np.int64)
# Answer k of task t -> column in the 37-answer table.
COLUMN = np.full((N_TASKS, MAX_ANS), -1, dtype=np.int64)
for _col, _a in enumerate(ANSWERS):
    _k = answers_of(_a.task).index(_a)
    NEXT[_T[_a.task], _k] = _T[_a.next_task] if _a.next_task else -1
    COLUMN[_T[_a.task], _k] = _col
N_ANSWERS = np.array([len(answers_of(t)) for t in TASK_IDS])
# How much harder each task is than T01 (fine detail is harder to see).
TASK_DIFFICULTY = np.array([1.0, 0.6, 1.2, 0.8, 1.4, 0.8, 0.9, 1.3, 1.2, 1.4, 1.5])
ORDINAL = {"t05", "t07", "t10", "t11"}
# Redshift bias (Bamford et al. 2009; Hart et al. 2016): share of true
# "features" / "spiral" votes that go to "smooth" / "no spiral" at redshift z.
SMOOTH_BIAS, SPIRAL_BIAS = 0.45, 0.3
# The debiasing estimate of those coefficients: deliberately a little off,
# like any empirical correction.
SMOOTH_BIAS_EST, SPIRAL_BIAS_EST = 0.41, 0.27
# Chance, per unit error rate, that the crowd misperceives a task's answer.
MISPERCEIVE = 0.3
CLEAN_MIN_VOTES = 20
CLEAN_DEBIASED = 0.8


def _bias(z: np.ndarray, coeff: float) -> np.ndarray:
    return coeff * z / (z + 0.1)


def _true_answers(truth: pd.DataFrame) -> np.ndarray:
    """(n, 11) index of the true answer per task, -1 where off the true path."""
    out = np.full((len(truth), N_TASKS), -1, dtype=np.int64)
    for ti, t in enumerate(TASK_IDS):
        for k, a in enumerate(answers_of(t)):
            out[truth[a.prefix].to_numpy(), ti] = k
    return out


def _off_path_probs(truth: pd.DataFrame) -> np.ndarray:
    """What volunteers answer at tasks that do not apply to the true galaxy."""
    n = len(truth)
    p = np.zeros((n, N_TASKS, MAX_ANS))
    kind = truth["kind"].to_numpy()
    cigar = truth["round_cls"].to_numpy() == 2
    p[:, _T["t01"], :3] = [0.45, 0.45, 0.10]  # only used where the truth is off the tree
    p[:, _T["t02"], :2] = np.where(cigar[:, None], [0.6, 0.4], [0.1, 0.9])
    p[:, _T["t03"], :2] = [0.1, 0.9]
    p[:, _T["t04"], :2] = [0.2, 0.8]
    p[:, _T["t05"], :4] = np.where(
        (kind == 1)[:, None], [0.05, 0.2, 0.45, 0.3], [0.2, 0.4, 0.3, 0.1]
    )
    p[:, _T["t06"], :2] = [0.3, 0.7]
    p[:, _T["t07"], :3] = np.where((kind == 2)[:, None], [0.0, 0.3, 0.7], [0.3, 0.6, 0.1])
    p[:, _T["t08"], :7] = [0.15, 0.1, 0.2, 0.1, 0.3, 0.1, 0.05]
    p[:, _T["t09"], :3] = [0.4, 0.1, 0.5]
    p[:, _T["t10"], :3] = [0.3, 0.4, 0.3]
    p[:, _T["t11"], :6] = [0.1, 0.35, 0.1, 0.05, 0.05, 0.35]
    return p


def answer_probabilities(truth: pd.DataFrame, *, rng: np.random.Generator) -> np.ndarray:
    """Per galaxy and task, the probability of each answer for an honest volunteer.

    Parameters
    ----------
    truth : pandas.DataFrame
        The population table (morphology codes, answer booleans, redshift,
        ``r_mag``, ``r90_arcsec``, ``psf_fwhm_arcsec``).
    rng : numpy.random.Generator
        Source of the per-galaxy scatter.

    Returns
    -------
    numpy.ndarray
        ``(n, 11, 7)`` probabilities; padding answers have probability 0.
    """
    n = len(truth)
    true = _true_answers(truth)
    # Error rate: faint, poorly resolved galaxies are harder to classify.
    bright = np.clip((17.77 - truth["r_mag"].to_numpy()) / 3.0, 0.0, 1.0)
    res = truth["r90_arcsec"].to_numpy() / truth["psf_fwhm_arcsec"].to_numpy()
    err = 0.02 + 0.08 * (1.0 - bright) + 0.4 / np.maximum(res, 1.0)
    err = err * rng.lognormal(0.0, 0.35, n)
    err_t = np.clip(err[:, None] * TASK_DIFFICULTY[None, :], 0.02, 0.75)

    p = _off_path_probs(truth)
    k = np.arange(MAX_ANS)
    valid = k[None, :] < N_ANSWERS[:, None]  # (11, 7)
    for ti, t in enumerate(TASK_IDS):
        on = true[:, ti] >= 0
        a = true[on, ti]
        if t in ORDINAL:
            conf = np.exp(-1.2 * np.abs(k[None, :] - a[:, None]).astype(float))
        elif t == "t01":
            # Few volunteers call a galaxy a star or artifact.
            conf = np.tile([1.0, 1.0, 0.06] + [0.0] * (MAX_ANS - 3), (len(a), 1))
        else:
            conf = np.ones((len(a), MAX_ANS))
        conf = conf * valid[ti][None, :]
        conf[np.arange(len(a)), a] = 0.0
        conf /= np.maximum(conf.sum(1, keepdims=True), 1e-12)
        e = err_t[on, ti][:, None]
        onehot = (k[None, :] == a[:, None]).astype(float)
        p[on, ti] = (1.0 - e) * onehot + e * conf
        if t != "t01":  # T01's error is the redshift bias below
            # Misperception: for some galaxies the whole crowd sees a wrong
            # answer (a faint bar missed, arms miscounted), so even a clean
            # vote can be wrong and the well-sampled tags are imperfect.
            wrong = rng.random(len(a)) < np.minimum(MISPERCEIVE * e[:, 0], 0.3)
            seen = (rng.random(len(a))[:, None] > np.cumsum(conf, 1)).sum(1)
            seen = np.minimum(seen, N_ANSWERS[ti] - 1)
            swap = (k[None, :] == seen[:, None]).astype(float)
            p[np.flatnonzero(on)[wrong], ti] = ((1.0 - e) * swap + e * onehot)[wrong]
    # Over-dispersion: each galaxy looks a little different to the crowd.
    p = p * rng.lognormal(0.0, 0.25, p.shape) * valid[None]
    p /= np.maximum(p.sum(-1, keepdims=True), 1e-12)

    z = truth["redshift"].to_numpy()
    feat = truth["kind"].to_numpy() >= 2
    b = _bias(z, SMOOTH_BIAS) * feat
    t01 = p[:, _T["t01"]]
    moved = b * t01[:, 1]
    t01[:, 1] -= moved
    t01[:, 0] += moved
    b4 = _bias(z, SPIRAL_BIAS) * truth["spiral"].to_numpy()
    t04 = p[:, _T["t04"]]
    moved = b4 * t04[:, 0]
    t04[:, 0] -= moved
    t04[:, 1] += moved
    return p


def simulate_votes(
    truth: pd.DataFrame, *, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Let simulated volunteers walk the tree for every galaxy.

    Parameters
    ----------
    truth : pandas.DataFrame
        The population table.
    seed : int, default 0
        Random seed.

    Returns
    -------
    counts, weights : numpy.ndarray
        ``(n, 37)`` votes and summed volunteer weights per answer, in
        :data:`~galaxysd_core.gz2.tree.ANSWERS` order.
    n_volunteers : numpy.ndarray
        ``(n,)`` number of volunteers per galaxy.
    """
    rng = np.random.default_rng([seed, 404])
    n = len(truth)
    cdf = np.cumsum(answer_probabilities(truth, rng=rng), axis=-1)
    n_vol = rng.integers(40, 61, n)
    max_v = int(n_vol.max())
    # Random clickers: a few per cent answer uniformly and get low weight.
    clicker = rng.random((n, max_v)) < 0.04
    w = np.where(clicker, rng.uniform(0.1, 0.5, (n, max_v)), rng.uniform(0.85, 1.0, (n, max_v)))
    w = np.round(w, 3)
    n_cols = len(ANSWERS)
    counts = np.zeros(n * n_cols)
    weights = np.zeros(n * n_cols)
    cur = np.where(np.arange(max_v)[None, :] < n_vol[:, None], 0, -1)
    # Walk the tree: each step, every volunteer still classifying answers its task.
    while (cur >= 0).any():
        g, v = np.nonzero(cur >= 0)
        t = cur[g, v]
        u = rng.random(len(g))
        a = (u[:, None] > cdf[g, t]).sum(1)
        a = np.where(clicker[g, v], (u * N_ANSWERS[t]).astype(np.int64), a)
        a = np.minimum(a, N_ANSWERS[t] - 1)
        flat = g * n_cols + COLUMN[t, a]
        counts += np.bincount(flat, minlength=n * n_cols)
        weights += np.bincount(flat, weights=w[g, v], minlength=n * n_cols)
        cur[g, v] = NEXT[t, a]
    shape = (n, n_cols)
    return counts.reshape(shape).astype(np.int64), weights.reshape(shape), n_vol


def _task_slices() -> dict[str, list[int]]:
    return {t: [ANSWERS.index(a) for a in answers_of(t)] for t in TASK_IDS}


def build_catalog(truth: pd.DataFrame, *, seed: int = 0) -> pd.DataFrame:
    """Build the Hart et al. (2016)-format catalogue of simulated votes.

    Parameters
    ----------
    truth : pandas.DataFrame
        The population table, with ``dr7objid``, ``ra`` and ``dec`` columns.
    seed : int, default 0
        Random seed of the volunteers.

    Returns
    -------
    pandas.DataFrame
        ``dr7objid, ra, dec, gz2_class, total_classifications, total_votes``
        and for every answer ``{prefix}_{count, weight, fraction,
        weighted_fraction, debiased, flag}``.
    """
    counts, weights, n_vol = simulate_votes(truth, seed=seed)
    frac = np.zeros_like(weights)
    wfrac = np.zeros_like(weights)
    slices = _task_slices()
    task_n = {}
    for t, cols in slices.items():
        tot = counts[:, cols].sum(1, keepdims=True)
        wtot = weights[:, cols].sum(1, keepdims=True)
        task_n[t] = tot[:, 0]
        frac[:, cols] = np.where(tot > 0, counts[:, cols] / np.maximum(tot, 1), 0.0)
        wfrac[:, cols] = np.where(wtot > 0, weights[:, cols] / np.maximum(wtot, 1e-12), 0.0)
    deb = _debias(frac, truth["redshift"].to_numpy())
    flag = _clean_flags(frac, deb, task_n)

    out: dict[str, object] = {
        "dr7objid": truth["dr7objid"].to_numpy(),
        "ra": truth["ra"].to_numpy(),
        "dec": truth["dec"].to_numpy(),
        "gz2_class": gz2_class(deb, task_n),
        "total_classifications": n_vol,
        "total_votes": counts.sum(1),
    }
    for j, a in enumerate(ANSWERS):
        values = {
            "count": counts[:, j],
            "weight": np.round(weights[:, j], 3),
            "fraction": np.round(frac[:, j], 6),
            "weighted_fraction": np.round(wfrac[:, j], 6),
            "debiased": np.round(deb[:, j], 6),
            "flag": flag[:, j].astype(np.int64),
        }
        for s in SUFFIXES:
            out[f"{a.prefix}_{s}"] = values[s]
    return pd.DataFrame(out)


def _debias(frac: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Undo the estimated redshift bias of "features" (T01) and "spiral" (T04)."""
    deb = frac.copy()
    for (t, src, dst), coeff in (
        (("t01", "features_or_disk", "smooth"), SMOOTH_BIAS_EST),
        (("t04", "spiral", "no_spiral"), SPIRAL_BIAS_EST),
    ):
        del t
        i, j = ANSWERS.index(ANSWER_BY_TAG[src]), ANSWERS.index(ANSWER_BY_TAG[dst])
        pair = frac[:, i] + frac[:, j]
        boosted = np.minimum(frac[:, i] / (1.0 - _bias(z, coeff)), pair)
        deb[:, i] = boosted
        deb[:, j] = pair - boosted
    return deb


def _clean_flags(frac: np.ndarray, deb: np.ndarray, task_n: dict[str, np.ndarray]) -> np.ndarray:
    """Willett et al. 2013 Table 3 clean flags with the N >= 20 thresholds."""
    flag = np.zeros(frac.shape, dtype=bool)
    for t, cols in _task_slices().items():
        task = TASKS[t]
        ok = task_n[t] >= CLEAN_MIN_VOTES
        for tag in task.path:
            ok &= frac[:, ANSWERS.index(ANSWER_BY_TAG[tag])] > task.threshold_n20
        flag[:, cols] = ok[:, None] & (deb[:, cols] > CLEAN_DEBIASED)
    return flag


def gz2_class(deb: np.ndarray, task_n: dict[str, np.ndarray]) -> np.ndarray:
    """Willett et al. (2013, Appendix A)-style class strings from the plurality answers.

    E.g. ``Ei`` (smooth, in between), ``Ser`` (edge-on, rounded bulge),
    ``SBc2m`` (barred, just-noticeable bulge, two medium-wound arms),
    ``Er(u)`` (completely round with a dust lane), ``A`` (star or artifact).
    """
    sl = _task_slices()

    def pick(t: str) -> np.ndarray:
        return np.argmax(deb[:, sl[t]], axis=1)

    def share(tag: str) -> np.ndarray:
        return deb[:, ANSWERS.index(ANSWER_BY_TAG[tag])]

    t01, t07, t09 = pick("t01"), pick("t07"), pick("t09")
    t05, t10, t11, t08 = pick("t05"), pick("t10"), pick("t11"), pick("t08")
    edge, bar, spiral = share("edge_on") > 0.5, share("bar") > 0.5, share("spiral") > 0.5
    odd = (share("odd") > 0.5) & (task_n["t08"] > 0)
    out = []
    for g in range(deb.shape[0]):
        if t01[g] == 2:
            out.append("A")
            continue
        if t01[g] == 0:
            s = "E" + "ric"[t07[g]]
        elif edge[g]:
            s = "Se" + "rbn"[t09[g]]
        else:
            s = "S" + ("B" if bar[g] else "") + "dcba"[t05[g]]
            if spiral[g]:
                s += "1234+?"[t11[g]] + "tml"[t10[g]]
        if odd[g]:
            s += "(" + "rldiomu"[t08[g]] + ")"
        out.append(s)
    return np.array(out, dtype=object)
