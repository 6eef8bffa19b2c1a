"""Optional dependencies: import one, or stop with a one-line error that names the extra."""

from __future__ import annotations

import importlib
from types import ModuleType

from .errors import MissingExtra


def need(module: str, extra: str, purpose: str) -> ModuleType:
    """``import module``, or ``MissingExtra`` saying to ``pip install 'qwenobs[extra]'``."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtra(extra, f"{purpose} needs {exc.name or module}") from None
