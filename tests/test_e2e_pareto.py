"""Hover thumbnails and the Pareto-to-Compose path in a real browser (Playwright + chromium).

The workspace is conftest's ``evaluated_ws``: a hand-made evaluation with three
sweep points of prompt B and a PCA map of 36 galaxies; no diffusion model runs.

In the browser the test moves the mouse onto a point - found from its data
coordinates through the plot's own axes - and checks that the floating
``<img id="galaxysd-hover-thumb">`` shows that point's image; then it clicks a
Pareto point, follows "Open these settings in Compose" and reads Compose's
widgets back.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_e2e_browser import go, open_app, settle

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # `pages._hover` is imported from the repository root

# Pixel position of data point (x, y) of the chart keyed `key`, through Plotly's axes.
POINT_PX = """([key, x, y]) => {
  const gd = document.querySelector(`.st-key-${key} .js-plotly-plot`);
  const box = gd.querySelector(".nsewdrag").getBoundingClientRect();
  const layout = gd._fullLayout;
  return [box.left + layout.xaxis.l2p(x), box.top + layout.yaxis.l2p(y)];
}"""
THUMB = "#galaxysd-hover-thumb"


def _point_px(page, key: str, x: float, y: float) -> tuple[float, float]:
    return tuple(page.evaluate(POINT_PX, [key, float(x), float(y)]))


def _loneliest(xy: np.ndarray, rows: np.ndarray) -> int:
    """The row among ``rows`` farthest from every other point (an unambiguous hover target)."""
    scaled = (xy - xy.min(0)) / np.ptp(xy, axis=0)
    dist = np.linalg.norm(scaled[rows, None] - scaled[None], axis=-1)
    dist[np.arange(len(rows)), rows] = np.inf
    return int(rows[dist.min(1).argmax()])


def _hover_shows(page, key: str, x: float, y: float, expected_uri: str) -> None:
    page.mouse.move(0, 0)
    page.locator(f".st-key-{key}").scroll_into_view_if_needed()
    page.mouse.move(*_point_px(page, key, x, y), steps=4)
    thumb = page.locator(THUMB)
    thumb.wait_for(state="visible", timeout=10_000)
    src = thumb.get_attribute("src")
    assert src.startswith("data:image/jpeg;base64,")
    assert src == expected_uri, "the thumbnail is not the hovered point's image"
    page.mouse.move(0, 0)  # unhover hides it again
    thumb.wait_for(state="hidden", timeout=10_000)


@pytest.mark.browser
@pytest.mark.slow
def test_hover_thumbnails_and_pareto_point_into_compose(tmp_path, evaluated_ws):
    from galaxysd_core.embedding.map import read_map
    from galaxysd_core.thumbnails import thumbnail_uri

    ws, out = evaluated_ws
    pareto = pd.read_parquet(out / "pareto.parquet")
    table, _ = read_map(out)
    with open_app(ws.root, log=tmp_path / "streamlit.log") as page:
        go(page, "Embedding Map")
        page.locator(".st-key-map .js-plotly-plot .nsewdrag").wait_for()
        generated = np.flatnonzero((table["source"] == "generated").to_numpy())
        row = _loneliest(table[["x", "y"]].to_numpy(), generated)
        x, y = table.loc[row, ["x", "y"]]
        _hover_shows(page, "map", x, y, thumbnail_uri(table.loc[row, "path"]))

        go(page, "Metrics")
        page.locator(".st-key-pareto .js-plotly-plot .nsewdrag").wait_for()
        point = pareto.iloc[1]  # guidance 9.5, weight 1.5: nothing like Compose's defaults
        x, y = point["diversity"], point["realism"]
        _hover_shows(page, "pareto", x, y, thumbnail_uri(point["thumbnail"]))

        page.mouse.click(*_point_px(page, "pareto", x, y))
        settle(page)
        page.get_by_role("link", name="Open these settings in Compose").click()
        settle(page)
        page.get_by_text("Settings from Pareto point B").wait_for()
        for label, key in (("Guidance", "guidance"), ("Steps", "steps"),
                           ("Strength (noise on the reference)", "strength")):  # fmt: skip
            # Anchored: "Perturbed-attention guidance" also contains "guidance".
            name = re.compile("^" + re.escape(label))
            value = page.get_by_role("slider", name=name).input_value()
            assert float(value) == pytest.approx(point[key]), label
        prompt = page.get_by_label("Prompt (editable; {text:weight} emphasises a span)")
        assert prompt.input_value() == point["prompt_text"]
