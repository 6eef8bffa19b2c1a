"""Stream proxies and the pure accumulator behind them.

The proxies stay an ``openai.Stream`` / ``AsyncStream`` to the user (wrapt forwards everything else,
isinstance included) and keep their state in ``_self_*``. The call's span ends exactly once: on
exhaustion, close, ``with`` exit, an error, or garbage collection of an abandoned stream.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Protocol

import wrapt

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


def _usage_only(chunk: Any) -> bool:
    view = _Lenient(chunk)
    try:
        return not view.choices and view.usage is not None
    except Exception:
        return False


class StreamOwner(Protocol):
    """The traced call a stream reports to (patch.TracedCall)."""

    def stream_chunk_failed(self, exc: Exception) -> None: ...

    def end_stream(self, state: StreamState, how: str, error: BaseException | None) -> None: ...


class _TracedStreamBase(wrapt.ObjectProxy):
    def __init__(
        self, stream: Any, owner: StreamOwner, state: StreamState, hide_usage: bool
    ) -> None:
        super().__init__(stream)
        self._self_owner = owner
        self._self_state = state
        self._self_add = state.add  # bound once: this runs for every chunk
        self._self_hide_usage = hide_usage  # qwenobs asked for the usage chunk; the user did not
        self._self_ended = False

    def _self_failed(self, chunk: Any, exc: Exception) -> bool:
        """Observing ``chunk`` raised: log it; True when the user must still not see it."""
        self._self_owner.stream_chunk_failed(exc)
        # Still hide the chunk qwenobs asked for: the user must see what they asked for.
        return _usage_only(chunk) and self._self_hide_usage

    def _self_end(self, how: str, error: BaseException | None = None) -> None:
        if self._self_ended:
            return
        self._self_ended = True
        self._self_owner.end_stream(self._self_state, how, error)

    def __del__(self) -> None:
        if not self._self_ended:
            self._self_end("abandoned")

    def __reduce_ex__(self, protocol: int) -> Any:  # pragma: no cover - streams never pickle
        return self.__wrapped__.__reduce_ex__(protocol)


class TracedStream(_TracedStreamBase):
    def __iter__(self) -> TracedStream:
        return self

    def __next__(self) -> Any:
        while True:
            try:
                chunk = self.__wrapped__.__next__()
            except StopIteration:
                self._self_end("exhausted")
                raise
            except BaseException as exc:  # recorded on the span, then passed through unchanged
                self._self_end("error", exc)
                raise
            # Observed inline, not through a helper: this runs for every chunk.
            try:
                hide = self._self_add(chunk) and self._self_hide_usage
            except Exception as exc:
                hide = self._self_failed(chunk, exc)
            if not hide:
                return chunk

    def __enter__(self) -> TracedStream:
        self.__wrapped__.__enter__()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def close(self) -> None:
        self._self_end("closed")
        self.__wrapped__.close()


class TracedAsyncStream(_TracedStreamBase):
    def __aiter__(self) -> TracedAsyncStream:
        return self

    async def __anext__(self) -> Any:
        while True:
            try:
                chunk = await self.__wrapped__.__anext__()
            except StopAsyncIteration:
                self._self_end("exhausted")
                raise
            except asyncio.CancelledError as exc:
                self._self_end("cancelled", exc)
                raise
            except BaseException as exc:  # recorded on the span, then passed through unchanged
                self._self_end("error", exc)
                raise
            # Observed inline, not through a helper: this runs for every chunk.
            try:
                hide = self._self_add(chunk) and self._self_hide_usage
            except Exception as exc:
                hide = self._self_failed(chunk, exc)
            if not hide:
                return chunk

    async def __aenter__(self) -> TracedAsyncStream:
        await self.__wrapped__.__aenter__()
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.close()

    async def close(self) -> None:
        self._self_end("closed")
        await self.__wrapped__.close()

    async def aclose(self) -> None:
        await self.close()
