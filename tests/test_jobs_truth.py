"""Jobs that tell the truth: stopping state, stale fields cleared, who may resume,
a one-line reason for a failure, and a cost estimate before launching."""

from __future__ import annotations

import time

import pytest
from streamlit.testing.v1 import AppTest

from galaxysd_core import jobs
from galaxysd_core.jobs.supervise import QUICK_GRACE_S, stop_grace
from galaxysd_core.jobs.views import can_resume, end_reason
from tests.test_jobs import SLOW_SKY, ended, kill_leftovers, stepping, wait_for
from tests.test_jobs_page import PAGE


@pytest.fixture
def jws(ws, monkeypatch):
    """A workspace with K = 1 and a 10 s grace; kills leftovers afterwards."""
    monkeypatch.setenv("GALAXYSD_MAX_HEAVY_JOBS", "1")
    monkeypatch.setenv("GALAXYSD_JOB_GRACE_S", "10")
    yield ws
    kill_leftovers(ws)


def _row(tmp_path, status, kind="finetune", **extra):
    return {"status": status, "kind": kind, "run_dir": str(tmp_path), "error": None} | extra


def test_only_interrupted_or_checkpointed_cancelled_jobs_resume(tmp_path):
    assert can_resume(_row(tmp_path, "interrupted"))
    assert not can_resume(_row(tmp_path, "failed"))  # failed on its input: would fail again
    assert not can_resume(_row(tmp_path, "cancelled"))  # nothing saved to resume from
    (tmp_path / "checkpoints" / "checkpoint-10").mkdir(parents=True)
    assert can_resume(_row(tmp_path, "cancelled"))
    assert not can_resume(_row(tmp_path, "failed"))
    assert not can_resume(_row(tmp_path, "interrupted", kind="sky"))  # no resume field


def test_failure_reason_is_one_line_from_the_record_or_the_log(tmp_path):
    log = tmp_path / "log.txt"
    log.write_text(
        "loading\nTraceback (most recent call last):\n  File 'x.py', line 3\n"
        "galaxysd_core.errors.CatalogError: /data is not a dataset\n"
    )
    assert end_reason(_row(tmp_path, "failed", exit_code=1)) == (
        "CatalogError: /data is not a dataset"
    )
    log.write_text("galaxysd: error: MapConfig.real: no such folder '/x'\nbye\n")
    assert end_reason(_row(tmp_path, "failed")) == "MapConfig.real: no such folder '/x'"
    assert end_reason(_row(tmp_path, "failed", error="cannot start: no python\n")) == (
        "cannot start: no python"
    )
    log.write_text("")
    assert end_reason(_row(tmp_path, "failed", exit_code=3)) == "exited with code 3"
    assert end_reason(_row(tmp_path, "succeeded")) is None
    assert end_reason(_row(tmp_path, "running")) is None


def test_kinds_without_checkpoints_stop_fast(monkeypatch):
    monkeypatch.setenv("GALAXYSD_JOB_GRACE_S", "30")
    assert stop_grace("sky") == QUICK_GRACE_S  # nothing to save: SIGTERM after 2 s
    assert stop_grace("finetune") == 30.0  # writes its stop checkpoint first


def test_estimates_scale_with_the_work_and_calibrate_on_past_runs(jws, tmp_path):
    small = jobs.validate_config("evaluate", {"run": str(tmp_path), "n_images": 2})
    big = jobs.validate_config("evaluate", {"run": str(tmp_path), "n_images": 8})
    a, b = jobs.estimate("evaluate", small), jobs.estimate("evaluate", big)
    assert (a.images, b.images) == (2 * 16 * 2, 8 * 16 * 2)  # prompts x images x modes
    assert b.steps > a.steps and b.minutes > a.minutes and a.calibrated_by == 0
    assert "no run of this kind here yet" in a.describe()
    for kind, values in (
        ("map", {"real": str(tmp_path)}),
        ("classify-experiment", {"sky": str(tmp_path)}),
        ("demo-build", {}),
        ("demo-guide", {}),
    ):
        cost = jobs.estimate(kind, jobs.validate_config(kind, values))
        assert cost.images > 0 and cost.minutes > 0, kind
    # Autoguidance runs a second (narrower) UNet every step: the same steps, more time.
    plain, guided = (
        jobs.estimate("discover-round", jobs.validate_config("discover-round", values))
        for values in ({"sky": str(tmp_path)}, {"sky": str(tmp_path), "guide_weight": 2.0})
    )
    assert guided.steps == plain.steps and guided.minutes > plain.minutes
    sky = {"n": 16, "size": 32, "out": "sky"}
    job = jobs.launch("sky", sky, workspace=jws)
    assert wait_for(job, jws, ended, timeout=90)["status"] == "succeeded"
    cost = jobs.estimate("sky", jobs.validate_config("sky", sky), workspace=jws)
    assert cost.calibrated_by == 1
    took = jobs.status(job, workspace=jws)
    assert cost.minutes > 0 and took["eta"] is None and took["reason"] is None


@pytest.mark.slow
def test_cancel_shows_stopping_until_the_process_ends(jws, tmp_path):
    job = jobs.launch("sky", {**SLOW_SKY, "out": "s"}, workspace=jws)
    wait_for(job, jws, stepping)
    t0 = time.monotonic()
    jobs.cancel(job, workspace=jws)
    state = jobs.status(job, workspace=jws)
    assert state["status"] == "running" and state["stopping"]
    state = wait_for(job, jws, ended, timeout=30)
    assert time.monotonic() - t0 < QUICK_GRACE_S + 5
    assert state["status"] == "cancelled" and not state["stopping"] and state["eta"] is None
    assert state["reason"] == "cancelled on request" and not state["can_resume"]


@pytest.mark.slow
def test_the_viewer_follows_the_job_just_launched_and_says_why_it_failed(jws, tmp_path):
    first = jobs.launch("sky", {"n": 8, "size": 32, "out": "a"}, workspace=jws)
    wait_for(first, jws, ended, timeout=90)
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert at.selectbox(key="training_job").value == first
    at.selectbox(key="training_kind").set_value("map").run()
    at.text_input(key="training_map_real").set_value("missing")
    at.run()
    assert any(i.value.startswith("Estimated: ") for i in at.info), at.info
    next(b for b in at.button if b.label == "Launch").click().run()
    assert not at.exception, [e.value for e in at.exception]
    second = at.session_state["training_job"]
    assert second != first and second.endswith(tuple("0123456789abcdef"))
    assert at.selectbox(key="training_job").value == second
    assert wait_for(second, jws, ended, timeout=120)["status"] == "failed"
    at.run()
    errors = [e.value for e in at.error]
    assert any(e.startswith("Failed: ") and "\n" not in e for e in errors), errors
    assert not [b for b in at.button if b.label == "Resume"]
