"""The SimCLR embedding space f of the paper's Sec. 4.1, and 2-D maps of it.

The configs import cheaply; the torch parts are imported from their modules:
:mod:`.model` (the encoder, ``embed``), :mod:`.train` (``train_simclr``),
:mod:`.probe`, :mod:`.map` (``compute_map``, ``read_map``), :mod:`.cache`,
:mod:`.vectors` (checks on arrays of embeddings).
"""

from __future__ import annotations

from galaxysd_core.embedding.config import MapConfig, SimCLRConfig

__all__ = ["MapConfig", "SimCLRConfig"]
