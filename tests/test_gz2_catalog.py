"""Catalogue reader: formats, column matching, clear errors, image join and checks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from galaxysd_core.errors import CatalogError
from galaxysd_core.gz2 import check_images, join_images, read_catalog, read_mapping
from galaxysd_core.gz2.catalog import JoinReport, normalise_catalog

SLICE = "gz2_catalog/willett2013_table5_first2000.csv.gz"


@pytest.fixture(scope="module")
def raw(reference_dir) -> pd.DataFrame:
    return pd.read_csv(reference_dir / SLICE).head(40)


def test_reads_willett_csv_gz_with_normalised_id(reference_dir):
    table = read_catalog(reference_dir / SLICE)
    assert len(table) == 2000
    assert table.columns[0] == "dr7objid" and table["dr7objid"].dtype == np.int64
    assert table["dr7objid"].iloc[0] == 8647474690312307154
    assert "t08_odd_feature_a38_dust_lane_debiased" in table


def test_fits_and_hart16_style_columns(raw, tmp_path):
    from astropy.table import Table

    hart = raw.rename(columns={"objid": "dr7objid"})
    hart = hart.drop(columns=[c for c in hart if c.endswith(("_weight", "_weighted_fraction"))])
    hart = hart.rename(columns=str.upper)  # some FITS releases shout
    Table.from_pandas(hart).write(tmp_path / "hart.fits")
    table = read_catalog(tmp_path / "hart.fits")
    assert table["dr7objid"].tolist() == raw["objid"].tolist()
    assert np.allclose(
        table["t01_smooth_or_features_a01_smooth_debiased"],
        raw["t01_smooth_or_features_a01_smooth_debiased"],
    )
    assert "ra" in table  # other columns are lower-cased


def test_missing_required_columns_are_all_listed(raw, tmp_path):
    path = tmp_path / "cut.csv"
    raw.drop(
        columns=["objid", "t02_edgeon_a04_yes_count", "t11_arms_number_a37_cant_tell_debiased"]
    ).to_csv(path, index=False)
    with pytest.raises(CatalogError) as info:
        read_catalog(path)
    message = str(info.value)
    for name in ("dr7objid (or objid)", "t02_edgeon_a04_yes_count", "a37_cant_tell_debiased"):
        assert name in message
    assert "3 required column(s)" in message


def test_bad_files(tmp_path):
    with pytest.raises(CatalogError, match="not found"):
        read_catalog(tmp_path / "nope.csv")
    (tmp_path / "cat.parquetx").write_text("x")
    with pytest.raises(CatalogError, match="unsupported catalogue format"):
        read_catalog(tmp_path / "cat.parquetx")
    (tmp_path / "map.csv").write_text("objid,sample\n1,x\n")
    with pytest.raises(CatalogError, match="asset_id"):
        read_mapping(tmp_path / "map.csv")


def test_join_and_image_checks_count_problems(raw, tmp_path):
    catalog = normalise_catalog(raw)
    ids = catalog["dr7objid"].to_numpy()
    mapping = pd.DataFrame({"objid": ids[:-2], "sample": "x", "asset_id": np.arange(len(ids) - 2)})
    mapping.to_csv(tmp_path / "map.csv", index=False)
    images = tmp_path / "images"
    images.mkdir()
    for asset in range(len(ids) - 5):  # the last 3 mapped galaxies have no file
        Image.new("RGB", (24, 24), (asset, 80, 160)).save(images / f"{asset}.jpg", quality=90)
    good = (images / "0.jpg").read_bytes()
    (images / "1.jpg").write_bytes(good[: len(good) // 2])  # truncated JPEG
    (images / "2.jpg").write_bytes(b"not an image")
    report = JoinReport()
    joined = join_images(catalog, read_mapping(tmp_path / "map.csv"), images, report=report)
    assert (report.no_mapping, report.missing_file) == (2, 3)
    assert len(joined) == len(ids) - 5
    assert joined["image"].iloc[0].endswith("/0.jpg")
    ok = check_images(joined["image"], report=report)
    assert ok.tolist() == [True, False, False] + [True] * (len(joined) - 3)
    assert report.corrupt == 2 and report.skipped == 7
    assert any("2.jpg" in line for line in report.examples)
    with pytest.raises(CatalogError, match="image folder not found"):
        join_images(catalog, read_mapping(tmp_path / "map.csv"), tmp_path / "none")
