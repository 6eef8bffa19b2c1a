"""Pure rendering of an answer into DashScope's ``chat.completion`` and ``chat.completion.chunk``."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .script import ToolCall


@dataclass(frozen=True, slots=True)
class Meta:
    """What every body of one response shares."""

    request_id: str
    created: int
    model: str

    @property
    def id(self) -> str:
        return f"chatcmpl-{self.request_id}"


@dataclass(frozen=True, slots=True)
class Outcome:
    """A resolved answer: final text, tool calls with ids, finish reason and usage."""

    content: str | None
    reasoning: str | None
    tool_calls: tuple[ToolCall, ...]
    finish_reason: str
    usage: dict[str, Any]


def usage(
    prompt_tokens: int, cached_tokens: int, text_tokens: int, reasoning_tokens: int
) -> dict[str, Any]:
    # completion_tokens includes the thinking, as DashScope bills it.
    completion = text_tokens + reasoning_tokens
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion,
        "total_tokens": prompt_tokens + completion,
        "prompt_tokens_details": {"cached_tokens": cached_tokens},
        "completion_tokens_details": {
            "reasoning_tokens": reasoning_tokens,
            "text_tokens": text_tokens,
        },
    }


def override_usage(computed: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``computed`` with the keys of ``override`` (details merged); total follows unless given."""
    merged = dict(computed)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    if "total_tokens" not in override:
        merged["total_tokens"] = merged.get("prompt_tokens", 0) + merged.get("completion_tokens", 0)
    return merged


def _envelope(meta: Meta, kind: str, choices: list[Any], usage_: Any) -> dict[str, Any]:
    # DashScope's key order: choices first, id last.
    return {
        "choices": choices,
        "object": kind,
        "usage": usage_,
        "created": meta.created,
        "system_fingerprint": None,
        "model": meta.model,
        "id": meta.id,
    }


def completion(outcome: Outcome, meta: Meta) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": outcome.content or ""}
    if outcome.reasoning:
        message["reasoning_content"] = outcome.reasoning
    if outcome.tool_calls:
        message["tool_calls"] = [
            {
                "function": {"name": call.name, "arguments": call.arguments},
                "index": index,
                "id": call.id,
                "type": "function",
            }
            for index, call in enumerate(outcome.tool_calls)
        ]
    choice = {
        "message": message,
        "finish_reason": outcome.finish_reason,
        "index": 0,
        "logprobs": None,
    }
    return _envelope(meta, "chat.completion", [choice], outcome.usage)


def pieces(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def chunk_count(outcome: Outcome, size: int) -> int:
    """How many chunks the stream of ``outcome`` has (role chunk and finish chunk included)."""
    count = (
        2 + len(pieces(outcome.reasoning or "", size)) + len(pieces(outcome.content or "", size))
    )
    return count + sum(max(1, len(pieces(call.arguments, size))) for call in outcome.tool_calls)


def deltas(outcome: Outcome, size: int) -> Iterator[dict[str, Any]]:
    """The ``delta`` of every chunk before the finish chunk, in DashScope's order."""
    if outcome.reasoning:
        yield {"content": None, "role": "assistant", "reasoning_content": ""}
        for piece in pieces(outcome.reasoning, size):
            yield {"content": None, "reasoning_content": piece}
    else:
        yield {"content": "", "role": "assistant"}
    for piece in pieces(outcome.content or "", size):
        yield {"content": piece}
    for index, call in enumerate(outcome.tool_calls):
        fragments = pieces(call.arguments, size) or [""]
        yield {
            "content": None,
            "tool_calls": [
                {
                    "index": index,
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": fragments[0]},
                }
            ],
        }
        for fragment in fragments[1:]:
            yield {
                "content": None,
                "tool_calls": [
                    {
                        "index": index,
                        "id": "",
                        "type": "function",
                        "function": {"arguments": fragment},
                    }
                ],
            }


def chunks(outcome: Outcome, meta: Meta, size: int, include_usage: bool) -> Iterator[dict]:
    """Every ``chat.completion.chunk`` of the stream, the usage chunk only when asked for."""
    for delta in deltas(outcome, size):
        choice = {"delta": delta, "finish_reason": None, "index": 0, "logprobs": None}
        yield _envelope(meta, "chat.completion.chunk", [choice], None)
    finish = {"delta": {}, "finish_reason": outcome.finish_reason, "index": 0, "logprobs": None}
    yield _envelope(meta, "chat.completion.chunk", [finish], None)
    if include_usage:
        yield _envelope(meta, "chat.completion.chunk", [], outcome.usage)
