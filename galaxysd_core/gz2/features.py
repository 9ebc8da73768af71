"""The 11 binary features Q_i of consistency (Sec. 4.1, Eq. 5-6): what they ask and when.

Each feature answers one GZ2 question about an image ("is there a bar?"). A
feature's true answer and whether its question is asked of a galaxy (its
task's path in the GZ2 tree holds, e.g. the bar question of face-on disks)
come from a mock sky's truth (:func:`feature_labels`); a prompt's expected
answers and which features apply to it from its tags (:func:`prompt_answers`).
The classifiers themselves are one multi-task CNN on pixels
(:mod:`galaxysd_core.metrics.feature_cnn`). The module lives in ``gz2``
because it only reads the tree; the demo build reads it too, below metrics.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from galaxysd_core.errors import CatalogError, ConfigError
from galaxysd_core.gz2.tree import ANSWER_BY_TAG, TASKS


@dataclass(frozen=True)
class Feature:
    """One binary classifier: positive when any of ``tags`` holds.

    Attributes
    ----------
    name : str
        Column name of its answers.
    tags : tuple of str
        GZ2 answer tags counted as "yes" (all of one task).
    """

    name: str
    tags: tuple[str, ...]

    @property
    def task(self) -> str:
        """The GZ2 task (question) it answers."""
        return ANSWER_BY_TAG[self.tags[0]].task


#: The paper's 11 feature classifiers (Sec. 4.1).
FEATURES: tuple[Feature, ...] = (
    Feature("features", ("features_or_disk",)),  # smooth vs features
    Feature("edge_on", ("edge_on",)),
    Feature("bar", ("bar",)),
    Feature("spiral", ("spiral",)),
    Feature("bulge_obvious_or_dominant", ("obvious_bulge", "dominant_bulge")),
    Feature("completely_round", ("completely_round",)),
    Feature("cigar_shaped", ("cigar_shaped",)),
    Feature("ring", ("ring",)),
    Feature("merger", ("merger",)),
    Feature("dust_lane", ("dust_lane",)),
    Feature("tight_arms", ("tight_arms",)),
)


def implied_tags(tags: tuple[str, ...] | list[str]) -> set[str]:
    """A prompt's tags plus every answer their GZ2 path implies.

    ``tight_arms`` implies ``features_or_disk``, ``not_edge_on`` and ``spiral``
    (Willett 2013 Table 3 paths); ``merger`` implies ``odd``.
    """
    out = set()
    for tag in tags:
        if tag not in ANSWER_BY_TAG:
            raise ConfigError(f"unknown GZ2 tag {tag!r} in a prompt")
        out.add(tag)
        out.update(TASKS[ANSWER_BY_TAG[tag].task].path)
    return out


def prompt_answers(tags: tuple[str, ...] | list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Expected answers A_i of the 11 classifiers for a prompt, and which apply.

    A classifier applies when the prompt determines its question: the prompt
    (with the answers its path implies) answers that GZ2 task. "Tightly wound
    arms?" applies to ``spiral, loose arms`` (answer no) but not to ``spiral,
    4 arms`` (winding unspecified) nor to a smooth galaxy (not on its path).

    Returns
    -------
    truth : np.ndarray of bool, shape (11,)
    applicable : np.ndarray of bool, shape (11,)
    """
    known = implied_tags(tags)
    answered_tasks = {ANSWER_BY_TAG[t].task for t in known}
    truth = np.array([bool(known & set(f.tags)) for f in FEATURES])
    applicable = np.array([f.task in answered_tasks for f in FEATURES])
    return truth, applicable


def feature_labels(truth: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per galaxy, each classifier's true answer and whether its question is asked.

    Parameters
    ----------
    truth : pd.DataFrame
        A mock sky's ``truth.parquet`` (boolean column per GZ2 answer prefix).

    Returns
    -------
    labels, asked : pd.DataFrame of bool
        One column per classifier.
    """
    from galaxysd_core.gz2.folders import tag_frame

    tags = tag_frame(truth)
    missing = sorted({t for f in FEATURES for t in f.tags} - set(tags.columns))
    if missing:
        raise CatalogError(f"truth table lacks the answer columns of tags {missing}")
    labels, asked = {}, {}
    for f in FEATURES:
        labels[f.name] = tags[list(f.tags)].any(axis=1)
        path = [t for t in TASKS[f.task].path if t in tags.columns]
        asked[f.name] = tags[path].all(axis=1) if path else pd.Series(True, index=tags.index)
    return pd.DataFrame(labels), pd.DataFrame(asked)


def joint_labels(truth: pd.DataFrame) -> pd.DataFrame:
    """Per galaxy, whether each feature's answer holds *and* its question is asked.

    The joint target of a classifier that must also say "no" where its
    question is not asked: "is there a bar?" is no for an elliptical, which
    has no disk to bar (see :func:`tag_targets`).
    """
    labels, asked = feature_labels(truth)
    return labels & asked


def tag_targets(
    tags_per_galaxy: list[tuple[str, ...]] | list[list[str]], *, joint: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Classifier targets from catalogue tags (well-sampled GZ2 answers), and which are known.

    A galaxy's tags are the answers its volunteers agreed on; a task without
    a well-sampled answer leaves its feature unknown. With ``joint`` (the
    default) a feature's target is "its answer holds and its question is
    asked": positive when a tag (or an answer it implies) gives the feature;
    negative when its task has another well-sampled answer, or when a task on
    its path does (a ``smooth`` galaxy has no bar, no arms and no bulge of a
    disk). Without ``joint`` the target is the conditional one of
    :func:`prompt_answers`: known only where the feature's own task is answered.

    Parameters
    ----------
    tags_per_galaxy : list of sequences of str
        GZ2 tags per galaxy (e.g. a prepared dataset's ``tags``).
    joint : bool, default True

    Returns
    -------
    labels, known : np.ndarray of bool, shape (n, 11)

    Raises
    ------
    ConfigError
        On an unknown tag.
    """
    n = len(tags_per_galaxy)
    labels = np.zeros((n, len(FEATURES)), dtype=bool)
    known = np.zeros((n, len(FEATURES)), dtype=bool)
    for j, tags in enumerate(tags_per_galaxy):
        implied = implied_tags(tuple(tags))
        answered = {ANSWER_BY_TAG[t].task for t in implied}
        for i, f in enumerate(FEATURES):
            labels[j, i] = bool(implied & set(f.tags))
            known[j, i] = f.task in answered
            if joint and not labels[j, i]:
                # a task on the path answered otherwise: the question is not asked
                off = any(
                    ANSWER_BY_TAG[p].task in answered and p not in implied
                    for p in TASKS[f.task].path
                )
                known[j, i] |= off
    return labels, known
