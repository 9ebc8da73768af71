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
import types
import typing
from pathlib import Path
from typing import Any, ClassVar, Self

from galaxysd_core.atomic import atomic_write_json
from galaxysd_core.errors import ConfigError


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
