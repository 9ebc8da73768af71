"""The D-ETG discovery campaign (Sec. 4.3): rounds of training, scoring and review.

- :mod:`.config` ``RoundConfig`` (job kind ``discover-round``)
- :mod:`.campaign` ``run_round``: synthetic positives, training, scoring, review round
- :mod:`.scoring` streaming, resumable catalogue scoring (accelerate for several processes)
- :mod:`.results` per-round report, final catalogue, CSV/FITS export
- :mod:`.compare` found / known / control samples: matched control, KDEs, CDFs (Figs. 8, 9, D4)
- :mod:`.simulated` benchmark-only simulated reviewers (``discover simulate-votes``)
  and rendered stand-ins

Names are imported lazily so ``galaxysd --help`` stays fast.
"""

from __future__ import annotations

from galaxysd_core._lazy import lazy_exports

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

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
