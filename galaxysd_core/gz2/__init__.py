"""Galaxy Zoo 2: the decision tree, catalogue reading, well-sampled tags, prompts, datasets.

Public names are imported lazily so ``galaxysd --help`` does not pay for pandas.

- :mod:`~galaxysd_core.gz2.tree` the tree as data (tasks, answers, thresholds)
- :mod:`~galaxysd_core.gz2.flags` ``well_sampled_flags``, ``gz2_class``
- :mod:`~galaxysd_core.gz2.prompts` ``prompt_for``, ``tags_from_flags``,
  ``TABLE1_PROMPTS``, ``DETG_PROMPTS``, ``DETG_COMPOSED_PROMPTS``,
  ``shuffle_tags_transform``
- :mod:`~galaxysd_core.gz2.catalog` ``read_catalog``, ``join_images``
- :mod:`~galaxysd_core.gz2.config` ``PrepareConfig``; :mod:`~galaxysd_core.gz2.dataset`
  ``prepare_dataset``, ``read_prepared``
- :mod:`~galaxysd_core.gz2.folders` a dataset folder's images, tags and catalogue
  (``real_table``, ``catalog_items``, ``read_truth``)
- :mod:`~galaxysd_core.gz2.picker` valid tag choices along the tree (Compose)
- :mod:`~galaxysd_core.gz2.features` the 11 features of consistency (``FEATURES``,
  ``feature_labels``; re-exported by ``metrics.features``)
- :mod:`~galaxysd_core.gz2.overview` ``overview`` (what the Dataset page shows)
- :mod:`~galaxysd_core.gz2.stats`, :mod:`~galaxysd_core.gz2.plots` counts, UpSet data, figures
"""

from __future__ import annotations

from galaxysd_core._lazy import lazy_package

__getattr__, __dir__, __all__ = lazy_package(
    __name__,
    flags="well_sampled_flags flags_to_tags gz2_class required_columns",
    prompts="prompt_for phrases_for tags_from_flags table1_prompt shuffle_tags_transform"
    " PHRASES PHRASE_ORDER DROPPED_TAGS TABLE1_PROMPTS TABLE1_WEIGHTS TABLE1_TEXT"
    " DETG_PROMPTS DETG_COMPOSED_PROMPTS DETG_TAGS",
    catalog="read_catalog read_mapping join_images check_images",
    config="PrepareConfig",
    dataset="prepare_dataset read_prepared label_catalog",
    overview="overview Overview",
)
