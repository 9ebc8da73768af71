"""Lazy package exports, so ``galaxysd --help`` and light modules skip torch and pandas.

A package's ``__init__`` lists which sub-module holds each public name; the name
is imported on first access (PEP 562) and then cached in the package::

    __getattr__, __dir__, __all__ = lazy_package(
        __name__, sampling="Generation generate", config="FinetuneConfig"
    )
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any


def lazy_exports(
    package: str, where: dict[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Return ``(__getattr__, __dir__)`` for ``package`` exporting ``where``.

    Parameters
    ----------
    package : str
        The package's ``__name__``.
    where : dict
        Public name -> sub-module name (relative to ``package``).
    """

    def __getattr__(name: str) -> Any:  # noqa: N807 - the PEP 562 hook's name
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:  # noqa: N807
        return sorted(set(vars(sys.modules[package])) | set(where))

    return __getattr__, __dir__


def lazy_package(
    package: str, **modules: str
) -> tuple[Callable[[str], Any], Callable[[], list[str]], list[str]]:
    """:func:`lazy_exports` from ``sub_module="Name other_name ..."`` keywords.

    Returns
    -------
    tuple
        ``(__getattr__, __dir__, __all__)``; ``__all__`` is the sorted names.
    """
    where = {name: module for module, names in modules.items() for name in names.split()}
    return (*lazy_exports(package, where), sorted(where))
