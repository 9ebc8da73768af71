"""``python -m galaxysd_core.jobs.supervise <job_id>``: run one job and record its end.

Started by :func:`galaxysd_core.jobs.runner.dispatch` in its own session, so it
outlives the app that launched the job. It starts the task's CLI command as
its own child (an argument list, never a shell; a new process group so cancel
can signal the task and its workers without hitting the supervisor), records
pid, host and start time, enforces a cancel request, and finally records the
exit code and status and starts the next queued job.

Exit code -> status: 0 succeeded; a stop was requested (``STOP`` file, or the
task's own exit code 130) -> cancelled; killed by a signal nobody asked for
(OOM killer, ``kill -9``) -> interrupted, so it can resume; else failed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from galaxysd_core.jobs import runner, store
from galaxysd_core.jobs.registry import job_kind
from galaxysd_core.launch import cli_command, cli_env
from galaxysd_core.progress import REASON_FILE, RUN_DIR_ENV, STOP_FILE

log = logging.getLogger("galaxysd_core.jobs.supervise")
POLL_S = 0.2
QUICK_GRACE_S = 2.0  # see stop_grace


def task_command(row: dict[str, Any]) -> list[str]:
    """The argument list that runs a job's task from its saved ``config.json``.

    One process, or ``num_processes`` under ``accelerate launch``
    (:func:`galaxysd_core.launch.cli_command`).
    """
    config = Path(row["run_dir"]) / runner.CONFIG_FILE
    return cli_command(job_kind(row["kind"]).words, config, int(row["num_processes"] or 1))


def task_env(row: dict[str, Any], base: dict[str, str]) -> dict[str, str]:
    """The task's environment: ``base`` plus what its processes need (:func:`cli_env`)."""
    return cli_env(int(row["num_processes"] or 1), base)


def outcome(exit_code: int, *, stop_requested: bool) -> str:
    """The status a job ends in, from its exit code (see the module docstring)."""
    if exit_code == 0:
        return store.SUCCEEDED
    if stop_requested or exit_code == 130:
        return store.CANCELLED
    if exit_code < 0:
        return store.INTERRUPTED
    return store.FAILED


def supervise(job_id: str) -> int:
    """Run job ``job_id`` (already marked running) to its end; returns the task's exit code."""
    ws = store.resolve_workspace(None)
    engine = store.engine_for(ws)
    row = store.get_row(engine, job_id)
    run_dir = Path(row["run_dir"])
    env = task_env(row, {**os.environ, RUN_DIR_ENV: str(run_dir), "GALAXYSD_HOME": str(ws.root)})
    argv = task_command(row)
    log.info("job %s: starting %s", job_id, argv)
    try:
        with (run_dir / runner.LOG_FILE).open("ab") as out:
            child = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
    except OSError as exc:
        store.update_row(
            engine, job_id, status=store.FAILED, ended_at=store.now(), error=f"cannot start: {exc}"
        )
        runner.dispatch(ws)
        return 127
    store.update_row(
        engine, job_id, pid=child.pid, pid_started=runner.process_start_time(child.pid)
    )

    def forward(signum: int, _frame: Any) -> None:
        # A shutdown signal to the supervisor reaches the task too.
        _signal_group(child.pid, signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    exit_code = _wait(child, run_dir / STOP_FILE, grace=stop_grace(row["kind"]))
    _signal_group(child.pid, signal.SIGKILL)  # stragglers of a failed multi-process run
    stop_requested = (run_dir / STOP_FILE).exists()
    status = outcome(exit_code, stop_requested=stop_requested)
    store.update_row(
        engine,
        job_id,
        only_if=(store.RUNNING,),
        status=status,
        exit_code=exit_code,
        ended_at=store.now(),
        error=failure_reason(run_dir) if status == store.FAILED else None,
    )
    log.info("job %s: %s (exit code %s)", job_id, status, exit_code)
    runner.dispatch(ws)
    return exit_code


def failure_reason(run_dir: Path, *, limit: int = 500) -> str:
    """The one-line reason a job failed, for the job table and the Training page.

    The task's own ``galaxysd: error:`` message (``error.txt``, written by the
    CLI) when there is one; otherwise the last line of ``log.txt`` (for a crash,
    the exception line of its traceback).
    """
    lines: list[str] = []
    for name in (REASON_FILE, runner.LOG_FILE):
        path = run_dir / name
        try:
            with path.open("rb") as handle:
                handle.seek(max(0, path.stat().st_size - 8192))
                text = handle.read().decode("utf-8", errors="replace")
        except OSError:
            continue
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        if lines:
            break
    reason = lines[-1] if lines else "the task failed without a message; see log.txt"
    return reason if len(reason) <= limit else reason[: limit - 3] + "..."


def stop_grace(kind: str) -> float:
    """Seconds a cancelled task of ``kind`` gets to stop by itself before SIGTERM.

    Kinds that resume (a ``resume`` field) write a stop checkpoint and get the
    full grace period; the others have nothing to save, so a cancel takes
    effect within ``QUICK_GRACE_S`` even when their loop seldom checks for it.
    """
    grace = runner.grace_seconds()
    if "resume" in job_kind(kind).load_config_class().__dataclass_fields__:
        return grace
    return min(grace, QUICK_GRACE_S)


def _wait(child: subprocess.Popen[bytes], stop_file: Path, *, grace: float) -> int:
    """Wait for the child; after a stop request, SIGTERM then SIGKILL its group."""
    stop_seen: float | None = None
    sent: set[int] = set()
    while (code := child.poll()) is None:
        if stop_seen is None and stop_file.exists():
            stop_seen = time.monotonic()
            log.info("stop requested; waiting up to %.1f s before SIGTERM", grace)
        if stop_seen is not None:
            waited = time.monotonic() - stop_seen
            if waited > grace and signal.SIGTERM not in sent:
                log.info("task still running; sending SIGTERM to its process group")
                _signal_group(child.pid, signal.SIGTERM)
                sent.add(signal.SIGTERM)
            elif waited > 2 * grace and signal.SIGKILL not in sent:
                log.info("task still running; sending SIGKILL to its process group")
                _signal_group(child.pid, signal.SIGKILL)
                sent.add(signal.SIGKILL)
        time.sleep(POLL_S)
    return code


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``python -m galaxysd_core.jobs.supervise JOB_ID``."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        sys.stderr.write("usage: python -m galaxysd_core.jobs.supervise JOB_ID\n")
        return 2
    logging.basicConfig(
        level=logging.INFO, format="[galaxysd jobs %(asctime)s] %(message)s", stream=sys.stderr
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        supervise(args[0])
    except Exception:
        log.exception("supervisor of job %s failed", args[0])
        engine = store.engine_for(store.resolve_workspace(None))
        store.update_row(
            engine,
            args[0],
            only_if=(store.RUNNING,),
            status=store.FAILED,
            ended_at=store.now(),
            error="the job supervisor failed; see log.txt",
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
