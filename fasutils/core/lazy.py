"""Lazy re-exports for the subpackages' ``__init__``: ``from fasutils.detection import YuNet`` imports only
``fasutils.detection.yunet`` (and what it needs), when first asked for (PEP 562, as scientific Python's SPEC 1).

So the command line and the light modules never pay for torch, onnxruntime or matplotlib they do not use.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping


def lazy_exports(package: str, table: Mapping[str, str]) -> tuple[Callable[[str], object], Callable[[], list[str]],
                                                                  list[str]]:
    """``(__getattr__, __dir__, __all__)`` for ``package``; ``table`` maps a module of the package to the
    space-separated names it exports, e.g. ``{"yunet": "YuNet", "boxes": "letterbox nms"}``."""
    where = {name: f"{package}.{module}" for module, names in table.items() for name in names.split()}

    def __getattr__(name: str) -> object:
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(where[name]), name)

    def __dir__() -> list[str]:
        return sorted(where)

    return __getattr__, __dir__, sorted(where)
