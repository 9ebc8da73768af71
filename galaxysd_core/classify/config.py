"""The classifier's settings and the Table 2/3 experiment's (job kind ``classify-experiment``).

``ARCHS`` (the named network sizes) and ``ClassifierConfig`` are shared by the
experiments here and the discovery campaign (``galaxysd_core.discovery``), which
nests a ``ClassifierConfig`` the same way. ``ResNetTrainingConfig`` holds the
shape fields of the other ResNets trained here (SimCLR encoder, consistency
classifiers).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import ClassVar, Literal

from galaxysd_core.config import TaskConfig
from galaxysd_core.errors import ConfigError

#: Architectures by name: the paper's ResNet-18, and small ones for tests and demos.
ARCHS: dict[str, dict[str, tuple[int, ...] | int]] = {
    "resnet18": {"depths": (2, 2, 2, 2), "hidden_sizes": (64, 128, 256, 512), "embedding_size": 64},
    "small": {"depths": (1, 1, 1, 1), "hidden_sizes": (16, 32, 64, 128), "embedding_size": 16},
    "tiny": {"depths": (1, 1), "hidden_sizes": (8, 16), "embedding_size": 8},
}
#: Task -> (GZ2 tag of the positive class or None for D-ETG, positive fraction).
TASKS: dict[str, tuple[str | None, float]] = {
    "spiral": ("spiral", 0.43),
    "disk": ("edge_on", 0.09),
    "bar": ("bar", 0.10),
    "bulge": ("obvious_bulge", 0.07),
    "detg": (None, 1 / 101),  # 1 positive per 100 negatives (Table 3)
}
ARMS = ("baseline", "focal", "synthetic")
#: Former flat fields of ExperimentConfig / RoundConfig, now in ``classifier``.
CLASSIFIER_ALIASES = {
    name: f"classifier.{name}"
    for name in ("arch", "image_size", "epochs", "patience", "lr", "batch_size")
}


@dataclasses.dataclass
class ResNetTrainingConfig(TaskConfig):
    """The fields and checks of every task that trains a ResNet on a folder of images.

    The one home of the network's shape (``depths``, ``hidden_sizes``, ...).
    The SimCLR encoder (``SimCLRConfig``) and the consistency classifiers
    (``FeatureClassifierConfig``) derive from it and keep their own defaults
    (an ``ARCHS`` row) and docstrings for ``data``.

    Attributes
    ----------
    data : Path, optional
        The training images.
    output_dir : Path, optional
        Run folder (filled by the job runner).
    image_size : int, default 64
        Input side in pixels (the mock sky's native size), >= 16.
    depths : tuple of int
        Basic blocks per ResNet stage.
    hidden_sizes : tuple of int
        Channels per ResNet stage, one per entry of ``depths``.
    embedding_size : int
        Channels of the ResNet stem.
    """

    data: Path | None = None
    output_dir: Path | None = None
    image_size: int = 64
    depths: tuple[int, ...] = ARCHS["resnet18"]["depths"]
    hidden_sizes: tuple[int, ...] = ARCHS["resnet18"]["hidden_sizes"]
    embedding_size: int = ARCHS["resnet18"]["embedding_size"]

    def validate(self) -> None:
        """Raise ``ConfigError`` naming a bad shape field and value."""
        name = type(self).__name__
        if len(self.depths) != len(self.hidden_sizes) or not self.depths:
            raise ConfigError(
                f"{name}.depths {self.depths} and hidden_sizes {self.hidden_sizes} must be "
                "non-empty and of equal length"
            )
        if min(self.depths) < 1 or min(self.hidden_sizes) < 1:
            raise ConfigError(f"{name}: depths and hidden_sizes must be >= 1")
        if self.embedding_size < 1:
            raise ConfigError(f"{name}.embedding_size must be >= 1, got {self.embedding_size}")
        if self.image_size < 16:
            raise ConfigError(f"{name}.image_size must be >= 16, got {self.image_size}")


@dataclasses.dataclass
class ClassifierConfig(TaskConfig):
    """Architecture and training settings of the binary classifier (Sec. 4.2).

    Defaults are the paper's ResNet-18 at a CPU-friendly 64x64.

    Attributes
    ----------
    arch : {"resnet18", "small", "tiny"}
        Network size (``ARCHS``): the paper's ResNet-18 or smaller ones.
    image_size : int
        Side of the (square) input images in pixels, >= 16.
    loss : {"bce", "focal"}
        Training loss (an experiment sets it per arm).
    alpha : float or None
        Focal-loss weight of the positives (None: unweighted).
    gamma : float
        Focal-loss focusing exponent.
    lr : float
        Adam learning rate.
    batch_size : int
        Images per optimiser step.
    epochs : int
        Maximum passes over the training set.
    patience : int
        Epochs without a better validation loss before stopping early.
    augment : bool
        Random crop / rotation / flip of the training images.
    seed : int
        Seed of the initialisation and the batches (an experiment sets it per seed).
    pretrained : str or None
        Local safetensors file of ResNet weights to start from.
    """

    arch: Literal["resnet18", "small", "tiny"] = "resnet18"
    image_size: int = 64
    loss: Literal["bce", "focal"] = "bce"
    alpha: float | None = 0.25
    gamma: float = 2.0
    lr: float = 1e-4
    batch_size: int = 32
    epochs: int = 20
    patience: int = 3
    augment: bool = True
    seed: int = 0
    pretrained: str | None = None

    @property
    def depths(self) -> tuple[int, ...]:
        """Blocks per ResNet stage of ``arch``."""
        return tuple(ARCHS[self.arch]["depths"])  # type: ignore[arg-type]

    @property
    def hidden_sizes(self) -> tuple[int, ...]:
        """Channels per ResNet stage of ``arch``."""
        return tuple(ARCHS[self.arch]["hidden_sizes"])  # type: ignore[arg-type]

    @property
    def embedding_size(self) -> int:
        """Channels of the ResNet stem of ``arch``."""
        return int(ARCHS[self.arch]["embedding_size"])  # type: ignore[arg-type]

    def validate(self) -> None:
        """Raise ``ConfigError`` naming the bad field and value."""
        name = type(self).__name__
        if self.arch not in ARCHS:
            raise ConfigError(f"{name}.arch: {self.arch!r} is not one of {sorted(ARCHS)}")
        if self.loss not in ("bce", "focal"):
            raise ConfigError(f"{name}.loss: must be 'bce' or 'focal', got {self.loss!r}")
        for field in ("batch_size", "epochs"):
            if getattr(self, field) < 1:
                raise ConfigError(f"{name}.{field}: must be >= 1, got {getattr(self, field)}")
        if self.image_size < 16:
            raise ConfigError(f"{name}.image_size: must be >= 16, got {self.image_size}")
        if self.lr <= 0:
            raise ConfigError(f"{name}.lr: must be > 0, got {self.lr}")
        if self.pretrained is not None and not Path(self.pretrained).is_file():
            raise ConfigError(f"{name}.pretrained: weights file not found: {self.pretrained}")

    @classmethod
    def arch_of(cls, depths: tuple[int, ...], hidden_sizes: tuple[int, ...]) -> str:
        """The ``ARCHS`` name of a network size (classifiers saved before ``arch``).

        Raises
        ------
        ConfigError
            If no named architecture has these sizes.
        """
        for name, arch in ARCHS.items():
            if (tuple(arch["depths"]), tuple(arch["hidden_sizes"])) == (  # type: ignore[arg-type]
                tuple(depths),
                tuple(hidden_sizes),
            ):
                return name
        raise ConfigError(f"no architecture in ARCHS has depths {depths}, sizes {hidden_sizes}")


def check_synthesis(config: TaskConfig) -> None:
    """Check the sampling options of a task that generates synthetic positives.

    Shared by :class:`ExperimentConfig` and the discovery round's config: both
    carry ``model``, ``synthetic_dir``, ``guidance_interval``,
    ``guide_weight``, ``pag_scale`` and ``pag_interval`` and pass them to
    ``generate_into``.

    Raises
    ------
    ConfigError
        A bad interval or PAG scale, or an autoguidance weight with no guide
        beside the model (not checked when ready-made images replace generation).
    """
    from galaxysd_core.diffusion.checks import (
        check_guidance_interval,
        check_guide,
        check_pag_scale,
    )
    from galaxysd_core.paths import DEMO_MODEL

    if config.guidance_interval:
        check_guidance_interval(config.guidance_interval)
    check_pag_scale(config.pag_scale)
    check_guidance_interval(config.pag_interval, "pag_interval")
    if config.guide_weight != 1.0 and not config.synthetic_dir:
        owner = type(config).__name__
        check_guide(None, config.guide_weight, owner=owner, model=config.model or DEMO_MODEL)


@dataclasses.dataclass
class ExperimentConfig(TaskConfig):
    """Baseline / focal / synthetic-augmented classifiers of one task (Tables 2, 3).

    One Table 2/3 experiment: a task, its arms, several seeds.

    Sizes are the paper's (10,000 negatives) times ``scale``; positives follow
    ``positive_fraction`` (default: the paper's for the task). ``synthetic_dir``
    replaces generation with ready-made images (e.g. from the Compose page).
    ``match_sky`` (beyond the paper) gives the synthetic positives the sky
    level, noise and JPEG coding of each seed's real training images
    (:func:`~galaxysd_core.classify.skymatch.match_sky`). ``classifier.loss``
    and ``classifier.seed`` are set per arm and per seed.

    Attributes
    ----------
    task : {"spiral", "disk", "bar", "bulge", "detg"}
        The morphology to classify.
    sky : str or None
        Catalogue folder with truth.parquet; default: workspace sky/default.
    scale : float
        Fraction of the paper's sizes, in (0, 10].
    n_negatives : int
        Negatives at scale 1 (times ``scale``).
    positive_fraction : float or None
        Share of positives; default: the paper's for the task.
    arms : tuple of str
        Any of baseline (BCE), focal (focal loss), synthetic (BCE + generated positives).
    n_synthetic : int
        Synthetic positives at scale 1 (times ``scale``).
    model : str or None
        Diffusion model of the synthetic arm; default: the demo model.
    prompt : str or None
        Prompt of the synthetic arm; default: the task's Table 1 prompt.
    synthetic_dir : str or None
        Ready-made synthetic images instead of generating.
    match_sky : bool
        Give synthetic positives the real images' sky level, noise and JPEG coding.
    steps : int
        Diffusion sampling steps.
    guidance : float
        Classifier-free guidance scale.
    guidance_interval : tuple of float
        Two timesteps LOW HIGH (0-1000): guide only the sampler steps in
        between (``generate``'s option); empty guides every step.
    guide_weight : float
        Autoguidance weight of the synthetic arm, by the ``<model>-guide``
        folder beside the model (``generate``'s option); 1 is off.
    pag_scale : float
        Perturbed-attention guidance scale of the synthetic arm
        (``generate``'s option); 0 is off.
    pag_interval : tuple of float
        Two timesteps LOW HIGH: perturbed-attention guidance on those steps
        only; empty: every step.
    seeds : tuple of int
        One sample, split and training per seed.
    classifier : ClassifierConfig
        The classifier of every arm (default: 10 epochs).
    focal_alpha, focal_gamma : float
        Focal-loss weight and exponent of the focal arm.
    n_boot : int
        Bootstrap resamples of the 95 % intervals.
    output_dir : str or None
        Run folder; default: <workspace>/runs/classify-experiment.
    resume : str or None
        Set by the job runner on a resume (the synthetic images are reused).
    """

    kind: ClassVar[str] = "classify-experiment"
    aliases: ClassVar[dict[str, str]] = CLASSIFIER_ALIASES

    task: Literal["spiral", "disk", "bar", "bulge", "detg"] = "detg"
    sky: str | None = None
    scale: float = 0.05
    n_negatives: int = 10000
    positive_fraction: float | None = None
    arms: tuple[str, ...] = ARMS
    n_synthetic: int = 2000
    model: str | None = None
    prompt: str | None = None
    synthetic_dir: str | None = None
    match_sky: bool = False
    steps: int = 30
    guidance: float = 7.0
    guidance_interval: tuple[float, ...] = ()
    guide_weight: float = 1.0
    pag_scale: float = 0.0
    pag_interval: tuple[float, ...] = ()
    seeds: tuple[int, ...] = (0,)
    classifier: ClassifierConfig = dataclasses.field(
        default_factory=lambda: ClassifierConfig(epochs=10)
    )
    focal_alpha: float = 0.25
    focal_gamma: float = 2.0
    n_boot: int = 1000
    output_dir: str | None = None
    resume: str | None = None

    def validate(self) -> None:
        """Raise ``ConfigError`` naming the bad field and value."""
        name = type(self).__name__
        if self.task not in TASKS:
            raise ConfigError(f"{name}.task: {self.task!r} is not one of {sorted(TASKS)}")
        bad = [a for a in self.arms if a not in ARMS]
        if bad or not self.arms:
            raise ConfigError(
                f"{name}.arms: {list(self.arms)} must be a non-empty subset of {ARMS}"
            )
        if not 0 < self.scale <= 10:
            raise ConfigError(f"{name}.scale: must be in (0, 10], got {self.scale}")
        if self.positive_fraction is not None and not 0 < self.positive_fraction < 1:
            raise ConfigError(
                f"{name}.positive_fraction: must be in (0, 1), got {self.positive_fraction}"
            )
        if not self.seeds:
            raise ConfigError(f"{name}.seeds: give at least one seed")
        check_synthesis(self)
        for field in ("n_negatives", "n_synthetic", "n_boot", "steps"):
            if getattr(self, field) < 1:
                raise ConfigError(f"{name}.{field}: must be >= 1, got {getattr(self, field)}")

    def sizes(self) -> tuple[int, int, int]:
        """``(negatives, positives, synthetic)`` after scaling."""
        frac = self.positive_fraction or TASKS[self.task][1]
        neg = max(10, round(self.n_negatives * self.scale))
        return (
            neg,
            max(2, round(neg * frac / (1 - frac))),
            max(1, round(self.n_synthetic * self.scale)),
        )
