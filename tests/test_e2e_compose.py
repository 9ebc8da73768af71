"""Compose's live mode, the PNG-info round trip, History and the X/Y grid in a real browser.

`streamlit run app.py` with the bundled demo model, driven through Playwright
(helpers shared with ``test_e2e_browser``): a slider change in Live mode puts a
new image on screen; a generated PNG is downloaded, the form changed, the PNG
dropped back on PNG-info, and the form holds its settings again; History lists
the batch; a 2-cell grid runs and shows its heat map. Screenshots go where
``GALAXYSD_SCREENSHOTS`` says (the README tour: ``docs/img/screens``).
"""

from __future__ import annotations

import pytest
from test_e2e_browser import go, open_app, seed_workspace, settle, shot

from galaxysd_core.diffusion import read_png_settings

# The live image's URL, or "" while it is missing or "updating..." (caption read in the page).
LIVE_SRC = """() => {
  const box = [...document.querySelectorAll('[data-testid=stMain] [data-testid=stElementContainer]')]
    .find(e => e.querySelector('img') && e.innerText.trim().startsWith('Live'));
  return box && !box.innerText.includes('updating') ? box.querySelector('img').src : '';
}"""


def slider(page, label: str):
    """The thumb of the slider whose label starts with ``label`` (keys move it)."""
    box = page.locator('[data-testid="stSlider"]').filter(has_text=label).first
    return box.get_by_role("slider")


def slider_value(page, label: str) -> float:
    """The value a slider shows above its thumb."""
    box = page.locator('[data-testid="stSlider"]').filter(has_text=label).first
    return float(box.locator('[data-testid="stSliderThumbValue"]').inner_text())


def live_src(page, *, other_than: str = "") -> str:
    """The live image's URL once it is up to date (and not ``other_than``)."""
    page.wait_for_function(
        f"old => {{ const src = ({LIVE_SRC})(); return src && src !== old; }}",
        arg=other_than,
        timeout=120_000,
    )
    return page.evaluate(LIVE_SRC)


@pytest.mark.browser
@pytest.mark.slow
def test_live_png_info_history_and_grid(tmp_path, mock_sky):
    from playwright.sync_api import expect

    seeded = seed_workspace(tmp_path / "ws", mock_sky)
    with open_app(seeded["ws"].root, log=tmp_path / "streamlit.log") as page:
        go(page, "Compose")

        # Live: a slider change redraws the image in place.
        page.get_by_text("Live", exact=True).click()
        settle(page, timeout=240_000)
        first = live_src(page)
        slider(page, "Guidance").press("ArrowRight")
        assert live_src(page, other_than=first) != first
        settle(page)
        shot(page, "compose_live")
        page.get_by_text("Live", exact=True).click()
        settle(page)

        # Generate a small batch, download one PNG.
        slider(page, "Steps").press("Home")  # 5 steps
        slider(page, "Images").press("ArrowRight")  # 4 -> 5 images
        settle(page)
        page.get_by_role("button", name="Generate").first.click()
        settle(page, timeout=240_000)
        page.get_by_text("Generated", exact=True).wait_for()
        shot(page, "compose")
        with page.expect_download() as info:
            page.get_by_role("button", name="PNG").nth(1).click()
        png = tmp_path / info.value.suggested_filename
        info.value.save_as(png)
        made = read_png_settings(png)
        assert png.name == f"{made['file_stem']}.png" and png.name.endswith(f"-{made['seed']}.png")
        assert made["steps"] == 5 and png.name.startswith("sdss")

        # Change the form, drop the PNG back: its settings return.
        seed_box = page.get_by_label("Seed", exact=True)
        seed_box.fill("123")
        seed_box.press("Enter")
        slider(page, "Guidance").press("End")
        settle(page)
        page.get_by_text("PNG info: load settings from an image").click()
        page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(png))
        settle(page)
        page.get_by_role("button", name="Load these settings").click()
        settle(page)
        # On a loaded machine the rerun that loads them can start after settle's
        # grace period: wait (bounded) for the seed to come back.
        expect(seed_box).to_have_value(str(made["seed"]), timeout=30_000)
        settle(page)
        assert slider_value(page, "Guidance") == made["guidance"]
        assert slider_value(page, "Steps") == made["steps"]
        prompt = page.locator('[data-testid="stTextArea"] textarea').first.input_value()
        assert prompt == made["prompt"]

        # History lists the batch, newest first.
        go(page, "History")
        page.get_by_text("5 of 5 images", exact=False).wait_for()
        shot(page, "history")

        # A two-cell grid runs on the page and shows its heat map.
        go(page, "X/Y Grid")
        page.get_by_label("X values (comma-separated)").fill("3,9")
        page.get_by_label("X values (comma-separated)").press("Enter")
        page.get_by_label("Steps", exact=True).fill("4")
        page.get_by_label("Steps", exact=True).press("Enter")
        settle(page)
        page.get_by_role("button", name="Run grid").click()
        settle(page, timeout=300_000)
        page.locator('[data-testid="stPlotlyChart"]').first.wait_for()
        shot(page, "grid")
    grids = list((seeded["ws"].runs).glob("*/grid.csv"))
    assert len(grids) == 1 and len(grids[0].read_text().splitlines()) == 3
