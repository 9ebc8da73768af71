"""The SimCLR embedding space f of the paper's Sec. 4.1, and 2-D maps of it.

Configs import cheaply; the torch parts load on first use
(``from galaxysd_core.embedding import embed`` imports torch).
"""

from __future__ import annotations

from galaxysd_core._lazy import lazy_exports
from galaxysd_core.embedding.config import MapConfig, SimCLRConfig

_LAZY = {
    "Encoder": "model",
    "EncoderSpec": "model",
    "embed": "model",
    "galaxy_views": "model",
    "load_encoder": "model",
    "nt_xent": "model",
    "save_encoder": "model",
    "train_simclr": "train",
    "probe_scores": "probe",
    "compute_map": "map",
    "read_map": "map",
}

__all__ = ["MapConfig", "SimCLRConfig", *sorted(_LAZY)]

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
