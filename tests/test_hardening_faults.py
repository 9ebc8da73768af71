"""Environment faults are one-line errors naming the path: full disk, read-only workspace,
missing database folder; failed jobs record their reason. (Model folders that are not
pipelines: ``test_diffusion.test_load_rejects_missing_and_foreign_folders``.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from galaxysd_core.atomic import atomic_dir, atomic_write_text
from galaxysd_core.errors import EnvironmentFaultError, GalaxySDError

CLI = [sys.executable, "-m", "galaxysd_core.cli"]


def _mount(args: list[str], where: Path) -> None:
    done = subprocess.run(["mount", *args, str(where)], capture_output=True, text=True)
    if done.returncode:
        pytest.skip(f"cannot mount here (needs root): {done.stderr.strip()}")


@pytest.fixture
def full_disk(tmp_path):
    """A 2 MB tmpfs, filled up to its last few KB."""
    where = tmp_path / "small"
    where.mkdir()
    _mount(["-t", "tmpfs", "-o", "size=2m", "tmpfs"], where)
    yield where
    subprocess.run(["umount", "-l", str(where)], check=False)


@pytest.fixture
def read_only(tmp_path):
    """A read-only view of ``tmp_path/rw`` (a bind mount); yields (writable, read-only)."""
    rw, ro = tmp_path / "rw", tmp_path / "ro"
    rw.mkdir()
    ro.mkdir()
    _mount(["--bind", str(rw)], ro)
    subprocess.run(["mount", "-o", "remount,ro,bind", str(ro)], check=True)
    yield rw, ro
    subprocess.run(["umount", "-l", str(ro)], check=False)


def _fill(folder: Path) -> None:
    with (folder / "ballast").open("wb") as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
        except OSError:
            pass


def test_a_full_disk_during_a_checkpoint_is_one_error_and_leaves_nothing(full_disk):
    import torch

    _fill(full_disk)
    final = full_disk / "checkpoints" / "checkpoint-5"
    fault = pytest.raises(
        EnvironmentFaultError, match=r"no space left on the disk of .*checkpoint-5"
    )
    with fault, atomic_dir(final) as tmp:
        torch.save({"w": torch.zeros(100_000)}, tmp / "training_state.pt")
    assert not final.exists()
    assert not list((full_disk / "checkpoints").iterdir())
    with pytest.raises(EnvironmentFaultError, match="no space left"):
        atomic_write_text(full_disk / "state.json", "x" * 100_000)
    assert sorted(p.name for p in full_disk.iterdir()) == ["ballast", "checkpoints"]


def test_a_full_disk_during_a_vote_is_one_error_and_no_partial_vote(full_disk):
    from galaxysd_core.review import ReviewStore

    store = ReviewStore(f"sqlite:///{full_disk / 'votes.db'}")
    store.add_reviewer("ann", "passphrase-ann")
    round_id = store.open_round("c", [{"object_id": "1", "image": "1.png"}])
    session = store.sign_in("ann", "passphrase-ann")
    cid = int(store.candidates(round_id)["candidate_id"][0])
    _fill(full_disk)
    last = None
    with pytest.raises(EnvironmentFaultError, match=r"no space left for the database .*votes\.db"):
        # Enough history rows to need a new page whatever the slack.
        for i in range(4000):
            store.vote(session, cid, ("yes", "no")[i % 2])
            last = ("yes", "no")[i % 2]
    (full_disk / "ballast").unlink()
    votes = store.votes(round_id)
    # The failed vote left nothing: the current vote is the last one that succeeded.
    assert votes["label"].tolist() == ([] if last is None else [last])
    store.vote(session, cid, "unsure")  # with space again, voting works
    assert store.votes(round_id)["label"].tolist() == ["unsure"]
    store.dispose()


def test_jobs_and_the_review_store_read_a_read_only_workspace(read_only, monkeypatch):
    from galaxysd_core import jobs
    from galaxysd_core.jobs import store as job_store
    from galaxysd_core.review import ReviewStore

    rw, ro = read_only
    monkeypatch.delenv("GALAXYSD_DB_URL", raising=False)
    review = ReviewStore(f"sqlite:///{rw / 'galaxysd.db'}")
    review.add_reviewer("ann", "passphrase-ann")
    review.open_round("c", [{"object_id": "1", "image": "a.png"}])
    review.dispose()
    assert jobs.list_jobs(workspace=rw).empty
    for engine in list(job_store._engines.values()):
        engine.dispose()
    job_store._engines.clear()
    listed = subprocess.run(
        [*CLI, "--workspace", str(ro), "jobs", "list"], capture_output=True, text=True, timeout=60
    )
    assert listed.returncode == 0 and listed.stdout.strip() == "no jobs", listed.stderr
    with pytest.raises(
        EnvironmentFaultError, match=r"cannot write .*ro/runs: the folder is read-only"
    ):
        jobs.reconcile(ro)
    reader = ReviewStore(f"sqlite:///{ro / 'galaxysd.db'}")
    assert reader.rounds()["campaign"].tolist() == ["c"]
    with pytest.raises(EnvironmentFaultError, match=r"cannot write the database .*ro/galaxysd\.db"):
        reader.sign_in("ann", "passphrase-ann")
    reader.dispose()
    summary = subprocess.run(
        [*CLI, "review", "--db", f"sqlite:///{ro / 'galaxysd.db'}", "summary", "--round", "1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert summary.returncode == 0 and json.loads(summary.stdout)["candidates"] == 1


def test_a_database_url_in_a_missing_folder_is_one_line(tmp_path):
    url = f"sqlite:///{tmp_path / 'nope' / 'x.db'}"
    done = subprocess.run(
        [*CLI, "jobs", "list"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**__import__("os").environ, "GALAXYSD_DB_URL": url},
    )
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"galaxysd: error: the database folder {tmp_path / 'nope'} does not exist "
        f"(database {tmp_path / 'nope' / 'x.db'}): create it or fix GALAXYSD_DB_URL"
    )
    assert not (tmp_path / "nope").exists()


def test_a_failed_job_records_its_one_line_reason(ws, monkeypatch):
    """The Training page shows ``status()["error"]``: the task's own one-line message."""
    from galaxysd_core import jobs
    from tests.test_jobs import ended, wait_for

    monkeypatch.setenv("GALAXYSD_MAX_HEAVY_JOBS", "1")
    sky = ws.sky / "taken"
    sky.mkdir()
    (sky / "keep.txt").write_text("not a sky")
    job = jobs.launch("sky", {"n": 4, "size": 16, "out": "sky/taken"}, workspace=ws)
    state = wait_for(job, ws, ended, timeout=120)
    assert state["status"] == "failed"
    assert "taken" in state["error"] and "not empty" in state["error"], state["error"]
    assert "\n" not in state["error"] and "Traceback" not in state["error"]
    listed = jobs.list_jobs(workspace=ws)
    assert listed.loc[0, "error"] == state["error"]
    assert (sky / "keep.txt").read_text() == "not a sky"
    assert isinstance(EnvironmentFaultError("x"), GalaxySDError)
