"""The request-level rules: parameters, thinking, JSON mode, tools, context window."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..catalog import Catalog, ModelInfo
from ..errors import TokenizerUnavailable
from ..fields import field
from ..tokens import PER_MESSAGE, REPLY_PRIMER, TOOLS_PREAMBLE, estimate_prompt_tokens
from .conversation import Conversation
from .dynamic import dynamic_marker
from .findings import Finding, finding
from .toolset import ToolSet, toolset

_SENTINELS = frozenset({"NotGiven", "Omit"})  # the SDK's "not passed" markers
_FIXED_TOKENS = REPLY_PRIMER + TOOLS_PREAMBLE  # an upper bound of both, with or without tools
# The guide keeps temperatures above 0.7 for creative writing, and finds thinking pulls such
# writing toward a neutral style; the ~0.7 default itself is not flagged.
_CREATIVE_TEMPERATURE = 0.7


@dataclass(slots=True)
class Request:
    """What the rules read, resolved once per request."""

    params: dict[str, Any]  # extra_body merged in (it wins, as on the wire); no SDK sentinels
    model: str | None
    info: ModelInfo | None
    tools: list[Any] | tuple[Any, ...]
    toolset: ToolSet | None  # None without tools
    thinking: bool  # thinking is on
    forced: bool  # thinking was asked for, or the model cannot turn it off

    @classmethod
    def of(cls, request: Mapping[str, Any], catalog: Catalog) -> Request:
        params = merged_params(request)
        model = params.get("model")
        model = model if isinstance(model, str) else None
        info = catalog.lookup(model)
        tools = params.get("tools")
        flag = params.get("enable_thinking")
        mode = info.thinking if info is not None else catalog.thinking(model)
        if mode == "always":
            thinking = forced = True
        elif flag is not None:
            thinking = forced = bool(flag)
        else:
            thinking = forced = mode == "on"
        if isinstance(tools, list | tuple) and tools:
            return cls(params, model, info, tools, toolset(tools), thinking, forced)
        return cls(params, model, info, (), None, thinking, forced)


def merged_params(request: Mapping[str, Any]) -> dict[str, Any]:
    """``request`` as one dict, from SDK kwargs (``extra_body`` nested) or a wire body (merged)."""
    extra = request.get("extra_body")
    if extra is not None and isinstance(extra, Mapping):
        params = {**request, **extra}
        del params["extra_body"]
    else:
        params = request if type(request) is dict else dict(request)
    for value in params.values():
        if value is not None and type(value).__name__ in _SENTINELS:
            return {
                k: v for k, v in params.items() if v is None or type(v).__name__ not in _SENTINELS
            }
    return params


def check_thinking(r: Request) -> list[Finding]:
    out = []
    params, model, thinking = r.params, r.model, r.thinking
    if r.forced and params.get("stream") is not True:
        out.append(
            finding(
                "thinking-requires-stream",
                f"thinking is on for {model!r} but stream is not True; DashScope rejects "
                "non-streaming thinking calls. Pass stream=True, or "
                'extra_body={"enable_thinking": False}.',
                param="stream",
            )
        )
    choice = params.get("tool_choice")
    if thinking and (isinstance(choice, Mapping) or choice == "required"):
        out.append(
            finding(
                "thinking-forced-tool",
                f"tool_choice={_short(choice)} forces a tool while thinking is on; thinking "
                "models accept only 'auto' or 'none'. Turn thinking off for this call.",
                param="tool_choice",
            )
        )
    if thinking and r.tools:
        out.append(
            finding(
                "thinking-with-tools",
                "thinking is on in a tool-calling request; reasoning tends to disturb tool "
                "choice. Consider thinking only for the final answer.",
                param="enable_thinking",
            )
        )
    temperature = params.get("temperature")
    if thinking and _number(temperature) and temperature > _CREATIVE_TEMPERATURE:
        out.append(
            finding(
                "thinking-high-temperature",
                f"thinking is on with temperature={temperature}; above "
                f"{_CREATIVE_TEMPERATURE} is creative writing, where reasoning pulls the style "
                "toward neutral. Turn thinking off for this call, or lower the temperature.",
                param="temperature",
            )
        )
    return out


def is_omni(model: str | None) -> bool:
    """Qwen-Omni models (qwen-omni-turbo, qwen3-omni-flash, qwen2.5-omni-7b, ...)."""
    if model is None or "omni" not in (name := model.lower()):
        return False  # the common case, without splitting the name
    return "omni" in name.split("-")[1:]


def check_omni(r: Request) -> list[Finding]:
    if r.params.get("stream") is True:
        return []
    return [
        finding(
            "omni-requires-stream",
            f"{r.model!r} is a Qwen-Omni model, which DashScope serves only as a stream; "
            "a call without stream=True is rejected. Pass stream=True (and "
            'stream_options={"include_usage": True} to get the usage).',
            param="stream",
        )
    ]


def check_json_mode(r: Request, conv: Conversation) -> list[Finding]:
    fmt = r.params.get("response_format")
    kind = fmt.get("type") if fmt is not None and isinstance(fmt, Mapping) else None
    out = []
    if kind == "json_object" and not conv.mentions_json:
        out.append(
            finding(
                "json-mode-needs-json-word",
                "response_format is json_object but no message contains the word 'json'. "
                "Say it in the system prompt, e.g. 'Reply in JSON: {...}'.",
                param="response_format",
            )
        )
    if kind in ("json_object", "json_schema") and r.thinking:
        out.append(
            finding(
                "json-mode-with-thinking",
                "JSON mode is not supported while thinking is on. Pass "
                'extra_body={"enable_thinking": False} or drop response_format.',
                param="response_format",
            )
        )
    return out


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def check_ranges(r: Request) -> list[Finding]:
    out = []
    params, info = r.params, r.info

    def bad(param: str, value: Any, accepted: str) -> None:
        out.append(
            finding(
                "parameter-range",
                f"{param}={value!r} is outside the accepted range {accepted}; DashScope "
                "rejects it. Use a value inside the range.",
                param=param,
            )
        )

    temperature = params.get("temperature")
    if temperature is not None and not (_number(temperature) and 0 <= temperature < 2):
        bad("temperature", temperature, "[0.0, 2.0)")
    top_p = params.get("top_p")
    if top_p is not None and not (_number(top_p) and 0 < top_p <= 1):
        bad("top_p", top_p, "(0.0, 1.0]")
    for name in ("max_tokens", "max_completion_tokens"):
        value = params.get(name)
        if value is None:
            continue
        if not (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
            bad(name, value, "[1, ...] (a positive integer)")
        elif info is not None and value > info.max_output:
            bad(name, value, f"[1, {info.max_output}] for {info.name}")
    for name in ("thinking_budget", "n"):
        value = params.get(name)
        if value is not None and not (
            isinstance(value, int) and not isinstance(value, bool) and value >= 1
        ):
            bad(name, value, "[1, ...] (a positive integer)")
    return out


def _short(value: Any) -> str:
    text = json.dumps(value) if isinstance(value, Mapping | str) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def check_tools(r: Request) -> list[Finding]:
    tools = r.tools
    choice = r.params.get("tool_choice")
    out = []
    if choice is not None and not tools:
        out.append(
            finding(
                "unknown-tool-choice",
                f"tool_choice={_short(choice)} is set but the request has no tools. "
                "Pass tools=[...] or drop tool_choice.",
                param="tool_choice",
            )
        )
    summary = r.toolset
    if summary is None:
        return out
    if choice is not None and isinstance(choice, Mapping):
        wanted = field(field(choice, "function"), "name")
        if wanted not in summary.names:
            out.append(
                finding(
                    "unknown-tool-choice",
                    f"tool_choice forces function {wanted!r}, which is not among the tools "
                    f"{list(summary.names)}. Use one of those names.",
                    param="tool_choice",
                )
            )
    for name, prop in summary.nested:
        out.append(
            finding(
                "nested-tool-schema",
                f"tool {name!r} nests an object in parameter {prop!r}; Qwen fills flat, "
                "required parameters far more reliably. Flatten it.",
                param="tools",
            )
        )
    for name, loose in summary.optional:
        listed = ", ".join(repr(p) for p in loose)
        out.append(
            finding(
                "nested-tool-schema",
                f"tool {name!r} does not list {listed} in 'required'; Qwen fills flat, required "
                "parameters far more reliably than optional ones. Require every parameter "
                "(a value such as 'any' can stand for 'no preference').",
                param="tools",
            )
        )
    return out


def check_advice(r: Request, conv: Conversation) -> list[Finding]:
    out = []
    params = r.params
    if params.get("max_tokens") is None and params.get("max_completion_tokens") is None:
        out.append(
            finding(
                "max-tokens-unset",
                "no max_tokens: the output is capped only by the model's maximum, so a runaway "
                "generation can cost a lot. Set max_tokens.",
                param="max_tokens",
            )
        )
    if params.get("temperature") is not None and params.get("top_p") is not None:
        out.append(
            finding(
                "temperature-and-top-p",
                "temperature and top_p are both set; change one of them, not both.",
                param="top_p",
            )
        )
    if conv.system_prompt:
        marker = dynamic_marker(conv.system_prompt)
        if marker:
            out.append(
                finding(
                    "dynamic-system-prompt",
                    f"the system prompt contains {marker}, a value that changes per request and "
                    "defeats DashScope's exact-prefix cache. Move it to the last user message.",
                    0,
                )
            )
    return out


def check_context(r: Request, conv: Conversation) -> list[Finding]:
    params, info, tools = r.params, r.info, r.tools
    if info is None or conv.count == 0:
        return []
    reserved = params.get("max_tokens") or params.get("max_completion_tokens") or 0
    if not isinstance(reserved, int):
        reserved = 0
    window = info.context_window
    # Tokens never outnumber UTF-8 bytes: tokenize only when the byte bound reaches the window.
    bound = conv.text_bytes_bound + PER_MESSAGE * conv.count + _FIXED_TOKENS
    if bound + reserved <= window:
        if r.toolset is None:
            return []
        bound += r.toolset.json_bytes
        if bound + reserved <= window:
            return []
    try:
        prompt = estimate_prompt_tokens(params.get("messages"), tools)
    except TokenizerUnavailable:
        return []
    if prompt + reserved <= window:
        return []
    return [
        finding(
            "context-overflow",
            f"the prompt is about {prompt:,} tokens; with max_tokens={reserved:,} that exceeds "
            f"{info.name}'s context window of {window:,}. Trim or summarise the middle of the "
            "conversation, or pick a longer-context model.",
            param="messages",
        )
    ]
