"""The request rules: a pure function over chat-completions keyword arguments.

No network, no OpenTelemetry, no openai import: it runs before every traced call, in the fake
DashScope, and in ``qwenobs lint``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..catalog import DEFAULT_CATALOG, Catalog
from .conversation import Conversation, scan
from .findings import RULES, Finding, Severity
from .rules import (
    Params,
    check_advice,
    check_context,
    check_json_mode,
    check_ranges,
    check_thinking,
    check_tools,
    thinking_state,
)

__all__ = ["RULES", "Conversation", "Finding", "Severity", "inspect", "validate"]


def inspect(request: Mapping[str, Any], *, catalog: Catalog = DEFAULT_CATALOG) -> Conversation:
    """Validate ``request`` and return the findings with what the pass learned (tool rounds, size)."""
    if not isinstance(request, Mapping):
        raise TypeError(
            f"a request is a mapping of create() arguments, got {type(request).__name__}"
        )
    params = Params(request)
    fmt = params.get("response_format")
    want_json = isinstance(fmt, Mapping) and fmt.get("type") == "json_object"
    conv = scan(params.get("messages"), want_json_word=want_json)
    thinking, forced = thinking_state(params, catalog)
    found = conv.findings
    found += check_thinking(params, thinking, forced)
    found += check_json_mode(params, conv, thinking)
    found += check_ranges(params, catalog)
    found += check_tools(params)
    found += check_context(params, conv, catalog)
    found += check_advice(params, conv)
    return conv


def validate(request: Mapping[str, Any], *, catalog: Catalog = DEFAULT_CATALOG) -> list[Finding]:
    """Every problem DashScope would reject (errors) or that costs you (warnings), in message order.

    ``request`` holds the keyword arguments of ``client.chat.completions.create(...)``
    (``extra_body`` nested) or a wire body (``enable_thinking`` at the top). Messages may be dicts
    or the SDK's message objects.
    """
    return inspect(request, catalog=catalog).findings
