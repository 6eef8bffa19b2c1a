"""The wrappers around the SDK's request method: plan -> call -> observe, sync and async.

Every chat-completions call passes through ``SyncAPIClient.request`` / ``AsyncAPIClient.request``
once (retries loop inside it), whichever way it was made: ``create``, ``parse``, raw and streaming
responses, or a direct ``client.post``. Plan and observe never break the user's call: an internal
error there is logged once and the call goes on untouched. The one deliberate raise is
QwenValidationError, before anything is sent.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import wrapt
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from . import attributes as at
from . import sdk
from . import semconv as sc
from .agents import current_agent, iter_tool_calls
from .catalog import DEFAULT_CATALOG, Catalog
from .errors import QwenValidationError
from .instruments import Instruments
from .streams import StreamState, TracedAsyncStream, TracedStream
from .validation import Finding, inspect
from .validation.conversation import scan

log = logging.getLogger("qwenobs")

VALIDATE_MODES = ("raise", "warn", "off")


@dataclass(frozen=True)
class Settings:
    validate: str = "raise"
    capture_content: bool = False
    capture_reasoning: bool = False
    hosts: frozenset[str] = frozenset()
    stream_usage: bool = True
    catalog: Catalog = DEFAULT_CATALOG


class Telemetry:
    """What the wrappers share: tracer, instruments, settings, and which failures were logged."""

    def __init__(self, tracer: trace.Tracer, instruments: Instruments, settings: Settings) -> None:
        self.tracer = tracer
        self.instruments = instruments
        self.settings = settings
        self._logged: set[tuple[str, str]] = set()

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

    # --- plan -------------------------------------------------------------------------------

    def plan(self, client: Any, args: tuple, kwargs: dict) -> TracedCall | None:
        """A TracedCall for a DashScope chat call, or None to let the call through untouched."""
        try:
            options = args[1] if len(args) > 1 else kwargs["options"]
            if options.method != "post" or not options.url.rstrip("/").endswith("chat/completions"):
                return None
            route = self._route(client)
            if route is None:
                return None
            stream = kwargs.get("stream", args[2] if len(args) > 2 else False)
            return self._start(options, bool(stream), route)
        except Exception as exc:
            self.log_once("planning a call", exc)
            return None

    def _route(self, client: Any) -> dict | None:
        """Server attributes when ``client`` talks to DashScope, else None; cached on the client."""
        state = client.__dict__
        # The attribute behind the public property, which (openai 3.x) imports on every read.
        base = state.get("_base_url") or client.base_url
        cached = state.get("_qwenobs_route")
        if cached is not None and cached[0] is base and cached[1] is self:
            return cached[2]
        route = None
        if sc.is_dashscope(base.host, base.path, self.settings.hosts):
            port = base.port or (443 if base.scheme == "https" else 80)
            route = {sc.SERVER_ADDRESS: base.host, sc.SERVER_PORT: port, "url": str(base)}
        state["_qwenobs_route"] = (base, self, route)
        return route

    def _start(self, options: Any, stream: bool, route: dict) -> TracedCall:
        settings = self.settings
        body = options.json_data
        if type(body) is not dict:
            body = body if isinstance(body, Mapping) else {}
        extra = options.extra_json
        if extra is not None and not isinstance(extra, Mapping):
            extra = None
        # extra_body wins, as on the wire
        params = body if not extra else {**body, **extra}
        headers = options.headers
        raw = headers.get(sdk.RAW_RESPONSE_HEADER) if isinstance(headers, dict) else None

        findings: list[Finding] = []
        rounds = None
        try:
            if settings.validate == "off":
                rounds = scan(body.get("messages")).tool_rounds
            else:
                conv = inspect(params, catalog=settings.catalog)
                findings, rounds = conv.findings, conv.tool_rounds
        except Exception as exc:  # a bug in a rule never blocks a call
            self.log_once("validating a request", exc)

        attrs = at.request_attributes(params, stream)
        attrs[sc.SERVER_ADDRESS] = route[sc.SERVER_ADDRESS]
        attrs[sc.SERVER_PORT] = route[sc.SERVER_PORT]
        if rounds is not None:
            attrs[sc.TOOL_ROUNDS] = rounds
        span = self.tracer.start_span(
            f"chat {attrs[sc.REQUEST_MODEL]}", kind=SpanKind.CLIENT, attributes=attrs
        )
        call = TracedCall(self, span, attrs, stream)
        for f in findings:
            event = {"rule": f.rule, "severity": f.severity, "message": f.message}
            if f.index is not None:
                event["message_index"] = f.index
            if f.param is not None:
                event["param"] = f.param
            span.add_event(sc.VALIDATION_EVENT, event)
        if settings.capture_content:
            span.set_attributes(at.content_request_attributes(body))

        errors = [f for f in findings if f.is_error]
        if errors and settings.validate == "raise":
            call.blocked = QwenValidationError(errors, route["url"])
            return call
        run = current_agent.get()
        if run is not None:
            call.agent = run
            call.blocked = run.before_chat(span, body, options)
            if call.blocked is not None:
                return call
        if findings and settings.validate == "warn":
            log.warning(
                "qwenobs: chat %s: %s",
                attrs[sc.REQUEST_MODEL],
                "; ".join(f"{f.rule} ({f.severity}) at {_where(f)}" for f in findings),
            )
        if stream and settings.stream_usage and raw is None and "stream_options" not in params:
            # Ask for the usage chunk and hide it again, so the user sees the chunks they asked for.
            options.json_data = {**options.json_data, "stream_options": {"include_usage": True}}
            call.hide_usage = True
        return call


def _where(f: Finding) -> str:
    return f"messages[{f.index}]" if f.index is not None else (f.param or "request")


class TracedCall:
    """One traced call: its span, from plan to the end of the response or stream."""

    __slots__ = (
        "agent",
        "attrs",
        "blocked",
        "ended",
        "hide_usage",
        "span",
        "started",
        "stream",
        "telemetry",
    )

    def __init__(self, telemetry: Telemetry, span: Any, attrs: dict, stream: bool) -> None:
        self.telemetry = telemetry
        self.span = span
        self.attrs = attrs
        self.stream = stream
        self.started = time.perf_counter()
        self.blocked: Exception | None = None  # raised instead of sending (validation, loop guard)
        self.hide_usage = False
        self.agent: Any = None  # the running qwenobs.agent, if any
        self.ended = False

    def activate(self) -> object:
        """Make the span current for the SDK call, so spans of the HTTP layer nest under it."""
        return otel_context.attach(trace.set_span_in_context(self.span))

    # --- call ------------------------------------------------------------------------------

    def fail(self, exc: BaseException) -> None:
        """The SDK call raised: record it, end the span. Never raises."""
        try:
            request_id = getattr(exc, "request_id", None)
            if isinstance(request_id, str):
                self.span.set_attribute(sc.REQUEST_ID, request_id)
            self._end({}, error=exc)
        except Exception as internal:
            self.telemetry.log_once("recording a failed call", internal)

    def block(self) -> Exception:
        error = self.blocked
        self.fail(error)
        return error

    # --- observe ---------------------------------------------------------------------------

    def observe(self, result: Any) -> Any:
        """What the user gets back: the result itself, or a traced proxy of it."""
        try:
            if isinstance(result, sdk.Stream):
                self._note_request_id(result.response.headers)
                return TracedStream(result, self, self._stream_state(), self.hide_usage)
            if isinstance(result, sdk.AsyncStream):
                self._note_request_id(result.response.headers)
                return TracedAsyncStream(result, self, self._stream_state(), self.hide_usage)
            if isinstance(result, sdk.AsyncAPIResponse):
                self._note_request_id(result.headers)
                return TracedAsyncRawResponse(result, self)
            if isinstance(result, sdk.LegacyAPIResponse | sdk.APIResponse):
                self._note_request_id(result.headers)
                return TracedRawResponse(result, self)
            self.end_completion(result)
        except Exception as exc:
            self.telemetry.log_once("observing a response", exc)
            self._end_quietly()
        return result

    def observe_parsed(self, parsed: Any) -> Any:
        """A raw response was parsed by the user: a stream to trace, or the completion."""
        if isinstance(parsed, sdk.Stream):
            return TracedStream(parsed, self, self._stream_state(), self.hide_usage)
        if isinstance(parsed, sdk.AsyncStream):
            return TracedAsyncStream(parsed, self, self._stream_state(), self.hide_usage)
        self.end_completion(parsed)
        return parsed

    def _stream_state(self) -> StreamState:
        return StreamState(capture=self.telemetry.settings.capture_content)

    def _note_request_id(self, headers: Any) -> None:
        request_id = headers.get("x-request-id")
        if request_id:
            self.span.set_attribute(sc.REQUEST_ID, request_id)

    def end_completion(self, completion: Any) -> None:
        attrs = at.response_attributes(completion)
        request_id = getattr(completion, "_request_id", None)
        if isinstance(request_id, str):
            attrs[sc.REQUEST_ID] = request_id
        settings = self.telemetry.settings
        if settings.capture_content:
            attrs.update(
                at.output_messages_attribute(
                    at.completion_messages(completion), settings.capture_reasoning
                )
            )
        if self.agent is not None:
            self.agent.after_chat(list(iter_tool_calls(completion)))
        self._end(attrs)

    def end_stream(self, state: StreamState, how: str, error: BaseException | None) -> None:
        try:
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
            ttfc = None
            if state.first_chunk_at is not None:
                ttfc = state.first_chunk_at - self.started
                attrs[sc.RESPONSE_TTFC] = ttfc
            if state.first_content_at is not None:
                attrs[sc.TIME_TO_FIRST_CONTENT] = state.first_content_at - self.started
            attrs.update(at.usage_attributes(state.usage))
            settings = self.telemetry.settings
            if settings.capture_content and state.messages:
                attrs.update(
                    at.output_messages_attribute(
                        state.output_messages(), settings.capture_reasoning
                    )
                )
            if self.agent is not None and error is None:
                self.agent.after_chat(state.tool_call_names)
            self._end(attrs, error=error, ttfc=ttfc)
        except Exception as exc:
            self.telemetry.log_once("ending a stream's span", exc)
            self._end_quietly()

    def stream_chunk_failed(self, exc: Exception) -> None:
        self.telemetry.log_once("reading a stream chunk", exc)

    # --- end -------------------------------------------------------------------------------

    def _end(
        self, attrs: dict, error: BaseException | None = None, ttfc: float | None = None
    ) -> None:
        if self.ended:
            return
        self.ended = True
        span = self.span
        duration = time.perf_counter() - self.started
        if attrs:
            span.set_attributes(attrs)
        error_type = None
        if error is not None:
            error_type = type(error).__qualname__
            span.set_attribute(sc.ERROR_TYPE, error_type)
            span.record_exception(error)
            span.set_status(Status(StatusCode.ERROR, str(error)[:500]))
        span.end()
        model = attrs.get(sc.RESPONSE_MODEL)
        key = (
            self.attrs[sc.REQUEST_MODEL],
            model if isinstance(model, str) else None,
            self.attrs[sc.SERVER_ADDRESS],
            self.attrs[sc.SERVER_PORT],
            error_type,
        )
        self.telemetry.instruments.record(key, duration, ttfc, attrs, span.get_span_context())

    def _end_quietly(self) -> None:
        if not self.ended:
            self.ended = True
            self.span.end()


class _TracedRawBase(wrapt.ObjectProxy):
    def __init__(self, response: Any, call: TracedCall) -> None:
        super().__init__(response)
        self._self_call = call
        self._self_parsed: dict[int, Any] = {}

    def _self_observe(self, parsed: Any) -> Any:
        key = id(parsed)
        known = self._self_parsed.get(key)
        if known is not None:
            return known[1]
        try:
            traced = self._self_call.observe_parsed(parsed)
        except Exception as exc:
            self._self_call.telemetry.log_once("observing a parsed response", exc)
            self._self_call._end_quietly()
            traced = parsed
        self._self_parsed[key] = (parsed, traced)  # keeps parsed alive so its id stays unique
        return traced

    def __del__(self) -> None:
        call = self._self_call
        if not call.ended and not call.stream:
            call._end_quietly()


class TracedRawResponse(_TracedRawBase):
    """``with_raw_response`` / ``with_streaming_response``: the span follows what the user parses."""

    def parse(self, *args: Any, **kwargs: Any) -> Any:
        return self._self_observe(self.__wrapped__.parse(*args, **kwargs))

    def close(self) -> None:
        self.__wrapped__.close()
        if not self._self_parsed:
            self._self_call._end_quietly()


class TracedAsyncRawResponse(_TracedRawBase):
    async def parse(self, *args: Any, **kwargs: Any) -> Any:
        return self._self_observe(await self.__wrapped__.parse(*args, **kwargs))

    async def close(self) -> None:
        await self.__wrapped__.close()
        if not self._self_parsed:
            self._self_call._end_quietly()


# --- the wrappers ------------------------------------------------------------------------------


def sync_wrapper(telemetry: Telemetry) -> Any:
    def traced_request(wrapped: Any, instance: Any, args: tuple, kwargs: dict) -> Any:
        call = telemetry.plan(instance, args, kwargs)
        if call is None:
            return wrapped(*args, **kwargs)
        if call.blocked is not None:
            raise call.block()
        token = call.activate()
        try:
            result = wrapped(*args, **kwargs)
        except BaseException as exc:  # recorded on the span, then passed through unchanged
            call.fail(exc)
            raise
        finally:
            otel_context.detach(token)
        return call.observe(result)

    return traced_request


def async_wrapper(telemetry: Telemetry) -> Any:
    async def traced(call: TracedCall, wrapped: Any, args: tuple, kwargs: dict) -> Any:
        if call.blocked is not None:
            raise call.block()
        token = call.activate()
        try:
            result = await wrapped(*args, **kwargs)
        except BaseException as exc:  # recorded on the span, then passed through unchanged
            call.fail(exc)
            raise
        finally:
            otel_context.detach(token)
        return call.observe(result)

    def traced_request(wrapped: Any, instance: Any, args: tuple, kwargs: dict) -> Any:
        call = telemetry.plan(instance, args, kwargs)
        if call is None:
            return wrapped(*args, **kwargs)
        return traced(call, wrapped, args, kwargs)

    return traced_request
