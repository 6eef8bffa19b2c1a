"""What ``instrument()`` was asked for: the settings, the validate modes, and how arguments and the
environment resolve into them (arguments win over the environment, the environment over defaults).

A wrong argument raises, naming it. A wrong environment value never does: configuration read at
start-up (``opentelemetry-instrument`` users meet it first) must not crash the application, so it
is logged once on the ``qwenobs`` logger and the default is used instead.
"""

from __future__ import annotations

import functools
import importlib.util
import ipaddress
import logging
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import checks
from .budgets import Budget
from .catalog import DEFAULT_CATALOG, Catalog, catalog_or_active
from .catalog.prices import CURRENCIES

log = logging.getLogger("qwenobs")

VALIDATE_MODES = ("raise", "warn", "off")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")
_WHERE = "qwenobs.instrument()"
_HOST_NAME = re.compile(r"[a-z0-9]([a-z0-9_.-]*[a-z0-9])?")
_A_HOST = "a host name such as 'llm-proxy.internal' (no scheme, port or path)"


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


def resolve_settings(
    validate: str | None = None,
    capture_content: bool | None = None,
    capture_reasoning: bool | None = None,
    hosts: str | Iterable[str] = (),
    stream_usage: bool | str | None = None,
    catalog: Catalog | None = None,
    region: str | None = None,
    regions: Mapping[str, str] | None = None,
    genai_cost: bool | None = None,
    budget: Any = None,
    spans_file: str | os.PathLike[str] | None = None,
) -> Settings:
    """Settings from ``instrument()``'s arguments and the environment."""
    checks.flag(_WHERE, "capture_content", capture_content, optional=True)
    checks.flag(_WHERE, "capture_reasoning", capture_reasoning, optional=True)
    checks.flag(_WHERE, "genai_cost", genai_cost, optional=True)
    if catalog is not None and not isinstance(catalog, Catalog):
        raise checks.wrong_type(_WHERE, "catalog", catalog, "a qwenobs.Catalog or None")
    mode = _mode(validate) if validate is not None else _env_mode()
    if capture_content is None:
        capture_content = _env_flag("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT")
    if capture_reasoning is None:
        capture_reasoning = _env_flag("QWENOBS_CAPTURE_REASONING")
    if genai_cost is None:
        genai_cost = _env_flag("QWENOBS_GENAI_COST")
    return Settings(
        mode,
        capture_content,
        capture_reasoning,
        frozenset([*_env_hosts(), *host_names(hosts)]),
        _stream_usage_mode(stream_usage),
        # The model table is read once here (QWENOBS_CATALOG included), not on every call.
        catalog_or_active(catalog),
        _region(region) if region is not None else _env_region(),
        _regions(regions),
        genai_cost,
        Budget.of(budget, "the process budget (instrument(budget=...))"),
        spans_file_path(spans_file),
    )


def _region(value: Any, name: str = "region") -> str:
    accepted = f"one of {', '.join(CURRENCIES)}"
    if not isinstance(value, str):
        raise checks.wrong_type(_WHERE, name, value, accepted)
    if value not in CURRENCIES:
        raise checks.wrong_value(_WHERE, name, value, accepted)
    return value


def _regions(value: Any) -> dict[str, str]:
    checks.mapping(_WHERE, "regions", value)
    out = {}
    for host, region in (value or {}).items():
        [name] = host_names([host], _WHERE, "regions")
        out[name] = _region(region, f"regions[{host!r}]")
    return out


def _stream_usage_mode(value: bool | str | None) -> str:
    """``stream_usage=`` (True, False or "all"), else QWENOBS_STREAM_USAGE, as a mode."""
    if value is None:
        return _env_stream_usage()
    if value is True or value is False:
        return "dashscope" if value else "off"
    if value == "all":
        return "all"
    accepted = "True, False or 'all' (or None for QWENOBS_STREAM_USAGE)"
    if isinstance(value, str):
        raise checks.wrong_value(_WHERE, "stream_usage", value, accepted)
    raise checks.wrong_type(_WHERE, "stream_usage", value, accepted)


def spans_file_path(argument: str | os.PathLike[str] | None) -> str | None:
    """The spans file ``instrument()`` writes: its ``spans_file`` argument, else the
    QWENOBS_SPANS_FILE environment variable; None for no file."""
    if argument is not None:
        accepted = "a file path (str or os.PathLike) or None"
        if not isinstance(argument, str | os.PathLike):
            raise checks.wrong_type(_WHERE, "spans_file", argument, accepted)
        if not os.fspath(argument):
            raise checks.wrong_value(_WHERE, "spans_file", argument, "a non-empty file path")
        return os.fspath(argument)
    path = os.environ.get("QWENOBS_SPANS_FILE", "").strip()
    if path and importlib.util.find_spec("opentelemetry.sdk") is None:
        bad_environment(
            "QWENOBS_SPANS_FILE",
            path,
            "a path, with the spans-file extra installed (pip install 'qwenobs[spans-file]')",
            "no spans file",
        )
        return None
    return path or None


def host_names(hosts: Any, where: str = _WHERE, argument: str = "hosts") -> list[str]:
    """``hosts`` as lower-case host names: one comma-separated str (like ``QWENOBS_HOSTS``) or an
    iterable of them. A URL, a port or an empty name raises ValueError naming ``argument``."""
    if isinstance(hosts, str):
        names = [name for name in hosts.split(",") if name.strip()]
    elif isinstance(hosts, Iterable) and not isinstance(hosts, bytes):
        names = list(hosts)
    else:
        raise checks.wrong_type(where, argument, hosts, "a host name, or a list of host names")
    listed = "a mapping keyed by host names" if argument == "regions" else "a list of host names"
    out = []
    for name in names:
        if not isinstance(name, str):
            kind = "a mapping keyed by str" if argument == "regions" else "a list of str"
            raise checks.wrong_type(where, argument, name, f"{kind}, each {_A_HOST}")
        if not _is_host(host := name.strip().lower()):
            error = checks.wrong_value(where, argument, name, f"{listed}, each {_A_HOST}")
            url_host = _host_of_url(host)
            if url_host is not None:
                raise ValueError(f"{error} (the host of that URL is {url_host!r})")
            raise error
        out.append(host)
    return out


def _host_of_url(text: str) -> str | None:
    """The host name in ``text`` when it is a URL or host:port, else None."""
    from urllib.parse import urlsplit

    try:
        host = urlsplit(text if "://" in text else f"//{text}").hostname
    except ValueError:
        return None
    return host if host and host != text and _is_host(host) else None


def _is_host(name: str) -> bool:
    if _HOST_NAME.fullmatch(name):
        return True
    try:
        return isinstance(ipaddress.ip_address(name), ipaddress.IPv6Address)
    except ValueError:
        return False


def _mode(value: Any) -> str:
    accepted = f"one of {', '.join(VALIDATE_MODES)} (or None for QWENOBS_VALIDATE)"
    if not isinstance(value, str):
        raise checks.wrong_type(_WHERE, "validate", value, accepted)
    mode = value.strip().lower()
    if mode not in VALIDATE_MODES:
        raise checks.wrong_value(_WHERE, "validate", value, accepted)
    return mode


# -- the environment: a bad value is logged once and the default used ---------------------------


@functools.cache
def bad_environment(
    name: str, value: str, accepted: str, default: str, entry: bool = False
) -> None:
    # Cached: each bad value is logged once per process, however often instrument() runs.
    what = f"{value!r} in {name}" if entry else f"{name}={value!r}"
    log.warning("qwenobs: ignoring %s: expected %s; using %s", what, accepted, default)


def _env_mode() -> str:
    value = os.environ.get("QWENOBS_VALIDATE")
    if value is None or not value.strip():
        return "raise"
    mode = value.strip().lower()
    if mode in VALIDATE_MODES:
        return mode
    bad_environment("QWENOBS_VALIDATE", value, "raise, warn or off", "the default, raise")
    return "raise"


def _env_flag(name: str) -> bool:
    value = os.environ.get(name)
    if value is None:
        return False
    flag = value.strip().lower()
    if flag in _TRUE:
        return True
    if flag not in _FALSE:
        bad_environment(name, value, "true or false (1/0, yes/no, on/off)", "the default, false")
    return False


def _env_hosts() -> list[str]:
    out = []
    for entry in os.environ.get("QWENOBS_HOSTS", "").split(","):
        host = entry.strip().lower()
        if not host:
            continue  # a stray or trailing comma
        if _is_host(host):
            out.append(host)
        elif (url_host := _host_of_url(host)) is not None:
            out.append(url_host)  # the variable is read at start-up: take what was meant
            _noted_url_host(entry.strip(), url_host)
        else:
            bad_environment(
                "QWENOBS_HOSTS",
                entry.strip(),
                f"comma-separated host names, each {_A_HOST}",
                "the other hosts listed",
                entry=True,
            )
    return out


@functools.cache
def _noted_url_host(entry: str, host: str) -> None:
    log.warning("qwenobs: QWENOBS_HOSTS lists the URL %r; using its host %r", entry, host)


def _env_region() -> str | None:
    value = os.environ.get("QWENOBS_REGION")
    if value is None or not value.strip():
        return None
    region = value.strip().lower()
    if region in CURRENCIES:
        return region
    bad_environment("QWENOBS_REGION", value, " or ".join(CURRENCIES), "each host's own region")
    return None


def _env_stream_usage() -> str:
    value = os.environ.get("QWENOBS_STREAM_USAGE")
    if value is None:
        return "dashscope"
    word = value.strip().lower()
    if word == "all":
        return "all"
    if word in _TRUE:
        return "dashscope"
    if word in _FALSE and word:
        return "off"
    bad_environment(
        "QWENOBS_STREAM_USAGE", value, "true, false or all", "the default, DashScope hosts only"
    )
    return "dashscope"
