"""The 11 binary features Q_i of consistency (Sec. 4.1, Eq. 5-6): what they ask and when.

Each feature answers one GZ2 question about an image ("is there a bar?"). A
feature's true answer and whether its question is asked of a galaxy (its
task's path in the GZ2 tree holds, e.g. the bar question of face-on disks)
come from a mock sky's truth (:func:`feature_labels`); a prompt's expected
answers and which features apply to it from its tags (:func:`prompt_answers`).
The classifiers themselves are one multi-task CNN on pixels
(:mod:`galaxysd_core.metrics.feature_cnn`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from galaxysd_core.errors import ConfigError
from galaxysd_core.gz2.tree import ANSWER_BY_TAG, TASKS
from galaxysd_core.metrics.similarity import EmbeddingError


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
        raise EmbeddingError(f"truth table lacks the answer columns of tags {missing}")
    labels, asked = {}, {}
    for f in FEATURES:
        labels[f.name] = tags[list(f.tags)].any(axis=1)
        path = [t for t in TASKS[f.task].path if t in tags.columns]
        asked[f.name] = tags[path].all(axis=1) if path else pd.Series(True, index=tags.index)
    return pd.DataFrame(labels), pd.DataFrame(asked)
