"""Task configs of the metrics domain (light: no torch import)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Literal

from galaxysd_core.classify.config import ARCHS, ResNetTrainingConfig
from galaxysd_core.config import TaskConfig
from galaxysd_core.errors import ConfigError

_MODES = ("text", "reference")
_TARGETS = ("joint", "conditional")


@dataclasses.dataclass
class FeatureClassifierConfig(ResNetTrainingConfig):
    """Train the 11 consistency classifiers (Sec. 4.1) as one multi-task CNN on pixels.

    One small ResNet with 11 logits, trained on a labelled mock sky with a
    masked, positive-weighted BCE (a feature's loss counts only where its GZ2
    question is asked). Defaults are the shipped ``assets/feature-classifiers``
    settings (the ``ARCHS["small"]`` network); their cost and the sweep that chose them are in
    ``benchmarks/results/feature_classifiers.md``. Domain randomisation
    (``randomise``) about doubles the CPU time per epoch.

    Attributes
    ----------
    data : Path, optional
        A mock sky folder (``truth.parquet``, ``images/``: true labels) or a
        prepared dataset (``metadata.jsonl``: the catalogue's well-sampled
        tags, what a real user has); default the workspace's ``sky/default``.
    output_dir : Path, optional
        Where ``model.safetensors`` + ``feature_classifiers.json`` go (the job
        runner fills it).
    zoom : int, default 1
        2 adds the central half of the cutout, enlarged, as a second view
        (:class:`~galaxysd_core.metrics.feature_cnn.CNNSpec`); 1 is off.
    epochs : int
        Passes over the training split (cosine learning-rate decay to zero).
    batch_size : int
    lr : float
        Peak AdamW learning rate.
    weight_decay : float
    val_fraction : float
        Share of galaxies held out to choose thresholds and measure accuracy.
    max_pos_weight : float
        Cap of the per-feature positive weight (negatives / positives).
    targets : {"joint", "conditional"}, default "joint"
        "joint": a head answers "is its answer true and its question asked?"
        (the bar head says no on an elliptical); "conditional": its loss
        counts only where its question is asked (the first classifiers).
    randomise : bool, default True
        Domain randomisation of the training images (sky, noise, PSF,
        stretch, JPEG, stars, size, resolution) so the heads hold on real
        survey images.
    init : Path, optional
        Classifiers to start from (fine-tuning, e.g. on a new sky version):
        their architecture and input normalisation replace ``depths``,
        ``hidden_sizes``, ``embedding_size`` and ``zoom``.
    seed : int
    device : str
    """

    kind = "feature-classifiers"

    depths: tuple[int, ...] = ARCHS["small"]["depths"]
    hidden_sizes: tuple[int, ...] = ARCHS["small"]["hidden_sizes"]
    embedding_size: int = ARCHS["small"]["embedding_size"]
    zoom: int = 1
    epochs: int = 20
    batch_size: int = 64
    lr: float = 3e-3
    weight_decay: float = 1e-4
    val_fraction: float = 0.2
    max_pos_weight: float = 10.0
    targets: Literal["joint", "conditional"] = "joint"
    randomise: bool = True
    init: Path | None = None
    seed: int = 0
    device: str = "cpu"

    def validate(self) -> None:
        """Raise ``ConfigError`` naming a bad field and value."""
        name = "FeatureClassifierConfig"
        if self.targets not in _TARGETS:
            raise ConfigError(f"{name}.targets must be one of {_TARGETS}, got {self.targets!r}")
        super().validate()
        if self.epochs < 1:
            raise ConfigError(f"{name}.epochs must be >= 1, got {self.epochs}")
        if self.batch_size < 2:  # BatchNorm cannot train on one image
            raise ConfigError(f"{name}.batch_size must be >= 2, got {self.batch_size}")
        if self.zoom not in (1, 2, 4):
            raise ConfigError(f"{name}.zoom must be 1, 2 or 4, got {self.zoom}")
        if self.lr <= 0 or self.weight_decay < 0:
            raise ConfigError(
                f"{name}: lr must be > 0 and weight_decay >= 0, got {self.lr}, {self.weight_decay}"
            )
        if not 0 < self.val_fraction < 1:
            raise ConfigError(f"{name}.val_fraction must be in (0, 1), got {self.val_fraction}")
        if self.max_pos_weight < 1:
            raise ConfigError(f"{name}.max_pos_weight must be >= 1, got {self.max_pos_weight}")


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
    reference_pool : Path, optional
        Where ``reference`` mode draws its starts from (mock sky or prepared
        dataset; images with the prompt's tags, else any). Default the
        ``real`` images themselves, as the paper's img2img draws from the
        real set; another sky keeps every start apart from the images the
        distances compare against.
    encoder : Path, optional
        SimCLR encoder folder (realism, diversity, distances); default
        ``assets/demo-encoder``.
    feature_classifiers : Path, optional
        The consistency classifiers' folder (``galaxysd feature-classifiers``);
        default ``assets/feature-classifiers``.
    prompts : tuple of str
        Table 1 letters (A-P) to evaluate.
    modes : tuple of str
        ``text`` (from noise) and/or ``reference`` (img2img from a real image).
    guidance_interval : tuple of float
        Two timesteps LOW HIGH (0-1000): guide only the sampler steps in
        between (``generate``'s option), in every mode and sweep point.
        Empty: every step.
    eps_scale : float
        ``generate``'s epsilon scaling (the predicted noise divided by this
        from the second step on, in [1, 1.1]), in every mode and sweep
        point; 1 leaves it alone.
    guide_model : Path, optional
        ``generate``'s autoguidance: a weaker model of the same latents to
        steer away from (Karras et al. 2024), in every mode and sweep point.
    guide_weight : float
        Its weight in [1, 4]; 1 is off.
    pag_scale : float
        ``generate``'s perturbed-attention guidance scale in [0, 10], in
        every mode and sweep point; 0 is off.
    pag_interval : tuple of float
        Two timesteps LOW HIGH: perturbed-attention guidance on those steps
        only; empty: every step.
    sweep : bool
        Also run the guidance x strength x steps x feature-weight sweep on the
        last checkpoint, for ``sweep_prompts`` (writes ``pareto.parquet``).
    morphology : bool, default True
        Also measure the physical statistics (statmorph: Gini, M20, C, A, S,
        ellipticity, r50, colour) of real and generated images and their
        scaled Wasserstein distances (``physical``, ``w_<statistic>`` columns;
        ``morphology.parquet``, ``morphology_distances.parquet``).
    morph_size : int, default 64
        Side in pixels every image is measured at (radii are in pixels).
    train : Path, optional
        The model's training images (mock sky or prepared dataset) for the
        memorisation check (``copy_pixel``, ``copy_embedding``,
        ``closest_pairs.parquet``); the ``real`` images are the held-out set.
        None skips the check.
    max_train : int, default 10000
        At most this many training images are compared (a random subset).
    output_dir : Path, optional
        Where ``metrics.parquet``, ``pareto.parquet`` and ``images/`` go;
        default the run folder (or the job's folder).
    """

    kind = "evaluate"

    run: Path | None = None
    real: Path | None = None
    reference_pool: Path | None = None
    encoder: Path | None = None
    feature_classifiers: Path | None = None
    prompts: tuple[str, ...] = tuple("ABCDEFGHIJKLMNOP")
    modes: tuple[str, ...] = _MODES
    n_images: int = 8
    steps: int = 20
    guidance: float = 7.0
    strength: float = 0.6
    scheduler: str = "euler_a"
    guidance_interval: tuple[float, ...] = ()
    eps_scale: float = 1.0
    guide_model: Path | None = None
    guide_weight: float = 1.0
    pag_scale: float = 0.0
    pag_interval: tuple[float, ...] = ()
    max_checkpoints: int = 5
    max_real: int = 500
    sweep: bool = False
    sweep_prompts: tuple[str, ...] = ("A", "E", "H", "K")
    sweep_guidance: tuple[float, ...] = (3.0, 7.0)
    sweep_strength: tuple[float, ...] = (0.5, 0.8)
    sweep_steps: tuple[int, ...] = (10, 20)
    sweep_weight: tuple[float, ...] = (1.0, 1.3)
    morphology: bool = True
    morph_size: int = 64
    train: Path | None = None
    max_train: int = 10000
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
        from galaxysd_core.diffusion.checks import (
            check_eps_scale,
            check_guidance_interval,
            check_guide,
            check_pag_scale,
        )

        check_guidance_interval(self.guidance_interval)
        check_eps_scale(self.eps_scale)
        check_guide(self.guide_model, self.guide_weight, owner="EvaluateConfig")
        check_pag_scale(self.pag_scale)
        check_guidance_interval(self.pag_interval, "pag_interval")
        if self.morph_size < 16:
            raise ConfigError(f"EvaluateConfig.morph_size must be >= 16, got {self.morph_size}")
        for name in ("n_images", "steps", "max_checkpoints", "max_real", "max_train"):
            if getattr(self, name) < 1:
                raise ConfigError(f"EvaluateConfig.{name} must be >= 1, got {getattr(self, name)}")
        if self.n_images < 2:
            raise ConfigError(f"EvaluateConfig.n_images must be >= 2, got {self.n_images}")
        if not 0 < self.strength <= 1 or any(not 0 < s <= 1 for s in self.sweep_strength):
            raise ConfigError(
                f"EvaluateConfig: strengths must be in (0, 1], got {self.strength}, {self.sweep_strength}"
            )


#: A CPU-sized evaluation (about a minute on 2 cores with the demo model): three
#: well-populated, unlike prompts (round, edge-on, tight spiral), text mode, six
#: images each (enough for precision/recall, which need more than k = 5 per set),
#: ten sampler steps, at most 100 real galaxies per prompt.
QUICK_EVALUATION: dict[str, object] = {
    "prompts": ("B", "C", "H"),
    "modes": ("text",),
    "n_images": 6,
    "steps": 10,
    "max_real": 100,
    "max_checkpoints": 1,
}


@dataclasses.dataclass
class MorphologyConfig(TaskConfig):
    """Statmorph statistics of a folder of images (and distances to a real folder).

    Measure Gini, M20, concentration, asymmetry, smoothness, ellipticity, r50
    and colour of every image under ``images`` (statmorph, no Sérsic fit); with
    ``real``, also the scaled Wasserstein distance per statistic with bootstrap
    intervals and the real-vs-real floor (two disjoint halves of ``real``).

    Attributes
    ----------
    images : Path
        Folder of .png/.jpg images (recursive).
    real : Path, optional
        Folder of real images to compare with.
    size : int, default 64
        Measure at SIZE x SIZE pixels.
    workers : int, default 2
        Processes measuring in parallel.
    out : Path, optional
        Write the per-image table here (.csv or .parquet).
    """

    images: Path
    real: Path | None = None
    size: int = 64
    workers: int = 2
    out: Path | None = None
