"""The app's page list, read from ``pages/navigation.toml`` (app.py's navigation, Home's links)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import NamedTuple


class Page(NamedTuple):
    """One row of ``pages/navigation.toml``: where a page sits and what it is for."""

    section: str
    title: str
    file: str  # in pages/
    icon: str
    about: str


#: The app's fixed page list (``pages/navigation.toml``), in order.
PAGES: tuple[Page, ...] = tuple(
    Page(**row)
    for row in tomllib.loads((Path(__file__).parent / "navigation.toml").read_text("utf-8"))["page"]
)
