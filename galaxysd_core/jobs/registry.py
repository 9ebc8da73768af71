"""Every job kind in one table: kind -> config class -> CLI words (CONTRIBUTING.md).

Config classes are named by import string and imported only when a job of that
kind is validated, so this module stays cheap and a domain that is not built
yet only disables its own kind.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from galaxysd_core.config import TaskConfig
from galaxysd_core.errors import ConfigError, GalaxySDError


class KindUnavailableError(GalaxySDError, ImportError):
    """A job kind is listed but its config class cannot be imported."""


@dataclass(frozen=True)
class JobKind:
    """One row of the job-kind table.

    Parameters
    ----------
    kind : str
        The job kind (also ``TaskConfig.kind`` of its config class).
    config_class : str
        ``"package.module.ClassName"`` of its :class:`~galaxysd_core.config.TaskConfig`.
    words : tuple of str
        The ``galaxysd`` sub-command words that run it with ``--config FILE``.
    heavy : bool
        Whether it keeps the CPUs (or a GPU) busy; at most K heavy jobs run at
        once, the rest wait in the queue.
    """

    kind: str
    config_class: str
    words: tuple[str, ...]
    heavy: bool

    def load_config_class(self) -> type[TaskConfig]:
        """Import and return the config class.

        Raises
        ------
        KindUnavailableError
            If its module or class does not exist (yet).
        """
        module_name, _, class_name = self.config_class.rpartition(".")
        try:
            cls = getattr(importlib.import_module(module_name), class_name)
        except (ImportError, AttributeError) as exc:
            raise KindUnavailableError(
                f"job kind {self.kind!r} is not available: cannot import "
                f"{self.config_class} ({exc})"
            ) from exc
        return cls


# The table of CONTRIBUTING.md "Job kinds". Light kinds (preparing a training
# folder, a 2-D map of embeddings: minutes, mostly I/O or one core) run beside a
# heavy one, so a user is not kept waiting for hours behind a fine-tune.
KINDS: dict[str, JobKind] = {
    row.kind: row
    for row in (
        JobKind("sky", "galaxysd_core.sky.SkyConfig", ("sky",), heavy=True),
        JobKind("prepare", "galaxysd_core.gz2.PrepareConfig", ("prepare",), heavy=False),
        JobKind("finetune", "galaxysd_core.diffusion.FinetuneConfig", ("finetune",), heavy=True),
        JobKind(
            "demo-build",
            "galaxysd_core.diffusion.DemoBuildConfig",
            ("demo", "build"),
            heavy=True,
        ),
        JobKind(
            "demo-guide",
            "galaxysd_core.diffusion.GuideBuildConfig",
            ("demo", "guide"),
            heavy=True,
        ),
        JobKind("simclr", "galaxysd_core.embedding.SimCLRConfig", ("simclr",), heavy=True),
        JobKind("map", "galaxysd_core.embedding.MapConfig", ("map",), heavy=False),
        # Light: a few minutes of sampling, and the Quiz page waits for it.
        JobKind("quiz-pool", "galaxysd_core.quiz_pool.QuizPoolConfig", ("quiz-pool",), heavy=False),
        JobKind(
            "feature-classifiers",
            "galaxysd_core.metrics.FeatureClassifierConfig",
            ("feature-classifiers",),
            heavy=True,
        ),
        JobKind("evaluate", "galaxysd_core.metrics.EvaluateConfig", ("evaluate",), heavy=True),
        JobKind(
            "classify-experiment",
            "galaxysd_core.classify.ExperimentConfig",
            ("classify-experiment",),
            heavy=True,
        ),
        JobKind("grid", "galaxysd_core.metrics.grid.GridConfig", ("grid",), heavy=True),
        JobKind(
            "discover-round",
            "galaxysd_core.discovery.RoundConfig",
            ("discover", "round"),
            heavy=True,
        ),
    )
}


def job_kind(kind: str) -> JobKind:
    """Return the table row of ``kind``.

    Raises
    ------
    ConfigError
        If ``kind`` is not a job kind; the message lists the known ones.
    """
    try:
        return KINDS[kind]
    except (KeyError, TypeError):
        raise ConfigError(f"unknown job kind {kind!r}; known: {sorted(KINDS)}") from None


def available_kinds() -> list[str]:
    """The kinds whose config class can be imported now, in table order."""
    found = []
    for name, row in KINDS.items():
        try:
            row.load_config_class()
        except KindUnavailableError:
            continue
        found.append(name)
    return found
