"""What the fake answers: queued replies and failures, optionally routed by request."""

from __future__ import annotations

import json
import random
import re
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .. import checks
from ..fields import message_text
from . import faults
from .arguments import arguments
from .faults import Drop, Stall

# A partial answer for failures that strike mid-stream when the script gives no text of its own.
_CUT_OFF_TEXT = (
    "Here is the beginning of an answer that the service stops before it is complete, "
    "because something in it did not pass the output check."
)


@dataclass(frozen=True, slots=True)
class ToolCall:
    name: str
    arguments: str  # JSON text, as it travels on the wire
    id: str | None = None

    @classmethod
    def of(cls, spec: Any, where: str = "reply()", index: int = 0) -> ToolCall:
        """A tool call from ``{"name": ..., "arguments": str or mapping, "id": optional}``."""
        name = f"tool_calls[{index}]"
        if not isinstance(spec, Mapping):
            raise checks.wrong_type(where, name, spec, _TOOL_CALL)
        checks.keys(where, name, spec, ("name", "arguments", "id"))
        if "name" not in spec:
            raise ValueError(f"{where}: {name} has no 'name'; a tool call is {_TOOL_CALL}")
        checks.text(where, f"{name}['name']", spec["name"], optional=False, empty=False)
        checks.text(where, f"{name}['id']", spec.get("id"), empty=False)
        args = spec.get("arguments", {})
        if isinstance(args, str):
            checks.text(where, f"{name}['arguments']", args)
            return cls(spec["name"], args, spec.get("id"))
        if not isinstance(args, Mapping):
            raise checks.wrong_type(
                where, f"{name}['arguments']", args, "JSON text (a str) or a mapping"
            )
        try:
            text = json.dumps(args, ensure_ascii=False, allow_nan=False)
            text.encode("utf-8")
        except (TypeError, ValueError) as exc:  # UnicodeEncodeError is a ValueError
            raise ValueError(
                f"{where}: {name}['arguments'] must be a mapping JSON can encode: {exc}"
            ) from None
        return cls(spec["name"], text, spec.get("id"))


_TOOL_CALL = "a mapping with 'name', 'arguments' (a str or a mapping) and optionally 'id'"


@dataclass(frozen=True, slots=True)
class Timing:
    """Per-answer overrides of the fake's timing; None keeps the fake's setting."""

    first_chunk_delay: float | None = None
    chunk_delay: float | None = None
    chunk_size: int | None = None
    first_byte_delay: float | None = None  # before the status line


@dataclass(frozen=True, slots=True)
class Reply:
    """A scripted successful answer."""

    content: str | None = None
    reasoning: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    finish_reason: str | None = None
    usage: Mapping[str, Any] | None = None
    timing: Timing = field(default_factory=Timing)


@dataclass(frozen=True, slots=True)
class Failure:
    """A scripted error: an HTTP error, or with ``after_chunks`` an error event mid-stream."""

    status: int
    code: str | None = None
    message: str | None = None
    after_chunks: int | None = None
    content: str = _CUT_OFF_TEXT  # what streams before a mid-stream failure
    timing: Timing = field(default_factory=Timing)
    times: int | None = None  # attempts of one call it answers (SDK retries); None: all
    retry_after: float | None = None  # seconds, sent as Retry-After instead of retry-after-ms: 1
    rate: float | None = None  # drawn for each attempt instead of queued


Answer = Reply | Failure | Drop | Stall
Fault = Failure | Drop | Stall  # answers that answer the client's retries of their call too


def describe(answer: Answer) -> str:
    """How a script line reads: ``fail(429, times=1)``, ``reply('Sunny.', tool_calls=[...])``."""
    if isinstance(answer, Failure):
        text = f"fail({answer.status}"
        text += f", code={answer.code!r}" if answer.code else ""
        text += f", after_chunks={answer.after_chunks}" if answer.after_chunks is not None else ""
        text += f", times={answer.times}" if answer.times is not None else ""
        text += f", retry_after={answer.retry_after:g}" if answer.retry_after is not None else ""
        text += f", rate={answer.rate:g}" if answer.rate is not None else ""
        return text + ")"
    if isinstance(answer, Drop | Stall):
        return answer.describe()
    parts = []
    if answer.content is not None:
        content = answer.content if len(answer.content) <= 60 else answer.content[:57] + "..."
        parts.append(repr(content))
    if answer.reasoning:
        parts.append("reasoning=...")
    if answer.tool_calls:
        parts.append(f"tool_calls=[{', '.join(call.name for call in answer.tool_calls)}]")
    return f"reply({', '.join(parts)})"


@dataclass(slots=True)
class _Entry:
    answer: Answer
    repeat: bool


# Names people pass to an answer that belong elsewhere, and what to write instead.
_ROUTED = {"model": "answers for one model go on fake.route(model=...)"}
_PACED = {**_ROUTED, "delay": "the delays are first_chunk_delay, chunk_delay and first_byte_delay"}
_HINTS = {
    "reply": {**_PACED, "status": "an error is fake.fail(status)"},
    "fail": _PACED,
    "drop": _ROUTED,
    "stall": {**_ROUTED, "delay": "a stall lasts seconds=S"},
}


class Route:
    """Answers for the requests that match; ``reply`` and ``fail`` queue them first in, first out.

    ``model`` must equal the request's model; ``last_message`` is a substring (or a compiled
    regular expression searched) in the text of the last message; ``match`` is a predicate over
    the request body. All given conditions must hold.
    """

    def __init__(
        self,
        *,
        model: str | None = None,
        last_message: str | re.Pattern[str] | None = None,
        match: Callable[[Mapping[str, Any]], bool] | None = None,
    ) -> None:
        where = "fake.route()"
        checks.text(where, "model", model, empty=False)
        if last_message is not None and not isinstance(last_message, str | re.Pattern):
            raise checks.wrong_type(
                where, "last_message", last_message, "a str, a compiled re.Pattern or None"
            )
        checks.function(where, "match", match, what="a function of the request body")
        self.model = model
        self.last_message = last_message
        self.match = match
        self.served = 0  # requests this route answered
        self._queue: deque[_Entry] = deque()
        self._rated: list[tuple[float, Fault]] = []  # faults with rate=, drawn for every attempt

    def __str__(self) -> str:
        """How the script shows this route: ``route(model='qwen-max')``."""
        return f"route({self._conditions()})"

    def __repr__(self) -> str:
        return f"Route({self._conditions()}, pending={self.pending})"

    def _conditions(self) -> str:
        return ", ".join(
            f"{name}={value!r}"
            for name in ("model", "last_message", "match")
            if (value := getattr(self, name)) is not None
        )

    @property
    def pending(self) -> int:
        """Queued answers left (a repeating answer counts once)."""
        return len(self._queue)

    @property
    def queued(self) -> tuple[tuple[Answer, bool], ...]:
        """The queued answers, in order, each with whether it repeats."""
        return tuple((entry.answer, entry.repeat) for entry in self._queue)

    @property
    def rated(self) -> tuple[Fault, ...]:
        """The faults given a ``rate=``, in the order they are drawn for each attempt."""
        return tuple(fault for _, fault in self._rated)

    def _add(self, answer: Answer, repeat: bool) -> Route:
        if isinstance(answer, Fault) and answer.rate is not None:
            self._rated.append((answer.rate, answer))
        else:
            self._queue.append(_Entry(answer, repeat))
        return self

    @arguments(lambda route: route._where("reply"), _HINTS["reply"])
    def reply(
        self,
        content: str | None = None,
        *,
        reasoning: str | None = None,
        tool_calls: Sequence[Mapping[str, Any]] | None = None,
        finish_reason: str | None = None,
        usage: Mapping[str, Any] | None = None,
        first_chunk_delay: float | None = None,
        chunk_delay: float | None = None,
        chunk_size: int | None = None,
        first_byte_delay: float | None = None,
        repeat: bool = False,
    ) -> Route:
        """Queue a successful answer. Several ``tool_calls`` are parallel tool calls.

        With ``repeat=True`` the answer stays at the head of the queue and answers every later
        matching request: a default responder. ``first_byte_delay`` holds back even the status
        line that long (a slow first byte; ``first_chunk_delay`` comes after the headers). A
        wrong argument raises here, naming it.
        """
        where = self._where("reply")
        checks.text(where, "content", content)
        checks.text(where, "reasoning", reasoning)
        checks.text(where, "finish_reason", finish_reason, empty=False)
        calls = _tool_calls(where, tool_calls)
        _check_usage(where, usage)
        timing = _timing(where, first_chunk_delay, chunk_delay, chunk_size, first_byte_delay)
        checks.flag(where, "repeat", repeat)
        if usage is not None:  # a copy: the caller's dict may change after scripting
            usage = {k: dict(v) if isinstance(v, Mapping) else v for k, v in usage.items()}
        answer = Reply(content, reasoning, calls, finish_reason, usage, timing)
        return self._add(answer, repeat)

    @arguments(lambda route: route._where("fail"), _HINTS["fail"])
    def fail(
        self,
        status: int,
        *,
        code: str | None = None,
        message: str | None = None,
        after_chunks: int | None = None,
        content: str | None = None,
        first_chunk_delay: float | None = None,
        chunk_delay: float | None = None,
        chunk_size: int | None = None,
        times: int | None = None,
        first_byte_delay: float | None = None,
        retry_after: float | None = None,
        rate: float | None = None,
        repeat: bool = False,
    ) -> Route:
        """Queue an error with DashScope's body for ``status`` (and ``code``).

        The failure answers the call that takes it and the client's automatic retries of that
        call, so the app sees the error whatever its ``max_retries``; ``times=N`` answers only the
        call's first N attempts, and its later retries take the next scripted answer
        (``fail(429, times=1)`` then ``reply(...)``: the SDK's retry gets the reply). Retryable
        statuses (408, 409, 429, 5xx) carry ``retry-after-ms: 1``, so retries do not wait.

        With ``after_chunks=N`` a streaming request first gets N chunks of ``content`` and then a
        ``data: {"error": ...}`` event, the way output moderation stops a stream; a non-streaming
        request gets the plain HTTP error.

        ``retry_after=S`` sends ``Retry-After: S`` instead (the SDK waits S seconds, up to a
        minute, before it retries). ``rate=P`` keeps the failure in the script and strikes each
        attempt of a matching request with probability P, drawn from the fake's seeded generator;
        an attempt it spares takes the next scripted answer. ``first_byte_delay`` as for
        ``reply``.
        """
        where = self._where("fail")
        if not isinstance(status, int) or isinstance(status, bool):
            raise checks.wrong_type(where, "status", status, _FAILURE_STATUS)
        if not 400 <= status <= 599:
            raise checks.wrong_value(where, "status", status, _FAILURE_STATUS)
        checks.text(where, "code", code, empty=False)
        checks.text(where, "message", message)
        checks.integer(where, "after_chunks", after_chunks, minimum=0)
        checks.text(where, "content", content)
        timing = _timing(where, first_chunk_delay, chunk_delay, chunk_size, first_byte_delay)
        checks.integer(where, "times", times, minimum=1)
        checks.seconds(where, "retry_after", retry_after)
        checks.flag(where, "repeat", repeat)
        faults.check_rate(where, rate, times, repeat)
        if times is not None and repeat:
            raise ValueError(
                f"{where}: times={times} with repeat=True; a repeating failure answers every "
                "attempt anyway. Pass one of them."
            )
        answer = Failure(
            status,
            code,
            message,
            after_chunks,
            _CUT_OFF_TEXT if content is None else content,
            timing,
            times,
            retry_after,
            rate,
        )
        return self._add(answer, repeat)

    @arguments(lambda route: route._where("drop"), _HINTS["drop"])
    def drop(
        self,
        after_chunks: int | None = None,
        *,
        content: str | None = None,
        times: int | None = None,
        rate: float | None = None,
        repeat: bool = False,
    ) -> Route:
        """Queue a dropped connection: a streaming request gets ``after_chunks`` events of
        ``content`` and then the connection closes, without ``[DONE]``; with ``after_chunks``
        None, or for a request that does not stream, it closes before any response.

        On the server front ends the socket closes; in-process, the transport raises the HTTP
        library's ``RemoteProtocolError``, as it would on a socket. ``times``, ``rate`` and
        ``repeat`` as for ``fail``.
        """
        where = self._where("drop")
        checks.integer(where, "after_chunks", after_chunks, minimum=0)
        checks.text(where, "content", content)
        checks.integer(where, "times", times, minimum=1)
        checks.flag(where, "repeat", repeat)
        faults.check_rate(where, rate, times, repeat)
        text = faults.DROP_TEXT if content is None else content
        return self._add(Drop(after_chunks, text, times, rate), repeat)

    @arguments(lambda route: route._where("stall"), _HINTS["stall"])
    def stall(
        self,
        seconds: float,
        *,
        after_chunks: int = 0,
        content: str | None = None,
        times: int | None = None,
        rate: float | None = None,
        repeat: bool = False,
    ) -> Route:
        """Queue an answer that sends nothing for ``seconds`` after ``after_chunks`` events of a
        stream (after the headers of a JSON answer), then the rest of ``content``: a client whose
        read timeout is shorter times out.

        On the server front ends the socket stays silent; in-process, a stall past the client's
        read timeout waits that timeout and raises the HTTP library's ``ReadTimeout``, as it
        would on a socket. ``times``, ``rate`` and ``repeat`` as for ``fail``.
        """
        where = self._where("stall")
        checks.seconds(where, "seconds", seconds, optional=False)
        if seconds == 0:
            raise checks.wrong_value(where, "seconds", seconds, "a number of seconds above 0")
        checks.integer(where, "after_chunks", after_chunks, minimum=0, optional=False)
        checks.text(where, "content", content)
        checks.integer(where, "times", times, minimum=1)
        checks.flag(where, "repeat", repeat)
        faults.check_rate(where, rate, times, repeat)
        text = faults.STALL_TEXT if content is None else content
        return self._add(Stall(seconds, after_chunks, text, times, rate), repeat)

    def _where(self, method: str) -> str:
        """How an error names the call: ``fake.reply()``, ``fake.route(model='x').fail()``."""
        conditions = self._conditions()
        return f"fake.{method}()" if not conditions else f"fake.{self}.{method}()"

    def clear(self) -> None:
        self._queue.clear()
        self._rated.clear()
        self.served = 0

    def matches(self, body: Mapping[str, Any]) -> bool:
        return self.mismatch(body) is None

    def mismatch(self, body: Mapping[str, Any]) -> str | None:
        """Why this route does not match ``body``; None when it does."""
        if self.model is not None and body.get("model") != self.model:
            return f"the model is {body.get('model')!r}"
        if self.last_message is not None:
            messages = body.get("messages")
            last = messages[-1] if isinstance(messages, list) and messages else None
            text = message_text(last.get("content")) if isinstance(last, Mapping) else ""
            if isinstance(self.last_message, re.Pattern):
                if not self.last_message.search(text):
                    return f"the last message {_clipped(text)} does not match the pattern"
            elif self.last_message not in text:
                return f"the last message {_clipped(text)} does not contain it"
        if self.match is not None and not self._matched(body):
            return "match(body) returned a false value"
        return None

    def _matched(self, body: Mapping[str, Any]) -> bool:
        try:
            return bool(self.match(body))  # type: ignore[misc]
        except Exception as exc:  # the engine answers one error naming the route
            raise RuntimeError(f"{self}: match(body) raised {type(exc).__name__}: {exc}") from exc

    def take(self, draw: Callable[[], float] = random.random) -> Answer | None:
        """The next answer: a ``rate=`` fault if one strikes (``draw()`` below its rate, in the
        order they were added), else the head of the queue; None when neither answers."""
        for rate, fault in self._rated:
            if draw() < rate:
                self.served += 1
                return fault
        if not self._queue:
            return None
        entry = self._queue[0]
        if not entry.repeat:
            self._queue.popleft()
        self.served += 1
        return entry.answer


class Script:
    """Routes in the order they were added, then the catch-all queue of ``fake.reply``."""

    def __init__(self) -> None:
        self.routes: list[Route] = []
        self.default = Route()
        # Answers every request before the routes when set (a replayed recording).
        self.responder: Callable[[Mapping[str, Any]], Answer | None] | None = None

    def add(self, route: Route) -> Route:
        self.routes.append(route)
        return route

    def next_answer(
        self, body: Mapping[str, Any], draw: Callable[[], float] = random.random
    ) -> Answer | None:
        """The responder's answer, else the answer of the first matching route that gives one
        (``Route.take``)."""
        if self.responder is not None:
            answer = self.responder(body)
            if answer is not None:
                return answer
        for route in (*self.routes, self.default):
            if (route.pending or route.rated) and route.matches(body):
                answer = route.take(draw)
                if answer is not None:
                    return answer
        return None

    @property
    def pending(self) -> int:
        return sum(route.pending for route in (*self.routes, self.default))

    def tried(self, body: Mapping[str, Any]) -> list[str]:
        """For a request nothing answered: each route in turn, and why it gave no answer."""
        lines = []
        for route in self.routes:
            why = route.mismatch(body)
            if why is None:
                why = f"it matches, but has no answers left (it answered {route.served})"
                why += _spared(route)
            lines.append(f"{route}: {why}")
        lines.append(
            f"the catch-all queue (fake.reply/fake.fail) is empty (it answered "
            f"{self.default.served}){_spared(self.default)}"
        )
        return lines

    def clear(self) -> None:
        self.routes.clear()
        self.default.clear()


def _spared(route: Route) -> str:
    rated = len(route.rated)
    return f" and its {rated} rate= fault(s) did not strike" if rated else ""


def _clipped(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:37] + "...")


_FAILURE_STATUS = "an HTTP error status, an int from 400 to 599"
_USAGE_KEYS = (
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "prompt_tokens_details",
    "completion_tokens_details",
)


def _tool_calls(where: str, value: Any) -> tuple[ToolCall, ...]:
    if value is None:
        return ()
    if not isinstance(value, list | tuple):
        raise checks.wrong_type(
            where, "tool_calls", value, f"a list of tool calls, each {_TOOL_CALL}"
        )
    return tuple(ToolCall.of(call, where, i) for i, call in enumerate(value))


def _check_usage(where: str, usage: Any) -> None:
    """Usage fields to override: token counts, and the two details mappings."""
    if usage is None:
        return
    checks.mapping(where, "usage", usage)
    checks.keys(where, "usage", usage, _USAGE_KEYS)
    for key, value in usage.items():
        if not key.endswith("_details"):
            checks.integer(where, f"usage[{key!r}]", value, minimum=0, optional=False)
            continue
        checks.mapping(where, f"usage[{key!r}]", value, optional=False)
        for inner, count in value.items():
            name = f"usage[{key!r}][{inner!r}]"
            checks.text(where, f"a key of usage[{key!r}]", inner, optional=False, empty=False)
            checks.integer(where, name, count, minimum=0, optional=False)
    prompt = usage.get("prompt_tokens")
    cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens")
    if prompt is not None and cached is not None and cached > prompt:  # DashScope never sends it
        raise ValueError(
            f"{where}: usage['prompt_tokens_details']['cached_tokens'] must be at most "
            f"usage['prompt_tokens'], {prompt} (cached tokens are part of the prompt), got {cached}"
        )


def _timing(where: str, first: Any, every: Any, size: Any, first_byte: Any = None) -> Timing:
    checks.seconds(where, "first_chunk_delay", first)
    checks.seconds(where, "chunk_delay", every)
    checks.integer(where, "chunk_size", size, minimum=1)  # characters per chunk
    checks.seconds(where, "first_byte_delay", first_byte)
    return Timing(first, every, size, first_byte)
