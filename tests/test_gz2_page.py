"""The Dataset page renders a mock sky and a prepared dataset (Streamlit AppTest)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from galaxysd_core.gz2 import PrepareConfig, prepare_dataset

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # `pages._common` is imported from the repository root
PAGE = str(ROOT / "pages" / "dataset.py")


@pytest.fixture(scope="module")
def page_ws(tmp_path_factory, mock_sky):
    """A workspace with the mock sky as ``sky/default`` and one prepared dataset."""
    from galaxysd_core.paths import workspace

    ws = workspace(tmp_path_factory.mktemp("page") / "ws").ensure()
    shutil.copytree(mock_sky, ws.sky / "default")
    prepare_dataset(PrepareConfig.from_sky(mock_sky, out=ws.datasets / "small", max_per_tag=40))
    return ws


def _run(page_ws, monkeypatch, **state) -> AppTest:
    monkeypatch.setenv("GALAXYSD_HOME", str(page_ws.root))
    app = AppTest.from_file(PAGE, default_timeout=60)
    for key, value in state.items():
        app.session_state[key] = value
    return app.run()


def test_mock_sky_by_default(page_ws, monkeypatch):
    app = _run(page_ws, monkeypatch)
    assert not app.exception and not app.error
    labels = [m.label for m in app.metric]
    assert labels[:3] == ["all", "with image", "well sampled"] and labels[-1] == "balanced"
    assert app.metric[0].value == "400"
    assert any("Prepare training set" in b.label for b in app.button)
    assert len(app.get("plotly_chart")) == 3  # funnel, tag counts, UpSet
    captions = [c for image in app.main.image for c in image.captions]
    assert len(captions) == 24 and all(c.startswith("sdss, ") for c in captions)
    # Filtering by a tag keeps only galaxies whose prompt names it.
    app.multiselect(key="dataset_tags").set_value(["smooth"]).run()
    assert not app.exception
    captions = [c for image in app.main.image for c in image.captions]
    assert captions and all(c.startswith("sdss, smooth") for c in captions)
    assert any("GalaxySD paper's rule" in c.value for c in app.caption)
    app.selectbox(key="flag_rule").set_value("willett2013").run()
    assert not app.exception
    assert any("Willett et al. 2013's rule" in c.value for c in app.caption)


def test_prepared_dataset_and_errors(page_ws, monkeypatch):
    app = _run(page_ws, monkeypatch, active_dataset=str(page_ws.datasets / "small"))
    assert not app.exception and not app.error
    assert not any("Prepare training set" in b.label for b in app.button)
    assert app.metric[-1].label == "balanced"
    # A prepared dataset says which rule made it.
    shown = [c.value for c in app.caption if "GalaxySD paper's rule" in c.value]
    assert shown and "at least 20 votes" in shown[0]
    broken = page_ws.datasets / "broken"
    broken.mkdir(exist_ok=True)
    (broken / "catalog.csv").write_text("objid,ra\n1,2\n")
    app = _run(page_ws, monkeypatch, active_dataset=str(broken))
    assert not app.exception
    assert app.error and "lacks" in app.error[0].value
