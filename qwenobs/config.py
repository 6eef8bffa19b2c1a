"""What ``instrument()`` was asked for: the settings, the validate modes, and how arguments and the
environment resolve into them (arguments win over the environment, the environment over defaults)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

from .catalog import DEFAULT_CATALOG, Catalog

VALIDATE_MODES = ("raise", "warn", "off")
_TRUE = ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Settings:
    validate: str = "raise"
    capture_content: bool = False
    capture_reasoning: bool = False
    hosts: frozenset[str] = frozenset()
    stream_usage: bool = True
    catalog: Catalog = DEFAULT_CATALOG


def _env_flag(name: str) -> bool | None:
    value = os.environ.get(name)
    return None if value is None else value.strip().lower() in _TRUE


def resolve_settings(
    validate: str | None = None,
    capture_content: bool | None = None,
    capture_reasoning: bool | None = None,
    hosts: Iterable[str] = (),
    stream_usage: bool = True,
    catalog: Catalog | None = None,
) -> Settings:
    """Settings from ``instrument()``'s arguments and the environment."""
    mode = (validate or os.environ.get("QWENOBS_VALIDATE") or "raise").strip().lower()
    if mode not in VALIDATE_MODES:
        raise ValueError(f"validate must be one of {', '.join(VALIDATE_MODES)}, got {mode!r}")
    if capture_content is None:
        capture_content = bool(_env_flag("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"))
    if capture_reasoning is None:
        capture_reasoning = bool(_env_flag("QWENOBS_CAPTURE_REASONING"))
    env_hosts = [h for h in os.environ.get("QWENOBS_HOSTS", "").split(",") if h.strip()]
    all_hosts = frozenset(h.strip().lower() for h in [*env_hosts, *hosts])
    return Settings(
        mode,
        capture_content,
        capture_reasoning,
        all_hosts,
        stream_usage,
        catalog or DEFAULT_CATALOG,
    )


def spans_file_path(argument: str | os.PathLike[str] | None) -> str | None:
    """The spans file ``instrument()`` writes: its ``spans_file`` argument, else the
    QWENOBS_SPANS_FILE environment variable; None for no file."""
    if argument is not None:
        if not isinstance(argument, str | os.PathLike) or not os.fspath(argument):
            raise ValueError(
                f"spans_file must be a file path (str or os.PathLike), got {argument!r}"
            )
        return os.fspath(argument)
    return os.environ.get("QWENOBS_SPANS_FILE", "").strip() or None
