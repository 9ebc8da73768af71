"""User-given paths stay inside the workspace (no path traversal)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from galaxysd_core.paths import DEMO_MODEL, guide_for, list_datasets, list_models  # noqa: E402
from pages._common import Keys, OutsideWorkspaceError, confine  # noqa: E402


def test_confine_accepts_paths_inside_the_workspace(ws):
    (ws.sky / "a").mkdir()
    assert confine(ws.sky / "a") == (ws.sky / "a").resolve()
    assert confine("sky/a") == (ws.sky / "a").resolve()  # relative to the workspace
    assert confine(ws.sky / "b" / ".." / "a") == (ws.sky / "a").resolve()


@pytest.mark.parametrize(
    "given",
    ["../outside", "sky/../../outside", "/etc/passwd", "~/somewhere", "sky/../../ws-evil/x"],
)
def test_confine_refuses_traversal(ws, given):
    with pytest.raises(OutsideWorkspaceError, match="outside the workspace"):
        confine(given)


def test_confine_follows_symlinks_out_of_the_workspace(ws, tmp_path):
    secret = tmp_path / "secret"
    secret.mkdir()
    os.symlink(secret, ws.sky / "link")
    with pytest.raises(OutsideWorkspaceError, match="sky/link"):
        confine(ws.sky / "link")


def test_bundled_assets_only_when_allowed(ws):
    assert confine(DEMO_MODEL, allow_assets=True) == DEMO_MODEL.resolve()
    with pytest.raises(OutsideWorkspaceError):
        confine(DEMO_MODEL)
    with pytest.raises(OutsideWorkspaceError):
        confine(DEMO_MODEL / ".." / ".." / "pyproject.toml", allow_assets=True)


def test_model_and_dataset_lists(ws):
    (ws.models / "mine").mkdir()
    (ws.models / "mine" / "model_index.json").write_text("{}")
    ckpt = ws.runs / "r1" / "checkpoints" / "checkpoint-10"
    ckpt.mkdir(parents=True)
    (ckpt / "model_index.json").write_text("{}")
    (ws.models / "not-a-model").mkdir()
    assert list_models(ws) == [DEMO_MODEL, ws.models / "mine", ckpt]
    (ws.sky / "s").mkdir()
    (ws.sky / "s" / "truth.parquet").write_bytes(b"")
    (ws.datasets / "d").mkdir()
    (ws.datasets / "d" / "metadata.jsonl").write_text("")
    assert list_datasets(ws) == [ws.sky / "s", ws.datasets / "d"]


def test_a_models_guide_is_the_guide_folder_beside_it(ws):
    (ws.models / "mine").mkdir()
    assert guide_for(ws.models / "mine") is None
    (ws.models / "mine-guide").mkdir()  # a folder without a pipeline is no guide
    assert guide_for(ws.models / "mine") is None
    (ws.models / "mine-guide" / "model_index.json").write_text("{}")
    assert guide_for(ws.models / "mine") == ws.models / "mine-guide"


def test_sidebar_resets_a_dataset_outside_the_workspace(ws):
    (ws.sky / "default").mkdir()
    (ws.sky / "default" / "truth.parquet").write_bytes(b"")  # built: Home launches nothing
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.session_state[Keys.ACTIVE_DATASET] = str(ws.root / ".." / "..")
    at.session_state[Keys.ACTIVE_MODEL] = "/etc"
    at.run()
    errors = [e.value for e in at.sidebar.error]
    assert len(errors) == 2 and all("outside the workspace" in e for e in errors), errors
    assert at.session_state[Keys.ACTIVE_DATASET] == str(ws.sky / "default")
    assert at.session_state[Keys.ACTIVE_MODEL] == str(DEMO_MODEL)
    assert not at.exception
