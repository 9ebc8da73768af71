"""Statistics of a labelled GZ2 sample: tag counts and tag co-occurrence (UpSet data).

The paper's Fig. 2 is an UpSet plot of the training set restricted to the
primary tags (no bulge prominence, arm counts, ...); :data:`UPSET_TAGS` is
that restriction.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from galaxysd_core.gz2.prompts import PHRASE_ORDER, PHRASES

#: The primary tags shown in the co-occurrence plot (paper Fig. 2).
UPSET_TAGS: tuple[str, ...] = (
    "smooth",
    "features_or_disk",
    "completely_round",
    "in_between",
    "cigar_shaped",
    "edge_on",
    "bar",
    "spiral",
    "ring",
    "lens_or_arc",
    "disturbed",
    "irregular",
    "merger",
    "dust_lane",
)


def tag_counts(stages: dict[str, Iterable[Sequence[str]]]) -> pd.DataFrame:
    """Count galaxies per tag at each stage of the funnel.

    Parameters
    ----------
    stages : dict of str to iterable of tag sequences
        E.g. ``{"well_sampled": [...], "balanced": [...]}``; each item is the
        tags of one galaxy.

    Returns
    -------
    pandas.DataFrame
        Columns ``tag``, ``phrase`` and one count column per stage; one row per
        tag with a phrase, in prompt order.
    """
    table = pd.DataFrame({"tag": list(PHRASE_ORDER)})
    table["phrase"] = table["tag"].map(PHRASES)
    for stage, rows in stages.items():
        counts = Counter(tag for tags in rows for tag in set(tags))
        table[stage] = table["tag"].map(lambda t, c=counts: int(c.get(t, 0)))
    return table


def combinations(
    rows: Iterable[Sequence[str]], *, tags: Sequence[str] = UPSET_TAGS
) -> pd.DataFrame:
    """Count the distinct combinations of ``tags`` carried by galaxies (UpSet data).

    Parameters
    ----------
    rows : iterable of tag sequences
        One item per galaxy.
    tags : sequence of str, default :data:`UPSET_TAGS`
        The tags to keep; others are ignored. Galaxies with none are skipped.

    Returns
    -------
    pandas.DataFrame
        ``combination`` ("smooth+in_between"), ``size`` (tags in it), ``count``,
        and one boolean column per tag, sorted by count descending.
    """
    order = {t: i for i, t in enumerate(tags)}
    counter: Counter[tuple[str, ...]] = Counter()
    for row in rows:
        combo = tuple(sorted({t for t in row if t in order}, key=order.__getitem__))
        if combo:
            counter[combo] += 1
    records = [
        {"combination": "+".join(c), "size": len(c), "count": n, **{t: t in c for t in tags}}
        for c, n in counter.items()
    ]
    columns = ["combination", "size", "count", *tags]
    table = pd.DataFrame(records, columns=columns)
    return table.sort_values(["count", "combination"], ascending=[False, True]).reset_index(
        drop=True
    )


def examples_per_tag(
    tags: Sequence[Sequence[str]],
    names: Sequence[str],
    *,
    per_tag: int = 4,
    seed: int = 0,
) -> dict[str, list[str]]:
    """Pick a few example images of every tag (seeded, so a dataset always shows the same).

    Parameters
    ----------
    tags : sequence of tag sequences
        Tags of each galaxy.
    names : sequence of str
        Image file name (or path) of each galaxy, aligned with ``tags``.
    per_tag : int, default 4
        Examples per tag (fewer if the tag is rarer).
    seed : int, default 0
        Seed of the choice.

    Returns
    -------
    dict of str to list of str
        Tag -> image names, tags in prompt order, only tags that occur.
    """
    if len(tags) != len(names):
        raise ValueError(f"tags and names differ in length: {len(tags)} != {len(names)}")
    rng = np.random.default_rng(seed)
    members: dict[str, list[str]] = {}
    for row, name in zip(tags, names, strict=True):
        for tag in row:
            members.setdefault(tag, []).append(name)
    out = {}
    for tag in PHRASE_ORDER:
        if tag in members:
            chosen = rng.choice(
                len(members[tag]), size=min(per_tag, len(members[tag])), replace=False
            )
            out[tag] = [members[tag][i] for i in sorted(chosen)]
    return out
