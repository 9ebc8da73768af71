"""The typed configuration of a mock-sky build (job kind ``sky``)."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import ClassVar

from galaxysd_core.config import MAX_VALUES, TaskConfig
from galaxysd_core.errors import ConfigError

#: Largest image side accepted (``config.MAX_VALUES``); GZ2 cutouts are 424 px.
MAX_SIZE = int(MAX_VALUES["SkyConfig.size"][0])
#: Version of the population and renderer. Version 1 (no ``version`` key in a
#: sky's ``sky_config.json``) was bluer, with a black sky and no bright stars;
#: version 2 is matched to the real SDSS cutouts (``benchmarks/sky_vs_sdss.py``).
SKY_VERSION = 2


@dataclasses.dataclass
class SkyConfig(TaskConfig):
    """Build a mock GZ2 sky (images, catalogue, truth).

    A procedural mock sky in the Galaxy Zoo 2 format: catalog.csv,
    filename_mapping.csv, images/{asset_id}.jpg, truth.parquet, known_detg.csv.

    Parameters
    ----------
    n : int
        Number of galaxies (>= 1).
    size : int, default 64
        Image side in pixels; even, 16 to 2048 (424 matches GZ2).
    seed : int, default 0
        Seed of everything random; the same seed gives byte-identical output.
    out : Path or None
        Output folder. ``None`` means ``<workspace>/sky/seed<seed>-n<n>-<size>px``.
    overwrite : bool, default False
        Replace a non-empty ``out``.
    workers : int or None, default None
        Rendering processes; ``None`` means ``min(2, cpu_count)``.
    jpeg_quality : int, default 90
        JPEG quality of the images (1-95).
    known_detg_fraction : float, default 0.4
        Share of the true D-ETGs listed in ``known_detg.csv`` (Kaviraj-like list).
    dusty_s0_fraction : float, default 0.0
        Share of the dusty, not edge-on disks drawn as bulge-dominated,
        Sombrero-like lenticulars: a lane across a round, smooth body whose
        GZ2 path is "features or disk" (not a D-ETG). 0 renders the sky as
        before, byte for byte.
    version : int, default SKY_VERSION
        The sky version this code renders; recorded in ``sky_config.json`` so
        that skies of different versions are told apart. Only the current one
        can be built.
    """

    kind: ClassVar[str] = "sky"

    n: int = 1000
    size: int = 64
    seed: int = 0
    out: Path | None = None
    overwrite: bool = False
    workers: int | None = None
    jpeg_quality: int = 90
    known_detg_fraction: float = 0.4
    dusty_s0_fraction: float = 0.0
    version: int = SKY_VERSION

    def validate(self) -> None:
        """Raise :class:`ConfigError` naming the first bad field and value."""
        if isinstance(self.n, bool) or not isinstance(self.n, int) or self.n < 1:
            raise ConfigError(f"SkyConfig.n: need at least 1 galaxy, got {self.n!r}")
        if isinstance(self.size, bool) or not isinstance(self.size, int):
            raise ConfigError(f"SkyConfig.size: expected an int, got {self.size!r}")
        if self.size < 16 or self.size > MAX_SIZE or self.size % 2:
            raise ConfigError(
                f"SkyConfig.size: need an even size from 16 to {MAX_SIZE} px, got {self.size}"
            )
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ConfigError(f"SkyConfig.seed: need an int >= 0, got {self.seed!r}")
        if self.workers is not None and (
            isinstance(self.workers, bool) or not isinstance(self.workers, int) or self.workers < 1
        ):
            raise ConfigError(f"SkyConfig.workers: need an int >= 1 or None, got {self.workers!r}")
        if not 1 <= self.jpeg_quality <= 95:
            raise ConfigError(f"SkyConfig.jpeg_quality: need 1-95, got {self.jpeg_quality!r}")
        if not 0.0 <= self.known_detg_fraction <= 1.0:
            raise ConfigError(
                f"SkyConfig.known_detg_fraction: need 0-1, got {self.known_detg_fraction!r}"
            )
        if (
            isinstance(self.dusty_s0_fraction, bool)
            or not isinstance(self.dusty_s0_fraction, (int, float))
            or not 0.0 <= self.dusty_s0_fraction <= 1.0
        ):
            raise ConfigError(
                f"SkyConfig.dusty_s0_fraction: need 0-1, got {self.dusty_s0_fraction!r}"
            )
        if self.version != SKY_VERSION:
            raise ConfigError(
                f"SkyConfig.version: this code renders sky version {SKY_VERSION}, "
                f"got {self.version!r}"
            )
        if self.out is not None:
            self.out = Path(self.out)

    def resolved_out(self) -> Path:
        """The output folder, defaulting to one named after the settings in the workspace."""
        if self.out is not None:
            return Path(self.out)
        from galaxysd_core.paths import workspace

        return workspace().sky / f"seed{self.seed}-n{self.n}-{self.size}px"

    def resolved_workers(self) -> int:
        """The number of rendering processes to use."""
        return self.workers if self.workers is not None else min(2, os.cpu_count() or 1)
