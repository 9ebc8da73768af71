"""Render one mock galaxy as an SDSS-like gri pseudo-colour JPEG cutout.

Each galaxy is a sum of components (Sérsic bulge, exponential disk,
logarithmic spiral arms, bar, ring, companion, tidal tail, clumps, arcs,
shells) with their own g-r and r-i colours, attenuated by a dust lane, seen
through the SDSS PSF (seeing ~1.4 arcsec, native 0.396 arcsec/px) with sky
noise, foreground stars and faint background galaxies, and mapped to 8-bit
RGB with the Lupton et al. (2004) asinh scheme (astropy's ``make_lupton_rgb``,
i, r, g -> R, G, B) as the GZ2 images were.

Like GZ2's cutouts, the field spans 0.02 R90 arcsec per pixel at 424 px
(Willett et al. 2013, Sec. 2), so the galaxy fills the same part of every
image and a small, distant galaxy looks blurred because the PSF covers more
of it. Any even image size is the same field resampled.

Everything random comes from a generator seeded by ``(seed, index)``, so an
image does not depend on rendering order or the number of workers.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Mapping
from typing import Any

import numpy as np

# Native SDSS pixel (arcsec) and 1-sigma sky noise per native pixel in
# nanomaggies (g, r, i), scaled so that the 8-bit grain matches the real
# cutouts (benchmarks/sky_vs_sdss.py).
SDSS_PIXEL = 0.396
NOISE_GAIN = 0.55
SKY_SIGMA = np.array([0.006, 0.012, 0.015]) * NOISE_GAIN
# Field width in units of Petrosian R90: 424 px * 0.02 R90 arcsec/px.
FIELD_R90 = 424 * 0.02
# The rendered profiles are scaled by this much relative to the Petrosian R90:
# Petrosian apertures miss the wings of concentrated profiles, and the asinh
# stretch shows galaxies out to about this extent in the real cutouts.
VISIBLE_R90 = 1.5
# Lupton asinh mapping (tuned by eye against ../shared/reference/sdss_gz2):
# band scales for i, r, g -> R, G, B, softening Q and linear stretch.
RGB_SCALE = (1.0, 1.18, 2.0)
LUPTON_Q = 7.0
LUPTON_STRETCH = 2.0
# 8-bit value per unit of (scaled) intensity where the asinh is still linear.
LUPTON_SLOPE = 0.1 * 255 / np.arcsinh(0.1 * LUPTON_Q) * LUPTON_Q / LUPTON_STRETCH
# Colour of the residual sky of the real cutouts (R, G, B ~ 4, 4, 3 of 255).
SKY_RGB = np.array([1.0, 1.0, 0.75], dtype=np.float32)
# Band ratios A_g/A_r and A_i/A_r of dust (Schlegel et al. 1998).
DUST_RATIO = np.array([1.37, 1.0, 0.76], dtype=np.float32)
# Stars brighter than this (r mag) get diffraction spikes.
SPIKE_MAG = 16.5


def pixel_scale(r90_arcsec: float, size: int) -> float:
    """Arcsec per pixel of a GZ2-style cutout of ``size`` px (0.02 R90 at 424 px)."""
    return 0.02 * r90_arcsec * 424.0 / size


def _blur(img: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of the last two axes (separable, flux outside the frame is lost)."""
    from scipy.ndimage import gaussian_filter

    sig = (0.0,) * (img.ndim - 2) + (sigma, sigma)
    return gaussian_filter(img, sigma=sig, mode="constant", truncate=3.5)


@functools.lru_cache(maxsize=16)
def _freq2(length: int) -> np.ndarray:
    """Squared spatial frequency of an rfft2 grid of side ``length``."""
    from scipy import fft

    fy = fft.fftfreq(length).astype(np.float32)[:, None]
    fx = fft.rfftfreq(length).astype(np.float32)[None, :]
    return fy * fy + fx * fx


def _psf_convolve(point: np.ndarray, extended: np.ndarray | None, *, sigma: float, extra: float):
    """Convolve with the SDSS-like PSF: a Gaussian core plus 10 % of the light in 3x wider wings.

    ``extended`` (background galaxies) is first blurred by ``extra`` pixels.
    One zero-padded FFT does it all (the padding stops wrap-around).
    """
    from scipy import fft

    size = point.shape[-1]
    pad = min(int(np.ceil(3.5 * 3.0 * sigma)) + 1, 2 * size)
    length = fft.next_fast_len(size + pad, real=True)
    f2 = _freq2(length)
    c = np.float32(-2.0 * np.pi**2)
    kernel = 0.9 * np.exp(c * sigma**2 * f2) + 0.1 * np.exp(c * (3.0 * sigma) ** 2 * f2)
    spec = fft.rfft2(point, s=(length, length))
    if extended is not None:
        spec += fft.rfft2(extended, s=(length, length)) * np.exp(c * extra**2 * f2)
    out = fft.irfft2(spec * kernel, s=(length, length))[:, :size, :size]
    return np.ascontiguousarray(out, dtype=np.float32)


@functools.lru_cache(maxsize=8)
def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    yy.flags.writeable = xx.flags.writeable = False
    return yy, xx


def _norm(m: np.ndarray) -> np.ndarray:
    s = float(m.sum())
    return m / s if s > 0 else m


def _colour(gr: float, ri: float) -> np.ndarray:
    """Flux weights (g, r, i) for unit r flux of a component with these colours."""
    return np.array([10 ** (-0.4 * gr), 1.0, 10 ** (0.4 * ri)], dtype=np.float32)


def render_galaxy(p: Mapping[str, Any], *, size: int, seed: int, index: int) -> np.ndarray:
    """Render one galaxy to an 8-bit RGB array.

    Parameters
    ----------
    p : mapping
        One row of :func:`galaxysd_core.sky.population.sample_population`.
    size : int
        Image side in pixels (even).
    seed, index : int
        Sky seed and galaxy index; they seed this image's random generator.

    Returns
    -------
    numpy.ndarray
        ``(size, size, 3)`` uint8 RGB image.
    """
    rng = np.random.default_rng([seed, index, 303])
    pix = pixel_scale(float(p["r90_arcsec"]), size)
    big_r = VISIBLE_R90 * size / FIELD_R90  # profile scale (R90) in pixels
    c = (size - 1) / 2.0
    yy, xx = _grid(size)
    dx = xx - (c + p["center_dx"] * big_r)
    dy = yy - (c + p["center_dy"] * big_r)
    cos_pa, sin_pa = np.cos(p["pa"]), np.sin(p["pa"])
    u = dx * cos_pa + dy * sin_pa  # along the major axis
    v = -dx * sin_pa + dy * cos_pa
    q = max(float(p["axis_ratio"]), 0.05)
    # Coordinates in the disk plane (de-projected) and in units of R90.
    xd, yd = u / big_r, v / (q * big_r)
    rd = np.sqrt(xd * xd + yd * yd) + 1e-3
    # The azimuth is only needed by arms and lopsided disks (arctan2 is costly).
    need_theta = p["arm_amp"] > 0 or p["lopsided"] > 0
    theta = np.arctan2(yd, xd) if need_theta else None

    comps: list[tuple[np.ndarray, float, np.ndarray]] = []  # (unit map, r flux share, colour)
    kind = int(p["kind"])
    bt = float(p["bulge_frac"])
    young = _colour(p["gr_young"], p["ri_young"])
    old = _colour(p["gr_bulge"], p["ri_bulge"])
    mid = _colour(p["gr_disk"], p["ri_disk"])
    if kind != 0:
        if bt > 0:
            n = float(p["bulge_n"])
            bq = max(float(p["bulge_q"]), 0.1)
            rb = np.sqrt(u * u + (v / bq) ** 2) / (p["bulge_re"] * big_r) + 1e-3
            b_n = 2.0 * n - 1.0 / 3.0
            comps.append((_norm(np.exp(-b_n * (rb ** (1.0 / n) - 1.0))), bt, old))
        disk_share = 1.0 - bt
        if disk_share > 1e-3:
            disk = np.exp(-rd / p["disk_h"])
            if p["lopsided"] > 0:
                disk = disk * (1.0 + p["lopsided"] * rd * np.cos(theta - p["arm_phase"]))
            arm_amp = float(p["arm_amp"])
            bar_share = float(p["bar_frac"]) * disk_share
            arm_share = arm_amp * disk_share
            smooth_share = disk_share - bar_share - arm_share
            comps.append((_norm(np.clip(disk, 0, None)), smooth_share, mid))
            if arm_amp > 0:
                comps.append((_norm(_arms(p, rd, theta, disk, rng)), arm_share, young))
            if bar_share > 0:
                a = p["bar_angle"]
                xb = xd * np.cos(a) + yd * np.sin(a)
                yb = -xd * np.sin(a) + yd * np.cos(a)
                ln = p["bar_len"]
                bar = np.exp(-(np.abs(xb / ln) ** 3) - (yb / (0.22 * ln)) ** 2)
                comps.append((_norm(bar), bar_share, old))
        _odd_components(p, comps, rd=rd, dx=dx, dy=dy, big_r=big_r, rng=rng)
    bands = np.zeros((3, size, size), dtype=np.float32)
    for m, share, col in comps:
        bands += (share * m)[None] * col[:, None, None]
    flux_r = 10 ** (-0.4 * (p["r_mag"] - 22.5))  # nanomaggies
    bands *= flux_r
    if p.get("ext_r", 0) > 0:
        # Internal extinction of inclined disks: r_mag includes the dimming; only the
        # reddening relative to r is applied here.
        bands *= 10 ** (-0.4 * (DUST_RATIO - 1.0) * float(p["ext_r"]))[:, None, None]
    if p["dust_tau"] > 0:
        bands *= _dust(p, u, v, big_r)
    if kind == 0:
        _artifact(bands, p, rng=rng, size=size, flux=flux_r)
    # Point sources (stars) and compact background galaxies (pre-PSF).
    stars, gals = _field_sources(p, rng=rng, size=size, pix=pix)
    sig = max(float(p["psf_fwhm_arcsec"]) / 2.355 / pix, 0.45)
    img = _psf_convolve(bands + stars, gals, sigma=sig, extra=0.8 / pix)
    bright = _bright_stars(p, rng=rng, size=size, pix=pix, sigma=sig)
    if bright is not None:
        img += bright
    img /= pix * pix  # nanomaggies per arcsec^2: the look does not depend on size
    noise = SKY_SIGMA * p["sky_scale"] / (SDSS_PIXEL * max(pix, SDSS_PIXEL))
    img += rng.standard_normal((3, size, size), dtype=np.float32) * noise[:, None, None]
    return to_rgb(img, sky=float(p.get("sky_level", 0.0)))


def to_rgb(gri: np.ndarray, *, sky: float = 0.0) -> np.ndarray:
    """Map a (3, H, W) g, r, i surface-brightness stack to 8-bit RGB (Lupton et al. 2004).

    ``sky`` is a residual sky level in 8-bit units (the real cutouts' corners
    sit at about 4, 4, 3 of 255, not at 0), added before the mapping in the
    colour :data:`SKY_RGB`, so that sky noise shows on both sides of it.
    """
    from astropy.visualization import make_lupton_rgb

    g, r, i = gri
    ped = SKY_RGB * (sky / LUPTON_SLOPE)
    # Pixels of zero intensity make astropy divide 0 by 0 before masking them out.
    with np.errstate(invalid="ignore", divide="ignore"):
        return make_lupton_rgb(
            i * RGB_SCALE[0] + ped[0],
            r * RGB_SCALE[1] + ped[1],
            g * RGB_SCALE[2] + ped[2],
            stretch=LUPTON_STRETCH,
            Q=LUPTON_Q,
        )


def _arms(p: Mapping[str, Any], rd: np.ndarray, theta: np.ndarray, disk: np.ndarray, rng) -> Any:
    """Logarithmic spiral arms: m arms with the pitch of their winding class."""
    m = int(p["arm_m"])
    tan_pitch = np.tan(np.radians(max(float(p["arm_pitch_deg"]), 4.0)))
    log_r = np.log(rd)
    # A slow wiggle of the phase with radius keeps the arms from looking machined.
    wiggle = 0.7 * np.sin(2.0 * log_r + 3.0 * p["arm_phase"])
    phase = m * (theta - log_r / tan_pitch) + p["arm_phase"] + wiggle
    pattern = (1.0 + np.cos(phase)) / 2.0
    pattern = pattern * pattern
    # No arms inside the bulge region.
    window = 1.0 - np.exp(-((rd / 0.18) ** 2))
    # Real arms differ in strength: a lopsided m = 1 modulation.
    lopsided = 1.0 + 0.35 * np.cos(theta + 2.0 * p["arm_phase"])
    arms = disk * pattern * window * lopsided
    # Star-forming knots make real arms patchy; flocculent arms are mostly knots.
    size = rd.shape[0]
    noise = rng.standard_normal((size, size)).astype(np.float32)
    clump = _blur(noise, max(size / 50.0, 0.7))
    gain = 2.5 if p["arm_flocculent"] else 1.0
    return arms * np.clip(1.0 + gain * clump / (clump.std() + 1e-6), 0, None)


def _odd_components(p, comps, *, rd, dx, dy, big_r, rng) -> None:
    """Append the odd features: ring, companion, tidal tail, clumps, arc, shells."""
    young = _colour(p["gr_young"], p["ri_young"])
    old = _colour(p["gr_bulge"], p["ri_bulge"])
    if p["ring_frac"] > 0:
        ring = np.exp(-(((rd - p["ring_r"]) / 0.06) ** 2))
        w_old = float(p.get("ring_old", 0.5))
        comps.append((_norm(ring), float(p["ring_frac"]), w_old * old + (1 - w_old) * young))
    if p["companion_frac"] > 0:
        ang, dist = p["companion_angle"], 2.0 * p["companion_dist"] * big_r
        cx, cy = dx - dist * np.cos(ang), dy - dist * np.sin(ang)
        rc = np.sqrt(cx * cx + (cy / 0.8) ** 2) / (0.12 * big_r) + 1e-3
        comp = np.exp(-3.67 * (rc**0.5 - 1.0))
        comps.append((_norm(comp), float(p["companion_frac"]), old * 0.7 + young * 0.3))
    if p["tail_frac"] > 0:
        r = np.sqrt(dx * dx + dy * dy) / big_r + 1e-3
        th = np.arctan2(dy, dx)
        phase = th - p["companion_angle"] - p["tail_curl"] * np.log(r)
        tail = ((1 + np.cos(phase)) / 2) ** 12 * np.exp(-(((r - 1.0) / 0.45) ** 2))
        comps.append((_norm(tail), float(p["tail_frac"]), (young + old) / 2))
    if p["clumps"] > 0:
        k = int(p["clumps"])
        pos = rng.normal(0, 0.35, (k, 2)) * big_r
        width = rng.uniform(0.04, 0.09, k) * big_r
        clumps = np.zeros_like(rd)
        for (ox, oy), w in zip(pos, width, strict=True):
            clumps += np.exp(-((dx - ox) ** 2 + (dy - oy) ** 2) / (2 * w * w))
        comps.append((_norm(clumps), 0.35, young))
    if p["arc_frac"] > 0:
        r = np.sqrt(dx * dx + dy * dy) / big_r
        dth = np.angle(np.exp(1j * (np.arctan2(dy, dx) - p["arm_phase"])))
        arc = np.exp(-(((r - 0.9) / 0.035) ** 2) - (dth / 0.45) ** 2)
        comps.append((_norm(arc), float(p["arc_frac"]), young))
    if p["shell_frac"] > 0:
        r = np.sqrt(dx * dx + dy * dy) / big_r
        th = np.arctan2(dy, dx) - p["companion_angle"]
        shells = sum(
            np.exp(-(((r - rs) / 0.05) ** 2)) * (1 + np.cos(th + k * np.pi)) / 2
            for k, rs in enumerate((0.75, 1.05, 1.35))
        )
        comps.append((_norm(shells), float(p["shell_frac"]), old))


def _dust(p: Mapping[str, Any], u: np.ndarray, v: np.ndarray, big_r: float) -> np.ndarray:
    """Per-band transmission of a dust lane (stronger in g than i: reddening)."""
    a = p["dust_angle"]
    along = u * np.cos(a) + v * np.sin(a)
    across = -u * np.sin(a) + v * np.cos(a)
    prof = np.exp(-(((across / big_r - p["dust_offset"]) / p["dust_width"]) ** 2))
    prof = prof * np.exp(-((along / (0.9 * big_r)) ** 4))
    tau = p["dust_tau"] * np.array([1.35, 1.0, 0.75], dtype=np.float32)
    return np.exp(-tau[:, None, None] * prof[None])


def _artifact(bands: np.ndarray, p, *, rng, size: int, flux: float) -> None:
    """A bright star at the centre, sometimes with a satellite trail."""
    c = size // 2
    col = _colour(rng.uniform(0.0, 1.2), rng.uniform(0.0, 0.5))
    bands[:, c, c] += 6 * flux * col
    # Diffraction spikes: thin lines through the centre.
    spike = np.exp(-np.abs(np.arange(size) - c) / (size / 10.0)).astype(np.float32)
    bands[:, c, :] += 0.02 * flux * col[:, None] * spike
    bands[:, :, c] += 0.02 * flux * col[:, None] * spike
    if rng.random() < 0.5:
        slope = rng.uniform(-1, 1)
        xs = np.arange(size)
        ys = np.clip(np.round(c + slope * (xs - c) + rng.normal(0, size / 6)), 0, size - 1)
        bands[:, ys.astype(int), xs] += 0.05 * flux * col[:, None]


def _bright_stars(p, *, rng, size: int, pix: float, sigma: float) -> np.ndarray | None:
    """Bright foreground stars (r = 12-16.5) with SDSS-like diffraction spikes, PSF included.

    They are drawn straight onto the pixel grid rather than through the FFT:
    a star thousands of times brighter than the sky would show the ringing of
    an under-sampled Gaussian kernel. SDSS's spikes are a cross along the scan
    direction, close to the cutouts' axes; their length grows with the star's
    flux. Returns pixel fluxes (3, size, size), or None without stars.
    """
    area = (size * pix / 60.0) ** 2
    k = rng.poisson(float(p.get("bright_star_density", 0.0)) * area)
    if k == 0:
        return None
    # Star counts N(<m) ~ 10^(0.3 m) between 12 and SPIKE_MAG.
    lo, hi = 10 ** (0.3 * 12.0), 10 ** (0.3 * SPIKE_MAG)
    mags = np.log10(rng.uniform(lo, hi, k)) / 0.3
    xs, ys = rng.uniform(0, size - 1, k), rng.uniform(0, size - 1, k)
    gr = rng.uniform(0.2, 1.4, k)
    s = max(sigma, 0.6)
    ax = np.arange(size, dtype=np.float32)
    out = np.zeros((3, size, size), dtype=np.float32)
    for m, x, y, g_r in zip(mags, xs, ys, gr, strict=True):
        flux = 10 ** (-0.4 * (m - 22.5))
        col = _colour(g_r, 0.45 * g_r - 0.05)
        # Separable core and wings (as in _psf_convolve) and two spikes.
        cx, cy = ax - x, ax - y
        gx, gy = np.exp(-(cx**2) / (2 * s * s)), np.exp(-(cy**2) / (2 * s * s))
        wx, wy = np.exp(-(cx**2) / (18 * s * s)), np.exp(-(cy**2) / (18 * s * s))
        star = 0.9 * np.outer(gy, gx) / (2 * np.pi * s * s)
        star += 0.1 * np.outer(wy, wx) / (18 * np.pi * s * s)
        # Spike length ~ 6 arcsec at r = 16.5, growing as sqrt(flux) for brighter stars;
        # each spike carries ~3 % of the star's light.
        length = 6.0 * 10 ** (-0.2 * (m - SPIKE_MAG)) / pix
        line = np.exp(-np.abs(cx) / (0.4 * length)), np.exp(-np.abs(cy) / (0.4 * length))
        norm = 0.03 / (0.8 * length * np.sqrt(2 * np.pi) * s)
        star += norm * (np.outer(gy, line[0]) + np.outer(line[1], gx))
        out += flux * col[:, None, None] * star[None]
    return out


def _field_sources(p, *, rng, size: int, pix: float) -> tuple[np.ndarray, np.ndarray | None]:
    """Foreground stars and faint background galaxies as pre-PSF point fluxes."""
    area = (size * pix / 60.0) ** 2  # arcmin^2
    n_src = rng.poisson(float(p["star_density"]) * area)
    if n_src == 0:
        return np.zeros((3, size, size), dtype=np.float32), None
    # Number counts N(<m) ~ 10^(0.35 m) between SPIKE_MAG and 22.5 mag; brighter stars
    # come from _bright_stars (through the FFT they would ring).
    lo, hi = 10 ** (0.35 * SPIKE_MAG), 10 ** (0.35 * 22.5)
    mags = np.log10(rng.uniform(lo, hi, n_src)) / 0.35
    flux = 10 ** (-0.4 * (mags - 22.5))
    xs, ys = rng.integers(0, size, n_src), rng.integers(0, size, n_src)
    is_star = rng.random(n_src) < 0.4
    gr = np.where(is_star, rng.uniform(-0.1, 1.4, n_src), rng.uniform(0.5, 1.3, n_src))
    ri = np.where(is_star, 0.45 * gr - 0.05, rng.uniform(0.35, 0.6, n_src))
    w = np.stack([10 ** (-0.4 * gr), np.ones(n_src), 10 ** (0.4 * ri)]).astype(np.float32)
    flat = ys * size + xs
    npix = size * size
    # Background galaxies are ~0.8 arcsec blobs before the PSF. When that is
    # under a pixel, spread them over 5 pixels instead of paying for a blur.
    small = 0.8 / pix < 1.0
    spread = ((0, 0.6), (1, 0.1), (-1, 0.1), (size, 0.1), (-size, 0.1)) if small else ((0, 1.0),)
    # One bincount over (band, pixel) for the point sources, one for the blobs.
    band = np.arange(3)[:, None] * npix
    fluxes = flux[None, :] * w  # (3, n_src)
    star_idx = (band + flat[None, :])[:, is_star].ravel()
    stars = np.bincount(star_idx, fluxes[:, is_star].ravel(), 3 * npix)
    gal_idx = np.concatenate(
        [(band + np.clip(flat + off, 0, npix - 1)[None, :])[:, ~is_star] for off, _ in spread], 1
    ).ravel()
    gal_w = np.concatenate([share * fluxes[:, ~is_star] for _, share in spread], 1).ravel()
    blobs = np.bincount(gal_idx, gal_w, 3 * npix)
    stars = stars.reshape(3, size, size).astype(np.float32)
    blobs = blobs.reshape(3, size, size).astype(np.float32)
    if small:
        return stars + blobs, None
    return stars, blobs


def encode_jpeg(rgb: np.ndarray, *, quality: int = 90) -> bytes:
    """Encode an RGB uint8 array as JPEG bytes (deterministic for the same input)."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgb, mode="RGB").save(buf, format="JPEG", quality=quality)
    return buf.getvalue()
