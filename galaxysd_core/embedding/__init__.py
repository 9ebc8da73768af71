"""The SimCLR embedding space f of the paper's Sec. 4.1, and 2-D maps of it.

Configs import cheaply; the torch parts load on first use
(``from galaxysd_core.embedding import embed`` imports torch).
"""

from __future__ import annotations

from galaxysd_core._lazy import lazy_package
from galaxysd_core.embedding.config import MapConfig, SimCLRConfig

__getattr__, __dir__, _LAZY = lazy_package(
    __name__,
    model="Encoder EncoderSpec embed galaxy_views load_encoder nt_xent save_encoder",
    train="train_simclr",
    probe="probe_scores",
    map="compute_map read_map",
)

__all__ = ["MapConfig", "SimCLRConfig", *_LAZY]
