"""The request-level rules: parameters, thinking, JSON mode, tools, context window."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..catalog import Catalog, ModelInfo
from ..errors import TokenizerUnavailable
from ..fields import field
from ..tokens import PER_MESSAGE, REPLY_PRIMER, TOOLS_PREAMBLE, VOCABULARIES, slicing_slack
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
    by_default: bool  # thinking is on only because the model thinks unless told not to
    stream_only: bool  # DashScope serves this model only as a stream (Qwen-Omni)

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
        elif mode == "never":  # the switch means nothing to a model without a thinking mode
            thinking = forced = False
        elif flag is not None:
            thinking = forced = bool(flag)
        else:
            thinking = forced = mode == "on"
        by_default = thinking and flag is None and mode == "on"
        stream_only = info.stream_only if info is not None else catalog.stream_only(model)
        if not (isinstance(tools, list | tuple) and tools):
            tools = ()
        summary = toolset(tools) if tools else None
        return cls(params, model, info, tools, summary, thinking, forced, by_default, stream_only)


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
        why = (
            f"{model!r} thinks unless told not to"
            if r.by_default
            else f"thinking is on for {model!r}"
        )
        out.append(
            finding(
                "thinking-requires-stream",
                f"{why}, and DashScope rejects a non-streaming call while thinking "
                "(parameter.enable_thinking must be set to false for non-streaming calls). "
                'Pass stream=True to keep the thinking, or extra_body={"enable_thinking": False} '
                "to answer without it.",
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


def check_unknown_model(r: Request, catalog: Catalog) -> list[Finding]:
    model = r.model
    if model is None or r.info is not None:
        return []
    close = catalog.closest(model)
    if close:
        near = f"Did you mean {' or '.join(repr(c) for c in close)}? "
    elif not model.lower().startswith(("qwen", "qwq")):
        near = "DashScope serves Qwen models; this name looks like another provider's. "
    else:
        near = ""
    return [
        finding(
            "unknown-model",
            f"{model!r} is not in qwenobs's model table, so its input limit, output cap and "
            f"price are unknown. {near}A fine-tuned or newer model can be added in the file "
            "named by QWENOBS_CATALOG (see `qwenobs catalog`).",
            param="model",
        )
    ]


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


def check_modalities(r: Request, conv: Conversation) -> list[Finding]:
    """Image, video or audio parts sent to a model that takes none."""
    info = r.info
    if info is None:
        return []
    return [
        finding(
            "unsupported-modality",
            f"messages[{index}] has {kind} content, but {info.name} takes "
            f"{' and '.join(sorted(info.modalities))} only; DashScope answers "
            "'Unexpected item type in content.' Send it to a model that reads it "
            "(qwen3-vl-plus, qwen3.5-plus, qwen3-omni-flash) or leave it out.",
            index,
            param="messages",
        )
        for kind, index in conv.media.items()
        if kind not in info.modalities
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
    params, info = r.params, r.info
    bad: list[tuple[str, Any, str]] = []  # (parameter, value, accepted range)
    temperature = params.get("temperature")
    if temperature is not None and not (_number(temperature) and 0 <= temperature < 2):
        bad.append(("temperature", temperature, "[0.0, 2.0)"))
    top_p = params.get("top_p")
    if top_p is not None and not (_number(top_p) and 0 < top_p <= 1):
        bad.append(("top_p", top_p, "(0.0, 1.0]"))
    for name in ("max_tokens", "max_completion_tokens", "thinking_budget", "n"):
        value = params.get(name)
        if value is None:
            continue
        if not (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
            bad.append((name, value, "[1, ...] (a positive integer)"))
        elif info is not None and (cap := _cap(info, name, r.thinking)) and value > cap:
            mode = " while thinking" if r.thinking and name != "thinking_budget" else ""
            bad.append((name, value, f"[1, {cap:,}] for {info.name}{mode}"))
    return [
        finding(
            "parameter-range",
            f"{name}={value!r} is outside the accepted range {accepted}; DashScope rejects it. "
            "Use a value inside the range.",
            param=name,
        )
        for name, value, accepted in bad
    ]


def _cap(info: ModelInfo, name: str, thinking: bool) -> int | None:
    if name == "thinking_budget":
        return info.max_thinking_budget
    if name == "n":
        return None
    return info.output_limit(thinking)


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


@functools.cache
def _context_check_skipped(why: str) -> None:
    # Once per process: the check matters only for prompts near the limit, and those repeat.
    logging.getLogger("qwenobs").warning(
        "qwenobs: a prompt may be over its model's input limit, but the context-window check "
        "cannot count its tokens and is skipped: %s",
        why,
    )


def check_context(r: Request, conv: Conversation) -> list[Finding]:
    """The prompt against the model's input limit (DashScope checks ``max_tokens`` apart)."""
    info = r.info
    if info is None or conv.count == 0:
        return []
    limit = info.input_limit(r.thinking)
    # Tokens never outnumber UTF-8 bytes: tokenize only when the byte bound passes the limit.
    bound = conv.text_bytes_bound + PER_MESSAGE * conv.count + _FIXED_TOKENS
    if bound <= limit:
        if r.toolset is None:
            return []
        bound += r.toolset.json_bytes
        if bound <= limit:
            return []
    # A long text is counted in slices, stopping once past the limit: a slice boundary can add a
    # token, so only a count past the limit by more than that proves an overflow.
    slack = slicing_slack(conv.text_bytes_bound)
    try:
        vocabulary = VOCABULARIES[info.vocabulary]
        counted = vocabulary.estimate(r.params.get("messages"), r.tools, limit + slack, conv.tally)
    except TokenizerUnavailable as missing:
        _context_check_skipped(str(missing))
        return []
    if counted <= limit + slack:
        return []
    mode = " with thinking on" if r.thinking and info.max_input_thinking else ""
    return [
        finding(
            "context-overflow",
            f"the prompt has more than {limit:,} tokens, {info.name}'s input limit{mode}; "
            f"DashScope rejects it (Range of input length should be [1, {limit}]). Trim or "
            "summarise the middle of the conversation, or pick a longer-context model.",
            param="messages",
        )
    ]
