"""Describe a task config's fields for a launch form, and read the form back.

The training page builds one widget per dataclass field from
:func:`~galaxysd_core.config.field_specs` (nested fields by dotted name) and turns the widget values into a config dict with
:func:`values_from_form`; validation stays in the config class.
"""

from __future__ import annotations

import json
from typing import Any

from galaxysd_core.config import FieldSpec, field_specs
from galaxysd_core.errors import ConfigError

__all__ = ["FieldSpec", "field_specs", "values_from_form"]


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
