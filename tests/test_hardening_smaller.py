"""Smaller boundaries: truncated catalogues, candidate uploads naming bad rows."""

from __future__ import annotations

import gzip
import io

import pytest

from galaxysd_core.errors import CatalogError
from galaxysd_core.gz2.catalog import read_catalog
from galaxysd_core.review.checks import read_candidates
from galaxysd_core.review.errors import ReviewValueError


@pytest.fixture
def catalogue_text(reference_dir):
    path = reference_dir / "gz2_catalog" / "willett2013_table5_first2000.csv.gz"
    return gzip.decompress(path.read_bytes())[:200_000].rsplit(b"\n", 1)[0] + b"\n"


def test_a_catalogue_cut_mid_row_is_refused_naming_the_line(tmp_path, catalogue_text):
    whole = tmp_path / "whole.csv"
    whole.write_bytes(catalogue_text)
    rows = len(read_catalog(whole))
    cut = tmp_path / "cut.csv"
    last = catalogue_text.rstrip(b"\n").rsplit(b"\n", 1)[-1]
    cut.write_bytes(catalogue_text.rstrip(b"\n")[: -len(last) // 2])  # half the last row
    lines = catalogue_text.count(b"\n")
    with pytest.raises(
        CatalogError, match=rf"cut.csv looks truncated: its last row \(line {lines}\)"
    ):
        read_catalog(cut)
    assert rows == lines - 1


def test_a_cut_gzip_catalogue_is_a_one_line_error(tmp_path, catalogue_text):
    packed = gzip.compress(catalogue_text)
    cut = tmp_path / "cut.csv.gz"
    cut.write_bytes(packed[: len(packed) // 2])
    with pytest.raises(CatalogError, match=r"cannot read catalogue .*cut\.csv\.gz"):
        read_catalog(cut)


def test_candidate_uploads_name_rows_outside_the_workspace_or_missing(ws, tmp_path):
    (ws.root / "img").mkdir()
    (ws.root / "img" / "a.png").write_bytes(b"png")
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"png")
    csv = (
        "object_id,image,score\n"
        "1,img/a.png,0.9\n"
        f"2,{secret},0.8\n"
        "3,../../../etc/passwd,0.7\n"
        "4,img/nope.png,0.6\n"
    )
    with pytest.raises(
        ReviewValueError,
        match=r"images outside the workspace on line\(s\) 3, 4; missing images on line\(s\) 5",
    ):
        read_candidates(io.StringIO(csv), workspace=ws)
    good = read_candidates(io.StringIO("object_id,image\n1,img/a.png\n"), workspace=ws)
    assert good["image"].tolist() == [str(ws.root / "img" / "a.png")]
