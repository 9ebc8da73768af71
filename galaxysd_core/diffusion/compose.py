"""What the Compose page needs from the core: valid tag choices along the GZ2 tree,
the weighted prompt of a choice, how a prompt was read, and real images carrying
the same tags (the reference a generation may start from).

The picker walks the GZ2 decision tree (Willett et al. 2013, Table 2) so only
valid combinations can be built: arm winding and count only under "spiral",
bulge shape only under "edge-on", roundness only under "smooth". T06 ("anything
odd?") is implied by picking a T08 odd feature.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from pathlib import Path

from galaxysd_core.errors import ConfigError
from galaxysd_core.gz2.tree import ANSWER_BY_TAG, TASKS, answers_of

__all__ = [
    "DEFAULT_SETTINGS",
    "REFERENCE_MODES",
    "TASKS",
    "choose_reference",
    "chosen_tags",
    "describe_spans",
    "picker_tasks",
    "prompt_for_choice",
    "same_tag_images",
    "task_options",
    "task_question",
]

#: Generation settings of a first visit to the Compose page.
DEFAULT_SETTINGS: dict[str, float | int | str] = {
    "strength": 0.6,
    "scheduler": "euler_a",
    "steps": 25,
    "guidance": 7.0,
    "seed": 0,
    "batch": 4,
}
#: How a generation may start: from a random real image carrying the chosen
#: tags, from one the user picks among them, or from noise.
REFERENCE_MODES = ("random with the same tags", "pick one", "none")

#: Where the walk goes when a task is left open ("any"): the next task that
#: every answer of it shares, or the task after the branch it would open.
_NEXT_IF_OPEN: dict[str, str | None] = {
    "t01": "t08",
    "t02": "t08",
    "t03": "t04",
    "t04": "t05",
    "t05": "t08",
    "t07": "t08",
    "t09": "t08",
    "t10": "t11",
    "t11": "t05",
    "t08": None,
}
#: Answers the picker hides: no phrase in prompts, or not a galaxy (Sec. 3).
_HIDDEN = {"star_or_artifact", "odd", "not_odd"}


def picker_tasks(choices: Mapping[str, str | None]) -> list[str]:
    """The tasks to show, in tree order, given the answers chosen so far.

    Parameters
    ----------
    choices : mapping of task id -> tag or None
        The current answer of each task (None or missing: left open).

    Returns
    -------
    list of str
        Task ids from ``t01`` along the chosen path; ``t06`` is skipped (its
        "odd" answer is implied by a ``t08`` pick).
    """
    shown, task = [], "t01"
    while task is not None and task not in shown:
        shown.append(task)
        tag = choices.get(task)
        if tag is None:
            task = _NEXT_IF_OPEN[task]
        else:
            nxt = ANSWER_BY_TAG[tag].next_task
            task = "t08" if nxt == "t06" else nxt
    return shown


def task_options(task: str) -> list[str]:
    """The tags a user can pick for a task (hidden answers removed)."""
    return [a.tag for a in answers_of(task) if a.tag not in _HIDDEN]


def task_question(task: str) -> str:
    """The volunteers' question of a task."""
    return TASKS[task].question


def chosen_tags(choices: Mapping[str, str | None]) -> list[str]:
    """The picked tags along the shown path (answers of hidden branches dropped)."""
    return [t for task in picker_tasks(choices) if (t := choices.get(task))]


def prompt_for_choice(tags: Sequence[str], weights: Mapping[str, float] | None = None) -> str:
    """The paper's prompt for the tags, ``{phrase:w}`` where a weight is not 1."""
    from galaxysd_core.gz2 import prompt_for

    weights = {t: w for t, w in (weights or {}).items() if t in tags and abs(w - 1.0) > 1e-9}
    return prompt_for(tags, weights=weights or None)


def same_tag_images(
    pool: Sequence, tags: Sequence[str], *, limit: int | None = None, seed: int = 0
) -> list[Path]:
    """Real images whose tags include all of ``tags`` (a random sample of ``limit``).

    Parameters
    ----------
    pool : sequence of objects with ``path`` and ``tags``
        E.g. ``galaxysd_core.quiz.load_pool(folder)``.
    tags : sequence of str
    limit : int, optional
    seed : int, default 0
    """
    wanted = set(tags)
    found = [item.path for item in pool if wanted <= set(item.tags)]
    return _sample(found, limit, seed)


def _sample(found: list[Path], limit: int | None, seed: int) -> list[Path]:
    """``limit`` of ``found`` drawn with ``seed`` (all of them when there are few enough)."""
    if limit is not None and len(found) > limit:
        return random.Random(seed).sample(found, limit)
    return found


def choose_reference(
    mode: str, matches: Sequence[Path], *, picked: Path | None = None, seed: int = 0
) -> Path | None:
    """The real image a generation starts from, or None to start from noise.

    Parameters
    ----------
    mode : str
        One of :data:`REFERENCE_MODES`.
    matches : sequence of Path
        Real images carrying the chosen tags (:func:`same_tag_images`).
    picked : Path, optional
        The user's pick, for ``"pick one"``.
    seed : int, default 0
        Draws the image for ``"random with the same tags"`` (the generation
        seed, so the same settings start from the same image).

    Returns
    -------
    Path or None
        None for ``"none"``, or when no image carries the tags.

    Raises
    ------
    ValueError
        For a mode not in :data:`REFERENCE_MODES`.
    """
    if mode not in REFERENCE_MODES:
        raise ConfigError(f"unknown reference mode {mode!r}; use one of {REFERENCE_MODES}")
    if mode == "none" or not matches:
        return None
    if mode == "pick one":
        return picked
    return _sample(list(matches), 1, seed)[0]


def describe_spans(spans: Sequence[tuple[str, float]]) -> str:
    """How a prompt was read, in Markdown: ``sdss · **dust lane** x1.3``.

    Parameters
    ----------
    spans : sequence of (str, float)
        From :func:`galaxysd_core.prompts.parse_weighted`.

    Returns
    -------
    str
        The non-blank spans, stripped, joined by `` · ``; a weighted span in
        bold with its factor.
    """
    return " · ".join(
        f"**{s.strip()}** x{w:g}" if w != 1 else s.strip() for s, w in spans if s.strip()
    )
