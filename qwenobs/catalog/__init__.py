"""What qwenobs knows about each Qwen model: limits, thinking, vocabulary, input kinds, prices.

The facts live in one dated table (``table.py``, each entry with its source). Dated snapshots
(``qwen-plus-2025-07-28``), ``-latest`` aliases and ``-us`` deployment ids resolve to their family
unless the table lists them apart (``qwen-plus-2025-07-14`` has a smaller window). Unknown models
get ``None`` from ``lookup``: no context check, no cost.

Correct or extend the table from code (``DEFAULT_CATALOG.extend(ModelInfo(...))``, passed where a
``catalog`` is accepted) or from one file named by ``QWENOBS_CATALOG`` (TOML or JSON), which
``active_catalog()`` adds to the built-in table, so a model released tomorrow works the day it ships.
"""

from __future__ import annotations

import dataclasses
import logging
import os

from .model import Catalog, ModelInfo, Thinking, Vocabulary
from .prices import PRICES
from .table import CHECKED, MODELS

__all__ = ["DEFAULT_CATALOG", "Catalog", "ModelInfo", "Thinking", "Vocabulary", "active_catalog"]

log = logging.getLogger("qwenobs")

DEFAULT_CATALOG = Catalog.of(
    *(dataclasses.replace(m, prices=PRICES.get(m.name)) for m in MODELS), checked=CHECKED
)
_loaded: dict[tuple[str, float], Catalog] = {}


def active_catalog() -> Catalog:
    """The built-in table, with the file named by ``QWENOBS_CATALOG`` added when it is set.

    Read again when the file changes. A file that cannot be used is reported once (logger
    ``qwenobs``) and the built-in table is used: configuration never stops an application.
    """
    path = os.environ.get("QWENOBS_CATALOG")
    if not path:
        return DEFAULT_CATALOG
    try:
        stamp = os.stat(path).st_mtime
    except OSError:
        stamp = -1.0
    key = (path, stamp)
    found = _loaded.get(key)
    if found is None:
        try:
            found = DEFAULT_CATALOG.with_file(path)
        except ValueError as exc:
            log.warning("qwenobs: QWENOBS_CATALOG ignored, using the built-in table: %s", exc)
            found = DEFAULT_CATALOG
        _loaded.clear()
        _loaded[key] = found
    return found


def catalog_or_active(catalog: Catalog | None) -> Catalog:
    """``catalog`` if given, else the active one; a clear error for anything else."""
    if catalog is None:
        return active_catalog()
    if not isinstance(catalog, Catalog):
        raise TypeError(f"catalog must be a qwenobs.Catalog, got {type(catalog).__name__}")
    return catalog
