"""Describe a task config's fields for a launch form, and read the form back.

The training page builds one widget per dataclass field from
:func:`field_specs` and turns the widget values into a config dict with
:func:`values_from_form`; validation stays in the config class.
"""

from __future__ import annotations

import dataclasses
import json
import re
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from galaxysd_core.config import TaskConfig, format_bound, max_value
from galaxysd_core.errors import ConfigError


@dataclass(frozen=True)
class FieldSpec:
    """One form field.

    Parameters
    ----------
    name : str
        The config field.
    widget : str
        ``"bool"`` (checkbox), ``"int"``, ``"float"`` (number inputs), ``"text"``
        (strings and paths) or ``"json"`` (lists, tuples, dicts as JSON text).
    default : Any
        The field's default (``None`` when optional or required).
    optional : bool
        Whether ``None`` is allowed (an empty input means "default").
    required : bool
        Whether the field has no default.
    help : str
        The field's description from the class docstring (numpydoc Parameters).
    choices : tuple
        The allowed values of a ``Literal`` field (a select box), else empty.
    maximum : float or None
        The largest value accepted (``config.MAX_VALUES``), for a number input's
        ``max_value``; the reason is also appended to ``help``.
    """

    name: str
    widget: str
    default: Any
    optional: bool
    required: bool
    help: str
    choices: tuple[Any, ...] = ()
    maximum: float | None = None


def _unwrap(hint: Any) -> tuple[Any, bool]:
    """``X | None`` -> (X, True); other hints -> (hint, False)."""
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        return (rest[0] if len(rest) == 1 else str), type(None) in args
    return hint, False


def _widget(hint: Any) -> tuple[str, bool]:
    hint, optional = _unwrap(hint)
    if hint is bool:
        return "bool", optional
    if hint is int:
        return "int", optional
    if hint is float:
        return "float", optional
    if hint in (str, Path) or typing.get_origin(hint) is typing.Literal:
        return "text", optional
    return "json", optional


def _docs(cls: type) -> dict[str, str]:
    """Field descriptions from a numpydoc ``Parameters`` or ``Attributes`` section.

    Grouped entries (``steps, batch : int``) give each name the shared text.
    """
    text = re.split(r"\n\s*(?:Parameters|Attributes)\n\s*-+\n", cls.__doc__ or "", maxsplit=1)[-1]
    found: dict[str, str] = {}
    names: list[str] = []
    for line in text.splitlines():
        head = re.match(r"^\s{0,4}(\w+(?:\s*,\s*\w+)*)\s*(?::|$)", line)
        if head and line.strip() and not line.startswith(" " * 8):
            names = [n.strip() for n in head.group(1).split(",")]
            for name in names:
                found[name] = ""
        elif names and line.strip():
            for name in names:
                found[name] = (found[name] + " " + line.strip()).strip()
    return found


def field_specs(cls: type[TaskConfig]) -> list[FieldSpec]:
    """The launch-form fields of a config class, in declaration order."""
    hints = typing.get_type_hints(cls)
    docs = _docs(cls)
    specs = []
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        widget, optional = _widget(hints[f.name])
        if f.default is not dataclasses.MISSING:
            default, required = f.default, False
        elif f.default_factory is not dataclasses.MISSING:
            default, required = f.default_factory(), False
        else:
            default, required = None, True
        if isinstance(default, Path):
            default = str(default)
        inner, _ = _unwrap(hints[f.name])
        choices = typing.get_args(inner) if typing.get_origin(inner) is typing.Literal else ()
        doc = docs.get(f.name, "")
        bound = max_value(cls.__name__, f.name)
        maximum = None
        if bound is not None:
            maximum = bound[0]
            doc = f"{doc} At most {format_bound(bound[0])}: {bound[1]}.".strip()
        specs.append(FieldSpec(f.name, widget, default, optional, required, doc, choices, maximum))
    return specs


def values_from_form(specs: list[FieldSpec], raw: dict[str, Any]) -> dict[str, Any]:
    """Turn widget values into a config dict: empty inputs take the default.

    Raises
    ------
    ConfigError
        If a JSON field does not parse; names the field and the text.
    """
    values: dict[str, Any] = {}
    for spec in specs:
        value = raw.get(spec.name)
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        if spec.widget == "json" and isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError as exc:
                raise ConfigError(f"{spec.name}: not valid JSON: {value!r} ({exc})") from None
        if spec.widget == "int" and isinstance(value, float) and value.is_integer():
            value = int(value)
        values[spec.name] = value
    return values
