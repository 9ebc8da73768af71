"""``checkpoint-N`` folders of a training run: find the latest, keep the last few."""

from __future__ import annotations

import logging
import re
import shutil
from pathlib import Path
from typing import Any

from galaxysd_core.errors import ConfigError

log = logging.getLogger(__name__)

_NAME = re.compile(r"^checkpoint-(\d+)$")


def list_checkpoints(run_dir: str | Path) -> list[Path]:
    """Complete ``checkpoint-N`` folders of a run, oldest first.

    Folders being written (atomic temporaries start with a dot) are ignored.
    """
    folder = Path(run_dir) / "checkpoints"
    if not folder.is_dir():
        return []
    found = [
        (int(m.group(1)), p) for p in folder.iterdir() if (m := _NAME.match(p.name)) and p.is_dir()
    ]
    return [p for _, p in sorted(found)]


def find_checkpoint(run_dir: str | Path, resume: str | None) -> Path | None:
    """Resolve ``resume``: None -> start fresh, ``"latest"`` -> the newest (or None), or a path.

    Raises
    ------
    ConfigError
        If ``resume`` names a folder that is not a checkpoint.
    """
    if resume is None:
        return None
    if resume == "latest":
        found = list_checkpoints(run_dir)
        if not found:
            log.info("no checkpoint in %s; starting from the beginning", run_dir)
        return found[-1] if found else None
    path = Path(resume)
    named = Path(run_dir) / "checkpoints" / resume
    if not path.is_absolute() and named.exists():  # a checkpoint's name wins over a folder here
        path = named
    if not (path / "state.json").is_file():
        raise ConfigError(f"resume={resume!r} is not a checkpoint folder (no state.json in {path})")
    return path


def load_training_state(folder: str | Path) -> dict[str, Any]:
    """Read a checkpoint's ``training_state.pt`` (optimizer, scheduler, EMA) safely.

    Loaded with ``torch.load(weights_only=True)``: tensors and plain Python
    data only, so a checkpoint folder from elsewhere cannot run code.

    Raises
    ------
    ConfigError
        If the file is missing, unreadable, or holds anything but plain data.
    """
    import pickle

    import torch

    path = Path(folder) / "training_state.pt"
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, pickle.UnpicklingError, EOFError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(
            f"cannot load the training state {path} as plain tensors ({reason[:200]}); "
            "resume from another checkpoint or start without resume"
        ) from None


def prune_checkpoints(run_dir: str | Path, *, keep_last: int) -> list[Path]:
    """Delete all but the newest ``keep_last`` checkpoints; returns the deleted ones."""
    found = list_checkpoints(run_dir)
    doomed = found[:-keep_last] if keep_last > 0 else found
    for path in doomed:
        shutil.rmtree(path, ignore_errors=True)
    return doomed
