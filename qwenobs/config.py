"""What ``instrument()`` was asked for: the settings, the validate modes, and how arguments and the
environment resolve into them (arguments win over the environment, the environment over defaults)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

from .catalog import DEFAULT_CATALOG, Catalog

VALIDATE_MODES = ("raise", "warn", "off")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


@dataclass(frozen=True)
class Settings:
    validate: str = "raise"
    capture_content: bool = False
    capture_reasoning: bool = False
    hosts: frozenset[str] = frozenset()
    # Where a stream asks for its usage chunk and hides it again: "dashscope" (DashScope's own
    # endpoints, which send it only when asked), "all" (the hosts added through hosts= too), "off".
    stream_usage: str = "dashscope"
    catalog: Catalog = DEFAULT_CATALOG


def _env_flag(name: str) -> bool | None:
    value = os.environ.get(name)
    return None if value is None else value.strip().lower() in _TRUE


def resolve_settings(
    validate: str | None = None,
    capture_content: bool | None = None,
    capture_reasoning: bool | None = None,
    hosts: Iterable[str] = (),
    stream_usage: bool | str | None = None,
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
        _stream_usage_mode(stream_usage),
        catalog or DEFAULT_CATALOG,
    )


def _stream_usage_mode(value: bool | str | None) -> str:
    """``stream_usage=`` (True, False or "all"), else QWENOBS_STREAM_USAGE, as a mode."""
    if value is None:
        env = os.environ.get("QWENOBS_STREAM_USAGE")
        if env is None:
            return "dashscope"
        word = env.strip().lower()
        if word == "all":
            return "all"
        if word in _TRUE or word in _FALSE:
            return "dashscope" if word in _TRUE else "off"
        raise ValueError(f"QWENOBS_STREAM_USAGE must be true, false or all, got {env!r}")
    if value is True or value is False:
        return "dashscope" if value else "off"
    if value == "all":
        return "all"
    raise ValueError(f"stream_usage must be True, False or 'all', got {value!r}")
