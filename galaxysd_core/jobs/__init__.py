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

from galaxysd_core._lazy import lazy_exports

_EXPORTS = {
    "launch": "runner",
    "cancel": "runner",
    "resume": "runner",
    "reconcile": "runner",
    "dispatch": "runner",
    "delete": "runner",
    "validate_config": "runner",
    "max_heavy_jobs": "runner",
    "status": "views",
    "list_jobs": "views",
    "tail_log": "views",
    "events": "views",
    "checkpoints": "views",
    "queue_state": "views",
    "JobError": "store",
    "KINDS": "registry",
    "JobKind": "registry",
    "KindUnavailableError": "registry",
    "available_kinds": "registry",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
