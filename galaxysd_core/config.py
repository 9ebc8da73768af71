"""The base of every task's typed configuration.

Each long task (sky, prepare, finetune, ...) has a dataclass deriving from
:class:`TaskConfig` with documented defaults. The CLI and the app both build it,
``validate()`` checks it at the boundary, and the job runner saves it as
``runs/<id>/config.json`` so every run describes itself.

A field may itself be a ``TaskConfig`` (e.g. ``ExperimentConfig.classifier``):
it is a JSON object in the saved file, validated with its owner, and errors name
its dotted path (``ExperimentConfig.classifier.epochs``). :func:`field_specs`
describes every field, nested ones by dotted name, for the command line
(``galaxysd_core.cli.add_config_arguments``) and the launch form
(``galaxysd_core.jobs.forms``).
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import os
import re
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Self

from galaxysd_core.atomic import atomic_write_json
from galaxysd_core.errors import ConfigError


@dataclasses.dataclass
class TaskConfig:
    """Typed, validated, JSON-round-trippable task configuration.

    Subclasses set ``kind`` (the CLI sub-command and job kind) and override
    :meth:`validate`, raising :class:`~galaxysd_core.errors.ConfigError` that
    names the bad field and value. ``aliases`` maps a former flat field name
    to the dotted path that now holds it (``{"epochs": "classifier.epochs"}``),
    so configs saved before a field moved still load and the old flag still
    works.
    """

    kind: ClassVar[str] = ""
    aliases: ClassVar[dict[str, str]] = {}

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
        return cls._build(data, cls.__name__)

    @classmethod
    def _build(cls, data: dict[str, Any], path: str) -> Self:
        """:meth:`from_dict` for the config at dotted ``path`` (its errors name it)."""
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: expected a mapping, got {type(data).__name__}")
        data = _unalias(cls, nest_dotted(data), path)
        fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
        unknown = sorted(set(data) - set(fields))
        if unknown:
            raise ConfigError(f"{path}: unknown field(s) {unknown}; known: {sorted(fields)}")
        hints = typing.get_type_hints(cls)
        for name, value in data.items():
            # A nested config given in part keeps its owner's defaults for the rest
            # (ExperimentConfig's classifier trains 10 epochs, ClassifierConfig's 20).
            default = _default(fields[name])
            if isinstance(default, TaskConfig) and isinstance(value, dict):
                data = {**data, name: {**default.to_dict(), **nest_dotted(value)}}
        values = {name: _coerce(path, name, hints[name], value) for name, value in data.items()}
        missing = [
            n for n, f in fields.items() if n not in values and _default(f) is dataclasses.MISSING
        ]
        if missing:
            raise ConfigError(f"{path}: missing required field(s) {missing}")
        config = cls(**values)
        config.validate_all(path)
        return config

    def validate_all(self, path: str | None = None) -> None:
        """Validate nested configs first, then this one.

        Parameters
        ----------
        path : str, optional
            Where this config sits (``ExperimentConfig.classifier``); errors
            name it. Default: the class name.

        Raises
        ------
        ConfigError
            Naming the dotted path of the first bad field.
        """
        path = path or type(self).__name__
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, TaskConfig):
                value.validate_all(f"{path}.{f.name}")
        try:
            self.validate()
        except ConfigError as exc:
            # validate() names the class ("ClassifierConfig.epochs"); a nested
            # config reports where it sits ("ExperimentConfig.classifier.epochs").
            own = type(self).__name__
            text = str(exc)
            if path != own and text.startswith(own):
                raise ConfigError(path + text[len(own) :]) from exc
            raise

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


def _default(f: dataclasses.Field) -> Any:
    """A field's default value (``dataclasses.MISSING`` when it has none)."""
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return f.default


def nest_dotted(values: dict[str, Any]) -> dict[str, Any]:
    """``{"classifier.epochs": 3}`` -> ``{"classifier": {"epochs": 3}}`` (other keys kept).

    Raises
    ------
    ConfigError
        If a dotted key lies below a key whose value is not a mapping.
    """
    out: dict[str, Any] = {}
    for key, value in values.items():
        *heads, last = key.split(".")
        inner = out
        for head in heads:
            inner = inner.setdefault(head, {})
            if not isinstance(inner, dict):
                raise ConfigError(f"{key}: {head!r} is given as a value, not a mapping")
        inner[last] = value
    return out


def _unalias(cls: type[TaskConfig], data: dict[str, Any], path: str) -> dict[str, Any]:
    """Move former keys (``cls.aliases``) to their current, possibly dotted, names.

    Raises
    ------
    ConfigError
        If a former key and its current name are both given, with different values.
    """
    if not cls.aliases or not set(data) & set(cls.aliases):
        return data
    data = dict(data)
    for old, new in cls.aliases.items():
        if old not in data:
            continue
        value = data.pop(old)
        *heads, last = new.split(".")
        inner = data
        for head in heads:
            inner = inner.setdefault(head, {})
            if not isinstance(inner, dict):
                raise ConfigError(f"{path}: {old!r} is {new!r} but {head!r} is not a mapping")
        if last in inner and inner[last] != value:
            raise ConfigError(f"{path}: {old!r} ({value!r}) and {new!r} ({inner[last]!r}) differ")
        inner[last] = value
    return data


def _coerce(owner: str, name: str, hint: Any, value: Any) -> Any:
    """Convert JSON values to the annotated type where that is lossless."""
    if value is None:
        return None
    origin = typing.get_origin(hint)
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if origin in (typing.Union, types.UnionType) and len(args) == 1:
        return _coerce(owner, name, args[0], value)
    if isinstance(hint, type) and issubclass(hint, TaskConfig):
        return value if isinstance(value, hint) else hint._build(value, f"{owner}.{name}")
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


@dataclass(frozen=True)
class FieldSpec:
    """One settable field of a config class (for a form widget or a CLI option).

    Parameters
    ----------
    name : str
        The field, dotted for a nested config's field (``classifier.epochs``).
    widget : str
        ``"bool"``, ``"int"``, ``"float"``, ``"text"`` (strings and paths) or
        ``"json"`` (lists, tuples, dicts).
    default : Any
        The field's default (``None`` when optional or required).
    optional : bool
        Whether ``None`` is allowed (an empty input means "default").
    required : bool
        Whether the field has no default.
    help : str
        The field's description from the class docstring (numpydoc
        ``Parameters``/``Attributes``, else the comment after the field).
    choices : tuple
        The allowed values of a ``Literal`` field, else empty.
    item : type or None
        The element type of a list or tuple field (``str``, ``int``, ``float``).
    """

    name: str
    widget: str
    default: Any
    optional: bool
    required: bool
    help: str
    choices: tuple[Any, ...] = ()
    item: type | None = None


def _unwrap(hint: Any) -> tuple[Any, bool]:
    """``X | None`` -> (X, True); other hints -> (hint, False)."""
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        return (rest[0] if len(rest) == 1 else str), type(None) in args
    return hint, False


def _widget(hint: Any) -> str:
    if hint in (bool, int, float):
        return hint.__name__
    if hint in (str, Path) or typing.get_origin(hint) is typing.Literal:
        return "text"
    return "json"


def _item(hint: Any) -> type | None:
    """The element type of ``list[X]`` / ``tuple[X, ...]`` when it is a plain scalar."""
    if typing.get_origin(hint) not in (list, tuple):
        return None
    args = [a for a in typing.get_args(hint) if a is not Ellipsis]
    return args[0] if len(set(args)) == 1 and args[0] in (str, int, float) else None


def _docs(cls: type) -> dict[str, str]:
    """Field descriptions from a numpydoc ``Parameters`` or ``Attributes`` section.

    Grouped entries (``steps, batch : int``) give each name the shared text.
    Fields the docstring does not describe take the comment after their line
    in the class source, when there is one.
    """
    text = re.split(r"\n\s*(?:Parameters|Attributes)\n\s*-+\n", cls.__doc__ or "", maxsplit=1)
    found: dict[str, str] = {}
    names: list[str] = []
    for line in text[-1].splitlines() if len(text) > 1 else ():
        head = re.match(r"^\s{0,4}(\w+(?:\s*,\s*\w+)*)\s*(?::|$)", line)
        if head and line.strip() and not line.startswith(" " * 8):
            names = [n.strip() for n in head.group(1).split(",")]
            for name in names:
                found[name] = ""
        elif names and line.strip():
            for name in names:
                found[name] = (found[name] + " " + line.strip()).strip()
    for name, comment in _field_comments(cls).items():
        if not found.get(name):
            found[name] = comment
    return found


def _field_comments(cls: type) -> dict[str, str]:
    """``name: type = value  # comment`` lines of a class body -> {name: comment}."""
    try:
        source = inspect.getsource(cls)
    except (OSError, TypeError):
        return {}
    pattern = r"^\s{4}(\w+)\s*:[^#\n]*#\s*(.+)$"
    return {m.group(1): m.group(2).strip() for m in re.finditer(pattern, source, re.M)}


def field_specs(cls: type[TaskConfig], *, prefix: str = "") -> list[FieldSpec]:
    """The settable fields of a config class in declaration order, nested ones dotted.

    Parameters
    ----------
    cls : type
        A :class:`TaskConfig` subclass.
    prefix : str, default ""
        Prepended to every name (used for the fields of a nested config).

    Returns
    -------
    list of FieldSpec
        One per field; a nested ``TaskConfig`` field gives one spec per field
        of its own (``classifier.epochs``), with its owner's default values.
    """
    return _specs(cls, prefix, None)


def _specs(cls: type[TaskConfig], prefix: str, defaults: Any) -> list[FieldSpec]:
    hints = typing.get_type_hints(cls)
    docs = _docs(cls)
    specs: list[FieldSpec] = []
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        default = _default(f)
        required = default is dataclasses.MISSING
        default = None if required else default
        if defaults is not None:
            default = getattr(defaults, f.name)
        inner, optional = _unwrap(hints[f.name])
        if isinstance(inner, type) and issubclass(inner, TaskConfig):
            specs += _specs(inner, f"{prefix}{f.name}.", default)
            continue
        if isinstance(default, Path):
            default = str(default)
        choices = typing.get_args(inner) if typing.get_origin(inner) is typing.Literal else ()
        widget, doc = _widget(inner), docs.get(f.name, "")
        specs.append(
            FieldSpec(
                prefix + f.name, widget, default, optional, required, doc, choices, _item(inner)
            )
        )
    return specs
