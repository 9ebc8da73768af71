"""The base of every task's typed configuration.

Each long task (sky, prepare, finetune, ...) has a dataclass deriving from
:class:`TaskConfig` with documented defaults. The CLI and the app both build it,
``validate()`` checks it at the boundary, and the job runner saves it as
``runs/<id>/config.json`` so every run describes itself.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import types
import typing
from pathlib import Path
from typing import Any, ClassVar, Self

from galaxysd_core.atomic import atomic_write_json
from galaxysd_core.errors import ConfigError

#: ``str`` fields that hold a path (``Path`` fields are recognised by their type).
STR_PATH_FIELDS = frozenset({"sky", "model", "synthetic_dir", "output_dir", "resume"})
#: Path fields that must lie in the workspace: written to, or loaded as
#: training state. Other path fields are only read and may also name the
#: bundled ``assets/`` or the shared reference data.
WORKSPACE_ONLY_FIELDS = frozenset({"out", "output_dir", "resume"})
#: ``resume`` values that are not paths: the newest checkpoint, or one by name.
_RESUME_WORDS = re.compile(r"latest|checkpoint-\d+")


@dataclasses.dataclass
class TaskConfig:
    """Typed, validated, JSON-round-trippable task configuration.

    Subclasses set ``kind`` (the CLI sub-command and job kind) and override
    :meth:`validate`, raising :class:`~galaxysd_core.errors.ConfigError` that
    names the bad field and value.
    """

    kind: ClassVar[str] = ""

    def validate(self) -> None:
        """Raise ``ConfigError`` if a field has a bad value. The base accepts all."""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        """Build and validate a config from a plain dict (e.g. parsed JSON).

        Parameters
        ----------
        data : dict
            Field values; missing fields take their defaults.

        Returns
        -------
        TaskConfig
            The validated config.

        Raises
        ------
        ConfigError
            On unknown keys, missing required fields or values of the wrong type.
        """
        if not isinstance(data, dict):
            raise ConfigError(f"{cls.__name__}: expected a mapping, got {type(data).__name__}")
        fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
        unknown = sorted(set(data) - set(fields))
        if unknown:
            raise ConfigError(
                f"{cls.__name__}: unknown field(s) {unknown}; known: {sorted(fields)}"
            )
        hints = typing.get_type_hints(cls)
        values = {
            name: _coerce(cls.__name__, name, hints[name], value) for name, value in data.items()
        }
        try:
            config = cls(**values)
        except TypeError as exc:  # a required field is missing
            raise ConfigError(f"{cls.__name__}: {exc}") from exc
        config.validate()
        return config

    @classmethod
    def path_fields(cls) -> list[str]:
        """The fields that hold paths: ``Path``-typed ones and :data:`STR_PATH_FIELDS`."""
        hints = typing.get_type_hints(cls)
        return [
            f.name
            for f in dataclasses.fields(cls)
            if f.init and (_holds_path(hints[f.name]) or f.name in STR_PATH_FIELDS)
        ]

    def confined(self, workspace: str | os.PathLike[str]) -> Self:
        """A copy whose path fields are resolved in ``workspace``; refused if one leaves it.

        The app and ``galaxysd jobs launch`` pass every config through this:
        relative paths are workspace-relative, and ``..``, ``~`` or a symbolic
        link cannot lead out (``paths.resolve_in_workspace``). Paths that are
        only read may also name the bundled ``assets/`` or the shared reference
        data; written ones (:data:`WORKSPACE_ONLY_FIELDS`) and an SQLite
        ``db_url`` must lie in the workspace.

        Raises
        ------
        OutsideWorkspaceError
            Naming the first field whose path leaves the workspace.
        """
        from galaxysd_core.paths import ASSETS, SHARED_REFERENCE, resolve_in_workspace

        owner = type(self).__name__
        values = self.to_dict()
        for name in self.path_fields():
            value = values[name]
            if value is None or (name == "resume" and _RESUME_WORDS.fullmatch(str(value))):
                continue
            roots = () if name in WORKSPACE_ONLY_FIELDS else (ASSETS, SHARED_REFERENCE)
            many = isinstance(value, list)
            resolved = [
                str(resolve_in_workspace(v, workspace, field=f"{owner}.{name}", read_roots=roots))
                for v in (value if many else [value])
            ]
            values[name] = resolved if many else resolved[0]
        url = values.get("db_url")
        if isinstance(url, str) and url.startswith("sqlite:///"):
            where = resolve_in_workspace(
                url[len("sqlite:///") :], workspace, field=f"{owner}.db_url"
            )
            values["db_url"] = f"sqlite:///{where}"
        return type(self).from_dict(values)

    def to_dict(self) -> dict[str, Any]:
        """Return the config as JSON-safe plain data (paths become strings)."""
        return {k: _plain(v) for k, v in dataclasses.asdict(self).items()}

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the config as JSON atomically."""
        atomic_write_json(path, self.to_dict())

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Self:
        """Read and validate a config saved by :meth:`save`."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(f"config file not found: {path}") from exc
        except json.JSONDecodeError as exc:
            raise ConfigError(f"config file {path} is not valid JSON: {exc}") from exc
        return cls.from_dict(data)


def _holds_path(hint: Any) -> bool:
    """Whether a type hint is ``Path``, ``Path | None`` or a tuple/list of paths."""
    if hint is Path:
        return True
    return any(_holds_path(arg) for arg in typing.get_args(hint) if arg is not Ellipsis)


def _plain(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _coerce(owner: str, name: str, hint: Any, value: Any) -> Any:
    """Convert JSON values to the annotated type where that is lossless."""
    if value is None:
        return None
    origin = typing.get_origin(hint)
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if origin in (typing.Union, types.UnionType) and len(args) == 1:
        return _coerce(owner, name, args[0], value)
    if hint is Path:
        return Path(value)
    if origin in (tuple, list) and isinstance(value, list | tuple):
        return origin(value)
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint in (int, float, str, bool) and not isinstance(value, hint):
        raise ConfigError(f"{owner}.{name}: expected {hint.__name__}, got {value!r}")
    if hint is int and isinstance(value, bool):
        raise ConfigError(f"{owner}.{name}: expected int, got {value!r}")
    return value
