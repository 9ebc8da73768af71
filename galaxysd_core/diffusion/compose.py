"""What the Compose page needs from the core: valid tag choices along the GZ2 tree
(the picker, :mod:`galaxysd_core.gz2.picker`), the weighted prompt of a choice, how
a prompt was read, and real images carrying the same tags (the reference a
generation may start from).
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from pathlib import Path

from galaxysd_core.errors import ConfigError
from galaxysd_core.gz2.picker import chosen_tags, picker_tasks, task_options, task_question
from galaxysd_core.gz2.tree import TASKS

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
