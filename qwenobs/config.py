"""What ``instrument()`` was asked for: the settings, the validate modes, and how arguments and the
environment resolve into them (arguments win over the environment, the environment over defaults)."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .budgets import Budget
from .catalog import DEFAULT_CATALOG, Catalog, catalog_or_active
from .catalog.prices import CURRENCIES

log = logging.getLogger("qwenobs")

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
    region: str | None = None  # the billing region of hosts that have none of their own
    regions: Mapping[str, str] = field(default_factory=dict)  # host -> billing region
    genai_cost: bool = False  # also the gen_ai.usage.cost.* attributes (a proposed convention)
    budget: Budget | None = None  # the whole process's spending limit
    spans_file: str | None = None  # also append every span here as OTLP/JSON lines


def _env_flag(name: str) -> bool | None:
    value = os.environ.get(name)
    return None if value is None else value.strip().lower() in _TRUE


def _env_region() -> str | None:
    value = os.environ.get("QWENOBS_REGION", "").strip().lower()
    if not value:
        return None
    if value not in CURRENCIES:  # configuration read at start-up never stops an application
        log.warning(
            "qwenobs: QWENOBS_REGION=%r ignored; it must be one of %s", value, tuple(CURRENCIES)
        )
        return None
    return value


def resolve_settings(
    validate: str | None = None,
    capture_content: bool | None = None,
    capture_reasoning: bool | None = None,
    hosts: Iterable[str] = (),
    stream_usage: bool | str | None = None,
    catalog: Catalog | None = None,
    region: str | None = None,
    regions: Mapping[str, str] | None = None,
    genai_cost: bool | None = None,
    budget: Any = None,
    spans_file: str | os.PathLike[str] | None = None,
) -> Settings:
    """Settings from ``instrument()``'s arguments and the environment."""
    for where, value in [
        ("region", region),
        *((f"regions[{h!r}]", r) for h, r in (regions or {}).items()),
    ]:
        if value is not None and value not in CURRENCIES:
            raise ValueError(f"{where} must be one of {tuple(CURRENCIES)}, got {value!r}")
    if region is None:
        region = _env_region()
    if genai_cost is None:
        genai_cost = bool(_env_flag("QWENOBS_GENAI_COST"))
    mode = (validate or os.environ.get("QWENOBS_VALIDATE") or "raise").strip().lower()
    if mode not in VALIDATE_MODES:
        raise ValueError(f"validate must be one of {', '.join(VALIDATE_MODES)}, got {mode!r}")
    if capture_content is None:
        capture_content = bool(_env_flag("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"))
    if capture_reasoning is None:
        capture_reasoning = bool(_env_flag("QWENOBS_CAPTURE_REASONING"))
    env_hosts = [h for h in os.environ.get("QWENOBS_HOSTS", "").split(",") if h.strip()]
    all_hosts = frozenset(h.strip().lower() for h in [*env_hosts, *hosts])
    # The model table is read once here (QWENOBS_CATALOG included), not on every call.
    return Settings(
        mode,
        capture_content,
        capture_reasoning,
        all_hosts,
        _stream_usage_mode(stream_usage),
        catalog_or_active(catalog),
        region,
        {h.lower(): r for h, r in (regions or {}).items()},
        genai_cost,
        Budget.of(budget, "the process budget (instrument(budget=...))"),
        spans_file_path(spans_file),
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
