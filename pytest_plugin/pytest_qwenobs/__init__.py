"""pytest-qwenobs: fixtures for testing Qwen apps against a fake DashScope, cassettes of real
traffic, and span assertions. The fixtures (``qwen_fake``, ``qwen_server``, ``qwen_spans``,
``qwen_cassette``) need no import; these names are for type hints and helpers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qwenobs.cassettes import load_interactions

    from .fakes import QwenServer
    from .spans import QwenSpans, SpanAssertionError

__all__ = ["QwenServer", "QwenSpans", "SpanAssertionError", "load_interactions"]

_HOMES = {
    "QwenServer": "fakes",
    "QwenSpans": "spans",
    "SpanAssertionError": "spans",
}


def __getattr__(name: str) -> Any:
    # Lazy: the plugin module is imported by every pytest run, this package with it.
    if name == "load_interactions":  # the cassette format lives in the core package
        from qwenobs.cassettes import load_interactions

        return load_interactions
    if name in _HOMES:
        import importlib

        return getattr(importlib.import_module(f".{_HOMES[name]}", __name__), name)
    raise AttributeError(f"module 'pytest_qwenobs' has no attribute {name!r}")
