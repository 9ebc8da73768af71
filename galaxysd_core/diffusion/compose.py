"""What the Compose page needs from the core: valid tag choices along the GZ2 tree
(the picker, :mod:`galaxysd_core.gz2.picker`), the weighted prompt of a choice, how
a prompt was read, and real images carrying the same tags (the reference a
generation may start from).
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from galaxysd_core.errors import ConfigError
from galaxysd_core.gz2.picker import chosen_tags, picker_tasks, task_options, task_question
from galaxysd_core.gz2.tree import TASKS

__all__ = [
    "DEFAULT_SETTINGS",
    "MAX_TOKENS",
    "REFERENCE_MODES",
    "TASKS",
    "check_prompt",
    "choose_reference",
    "chosen_tags",
    "describe_spans",
    "picker_tasks",
    "prompt_for_choice",
    "same_tag_images",
    "slug",
    "task_options",
    "task_question",
]

#: Generation settings of a first visit to the Compose page.
DEFAULT_SETTINGS: dict[str, float | int | str] = {
    "ref": "none",
    "negative_prompt": "",
    "strength": 0.6,
    "scheduler": "euler_a",
    "steps": 25,
    "guidance": 7.0,
    "guide_below": 1000,
    "eps_scale": 1.0,
    "guide_weight": 1.0,
    "pag_scale": 0.0,
    "pag_above": 0,
    "seed": 0,
    "batch": 4,
}
#: How a generation may start: from noise (text only, the default), from a
#: random real image carrying the chosen tags, from one the user picks among
#: them, or from an image sent from History ("use as reference").
REFERENCE_MODES = ("none", "random with the same tags", "pick one", "sent image")
#: Tokens a prompt may use: the text encoder's 77-token window less BOS and EOS.
MAX_TOKENS = 75


def prompt_for_choice(tags: Sequence[str], weights: Mapping[str, float] | None = None) -> str:
    """The paper's prompt for the tags, ``{phrase:w}`` (the whole phrase) where a weight is not 1."""
    from galaxysd_core.gz2 import prompt_for

    weights = {t: w for t, w in (weights or {}).items() if t in tags and abs(w - 1.0) > 1e-9}
    return prompt_for(tags, weights=weights or None, whole=True)


def check_prompt(tokenizer: Any, prompt: str) -> int:
    """Refuse an empty, malformed or too long prompt; return its token count.

    Parameters
    ----------
    tokenizer : transformers tokenizer
        The model's (counts exactly what the text encoder will read).
    prompt : str
        A weighted prompt, or terms joined by ``AND`` (composable guidance).

    Returns
    -------
    int
        Tokens used (by the longest term), out of :data:`MAX_TOKENS`.

    Raises
    ------
    ConfigError
        If the prompt has no words, cannot be parsed (the message names the
        position) or needs more than :data:`MAX_TOKENS` tokens.
    """
    from galaxysd_core.errors import ConfigError
    from galaxysd_core.prompts import parse_weighted, split_composed

    try:
        terms = split_composed(prompt)
    except ValueError as exc:
        raise ConfigError(f"prompt: {exc}") from None
    used = 0
    for term, _ in terms:
        spans = parse_weighted(term)
        if not any(span.strip() for span, _ in spans):
            raise ConfigError("prompt is empty: write or pick what the galaxy should look like")
        # Each AND term is encoded on its own, so each must fit the window.
        tokens = sum(
            len(tokenizer(span, add_special_tokens=False)["input_ids"]) for span, _ in spans
        )
        if tokens > MAX_TOKENS:
            which = f"prompt term {term[:40]!r}" if len(terms) > 1 else "prompt"
            raise ConfigError(f"{which} has {tokens} tokens; at most {MAX_TOKENS} fit (shorten it)")
        used = max(used, tokens)
    return used


def slug(prompt: str, *, max_length: int = 60) -> str:
    """A file-name-safe summary of a prompt: ``sdss-spiral-galaxy-dust-lane``.

    Weights are dropped; a long prompt is cut at a word, within ``max_length``.
    """
    from galaxysd_core.prompts import plain_text

    try:
        text = plain_text(prompt)
    except ValueError:
        text = prompt
    words = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    if len(words) > max_length:
        words = words[: max_length + 1].rsplit("-", 1)[0]
    return words or "galaxy"


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
        The user's pick, for ``"pick one"``; the image sent, for ``"sent image"``.
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
    if mode == "sent image":
        return picked
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
