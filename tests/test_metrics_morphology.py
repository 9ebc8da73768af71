"""Physical judges on real SDSS images: statmorph statistics and their distances.

Everything is computed for real (statmorph on the 28 reference cutouts of
``../shared/reference/sdss_gz2``, measured at 64 px): no mocked statistics.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from PIL import Image, ImageFilter

from galaxysd_core.errors import ConfigError
from galaxysd_core.metrics.morphology import (
    STATISTICS,
    distance_table,
    failure_counts,
    measure_image,
    morphology_distance,
    morphology_table,
    real_halves,
    real_scale,
)

SIZE = 64


@pytest.fixture(scope="module")
def real_files(reference_dir):
    return sorted((reference_dir / "sdss_gz2").glob("*/*.jpg"))


@pytest.fixture(scope="module")
def real(real_files):
    return morphology_table(real_files, size=SIZE, workers=2)


def _shifted(files, fn):
    return [fn(Image.open(f).convert("RGB").resize((SIZE, SIZE))) for f in files]


def test_real_statistics_are_finite_for_most(real, real_files):
    assert len(real) == len(real_files)
    for column in (*STATISTICS, "flag", "sky_level", "sky_noise", "reason"):
        assert column in real.columns
    assert real["flag"].dtype == bool
    ok = real[~real["flag"]]
    assert len(ok) >= 0.8 * len(real)
    assert np.isfinite(ok[list(STATISTICS)].to_numpy()).mean() > 0.95
    # physical ranges: Gini in (0, 1), concentration of galaxies ~1.5-5, M20 negative
    assert ok["gini"].between(0.2, 0.8).all()
    assert ok["concentration"].between(1.0, 5.5).all()
    assert (ok["m20"] < 0).all()
    assert (real.loc[real["flag"], "reason"] != "").all()


def test_rows_follow_input_order_for_paths_and_images(real, real_files):
    picked = [real_files[3], real_files[0]]
    table = morphology_table([Image.open(p) for p in picked], size=SIZE, workers=1)
    expected = real.iloc[[3, 0]].reset_index(drop=True)
    pd.testing.assert_frame_equal(table, expected)


def test_edge_on_is_more_elliptical_than_round(real, real_files):
    category = [p.parent.name for p in real_files]
    edge = real["ellipticity"][[c == "dustlane_edgeon" for c in category]]
    round_ = real["ellipticity"][[c == "completely_round" for c in category]]
    assert edge.min() > round_.max() + 0.2


def test_recoloured_and_blurred_sets_are_farther_than_real_vs_real(real, real_files):
    a, b = real_halves(real, seed=0)
    scale = real_scale(real)
    floor = morphology_distance(a, b, scale=scale)
    swap = morphology_table(_shifted(real_files, lambda im: Image.merge("RGB", im.split()[::-1])),
                            workers=1)  # fmt: skip
    recoloured = morphology_distance(real, swap, scale=scale)
    assert recoloured["color"] > 3 * floor["color"]
    assert np.nanmean(list(recoloured.values())) > np.nanmean(list(floor.values()))
    blur = morphology_table(_shifted(real_files, lambda im: im.filter(ImageFilter.GaussianBlur(3))),
                            workers=1)  # fmt: skip
    blurred = morphology_distance(real, blur, scale=scale)
    for statistic in ("concentration", "r50"):
        assert blurred[statistic] > floor[statistic]
    assert np.nanmean(list(blurred.values())) > np.nanmean(list(floor.values()))


def test_distance_table_has_intervals_and_identity_is_zero(real):
    same = morphology_distance(real, real)
    assert all(v == pytest.approx(0.0, abs=1e-12) for v in same.values())
    assert set(same) == set(STATISTICS)
    a, b = real_halves(real, seed=1)
    table = distance_table(a, b, n_boot=50, seed=0)
    assert list(table["statistic"]) == [*STATISTICS, "mean"]
    ok = table.dropna()
    assert (ok["low"] <= ok["distance"] + 1e-12).all() and (
        ok["distance"] <= ok["high"] + 1e-12
    ).all()
    assert set(a.index).isdisjoint(b.index)


def test_failures_are_counted_with_a_reason():
    blank = Image.new("RGB", (SIZE, SIZE))
    noise = Image.fromarray(np.random.default_rng(0).integers(0, 30, (SIZE, SIZE, 3), np.uint8))
    table = morphology_table([blank, noise], workers=1)
    assert table["flag"].all()
    assert table["reason"].str.startswith("no source").all()
    counts = failure_counts(table.assign(prompt=["A", "B"]), by="prompt")
    assert counts["images"].sum() == 2 and set(counts["prompt"]) == {"A", "B"}
    unreadable = measure_image("/nonexistent.png")
    assert unreadable["flag"] and unreadable["reason"].startswith("unreadable")


def test_bad_arguments_name_the_value():
    with pytest.raises(ConfigError, match="workers must be >= 1, got 0"):
        morphology_table([], workers=0)
    with pytest.raises(ConfigError, match="size must be >= 16 pixels, got 8"):
        morphology_table([], size=8)


def test_cli_measures_a_folder_and_compares_it_with_real(real_files, tmp_path, capsys):
    from galaxysd_core.cli import main

    images, real = tmp_path / "images", tmp_path / "real"
    for folder, files in ((images, real_files[:6]), (real, real_files[6:18])):
        folder.mkdir()
        for f in files:
            Image.open(f).convert("RGB").resize((SIZE, SIZE)).save(folder / f"{f.stem}.png")
    out = tmp_path / "table.csv"
    args = ["morphology", "--images", str(images), "--real", str(real), "--workers", "1"]
    assert main([*args, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "6 images" in printed and "real vs real" in printed and "images vs real" in printed
    table = pd.read_csv(out)
    assert len(table) == 6 and {"gini", "flag", "path"} <= set(table.columns)
    assert main(["morphology", "--images", str(tmp_path / "missing")]) == 2


def _elliptical(size=128, lane_angle=None, seed=0, colour=(1.0, 0.8, 0.6), half=False, dust=1.5):
    """A red, smooth, slightly flattened galaxy on a noisy sky; optionally a thin lane.

    ``dust`` is the lane's optical depth; with ``half`` the lane stops at the
    centre: a dark streak on one side only.
    """
    yy, xx = np.indices((size, size)) - size / 2 + 0.3
    r = np.hypot(xx, yy / 0.8)
    light = 200 * np.exp(-((r / 9.0) ** 0.8))
    rgb = light[..., None] * np.asarray(colour)
    if lane_angle is not None:
        a = np.radians(lane_angle)
        across = -xx * np.sin(a) + yy * np.cos(a)
        band = np.exp(-((across / 1.2) ** 2))
        if half:
            band *= xx * np.cos(a) + yy * np.sin(a) > 0
        rgb *= np.exp(-np.array([0.8, 1.0, 1.35]) * dust * band[..., None])
    noise = np.random.default_rng(seed).normal(4, 2, rgb.shape)
    return Image.fromarray(np.clip(rgb + noise, 0, 255).astype(np.uint8))


def test_lane_depth_finds_a_band_at_any_angle_and_not_on_a_smooth_galaxy():
    from galaxysd_core.metrics.morphology import LANE_DEPTH_CUT, lane_depth

    smooth = lane_depth(_elliptical())
    assert smooth < 0 < LANE_DEPTH_CUT
    # A body with no blue light left is reddened, not crossed by a lane.
    assert lane_depth(_elliptical(colour=(1.0, 0.5, 0.0))) < 0
    for angle in (0, 35, 120):
        assert lane_depth(_elliptical(lane_angle=angle)) > LANE_DEPTH_CUT + 0.1, angle
    # Nothing at the centre: no answer rather than a number.
    assert np.isnan(lane_depth(Image.new("RGB", (SIZE, SIZE))))


def test_lane_share_counts_lanes_and_not_blank_images():
    from galaxysd_core.metrics.morphology import lane_bands, lane_share

    images = [_elliptical(lane_angle=20), _elliptical(), _elliptical(lane_angle=90)]
    images.append(Image.new("RGB", (SIZE, SIZE)))  # no galaxy: NaN depth, no lane
    assert lane_share(images) == 0.5
    # Per image, in order: the generator goals pair it with each image's classifier call.
    assert lane_bands(images).tolist() == [True, False, True, False]


def test_lane_depth_on_both_sides_needs_the_band_to_cross_the_centre():
    from galaxysd_core.metrics.morphology import LANE_DEPTH_CUT, lane_depth, lane_share

    # A full lane passes both ways; a streak on one side of the core (a mottled
    # body's dark patch) passes the whole-line depth but not the two-sided one.
    for angle in (0, 35, 120):
        assert lane_depth(_elliptical(lane_angle=angle), both_sides=True) > LANE_DEPTH_CUT, angle
        streak = _elliptical(lane_angle=angle, half=True, dust=3.0)
        assert lane_depth(streak) > LANE_DEPTH_CUT, angle
        assert lane_depth(streak, both_sides=True) < LANE_DEPTH_CUT, angle
    assert lane_depth(_elliptical(), both_sides=True) < 0
    images = [_elliptical(lane_angle=20), _elliptical(lane_angle=20, half=True, dust=3.0)]
    assert lane_share(images) == 1.0
    assert lane_share(images, both_sides=True) == 0.5
