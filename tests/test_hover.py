"""Hover thumbnails: encoding, which points get one, and what the pages hand the browser.

The browser side (the image really appearing under the cursor) is checked in
``test_e2e_pareto.py``; here AppTest reads the component's data off the pages.
"""

from __future__ import annotations

import base64
import io
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from galaxysd_core.thumbnails import (
    MAX_THUMBNAILS,
    THUMB_SIZE,
    pick_rows,
    thumbnail_uri,
    thumbnails,
)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # `pages._hover` is imported from the repository root

from pages._hover import THUMB_ID  # noqa: E402 - after the path above

PREFIX = "data:image/jpeg;base64,"


def _decode(uri: str) -> Image.Image:
    assert uri.startswith(PREFIX)
    return Image.open(io.BytesIO(base64.b64decode(uri[len(PREFIX) :])))


def test_thumbnail_is_a_small_jpeg_of_the_image(tmp_path):
    path = tmp_path / "wide.png"
    Image.new("RGB", (300, 150), (200, 30, 30)).save(path)
    image = _decode(thumbnail_uri(path))
    assert image.format == "JPEG" and image.size == (THUMB_SIZE, THUMB_SIZE // 2)
    red, green, _ = image.convert("RGB").getpixel((10, 10))
    assert red > 150 and green < 80


def test_rewritten_image_is_encoded_again(tmp_path):
    path = tmp_path / "g.png"
    Image.new("RGB", (64, 64), (0, 0, 0)).save(path)
    before = thumbnail_uri(path)
    Image.new("RGB", (64, 64), (255, 255, 255)).save(path)
    path.touch()  # a new mtime even on coarse-clock file systems
    after = thumbnail_uri(path)
    assert before != after and _decode(after).convert("L").getpixel((5, 5)) > 200


def test_missing_or_broken_images_get_no_thumbnail(tmp_path):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not an image")
    good = tmp_path / "good.png"
    Image.new("RGB", (8, 8)).save(good)
    assert thumbnail_uri(tmp_path / "missing.jpg") is None
    assert thumbnail_uri(broken) is None
    assert list(thumbnails([4, 7, 9], [str(broken), str(good), "nowhere.png"])) == ["7"]


def test_pick_rows_caps_prefers_and_spreads():
    assert pick_rows(5) == [0, 1, 2, 3, 4]
    rows = pick_rows(10_000, first=[9_999, 5_000, 9_999])
    assert len(rows) == MAX_THUMBNAILS and {5_000, 9_999} <= set(rows)
    assert rows == sorted(set(rows))
    # the others spread over the whole table, not just its beginning
    assert max(np.diff(rows)) < 3 * 10_000 / MAX_THUMBNAILS and rows[-1] == 9_999
    assert pick_rows(10, first=range(10), limit=4) == [0, 1, 2, 3]
    assert pick_rows(3, first=[7, -1]) == [0, 1, 2]  # out-of-range preferences are ignored


def _hover_data(at: AppTest) -> dict:
    """The data the page passed to the hover component (AppTest shows it as an unknown element)."""
    found = [e.proto for e in at.get("bidi_component")]
    assert len(found) == 1, f"expected one hover component, found {len(found)}"
    assert found[0].WhichOneof("data") == "json", "the hover component carries no JSON data"
    return json.loads(found[0].json)


@pytest.mark.slow
@pytest.mark.parametrize(("page", "chart"), [("embedding_map.py", "map"), ("metrics.py", "pareto")])
def test_pages_send_one_thumbnail_per_point(evaluated_ws, page, chart):
    from galaxysd_core.embedding.map import read_map

    ws, out = evaluated_ws
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GALAXYSD_HOME", str(ws.root))
        mp.delenv("GALAXYSD_DB_URL", raising=False)
        at = AppTest.from_file(str(ROOT / "pages" / page), default_timeout=90).run()
    assert not at.exception, [e.value for e in at.exception]
    data = _hover_data(at)
    assert data["chart"] == chart and data["id"] == THUMB_ID
    if chart == "map":
        paths = read_map(out)[0]["path"]
    else:
        paths = pd.read_parquet(out / "pareto.parquet")["thumbnail"]
    # keys are the charts' customdata[0]: row positions (map) or pareto.index
    assert data["thumbs"] == {str(i): thumbnail_uri(p) for i, p in enumerate(paths)}
