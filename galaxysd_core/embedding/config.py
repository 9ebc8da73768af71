"""Task configs of the embedding domain (light: no torch import)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from galaxysd_core.classify.config import ResNetTrainingConfig
from galaxysd_core.config import TaskConfig
from galaxysd_core.errors import ConfigError


@dataclasses.dataclass
class SimCLRConfig(ResNetTrainingConfig):
    """Train a SimCLR encoder (Sec. 4.1) on a folder of galaxy images.

    Defaults: ResNet-18 (``ARCHS["resnet18"]``) at 64x64, NT-Xent tau 0.5, Adam lr 1e-3 (the paper's
    choices, on a CPU-sized image). The paper trains 200 epochs at batch 256;
    ``steps`` and ``time_limit_s`` size the run to the machine.

    Attributes
    ----------
    data : Path
        A mock sky or GZ2 folder (images in ``images/``), a prepared dataset or
        any folder of PNG/JPEG files.
    output_dir : Path, optional
        Run folder; ``checkpoints/`` and the final ``encoder/`` go there
        (filled by the job runner).
    steps : int, default 2000
        Optimiser steps.
    batch_size : int, default 128
        Images per step (each gives two views).
    time_limit_s : float, optional
        Stop early, saving the encoder, after this many seconds of training.
    save_every : int, default 200
        Checkpoint interval in steps; ``keep_checkpoints`` newest are kept.
    resume : str, optional
        ``"latest"`` or a checkpoint folder to continue from.
    init : Path, optional
        An encoder folder to start from (fine-tuning); ignored when resuming
        from a checkpoint. Its architecture replaces ``depths`` etc.
    randomise : bool, default True
        Survey domain randomisation of each view (sky, noise, PSF, stretch,
        JPEG, stars, resolution), so the embedding holds on real images.
    half : bool, default False
        Store the final encoder's weights in fp16.
    lr : float, default 1e-3
        Peak Adam learning rate.
    warmup_steps : int, default 0
        Linear warm-up from ``lr / warmup_steps`` to ``lr`` over these steps.
    cosine : bool, default False
        Decay the learning rate to 0 at ``steps`` along a half cosine (a short
        CPU run ends settled instead of at full step size).
    """

    kind = "simclr"

    projection_dim: int = 128
    steps: int = 2000
    batch_size: int = 128
    lr: float = 1e-3
    warmup_steps: int = 0
    cosine: bool = False
    temperature: float = 0.5
    max_images: int | None = None
    time_limit_s: float | None = None
    save_every: int = 200
    keep_checkpoints: int = 2
    resume: str | None = None
    init: Path | None = None
    randomise: bool = True
    half: bool = False
    seed: int = 0
    device: str = "cpu"

    def validate(self) -> None:
        """Raise ``ConfigError`` naming a bad field and value."""
        if self.data is None:
            raise ConfigError("SimCLRConfig.data: give the image folder to train on")
        super().validate()
        for name in ("steps", "save_every", "keep_checkpoints", "projection_dim"):
            if getattr(self, name) < 1:
                raise ConfigError(f"SimCLRConfig.{name} must be >= 1, got {getattr(self, name)}")
        if self.batch_size < 2:
            raise ConfigError(f"SimCLRConfig.batch_size must be >= 2, got {self.batch_size}")
        if self.lr <= 0 or self.temperature <= 0:
            raise ConfigError(
                f"SimCLRConfig: lr and temperature must be > 0, got {self.lr}, {self.temperature}"
            )
        if self.warmup_steps < 0:
            raise ConfigError(f"SimCLRConfig.warmup_steps must be >= 0, got {self.warmup_steps}")
        if self.max_images is not None and self.max_images < 2:
            raise ConfigError(f"SimCLRConfig.max_images must be >= 2, got {self.max_images}")


#: Map methods :func:`galaxysd_core.embedding.map.compute_map` knows.
MAP_METHODS = ("umap", "tsne", "pca")


@dataclasses.dataclass
class MapConfig(TaskConfig):
    """A 2-D map (UMAP / t-SNE / PCA) of real + generated embeddings.

    Embed real and generated images and write map.parquet (x, y and metadata)
    into output_dir (default: the evaluation run folder given as run).

    Attributes
    ----------
    real : Path, optional
        Folder of real images (a mock sky or dataset); default: the workspace's
        ``sky/default``.
    generated : list of Path
        Folders of generated images (an evaluation run's ``images/`` holds one
        sub-folder per checkpoint x prompt with a ``meta.json``).
    run : Path, optional
        An evaluation run folder: its generated images are added.
    encoder : Path, optional
        Encoder folder; default: ``assets/demo-encoder``.
    method : str, default "umap"
        ``umap``, ``tsne`` or ``pca``.
    max_real : int, default 2000
        Real images sampled (seeded) for the map.
    output_dir : Path, optional
        Where ``map.parquet`` is written (filled by the job runner).
    """

    kind = "map"

    real: Path | None = None
    generated: tuple[Path, ...] = ()
    run: Path | None = None
    encoder: Path | None = None
    method: str = "umap"
    max_real: int = 2000
    n_neighbors: int = 15
    min_dist: float = 0.1
    perplexity: float = 30.0
    batch_size: int = 64
    seed: int = 0
    output_dir: Path | None = None
    device: str = "cpu"

    def validate(self) -> None:
        """Raise ``ConfigError`` naming a bad field and value."""
        if self.method not in MAP_METHODS:
            raise ConfigError(f"MapConfig.method must be one of {MAP_METHODS}, got {self.method!r}")
        if self.max_real < 1:
            raise ConfigError(f"MapConfig.max_real must be >= 1, got {self.max_real}")
        if self.n_neighbors < 2:
            raise ConfigError(f"MapConfig.n_neighbors must be >= 2, got {self.n_neighbors}")
        if self.perplexity <= 0:
            raise ConfigError(f"MapConfig.perplexity must be > 0, got {self.perplexity}")


@dataclasses.dataclass
class ProbeConfig(TaskConfig):
    """Linear-probe and k-NN evidence for an encoder (vs random init) on a mock sky.

    Embed a mock sky (held out: not the training sky's seed) with the encoder
    and with the same architecture at random init, and write per-tag
    cross-validated balanced accuracies as JSON (the demo encoder's probe.json).

    Attributes
    ----------
    encoder : Path
        Encoder folder.
    sky : Path
        Mock sky (truth.parquet) or prepared dataset (votes).
    out : Path
        JSON file to write.
    folds : int, default 3
        Cross-validation folds.
    seed : int, default 0
        Random-init and fold seed.
    """

    encoder: Path
    sky: Path
    out: Path
    folds: int = 3
    seed: int = 0
