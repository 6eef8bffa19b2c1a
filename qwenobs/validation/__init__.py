"""The request rules: a pure function over chat-completions keyword arguments.

No network, no OpenTelemetry, no openai import: it runs before every traced call, in the fake
DashScope, and in ``qwenobs lint``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..catalog import Catalog, catalog_or_active
from .conversation import Conversation, scan
from .findings import RULES, Finding, Severity
from .rules import (
    Request,
    check_advice,
    check_context,
    check_json_mode,
    check_modalities,
    check_omni,
    check_ranges,
    check_thinking,
    check_tools,
    check_unknown_model,
)

__all__ = ["RULES", "Conversation", "Finding", "Severity", "inspect", "validate"]


def inspect(request: Mapping[str, Any], *, catalog: Catalog | None = None) -> Conversation:
    """Validate ``request`` and return the findings with what the pass learned (tool rounds, size)."""
    if type(request) is not dict and not isinstance(request, Mapping):
        raise TypeError(
            f"a request is a mapping of create() arguments, got {type(request).__name__}"
        )
    catalog = catalog_or_active(catalog)
    r = Request.of(request, catalog)
    fmt = r.params.get("response_format")
    want_json = fmt is not None and isinstance(fmt, Mapping) and fmt.get("type") == "json_object"
    conv = scan(r.params.get("messages"), want_json_word=want_json)
    found = conv.findings
    # Each rule runs only when the request has what it checks: this runs before every call.
    if r.thinking or r.forced:
        found += check_thinking(r)
    if r.stream_only:
        found += check_omni(r)
    if conv.media:
        found += check_modalities(r, conv)
    if fmt is not None:
        found += check_json_mode(r, conv)
    found += check_ranges(r)
    if r.tools or r.params.get("tool_choice") is not None:
        found += check_tools(r)
    found += check_context(r, conv)
    found += check_advice(r, conv)
    if r.info is None:
        found += check_unknown_model(r, catalog)
    return conv


def validate(request: Mapping[str, Any], *, catalog: Catalog | None = None) -> list[Finding]:
    """Every problem DashScope would reject (errors) or that costs you (warnings), in message order.

    ``request`` holds the keyword arguments of ``client.chat.completions.create(...)``
    (``extra_body`` nested) or a wire body (``enable_thinking`` at the top). Messages may be dicts
    or the SDK's message objects. ``catalog``: the model table (default: the built-in one with
    ``QWENOBS_CATALOG``'s corrections).
    """
    return inspect(request, catalog=catalog).findings
