"""Nothing left behind: kill -9 of a sky build leaves no process, and no temporary after a rerun."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from galaxysd_core.atomic import atomic_dir, clean, stale_temporaries

CLI = [sys.executable, "-m", "galaxysd_core.cli"]


def _wait(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.mark.slow
def test_kill_9_of_a_sky_build_leaves_no_worker_and_the_rerun_no_temporary(ws):
    out = ws.sky / "k"
    argv = [*CLI, "sky", "--n", "3000", "--size", "64", "--workers", "2", "--out", str(out)]
    build = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        parent = psutil.Process(build.pid)
        tmp = []

        def rendering():
            tmp[:] = list(ws.sky.glob(".k.*.tmp"))
            images = tmp[0] / "images" if tmp else None
            return (
                images is not None
                and images.is_dir()
                and any(images.iterdir())
                and len(parent.children()) >= 2
            )

        _wait(rendering, 120, "the render workers")
        workers = parent.children(recursive=True)
        build.send_signal(signal.SIGKILL)
        build.wait(timeout=10)
        _gone, alive = psutil.wait_procs(workers, timeout=10)
        assert not alive, f"workers outlived their parent: {alive}"
    finally:
        if build.poll() is None:
            build.kill()
    # The killed build's temporary is a leftover: listed, kept by a dry run ...
    assert tmp and tmp[0].is_dir()
    listed = subprocess.run(
        [*CLI, "clean", "--dry-run"], capture_output=True, text=True, timeout=60, check=True
    )
    assert str(tmp[0]) in listed.stdout and "would remove 1 leftover(s)" in listed.stdout
    assert tmp[0].is_dir()
    # ... and swept by the next build of the same output.
    subprocess.run([*argv[:4], "--n", "80", *argv[6:]], timeout=300, check=True)
    assert (out / "catalog.csv").is_file()
    assert not list(ws.root.rglob("*.tmp"))
    assert all(p.name != ".k.old" for p in ws.sky.iterdir())


def test_clean_removes_leftovers_and_keeps_temporaries_being_written(ws):
    dead = ws.models / ".m.abcd1234.tmp"
    (dead / "unet").mkdir(parents=True)
    (dead / "unet" / "w.bin").write_bytes(b"x" * 1000)
    stray = ws.runs / ".state.json.zz_9abcd.tmp"
    stray.write_text("{}")
    with atomic_dir(ws.datasets / "busy") as live:
        (live / "a").write_text("being written")
        assert stale_temporaries(ws.root) == sorted([dead, stray])
        found = clean(ws.root, dry_run=True)
        assert dict(found) == {dead: 1000, stray: 2} and dead.exists()
        done = subprocess.run([*CLI, "clean"], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0 and "removed 2 leftover(s)" in done.stdout, done.stdout
        assert not dead.exists() and not stray.exists() and live.is_dir()
    assert (ws.datasets / "busy" / "a").is_file()
    again = subprocess.run([*CLI, "clean"], capture_output=True, text=True, timeout=60)
    assert again.stdout.strip() == "nothing to clean"


def test_a_rerun_sweeps_only_its_own_leftovers(ws):
    mine = ws.sky / ".s.aaaa1111.tmp"
    other = ws.sky / ".t.bbbb2222.tmp"
    for folder in (mine, other):
        folder.mkdir()
    with atomic_dir(ws.sky / "s") as tmp:
        (tmp / "x").write_text("1")
    assert not mine.exists() and other.exists()
    assert os.listdir(ws.sky / "s") == ["x"]
