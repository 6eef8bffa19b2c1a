"""Pure functions: a request, a completion or a finished stream -> span attribute dicts.

Responses are read defensively: the SDK's pydantic objects or plain dicts, with any field missing,
null or of an odd type. Nothing here raises on what the wire can send.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping
from typing import Any

from . import semconv as sc
from .catalog.prices import Prices
from .fields import field, jsonable, message_text
from .scrub import SCRUBBED, SECRET_JSON_KEYS
from .streaming import StreamState


def request_attributes(params: Mapping[str, Any], stream: bool) -> dict:
    """Attributes known before sending, from the request body with ``extra_body`` merged in."""
    get = params.get
    model = get("model")
    attrs: dict[str, Any] = {
        sc.OPERATION: sc.OPERATION_CHAT,
        sc.PROVIDER: sc.PROVIDER_NAME,
        sc.REQUEST_MODEL: model if isinstance(model, str) else "unknown",
        sc.REQUEST_STREAM: bool(stream),
    }
    max_tokens = get("max_tokens")
    if type(max_tokens) is not int or max_tokens == 0:
        fallback = get("max_completion_tokens")
        if type(fallback) is int:
            max_tokens = fallback
    if type(max_tokens) is int:
        attrs[sc.REQUEST_MAX_TOKENS] = max_tokens
    temperature = get("temperature")
    if type(temperature) in (int, float):
        attrs[sc.REQUEST_TEMPERATURE] = temperature
    top_p = get("top_p")
    if type(top_p) in (int, float):
        attrs[sc.REQUEST_TOP_P] = top_p
    seed = get("seed")
    if type(seed) is int:
        attrs[sc.REQUEST_SEED] = seed
    stop = get("stop")
    if stop is not None:
        if isinstance(stop, str):
            attrs[sc.REQUEST_STOP] = (stop,)
        elif isinstance(stop, list | tuple) and all(isinstance(s, str) for s in stop):
            attrs[sc.REQUEST_STOP] = tuple(stop)
    n = get("n")
    if type(n) is int and n != 1:
        attrs[sc.REQUEST_CHOICE_COUNT] = n
    thinking = get("enable_thinking")
    if type(thinking) is bool:
        attrs[sc.THINKING] = thinking
    budget = get("thinking_budget")
    if type(budget) is int:
        attrs[sc.THINKING_BUDGET] = budget
    return attrs


def usage_attributes(usage: Any) -> dict:
    """Token counts of a response's ``usage``, those that are integers."""
    attrs: dict[str, Any] = {}
    if usage is not None:
        _add_usage(attrs, usage)
    return attrs


def _add_usage(attrs: dict[str, Any], usage: Any) -> None:
    # dict.get for decoded JSON, getattr for SDK objects: the same (obj, name, default).
    get = dict.get if isinstance(usage, dict) else getattr
    value = get(usage, "prompt_tokens", None)
    if type(value) is int:
        attrs[sc.USAGE_INPUT] = value
    value = get(usage, "completion_tokens", None)
    if type(value) is int:
        attrs[sc.USAGE_OUTPUT] = value
    details = get(usage, "prompt_tokens_details", None)
    if details is not None:
        value = (dict.get if isinstance(details, dict) else getattr)(details, "cached_tokens", None)
        if type(value) is int:
            attrs[sc.USAGE_CACHE_READ] = value
    details = get(usage, "completion_tokens_details", None)
    if details is not None:
        get = dict.get if isinstance(details, dict) else getattr
        value = get(details, "reasoning_tokens", None)
        if type(value) is int:
            attrs[sc.USAGE_REASONING] = value


def completion_attributes(completion: Any) -> dict:
    """Attributes of a non-streaming ``chat.completion``."""
    get = dict.get if isinstance(completion, dict) else getattr  # the same (obj, name, default)
    attrs: dict[str, Any] = {}
    response_id, model = get(completion, "id", None), get(completion, "model", None)
    if isinstance(response_id, str):
        attrs[sc.RESPONSE_ID] = response_id
    if isinstance(model, str):
        attrs[sc.RESPONSE_MODEL] = model
    choices = get(completion, "choices", None)
    if isinstance(choices, list):
        reasons, reasoning_chars, tool_calls = [], 0, 0
        for choice in choices:
            get_choice = dict.get if isinstance(choice, dict) else getattr
            reason = get_choice(choice, "finish_reason", None)
            if isinstance(reason, str):
                reasons.append(reason)
            message = get_choice(choice, "message", None)
            if message is None:
                continue
            if isinstance(message, dict):
                reasoning, calls = message.get("reasoning_content"), message.get("tool_calls")
            else:
                # Not a declared SDK field: read from pydantic's extras (getattr on an absent
                # name raises inside pydantic).
                extras = getattr(message, "__pydantic_extra__", None)
                reasoning = (
                    extras.get("reasoning_content")
                    if extras is not None
                    else getattr(message, "reasoning_content", None)
                )
                calls = getattr(message, "tool_calls", None)
            if isinstance(reasoning, str):
                reasoning_chars += len(reasoning)
            if isinstance(calls, list):
                tool_calls += len(calls)
        if reasons:
            attrs[sc.RESPONSE_FINISH_REASONS] = tuple(reasons)
        if reasoning_chars:
            attrs[sc.REASONING_CHARS] = reasoning_chars
        attrs[sc.RESPONSE_TOOL_CALLS] = tool_calls
    usage = get(completion, "usage", None)
    if usage is not None:
        _add_usage(attrs, usage)
    return attrs


def cost_attributes(
    amount: float, prices: Prices, tier: str, savings: float, genai: bool = False
) -> dict[str, Any]:
    """The call's price (``cost.charge``'s figures under ``prices``); with ``genai``, also the
    GenAI conventions' proposed cost attributes."""
    attrs: dict[str, Any] = {
        sc.COST_AMOUNT: amount,
        sc.COST_CURRENCY: prices.currency,
        sc.COST_TIER: tier,
        sc.COST_PRICES_AS_OF: prices.as_of,
        sc.COST_CACHE_SAVINGS: savings,
    }
    if genai:
        attrs[sc.GENAI_COST_AMOUNT] = amount
        attrs[sc.GENAI_COST_CURRENCY] = prices.currency
        attrs[sc.GENAI_COST_SOURCE] = "local"
    return attrs


def completion_tool_calls(completion: Any) -> Iterator[tuple[Any, Any]]:
    """(id, name) of each tool call a non-streaming completion asks for."""
    choices = field(completion, "choices")
    if not isinstance(choices, list):
        return
    for choice in choices:
        calls = field(field(choice, "message"), "tool_calls")
        for call in calls if isinstance(calls, list) else ():
            yield field(call, "id"), field(field(call, "function"), "name")


def stream_attributes(state: StreamState, how: str, started: float) -> dict:
    """Attributes of a finished stream: what its chunks showed, and how it ended (``how``).
    ``started`` is the call's start on the ``time.perf_counter`` clock the state uses."""
    attrs: dict[str, Any] = {sc.STREAM_END: how, sc.RESPONSE_TOOL_CALLS: state.tool_calls}
    if isinstance(state.response_id, str):
        attrs[sc.RESPONSE_ID] = state.response_id
    if isinstance(state.model, str):
        attrs[sc.RESPONSE_MODEL] = state.model
    if state.saw_finish:
        attrs[sc.RESPONSE_FINISH_REASONS] = tuple(
            state.saw_finish[i] for i in sorted(state.saw_finish)
        )
    if state.reasoning_chars:
        attrs[sc.REASONING_CHARS] = state.reasoning_chars
    if state.first_chunk_at is not None:
        attrs[sc.RESPONSE_TTFC] = state.first_chunk_at - started
    if state.first_content_at is not None:
        attrs[sc.TIME_TO_FIRST_CONTENT] = state.first_content_at - started
    if state.usage is not None:
        attrs.update(usage_attributes(state.usage))
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


def input_parts(messages: list[Any]) -> tuple[list[dict], list[dict]]:
    """The system instructions and the other messages in the GenAI conventions' JSON shape: what
    gen_ai.system_instructions and gen_ai.input.messages hold (replay compares in this shape)."""
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
    return system, others


_NOT_PARAMETERS = frozenset({"messages", "tools"})


def content_request_attributes(body: Mapping[str, Any], params: Mapping[str, Any]) -> dict:
    """gen_ai.system_instructions, gen_ai.input.messages and gen_ai.tool.definitions as JSON, and
    the other parameters sent (``params``: the body with ``extra_body`` merged in)."""
    attrs = {}
    parameters = {
        k: SCRUBBED if k.lower() in SECRET_JSON_KEYS else v
        for k, v in params.items()
        if k not in _NOT_PARAMETERS
    }
    attrs[sc.REQUEST_PARAMETERS] = json.dumps(
        parameters, ensure_ascii=False, sort_keys=True, default=jsonable
    )
    messages = body.get("messages")
    if isinstance(messages, list):
        system, others = input_parts(messages)
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
