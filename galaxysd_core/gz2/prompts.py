"""GZ2 tags to text prompts in the authors' wording (paper Table 1, Sec. 3).

One table, :data:`PHRASES`, maps each tag to its phrase. A prompt is ``sdss``
followed by the phrases of a galaxy's tags, comma-joined in the fixed order
:data:`PHRASE_ORDER` (e.g. ``sdss, spiral galaxy, obvious bulge prominence,
tightly wound spiral arms, 2 spiral arms``). Tags without a phrase (negative
answers such as ``no_bar``, and ``star_or_artifact`` / ``odd`` which the paper
drops) are left out. Weighted spans use the ``{text:weight}`` syntax read by
``galaxysd_core.prompts``.

Also here: the Table 1 prompt types A-P and the D-ETG prompts as data, and
:func:`shuffle_tags_transform`, the training-time tag shuffling and
sub-sampling (Sec. 3: "tags are shuffled at every training step").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from galaxysd_core.errors import ConfigError
from galaxysd_core.gz2.tree import ANSWER_BY_TAG, ANSWERS

#: Every prompt starts with the survey token the authors use for SDSS images.
SURVEY_TOKEN = "sdss"

#: Tag -> phrase. Tags absent here carry no phrase and are dropped from prompts.
PHRASES: dict[str, str] = {
    "smooth": "smooth",
    "features_or_disk": "features or disk-shaped",
    "edge_on": "edge-on galaxy",
    "bar": "bar-shaped structure in the center of galaxy",
    "spiral": "spiral galaxy",
    "no_bulge": "no bulge prominence",
    "just_noticeable_bulge": "just noticeable bulge prominence",
    "obvious_bulge": "obvious bulge prominence",
    "dominant_bulge": "dominant bulge prominence",
    "completely_round": "completely round galaxy",
    "in_between": "in-between round galaxy",
    "cigar_shaped": "cigar shaped galaxy",
    "ring": "ring galaxy",
    "lens_or_arc": "lens or arc",
    "disturbed": "disturbed galaxy",
    "irregular": "irregular galaxy",
    "merger": "merger",
    "dust_lane": "dust lane",
    "rounded_bulge": "with rounded edge-on bulge",
    "boxy_bulge": "with boxy edge-on bulge",
    "no_edgeon_bulge": "with no edge-on bulge",
    "tight_arms": "tightly wound spiral arms",
    "medium_arms": "medium wound spiral arms",
    "loose_arms": "loosely wound spiral arms",
    "1_arm": "1 spiral arm",
    "2_arms": "2 spiral arms",
    "3_arms": "3 spiral arms",
    "4_arms": "4 spiral arms",
    "more_than_4_arms": "more than 4 spiral arms",
}

#: Tags the paper removes before training (Sec. 3): not galaxies / not specific.
DROPPED_TAGS: frozenset[str] = frozenset({"star_or_artifact", "odd"})

# Global shape first (T01, T07 / T02, T09), then disk details (T03, T04, T05,
# T10, T11), odd features last (T08) - the order of the authors' examples.
_TASK_ORDER = ("t01", "t07", "t02", "t09", "t03", "t04", "t05", "t10", "t11", "t06", "t08")
#: Tags with a phrase, in prompt order.
PHRASE_ORDER: tuple[str, ...] = tuple(
    a.tag for task in _TASK_ORDER for a in ANSWERS if a.task == task and a.tag in PHRASES
)

#: Table 1 prompt types: letter -> tags (rendered with :func:`table1_prompt`).
TABLE1_PROMPTS: dict[str, tuple[str, ...]] = {
    "A": ("cigar_shaped",),
    "B": ("completely_round",),
    "C": ("edge_on",),
    "D": ("in_between",),
    "E": ("ring",),
    "F": ("spiral", "4_arms"),
    "G": ("spiral", "loose_arms", "2_arms"),
    "H": ("spiral", "tight_arms"),
    "I": ("spiral", "just_noticeable_bulge"),
    "J": ("spiral", "obvious_bulge"),
    "K": ("in_between", "dust_lane"),
    "L": ("edge_on", "dust_lane", "rounded_bulge"),
    "M": ("bar",),
    "N": ("edge_on", "rounded_bulge"),
    "O": ("in_between", "merger"),
    "P": ("spiral", "just_noticeable_bulge", "merger"),
}
#: Table 1 inference weights: letter -> {tag: weight}.
TABLE1_WEIGHTS: dict[str, dict[str, float]] = {"K": {"dust_lane": 1.3}, "L": {"dust_lane": 1.3}}
#: Table 1 as printed in the paper (its own wording, for captions and plots).
TABLE1_TEXT: dict[str, str] = {
    "A": "cigar-shaped galaxy",
    "B": "completely round galaxy",
    "C": "edge-on galaxy",
    "D": "in-between round galaxy",
    "E": "ring galaxy",
    "F": "spiral galaxy with 4 spiral arms",
    "G": "spiral galaxy with loosely wound 2 spiral arms",
    "H": "spiral galaxy with tightly wound spiral arms",
    "I": "spiral galaxy with just noticeable central bulge prominence",
    "J": "spiral galaxy with obvious central bulge prominence",
    "K": "in-between round galaxy, {dust lane:1.3}",
    "L": "edge-on galaxy, {dust lane:1.3}, with rounded edge-on bulge",
    "M": "bar-shaped structure in the center of galaxy",
    "N": "edge-on galaxy, with rounded edge-on bulge",
    "O": "in-between round galaxy, merger",
    "P": "spiral galaxy, just noticeable bulge prominence, merger",
}
#: The D-ETG prompts of Fig. 7, verbatim.
DETG_PROMPTS: tuple[str, str] = (
    "sdss, {completely round:1.2} galaxy, {dust lane:1.3}",
    "sdss, in-between round galaxy, {dust lane:1.3}",
)
#: The same pairs as composed prompts (beyond the paper): host and lane guide
#: each image as two terms (``galaxysd_core.diffusion.composable``), since the
#: training captions never carry them together; the lane's push is 0.6 of the
#: guidance scale (docs/generator-v2.md, "Composable guidance", measures it).
DETG_COMPOSED_PROMPTS: tuple[str, str] = (
    "sdss, completely round galaxy AND sdss, dust lane :0.6",
    "sdss, in-between round galaxy AND sdss, dust lane :0.6",
)
#: The same as tags + weights (``prompt_for(tags, weights=w)`` gives the strings above).
DETG_TAGS: tuple[tuple[tuple[str, ...], dict[str, float]], ...] = (
    (("completely_round", "dust_lane"), {"completely_round": 1.2, "dust_lane": 1.3}),
    (("in_between", "dust_lane"), {"dust_lane": 1.3}),
)


def _check_tags(tags: Iterable[str]) -> list[str]:
    tags = list(tags)
    for tag in tags:
        if not isinstance(tag, str) or tag not in ANSWER_BY_TAG:
            raise ConfigError(f"unknown GZ2 tag {tag!r}; known tags: {[a.tag for a in ANSWERS]}")
    return tags


def _weighted(tag: str, weight: float, *, whole: bool = False) -> str:
    phrase = PHRASES[tag]
    # The weight covers the descriptive words, not the generic noun, as in the
    # authors' "{completely round:1.2} galaxy" (Fig. 7); a slider named after
    # the whole phrase (Compose) weights all of it.
    if phrase.endswith(" galaxy") and not whole:
        return f"{{{phrase[: -len(' galaxy')]}:{weight:g}}} galaxy"
    return f"{{{phrase}:{weight:g}}}"


def phrases_for(
    tags: Iterable[str],
    *,
    weights: Mapping[str, float] | None = None,
    order: bool = True,
    whole: bool = False,
) -> list[str]:
    """The phrases of ``tags`` (tags without a phrase dropped), optionally weighted.

    Parameters
    ----------
    tags : iterable of str
        Tags from :data:`galaxysd_core.gz2.tree.ANSWERS`.
    weights : mapping of tag to float, optional
        Emphasis weights rendered as ``{phrase:weight}``.
    order : bool, default True
        Sort into :data:`PHRASE_ORDER`; False keeps the given order.
    whole : bool, default False
        Weight the whole phrase (``{spiral galaxy:1.2}``) rather than the
        authors' descriptive words only (``{spiral:1.2} galaxy``).

    Returns
    -------
    list of str

    Raises
    ------
    ValueError
        If a tag (or a weighted tag) is unknown.
    """
    tags = _check_tags(tags)
    weights = dict(weights or {})
    _check_tags(weights)
    kept = list(dict.fromkeys(t for t in tags if t in PHRASES))
    if order:
        kept.sort(key=PHRASE_ORDER.index)
    return [_weighted(t, weights[t], whole=whole) if t in weights else PHRASES[t] for t in kept]


def prompt_for(
    tags: Iterable[str], *, weights: Mapping[str, float] | None = None, whole: bool = False
) -> str:
    """The training/inference prompt for a set of tags.

    Parameters
    ----------
    tags : iterable of str
        Short tag names (``dust_lane``, ``completely_round``, ...). Tags without
        a phrase (``star_or_artifact``, ``odd``, ``not_odd``, ``no_bar``, ...)
        are dropped; duplicates count once.
    weights : mapping of tag to float, optional
        Emphasis weights, e.g. ``{"dust_lane": 1.3}`` -> ``{dust lane:1.3}``.
    whole : bool, default False
        See :func:`phrases_for`.

    Returns
    -------
    str
        ``"sdss"`` then the phrases in :data:`PHRASE_ORDER`, comma-joined, e.g.
        ``prompt_for(["in_between", "smooth", "merger"])`` ->
        ``"sdss, smooth, in-between round galaxy, merger"``.

    Raises
    ------
    ValueError
        If a tag is unknown (the message names it).
    """
    return ", ".join([SURVEY_TOKEN, *phrases_for(tags, weights=weights, whole=whole)])


def tags_of_prompt(text: str) -> list[str]:
    """The tags whose phrase is one of a prompt's comma-separated phrases (weights ignored).

    Parameters
    ----------
    text : str
        A (weighted) prompt, e.g. ``"sdss, {spiral:1.2} galaxy, dust lane"``.

    Returns
    -------
    list of str
        Tags in :data:`PHRASE_ORDER` (``["spiral", "dust_lane"]``); words that are
        no tag's phrase are ignored.

    Raises
    ------
    ValueError
        For a malformed weighted prompt.
    """
    from galaxysd_core.prompts import plain_text

    said = {p.strip().lower() for p in plain_text(text).split(",")}
    return [t for t in PHRASE_ORDER if PHRASES[t] in said]


def table1_prompt(letter: str) -> str:
    """The prompt of Table 1 type ``letter`` (A-P) in training wording, with its weights."""
    if letter not in TABLE1_PROMPTS:
        raise ConfigError(
            f"unknown Table 1 prompt type {letter!r}; known: {sorted(TABLE1_PROMPTS)}"
        )
    return prompt_for(TABLE1_PROMPTS[letter], weights=TABLE1_WEIGHTS.get(letter))


def tags_from_flags(flags: pd.Series | pd.DataFrame) -> tuple[str, ...] | pd.Series:
    """Tags carried by one flag row, or by every row of a flag table.

    Parameters
    ----------
    flags : pandas.Series or pandas.DataFrame
        Booleans indexed (Series) or named (DataFrame columns) by answer prefix
        or by tag, as returned by ``well_sampled_flags``.

    Returns
    -------
    tuple of str or pandas.Series
        For a Series, the tuple of tags in tree order; for a DataFrame, a Series
        of such tuples with the same index.
    """
    if isinstance(flags, pd.DataFrame):
        from galaxysd_core.gz2.flags import flags_to_tags

        return flags_to_tags(flags)
    out = []
    for answer in ANSWERS:
        for key in (answer.prefix, answer.tag):
            if key in flags.index and bool(flags[key]):
                out.append(answer.tag)
                break
    return tuple(out)


def shuffle_tags_transform(
    tags: Sequence[str],
    rng: np.random.Generator,
    *,
    keep_prob: float = 1.0,
    min_tags: int = 1,
) -> str:
    """Training-time caption: the galaxy's phrases shuffled and optionally sub-sampled.

    The paper shuffles (and sub-samples) the tags at every training step (Sec. 3)
    so the model does not tie a concept to a position in the prompt. Call this
    once per sample per step with the dataset's ``tags`` (from
    ``metadata.jsonl``) and the trainer's generator.

    Parameters
    ----------
    tags : sequence of str
        The galaxy's tags; tags without a phrase are dropped.
    rng : numpy.random.Generator
        Source of randomness (seeded by the trainer for reproducibility).
    keep_prob : float, default 1.0
        Probability of keeping each phrase; 1.0 only shuffles.
    min_tags : int, default 1
        At least this many phrases are kept (fewer only if the galaxy has fewer).

    Returns
    -------
    str
        ``"sdss, "`` + the kept phrases in random order; ``"sdss"`` if none.

    Raises
    ------
    ValueError
        If a tag is unknown or ``keep_prob`` is outside [0, 1].
    """
    if not 0.0 <= keep_prob <= 1.0:
        raise ConfigError(f"keep_prob must be in [0, 1], got {keep_prob!r}")
    phrases = phrases_for(tags)
    order = rng.permutation(len(phrases))
    if keep_prob < 1.0 and phrases:
        keep = rng.random(len(phrases)) < keep_prob
        need = min(max(min_tags, 0), len(phrases))
        if keep.sum() < need:
            keep[order[:need]] = True
        order = [i for i in order if keep[i]]
    return ", ".join([SURVEY_TOKEN, *(phrases[i] for i in order)])
