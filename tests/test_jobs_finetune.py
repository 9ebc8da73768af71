"""A real tiny fine-tune as a background job on two processes (``accelerate launch``).

One run covers the issue's fine-tuning checks: two worker processes train,
progress is seen, cancel leaves a loadable checkpoint, resume continues from it
to the target step, and a prompt full of shell characters reaches the task as
data.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time

import psutil
import pytest
from _tiny import tiny_model_and_dataset

from galaxysd_core import jobs
from galaxysd_core.jobs import store

if "finetune" not in jobs.available_kinds():
    pytest.skip("galaxysd_core.diffusion.FinetuneConfig is not there", allow_module_level=True)

STEPS = 6
EVIL = '"; rm -rf ~ $(x)'


@pytest.fixture
def jws(ws, tmp_path, monkeypatch):
    """K = 1, a long grace, a HOME that `rm -rf ~` in a shell would empty; kills leftovers."""
    monkeypatch.setenv("GALAXYSD_MAX_HEAVY_JOBS", "1")
    monkeypatch.setenv("GALAXYSD_JOB_GRACE_S", "120")  # a stop checkpoint on a busy CPU
    home = tmp_path / "home"
    home.mkdir()
    (home / "sentinel").write_text("still here")
    monkeypatch.setenv("HOME", str(home))
    yield ws
    for row in store.rows(store.engine_for(ws), statuses=store.ACTIVE):
        for pid in (row["supervisor_pid"], row["pid"]):
            if pid:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pid, signal.SIGKILL)


@pytest.fixture
def tiny_setup(jws):
    """A tiny random pipeline (32 px) and an 8-image prepared dataset, in the workspace."""
    tags = ["smooth", "spiral"] * 4
    return tiny_model_and_dataset(jws.root, tags, tags=[[tag] for tag in tags], images="images")


def wait_for(job_id, ws, predicate, *, timeout):
    deadline = time.monotonic() + timeout
    while not predicate(state := jobs.status(job_id, workspace=ws)):
        assert time.monotonic() < deadline, f"{state}\n{jobs.tail_log(job_id, 40, workspace=ws)}"
        time.sleep(0.2)
    return state


def ended(state):
    return state["status"] not in ("queued", "running")


def workers(pid):
    """The task processes (``galaxysd_core.cli``) in a job's process tree."""
    with contextlib.suppress(psutil.Error):
        tree = psutil.Process(pid).children(recursive=True)
        return [p for p in tree if "galaxysd_core.cli" in " ".join(p.cmdline())]
    return []


@pytest.mark.slow
def test_two_process_finetune_job_cancels_to_a_checkpoint_and_resumes(jws, tiny_setup):
    model, data = tiny_setup
    config = {
        "model": str(model),
        "dataset": str(data),
        "steps": STEPS,
        "batch": 2,
        "warmup_steps": 2,
        "checkpoint_every": 3,
        "keep_last": 2,
        "validation_prompts": [EVIL],
        "validation_steps": 1,
        "num_processes": 2,
    }
    job_id = jobs.launch("finetune", config, workspace=jws)
    state = wait_for(job_id, jws, lambda s: (s["step"] or 0) >= 1, timeout=300)
    assert state["status"] == "running" and state["total"] == STEPS and state["loss"] is not None
    assert len(workers(state["pid"])) == 2  # accelerate launched two training processes
    jobs.cancel(job_id, workspace=jws)
    state = wait_for(job_id, jws, ended, timeout=240)
    assert state["status"] == "cancelled", jobs.tail_log(job_id, 40, workspace=jws)
    assert state["step"] < STEPS
    # The checkpoint the cancel left loads: weights, optimiser state, its step.
    from safetensors.torch import load_file

    latest = jobs.checkpoints(job_id, workspace=jws)[-1]
    meta = json.loads((latest / "state.json").read_text())
    assert meta["step"] == state["step"] and load_file(latest / "model_0.safetensors")
    # The shell-character prompt went config.json -> task -> checkpoint, intact.
    assert meta["config"]["validation_prompts"] == [EVIL]
    assert (jws.root.parent / "home" / "sentinel").exists()
    before = len(jobs.events(job_id, workspace=jws))
    jobs.resume(job_id, workspace=jws)
    state = wait_for(job_id, jws, ended, timeout=300)
    assert state["status"] == "succeeded", jobs.tail_log(job_id, 40, workspace=jws)
    assert state["step"] == state["total"] == STEPS
    # Continued from the checkpoint, not from step 0.
    steps = list(jobs.events(job_id, workspace=jws)["step"])
    assert steps[before] == meta["step"] + 1 and steps == sorted(steps)
    assert (jws.runs / job_id / "model" / "model_index.json").exists()
