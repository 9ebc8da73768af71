"""The D-ETG discovery campaign (Sec. 4.3): rounds of training, scoring and review.

- :mod:`.config` ``RoundConfig`` (job kind ``discover-round``)
- :mod:`.campaign` ``run_round``: synthetic positives, training, scoring, review round
- :mod:`.scoring` streaming, resumable catalogue scoring (accelerate for several processes)
- :mod:`.results` per-round report, final catalogue, CSV/FITS export
- :mod:`.compare` found / known / control samples: matched control, KDEs, CDFs (Figs. 8, 9, D4)
- :mod:`.simulated` benchmark-only simulated reviewers and rendered stand-ins

Names are imported lazily so ``galaxysd --help`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "RoundConfig": "config",
    "run_round": "campaign",
    "CampaignError": "campaign",
    "round_dirs": "campaign",
    "score_catalog": "scoring",
    "score_distributed": "scoring",
    "read_scores": "scoring",
    "round_report": "results",
    "final_catalogue": "results",
    "export_catalogue": "results",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"galaxysd_core.discovery.{_EXPORTS[name]}"), name)
