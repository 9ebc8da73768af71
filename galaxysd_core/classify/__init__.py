"""Binary galaxy classifiers and the paper's augmentation experiments (Sec. 4.2).

``purity_completeness_f1`` is importable without torch; the model, training and
experiment code live in ``model``, ``experiments`` and friends.
"""

from galaxysd_core.classify.metrics import (
    best_f1_threshold,
    bootstrap_metrics,
    purity_completeness_f1,
)

__all__ = [
    "ExperimentConfig",
    "best_f1_threshold",
    "bootstrap_metrics",
    "purity_completeness_f1",
]


def __getattr__(name: str):  # lazy: the experiment config pulls in nothing heavy, but
    # keep the package import light for callers that only want the metrics.
    if name == "ExperimentConfig":
        from galaxysd_core.classify.experiments import ExperimentConfig

        return ExperimentConfig
    raise AttributeError(name)
