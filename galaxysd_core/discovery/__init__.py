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

from galaxysd_core._lazy import lazy_package

# The rest is imported from its module (``discovery.scoring.score_catalog``, ...).
__getattr__, __dir__, __all__ = lazy_package(__name__, config="RoundConfig", campaign="run_round")
