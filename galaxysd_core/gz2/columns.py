"""Find the per-answer columns of a GZ2 catalogue whatever the release calls them.

Hart et al. (2016) and Willett et al. (2013) name columns
``tNN_<task>_aMM_<answer>_<suffix>``, but releases differ in the task and answer
words, in letter case and in which suffixes they carry. Matching on the task and
answer *numbers* plus the suffix makes every release map onto the canonical
prefixes of :data:`galaxysd_core.gz2.tree.ANSWERS`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from galaxysd_core.gz2.tree import ANSWERS

# Longest suffix first so ``_weighted_fraction`` is not read as ``_fraction``.
_SUFFIX_ALIASES: dict[str, str] = {
    "weighted_fraction": "weighted_fraction",
    "debiased_fraction": "debiased",
    "fraction_debiased": "debiased",
    "debiased": "debiased",
    "fraction": "fraction",
    "weight": "weight",
    "count": "count",
    "votes": "count",
    "flag": "flag",
}
_COLUMN_RE = re.compile(
    r"^t(?P<task>\d{2})_[a-z0-9_]*?a(?P<answer>\d{2})(?:_[a-z0-9_]+?)??_"
    r"(?P<suffix>" + "|".join(sorted(_SUFFIX_ALIASES, key=len, reverse=True)) + r")$"
)
_PREFIX_BY_IDS: dict[tuple[str, str], str] = {
    (a.task[1:], re.search(r"_a(\d{2})_", a.prefix)[1]): a.prefix for a in ANSWERS
}
ID_COLUMNS: tuple[str, ...] = ("dr7objid", "objid")


def answer_columns(columns: Iterable[str]) -> dict[tuple[str, str], str]:
    """Map ``(answer prefix, canonical suffix)`` to the column that holds it.

    Parameters
    ----------
    columns : iterable of str
        The catalogue's column names, in any letter case.

    Returns
    -------
    dict
        ``{(prefix, suffix): column}`` for every recognised answer column;
        ``suffix`` is one of ``count, weight, fraction, weighted_fraction,
        debiased, flag``. An exact canonical name wins over an alias.
    """
    found: dict[tuple[str, str], str] = {}
    exact: set[tuple[str, str]] = set()
    for column in columns:
        match = _COLUMN_RE.match(column.strip().lower())
        if match is None:
            continue
        prefix = _PREFIX_BY_IDS.get((match["task"], match["answer"]))
        if prefix is None:
            continue
        suffix = _SUFFIX_ALIASES[match["suffix"]]
        key = (prefix, suffix)
        is_exact = column == f"{prefix}_{suffix}"
        if key in exact:
            continue
        if is_exact:
            exact.add(key)
        if key not in found or is_exact:
            found[key] = column
    return found


def id_column(columns: Iterable[str]) -> str | None:
    """The galaxy id column (``dr7objid`` in Hart16, ``objid`` in Willett 2013), if any."""
    lowered = {c.strip().lower(): c for c in columns}
    for name in ID_COLUMNS:
        if name in lowered:
            return lowered[name]
    return None
