"""A traced chat call, neutral of any SDK: plan -> observe -> end -> record.

A hook (``openai_hook`` for the openai SDK) describes each DashScope chat call as a ``ChatRequest``
and asks ``Telemetry.plan`` for a ``TracedCall``. The call's ``body`` is what the hook sends (the
request's own, or a copy qwenobs rewrote: the usage chunk asked for, a forced answer), unless
``blocked`` says to raise instead. The hook then reports what came back: a completion, a stream's
chunks through a ``StreamState``, or an exception. The span ends exactly once and the call's
measurements are queued for the metrics (when a meter provider is set).

Nothing here breaks the user's call: planning and ending are guarded, and an internal error is
logged once per cause. The one deliberate raise is ``blocked`` (QwenValidationError, a loop guard).
"""

from __future__ import annotations

import logging
import sys
import time
import traceback
from collections.abc import Mapping
from types import CodeType
from typing import Any

from opentelemetry.trace import SpanKind, Tracer

from . import attributes as at
from . import budgets, errors
from . import semconv as sc
from .agents import current_agent
from .budgets import Budget
from .catalog.prices import CURRENCIES, Prices
from .config import Settings
from .conversations import Fingerprints, given_id
from .cost import Cost, Usage, charge, region_of
from .fields import field
from .instruments import Instruments, new_metric_key
from .streaming import StreamState
from .tracing import record_error
from .validation import Conversation, Finding, History, inspect

log = logging.getLogger("qwenobs")
_UNKNOWN = object()


class Endpoint:
    """Where a client sends its calls: the span's server attributes, the base URL, and the region
    that bills them (None: unknown, so no cost)."""

    __slots__ = ("address", "currency", "official", "port", "region", "url")

    def __init__(
        self, address: str, port: int, url: str, official: bool = True, region: str | None = None
    ) -> None:
        self.address = address
        self.port = port
        self.url = url
        # DashScope's own endpoint, which sends a stream's usage chunk only when asked; False for
        # a host added through hosts= (a gateway may send it unasked).
        self.official = official
        self.region = region
        self.currency = CURRENCIES.get(region) if region else None


class ChatRequest:
    """One chat call as any hook sees it, before it is sent."""

    __slots__ = ("body", "endpoint", "extra", "stream")

    def __init__(
        self,
        body: dict[str, Any],
        extra: Mapping[str, Any] | None,
        stream: bool,
        endpoint: Endpoint,
    ) -> None:
        self.body = body  # the JSON body about to be sent
        self.extra = extra  # extra_body: merged over the body on the wire
        self.stream = stream
        self.endpoint = endpoint


class Telemetry:
    """What every traced call shares: tracer, instruments, settings, and which failures were logged."""

    def __init__(self, tracer: Tracer, instruments: Instruments, settings: Settings) -> None:
        self.tracer = tracer
        self.instruments = instruments
        self.settings = settings
        self._logged: set[tuple[str, str]] = set()
        self._warned: set[tuple[str, str]] = set()  # (rule, call site) already logged
        self._prices: dict[tuple[str, str], Any] = {}
        self.fingerprints = Fingerprints()
        self.history = History()  # recent conversations: each call checks what it appended

    def log_once(self, where: str, exc: BaseException) -> None:
        key = (where, type(exc).__qualname__)
        if key in self._logged:
            return
        self._logged.add(key)
        # The traceback goes in as text: a record holding live frames would keep the user's
        # stream (and its span) alive for as long as a handler keeps the record.
        log.warning(
            "qwenobs: internal error while %s; the call is unaffected\n%s",
            where,
            "".join(traceback.format_exception(exc)).rstrip(),
        )

    def endpoint(self, address: str, port: int, url: str, official: bool) -> Endpoint:
        """The endpoint for a base URL, with the region its calls are billed in."""
        region = region_of(address, self.settings.regions) or self.settings.region
        return Endpoint(address, port, url, official, region)

    def prices(self, model: str, region: str) -> Prices | None:
        """The price list of ``model`` in ``region`` (remembered: models repeat)."""
        key = (model, region)
        found = self._prices.get(key, _UNKNOWN)
        if found is _UNKNOWN:
            info = self.settings.catalog.lookup(model)
            found = info.prices.get(region) if info is not None and info.prices else None
            if len(self._prices) < 1024:
                self._prices[key] = found
        return found

    def plan(self, request: ChatRequest) -> TracedCall | None:
        """The traced call for ``request``, or None to let it through untouched."""
        try:
            return self._start(request)
        except Exception as exc:
            self.log_once("planning a call", exc)
            return None

    def _start(self, request: ChatRequest) -> TracedCall:
        """The span, its events, and what to send (or to raise instead)."""
        settings = self.settings
        body, extra = request.body, request.extra
        params = body if not extra else {**body, **extra}  # extra_body wins, as on the wire
        conv = self._check(params, body)
        findings = conv.findings if conv is not None else []

        attrs = at.request_attributes(params, request.stream)
        attrs[sc.SERVER_ADDRESS] = request.endpoint.address
        attrs[sc.SERVER_PORT] = request.endpoint.port
        run = current_agent.get()
        given = given_id()
        fingerprint, derived = self.fingerprints.attributes(
            params.get("messages"), derive_id=given is None and run is None
        )
        if fingerprint is not None:
            attrs[sc.SYSTEM_PROMPT_FINGERPRINT] = fingerprint
        conversation_id = run.conversation_id if run is not None else given or derived
        if conversation_id:
            attrs[sc.CONVERSATION_ID] = conversation_id
        if conv is not None:
            attrs[sc.TOOL_ROUNDS] = conv.tool_rounds
        span = self.tracer.start_span(
            f"chat {attrs[sc.REQUEST_MODEL]}", kind=SpanKind.CLIENT, attributes=attrs
        )
        call = TracedCall(self, span, attrs, request)
        for f in findings:
            span.add_event(sc.VALIDATION_EVENT, _event(f))
        if settings.capture_content:
            span.set_attributes(at.content_request_attributes(body, params))

        if findings and settings.validate == "raise":
            errors_found = [f for f in findings if f.is_error]
            if errors_found:
                call.blocked = errors.QwenValidationError(errors_found, request.endpoint.url)
                return call
        if run is not None:
            call.agent = run
            call.blocked = run.guard(span, body, conv)
            if call.blocked is not None:
                return call
        limits = budgets.active()
        if settings.budget is not None or run is not None:
            limits = self._budgets(limits, run)
        if limits:
            call.budgets = limits
            call.blocked = _first_error(b.check(request.endpoint.currency) for b in limits)
            if call.blocked is not None:
                return call
        if run is not None:
            call.body = run.rewrite(span, call.body)
        if findings:
            self._log_findings(attrs[sc.REQUEST_MODEL], findings)
        if (
            request.stream
            and "stream_options" not in params
            and settings.stream_usage != "off"
            and (request.endpoint.official or settings.stream_usage == "all")
        ):
            # Ask for the usage chunk and hide it again: the user sees the chunks they asked for.
            # Only where the server sends it only when asked: hiding one it sends unasked would
            # take a chunk from the user.
            call.body = {**call.body, "stream_options": {"include_usage": True}}
            call.hide_usage = True
        return call

    def _budgets(self, found: tuple[Budget, ...], run: Any) -> tuple[Budget, ...]:
        """Every spending limit a call here counts toward: the process's, the blocks'
        (``found``), the agent's."""
        if self.settings.budget is not None:
            found = (self.settings.budget, *found)
        if run is not None and run.budget is not None:
            found = (*found, run.budget)
        return found

    def _log_findings(self, model: str, findings: list[Finding]) -> None:
        """Errors sent anyway ("warn" mode) are logged on every call; each warning once per
        process for each place in the application that makes such a call."""
        warnings = [f for f in findings if not f.is_error]
        if len(warnings) < len(findings) and self.settings.validate == "warn":
            log.warning(
                "qwenobs: chat %s sent although DashScope will reject it: %s",
                model,
                "; ".join(f"{f.rule} at {f.where}: {f.message}" for f in findings if f.is_error),
            )
        if not warnings:
            return
        site = _call_site()
        for f in warnings:
            # An unknown model is the same news wherever it is called from.
            key = (f.rule, model if f.rule == "unknown-model" else site)
            if key in self._warned:
                continue
            self._warned.add(key)
            log.warning(
                "qwenobs: chat %s from %s: %s (%s, logged once for this call site): %s",
                model,
                ":".join(map(str, site)),
                f.rule,
                f.where,
                f.message,
            )

    def _check(self, params: dict[str, Any], body: dict[str, Any]) -> Conversation | None:
        """What validation found in the request (its findings and tool rounds); None when a bug
        in a rule stopped it."""
        try:
            if self.settings.validate == "off":
                conv = self.history.scan(body.get("messages"), False)
                conv.findings = []
                return conv
            return inspect(params, catalog=self.settings.catalog, history=self.history)
        except Exception as exc:  # a bug in a rule never blocks a call
            self.log_once("validating a request", exc)
            return None


# Frames of these packages sit between the application and the lifecycle.
_PLUMBING = ("qwenobs.", "openai.", "wrapt.", "httpx", "litellm.", "langchain_openai.")
# Whether a function's code is plumbing, by code object: the same few are met on every call.
_plumbing_code: dict[CodeType, bool] = {}


def _call_site() -> tuple[str, int] | tuple[str]:
    """(file, line) of the application code that made the current call. Called from
    ``_log_findings`` under ``_start`` under ``plan``: the walk starts at plan's caller."""
    frame = sys._getframe(4)
    while frame is not None:
        code = frame.f_code
        plumbing = _plumbing_code.get(code)
        if plumbing is None:
            module = frame.f_globals.get("__name__", "")
            plumbing = module.startswith(_PLUMBING) or module in ("qwenobs", "openai", "wrapt")
            if len(_plumbing_code) >= 4096:  # code made at run time (exec): stay bounded
                _plumbing_code.clear()
            _plumbing_code[code] = plumbing
        if not plumbing:
            return code.co_filename, frame.f_lineno
        frame = frame.f_back
    return ("unknown",)


def _note_status(span: Any, error: BaseException) -> None:
    """The HTTP status and DashScope's error code of a failed call, when the error has them."""
    status = getattr(error, "status_code", None)
    if type(status) is int:
        span.set_attribute(sc.HTTP_STATUS, status)
    code = getattr(error, "code", None)
    if isinstance(code, str) and code:
        span.set_attribute(sc.ERROR_CODE, code)


def _first_error(errors: Any) -> Exception | None:
    return next((e for e in errors if e is not None), None)


def _event(f: Finding) -> dict[str, Any]:
    event: dict[str, Any] = {"rule": f.rule, "severity": f.severity, "message": f.message}
    if f.index is not None:
        event["message_index"] = f.index
    if f.param is not None:
        event["param"] = f.param
    return event


class TracedCall:
    """One traced call: its span, from plan to the end of the response or stream."""

    __slots__ = (
        "agent",
        "attrs",
        "blocked",
        "body",
        "budgets",
        "ended",
        "hide_usage",
        "region",
        "span",
        "started",
        "stream",
        "telemetry",
    )

    def __init__(
        self, telemetry: Telemetry, span: Any, attrs: dict[str, Any], request: ChatRequest
    ) -> None:
        self.telemetry = telemetry
        self.span = span
        self.attrs = attrs
        self.stream = request.stream
        self.body = request.body  # what to send; a copy when qwenobs rewrote the request
        self.started = time.perf_counter()
        self.blocked: Exception | None = None  # raised instead of sending (validation, loop guard)
        self.hide_usage = False  # qwenobs asked for the usage chunk; hide it from the caller
        self.agent: Any = None  # the running qwenobs.agent, if any
        self.budgets: tuple[Budget, ...] = ()  # the spending limits this call counts toward
        self.region = request.endpoint.region
        self.ended = False

    # --- the call failed --------------------------------------------------------------------

    def fail(self, exc: BaseException, request_id: Any = None) -> None:
        """The call raised: record it, end the span. Never raises."""
        try:
            if isinstance(request_id, str):
                self.span.set_attribute(sc.REQUEST_ID, request_id)
            self._end({}, error=exc)
        except Exception as internal:
            self.telemetry.log_once("recording a failed call", internal)

    def block(self) -> Exception:
        """End the span of a call that is not sent; the error to raise instead."""
        error = self.blocked
        self.fail(error)
        return error

    # --- what came back ---------------------------------------------------------------------

    def note_request_id(self, request_id: Any) -> None:
        if request_id:
            self.span.set_attribute(sc.REQUEST_ID, request_id)

    def end_completion(self, completion: Any, request_id: Any = None) -> None:
        """A non-streaming ``chat.completion`` (an SDK object or decoded JSON) came back."""
        attrs = at.completion_attributes(completion)
        if isinstance(request_id, str):
            attrs[sc.REQUEST_ID] = request_id
        self._price(field(completion, "usage"), attrs)
        settings = self.telemetry.settings
        if settings.capture_content:
            attrs.update(
                at.output_messages_attribute(
                    at.completion_messages(completion), settings.capture_reasoning
                )
            )
        if self.agent is not None:
            self.agent.after_chat(list(at.completion_tool_calls(completion)))
        self._end(attrs)

    def new_stream(self) -> StreamState:
        """The accumulator a stream proxy feeds with every chunk."""
        return StreamState(capture=self.telemetry.settings.capture_content)

    def stream_chunk_failed(self, exc: Exception) -> None:
        self.telemetry.log_once("reading a stream chunk", exc)

    def end_stream(self, state: StreamState, how: str, error: BaseException | None) -> None:
        """The stream ended ``how`` (exhausted, closed, error, cancelled, abandoned)."""
        try:
            attrs = at.stream_attributes(state, how, self.started)
            if error is None:
                self._price(state.usage, attrs)
            settings = self.telemetry.settings
            if settings.capture_content and state.messages:
                attrs.update(
                    at.output_messages_attribute(
                        state.output_messages(), settings.capture_reasoning
                    )
                )
            if self.agent is not None and error is None:
                self.agent.after_chat(state.tool_call_names)
            self._end(attrs, error=error)
        except Exception as exc:
            self.telemetry.log_once("ending a stream's span", exc)
            self.end_quietly()

    def _price(self, usage: Any, attrs: dict[str, Any]) -> None:
        """The call's cost on its span, and counted by its limits and its agent. Priced on the
        token counts ``attrs`` (the span's) hold, so the two always agree."""
        amount = cost = prices = None
        if self.region is not None and usage is not None:
            prices = self.telemetry.prices(self.attrs[sc.REQUEST_MODEL], self.region)
        if prices is not None and (
            counts := Usage.counted(
                attrs.get(sc.USAGE_INPUT),
                attrs.get(sc.USAGE_OUTPUT),
                attrs.get(sc.USAGE_CACHE_READ),
                attrs.get(sc.USAGE_REASONING),
                usage,
            )
        ):
            tier, parts, savings = charge(prices, counts)
            amount = sum(parts)
            genai = self.telemetry.settings.genai_cost
            attrs.update(at.cost_attributes(amount, prices, tier, savings, genai))
            if self.agent is not None:
                cost = Cost.of(prices, tier, parts, savings)
        for limit in self.budgets:
            limit.add(amount)
        if self.agent is not None:
            self.agent.add_cost(cost)

    # --- end and record ---------------------------------------------------------------------

    def _end(self, attrs: dict[str, Any], error: BaseException | None = None) -> None:
        if self.ended:
            return
        self.ended = True
        span = self.span
        duration = time.perf_counter() - self.started
        if attrs:
            span.set_attributes(attrs)
        error_type = None
        if error is not None:
            error_type = record_error(span, error)
            _note_status(span, error)
        span.end()
        instruments = self.telemetry.instruments
        if not (instruments.enabled or instruments.recording()):  # no meter provider
            return
        model = attrs.get(sc.RESPONSE_MODEL)
        key = new_metric_key(
            (
                self.attrs[sc.REQUEST_MODEL],
                model if isinstance(model, str) else None,
                self.attrs[sc.SERVER_ADDRESS],
                self.attrs[sc.SERVER_PORT],
                error_type,
            )
        )
        instruments.record(key, duration, attrs, span.get_span_context())

    def end_quietly(self) -> None:
        """End the span with what it has, recording nothing more (after an internal error)."""
        if not self.ended:
            self.ended = True
            self.span.end()
