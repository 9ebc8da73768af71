"""The mock sky: GZ2 catalogue format, the volunteers' walk, truth, images, errors."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from galaxysd_core.cli import main
from galaxysd_core.errors import Cancelled, ConfigError, GalaxySDError
from galaxysd_core.gz2.tree import ANSWER_BY_TAG, ANSWERS, TASKS, answers_of
from galaxysd_core.progress import Progress
from galaxysd_core.sky import SkyConfig, SkyOutputError, build_sky, sample_morphology
from galaxysd_core.sky.build import add_identifiers, choose_known_detg
from galaxysd_core.sky.config import SKY_VERSION
from galaxysd_core.sky.population import ODD_TAGS, sample_population
from galaxysd_core.sky.render import _bright_stars, render_galaxy
from galaxysd_core.sky.votes import build_catalog

FILES = ("catalog.csv", "filename_mapping.csv", "truth.parquet", "known_detg.csv")


def _count(cat: pd.DataFrame, tag: str) -> np.ndarray:
    return cat[f"{ANSWER_BY_TAG[tag].prefix}_count"].to_numpy()


def _task_count(cat: pd.DataFrame, task: str) -> np.ndarray:
    return cat[[f"{a.prefix}_count" for a in answers_of(task)]].sum(axis=1).to_numpy()


def test_catalog_columns_equal_the_real_slice(mock_sky, reference_dir):
    path = reference_dir / "gz2_catalog" / "willett2013_table5_first2000.csv.gz"
    with gzip.open(path, "rt") as handle:
        real = handle.readline().strip().split(",")
    mock = pd.read_csv(mock_sky / "catalog.csv", nrows=1).columns.tolist()
    answer = re.compile(r"^t\d\d_")
    assert [c for c in mock if answer.match(c)] == [c for c in real if answer.match(c)]
    assert len([c for c in mock if answer.match(c)]) == 37 * 6
    assert mock[:6] == [
        "dr7objid",
        "ra",
        "dec",
        "gz2_class",
        "total_classifications",
        "total_votes",
    ]


def test_fractions_sum_to_one_and_votes_follow_the_tree(mock_sky):
    cat = pd.read_csv(mock_sky / "catalog.csv")
    for task in TASKS:
        cols = [a.prefix for a in answers_of(task)]
        n = _task_count(cat, task)
        for suffix in ("fraction", "weighted_fraction", "debiased"):
            sums = cat[[f"{c}_{suffix}" for c in cols]].sum(axis=1).to_numpy()
            np.testing.assert_allclose(sums[n > 0], 1.0, atol=1e-5)
            assert np.all(sums[n == 0] == 0.0)
        assert np.all(cat[[f"{c}_weight" for c in cols]].sum(axis=1).to_numpy()[n == 0] == 0)
    # Only tasks on a volunteer's path get votes: each task's count equals the
    # votes for the answers that lead to it (Willett et al. 2013, Table 2).
    assert np.array_equal(_task_count(cat, "t01"), cat["total_classifications"].to_numpy())
    assert np.array_equal(_task_count(cat, "t02"), _count(cat, "features_or_disk"))
    assert np.array_equal(_task_count(cat, "t07"), _count(cat, "smooth"))
    assert np.array_equal(_task_count(cat, "t09"), _count(cat, "edge_on"))
    assert np.array_equal(_task_count(cat, "t03"), _count(cat, "not_edge_on"))
    assert np.array_equal(_task_count(cat, "t04"), _count(cat, "not_edge_on"))
    assert np.array_equal(_task_count(cat, "t10"), _count(cat, "spiral"))
    assert np.array_equal(_task_count(cat, "t11"), _count(cat, "spiral"))
    assert np.array_equal(
        _task_count(cat, "t05"), _count(cat, "no_spiral") + _task_count(cat, "t11")
    )
    assert np.array_equal(
        _task_count(cat, "t06"), _count(cat, "smooth") + _count(cat, "features_or_disk")
    )
    assert np.array_equal(_task_count(cat, "t08"), _count(cat, "odd"))
    counts = cat[[f"{a.prefix}_count" for a in ANSWERS]].sum(axis=1).to_numpy()
    assert np.array_equal(counts, cat["total_votes"].to_numpy())
    assert cat["total_classifications"].between(40, 60).all()
    # Some galaxies leave deep tasks without any vote.
    assert (_task_count(cat, "t09") == 0).any() and (_task_count(cat, "t10") == 0).any()


def test_flags_follow_the_clean_rules(mock_sky):
    cat = pd.read_csv(mock_sky / "catalog.csv")
    spiral = ANSWER_BY_TAG["spiral"].prefix
    flagged = cat[cat[f"{spiral}_flag"] == 1]
    assert len(flagged) > 0
    assert (flagged[f"{spiral}_debiased"] > 0.8).all()
    assert (_task_count(flagged, "t04") >= 20).all()
    for tag in TASKS["t04"].path:
        assert (flagged[f"{ANSWER_BY_TAG[tag].prefix}_fraction"] > 0.715).all()


def test_truth_matches_catalogue_mapping_and_images(mock_sky):
    truth = pd.read_parquet(mock_sky / "truth.parquet")
    cat = pd.read_csv(mock_sky / "catalog.csv")
    mapping = pd.read_csv(mock_sky / "filename_mapping.csv")
    assert list(mapping.columns) == ["objid", "sample", "asset_id"]
    assert (truth["dr7objid"].to_numpy() == cat["dr7objid"].to_numpy()).all()
    assert (mapping["objid"].to_numpy() == cat["dr7objid"].to_numpy()).all()
    assert cat["dr7objid"].is_unique
    for col in ("is_detg", "redshift", "r_mag", "stellar_mass", "sfr"):
        assert col in truth.columns
    for a in ANSWERS:
        assert truth[a.prefix].dtype == bool
    # Exactly one true answer per task on the true path, none elsewhere.
    for task in TASKS:
        per_task = truth[[a.prefix for a in answers_of(task)]].sum(axis=1)
        assert per_task.isin([0, 1]).all()
    assert (truth[ANSWER_BY_TAG["smooth"].prefix] | truth[ANSWER_BY_TAG["features_or_disk"].prefix]
            | truth[ANSWER_BY_TAG["star_or_artifact"].prefix]).all()  # fmt: skip
    assert truth["r_mag"].max() < 17.77
    files = {p.name for p in (mock_sky / "images").iterdir()}
    assert files == {f"{a}.jpg" for a in mapping["asset_id"]}
    known = pd.read_csv(mock_sky / "known_detg.csv")
    assert list(known.columns) == ["dr7objid", "ra", "dec", "asset_id"]
    assert set(known["dr7objid"]) <= set(truth.loc[truth["is_detg"], "dr7objid"])


def test_population_frequencies_and_detg_rate():
    m = sample_morphology(200_000, seed=1)

    def rate(tag: str) -> float:
        return float(m[ANSWER_BY_TAG[tag].prefix].mean())

    assert rate("spiral") == pytest.approx(0.43, abs=0.02)
    assert rate("edge_on") == pytest.approx(0.09, abs=0.01)
    assert rate("bar") == pytest.approx(0.10, abs=0.01)
    assert m["is_detg"].mean() == pytest.approx(0.003, abs=0.001)
    early = m[ANSWER_BY_TAG["completely_round"].prefix] | m[ANSWER_BY_TAG["in_between"].prefix]
    dust = m[ANSWER_BY_TAG["dust_lane"].prefix]
    assert (m["is_detg"] == (early & dust)).all()
    # Dust lanes are far more common on edge-on disks than on early types.
    edge = m[ANSWER_BY_TAG["edge_on"].prefix]
    assert dust[edge].mean() > 10 * dust[early].mean()


def test_known_detg_hold_about_forty_percent():
    pop = add_identifiers(sample_population(30_000, seed=2), seed=2)
    known = choose_known_detg(pop, fraction=0.4, seed=2)
    n_true = int(pop["is_detg"].sum())
    assert n_true > 40
    assert len(known) == round(0.4 * n_true)
    assert set(known["dr7objid"]) <= set(pop.loc[pop["is_detg"], "dr7objid"])


def test_debiasing_corrects_the_smooth_bias():
    pop = add_identifiers(sample_population(4000, seed=3), seed=3)
    cat = build_catalog(pop, seed=3)
    feat = pop[ANSWER_BY_TAG["features_or_disk"].prefix].to_numpy()
    col = ANSWER_BY_TAG["features_or_disk"].prefix
    far = feat & (pop["redshift"].to_numpy() > 0.1)
    near = feat & (pop["redshift"].to_numpy() < 0.04)
    raw, deb = cat[f"{col}_fraction"].to_numpy(), cat[f"{col}_debiased"].to_numpy()
    # Distant disks look smoother to volunteers ...
    assert raw[far].mean() < raw[near].mean() - 0.05
    # ... and debiasing brings them most of the way back.
    assert abs(deb[far].mean() - raw[near].mean()) < 0.5 * (raw[near].mean() - raw[far].mean())


def test_images_have_dark_background_and_central_galaxy(mock_sky):
    paths = sorted((mock_sky / "images").glob("*.jpg"))[:150]
    central, brightest_near_centre = 0, 0
    for p in paths:
        img = np.asarray(Image.open(p).convert("L"), dtype=float)
        assert img.shape == (64, 64)
        border = np.concatenate([img[:6].ravel(), img[-6:].ravel(), img[:, :6].ravel()])
        assert np.median(border) < 25
        centre = img[24:40, 24:40]
        # Faint galaxies near r = 17.77 and dimmed edge-on disks stand ~15 above the sky.
        central += centre.mean() > np.median(border) + 12
        smooth = np.cumsum(np.cumsum(np.pad(img, ((1, 0), (1, 0))), 0), 1)
        box = smooth[5:, 5:] - smooth[:-5, 5:] - smooth[5:, :-5] + smooth[:-5, :-5]
        y, x = np.unravel_index(np.argmax(box), box.shape)
        brightest_near_centre += abs(y + 2 - 31.5) < 10 and abs(x + 2 - 31.5) < 10
    assert central >= 0.95 * len(paths)
    assert brightest_near_centre >= 0.85 * len(paths)


def test_sky_level_noise_and_colour_are_sdss_like(mock_sky):
    # Real SDSS cutouts at 64 px (benchmarks/sky_vs_sdss.py): corners at ~4, 4, 3 of 255,
    # noise (robust sd) ~1.5, galaxies' G-R colour proxy ~0.2. Sky v1: 2, 2, 2; ~2.5; 0.03.
    sky, noise, colour = [], [], []
    for p in sorted((mock_sky / "images").glob("*.jpg"))[:200]:
        img = np.asarray(Image.open(p).convert("RGB"), dtype=float)
        corners = np.concatenate([img[:8, :8], img[:8, -8:], img[-8:, :8], img[-8:, -8:]])
        corners = corners.reshape(-1, 3)
        level = np.median(corners, axis=0)
        sky.append(level)
        noise.append(np.median(np.abs(corners - level)) * 1.4826)
        light = np.clip(img[20:44, 20:44] - level, 0, None)
        colour.append(-2.5 * np.log10(light[..., 1].sum() / max(light[..., 0].sum(), 1.0)))
    r, g, b = np.median(sky, axis=0)
    assert 2.5 <= g <= 5.0 and 2.5 <= r <= 5.0
    assert b < r  # the residual sky is slightly red
    assert 1.0 <= np.median(noise) <= 2.2
    assert 0.12 <= np.median(colour) <= 0.3


def test_bright_stars_have_diffraction_spikes_at_a_realistic_rate():
    pop = sample_population(5000, seed=4)
    field = (424 * 0.02 * pop["r90_arcsec"] / 60.0) ** 2  # arcmin^2
    with_star = 1 - np.exp(-pop["bright_star_density"] * field)
    assert 0.05 <= with_star.mean() <= 0.25
    # One bright star (rng seed 0 draws one of mean 1): a cross of spikes along the axes.
    pix, size, d = 0.5, 128, 12
    one = {"bright_star_density": 1 / (size * pix / 60.0) ** 2}
    stars = _bright_stars(one, rng=np.random.default_rng(0), size=size, pix=pix, sigma=1.5)
    lum = np.pad(stars.sum(axis=0), d)  # so that every offset is inside
    y, x = np.unravel_index(np.argmax(lum), lum.shape)
    along = max(lum[y, x + d], lum[y, x - d], lum[y + d, x], lum[y - d, x])
    diagonal = max(lum[y + d, x + d], lum[y - d, x - d], lum[y + d, x - d], lum[y - d, x + d])
    assert along > 5 * diagonal
    # Rendered, the stars saturate the 8-bit image.
    row = pop.iloc[0].to_dict()
    row["bright_star_density"] = 3 / float((424 * 0.02 * row["r90_arcsec"] / 60) ** 2)
    assert (render_galaxy(row, size=size, seed=4, index=0).max(axis=2) == 255).sum() >= 4


def test_rings_sit_mostly_on_early_types_and_lenticulars():
    m = sample_morphology(100_000, seed=5)
    ring = m["odd_feature"] == ODD_TAGS.index("ring")
    early_or_s0 = (m["kind"] == 1) | ((m["kind"] == 3) & ~m["spiral"])
    assert early_or_s0[ring].mean() > 0.6
    # Dust lanes on bulgy "features or disk" hosts exist, as do D-ETGs (held back).
    dust = m["odd_feature"] == ODD_TAGS.index("dust_lane")
    bulgy_disk = (m["kind"] == 3) & (m["bulge_prom"] >= 2)
    assert (dust & bulgy_disk).mean() > 0.005
    assert not (m["is_detg"] & bulgy_disk).any()


def test_dusty_s0_hosts_change_only_themselves_and_stay_features_or_disk():
    base = sample_population(20_000, seed=3)
    s0 = sample_population(20_000, seed=3, dusty_s0_fraction=1.0)
    chosen = s0["dusty_s0"].to_numpy()
    dusty_disk = (base["kind"] == 3) & (base["odd_feature"] == ODD_TAGS.index("dust_lane"))
    # Off by default; fully on, every dusty not-edge-on disk is one, nothing else.
    assert not base["dusty_s0"].any()
    assert (chosen == dusty_disk.to_numpy()).all() and chosen.sum() > 150
    # Every other galaxy keeps every column: the hosts draw from their own stream.
    others = ~chosen
    pd.testing.assert_frame_equal(
        base[others].drop(columns="dusty_s0"), s0[others].drop(columns="dusty_s0")
    )
    # A lane across a dominant, extended bulge, on a "features or disk" path: no D-ETG.
    hosts = s0[chosen]
    assert not hosts["spiral"].any() and (hosts["bulge_prom"] == 3).all()
    assert (hosts["bulge_frac"] >= 0.55).all() and (hosts["bulge_re"] >= 0.22).all()
    assert (base.loc[chosen, "bulge_re"] <= 0.14).all()
    assert not hosts["is_detg"].any()
    assert hosts[ANSWER_BY_TAG["features_or_disk"].prefix].all()
    assert hosts[ANSWER_BY_TAG["dust_lane"].prefix].all()
    half = sample_population(20_000, seed=3, dusty_s0_fraction=0.5)["dusty_s0"]
    assert 0.35 < half.sum() / chosen.sum() < 0.65


def test_dusty_s0_fraction_is_checked_and_recorded(tmp_path):
    import json

    for bad in (-0.1, 1.5, "half", True):
        with pytest.raises(ConfigError, match=r"SkyConfig\.dusty_s0_fraction"):
            SkyConfig(n=5, dusty_s0_fraction=bad).validate()
    out = build_sky(SkyConfig(n=40, size=32, seed=2, out=tmp_path / "s", dusty_s0_fraction=0.5))
    assert json.loads((out / "sky_config.json").read_text())["dusty_s0_fraction"] == 0.5
    assert "dusty_s0" in pd.read_parquet(out / "truth.parquet").columns


def test_sky_version_is_recorded_and_checked(mock_sky):
    import json

    assert SKY_VERSION == 2
    assert json.loads((mock_sky / "sky_config.json").read_text())["version"] == SKY_VERSION
    with pytest.raises(ConfigError, match=r"SkyConfig\.version"):
        SkyConfig(n=5, version=1).validate()


def test_same_seed_gives_identical_bytes_whatever_the_workers(tmp_path):
    a = build_sky(SkyConfig(n=70, size=32, seed=7, out=tmp_path / "a", workers=1))
    b = build_sky(SkyConfig(n=70, size=32, seed=7, out=tmp_path / "b", workers=2))
    c = build_sky(SkyConfig(n=70, size=32, seed=8, out=tmp_path / "c", workers=1))
    for name in FILES:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    images = sorted(p.name for p in (a / "images").iterdir())
    assert images == sorted(p.name for p in (b / "images").iterdir())
    for name in images:
        assert (a / "images" / name).read_bytes() == (b / "images" / name).read_bytes()
    assert (a / "catalog.csv").read_bytes() != (c / "catalog.csv").read_bytes()


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"n": 0}, "n: need at least 1"),
        ({"size": 63}, "size: need an even size"),
        ({"size": -64}, "size: need an even size"),
        ({"size": 8}, "size: need an even size"),
        ({"workers": 0}, "workers"),
    ],
)
def test_bad_settings_raise_and_write_nothing(tmp_path, changes, match):
    settings = {"n": 5, "size": 32, "out": str(tmp_path / "sky")} | changes
    with pytest.raises(ConfigError, match=match):
        build_sky(SkyConfig.from_dict(settings))
    assert list(tmp_path.iterdir()) == []


def test_unwritable_and_non_empty_outputs(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(SkyOutputError, match=r"not writable|not a folder"):
        build_sky(SkyConfig(n=3, size=16, out=blocker / "sky"))
    full = tmp_path / "full"
    full.mkdir()
    (full / "keep.txt").write_text("mine")
    with pytest.raises(SkyOutputError, match="not empty"):
        build_sky(SkyConfig(n=3, size=16, out=full))
    assert [p.name for p in full.iterdir()] == ["keep.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "full"]
    build_sky(SkyConfig(n=3, size=16, out=full, overwrite=True))
    assert not (full / "keep.txt").exists() and (full / "catalog.csv").exists()


class _StopAfter(Progress):
    def __init__(self, steps: int) -> None:
        self.calls = 0
        self.steps = steps

    def update(self, step: int, total: int, **logs) -> None:
        self.calls += 1

    def should_stop(self) -> bool:
        return self.calls >= self.steps


def test_stop_request_leaves_nothing(tmp_path):
    with pytest.raises(Cancelled):
        build_sky(SkyConfig(n=40, size=16, out=tmp_path / "sky", workers=1), progress=_StopAfter(2))
    assert list(tmp_path.iterdir()) == []


def test_cli_end_to_end(tmp_path, capsys):
    out = tmp_path / "cli-sky"
    assert main(["sky", "--n", "12", "--size", "32", "--seed", "5", "--out", str(out)]) == 0
    for name in FILES:
        assert (out / name).is_file()
    assert len(list((out / "images").glob("*.jpg"))) == 12
    assert Image.open(next((out / "images").glob("*.jpg"))).size == (32, 32)
    assert main(["sky", "--n", "12", "--size", "32", "--out", str(out)]) == 2
    assert "not empty" in capsys.readouterr().err
    assert main(["sky", "--n", "0", "--out", str(tmp_path / "x")]) == 2
    assert "need at least 1" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
    config = tmp_path / "sky.json"
    SkyConfig(n=4, size=16, seed=1, out=tmp_path / "from-config").save(config)
    assert main(["sky", "--config", str(config)]) == 0
    assert len(list((tmp_path / "from-config" / "images").iterdir())) == 4


def test_sky_errors_are_user_errors():
    assert issubclass(SkyOutputError, GalaxySDError)
    assert Path(SkyConfig(n=1, out="x").resolved_out()) == Path("x")
