"""Background jobs: every long task runs as a supervised subprocess.

``launch`` validates a task config, writes ``runs/<id>/config.json`` and queues
the job; at most K heavy jobs run at once (``$GALAXYSD_MAX_HEAVY_JOBS``,
default 1). ``status`` merges the job's database row with its last progress
event; ``cancel``, ``resume``, ``reconcile``, ``list_jobs`` and ``tail_log``
do what they say. See :mod:`galaxysd_core.jobs.runner` for who records what.

The names are imported lazily, so a task importing
``galaxysd_core.progress`` does not pay for SQLAlchemy and pandas.
"""

from __future__ import annotations

from galaxysd_core._lazy import lazy_package

__getattr__, __dir__, __all__ = lazy_package(
    __name__,
    runner="launch cancel resume reconcile dispatch delete validate_config max_heavy_jobs",
    views="status list_jobs tail_log events checkpoints queue_state can_resume end_reason",
    estimate="estimate Estimate",
    store="JobError",
    registry="KINDS JobKind KindUnavailableError available_kinds",
)
