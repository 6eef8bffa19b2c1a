"""Agent loops: an ``invoke_agent`` span over the rounds, loop guards, and ``execute_tool`` spans.

A traced chat call finds the running agent through a context variable, so every chat call inside
``with qwenobs.agent(...)`` reports to it: asyncio tasks started inside copy the context, threads
only when started with it (``contextvars.copy_context().run``).
Agent and tool spans go to the tracer ``instrument()`` hands over (``use_tracer``).
"""

from __future__ import annotations

import functools
import inspect
import json
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Literal, TypeVar, get_args

from opentelemetry import trace
from opentelemetry.trace import SpanKind

from . import checks
from . import semconv as sc
from .budgets import Budget
from .conversations import given_id
from .errors import AgentLoopError
from .fields import field
from .tracing import activate, deactivate, record_error

if TYPE_CHECKING:
    from .cost import Cost

F = TypeVar("F", bound=Callable[..., Any])

current_agent: ContextVar[AgentRun | None] = ContextVar("qwenobs_agent", default=None)
_tracer: trace.Tracer | None = None


def use_tracer(tracer: trace.Tracer | None) -> None:
    """Where agent and tool spans go: ``instrument()`` passes its tracer, so they land beside the
    chat spans; None (after ``uninstrument()``) falls back to the global tracer provider."""
    global _tracer
    _tracer = tracer


def _current_tracer() -> trace.Tracer:
    return _tracer if _tracer is not None else trace.get_tracer("qwenobs")


OnRepeat = Literal["count", "reuse", "raise"]
ON_REPEAT: tuple[str, ...] = get_args(OnRepeat)


def _call_key(name: Any, arguments: Any) -> str:
    """``name({...})`` with the arguments as canonical JSON (a JSON string, or Python values)."""
    try:
        value = json.loads(arguments) if isinstance(arguments, str) else arguments
        args = json.dumps(value, sort_keys=True, ensure_ascii=False)
    except (TypeError, ValueError):
        args = str(arguments)
    return f"{name}({args})"


class AgentRun:
    """One run of an agent loop: counts rounds (model calls) and tool calls, guards the loop."""

    def __init__(
        self,
        name: str,
        max_rounds: int | None,
        answer_after: int | None,
        conversation_id: str | None,
        on_repeat: OnRepeat = "count",
        max_cost: Any = None,
    ) -> None:
        where = "qwenobs.agent()"
        checks.text(where, "name", name, optional=False, empty=False)
        checks.integer(where, "max_rounds", max_rounds, minimum=1)
        checks.integer(where, "answer_after", answer_after, minimum=0)
        checks.text(where, "conversation_id", conversation_id, empty=False)
        if on_repeat not in ON_REPEAT:
            raise checks.wrong_value(where, "on_repeat", on_repeat, f"one of {ON_REPEAT}")
        self.name = name
        self.max_rounds = max_rounds
        self.answer_after = answer_after
        self.on_repeat = on_repeat
        self.conversation_id = conversation_id or given_id() or uuid.uuid4().hex
        self.rounds = 0  # model calls sent (the guide's rounds)
        self.results: dict[str, Any] = {}  # tool call key -> its first result (on_repeat="reuse")
        self.reused = 0
        self.budget = Budget.of(max_cost, f"the max_cost of agent {name!r}")
        self.costs: dict[str, float] = {}  # currency -> what the run's calls cost
        self.unpriced = 0  # calls whose cost is unknown
        self.tool_calls = 0
        self.forced_answer = False
        self.repeated: Counter[str] = Counter()
        self._seen_ids: set[Any] = set()
        self._seen_calls: set[str] = set()
        self._pending: list[tuple[Any, Any]] = []  # (id, name) the last response asked for
        self._noted: Any = None  # the message list of this run's last call
        self.span: Any = None

    # --- what a traced chat call calls ----------------------------------------------------

    def guard(self, span: Any, body: Mapping[str, Any], conv: Any = None) -> Exception | None:
        """Check the loop before a chat call is sent; an error to raise instead of sending.
        A call that goes ahead is the next round. ``conv``, validation's view of the messages,
        says which of them this run has already looked at."""
        span.set_attribute(sc.CONVERSATION_ID, self.conversation_id)
        messages = body.get("messages")
        start = 0
        if conv is not None and conv.prior is not None and conv.prior is self._noted:
            start = conv.unchanged  # the same messages as this run's last call, up to there
        new_repeats = self._note_repeats(span, messages, start)
        self._noted = messages
        if new_repeats and self.on_repeat == "raise":
            reason = f"agent {self.name!r} was asked to repeat {new_repeats[0]} (on_repeat='raise')"
            return AgentLoopError(
                self.name, self.rounds, self.max_rounds, self.repeated, reason=reason
            )
        if self.max_rounds is not None and self.rounds >= self.max_rounds:
            return AgentLoopError(self.name, self.rounds, self.max_rounds, self.repeated)
        self.rounds += 1
        return None

    def rewrite(self, span: Any, body: dict[str, Any]) -> dict[str, Any]:
        """The body to send: with ``tool_choice="none"`` once ``answer_after`` rounds are done."""
        done = self.rounds - 1  # rounds before this one
        if self.answer_after is not None and done >= self.answer_after and body.get("tools"):
            self.forced_answer = True
            span.set_attribute(sc.AGENT_FORCED_ANSWER, True)
            return {**body, "tool_choice": "none"}
        return body

    def add_cost(self, cost: Cost | None) -> None:
        """A finished call's cost (None: unknown)."""
        if cost is None:
            self.unpriced += 1
        else:
            self.costs[cost.currency] = self.costs.get(cost.currency, 0.0) + cost.amount

    def after_chat(self, tool_calls: list[tuple[Any, Any]]) -> None:
        if tool_calls:
            self.tool_calls += len(tool_calls)
            self._pending = list(tool_calls)

    def _note_repeats(self, span: Any, messages: Any, start: int = 0) -> list[str]:
        """Record tool calls in ``messages[start:]`` that repeat an earlier one; the new
        repeats."""
        found = []
        for message in messages[start:] if isinstance(messages, list) else ():
            for call in field(message, "tool_calls") or ():
                call_id = field(call, "id")
                if call_id in self._seen_ids:
                    continue
                self._seen_ids.add(call_id)
                function = field(call, "function")
                key = _call_key(field(function, "name"), field(function, "arguments"))
                if key in self._seen_calls:
                    self.repeated[key] += 1
                    found.append(key)
                    event = {"call": key, "round": self.rounds}
                    span.add_event(sc.REPEATED_EVENT, event)
                    if self.span is not None:
                        self.span.add_event(sc.REPEATED_EVENT, event)
                self._seen_calls.add(key)
        return found

    def claim_call_id(self, tool_name: str) -> Any:
        """The id of the first pending tool call for ``tool_name`` (the decorator's call id)."""
        for i, (call_id, name) in enumerate(self._pending):
            if name == tool_name:
                del self._pending[i]
                return call_id
        return None

    def attributes(self) -> dict[str, Any]:
        return {
            sc.AGENT_ROUNDS: self.rounds,
            sc.AGENT_TOOL_CALLS: self.tool_calls,
            sc.AGENT_REPEATED: sum(self.repeated.values()),
            sc.AGENT_REUSED: self.reused,
            sc.AGENT_FORCED_ANSWER: self.forced_answer,
            **self.cost_attributes(),
        }

    def cost_attributes(self) -> dict[str, Any]:
        """The run's total cost, on the agent span only: no backend that sums cost attributes
        counts a call twice. Calls in two currencies give one total per currency, in a list."""
        attrs: dict[str, Any] = {sc.AGENT_UNPRICED_CALLS: self.unpriced}
        if len(self.costs) == 1:
            ((currency, amount),) = self.costs.items()
            attrs[sc.AGENT_COST_AMOUNT], attrs[sc.AGENT_COST_CURRENCY] = amount, currency
        elif self.costs:
            currencies = sorted(self.costs)
            attrs[sc.AGENT_COST_AMOUNT] = [self.costs[c] for c in currencies]
            attrs[sc.AGENT_COST_CURRENCY] = currencies
        return attrs


class agent:
    """``with qwenobs.agent("weather", max_rounds=8, answer_after=3):`` (or ``async with``).

    Opens an ``invoke_agent {name}`` span that parents every chat and tool span inside it and
    counts rounds, tool calls and repeated tool calls. A round is one model call, as in the loop
    ``for round in range(max_rounds): create(...)``:

    - ``max_rounds=N``: the agent may make N model calls; the next one raises ``AgentLoopError``
      before it is sent (the model was still asking for tools).
    - ``answer_after=N``: after N rounds, the next call that offers tools is sent with
      ``tool_choice="none"``, so the model must answer.
    - ``on_repeat``: what a tool call repeating an earlier one's name and arguments does.
      ``"count"`` (default) records it; ``"reuse"`` makes a ``@qwenobs.tool`` function answer it
      with the first call's result without running again; ``"raise"`` raises ``AgentLoopError``
      before the call that carries the repeat is sent.
    - ``max_cost=(0.5, "CNY")``: once the run's calls have cost that much, the next one raises
      ``AgentBudgetError`` before it is sent (see ``qwenobs.budget`` for how limits count).

    Without these options requests are unchanged.
    """

    def __init__(
        self,
        name: str,
        *,
        max_rounds: int | None = None,
        answer_after: int | None = None,
        conversation_id: str | None = None,
        on_repeat: OnRepeat = "count",
        max_cost: tuple[float, str] | None = None,
    ) -> None:
        self.run = AgentRun(name, max_rounds, answer_after, conversation_id, on_repeat, max_cost)
        self._tokens: tuple[Any, Any] | None = None

    def __enter__(self) -> AgentRun:
        run = self.run
        attrs: dict[str, Any] = {
            sc.OPERATION: sc.OPERATION_AGENT,
            sc.PROVIDER: sc.PROVIDER_NAME,
            sc.AGENT_NAME: run.name,
            sc.CONVERSATION_ID: run.conversation_id,
        }
        if run.max_rounds is not None:
            attrs[sc.AGENT_MAX_ROUNDS] = run.max_rounds
        if run.answer_after is not None:
            attrs[sc.AGENT_ANSWER_AFTER] = run.answer_after
        if run.budget is not None:
            attrs[sc.AGENT_MAX_COST] = f"{run.budget.limit:g} {run.budget.currency}"
        run.span = _current_tracer().start_span(
            f"invoke_agent {run.name}", kind=SpanKind.INTERNAL, attributes=attrs
        )
        self._tokens = (activate(run.span), current_agent.set(run))
        return run

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        run = self.run
        context_token, agent_token = self._tokens
        current_agent.reset(agent_token)
        deactivate(context_token)
        run.span.set_attributes(run.attributes())
        if exc is not None:
            record_error(run.span, exc)
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
    where = "qwenobs.tool()"
    if name is not None and not isinstance(name, str):
        raise checks.wrong_type(where, "name", name, "a str, a function to decorate, or None")
    checks.text(where, "name", name, empty=False)
    checks.text(where, "call_id", call_id)
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


_NOT_SEEN = object()


class _ToolCall:
    """One execution of a decorated tool: its span, and the earlier result it may reuse."""

    __slots__ = ("earlier", "key", "run", "span", "token")

    def __init__(self, name: str, signature: inspect.Signature, args: Any, kwargs: Any) -> None:
        self.run = run = current_agent.get()
        self.key = None
        self.earlier: Any = _NOT_SEEN
        if run is not None and run.on_repeat == "reuse":
            try:
                bound = signature.bind(*args, **kwargs)
                bound.apply_defaults()
                self.key = _call_key(name, dict(bound.arguments))
            except TypeError:  # the call itself is wrong: let the function say so
                pass
            else:
                self.earlier = run.results.get(self.key, _NOT_SEEN)
        self.span, self.token = _start_tool(name, None)

    def reused(self) -> Any:
        """End the span of a repeat answered from the first call's result; that result."""
        self.run.reused += 1
        self.span.set_attribute(sc.TOOL_REUSED, True)
        _end_tool(self.span, self.token, None)
        return self.earlier

    def done(self, result: Any) -> Any:
        if self.key is not None:
            self.run.results[self.key] = result
        _end_tool(self.span, self.token, None)
        return result

    def failed(self, exc: BaseException) -> None:
        _end_tool(self.span, self.token, exc)


def _decorate(func: Any, name: str) -> Any:
    signature = inspect.signature(func)

    if inspect.iscoroutinefunction(func):

        @functools.wraps(func)
        async def run_async(*args: Any, **kwargs: Any) -> Any:
            call = _ToolCall(name, signature, args, kwargs)
            if call.earlier is not _NOT_SEEN:
                return call.reused()
            try:
                result = await func(*args, **kwargs)
            except BaseException as exc:  # recorded on the tool span, then passed through
                call.failed(exc)
                raise
            return call.done(result)

        return run_async

    @functools.wraps(func)
    def run(*args: Any, **kwargs: Any) -> Any:
        call = _ToolCall(name, signature, args, kwargs)
        if call.earlier is not _NOT_SEEN:
            return call.reused()
        try:
            result = func(*args, **kwargs)
        except BaseException as exc:  # recorded on the tool span, then passed through
            call.failed(exc)
            raise
        return call.done(result)

    return run


def _start_tool(name: str, call_id: str | None) -> tuple[Any, Any]:
    run = current_agent.get()
    if call_id is None and run is not None:
        call_id = run.claim_call_id(name)
    attrs: dict[str, Any] = {sc.OPERATION: sc.OPERATION_TOOL, sc.TOOL_NAME: name}
    if call_id:
        attrs[sc.TOOL_CALL_ID] = call_id
    if run is not None:
        attrs[sc.CONVERSATION_ID] = run.conversation_id
    span = _current_tracer().start_span(
        f"execute_tool {name}", kind=SpanKind.INTERNAL, attributes=attrs
    )
    return span, activate(span)


def _end_tool(span: Any, token: Any, exc: BaseException | None) -> None:
    deactivate(token)
    if exc is not None:
        record_error(span, exc)
    span.end()
