"""Found / known / control comparisons (Figs. 8, 9, D4)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from galaxysd_core.discovery.compare import (
    campaign_samples,
    cdf_band,
    compare_samples,
    kde_band,
    matched_control,
    properties_table,
)
from galaxysd_core.errors import CatalogError


def _props(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "dr7objid": np.arange(n),
            "redshift": rng.uniform(0.01, 0.2, n),
            "stellar_mass": rng.uniform(9.0, 12.0, n),
            "sfr": rng.normal(-1, 0.5, n),
            "r_mag": rng.uniform(14, 17.7, n),
            "is_etg": rng.random(n) < 0.6,
        }
    )


def test_distances_use_planck_like_flat_lcdm():
    table = properties_table(
        pd.DataFrame(
            {
                "object_id": ["a"],
                "redshift": [0.1],
                "sfr": [0.0],
                "stellar_mass": [10.0],
                "r_mag": [17.0],
            }
        )
    )
    # h = 0.674, Om = 0.315: D_L(z=0.1) is about 476 Mpc (h = 0.7 would give ~460).
    assert table.loc["a", "lum_dist_mpc"] == pytest.approx(476, rel=0.01)
    assert table.loc["a", "abs_r_mag"] == pytest.approx(17.0 - 5 * np.log10(476e5), abs=0.03)
    with pytest.raises(CatalogError, match="lacks column"):
        properties_table(pd.DataFrame({"object_id": ["a"], "redshift": [0.1]}))


def test_matched_control_follows_target_not_pool():
    pool = properties_table(_props(6000, 0))
    rng = np.random.default_rng(1)
    target = pd.DataFrame(
        {"redshift": rng.normal(0.06, 0.01, 200), "stellar_mass": rng.normal(11.2, 0.2, 200)}
    )
    control = matched_control(pool, target, n=400, seed=0)
    assert 200 <= len(control) <= 420  # sparse cells give all they have
    assert not control.index.duplicated().any()
    for col in ("redshift", "stellar_mass"):
        gap_control = abs(control[col].median() - target[col].median())
        gap_pool = abs(pool[col].median() - target[col].median())
        assert gap_control < 0.25 * gap_pool


def test_a_single_found_object_gets_a_control_around_it():
    pool = properties_table(_props(3000, 3))
    target = pd.DataFrame({"redshift": [0.05], "stellar_mass": [10.0]})
    control = matched_control(pool, target, n=40, seed=0)
    assert len(control) == 40
    # Within one of 8 bins of the pool's range around the object.
    assert control["redshift"].between(0.05 - 0.19 / 16, 0.05 + 0.19 / 16).all()
    assert control["stellar_mass"].between(10.0 - 3 / 16, 10.0 + 3 / 16).all()
    samples = campaign_samples(["5"], set(), _props(3000, 3), n_control=30)
    assert len(samples["found"]) == 1 and 10 <= len(samples["control"]) <= 30


def test_bands_bracket_the_curve_and_samples_assemble():
    values = np.random.default_rng(0).normal(0, 1, 300)
    grid = np.linspace(-3, 3, 25)
    cdf, lo, hi = cdf_band(values, grid, n_boot=100)
    assert np.all(lo <= cdf + 1e-9) and np.all(cdf <= hi + 1e-9) and cdf[-1] > 0.99
    kde, klo, khi = kde_band(values, grid, n_boot=50)
    assert kde[12] == pytest.approx(0.4, abs=0.06) and np.all(klo <= khi)
    props = _props(3000, 2)
    samples = campaign_samples(["1", "2", "3", "4", "5", "6"], {"7", "8"}, props, n_control=50)
    assert set(samples) == {"found", "known", "control"} and len(samples["known"]) == 2
    curves = compare_samples(samples, n_boot=20, n_grid=10)
    assert set(curves["quantity"]) == {"redshift", "sfr", "stellar_mass", "r_mag", "abs_r_mag"}
    assert len(curves) == 3 * 5 * 10
