"""Background jobs with real processes: launch, progress, queue, cancel, kill, reconcile.

Every job here is a small real ``sky`` build run by the real supervisor and CLI.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
import uuid

import pytest

from galaxysd_core import jobs
from galaxysd_core.errors import ConfigError
from galaxysd_core.jobs import store
from galaxysd_core.jobs.supervise import outcome, task_command, task_env
from galaxysd_core.launch import nvidia_gpu_present

GRACE_S = 10.0
# Rendered in 8 chunks of 256 (about a second each on 2 cores, 2026): caught
# mid-run, it stops within a chunk.
SLOW_SKY = {"n": 2048, "size": 64, "seed": 1, "workers": 1}


@pytest.fixture
def jws(ws, monkeypatch):
    """A workspace whose jobs use K = 1 and a short grace; kills leftovers afterwards."""
    monkeypatch.setenv("GALAXYSD_MAX_HEAVY_JOBS", "1")
    monkeypatch.setenv("GALAXYSD_JOB_GRACE_S", str(GRACE_S))
    yield ws
    kill_leftovers(ws)


def kill_leftovers(ws):
    """SIGKILL the process groups of jobs still active (a failed test's leftovers)."""
    for row in store.rows(store.engine_for(ws), statuses=store.ACTIVE):
        for pid in (row["supervisor_pid"], row["pid"]):
            if pid:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pid, signal.SIGKILL)


def wait_for(job_id, ws, predicate, *, timeout=60.0):
    """Poll ``jobs.status`` until ``predicate(state)``; return the state."""
    deadline = time.monotonic() + timeout
    while True:
        state = jobs.status(job_id, workspace=ws)
        if predicate(state):
            return state
        if time.monotonic() > deadline:
            log = jobs.tail_log(job_id, 30, workspace=ws)
            raise AssertionError(f"timed out; last state {state}\n--- log ---\n{log}")
        time.sleep(0.1)


def ended(state):
    return state["status"] not in store.ACTIVE


def stepping(state):
    return state["status"] == "running" and (state["step"] or 0) > 0 and state["pid"]


def test_invalid_config_is_rejected_before_anything_starts(jws):
    with pytest.raises(ConfigError, match=r"SkyConfig\.n"):
        jobs.launch("sky", {"n": 0, "size": 64}, workspace=jws)
    with pytest.raises(ConfigError, match="unknown field"):
        jobs.launch("sky", {"n": 4, "colour": "red"}, workspace=jws)
    with pytest.raises(ConfigError, match="unknown job kind 'skyy'"):
        jobs.launch("skyy", {"n": 4}, workspace=jws)
    assert list(jws.runs.iterdir()) == []
    assert jobs.list_jobs(workspace=jws).empty


def test_sky_job_progresses_succeeds_and_shell_characters_stay_data(jws, tmp_path, monkeypatch):
    # If anything ran the path through a shell, `rm -rf ~` would hit this HOME.
    home = tmp_path / "home"
    home.mkdir()
    (home / "sentinel").write_text("still here")
    monkeypatch.setenv("HOME", str(home))
    out = jws.root / '"; rm -rf ~ $(x)'
    job_id = jobs.launch("sky", {"n": 64, "size": 64, "seed": 0, "out": str(out)}, workspace=jws)
    assert job_id.split("-")[2] == "sky" and (jws.runs / job_id / "config.json").exists()
    state = wait_for(job_id, jws, ended, timeout=90)
    assert state["status"] == "succeeded", jobs.tail_log(job_id, 40, workspace=jws)
    assert state["exit_code"] == 0
    assert state["step"] == state["total"] and state["total"] > 0
    events = jobs.events(job_id, workspace=jws)
    assert len(events) >= 2 and events["step"].is_monotonic_increasing
    saved = json.loads((jws.runs / job_id / "config.json").read_text())
    assert saved["out"] == str(out)
    assert (out / "catalog.csv").exists()
    assert (home / "sentinel").read_text() == "still here"
    table = jobs.list_jobs(workspace=jws)
    assert table.loc[0, "id"] == job_id and table.loc[0, "status"] == "succeeded"
    with pytest.raises(jobs.JobError, match="is succeeded; only failed, cancelled or interrupted"):
        jobs.resume(job_id, workspace=jws)


def test_k1_queue_cancel_within_grace_and_the_next_job_starts(jws, tmp_path):
    first = jobs.launch("sky", {**SLOW_SKY, "out": str(jws.root / "a")}, workspace=jws)
    second = jobs.launch("sky", {"n": 16, "size": 32, "out": str(jws.root / "b")}, workspace=jws)
    third = jobs.launch("sky", {"n": 16, "size": 32, "out": str(jws.root / "c")}, workspace=jws)
    # K = 1: the first runs, the others wait in launch order.
    assert jobs.status(first, workspace=jws)["status"] == "running"
    assert jobs.status(second, workspace=jws)["queue_position"] == 1
    assert jobs.status(third, workspace=jws)["queue_position"] == 2
    assert jobs.queue_state(workspace=jws)["full"]
    assert jobs.cancel(third, workspace=jws) == "cancelled"  # queued: never starts
    wait_for(first, jws, stepping)
    t0 = time.monotonic()
    jobs.cancel(first, workspace=jws)
    state = wait_for(first, jws, ended, timeout=3 * GRACE_S)
    assert time.monotonic() - t0 < GRACE_S
    assert state["status"] == "cancelled"
    assert state["exit_code"] == 130  # the task saw STOP and stopped by itself
    assert not (jws.root / "a").exists()  # nothing half-written
    # The freed slot goes to the queued job, which runs to the end by itself.
    done = wait_for(second, jws, ended, timeout=90)
    assert done["status"] == "succeeded"
    assert done["started_at"] >= state["ended_at"]
    assert jobs.status(third, workspace=jws)["pid"] is None and not (jws.root / "c").exists()


def test_kill_9_of_a_job_gives_interrupted_after_reconcile(jws, tmp_path):
    job_id = jobs.launch("sky", {**SLOW_SKY, "out": str(jws.root / "a")}, workspace=jws)
    state = wait_for(job_id, jws, stepping)
    # Frozen, the task cannot finish on a fast machine while the test looks (a
    # task that ended by itself after its supervisor died reads as lost too).
    os.killpg(state["pid"], signal.SIGSTOP)
    # The supervisor dies first: the task lives on, so the job is not lost yet...
    os.killpg(state["supervisor_pid"], signal.SIGKILL)
    time.sleep(0.5)
    assert jobs.reconcile(jws) == []
    # ...then the task too (a crash, the OOM killer, a reboot): nobody records the end...
    os.killpg(state["pid"], signal.SIGKILL)
    assert store.get_row(store.engine_for(jws), job_id)["status"] == "running"
    # ...until reconcile sees the processes are gone (pid, host and start time).
    deadline = time.monotonic() + 10
    while job_id not in jobs.reconcile(jws):
        assert time.monotonic() < deadline, "reconcile never marked the job interrupted"
        time.sleep(0.1)
    state = jobs.status(job_id, workspace=jws)
    assert state["status"] == "interrupted" and state["step"] > 0  # progress kept
    assert jobs.reconcile(jws) == []


def test_several_processes_run_through_accelerate_launch():
    row = {"kind": "finetune", "run_dir": "/r", "num_processes": 2}
    argv = task_command(row)
    assert argv[1:3] == ["-m", "accelerate.commands.launch"]
    assert argv[argv.index("--num_processes") + 1] == "2"
    assert argv[-5:] == ["-m", "galaxysd_core.cli", "finetune", "--config", "/r/config.json"]
    single = task_command({**row, "num_processes": 1})
    assert single[1:] == ["-m", "galaxysd_core.cli", "finetune", "--config", "/r/config.json"]
    # Without NVIDIA GPUs the workers must form a CPU (gloo) group, not train alone.
    env = task_env(row, {})
    assert env.get("ACCELERATE_USE_CPU") == (None if nvidia_gpu_present() else "true")
    assert "ACCELERATE_USE_CPU" not in task_env({**row, "num_processes": 1}, {})


def test_exit_codes_map_to_statuses():
    assert outcome(0, stop_requested=True) == "succeeded"
    assert outcome(130, stop_requested=False) == "cancelled"
    assert outcome(-15, stop_requested=True) == "cancelled"
    assert outcome(-9, stop_requested=False) == "interrupted"
    assert outcome(1, stop_requested=False) == "failed"


def test_unknown_job_and_bad_requests_name_the_value(jws, tmp_path, monkeypatch):
    with pytest.raises(jobs.JobError, match="no job with id 'nope'"):
        jobs.status("nope", workspace=jws)
    with pytest.raises(jobs.JobError, match="n must be >= 1, got 0"):
        jobs.tail_log("nope", 0, workspace=jws)
    with pytest.raises(ConfigError, match="GALAXYSD_MAX_HEAVY_JOBS must be an integer >= 1"):
        monkeypatch.setenv("GALAXYSD_MAX_HEAVY_JOBS", "0")
        jobs.launch("sky", {"n": 4, "out": str(jws.root / "s")}, workspace=jws)
    assert list(jws.runs.iterdir()) == []


@pytest.mark.postgres
def test_a_job_on_postgresql_succeeds_and_each_workspace_has_its_own_queue(
    jws, tmp_path, monkeypatch, request
):
    import sqlalchemy as sa

    pg_url = request.getfixturevalue("pg_url")
    name = f"jobs_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        url = sa.make_url(pg_url).set(database=name).render_as_string(hide_password=False)
        monkeypatch.setenv("GALAXYSD_DB_URL", url)
        other = jws.root.parent / "other-ws"
        busy = jobs.launch("sky", {**SLOW_SKY, "out": str(other / "a")}, workspace=other)
        job_id = jobs.launch(
            "sky", {"n": 16, "size": 32, "out": str(jws.root / "b")}, workspace=jws
        )
        # The other workspace's heavy job does not take this workspace's slot.
        assert jobs.status(job_id, workspace=jws)["status"] == "running"
        assert list(jobs.list_jobs(workspace=jws)["id"]) == [job_id]
        jobs.cancel(busy, workspace=other)
        state = wait_for(job_id, jws, ended, timeout=90)
        assert state["status"] == "succeeded" and state["step"] == 16
        assert wait_for(busy, other, ended, timeout=3 * GRACE_S)["status"] == "cancelled"
    finally:
        kill_leftovers(jws)
        monkeypatch.delenv("GALAXYSD_DB_URL")
        for engine in list(store._engines.values()):
            engine.dispose()
        store._engines.clear()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
        admin.dispose()


def test_jobs_cli_lists_and_names_an_unknown_job(jws, capsys):
    from galaxysd_core.cli import main

    assert main(["--workspace", str(jws.root), "jobs", "list"]) == 0
    assert "no jobs" in capsys.readouterr().out
    assert main(["--workspace", str(jws.root), "jobs", "status", "nope"]) == 2
    assert "no job with id 'nope'" in capsys.readouterr().err


def test_every_job_kind_has_its_config_class_and_cli_words():
    from galaxysd_core.cli import build_parser

    parser = build_parser()
    for name, row in jobs.KINDS.items():
        assert row.load_config_class().kind == name
        args = parser.parse_args([*row.words, "--config", "runs/x/config.json"])
        assert args.config == "runs/x/config.json"
