"""Home on a fresh workspace: the first-run mock sky is launched once, in the background."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from galaxysd_core import jobs  # noqa: E402
from pages._common import DEFAULT_SKY_CONFIG  # noqa: E402


def test_first_run_builds_the_default_sky_in_the_background_once(ws, monkeypatch):
    monkeypatch.setenv("GALAXYSD_JOB_GRACE_S", "0")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    try:
        assert not at.exception, [e.value for e in at.exception]
        assert not at.error, [e.value for e in at.error]
        table = jobs.list_jobs(workspace=ws)
        assert table["kind"].tolist() == ["sky"]
        config = json.loads((Path(table["run_dir"][0]) / "config.json").read_text())
        assert config["out"] == str(ws.sky / "default")
        assert {k: config[k] for k in DEFAULT_SKY_CONFIG} == DEFAULT_SKY_CONFIG
        # The page returns at once (the build runs in its own process) and
        # says so with a progress bar.
        assert at.get("progress"), "no progress bar for the default sky"

        # A second visitor (a new session) sees the same build, not a new one.
        again = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
        assert not again.exception
        assert jobs.list_jobs(workspace=ws)["id"].tolist() == table["id"].tolist()
    finally:
        for job_id in jobs.list_jobs(workspace=ws)["id"]:
            jobs.cancel(job_id, workspace=ws, wait=True, timeout=30)


def test_failed_build_is_shown_not_relaunched(ws, monkeypatch):
    monkeypatch.setenv("GALAXYSD_JOB_GRACE_S", "0")
    job_id = jobs.launch(
        "sky", {**DEFAULT_SKY_CONFIG, "out": str(ws.sky / "default")}, workspace=ws
    )
    jobs.cancel(job_id, workspace=ws, wait=True, timeout=30)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("ended cancelled" in e.value for e in at.error), [e.value for e in at.error]
    assert jobs.list_jobs(workspace=ws)["id"].tolist() == [job_id]
    assert any(b.label == "Try again" for b in at.button)
