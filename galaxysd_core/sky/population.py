"""The mock sky's population: true morphology along the GZ2 tree and physics.

Morphology is drawn top-down along the GZ2 decision tree (Willett et al. 2013,
Table 2) with frequencies roughly like GZ2's: about 0.43 of all galaxies are
spirals, 0.09 edge-on disks, 0.10 barred. D-ETGs (smooth, completely round or
in-between, with a dust lane; NOTES "Downstream experiments") are about 0.3 %,
while dust lanes are common on edge-on disks, so "dust lane" and "early type"
can be learned separately as in the paper (Sec. 4.3).

Physical properties (redshift, stellar mass, SFR, r-band magnitude, angular
size) are drawn per morphological class with simple scaling relations in a flat
LCDM cosmology with h = 0.674, Omega_m = 0.315 (the paper's, Sec. 4.3). Every
galaxy lies within the GZ2 main-sample limit r < 17.77.

The rendering parameters are dimensionless, in units of the galaxy's Petrosian
R90 (GZ2 cutouts span 0.02 R90 arcsec per pixel at 424 px, so the galaxy fills
the same fraction of every image); :mod:`galaxysd_core.sky.render` turns them
into pixels for any image size.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from galaxysd_core.gz2.tree import ANSWER_BY_TAG, ANSWERS

#: GZ2 main-sample magnitude limit (Petrosian r, extinction corrected).
R_MAG_LIMIT = 17.77
#: Median residual sky pedestal in 8-bit units (measured corners then match the
#: real SDSS median of ~3.7 after clipping and JPEG).
SKY_LEVEL = 4.0
#: Foreground stars of r = 12-16.5 (with diffraction spikes) per arcmin^2 at high
#: Galactic latitude.
BRIGHT_STAR_DENSITY = 0.08
Z_MIN, Z_MAX = 0.005, 0.25

# Top level (T01), then conditional frequencies down the tree. Tuned so that of
# all galaxies ~0.43 are spiral, ~0.09 edge-on and ~0.10 barred.
P_KIND = {"artifact": 0.008, "smooth": 0.422, "edge_on": 0.09, "face_on": 0.48}
P_ROUND = (0.40, 0.45, 0.15)  # completely round, in between, cigar
P_EDGE_BULGE = (0.45, 0.10, 0.45)  # rounded, boxy, none
P_BAR = 0.21  # of face-on disks -> 0.10 of all
P_SPIRAL = 0.90  # of face-on disks -> 0.43 of all
P_WINDING = (0.30, 0.45, 0.25)  # tight, medium, loose
P_ARMS = (0.05, 0.55, 0.14, 0.08, 0.05, 0.13)  # 1, 2, 3, 4, >4, can't tell
P_BULGE = (0.10, 0.45, 0.38, 0.07)  # none, just noticeable, obvious, dominant

# T08 answers in catalogue order.
ODD_TAGS = ("ring", "lens_or_arc", "disturbed", "irregular", "other", "merger", "dust_lane")
# P(odd) and the odd-feature mix per class. Early types (round / in-between)
# carry a dust lane with P = 0.08 * 0.105 ~ 0.0084, so D-ETGs are ~0.3 % of all.
P_ODD = {"early": 0.08, "cigar": 0.10, "edge_on": 0.45, "face_on": 0.20}
# Rings sit mostly on early types and lenticulars, as in GZ2's ring examples.
ODD_MIX = {
    "early": (0.30, 0.10, 0.15, 0.05, 0.095, 0.20, 0.105),
    "cigar": (0.00, 0.05, 0.20, 0.10, 0.10, 0.25, 0.30),
    "edge_on": (0.00, 0.02, 0.06, 0.02, 0.05, 0.10, 0.75),
    "face_on": (0.20, 0.04, 0.18, 0.12, 0.06, 0.25, 0.15),
}
# Of the face-on disks with a ring or a dust lane, these shares are lenticulars
# (no arms) and have an obvious or dominant bulge. The dusty ones are the
# bulgy, "features or disk" hosts of lanes that are not D-ETGs (issue 14).
P_RING_DUST_LENTICULAR = 0.55
P_RING_DUST_BULGY = 0.6
# Bulge-dominated dusty lenticulars (Sombrero-like S0/Sa): a round, extended
# bulge crossed by the disk's lane. Off by default (``dusty_s0_fraction``) so
# that existing skies render unchanged; their own random stream keeps every
# other draw the same when it is on.
S0_BULGE_FRAC = (0.55, 0.75)
S0_BULGE_RE = (0.22, 0.34)  # in units of R90, against 0.07-0.14 for other disks
S0_BULGE_N = (3.0, 4.0)

KIND_CODES = ("artifact", "smooth", "edge_on", "face_on")


@functools.lru_cache(maxsize=1)
def _distance_grid() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Redshift grid with distance modulus and angular-diameter distance (Mpc).

    Flat LCDM with h = 0.674, Omega_m = 0.315 (the paper's cosmology, Sec. 4.3);
    the comoving distance is integrated numerically (no astropy import needed).
    """
    h0, om = 67.4, 0.315
    z = np.linspace(0.0, 0.5, 2001)
    inv_e = 1.0 / np.sqrt(om * (1 + z) ** 3 + (1 - om))
    steps = np.diff(z) * (inv_e[1:] + inv_e[:-1]) / 2
    dc = 299792.458 / h0 * np.concatenate([[0.0], np.cumsum(steps)])  # Mpc
    z, dc = z[1:], dc[1:]
    dmod = 5 * np.log10((1 + z) * dc * 1e6 / 10.0)
    return z, dmod, dc / (1 + z)


def _choice(rng: np.random.Generator, probs: tuple[float, ...], n: int) -> np.ndarray:
    p = np.asarray(probs, dtype=float)
    return rng.choice(len(p), size=n, p=p / p.sum())


def sample_morphology(n: int, *, seed: int = 0, dusty_s0_fraction: float = 0.0) -> pd.DataFrame:
    """Draw the true GZ2 morphology of ``n`` galaxies along the decision tree.

    Parameters
    ----------
    n : int
        Number of galaxies.
    seed : int, default 0
        Random seed.
    dusty_s0_fraction : float, default 0.0
        Share of the dusty, not edge-on disks that are bulge-dominated
        lenticulars (column ``dusty_s0``): no arms, a dominant bulge. Their
        GZ2 path is "features or disk", so they are not D-ETGs, but they show
        the model a lane across a smooth, round body.

    Returns
    -------
    pandas.DataFrame
        One row per galaxy: integer codes (``kind``, ``round_cls``,
        ``edge_bulge``, ``bulge_prom``, ``winding``, ``arms``, ``odd_feature``;
        -1 where the task is off the galaxy's path), booleans ``bar``,
        ``spiral``, ``odd``, ``is_detg``, ``dusty_s0``, and one boolean column
        per GZ2 answer prefix (True along the galaxy's true path through the
        tree).
    """
    rng = np.random.default_rng([seed, 101])
    kind = _choice(rng, tuple(P_KIND.values()), n)
    smooth, edge, face = kind == 1, kind == 2, kind == 3
    round_cls = np.where(smooth, _choice(rng, P_ROUND, n), -1)
    edge_bulge = np.where(edge, _choice(rng, P_EDGE_BULGE, n), -1)
    bar = face & (rng.random(n) < P_BAR)
    spiral = face & (rng.random(n) < P_SPIRAL)
    winding = np.where(spiral, _choice(rng, P_WINDING, n), -1)
    arms = np.where(spiral, _choice(rng, P_ARMS, n), -1)
    # Tightly wound spirals tend to have bigger bulges (the Hubble sequence).
    bulge_raw = _choice(rng, P_BULGE, n)
    shift = np.where(winding == 0, 1, np.where(winding == 2, -1, 0))
    shift = np.where(rng.random(n) < 0.4, shift, 0)
    bulge_prom = np.where(face, np.clip(bulge_raw + shift, 0, 3), -1)

    group = np.full(n, "", dtype=object)
    group[smooth & (round_cls < 2)] = "early"
    group[smooth & (round_cls == 2)] = "cigar"
    group[edge] = "edge_on"
    group[face] = "face_on"
    odd = np.zeros(n, dtype=bool)
    odd_feature = np.full(n, -1)
    for name, p_odd in P_ODD.items():
        sel = group == name
        k = int(sel.sum())
        is_odd = rng.random(k) < p_odd
        feat = _choice(rng, ODD_MIX[name], k)
        odd[sel] = is_odd
        odd_feature[sel] = np.where(is_odd, feat, -1)
    ring_or_dust = face & np.isin(
        odd_feature, [ODD_TAGS.index("ring"), ODD_TAGS.index("dust_lane")]
    )
    lenticular = ring_or_dust & (rng.random(n) < P_RING_DUST_LENTICULAR)
    dusty_face = face & (odd_feature == ODD_TAGS.index("dust_lane"))
    dusty_s0 = dusty_face & (np.random.default_rng([seed, 103]).random(n) < dusty_s0_fraction)
    spiral &= ~(lenticular | dusty_s0)
    winding = np.where(spiral, winding, -1)
    arms = np.where(spiral, arms, -1)
    bulgy = ring_or_dust & (rng.random(n) < P_RING_DUST_BULGY)
    bulge_prom = np.where(bulgy, np.maximum(bulge_prom, 2), bulge_prom)
    bulge_prom = np.where(dusty_s0, 3, bulge_prom)

    df = pd.DataFrame(
        {
            "kind": kind,
            "round_cls": round_cls,
            "edge_bulge": edge_bulge,
            "bar": bar,
            "spiral": spiral,
            "winding": winding,
            "arms": arms,
            "bulge_prom": bulge_prom,
            "odd": odd,
            "odd_feature": odd_feature,
            "dusty_s0": dusty_s0,
        }
    )
    df["is_detg"] = smooth & (round_cls < 2) & (odd_feature == ODD_TAGS.index("dust_lane"))
    for col, values in _truth_columns(df).items():
        df[col] = values
    return df


def _truth_columns(m: pd.DataFrame) -> dict[str, np.ndarray]:
    """One boolean per answer prefix: True along the galaxy's true path."""
    kind = m["kind"].to_numpy()
    face = kind == 3
    on: dict[str, np.ndarray] = {
        "smooth": kind == 1,
        "features_or_disk": (kind == 2) | face,
        "star_or_artifact": kind == 0,
        "edge_on": kind == 2,
        "not_edge_on": face,
        "bar": m["bar"].to_numpy() & face,
        "no_bar": ~m["bar"].to_numpy() & face,
        "spiral": m["spiral"].to_numpy() & face,
        "no_spiral": ~m["spiral"].to_numpy() & face,
        "odd": m["odd"].to_numpy() & (kind > 0),
        "not_odd": ~m["odd"].to_numpy() & (kind > 0),
    }
    for tags, col in (
        (("no_bulge", "just_noticeable_bulge", "obvious_bulge", "dominant_bulge"), "bulge_prom"),
        (("completely_round", "in_between", "cigar_shaped"), "round_cls"),
        (("rounded_bulge", "boxy_bulge", "no_edgeon_bulge"), "edge_bulge"),
        (("tight_arms", "medium_arms", "loose_arms"), "winding"),
        (
            ("1_arm", "2_arms", "3_arms", "4_arms", "more_than_4_arms", "cant_tell_arms"),
            "arms",
        ),
        (ODD_TAGS, "odd_feature"),
    ):
        codes = m[col].to_numpy()
        for i, tag in enumerate(tags):
            on[tag] = codes == i
    assert set(on) == {a.tag for a in ANSWERS}
    return {ANSWER_BY_TAG[tag].prefix: on[ANSWER_BY_TAG[tag].tag] for tag in on}


def sample_population(n: int, *, seed: int = 0, dusty_s0_fraction: float = 0.0) -> pd.DataFrame:
    """Draw the full truth table: morphology, physics and rendering parameters.

    Parameters
    ----------
    n : int
        Number of galaxies.
    seed : int, default 0
        Random seed; the same seed gives the same table.
    dusty_s0_fraction : float, default 0.0
        See :func:`sample_morphology`; these hosts get a dominant, extended
        bulge here.

    Returns
    -------
    pandas.DataFrame
        The morphology of :func:`sample_morphology` plus ``redshift``,
        ``stellar_mass`` (log10 Msun), ``sfr`` (log10 Msun/yr), ``r_mag``,
        ``r90_arcsec`` and the dimensionless rendering parameters (sizes in
        units of R90, colours and the internal extinction ``ext_r`` in
        magnitudes, ``sky_level`` in 8-bit units).
    """
    df = sample_morphology(n, seed=seed, dusty_s0_fraction=dusty_s0_fraction)
    rng = np.random.default_rng([seed, 202])
    kind = df["kind"].to_numpy()
    smooth, edge, face = kind == 1, kind == 2, kind == 3
    early = smooth & (df["round_cls"].to_numpy() < 2)
    bulge_prom = df["bulge_prom"].to_numpy()

    # --- physics: mass, SFR, redshift within the magnitude limit -------------
    logm = np.where(smooth, rng.normal(10.85, 0.45, n), rng.normal(10.35, 0.5, n))
    logm = np.clip(logm, 9.0, 11.9)
    # Smooth galaxies and lenticulars (disks without arms) are passive.
    passive = smooth | (face & ~df["spiral"].to_numpy())
    sfr = np.where(
        passive,
        -1.2 + 0.4 * (logm - 10.5) + rng.normal(0, 0.45, n),
        0.76 * (logm - 10.0) + 0.1 + rng.normal(0, 0.3, n),
    )
    # D-ETGs keep some star formation in their dust (Kaviraj et al. 2012).
    sfr = np.where(df["is_detg"].to_numpy(), sfr + 0.6, sfr)
    # Absolute r magnitude from a mass-to-light ratio that is higher for passive galaxies.
    mr_abs = -21.0 - 2.0 * (logm - 10.5) + np.where(passive, 0.35, -0.25) + rng.normal(0, 0.2, n)
    # Inclined disks are dimmer and redder: internal extinction A_r ~ 0.9 log10(a/b)
    # mag (Masters et al. 2010 find 0.5-1 mag edge-on), included in r_mag.
    cos_i = rng.uniform(0.35, 1.0, n)  # face-on-ish disks
    # Lanes show on inclined disks; dusty lenticulars are seen at a slant.
    dusty_disk = face & (df["odd_feature"].to_numpy() == ODD_TAGS.index("dust_lane"))
    cos_i = np.where(dusty_disk, rng.uniform(0.3, 0.55, n), cos_i)
    q_edge = rng.uniform(0.10, 0.22, n)
    ext_r = np.select([edge, face], [1.2 * np.log10(1 / q_edge), 0.9 * np.log10(1 / cos_i)], 0.0)
    zg, dmod, da = _distance_grid()
    # Largest redshift that keeps the galaxy brighter than the limit.
    zmax = np.interp(R_MAG_LIMIT - mr_abs - ext_r, dmod, zg, left=Z_MIN * 1.5, right=0.5)
    zmax = np.clip(zmax, Z_MIN * 1.5, Z_MAX)
    # Volume-weighted draw (p(z) ~ z^2) between Z_MIN and zmax: a flux-limited sample.
    u = rng.random(n)
    z = (Z_MIN**3 + u * (zmax**3 - Z_MIN**3)) ** (1 / 3)
    r_mag = mr_abs + ext_r + np.interp(z, zg, dmod)
    # Size-mass relations (Shen et al. 2003 slopes); R90 ~ 2.5-3 R50.
    r50_kpc = np.where(
        smooth,
        10 ** (0.56 * (logm - 11.0) + 0.62 + rng.normal(0, 0.12, n)),
        10 ** (0.22 * (logm - 10.5) + 0.65 + rng.normal(0, 0.12, n)),
    )
    kpc_per_arcsec = np.interp(z, zg, da) * 1e3 * np.pi / (180 * 3600)
    r90 = np.clip(np.where(smooth, 2.9, 2.4) * r50_kpc / kpc_per_arcsec, 2.5, 80.0)

    # --- rendering parameters (sizes in units of R90) -------------------------
    pa = rng.uniform(0, np.pi, n)
    inclination = np.degrees(np.arccos(cos_i))
    q_face = cos_i
    round_cls = df["round_cls"].to_numpy()
    q_smooth = np.select(
        [round_cls == 0, round_cls == 1, round_cls == 2],
        [rng.uniform(0.85, 1.0, n), rng.uniform(0.5, 0.8, n), rng.uniform(0.22, 0.42, n)],
        1.0,
    )
    q = np.select([smooth, edge, face], [q_smooth, q_edge, q_face], 1.0)
    bt_face = np.array([0.02, 0.12, 0.3, 0.55])[np.clip(bulge_prom, 0, 3)]
    edge_bulge = df["edge_bulge"].to_numpy()
    bt_edge = np.array([0.25, 0.2, 0.0])[np.clip(edge_bulge, 0, 2)]
    bt = np.select([smooth, edge, face], [1.0, bt_edge, bt_face], 0.0) * rng.uniform(0.8, 1.2, n)
    bt = np.clip(bt, 0.0, 1.0)
    bulge_n = np.where(smooth, rng.uniform(3.0, 4.5, n), rng.uniform(1.5, 3.0, n))
    bulge_re = np.where(smooth, rng.uniform(0.33, 0.45, n), rng.uniform(0.07, 0.14, n))
    bulge_q = np.select(
        [smooth, edge_bulge == 1], [q_smooth, rng.uniform(0.5, 0.65, n)], rng.uniform(0.75, 1, n)
    )
    # Sombrero-like hosts: an extended de Vaucouleurs-like bulge that the lane crosses.
    s0 = df["dusty_s0"].to_numpy()
    rng_s0 = np.random.default_rng([seed, 203])
    bt = np.where(s0, rng_s0.uniform(*S0_BULGE_FRAC, n), bt)
    bulge_re = np.where(s0, rng_s0.uniform(*S0_BULGE_RE, n), bulge_re)
    bulge_n = np.where(s0, rng_s0.uniform(*S0_BULGE_N, n), bulge_n)
    # Edge-on disks look longer than their R90 suggests (the real ones fill more of the cutout).
    disk_h = rng.uniform(0.23, 0.29, n) * np.where(edge, 1.3, 1.0)

    winding = df["winding"].to_numpy()
    arms_code = df["arms"].to_numpy()
    pitch_by_winding = np.array([12.0, 20.0, 30.0])  # degrees: tight, medium, loose
    arm_pitch = pitch_by_winding[np.clip(winding, 0, 2)] + rng.normal(0, 2.0, n)
    arm_m = np.array([1, 2, 3, 4, 6, 3])[np.clip(arms_code, 0, 5)]
    arm_m = np.where(df["spiral"].to_numpy(), arm_m, 0)
    arm_amp = np.where(arms_code == 5, rng.uniform(0.3, 0.45, n), rng.uniform(0.4, 0.65, n))
    bar = df["bar"].to_numpy()
    odd_feature = df["odd_feature"].to_numpy()

    def feature(tag: str) -> np.ndarray:
        return odd_feature == ODD_TAGS.index(tag)

    # Dust lanes: dark in g, weaker in i (reddening); along the disk midplane
    # for disks, across early types at any angle (Kaviraj et al. 2012).
    dust = feature("dust_lane")
    # Residual sky of the real JPEGs: about 4, 4, 3 of 255 in R, G, B.
    sky_level = rng.lognormal(np.log(SKY_LEVEL), 0.3, n)
    gr_red = 0.75 + 1.2 * z + rng.normal(0, 0.04, n)  # k-correction reddens with z
    gr_blue = 0.42 + 0.5 * z + rng.normal(0, 0.06, n)
    params = {
        "redshift": z,
        "stellar_mass": logm,
        "sfr": sfr,
        "r_mag": r_mag,
        "abs_r_mag": mr_abs,
        "r90_arcsec": r90,
        "psf_fwhm_arcsec": np.clip(rng.normal(1.4, 0.15, n), 1.0, 2.0),
        # Noisier fields have a higher residual sky in the real JPEGs.
        "sky_scale": rng.uniform(0.9, 1.3, n) * (sky_level / SKY_LEVEL) ** 0.7,
        "sky_level": sky_level,
        "star_density": rng.lognormal(np.log(4.0), 0.35, n),  # field sources per arcmin^2
        "bright_star_density": rng.lognormal(np.log(BRIGHT_STAR_DENSITY), 0.4, n),
        "ext_r": ext_r,
        "center_dx": rng.normal(0, 0.02, n),
        "center_dy": rng.normal(0, 0.02, n),
        "pa": pa,
        "inclination_deg": np.where(edge, rng.uniform(82, 90, n), inclination),
        "axis_ratio": q,
        "bulge_frac": bt,
        "bulge_n": bulge_n,
        "bulge_re": bulge_re,
        "bulge_q": bulge_q,
        "disk_h": disk_h,
        "arm_m": arm_m,
        "arm_pitch_deg": arm_pitch,
        "arm_amp": np.where(arm_m > 0, arm_amp, 0.0),
        "arm_phase": rng.uniform(0, 2 * np.pi, n),
        "arm_flocculent": arms_code == 5,
        "bar_len": np.where(bar, rng.uniform(0.3, 0.45, n), 0.0),
        "bar_frac": np.where(bar, rng.uniform(0.2, 0.3, n), 0.0),
        "bar_angle": rng.uniform(0, np.pi, n),
        "ring_r": np.where(feature("ring"), rng.uniform(0.45, 0.7, n), 0.0),
        # Rings on early types and lenticulars are faint and red; on spirals brighter, bluer.
        "ring_frac": np.where(
            feature("ring"),
            np.where(
                df["spiral"].to_numpy(), rng.uniform(0.15, 0.3, n), rng.uniform(0.06, 0.14, n)
            ),
            0.0,
        ),
        "ring_old": np.where(df["spiral"].to_numpy(), 0.5, 1.0),
        "dust_tau": np.where(dust, rng.uniform(1.5, 3.0, n), 0.0),
        "dust_width": np.where(dust, rng.uniform(0.05, 0.09, n), 0.0),
        "dust_offset": np.where(dust, rng.normal(0, 0.03, n), 0.0),
        "dust_angle": np.where(edge | ~early, 0.0, rng.uniform(-0.6, 0.6, n)),
        "companion_frac": np.where(feature("merger"), rng.uniform(0.3, 0.9, n), 0.0),
        "companion_dist": rng.uniform(0.45, 0.9, n),
        "companion_angle": rng.uniform(0, 2 * np.pi, n),
        "tail_frac": np.where(
            feature("merger") | feature("disturbed"), rng.uniform(0.08, 0.2, n), 0.0
        ),
        "tail_curl": rng.uniform(1.0, 2.5, n) * rng.choice([-1, 1], n),
        "lopsided": np.where(feature("disturbed"), rng.uniform(0.2, 0.4, n), 0.0),
        "clumps": np.where(feature("irregular"), rng.integers(5, 12, n), 0),
        "arc_frac": np.where(feature("lens_or_arc"), rng.uniform(0.08, 0.15, n), 0.0),
        "shell_frac": np.where(feature("other"), rng.uniform(0.06, 0.12, n), 0.0),
        "gr_bulge": gr_red,
        "ri_bulge": 0.36 + 0.4 * z + rng.normal(0, 0.03, n),
        "gr_disk": np.where(passive, gr_red - 0.08, gr_blue + 0.25 * edge),
        "ri_disk": np.where(passive, 0.36 + 0.4 * z, 0.24 + 0.2 * z) + rng.normal(0, 0.03, n),
        "gr_young": 0.28 + 0.3 * z + rng.normal(0, 0.06, n),
        "ri_young": 0.05 + 0.1 * z + rng.normal(0, 0.04, n),
    }
    for k, v in params.items():
        df[k] = v
    return df
