"""Consensus and agreement from the votes of a round (pure functions, no database).

The paper's rule (Sec. 5, D-ETG discovery): every candidate is inspected by three
reviewers and kept when at least two agree it is a D-ETG. Here a candidate is
*decided* once it has ``panel_size`` votes and *accepted* when it is decided and
at least ``quorum`` of the votes are ``yes``; ``unsure`` counts as not yes.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from galaxysd_core.review.errors import ReviewValueError
from galaxysd_core.review.models import LABELS

CONSENSUS_COLUMNS = ("candidate_id", "yes", "no", "unsure", "decided", "accepted")


def check_rule(panel_size: int, quorum: int) -> None:
    """Raise ``ReviewValueError`` naming the value unless ``1 <= quorum <= panel_size``."""
    if isinstance(panel_size, bool) or not isinstance(panel_size, int) or panel_size < 1:
        raise ReviewValueError(f"panel_size must be a positive integer, got {panel_size!r}")
    if isinstance(quorum, bool) or not isinstance(quorum, int) or not 1 <= quorum <= panel_size:
        raise ReviewValueError(
            f"quorum must be an integer in 1..panel_size={panel_size}, got {quorum!r}"
        )


def tally(
    candidates: pd.DataFrame, votes: pd.DataFrame, *, panel_size: int, quorum: int
) -> pd.DataFrame:
    """Count each candidate's votes and apply the consensus rule.

    Parameters
    ----------
    candidates : DataFrame
        One row per candidate, with a ``candidate_id`` column (others are kept);
        an ``admin_label`` column (``"yes"``/``"no"``/None) decides by hand.
    votes : DataFrame
        Current votes with ``candidate_id`` and ``label`` columns.
    panel_size, quorum : int
        Votes needed to decide; ``yes`` votes needed to accept.

    Returns
    -------
    DataFrame
        ``candidate_id, yes, no, unsure, decided, accepted`` then ``n_votes`` and
        the other candidate columns, in the candidates' order.
    """
    check_rule(panel_size, quorum)
    counts = (
        pd.crosstab(votes["candidate_id"], votes["label"])
        if len(votes)
        else pd.DataFrame(columns=list(LABELS), dtype="int64")
    )
    counts = counts.reindex(columns=list(LABELS), fill_value=0)
    out = candidates[["candidate_id"]].merge(
        counts, left_on="candidate_id", right_index=True, how="left"
    )
    out[list(LABELS)] = out[list(LABELS)].fillna(0).astype("int64")
    out["n_votes"] = out[list(LABELS)].sum(axis=1)
    out["decided"] = out["n_votes"] >= panel_size
    out["accepted"] = out["decided"] & (out["yes"] >= quorum)
    if "admin_label" in candidates:
        # An admin's decision overrides the panel's (ReviewStore.retire_candidate).
        admin = candidates["admin_label"].to_numpy()
        decided_by_admin = pd.notna(admin)
        out.loc[decided_by_admin, "decided"] = True
        out.loc[decided_by_admin, "accepted"] = admin[decided_by_admin] == "yes"
    rest = [c for c in candidates.columns if c != "candidate_id"]
    out = out.join(candidates[rest])
    return out[[*CONSENSUS_COLUMNS, "n_votes", *rest]].reset_index(drop=True)


@dataclass(frozen=True)
class Agreement:
    """Inter-reviewer agreement of one round.

    Attributes
    ----------
    fleiss_kappa : float
        Fleiss' kappa over the candidates with exactly ``panel_size`` votes
        (NaN with fewer than two such candidates or a single label used).
    krippendorff_alpha : float
        Krippendorff's alpha (nominal) over the candidates with two or more
        votes; tolerates missing votes.
    kappa_items, alpha_items : int
        How many candidates each statistic used.
    per_reviewer : DataFrame
        ``reviewer, votes, decided_votes, agreement``: the fraction of the
        reviewer's votes on decided candidates that match the consensus
        (``yes`` on accepted, ``no`` / ``unsure`` on rejected).
    """

    fleiss_kappa: float
    krippendorff_alpha: float
    kappa_items: int
    alpha_items: int
    per_reviewer: pd.DataFrame


def _quiet(fn, *args, **kwargs) -> float:
    # Both statistics divide by the expected disagreement, which is zero when
    # everyone used one label: that is "undefined", reported as NaN.
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            return float(fn(*args, **kwargs))
        except (ValueError, ZeroDivisionError):
            return float("nan")


def agreement(votes: pd.DataFrame, consensus: pd.DataFrame, *, panel_size: int) -> Agreement:
    """Fleiss' kappa, Krippendorff's alpha and each reviewer's agreement with the consensus.

    Parameters
    ----------
    votes : DataFrame
        Current votes with ``reviewer``, ``candidate_id`` and ``label``.
    consensus : DataFrame
        The output of :func:`tally` for the same round.
    panel_size : int
        The round's panel size (Fleiss' kappa needs a constant number of raters).

    Returns
    -------
    Agreement
    """
    import krippendorff
    from statsmodels.stats.inter_rater import fleiss_kappa

    table = consensus.loc[consensus["n_votes"] == panel_size, list(LABELS)].to_numpy()
    kappa = _quiet(fleiss_kappa, table, method="fleiss") if len(table) >= 2 else float("nan")

    codes = votes.assign(code=votes["label"].map({label: i for i, label in enumerate(LABELS)}))
    matrix = codes.pivot_table(
        index="reviewer", columns="candidate_id", values="code", aggfunc="first"
    )
    matrix = matrix.loc[:, matrix.notna().sum(axis=0) >= 2] if len(matrix) else matrix
    alpha = (
        _quiet(
            krippendorff.alpha,
            reliability_data=matrix.to_numpy(dtype=float),
            level_of_measurement="nominal",
            value_domain=list(range(len(LABELS))),
        )
        if matrix.shape[1] >= 1 and matrix.shape[0] >= 2
        else float("nan")
    )

    decided = consensus.loc[consensus["decided"], ["candidate_id", "accepted"]]
    joined = votes.merge(decided, on="candidate_id", how="left")
    joined["decided"] = joined["accepted"].notna()
    joined["match"] = joined["decided"] & (
        (joined["label"] == "yes") == joined["accepted"].eq(True)
    )
    per = joined.groupby("reviewer").agg(
        votes=("label", "size"), decided_votes=("decided", "sum"), matches=("match", "sum")
    )
    per["agreement"] = per["matches"] / per["decided_votes"].where(per["decided_votes"] > 0)
    per = per.drop(columns="matches").reset_index()
    return Agreement(kappa, alpha, len(table), int(matrix.shape[1]), per)
