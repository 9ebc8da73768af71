"""Quality metrics in an embedding space (the paper's Sec. 4.1, Eq. 1-6) and beyond.

Realism, diversity, consistency and Pareto fronts are pure numpy; the
beyond-paper distances (Fréchet, KID, precision/recall/density/coverage, a
classifier two-sample test) live in :mod:`galaxysd_core.metrics.distances`; the
physical judges in :mod:`.physical` (:mod:`.morphology`, :mod:`.memorisation`);
the X/Y grid of scored generations (``galaxysd grid``) in :mod:`.grid`.
"""

from galaxysd_core.metrics.config import EvaluateConfig, FeatureClassifierConfig
from galaxysd_core.metrics.consistency import consistency, consistency_per_image, pareto_front
from galaxysd_core.metrics.similarity import (
    EmbeddingError,
    diversity,
    mean_over_prompts,
    nearest_real,
    realism,
)

__all__ = [
    "EmbeddingError",
    "EvaluateConfig",
    "FeatureClassifierConfig",
    "consistency",
    "consistency_per_image",
    "diversity",
    "mean_over_prompts",
    "nearest_real",
    "pareto_front",
    "realism",
]
