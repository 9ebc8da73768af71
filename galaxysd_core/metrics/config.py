"""Task configs of the metrics domain (light: no torch import)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from galaxysd_core.config import TaskConfig
from galaxysd_core.errors import ConfigError

_MODES = ("text", "reference")


@dataclasses.dataclass
class FeatureClassifierConfig(TaskConfig):
    """Train the 11 consistency classifiers (Sec. 4.1) as heads on an encoder.

    Attributes
    ----------
    data : Path, optional
        A mock sky folder with ``truth.parquet`` and ``images/``; default the
        workspace's ``sky/default``.
    encoder : Path, optional
        Encoder folder; default ``assets/demo-encoder``.
    output_dir : Path, optional
        Where ``feature_heads.safetensors`` + ``.json`` go (job runner fills it).
    c : float, default 1.0
        Inverse L2 regularisation of the logistic regressions.
    """

    kind = "feature-classifiers"

    data: Path | None = None
    encoder: Path | None = None
    output_dir: Path | None = None
    c: float = 1.0
    folds: int = 5
    batch_size: int = 64
    seed: int = 0
    device: str = "cpu"

    def validate(self) -> None:
        """Raise ``ConfigError`` naming a bad field and value."""
        if self.c <= 0:
            raise ConfigError(f"FeatureClassifierConfig.c must be > 0, got {self.c}")
        if self.folds < 2:
            raise ConfigError(f"FeatureClassifierConfig.folds must be >= 2, got {self.folds}")


@dataclasses.dataclass
class EvaluateConfig(TaskConfig):
    """Evaluate a training run's checkpoints (Fig. 4) and sweep settings (Fig. 5).

    For each checkpoint x prompt x mode, ``n_images`` images are generated and
    compared with the real galaxies carrying the prompt's tags: realism,
    diversity, consistency and the beyond-paper distances, plus a real-vs-real
    reference row. A diffusers folder without checkpoints (the demo model) is
    evaluated as one "checkpoint".

    Attributes
    ----------
    run : Path
        A fine-tuning run folder (``checkpoints/checkpoint-N``) or a diffusers
        model folder.
    real : Path, optional
        Mock sky (``truth.parquet``) or prepared dataset (``metadata.jsonl``)
        with the real images; default the workspace's ``sky/default``.
    encoder : Path, optional
        Encoder folder (with ``feature_heads.*``); default ``assets/demo-encoder``.
    prompts : tuple of str
        Table 1 letters (A-P) to evaluate.
    modes : tuple of str
        ``text`` (from noise) and/or ``reference`` (img2img from a real image).
    sweep : bool
        Also run the guidance x strength x steps x feature-weight sweep on the
        last checkpoint, for ``sweep_prompts`` (writes ``pareto.parquet``).
    output_dir : Path, optional
        Where ``metrics.parquet``, ``pareto.parquet`` and ``images/`` go;
        default the run folder (or the job's folder).
    """

    kind = "evaluate"

    run: Path | None = None
    real: Path | None = None
    encoder: Path | None = None
    prompts: tuple[str, ...] = tuple("ABCDEFGHIJKLMNOP")
    modes: tuple[str, ...] = _MODES
    n_images: int = 8
    steps: int = 20
    guidance: float = 7.0
    strength: float = 0.6
    scheduler: str = "euler_a"
    max_checkpoints: int = 5
    max_real: int = 500
    sweep: bool = False
    sweep_prompts: tuple[str, ...] = ("A", "E", "H", "K")
    sweep_guidance: tuple[float, ...] = (3.0, 7.0)
    sweep_strength: tuple[float, ...] = (0.5, 0.8)
    sweep_steps: tuple[int, ...] = (10, 20)
    sweep_weight: tuple[float, ...] = (1.0, 1.3)
    seed: int = 0
    device: str = "cpu"
    output_dir: Path | None = None

    def validate(self) -> None:
        """Raise ``ConfigError`` naming a bad field and value."""
        from galaxysd_core.gz2.prompts import TABLE1_PROMPTS

        if self.run is None:
            raise ConfigError("EvaluateConfig.run: give a training run or model folder")
        for name in ("prompts", "sweep_prompts"):
            bad = [p for p in getattr(self, name) if p not in TABLE1_PROMPTS]
            if bad:
                raise ConfigError(
                    f"EvaluateConfig.{name}: unknown Table 1 prompt(s) {bad}; use {sorted(TABLE1_PROMPTS)}"
                )
        if not self.prompts:
            raise ConfigError("EvaluateConfig.prompts is empty")
        bad_modes = [m for m in self.modes if m not in _MODES]
        if bad_modes or not self.modes:
            raise ConfigError(
                f"EvaluateConfig.modes must be a non-empty subset of {_MODES}, got {self.modes}"
            )
        for name in ("n_images", "steps", "max_checkpoints", "max_real"):
            if getattr(self, name) < 1:
                raise ConfigError(f"EvaluateConfig.{name} must be >= 1, got {getattr(self, name)}")
        if self.n_images < 2:
            raise ConfigError(f"EvaluateConfig.n_images must be >= 2, got {self.n_images}")
        if not 0 < self.strength <= 1 or any(not 0 < s <= 1 for s in self.sweep_strength):
            raise ConfigError(
                f"EvaluateConfig: strengths must be in (0, 1], got {self.strength}, {self.sweep_strength}"
            )
