"""A package's names, imported from their modules when first used (PEP 562).

Every `clicklake` command builds one argument parser from each package's `cli.py`, and importing
a `cli.py` runs its package's `__init__`: re-exports made there eagerly cost every command the
package's heavy imports (pyarrow, pyiceberg, sqlalchemy), about a second before it did anything.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable


def exports(package: str, where: dict[str, str]) -> Callable[[str], object]:
    """The `__getattr__` of `package`, which finds each name of `where` in its module (name: module)."""

    def __getattr__(name: str) -> object:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        setattr(sys.modules[package], name, value)  # asked once
        return value

    return __getattr__
