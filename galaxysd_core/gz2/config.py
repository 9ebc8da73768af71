"""The task config of ``galaxysd prepare`` (job kind ``prepare``; light: no pandas)."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any, ClassVar, Literal

from galaxysd_core.config import TaskConfig
from galaxysd_core.errors import ConfigError


@dataclasses.dataclass
class PrepareConfig(TaskConfig):
    """GZ2 catalogue -> well-sampled tags -> balanced captioned dataset.

    Label a GZ2 catalogue with well-sampled tags (Willett 2013 Table 3), drop
    artifacts and 'something odd', exclude D-ETGs, down-sample each tag and
    write a diffusers image folder (metadata.jsonl) plus one .txt caption per image.

    Parameters
    ----------
    catalog : Path
        GZ2 catalogue (CSV, CSV.gz or FITS; Hart16 or Willett 2013 columns).
    mapping : Path
        ``gz2_filename_mapping.csv`` (``objid, sample, asset_id``).
    images : Path
        Folder of ``{asset_id}.jpg``.
    out : Path or None
        Output folder; ``None`` means ``<workspace>/datasets/<images parent>-prepared``.
    min_votes : int, default 20
        Votes a task needs (20 normal depth, 10 Stripe 82 co-add); also picks
        the Table 3 threshold tier.
    rule : {"galaxysd", "willett2013"}, default "galaxysd"
        Flag rule: the GalaxySD paper's (debiased >= 0.8 everywhere) or the
        one behind the catalogue's published flags (Willett et al. 2013); see
        :func:`~galaxysd_core.gz2.flags.well_sampled_flags`.
    max_per_tag : int, default 2000
        Down-sample any tag carried by more galaxies than this (Sec. 3).
    exclude : Path or None
        CSV of known D-ETGs to keep out (column ``dr7objid`` or ``objid``).
    seed : int, default 0
        Seed of the down-sampling.
    overwrite : bool, default False
        Replace a non-empty ``out``.
    """

    kind: ClassVar[str] = "prepare"

    catalog: Path
    mapping: Path
    images: Path
    out: Path | None = None
    min_votes: int = 20
    rule: Literal["galaxysd", "willett2013"] = "galaxysd"
    max_per_tag: int = 2000
    exclude: Path | None = None
    seed: int = 0
    overwrite: bool = False

    def validate(self) -> None:
        """Raise :class:`ConfigError` naming the first bad field and value."""
        for name in ("catalog", "mapping", "images", "out", "exclude"):
            value = getattr(self, name)
            if value is not None:
                setattr(self, name, Path(value))
        for name in ("min_votes", "max_per_tag", "seed"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(f"PrepareConfig.{name}: need an int >= 0, got {value!r}")
        if self.max_per_tag < 1:
            raise ConfigError(f"PrepareConfig.max_per_tag: need >= 1, got {self.max_per_tag}")
        from galaxysd_core.gz2.flags import RULES  # pandas: only when a config is validated

        if self.rule not in RULES:
            raise ConfigError(
                f"PrepareConfig.rule: need one of {', '.join(RULES)}, got {self.rule!r}"
            )

    def resolved_out(self) -> Path:
        """The output folder, defaulting to one in the workspace's ``datasets/``."""
        if self.out is not None:
            return Path(self.out)
        from galaxysd_core.paths import workspace

        return workspace().datasets / f"{Path(self.images).resolve().parent.name}-prepared"

    @classmethod
    def from_sky(cls, sky: str | os.PathLike[str], **fields: Any) -> PrepareConfig:
        """Config for a mock sky folder (catalog.csv, filename_mapping.csv, images/, known_detg.csv)."""
        sky = Path(sky)
        exclude = sky / "known_detg.csv"
        base = {
            "catalog": sky / "catalog.csv",
            "mapping": sky / "filename_mapping.csv",
            "images": sky / "images",
            "exclude": exclude if exclude.exists() else None,
        }
        return cls.from_dict({**base, **fields})
