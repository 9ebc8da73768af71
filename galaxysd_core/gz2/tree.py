"""The Galaxy Zoo 2 decision tree as data (Willett et al. 2013, Tables 2 and 3).

One place answers "which tasks, which answers, where does each answer lead, and
which vote-fraction thresholds make a galaxy well sampled". Answer ids follow the
catalogue: ``t07_rounded_a16_completely_round`` is the column prefix of the
``_count``, ``_fraction``, ``_debiased``, ... columns. Each answer also has a
short ``tag`` used in prompts, datasets and the app.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Answer:
    """One answer of the tree.

    Attributes
    ----------
    prefix : str
        Catalogue column prefix, e.g. ``t08_odd_feature_a38_dust_lane``.
    tag : str
        Short unique name, e.g. ``dust_lane``.
    task : str
        The task id it answers, e.g. ``t08``.
    next_task : str or None
        The task asked next; None ends the classification.
    letter : str
        What it adds to the GZ2 class string (Willett 2013 Appendix A), e.g.
        ``u`` for ``dust_lane``; empty where the string spells it otherwise
        (``E``, ``S``, ``B``, ``A``) or not at all.
    """

    prefix: str
    tag: str
    task: str
    next_task: str | None
    letter: str


@dataclass(frozen=True)
class Task:
    """One question of the tree.

    Attributes
    ----------
    id : str
        ``t01`` ... ``t11``.
    name : str
        Catalogue name, e.g. ``smooth_or_features``.
    question : str
        The question volunteers saw.
    path : tuple of str
        Answer tags that must precede this task for it to be well sampled
        (Willett 2013 Table 3); empty for T01 and T06.
    threshold_n10, threshold_n20 : float
        Minimum raw vote fraction of each answer on ``path`` for the N>=10 and
        N>=20 vote tiers.
    """

    id: str
    name: str
    question: str
    path: tuple[str, ...] = ()
    threshold_n10: float = 0.0
    threshold_n20: float = 0.0


TASKS: dict[str, Task] = {
    t.id: t
    for t in (
        Task(
            "t01",
            "smooth_or_features",
            "Is the galaxy simply smooth and rounded, with no sign of a disk?",
        ),
        Task(
            "t02",
            "edgeon",
            "Could this be a disk viewed edge-on?",
            ("features_or_disk",),
            0.227,
            0.430,
        ),
        Task(
            "t03",
            "bar",
            "Is there a sign of a bar feature through the centre?",
            ("features_or_disk", "not_edge_on"),
            0.519,
            0.715,
        ),
        Task(
            "t04",
            "spiral",
            "Is there any sign of a spiral arm pattern?",
            ("features_or_disk", "not_edge_on"),
            0.519,
            0.715,
        ),
        Task(
            "t05",
            "bulge_prominence",
            "How prominent is the central bulge?",
            ("features_or_disk", "not_edge_on"),
            0.519,
            0.715,
        ),
        Task("t06", "odd", "Is there anything odd?"),
        Task("t07", "rounded", "How rounded is it?", ("smooth",), 0.263, 0.469),
        Task(
            "t08",
            "odd_feature",
            "Is the odd feature a ring, or is the galaxy disturbed or irregular?",
            ("odd",),
            0.223,
            0.420,
        ),
        Task(
            "t09",
            "bulge_shape",
            "Does the galaxy have a bulge at its centre? If so, what shape?",
            ("features_or_disk", "edge_on"),
            0.326,
            0.602,
        ),
        Task(
            "t10",
            "arms_winding",
            "How tightly wound do the spiral arms appear?",
            ("features_or_disk", "not_edge_on", "spiral"),
            0.402,
            0.619,
        ),
        Task(
            "t11",
            "arms_number",
            "How many spiral arms are there?",
            ("features_or_disk", "not_edge_on", "spiral"),
            0.402,
            0.619,
        ),
    )
}

_ANSWER_ROWS: tuple[tuple[str, str, str, str | None, str], ...] = (
    # (task, catalogue answer name, tag, next task, class-string letter)
    ("t01", "a01_smooth", "smooth", "t07", ""),
    ("t01", "a02_features_or_disk", "features_or_disk", "t02", ""),
    ("t01", "a03_star_or_artifact", "star_or_artifact", None, ""),
    ("t02", "a04_yes", "edge_on", "t09", ""),
    ("t02", "a05_no", "not_edge_on", "t03", ""),
    ("t03", "a06_bar", "bar", "t04", ""),
    ("t03", "a07_no_bar", "no_bar", "t04", ""),
    ("t04", "a08_spiral", "spiral", "t10", ""),
    ("t04", "a09_no_spiral", "no_spiral", "t05", ""),
    ("t05", "a10_no_bulge", "no_bulge", "t06", "d"),
    ("t05", "a11_just_noticeable", "just_noticeable_bulge", "t06", "c"),
    ("t05", "a12_obvious", "obvious_bulge", "t06", "b"),
    ("t05", "a13_dominant", "dominant_bulge", "t06", "a"),
    ("t06", "a14_yes", "odd", "t08", ""),
    ("t06", "a15_no", "not_odd", None, ""),
    ("t07", "a16_completely_round", "completely_round", "t06", "r"),
    ("t07", "a17_in_between", "in_between", "t06", "i"),
    ("t07", "a18_cigar_shaped", "cigar_shaped", "t06", "c"),
    ("t08", "a19_ring", "ring", None, "r"),
    ("t08", "a20_lens_or_arc", "lens_or_arc", None, "l"),
    ("t08", "a21_disturbed", "disturbed", None, "d"),
    ("t08", "a22_irregular", "irregular", None, "i"),
    ("t08", "a23_other", "other", None, "o"),
    ("t08", "a24_merger", "merger", None, "m"),
    ("t08", "a38_dust_lane", "dust_lane", None, "u"),
    ("t09", "a25_rounded", "rounded_bulge", "t06", "r"),
    ("t09", "a26_boxy", "boxy_bulge", "t06", "b"),
    ("t09", "a27_no_bulge", "no_edgeon_bulge", "t06", "n"),
    ("t10", "a28_tight", "tight_arms", "t11", "t"),
    ("t10", "a29_medium", "medium_arms", "t11", "m"),
    ("t10", "a30_loose", "loose_arms", "t11", "l"),
    ("t11", "a31_1", "1_arm", "t05", "1"),
    ("t11", "a32_2", "2_arms", "t05", "2"),
    ("t11", "a33_3", "3_arms", "t05", "3"),
    ("t11", "a34_4", "4_arms", "t05", "4"),
    ("t11", "a36_more_than_4", "more_than_4_arms", "t05", "+"),
    ("t11", "a37_cant_tell", "cant_tell_arms", "t05", "?"),
)

ANSWERS: tuple[Answer, ...] = tuple(
    Answer(f"{task}_{TASKS[task].name}_{name}", tag, task, nxt, letter)
    for task, name, tag, nxt, letter in _ANSWER_ROWS
)
ANSWER_BY_TAG: dict[str, Answer] = {a.tag: a for a in ANSWERS}
ANSWER_BY_PREFIX: dict[str, Answer] = {a.prefix: a for a in ANSWERS}
# The column suffixes a full catalogue carries for every answer (Hart et al. 2016).
SUFFIXES: tuple[str, ...] = ("count", "weight", "fraction", "weighted_fraction", "debiased", "flag")


def answers_of(task_id: str) -> tuple[Answer, ...]:
    """Return the answers of one task in catalogue order."""
    if task_id not in TASKS:
        raise KeyError(f"unknown GZ2 task {task_id!r}; known: {sorted(TASKS)}")
    return tuple(a for a in ANSWERS if a.task == task_id)


def threshold(task_id: str, min_votes: int) -> float:
    """The Table 3 path threshold of a task for a vote tier.

    Parameters
    ----------
    task_id : str
        ``t01`` ... ``t11``.
    min_votes : int
        10 selects the N>=10 column (deeper co-add sample), anything else >= 20
        the N>=20 column.

    Returns
    -------
    float
    """
    task = TASKS[task_id]
    return task.threshold_n10 if min_votes < 20 else task.threshold_n20
