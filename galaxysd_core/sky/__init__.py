"""The mock sky: SDSS-like galaxy images catalogued exactly like Galaxy Zoo 2.

Real GZ2 images and catalogues cannot be downloaded here, so the default data
is procedural (issue 2): a population drawn along the GZ2 decision tree
(:mod:`.population`), rendered as gri cutouts (:mod:`.render`), classified by
simulated volunteers into a Hart et al. 2016-format catalogue (:mod:`.votes`),
and written with the hidden truth (:mod:`.build`).

Names are imported lazily so ``galaxysd --help`` does not load numpy and pandas.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from galaxysd_core._lazy import lazy_exports

if TYPE_CHECKING:
    from galaxysd_core.sky.build import SkyOutputError, build_sky
    from galaxysd_core.sky.config import SkyConfig
    from galaxysd_core.sky.population import sample_morphology, sample_population

_WHERE = {
    "SkyConfig": "config",
    "SkyOutputError": "build",
    "build_sky": "build",
    "sample_morphology": "population",
    "sample_population": "population",
}
__all__ = [
    "SkyConfig",
    "SkyOutputError",
    "build_sky",
    "sample_morphology",
    "sample_population",
]

__getattr__, __dir__ = lazy_exports(__name__, _WHERE)
