"""What a stream has shown so far: the pure accumulator a stream proxy feeds chunk by chunk.

Pure: no SDK, no OpenTelemetry. It reads the openai SDK's chunk objects by attribute (fast) and
anything else, decoded JSON included, through a lenient view.
"""

from __future__ import annotations

import time
from typing import Any

from .fields import field


class StreamState:
    """What a stream has shown so far. Pure: fed chunk by chunk, read at the end."""

    __slots__ = (
        "capture",
        "first_chunk_at",
        "first_content_at",
        "messages",
        "model",
        "reasoning_chars",
        "response_id",
        "saw_finish",
        "tool_call_names",
        "tool_calls",
        "usage",
    )

    def __init__(self, capture: bool = False) -> None:
        self.capture = capture  # keep the text for gen_ai.output.messages
        self.first_chunk_at: float | None = None
        self.first_content_at: float | None = None
        self.response_id: Any = None
        self.model: Any = None
        self.reasoning_chars = 0
        self.tool_calls = 0
        self.tool_call_names: list[
            tuple[Any, Any]
        ] = []  # (id, name) as the first delta of each says
        self.usage: Any = None
        self.saw_finish: dict[int, str] = {}
        self.messages: dict[int, dict] = {}

    def add(self, chunk: Any) -> bool:
        """Take one chunk (an SDK chunk object); True when it is a usage-only chunk.

        Runs once per chunk, so it reads the SDK's fields as plain attributes; the proxy treats
        an error here as an internal one (logged once, the chunk still reaches the user).
        """
        try:
            usage, choices = chunk.usage, chunk.choices
        except AttributeError:  # decoded JSON (Stream[dict]) or a model of the caller's own
            return self.add(_Lenient(chunk))
        if self.first_chunk_at is None:
            self.first_chunk_at = time.perf_counter()
            self.response_id = getattr(chunk, "id", None)
            self.model = getattr(chunk, "model", None)
        if usage is not None:
            self.usage = usage
        if not choices or type(choices) is not list:
            return usage is not None and not choices
        # Below the chunk, the SDK passes odd wire values through as they are: read with defaults.
        for choice in choices:
            delta = getattr(choice, "delta", None)
            if delta is None:
                continue
            content = getattr(delta, "content", None)
            if content and self.first_content_at is None:
                self.first_content_at = time.perf_counter()
            # reasoning_content is not a declared SDK field: it lives in pydantic's extras
            # (pydantic 1 keeps extras as plain attributes).
            extra = getattr(delta, "__pydantic_extra__", None)
            if extra is not None:
                reasoning = extra.get("reasoning_content")
            else:
                reasoning = getattr(delta, "reasoning_content", None)
            if reasoning and type(reasoning) is str:
                self.reasoning_chars += len(reasoning)
            calls = getattr(delta, "tool_calls", None)
            if calls and type(calls) is list:
                for call in calls:
                    call_id = getattr(call, "id", None)
                    if call_id:  # continuations carry "id": ""
                        self.tool_calls += 1
                        function = getattr(call, "function", None)
                        self.tool_call_names.append((call_id, getattr(function, "name", None)))
            reason = getattr(choice, "finish_reason", None)
            if reason or self.capture:
                index = getattr(choice, "index", None)
                index = index if type(index) is int else 0
                if reason:
                    self.saw_finish[index] = reason
                if self.capture:
                    self._keep(index, content, reasoning, calls)
        return False

    def _keep(self, index: int, content: Any, reasoning: Any, calls: Any) -> None:
        message = self.messages.setdefault(
            index, {"content": "", "reasoning_content": "", "calls": {}}
        )
        if isinstance(content, str):
            message["content"] += content
        if isinstance(reasoning, str):
            message["reasoning_content"] += reasoning
        for call in calls if type(calls) is list else ():
            slot = message["calls"].setdefault(
                field(call, "index") or 0, {"id": None, "name": "", "args": ""}
            )
            slot["id"] = slot["id"] or field(call, "id") or None
            function = field(call, "function")
            slot["name"] += field(function, "name") or ""
            slot["args"] += field(function, "arguments") or ""

    def output_messages(self) -> list[tuple[dict, Any]]:
        out = []
        for index in sorted(self.messages):
            message = self.messages[index]
            calls = [
                {"id": c["id"], "function": {"name": c["name"], "arguments": c["args"]}}
                for _, c in sorted(message["calls"].items())
            ]
            out.append(
                (
                    {
                        "role": "assistant",
                        "content": message["content"],
                        "reasoning_content": message["reasoning_content"],
                        "tool_calls": calls,
                    },
                    self.saw_finish.get(index),
                )
            )
        return out


class _Lenient:
    """A chunk that is not the SDK's (decoded JSON, or a model of the caller's own) read like one:
    fields as attributes, absent ones None."""

    __slots__ = ("_of",)

    def __init__(self, of: Any) -> None:
        self._of = of

    def __getattr__(self, name: str) -> Any:
        of = self._of
        if isinstance(of, dict):
            if name == "__pydantic_extra__":  # where add() looks for reasoning_content
                return of
            value = of.get(name)
        else:
            value = getattr(of, name, None)
            if name == "__pydantic_extra__":
                return value
        if isinstance(value, list):
            return [_lenient(v) for v in value]
        return _lenient(value)


def _lenient(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float):
        return value
    return _Lenient(value)


def is_usage_only(chunk: Any) -> bool:
    """True for the usage-only chunk a stream ends with when usage was asked for."""
    view = _Lenient(chunk)
    try:
        return not view.choices and view.usage is not None
    except Exception:
        return False
