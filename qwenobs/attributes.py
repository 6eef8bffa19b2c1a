"""Pure functions: request keyword arguments and responses -> span attribute dicts.

Responses are read defensively: the SDK's pydantic objects or plain dicts, with any field missing,
null or of an odd type. Nothing here raises on what the wire can send.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from typing import Any

from . import semconv as sc
from .fields import field, jsonable, message_text


def _int(value: Any) -> int | None:
    return value if type(value) is int else None


def _num(value: Any) -> float | int | None:
    return value if type(value) in (int, float) else None


def request_attributes(
    body: Mapping[str, Any], extra: Mapping[str, Any] | None, stream: bool
) -> dict:
    """Attributes known before sending. ``extra`` is the SDK's ``extra_body`` (it wins, as on the wire)."""

    def param(key: str) -> Any:
        if extra is not None and key in extra:
            return extra[key]
        return body.get(key)

    model = param("model")
    attrs: dict[str, Any] = {
        sc.OPERATION: "chat",
        sc.PROVIDER: sc.PROVIDER_NAME,
        sc.REQUEST_MODEL: model if isinstance(model, str) else "unknown",
        sc.REQUEST_STREAM: bool(stream),
    }
    max_tokens = _int(param("max_tokens")) or _int(param("max_completion_tokens"))
    if max_tokens is not None:
        attrs[sc.REQUEST_MAX_TOKENS] = max_tokens
    for key, name in ((sc.REQUEST_TEMPERATURE, "temperature"), (sc.REQUEST_TOP_P, "top_p")):
        value = _num(param(name))
        if value is not None:
            attrs[key] = value
    seed = _int(param("seed"))
    if seed is not None:
        attrs[sc.REQUEST_SEED] = seed
    stop = param("stop")
    if isinstance(stop, str):
        attrs[sc.REQUEST_STOP] = (stop,)
    elif isinstance(stop, list | tuple) and all(isinstance(s, str) for s in stop):
        attrs[sc.REQUEST_STOP] = tuple(stop)
    n = _int(param("n"))
    if n is not None and n != 1:
        attrs[sc.REQUEST_CHOICE_COUNT] = n
    thinking = param("enable_thinking")
    if isinstance(thinking, bool):
        attrs[sc.THINKING] = thinking
    budget = _int(param("thinking_budget"))
    if budget is not None:
        attrs[sc.THINKING_BUDGET] = budget
    return attrs


def usage_attributes(usage: Any) -> dict:
    if usage is None:
        return {}
    attrs = {}
    for key, name in ((sc.USAGE_INPUT, "prompt_tokens"), (sc.USAGE_OUTPUT, "completion_tokens")):
        value = _int(field(usage, name))
        if value is not None:
            attrs[key] = value
    cached = _int(field(field(usage, "prompt_tokens_details"), "cached_tokens"))
    if cached is not None:
        attrs[sc.USAGE_CACHE_READ] = cached
    reasoning = _int(field(field(usage, "completion_tokens_details"), "reasoning_tokens"))
    if reasoning is not None:
        attrs[sc.USAGE_REASONING] = reasoning
    return attrs


def response_attributes(completion: Any) -> dict:
    """Attributes of a non-streaming ``chat.completion``."""
    attrs: dict[str, Any] = {}
    response_id, model = field(completion, "id"), field(completion, "model")
    if isinstance(response_id, str):
        attrs[sc.RESPONSE_ID] = response_id
    if isinstance(model, str):
        attrs[sc.RESPONSE_MODEL] = model
    choices = field(completion, "choices")
    if isinstance(choices, list):
        reasons, reasoning_chars, tool_calls = [], 0, 0
        for choice in choices:
            reason = field(choice, "finish_reason")
            if isinstance(reason, str):
                reasons.append(reason)
            message = field(choice, "message")
            reasoning = field(message, "reasoning_content")
            if isinstance(reasoning, str):
                reasoning_chars += len(reasoning)
            calls = field(message, "tool_calls")
            if isinstance(calls, list):
                tool_calls += len(calls)
        if reasons:
            attrs[sc.RESPONSE_FINISH_REASONS] = tuple(reasons)
        if reasoning_chars:
            attrs[sc.REASONING_CHARS] = reasoning_chars
        attrs[sc.RESPONSE_TOOL_CALLS] = tool_calls
    attrs.update(usage_attributes(field(completion, "usage")))
    return attrs


# --- message content (opt-in), in the GenAI JSON schema -------------------------------------


def _parts(message: Any, capture_reasoning: bool) -> list[dict]:
    parts: list[dict] = []
    reasoning = field(message, "reasoning_content")
    if capture_reasoning and isinstance(reasoning, str) and reasoning:
        parts.append({"type": "reasoning", "content": reasoning})
    text = message_text(field(message, "content"))
    if field(message, "role") == "tool":
        parts.append(
            {"type": "tool_call_response", "id": field(message, "tool_call_id"), "response": text}
        )
        return parts
    if text:
        parts.append({"type": "text", "content": text})
    for call in field(message, "tool_calls") or ():
        function = field(call, "function")
        arguments = field(function, "arguments")
        with contextlib.suppress(ValueError):
            arguments = json.loads(arguments) if isinstance(arguments, str) else arguments
        parts.append(
            {
                "type": "tool_call",
                "id": field(call, "id"),
                "name": field(function, "name"),
                "arguments": arguments,
            }
        )
    return parts


def content_request_attributes(body: Mapping[str, Any]) -> dict:
    """gen_ai.system_instructions, gen_ai.input.messages and gen_ai.tool.definitions as JSON."""
    attrs = {}
    messages = body.get("messages")
    if isinstance(messages, list):
        system = [
            {"type": "text", "content": message_text(field(m, "content"))}
            for m in messages
            if field(m, "role") == "system"
        ]
        others = [
            {"role": field(m, "role"), "parts": _parts(m, capture_reasoning=False)}
            for m in messages
            if field(m, "role") != "system"
        ]
        if system:
            attrs[sc.SYSTEM_INSTRUCTIONS] = json.dumps(system, ensure_ascii=False)
        attrs[sc.INPUT_MESSAGES] = json.dumps(others, ensure_ascii=False, default=str)
    tools = body.get("tools")
    if isinstance(tools, list) and tools:
        attrs[sc.TOOL_DEFINITIONS] = json.dumps(tools, ensure_ascii=False, default=jsonable)
    return attrs


def output_messages_attribute(messages: list[tuple[Any, Any]], capture_reasoning: bool) -> dict:
    """gen_ai.output.messages from (message, finish_reason) pairs."""
    out = [
        {"role": "assistant", "parts": _parts(m, capture_reasoning), "finish_reason": reason}
        for m, reason in messages
    ]
    return {sc.OUTPUT_MESSAGES: json.dumps(out, ensure_ascii=False, default=str)}


def completion_messages(completion: Any) -> list[tuple[Any, Any]]:
    choices = field(completion, "choices")
    if not isinstance(choices, list):
        return []
    return [(field(c, "message"), field(c, "finish_reason")) for c in choices]
