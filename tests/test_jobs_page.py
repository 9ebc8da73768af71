"""The Training page (AppTest): a launch form per kind, validation, live job view."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

from galaxysd_core import jobs

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # `pages._common` is imported from the repository root
PAGE = str(ROOT / "pages" / "training.py")


def _launch_button(at: AppTest):
    return next(b for b in at.button if b.label == "Launch")


def test_training_page_validates_launches_and_shows_the_job(ws, tmp_path, monkeypatch):
    monkeypatch.setenv("GALAXYSD_MAX_HEAVY_JOBS", "1")
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    assert "sky" in at.selectbox(key="training_kind").options
    # A bad value is shown as an error naming it, and starts nothing.
    at.number_input(key="training_sky_n").set_value(0)
    _launch_button(at).click().run()
    assert any("SkyConfig.n" in e.value for e in at.error), [e.value for e in at.error]
    assert jobs.list_jobs(workspace=ws).empty
    # A good one launches a real job that the page then follows.
    at.number_input(key="training_sky_n").set_value(16)
    at.number_input(key="training_sky_size").set_value(32)
    at.text_input(key="training_sky_out").set_value(str(tmp_path / "outside"))
    _launch_button(at).click().run()
    assert any("SkyConfig.out" in e.value and "outside the workspace" in e.value for e in at.error)
    assert jobs.list_jobs(workspace=ws).empty and not (tmp_path / "outside").exists()
    at.text_input(key="training_sky_out").set_value("sky/small")  # workspace-relative
    _launch_button(at).click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("launched" in s.value for s in at.success)
    job_id = jobs.list_jobs(workspace=ws).loc[0, "id"]
    deadline = time.monotonic() + 90
    while jobs.status(job_id, workspace=ws)["status"] in ("queued", "running"):
        assert time.monotonic() < deadline, jobs.tail_log(job_id, workspace=ws)
        time.sleep(0.2)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="training_job").value == job_id
    bar_texts = [str(p.proto.text) for p in at.get("progress")]
    assert any("succeeded" in t for t in bar_texts), bar_texts
    assert at.code and "galaxysd jobs" in at.code[0].value  # the log tail
