"""Galaxy Zoo 2: the decision tree, catalogue reading, well-sampled tags, prompts, datasets.

Public names are imported lazily so ``galaxysd --help`` does not pay for pandas.

- :mod:`~galaxysd_core.gz2.tree` the tree as data (tasks, answers, thresholds)
- :mod:`~galaxysd_core.gz2.flags` ``well_sampled_flags``, ``gz2_class``
- :mod:`~galaxysd_core.gz2.prompts` ``prompt_for``, ``tags_from_flags``,
  ``TABLE1_PROMPTS``, ``DETG_PROMPTS``, ``shuffle_tags_transform``
- :mod:`~galaxysd_core.gz2.catalog` ``read_catalog``, ``join_images``
- :mod:`~galaxysd_core.gz2.dataset` ``PrepareConfig``, ``prepare_dataset``, ``read_prepared``
- :mod:`~galaxysd_core.gz2.overview` ``overview`` (what the Dataset page shows)
- :mod:`~galaxysd_core.gz2.stats`, :mod:`~galaxysd_core.gz2.plots` counts, UpSet data, figures
"""

from __future__ import annotations

from galaxysd_core._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "well_sampled_flags": "flags",
    "flags_to_tags": "flags",
    "gz2_class": "flags",
    "required_columns": "flags",
    "prompt_for": "prompts",
    "phrases_for": "prompts",
    "tags_from_flags": "prompts",
    "table1_prompt": "prompts",
    "shuffle_tags_transform": "prompts",
    "PHRASES": "prompts",
    "PHRASE_ORDER": "prompts",
    "DROPPED_TAGS": "prompts",
    "TABLE1_PROMPTS": "prompts",
    "TABLE1_WEIGHTS": "prompts",
    "TABLE1_TEXT": "prompts",
    "DETG_PROMPTS": "prompts",
    "DETG_TAGS": "prompts",
    "read_catalog": "catalog",
    "read_mapping": "catalog",
    "join_images": "catalog",
    "check_images": "catalog",
    "PrepareConfig": "config",
    "prepare_dataset": "dataset",
    "read_prepared": "dataset",
    "label_catalog": "dataset",
    "overview": "overview",
    "Overview": "overview",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
