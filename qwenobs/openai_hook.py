"""The openai SDK hook: wrappers around ``SyncAPIClient.request`` / ``AsyncAPIClient.request``.

Every chat-completions call passes through the client's request method once (retries loop inside
it), whichever way it was made: ``create``, ``parse``, raw and streaming responses, or a direct
``client.post``. The wrapper describes a DashScope chat call as a ``ChatRequest`` for the call
lifecycle, sends the body the lifecycle chose, and hands back what the SDK returned, traced: a
stream proxy, a raw-response proxy, or the completion itself. With ``openai_streams``,
``openai_raw`` and ``openai_sdk`` this is the only code that knows the openai SDK.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import openai_sdk as sdk
from . import semconv as sc
from .lifecycle import ChatRequest, Endpoint, Telemetry, TracedCall
from .openai_raw import TracedAsyncRawResponse, TracedLegacyRawResponse, TracedRawResponse
from .openai_streams import TracedAsyncStream, TracedStream
from .tracing import activate, deactivate


def _plan(telemetry: Telemetry, client: Any, args: tuple, kwargs: dict) -> TracedCall | None:
    """The traced call for a DashScope chat call, or None to let the call through untouched."""
    try:
        options = args[1] if len(args) > 1 else kwargs["options"]
        if options.method != "post" or not sc.is_chat_path(options.url):
            return None
        endpoint = _endpoint(telemetry, client)
        if endpoint is None:
            return None
        body = options.json_data
        if type(body) is not dict:
            body = body if isinstance(body, Mapping) else {}
        extra = options.extra_json
        if extra is not None and not isinstance(extra, Mapping):
            extra = None
        stream = kwargs.get("stream", args[2] if len(args) > 2 else False)
        request = ChatRequest(body, extra, bool(stream), endpoint)
    except Exception as exc:
        telemetry.log_once("planning a call", exc)
        return None
    call = telemetry.plan(request)
    if call is not None and call.body is not body:
        try:
            options.json_data = call.body
        except Exception as exc:
            telemetry.log_once("rewriting a request", exc)
            call.end_quietly()
            return None
    return call


def _endpoint(telemetry: Telemetry, client: Any) -> Endpoint | None:
    """The endpoint when ``client`` talks to DashScope, else None; cached on the client."""
    state = client.__dict__
    # The attribute behind the public property, which (openai 3.x) imports on every read.
    base = state.get("_base_url") or client.base_url
    cached = state.get("_qwenobs_endpoint")
    if cached is not None and cached[0] is base and cached[1] is telemetry:
        return cached[2]
    endpoint = None
    official = sc.is_dashscope_endpoint(base.host, base.path)
    if official or base.host.lower() in telemetry.settings.hosts:
        port = base.port or (443 if base.scheme == "https" else 80)
        endpoint = telemetry.endpoint(base.host, port, str(base), official)
    state["_qwenobs_endpoint"] = (base, telemetry, endpoint)
    return endpoint


# What the SDK hands back in place of a parsed completion: streams and raw responses.
_PROXIED = (
    sdk.Stream,
    sdk.AsyncStream,
    sdk.LegacyAPIResponse,
    sdk.AsyncAPIResponse,
    sdk.APIResponse,
)


def _observe(call: TracedCall, result: Any) -> Any:
    """What the user gets back: the result itself, or a traced proxy of it."""
    try:
        if not isinstance(result, _PROXIED):  # a completion: one check for the common case
            call.end_completion(result, getattr(result, "_request_id", None))
            return result
        if isinstance(result, sdk.Stream):
            call.note_request_id(result.response.headers.get("x-request-id"))
            return TracedStream(result, call)
        if isinstance(result, sdk.AsyncStream):
            call.note_request_id(result.response.headers.get("x-request-id"))
            return TracedAsyncStream(result, call)
        if isinstance(result, sdk.LegacyAPIResponse):
            call.note_request_id(result.headers.get("x-request-id"))
            return TracedLegacyRawResponse(result, call)
        if isinstance(result, sdk.AsyncAPIResponse):
            call.note_request_id(result.headers.get("x-request-id"))
            return TracedAsyncRawResponse(result, call)
        if isinstance(result, sdk.APIResponse):
            call.note_request_id(result.headers.get("x-request-id"))
            return TracedRawResponse(result, call)
    except Exception as exc:
        call.telemetry.log_once("observing a response", exc)
        call.end_quietly()
    return result


def _failed(call: TracedCall, exc: BaseException) -> None:
    call.fail(exc, getattr(exc, "request_id", None))


# --- the wrappers ------------------------------------------------------------------------------


def sync_wrapper(telemetry: Telemetry) -> Any:
    def traced_request(wrapped: Any, instance: Any, args: tuple, kwargs: dict) -> Any:
        call = _plan(telemetry, instance, args, kwargs)
        if call is None:
            return wrapped(*args, **kwargs)
        if call.blocked is not None:
            raise call.block()
        token = activate(call.span)  # spans of the HTTP layer nest under the call's
        try:
            result = wrapped(*args, **kwargs)
        except BaseException as exc:  # recorded on the span, then passed through unchanged
            _failed(call, exc)
            raise
        finally:
            deactivate(token)
        return _observe(call, result)

    return traced_request


def async_wrapper(telemetry: Telemetry) -> Any:
    async def traced(call: TracedCall, wrapped: Any, args: tuple, kwargs: dict) -> Any:
        if call.blocked is not None:
            raise call.block()
        token = activate(call.span)  # spans of the HTTP layer nest under the call's
        try:
            result = await wrapped(*args, **kwargs)
        except BaseException as exc:  # recorded on the span, then passed through unchanged
            _failed(call, exc)
            raise
        finally:
            deactivate(token)
        return _observe(call, result)

    def traced_request(wrapped: Any, instance: Any, args: tuple, kwargs: dict) -> Any:
        call = _plan(telemetry, instance, args, kwargs)
        if call is None:
            return wrapped(*args, **kwargs)
        return traced(call, wrapped, args, kwargs)

    return traced_request
