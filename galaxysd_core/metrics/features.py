"""The 11 binary features of consistency: they live in :mod:`galaxysd_core.gz2.features`."""

from galaxysd_core.gz2.features import (
    FEATURES,
    Feature,
    feature_labels,
    implied_tags,
    joint_labels,
    prompt_answers,
    tag_targets,
)

__all__ = [
    "FEATURES",
    "Feature",
    "feature_labels",
    "implied_tags",
    "joint_labels",
    "prompt_answers",
    "tag_targets",
]
