"""Found vs known vs control samples (Figs. 8, 9 and D4 of the paper).

The paper compares its new D-ETGs with the Kaviraj et al. (2012) sample and a
control sample of 4,000 early-type galaxies matched in redshift and stellar
mass: redshift KDEs (Fig. 8) and CDFs of SFR, stellar mass and r-band
magnitude (Figs. 9, D4) with bootstrap 1-sigma bands. Properties come from a
table with ``object_id`` (or ``dr7objid``) and ``redshift, sfr, stellar_mass,
r_mag`` columns: the mock sky's truth, or a real table such as GSWLC.
Distances use flat LCDM with h = 0.674, Omega_m = 0.315 (Sec. 4.3).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from astropy.cosmology import FlatLambdaCDM

from galaxysd_core.errors import CatalogError, ConfigError

COSMOLOGY = FlatLambdaCDM(H0=67.4, Om0=0.315)
QUANTITIES = ("redshift", "sfr", "stellar_mass", "r_mag", "abs_r_mag")
ETG_COLUMNS = ("t07_rounded_a16_completely_round", "t07_rounded_a17_in_between")


def properties_table(table: pd.DataFrame) -> pd.DataFrame:
    """Normalise a properties table: ``object_id`` index, distances added.

    Adds ``lum_dist_mpc`` (luminosity distance) and ``abs_r_mag`` (r_mag minus
    the distance modulus) from ``redshift`` and ``r_mag``.

    Raises
    ------
    CatalogError
        If the id or a required column is missing.
    """
    table = table.copy()
    if "object_id" not in table.columns:
        if "dr7objid" not in table.columns:
            raise CatalogError("the properties table needs an 'object_id' or 'dr7objid' column")
        table["object_id"] = table["dr7objid"]
    table["object_id"] = table["object_id"].astype(str)
    missing = [c for c in ("redshift", "sfr", "stellar_mass", "r_mag") if c not in table.columns]
    if missing:
        raise CatalogError(f"the properties table lacks column(s) {missing}")
    z = table["redshift"].to_numpy(dtype=float)
    if (z <= 0).any():
        raise CatalogError(f"redshift must be > 0, got e.g. {float(z[z <= 0][0])}")
    dist = COSMOLOGY.luminosity_distance(z).to_value("Mpc")
    table["lum_dist_mpc"] = dist
    table["abs_r_mag"] = table["r_mag"].to_numpy(dtype=float) - 5 * np.log10(dist * 1e5)
    return table.set_index("object_id")


def etg_mask(table: pd.DataFrame) -> pd.Series:
    """Early types without a dust lane: ``is_etg`` if given, else truth columns."""
    if "is_etg" in table.columns:
        mask = table["is_etg"].astype(bool)
    elif all(c in table.columns for c in ETG_COLUMNS):
        mask = table[list(ETG_COLUMNS)].astype(bool).any(axis=1)
    else:
        raise CatalogError(f"cannot tell early types: need 'is_etg' or {list(ETG_COLUMNS)}")
    if "is_detg" in table.columns:
        mask &= ~table["is_detg"].astype(bool)
    return mask


def matched_control(
    pool: pd.DataFrame,
    target: pd.DataFrame,
    *,
    n: int = 4000,
    columns: tuple[str, ...] = ("redshift", "stellar_mass"),
    bins: int = 8,
    seed: int = 0,
) -> pd.DataFrame:
    """Draw a control sample whose joint distribution of ``columns`` follows ``target``.

    The target's range of each column is cut into ``bins`` quantile bins; each
    joint cell receives control galaxies in proportion to its share of the
    target, drawn without replacement from the pool members in that cell (all
    of them when the cell has too few). A column in which the target has a
    single value is matched within one bin of the pool's range around it.

    Parameters
    ----------
    pool, target : DataFrame
        Candidates for the control, and the sample to match (e.g. the new D-ETGs).
    n : int, default 4000
        Requested control size (the paper's 4,000).
    columns : tuple of str
        What to match on (the paper: redshift and stellar mass).
    bins : int, default 8
        Quantile bins per column.
    seed : int, default 0

    Returns
    -------
    DataFrame
        Rows of ``pool``.
    """
    if len(target) == 0 or len(pool) == 0:
        raise ConfigError(f"cannot match: target has {len(target)} rows, pool {len(pool)}")
    rng = np.random.default_rng(seed)
    edges_of = {}
    for col in columns:
        edges = np.unique(np.quantile(target[col], np.linspace(0, 1, bins + 1)))
        if len(edges) < 2:
            # One distinct target value (e.g. a campaign that found one object)
            # has no width to cut: match within one pool-range bin around it.
            half = 0.5 * (np.ptp(pool[col].to_numpy(dtype=float)) / bins or 1.0)
            edges = np.array([edges[0] - half, edges[0] + half])
        edges_of[col] = edges

    def cells(frame: pd.DataFrame) -> pd.Series:
        keys = []
        for col in columns:
            edges = edges_of[col]
            keys.append(
                np.clip(np.searchsorted(edges, frame[col], side="right") - 1, 0, len(edges) - 2)
                + np.where((frame[col] < edges[0]) | (frame[col] > edges[-1]), 10_000, 0)
            )
        return pd.Series(list(zip(*keys, strict=True)), index=frame.index)

    target_cells = cells(target).value_counts(normalize=True)
    pool_cells = cells(pool)
    chosen = []
    for cell, share in target_cells.items():
        members = pool_cells.index[pool_cells == cell]
        k = min(len(members), round(share * n))
        if k:
            chosen.append(rng.choice(members, size=k, replace=False))
    if not chosen:
        raise ConfigError("no pool galaxy falls in the target's range; cannot match")
    return pool.loc[np.concatenate(chosen)]


def kde_band(values: np.ndarray, grid: np.ndarray, *, n_boot: int = 200, seed: int = 0):
    """Gaussian KDE on ``grid`` with bootstrap 16-84 % (1 sigma) bands."""
    from scipy.stats import gaussian_kde

    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if len(values) < 2 or np.ptp(values) == 0:
        nan = np.full(len(grid), np.nan)
        return nan, nan, nan
    rng = np.random.default_rng(seed)
    main = gaussian_kde(values)(grid)
    boots = []
    for _ in range(n_boot):
        draw = rng.choice(values, size=len(values), replace=True)
        if np.ptp(draw) > 0:
            boots.append(gaussian_kde(draw)(grid))
    low, high = np.percentile(np.array(boots), [16, 84], axis=0)
    return main, low, high


def cdf_band(values: np.ndarray, grid: np.ndarray, *, n_boot: int = 200, seed: int = 0):
    """Empirical CDF on ``grid`` with bootstrap 16-84 % (1 sigma) bands."""
    values = np.sort(np.asarray(values, dtype=float)[np.isfinite(values)])
    if len(values) == 0:
        nan = np.full(len(grid), np.nan)
        return nan, nan, nan
    rng = np.random.default_rng(seed)
    main = np.searchsorted(values, grid, side="right") / len(values)
    draws = np.sort(rng.choice(values, size=(n_boot, len(values)), replace=True), axis=1)
    boots = np.array([np.searchsorted(d, grid, side="right") for d in draws]) / len(values)
    low, high = np.percentile(boots, [16, 84], axis=0)
    return main, low, high


def compare_samples(
    samples: dict[str, pd.DataFrame],
    *,
    quantities: tuple[str, ...] = QUANTITIES,
    n_grid: int = 80,
    n_boot: int = 200,
    seed: int = 0,
) -> pd.DataFrame:
    """KDE and CDF curves with 1-sigma bands of each quantity for each sample.

    Returns
    -------
    DataFrame
        Long format: ``sample, quantity, x, kde, kde_low, kde_high, cdf,
        cdf_low, cdf_high`` (one shared grid per quantity).
    """
    parts = []
    for q in quantities:
        pooled = np.concatenate([s[q].to_numpy(dtype=float) for s in samples.values()])
        pooled = pooled[np.isfinite(pooled)]
        if len(pooled) == 0:
            continue
        lo, hi = pooled.min(), pooled.max()
        pad = 0.05 * (hi - lo or 1.0)
        grid = np.linspace(lo - pad, hi + pad, n_grid)
        for name, sample in samples.items():
            values = sample[q].to_numpy(dtype=float)
            kde, kde_lo, kde_hi = kde_band(values, grid, n_boot=n_boot, seed=seed)
            cdf, cdf_lo, cdf_hi = cdf_band(values, grid, n_boot=n_boot, seed=seed)
            parts.append(
                pd.DataFrame(
                    {
                        "sample": name,
                        "quantity": q,
                        "x": grid,
                        "kde": kde,
                        "kde_low": kde_lo,
                        "kde_high": kde_hi,
                        "cdf": cdf,
                        "cdf_low": cdf_lo,
                        "cdf_high": cdf_hi,
                    }
                )
            )
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def campaign_samples(
    found_ids: list[str],
    known: set[str],
    properties: pd.DataFrame,
    *,
    n_control: int = 4000,
    seed: int = 0,
) -> dict[str, pd.DataFrame]:
    """The found, known and matched control samples from a properties table."""
    props = properties_table(properties)
    found = props.loc[props.index.intersection(list(found_ids))]
    known_rows = props.loc[props.index.intersection(sorted(known))]
    if found.empty:
        raise CatalogError("no found object has properties; nothing to compare")
    pool = props.loc[
        etg_mask(props) & ~props.index.isin(found.index) & ~props.index.isin(known_rows.index)
    ]
    control = matched_control(pool, found, n=n_control, seed=seed)
    return {"found": found, "known": known_rows, "control": control}
