"""Lazy front doors: a package's names that need geopandas, scikit-learn or PyVRP are imported
on first use, so `import geo` (or a sub-room) stays cheap for a process that wants the kernels."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_attributes(
    package: str, names: Mapping[str, str], namespace: dict[str, Any]
) -> Callable[[str], Any]:
    """A module `__getattr__` for `package`: `names` maps a name to the module that holds it;
    the value is cached in `namespace` (the package's globals) after the first import."""

    def __getattr__(name: str) -> Any:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    return __getattr__
