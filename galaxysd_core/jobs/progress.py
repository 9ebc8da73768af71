"""Former home of :mod:`galaxysd_core.progress` (every domain reports progress, not only jobs)."""

from galaxysd_core.progress import (
    PROGRESS_FILE,
    REASON_FILE,
    RUN_DIR_ENV,
    STOP_FILE,
    JsonlProgress,
    Progress,
    TqdmProgress,
    progress_for_cli,
    read_events,
    run_folder,
)

__all__ = [
    "PROGRESS_FILE",
    "REASON_FILE",
    "RUN_DIR_ENV",
    "STOP_FILE",
    "JsonlProgress",
    "Progress",
    "TqdmProgress",
    "progress_for_cli",
    "read_events",
    "run_folder",
]
