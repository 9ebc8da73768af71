"""Atomic file and folder writes, so an interrupted task leaves nothing half-written.

Temporaries are siblings named ``.NAME.XXXX.tmp``. While one is being written
its writer holds an ``flock`` on it; the kernel drops that lock when the
writer dies (even by ``kill -9``), so a temporary nobody holds is a leftover:
the next write of the same ``NAME`` sweeps it (:func:`sweep_stale`), and
``galaxysd clean`` finds all of them in a workspace (:func:`stale_temporaries`).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from galaxysd_core.errors import EnvironmentFaultError, GalaxySDError

log = logging.getLogger(__name__)

# ".NAME.XXXXXXXX.tmp" (mkdtemp/mkstemp) and ".NAME.old" (a replaced folder moved aside).
_TEMP = re.compile(r"^\.(?P<name>.+)\.(?:[A-Za-z0-9_]{8}\.tmp|old)$")


_NO_SPACE = (errno.ENOSPC, errno.EDQUOT)
_READ_ONLY = (errno.EROFS, errno.EACCES, errno.EPERM)


def environment_fault(exc: BaseException, path: str | os.PathLike[str]) -> BaseException:
    """The user-facing error for a full disk or a read-only folder, else ``exc`` itself.

    Also a failure of a library that hides the ``OSError`` (``torch.save``
    raises ``RuntimeError``) counts as a full disk when under 1 MB is free.

    Returns
    -------
    BaseException
        An :class:`~galaxysd_core.errors.EnvironmentFaultError` naming ``path``
        and what to do, or ``exc`` unchanged.
    """
    if isinstance(exc, GalaxySDError):
        return exc
    code = getattr(exc, "errno", None)
    if code in _NO_SPACE or (isinstance(exc, OSError | RuntimeError) and _nearly_full(path)):
        fault = EnvironmentFaultError(
            f"no space left on the disk of {path}: free some space and run it again "
            "(nothing half-written was kept)"
        )
    elif code in _READ_ONLY:
        fault = EnvironmentFaultError(
            f"cannot write {path}: the folder is read-only or not yours ({exc.strerror})"
        )
    else:
        return exc
    fault.errno = code or errno.ENOSPC
    return fault


def _nearly_full(path: str | os.PathLike[str]) -> bool:
    folder = Path(path)
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        return shutil.disk_usage(folder).free < 1 << 20
    except OSError:
        return False


def _hold(path: Path) -> int:
    """Open ``path`` and take its ``flock`` (released when the fd closes or we die)."""
    fd = os.open(path, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return fd


def is_stale(path: str | os.PathLike[str]) -> bool:
    """Whether a temporary is a leftover: no live process holds its lock."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False  # its writer is alive
    finally:
        os.close(fd)
    return True


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def sweep_stale(final: str | os.PathLike[str]) -> list[Path]:
    """Remove the leftover temporaries of ``final`` (from writers that died).

    Returns
    -------
    list of Path
        What was removed.
    """
    final = Path(final)
    if not final.parent.is_dir():
        return []
    removed = []
    for entry in final.parent.iterdir():
        match = _TEMP.match(entry.name)
        if match and match.group("name") == final.name and is_stale(entry):
            _remove(entry)
            removed.append(entry)
    if removed:
        log.info("removed %d leftover temporaries of %s", len(removed), final)
    return removed


def stale_temporaries(root: str | os.PathLike[str]) -> list[Path]:
    """Every leftover ``.NAME.*.tmp`` / ``.NAME.old`` under ``root`` (not descending into them)."""
    found = []
    for folder, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            if _TEMP.match(name) and is_stale(Path(folder, name)):
                found.append(Path(folder, name))
        dirs[:] = [d for d in dirs if not _TEMP.match(d)]
    return sorted(found)


@contextlib.contextmanager
def atomic_dir(final: str | os.PathLike[str], *, overwrite: bool = False) -> Iterator[Path]:
    """Build a folder in a sibling temporary directory, then rename it into place.

    Parameters
    ----------
    final : path-like
        Where the finished folder should appear.
    overwrite : bool, default False
        Replace an existing non-empty ``final``; otherwise that is an error.

    Yields
    ------
    Path
        The temporary folder to write into.

    Raises
    ------
    FileExistsError
        If ``final`` exists, is not empty, and ``overwrite`` is False.
    """
    final = Path(final)
    if final.exists() and any(final.iterdir()) and not overwrite:
        raise FileExistsError(f"{final} exists and is not empty; pass overwrite to replace it")
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        sweep_stale(final)
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent))
    except OSError as exc:
        raise environment_fault(exc, final) from exc
    lock = _hold(tmp)
    try:
        try:
            yield tmp
        except BaseException as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            fault = environment_fault(exc, final)
            if fault is exc:
                raise
            raise fault from exc
        if final.exists():
            # Move the old folder aside first so a crash between the two renames
            # leaves either the old or the new folder, never neither.
            trash = final.with_name(f".{final.name}.old")
            shutil.rmtree(trash, ignore_errors=True)
            final.rename(trash)
            tmp.rename(final)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            tmp.rename(final)
    finally:
        os.close(lock)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and ``os.replace``."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise environment_fault(exc, path) from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # a leftover only once this writer is gone
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        fault = environment_fault(exc, path)
        if fault is exc:
            raise
        raise fault from exc


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike[str], obj: Any) -> None:
    """Write ``obj`` as indented JSON to ``path`` atomically."""
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def clean(root: str | os.PathLike[str], *, dry_run: bool = False) -> list[tuple[Path, int]]:
    """Find (and unless ``dry_run`` remove) the leftover temporaries under ``root``.

    Returns
    -------
    list of (Path, int)
        Each leftover and its size in bytes.
    """
    found = []
    for path in stale_temporaries(root):
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
        size = sum(p.lstat().st_size for p in files)
        found.append((path, size))
        if not dry_run:
            _remove(path)
    return found
