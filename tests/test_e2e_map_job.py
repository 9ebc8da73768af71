"""A page waiting for its job refreshes itself when the job ends, in a real browser.

The Embedding Map page launches a real ``map`` job (PCA of the 400-galaxy mock
sky with the demo encoder); without any reload or click, the map must appear
once the job has finished (the page polls the job in an ``st.fragment``).
"""

from __future__ import annotations

import shutil

import pytest
from test_e2e_browser import go, open_app, settle


@pytest.mark.browser
@pytest.mark.slow
def test_map_appears_when_its_job_ends(tmp_path, mock_sky):
    from galaxysd_core.paths import workspace

    ws = workspace(tmp_path / "ws").ensure()
    shutil.copytree(mock_sky, ws.sky / "default")  # a built default sky: Home launches nothing
    with open_app(ws.root, log=tmp_path / "streamlit.log") as page:
        go(page, "Embedding Map")
        page.get_by_text("No map yet").wait_for()
        main = page.locator('[data-testid="stMain"]')
        main.get_by_text("pca", exact=True).click()
        settle(page)
        main.get_by_role("button", name="Launch map job").click()
        # the waiting fragment shows the job, then the page reruns by itself when it ends
        main.get_by_text("this page refreshes when it ends").wait_for(timeout=60_000)
        page.locator(".st-key-map .js-plotly-plot").wait_for(timeout=600_000)
        main.get_by_text("finished; its result is shown below").wait_for()
        assert not main.get_by_text("No map yet").count()
