"""Launch, queue, cancel, resume and reconcile background jobs.

Who records what
----------------
``launch`` validates the config, writes ``runs/<id>/config.json``, inserts a
``queued`` row and calls :func:`dispatch`. ``dispatch`` (under a lock file)
starts queued jobs while fewer than K heavy jobs run: it marks the row
``running`` and starts ``python -m galaxysd_core.jobs.supervise <id>`` in a new
session, detached from the caller. That supervisor starts the task's CLI
command as its own child (own process group, output to ``log.txt``), records
the child's pid, host and start time, watches the ``STOP`` file, records the
exit status, and finally calls :func:`dispatch` itself so the next queued job
starts. The app that launched the job may be gone by then: nothing depends on
it. If the supervisor and the task both die (a reboot, ``kill -9`` of both),
:func:`reconcile` marks the row ``interrupted``; the progress file stays.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psutil

from galaxysd_core.atomic import atomic_write_text
from galaxysd_core.config import TaskConfig
from galaxysd_core.errors import ConfigError
from galaxysd_core.jobs import store
from galaxysd_core.jobs.registry import job_kind
from galaxysd_core.paths import Workspace
from galaxysd_core.progress import REASON_FILE, STOP_FILE

log = logging.getLogger(__name__)

MAX_HEAVY_ENV = "GALAXYSD_MAX_HEAVY_JOBS"
GRACE_ENV = "GALAXYSD_JOB_GRACE_S"
CONFIG_FILE = "config.json"
LOG_FILE = "log.txt"
DEFAULT_GRACE_S = 30.0  # long enough for a training run to write its stop checkpoint


def max_heavy_jobs() -> int:
    """K, the number of heavy jobs allowed at once (``$GALAXYSD_MAX_HEAVY_JOBS``, default 1)."""
    return int(_env_number(MAX_HEAVY_ENV, 1, int, minimum=1, unit="an integer >= 1"))


def grace_seconds() -> float:
    """Seconds a cancelled task gets to stop by itself before SIGTERM (and again before SIGKILL)."""
    return _env_number(
        GRACE_ENV, DEFAULT_GRACE_S, float, minimum=0, unit="a number of seconds >= 0"
    )


def _env_number(name: str, default: float, kind: type, *, minimum: float, unit: str) -> float:
    """An environment setting read as ``kind``; ``ConfigError`` names it when it is bad."""
    raw = os.environ.get(name, str(default))
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(f"{name} must be {unit}, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be {unit}, got {raw!r}")
    return value


def validate_config(kind: str, config: TaskConfig | dict[str, Any]) -> TaskConfig:
    """Build and validate the config of a job kind without starting anything.

    Parameters
    ----------
    kind : str
        A job kind of :data:`galaxysd_core.jobs.registry.KINDS`.
    config : TaskConfig or dict
        The settings; a dict goes through ``from_dict`` (unknown keys, types, values).

    Returns
    -------
    TaskConfig
        The validated config of the kind's class.

    Raises
    ------
    ConfigError
        On an unknown kind or a bad config.
    KindUnavailableError
        If the kind's config class cannot be imported.
    """
    cls = job_kind(kind).load_config_class()
    data = config.to_dict() if isinstance(config, TaskConfig) else config
    if not isinstance(data, dict):
        raise ConfigError(f"config of a {kind!r} job must be a mapping, got {type(data).__name__}")
    return cls.from_dict(dict(data))


def new_job_id(kind: str) -> str:
    """A time-sortable id naming the kind, e.g. ``20261128-153012-sky-ab12``."""
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + f"-{kind}-{secrets.token_hex(2)}"


def launch(
    kind: str,
    config: TaskConfig | dict[str, Any],
    *,
    workspace: Workspace | str | os.PathLike[str] | None = None,
) -> str:
    """Validate a task config and queue it as a background job; start it if a slot is free.

    Parameters
    ----------
    kind : str
        The job kind (``sky``, ``finetune``, ...; see CONTRIBUTING.md).
    config : TaskConfig or dict
        Its settings. A field ``output_dir`` left ``None`` becomes the run folder;
        a field ``num_processes`` > 1 runs it through ``accelerate launch``.
    workspace : Workspace or path, optional
        Default ``$GALAXYSD_HOME`` (or ``./workspace``).

    Returns
    -------
    str
        The job id, also the name of its folder ``runs/<id>``.

    Raises
    ------
    ConfigError
        If the kind or the config is bad; nothing is written or started then.
    OutsideWorkspaceError
        If a path field resolves outside the workspace (relative paths are
        taken from the workspace; ``..``, ``~`` and links are followed first);
        nothing is written or started then.
    """
    spec = job_kind(kind)
    ws = store.resolve_workspace(workspace)
    # Paths are workspace-relative and may not leave it: checked before anything is written.
    cfg = validate_config(kind, config).confined(ws.root)
    max_heavy_jobs()  # a bad queue setting fails here, before anything is written
    grace_seconds()
    ws.ensure()
    engine = store.engine_for(ws)
    job_id = new_job_id(kind)
    run_dir = ws.run_dir(job_id)
    run_dir.mkdir(parents=True)
    try:
        if getattr(cfg, "output_dir", False) is None:
            cfg = type(cfg).from_dict({**cfg.to_dict(), "output_dir": str(run_dir)})
        cfg.save(run_dir / CONFIG_FILE)
        processes = getattr(cfg, "num_processes", None) or 1
        with engine.begin() as conn:
            conn.execute(
                store.jobs_table.insert().values(
                    id=job_id,
                    kind=kind,
                    run_dir=str(run_dir),
                    status=store.QUEUED,
                    heavy=spec.heavy,
                    num_processes=int(processes),
                    created_at=store.now(),
                )
            )
    except BaseException:
        shutil.rmtree(run_dir, ignore_errors=True)  # no run folder without its row
        raise
    log.info("job %s queued (%s)", job_id, kind)
    dispatch(ws)
    return job_id


def dispatch(workspace: Workspace | str | os.PathLike[str] | None = None) -> list[str]:
    """Start queued jobs, oldest first, while heavy slots are free.

    Returns
    -------
    list of str
        The ids started by this call.
    """
    ws = store.resolve_workspace(workspace)
    engine = store.engine_for(ws)
    limit = max_heavy_jobs()
    started = []
    with store.queue_lock(ws):
        running = store.rows(engine, statuses=(store.RUNNING,), ws=ws)
        busy = sum(1 for r in running if r["heavy"])
        for row in store.rows(engine, statuses=(store.QUEUED,), ws=ws):
            if row["heavy"] and busy >= limit:
                continue
            claimed = store.update_row(
                engine,
                row["id"],
                only_if=(store.QUEUED,),
                status=store.RUNNING,
                started_at=store.now(),
                host=store.hostname(),
            )
            if not claimed:
                continue
            busy += bool(row["heavy"])
            _start_supervisor(ws, engine, row)
            started.append(row["id"])
    return started


def _start_supervisor(ws: Workspace, engine: Any, row: dict[str, Any]) -> None:
    run_dir = Path(row["run_dir"])
    env = {**os.environ, "GALAXYSD_HOME": str(ws.root), "PYTHONUNBUFFERED": "1"}
    try:
        with (run_dir / LOG_FILE).open("ab") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "galaxysd_core.jobs.supervise", row["id"]],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,  # survives the app's Ctrl-C and exit
            )
    except OSError as exc:
        store.update_row(
            engine, row["id"], status=store.FAILED, ended_at=store.now(), error=str(exc)
        )
        return
    store.update_row(
        engine,
        row["id"],
        supervisor_pid=proc.pid,
        supervisor_started=process_start_time(proc.pid),
    )
    # Reap it when it ends so a long-lived app does not collect zombies.
    threading.Thread(target=proc.wait, daemon=True, name=f"reap-{row['id']}").start()


def process_start_time(pid: int) -> float | None:
    """The start time of ``pid`` (seconds since the epoch), or None if it is gone."""
    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return None


def process_alive(pid: int | None, started: float | None) -> bool:
    """Whether ``pid`` runs and is the process that started at ``started`` (no pid reuse)."""
    if not pid:
        return False
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        return started is None or abs(proc.create_time() - started) < 1.0
    except psutil.Error:
        return False


def job_alive(row: dict[str, Any]) -> bool:
    """Whether a job row's supervisor or task process still runs (on this machine)."""
    return process_alive(row["supervisor_pid"], row["supervisor_started"]) or process_alive(
        row["pid"], row["pid_started"]
    )


def reconcile(workspace: Workspace | str | os.PathLike[str] | None = None) -> list[str]:
    """Mark running jobs of this machine whose processes are gone as ``interrupted``.

    Their run folder and progress stay, so :func:`resume` can continue them.
    Queued jobs that now fit are started.

    Returns
    -------
    list of str
        The ids marked interrupted.
    """
    ws = store.resolve_workspace(workspace)
    engine = store.engine_for(ws)
    host = store.hostname()
    lost = []
    with store.queue_lock(ws):
        # Under the lock no dispatcher is between claiming a row and recording
        # its supervisor, so a running row without live processes is truly lost.
        for row in store.rows(engine, statuses=(store.RUNNING,)):
            if (
                row["host"] == host
                and not job_alive(row)
                and store.update_row(
                    engine,
                    row["id"],
                    only_if=(store.RUNNING,),
                    status=store.INTERRUPTED,
                    ended_at=store.now(),
                    error="its processes were gone (killed, crashed or machine restarted)",
                )
            ):
                log.warning("job %s interrupted: its processes are gone", row["id"])
                lost.append(row["id"])
    dispatch(ws)
    return lost


def cancel(
    job_id: str,
    *,
    workspace: Workspace | str | os.PathLike[str] | None = None,
    wait: bool = False,
    timeout: float | None = None,
) -> str:
    """Stop a job: queued ones at once; running ones by ``STOP`` file, then signals.

    The task sees ``STOP`` at its next ``progress.check_stop()`` and exits (130).
    The supervisor sends SIGTERM to the task's process group after the grace
    period (``$GALAXYSD_JOB_GRACE_S``, default 30 s) and SIGKILL after a second
    one, and records ``cancelled``.

    Parameters
    ----------
    job_id : str
    workspace : Workspace or path, optional
    wait : bool, default False
        Block until the job has ended.
    timeout : float, optional
        Longest wait in seconds (default: twice the grace period plus 30 s).

    Returns
    -------
    str
        The job's status after the request (``running`` while it is stopping).
    """
    ws = store.resolve_workspace(workspace)
    engine = store.engine_for(ws)
    row = store.get_row(engine, job_id)
    if row["status"] == store.QUEUED and store.update_row(
        engine, job_id, only_if=(store.QUEUED,), status=store.CANCELLED, ended_at=store.now()
    ):
        return store.CANCELLED
    row = store.get_row(engine, job_id)
    if row["status"] != store.RUNNING:
        return row["status"]
    atomic_write_text(Path(row["run_dir"]) / STOP_FILE, f"requested at {store.now().isoformat()}\n")
    if (
        not process_alive(row["supervisor_pid"], row["supervisor_started"])
        and row["host"] == store.hostname()
    ):
        # Nobody watches the task (its supervisor died): stop it from here.
        if process_alive(row["pid"], row["pid_started"]):
            stop_group(row["pid"], row["pid_started"], grace=grace_seconds())
        store.update_row(
            engine, job_id, only_if=(store.RUNNING,), status=store.CANCELLED, ended_at=store.now()
        )
        dispatch(ws)
    if wait:
        limit = timeout if timeout is not None else 2 * grace_seconds() + 30
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            status = store.get_row(engine, job_id)["status"]
            if status not in store.ACTIVE:
                return status
            time.sleep(0.2)
    return store.get_row(engine, job_id)["status"]


def stop_group(pid: int, started: float | None, *, grace: float, poll: float = 0.2) -> None:
    """Wait ``grace`` s for a process to end, then SIGTERM its group, then SIGKILL it."""
    for sig in (None, signal.SIGTERM, signal.SIGKILL):
        if sig is not None and process_alive(pid, started):
            try:
                os.killpg(pid, sig)
            except (ProcessLookupError, PermissionError):
                return
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and process_alive(pid, started):
            time.sleep(poll)
        if not process_alive(pid, started):
            return


def resume(job_id: str, *, workspace: Workspace | str | os.PathLike[str] | None = None) -> str:
    """Queue an ended job again in the same run folder with ``resume="latest"``.

    Returns
    -------
    str
        The same job id.

    Raises
    ------
    JobError
        If the job is queued, running or succeeded.
    ConfigError
        If its kind has no ``resume`` field.
    """
    ws = store.resolve_workspace(workspace)
    engine = store.engine_for(ws)
    row = store.get_row(engine, job_id)
    if row["status"] not in (store.FAILED, store.CANCELLED, store.INTERRUPTED):
        raise store.JobError(
            f"job {job_id} is {row['status']}; only failed, cancelled or interrupted jobs resume"
        )
    run_dir = Path(row["run_dir"])
    cls = job_kind(row["kind"]).load_config_class()
    cfg = cls.load(run_dir / CONFIG_FILE)
    if not hasattr(cfg, "resume"):
        raise ConfigError(f"jobs of kind {row['kind']!r} cannot resume (no 'resume' field)")
    cls.from_dict({**cfg.to_dict(), "resume": "latest"}).save(run_dir / CONFIG_FILE)
    (run_dir / STOP_FILE).unlink(missing_ok=True)
    (run_dir / REASON_FILE).unlink(missing_ok=True)
    store.update_row(
        engine,
        job_id,
        only_if=(row["status"],),
        status=store.QUEUED,
        pid=None,
        pid_started=None,
        supervisor_pid=None,
        supervisor_started=None,
        exit_code=None,
        error=None,
        started_at=None,
        ended_at=None,
    )
    dispatch(ws)
    return job_id


def delete(job_id: str, *, workspace: Workspace | str | os.PathLike[str] | None = None) -> None:
    """Remove an ended job's row and run folder.

    Raises
    ------
    JobError
        If the job is queued or running (cancel it first).
    """
    ws = store.resolve_workspace(workspace)
    engine = store.engine_for(ws)
    row = store.get_row(engine, job_id)
    if row["status"] in store.ACTIVE:
        raise store.JobError(f"job {job_id} is {row['status']}; cancel it before deleting")
    shutil.rmtree(row["run_dir"], ignore_errors=True)
    with engine.begin() as conn:
        conn.execute(store.jobs_table.delete().where(store.jobs_table.c.id == job_id))
