"""Boundary checks of the review store's arguments; each error names the bad value."""

from __future__ import annotations

import math
import operator
import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from galaxysd_core.errors import OutsideWorkspaceError
from galaxysd_core.paths import ASSETS, Workspace, resolve_in_workspace
from galaxysd_core.review.auth import MIN_PASSPHRASE
from galaxysd_core.review.errors import (
    BadLabelError,
    ReviewValueError,
    UnknownCandidateError,
    UnknownRoundError,
)
from galaxysd_core.review.models import LABELS, ROLES

CANDIDATE_KEYS = ("object_id", "image", "score", "ra", "dec")
REFERENCE_KEYS = ("object_id", "image", "ra", "dec")
_NAME = re.compile(r"[A-Za-z0-9_.@-]{1,64}")


def check_name(name: str) -> str:
    """A reviewer name: 1-64 letters, digits or ``_ . @ -``."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ReviewValueError(
            f"reviewer name {name!r} must be 1-64 letters, digits or the characters _ . @ -"
        )
    return name


def check_role(role: str) -> str:
    if role not in ROLES:
        raise ReviewValueError(f"role {role!r} is not one of {', '.join(ROLES)}")
    return role


def check_label(label: str) -> str:
    if label not in LABELS:
        raise BadLabelError(f"vote label {label!r} is not one of {', '.join(LABELS)}")
    return label


def _as_id(value: Any, what: str, error: type[Exception]) -> int:
    if isinstance(value, bool):
        raise error(f"{what} {value!r} is not an integer id")
    try:
        return operator.index(value)  # int, numpy integers; not floats or strings
    except TypeError:
        raise error(f"{what} {value!r} is not an integer id") from None


def check_candidate_id(value: Any) -> int:
    return _as_id(value, "candidate id", UnknownCandidateError)


def check_round_id(value: Any) -> int:
    return _as_id(value, "round id", UnknownRoundError)


def check_positive(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ReviewValueError(f"{what} must be a positive integer, got {value!r}")
    return value


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _float(value: Any, key: str, object_id: str, lo: float, hi: float) -> float | None:
    if _missing(value):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if not math.isfinite(number) or not lo <= number <= hi:
        raise ReviewValueError(
            f"candidate {object_id!r}: {key}={value!r} is not a number in [{lo}, {hi}]"
        )
    return number


def _records(rows: Iterable[Mapping[str, Any]] | pd.DataFrame) -> list[Mapping[str, Any]]:
    if isinstance(rows, pd.DataFrame):
        return rows.to_dict(orient="records")
    if isinstance(rows, Mapping | str | bytes):
        raise ReviewValueError("candidates must be a list of mappings or a DataFrame")
    return list(rows)


def normalize_objects(
    rows: Iterable[Mapping[str, Any]] | pd.DataFrame, *, keys: tuple[str, ...] = CANDIDATE_KEYS
) -> list[dict[str, Any]]:
    """Check candidate (or reference) rows and return them as clean dicts.

    Parameters
    ----------
    rows : list of mappings or DataFrame
        Keys ``object_id`` and ``image`` are required; ``score``, ``ra`` and
        ``dec`` are optional (missing or NaN becomes NULL).
    keys : tuple of str
        The keys allowed; any other key is an error.

    Returns
    -------
    list of dict

    Raises
    ------
    ReviewValueError
        Empty input, an unknown or missing key, a duplicate ``object_id``, or a
        coordinate / score out of range; the message names the object and value.
    """
    records = _records(rows)
    if not records:
        raise ReviewValueError("no candidates given: a round needs at least one")
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, row in enumerate(records):
        if not isinstance(row, Mapping):
            raise ReviewValueError(f"row {i} is a {type(row).__name__}, not a mapping")
        unknown = sorted(set(row) - set(keys))
        if unknown:
            raise ReviewValueError(f"row {i}: unknown key(s) {unknown}; allowed: {list(keys)}")
        for key in ("object_id", "image"):
            if key not in row or _missing(row[key]) or str(row[key]) == "":
                raise ReviewValueError(f"row {i}: {key!r} is required")
        raw_id = row["object_id"]
        if isinstance(raw_id, bool | float):
            raise ReviewValueError(f"row {i}: object_id {raw_id!r} must be a string or integer")
        object_id = str(raw_id)
        if len(object_id) > 64 or object_id in seen:
            why = "is longer than 64 characters" if len(object_id) > 64 else "appears twice"
            raise ReviewValueError(f"object_id {object_id!r} {why}")
        seen.add(object_id)
        image = os.fspath(row["image"]) if isinstance(row["image"], os.PathLike) else row["image"]
        if not isinstance(image, str) or len(image) > 1024:
            raise ReviewValueError(f"candidate {object_id!r}: image {image!r} is not a path")
        clean: dict[str, Any] = {"object_id": object_id, "image": image}
        clean["ra"] = _float(row.get("ra"), "ra", object_id, 0.0, 360.0)
        clean["dec"] = _float(row.get("dec"), "dec", object_id, -90.0, 90.0)
        if "score" in keys:
            clean["score"] = _float(row.get("score"), "score", object_id, -math.inf, math.inf)
        out.append(clean)
    return out


def read_candidates(source: Any, *, workspace: Workspace | None = None) -> pd.DataFrame:
    """Read a candidates CSV (``object_id, image[, score, ra, dec]``) from a path or file.

    Parameters
    ----------
    source : path or file
    workspace : Workspace, optional
        When given (an upload in the app), every ``image`` must be an existing
        file inside it (or in the bundled assets); relative paths are
        workspace-relative and come back resolved (:func:`check_candidate_images`).

    Raises
    ------
    ReviewValueError
        The file cannot be read or parsed, or (with ``workspace``) rows name
        images outside the workspace or missing; the message says which rows.
    """
    try:
        table = pd.read_csv(source, dtype={"object_id": str})
    except (OSError, ValueError) as exc:
        name = getattr(source, "name", source)
        raise ReviewValueError(f"cannot read candidates CSV {name}: {exc}") from None
    return table if workspace is None else check_candidate_images(table, workspace)


def check_candidate_images(table: pd.DataFrame, workspace: Workspace) -> pd.DataFrame:
    """Resolve each row's ``image`` in the workspace; refuse rows outside it or missing.

    Returns
    -------
    pandas.DataFrame
        A copy with absolute image paths.

    Raises
    ------
    ReviewValueError
        Naming the CSV lines (the header is line 1) whose image is outside the
        workspace, and those whose image does not exist; nothing is queued.
    """
    if "image" not in table.columns:
        return table  # open_round names the missing column
    outside, missing, resolved = [], [], []
    for line, image in enumerate(table["image"].astype(str), start=2):
        try:
            path = resolve_in_workspace(image, workspace, field="image", read_roots=(ASSETS,))
        except OutsideWorkspaceError:
            outside.append(line)
            resolved.append(image)
            continue
        if not path.is_file():
            missing.append(line)
        resolved.append(str(path))
    problems = [
        f"{what} on line(s) {_lines(lines)}"
        for what, lines in (("images outside the workspace", outside), ("missing images", missing))
        if lines
    ]
    if problems:
        raise ReviewValueError(
            f"candidates CSV: {'; '.join(problems)}; fix those rows and upload it again"
        )
    return table.assign(image=resolved)


def _lines(lines: list[int], shown: int = 10) -> str:
    text = ", ".join(map(str, lines[:shown]))
    return text + (f" and {len(lines) - shown} more" if len(lines) > shown else "")


def check_passphrase(passphrase: Any, name: str) -> str:
    """A passphrase of at least ``MIN_PASSPHRASE`` characters, else ``ReviewValueError``."""
    if not isinstance(passphrase, str) or len(passphrase) < MIN_PASSPHRASE:
        raise ReviewValueError(
            f"the passphrase of {name!r} must have at least {MIN_PASSPHRASE} characters"
        )
    return passphrase
