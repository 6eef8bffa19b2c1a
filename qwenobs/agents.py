"""Agent loops: an ``invoke_agent`` span over the rounds, loop guards, and ``execute_tool`` spans.

The chat wrapper finds the running agent through a context variable, so every chat call inside
``with qwenobs.agent(...)`` (threads and tasks started inside copy the context) reports to it.
"""

from __future__ import annotations

import functools
import inspect
import json
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from typing import Any, TypeVar

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from . import semconv as sc

F = TypeVar("F", bound=Callable[..., Any])

AGENT_ROUNDS = "dashscope.agent.rounds"
AGENT_TOOL_CALLS = "dashscope.agent.tool_calls"
AGENT_REPEATED = "dashscope.agent.repeated_tool_calls"
AGENT_FORCED_ANSWER = "dashscope.agent.forced_answer"
AGENT_MAX_ROUNDS = "dashscope.agent.max_rounds"
AGENT_ANSWER_AFTER = "dashscope.agent.answer_after"
REPEATED_EVENT = "dashscope.agent.repeated_tool_call"
CONVERSATION_ID = "gen_ai.conversation.id"
AGENT_NAME = "gen_ai.agent.name"
TOOL_NAME = "gen_ai.tool.name"
TOOL_CALL_ID = "gen_ai.tool.call.id"

current_agent: ContextVar[AgentRun | None] = ContextVar("qwenobs_agent", default=None)


class AgentLoopError(RuntimeError):
    """The model kept asking for tools past ``max_rounds``; raised before the next call is sent."""

    def __init__(
        self, name: str, rounds: int, max_rounds: int, repeated: Mapping[str, int]
    ) -> None:
        self.rounds, self.max_rounds, self.repeated = rounds, max_rounds, dict(repeated)
        detail = ", ".join(f"{call} x{n}" for call, n in self.repeated.items()) or "none"
        super().__init__(
            f"agent {name!r} asked for tools in {rounds} rounds, more than max_rounds={max_rounds}; "
            f"repeated calls: {detail}. Raise max_rounds, or pass answer_after=N to make the model "
            "answer after N rounds."
        )


def _tracer() -> trace.Tracer:
    from .instrumentor import QwenInstrumentor

    telemetry = getattr(QwenInstrumentor(), "_telemetry", None)
    return telemetry.tracer if telemetry is not None else trace.get_tracer("qwenobs")


def _call_key(name: Any, arguments: Any) -> str:
    try:
        args = json.dumps(json.loads(arguments), sort_keys=True, ensure_ascii=False)
    except (TypeError, ValueError):
        args = str(arguments)
    return f"{name}({args})"


class AgentRun:
    """One run of an agent loop: counts rounds and tool calls, guards the loop."""

    def __init__(
        self,
        name: str,
        max_rounds: int | None,
        answer_after: int | None,
        conversation_id: str | None,
    ) -> None:
        if max_rounds is not None and max_rounds < 1:
            raise ValueError(f"max_rounds must be at least 1, got {max_rounds}")
        if answer_after is not None and answer_after < 0:
            raise ValueError(f"answer_after must be 0 or more, got {answer_after}")
        self.name = name
        self.max_rounds = max_rounds
        self.answer_after = answer_after
        self.conversation_id = conversation_id or uuid.uuid4().hex
        self.rounds = 0
        self.tool_calls = 0
        self.forced_answer = False
        self.repeated: Counter[str] = Counter()
        self._seen_ids: set[Any] = set()
        self._seen_calls: set[str] = set()
        self._pending: list[tuple[Any, Any]] = []  # (id, name) the last response asked for
        self.span: Any = None

    # --- what the chat wrapper calls ------------------------------------------------------

    def before_chat(self, span: Any, body: Mapping[str, Any], options: Any) -> Exception | None:
        """Guard the loop before a chat call is sent; an error to raise instead of sending."""
        span.set_attribute(CONVERSATION_ID, self.conversation_id)
        self._note_repeats(span, body.get("messages"))
        if self.max_rounds is not None and self.rounds > self.max_rounds:
            return AgentLoopError(self.name, self.rounds, self.max_rounds, self.repeated)
        if self.answer_after is not None and self.rounds >= self.answer_after and body.get("tools"):
            options.json_data = {**body, "tool_choice": "none"}
            self.forced_answer = True
            span.set_attribute(AGENT_FORCED_ANSWER, True)
        return None

    def after_chat(self, tool_calls: list[tuple[Any, Any]]) -> None:
        if tool_calls:
            self.rounds += 1
            self.tool_calls += len(tool_calls)
            self._pending = list(tool_calls)

    def _note_repeats(self, span: Any, messages: Any) -> None:
        for message in messages if isinstance(messages, list) else ():
            calls = (
                message.get("tool_calls")
                if isinstance(message, Mapping)
                else getattr(message, "tool_calls", None)
            )
            for call in calls or ():
                call_id = call.get("id") if isinstance(call, Mapping) else getattr(call, "id", None)
                if call_id in self._seen_ids:
                    continue
                self._seen_ids.add(call_id)
                function = (
                    call.get("function")
                    if isinstance(call, Mapping)
                    else getattr(call, "function", None)
                )
                get = (
                    function.get
                    if isinstance(function, Mapping)
                    else lambda k, f=function: getattr(f, k, None)
                )
                key = _call_key(get("name"), get("arguments"))
                if key in self._seen_calls:
                    self.repeated[key] += 1
                    event = {"call": key, "round": self.rounds}
                    span.add_event(REPEATED_EVENT, event)
                    if self.span is not None:
                        self.span.add_event(REPEATED_EVENT, event)
                self._seen_calls.add(key)

    def claim_call_id(self, tool_name: str) -> Any:
        """The id of the first pending tool call for ``tool_name`` (the decorator's call id)."""
        for i, (call_id, name) in enumerate(self._pending):
            if name == tool_name:
                del self._pending[i]
                return call_id
        return None

    def attributes(self) -> dict[str, Any]:
        return {
            AGENT_ROUNDS: self.rounds,
            AGENT_TOOL_CALLS: self.tool_calls,
            AGENT_REPEATED: sum(self.repeated.values()),
            AGENT_FORCED_ANSWER: self.forced_answer,
        }


class agent:
    """``with qwenobs.agent("weather", max_rounds=8, answer_after=3):`` (or ``async with``).

    Opens an ``invoke_agent {name}`` span that parents every chat and tool span inside it, counts
    rounds and tool calls, records repeated tool calls, and with ``answer_after=N`` sends the next
    chat call after N tool rounds with ``tool_choice="none"``. More than ``max_rounds`` tool rounds
    raise ``AgentLoopError`` before the next call is sent. Without those options requests are unchanged.
    """

    def __init__(
        self,
        name: str,
        *,
        max_rounds: int | None = None,
        answer_after: int | None = None,
        conversation_id: str | None = None,
    ) -> None:
        self.run = AgentRun(name, max_rounds, answer_after, conversation_id)
        self._tokens: tuple[Any, Any] | None = None

    def __enter__(self) -> AgentRun:
        run = self.run
        attrs: dict[str, Any] = {
            sc.OPERATION: "invoke_agent",
            sc.PROVIDER: sc.PROVIDER_NAME,
            AGENT_NAME: run.name,
            CONVERSATION_ID: run.conversation_id,
        }
        if run.max_rounds is not None:
            attrs[AGENT_MAX_ROUNDS] = run.max_rounds
        if run.answer_after is not None:
            attrs[AGENT_ANSWER_AFTER] = run.answer_after
        run.span = _tracer().start_span(
            f"invoke_agent {run.name}", kind=SpanKind.INTERNAL, attributes=attrs
        )
        self._tokens = (
            otel_context.attach(trace.set_span_in_context(run.span)),
            current_agent.set(run),
        )
        return run

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        run = self.run
        context_token, agent_token = self._tokens
        current_agent.reset(agent_token)
        otel_context.detach(context_token)
        run.span.set_attributes(run.attributes())
        if exc is not None:
            run.span.set_attribute(sc.ERROR_TYPE, type(exc).__qualname__)
            run.span.record_exception(exc)
            run.span.set_status(Status(StatusCode.ERROR, str(exc)[:500]))
        run.span.end()

    async def __aenter__(self) -> AgentRun:
        return self.__enter__()

    async def __aexit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        self.__exit__(exc_type, exc, tb)


def tool(name: str | Callable[..., Any] | None = None, *, call_id: str | None = None) -> Any:
    """An ``execute_tool {name}`` span around a tool's execution.

    As a decorator (sync or async functions): ``@qwenobs.tool`` or ``@qwenobs.tool("get_weather")``;
    inside an agent the call id is the matching tool call the last response asked for. As a context
    manager: ``with qwenobs.tool("get_weather", call_id=call.id):``.
    """
    if callable(name):
        return _decorate(name, name.__name__)
    return _ToolSpan(name, call_id)


class _ToolSpan:
    def __init__(self, name: str | None, call_id: str | None) -> None:
        self.name = name
        self.call_id = call_id
        self._open: tuple[Any, Any] | None = None

    def __call__(self, func: F) -> F:
        return _decorate(func, self.name or func.__name__)

    def __enter__(self) -> Any:
        self._open = _start_tool(self.name or "tool", self.call_id)
        return self._open[0]

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        span, token = self._open
        _end_tool(span, token, exc)


def _decorate(func: Any, name: str) -> Any:
    if inspect.iscoroutinefunction(func):

        @functools.wraps(func)
        async def run_async(*args: Any, **kwargs: Any) -> Any:
            span, token = _start_tool(name, None)
            try:
                result = await func(*args, **kwargs)
            except BaseException as exc:  # recorded on the tool span, then passed through
                _end_tool(span, token, exc)
                raise
            _end_tool(span, token, None)
            return result

        return run_async

    @functools.wraps(func)
    def run(*args: Any, **kwargs: Any) -> Any:
        span, token = _start_tool(name, None)
        try:
            result = func(*args, **kwargs)
        except BaseException as exc:  # recorded on the tool span, then passed through
            _end_tool(span, token, exc)
            raise
        _end_tool(span, token, None)
        return result

    return run


def _start_tool(name: str, call_id: str | None) -> tuple[Any, Any]:
    run = current_agent.get()
    if call_id is None and run is not None:
        call_id = run.claim_call_id(name)
    attrs: dict[str, Any] = {sc.OPERATION: "execute_tool", TOOL_NAME: name}
    if call_id:
        attrs[TOOL_CALL_ID] = call_id
    if run is not None:
        attrs[CONVERSATION_ID] = run.conversation_id
    span = _tracer().start_span(f"execute_tool {name}", kind=SpanKind.INTERNAL, attributes=attrs)
    return span, otel_context.attach(trace.set_span_in_context(span))


def _end_tool(span: Any, token: Any, exc: BaseException | None) -> None:
    otel_context.detach(token)
    if exc is not None:
        span.set_attribute(sc.ERROR_TYPE, type(exc).__qualname__)
        span.record_exception(exc)
        span.set_status(Status(StatusCode.ERROR, str(exc)[:500]))
    span.end()


def iter_tool_calls(completion: Any) -> Iterator[tuple[Any, Any]]:
    """(id, name) of each tool call in a non-streaming completion."""
    choices = getattr(completion, "choices", None)
    if not isinstance(choices, list):
        return
    for choice in choices:
        message = getattr(choice, "message", None)
        for call in getattr(message, "tool_calls", None) or ():
            yield getattr(call, "id", None), getattr(getattr(call, "function", None), "name", None)
