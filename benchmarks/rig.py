"""The rig the instrumentation benchmarks share: DashScope-style payloads encoded once, an
in-memory transport replaying them, the floor (the SDK span alone), and the variant switch.

No network: ``openai.OpenAI`` / ``AsyncOpenAI`` talk to the SDK's own HTTP library's
``MockTransport`` (httpx2 under openai 3.x, httpx under 1.x and 2.x), which replays the payloads
and honours ``stream_options`` like DashScope. Tracing goes to a real SDK TracerProvider with
``SimpleSpanProcessor(InMemorySpanExporter())`` and a MeterProvider with an ``InMemoryMetricReader``,
passed to ``instrument()`` (no globals). Used by bench_instrument.py, bench_instructions.py and
soak.py.
"""

from __future__ import annotations

import asyncio
import gc
import json
import re
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import openai
from openai import _base_client
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

import qwenobs
from qwenobs.fake.samples import WEATHER_TOOLS as TOOLS
from qwenobs.openai_sdk import http

# --- payloads, encoded once ----------------------------------------------------------------------

BASE_URL = "https://dashscope.aliyuncs.com/compatible-mode/v1"
CALL_ID = "call_wx_7f3a"
MESSAGES = [
    {"role": "system", "content": "You are a concise weather assistant."},
    {"role": "user", "content": "What's the weather in Hangzhou today? 一句话回答。"},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": CALL_ID,
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Hangzhou"}'},
            }
        ],
    },
    {"role": "tool", "tool_call_id": CALL_ID, "content": '{"temp_c": 21, "sky": "sunny"}'},
]
NS_REQUEST = {
    "model": "qwen-plus",
    "messages": MESSAGES,
    "tools": TOOLS,
    "max_tokens": 512,
    "temperature": 0.2,
}
# No stream_options: qwenobs asks for the usage chunk itself and hides it from the caller.
STREAM_REQUEST = {
    "model": "qwen3-max",
    "messages": MESSAGES,
    "tools": TOOLS,
    "max_tokens": 512,
    "stream": True,
    "extra_body": {"enable_thinking": True},
}


def _usage(prompt: int, completion: int, cached: int, reasoning: int) -> dict:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached},
        "completion_tokens_details": {
            "reasoning_tokens": reasoning,
            "text_tokens": completion - reasoning,
        },
    }


NS_BODY = json.dumps(
    {
        "id": "chatcmpl-ns-1",
        "object": "chat.completion",
        "created": 1760000000,
        "model": "qwen-plus",
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "logprobs": None,
                "message": {
                    "role": "assistant",
                    "content": "It is sunny and 21 °C in Hangzhou today.",
                    "reasoning_content": "The tool said sunny, 21 °C; one sentence.",
                },
            }
        ],
        "usage": _usage(1234, 56, 1024, 33),
        "system_fingerprint": None,
    },
    ensure_ascii=False,
).encode()


def _sse(obj: dict) -> bytes:
    return b"data: " + json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode() + b"\n\n"


@dataclass(frozen=True)
class StreamPayload:
    chunks: tuple[bytes, ...]  # everything but the usage chunk and [DONE]
    usage: bytes

    @property
    def size(self) -> int:
        """Chunks on the wire when usage is asked for (what the table calls a 222-chunk stream)."""
        return len(self.chunks) + 1


def stream_payload(n_reasoning: int, n_content: int) -> StreamPayload:
    head = {
        "id": "chatcmpl-st-1",
        "object": "chat.completion.chunk",
        "created": 1760000000,
        "model": "qwen3-max",
        "system_fingerprint": None,
    }

    def chunk(delta: dict, finish: str | None = None) -> bytes:
        return _sse({**head, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})

    out = [chunk({"role": "assistant", "content": None, "reasoning_content": "好的，"})]
    out += [
        chunk({"content": None, "reasoning_content": f"step {i}. "}) for i in range(1, n_reasoning)
    ]
    out += [chunk({"content": f"tok{i} "}) for i in range(n_content)]
    out.append(chunk({"content": ""}, "stop"))
    usage = _sse({**head, "choices": [], "usage": _usage(1234, 777, 512, 77)})
    return StreamPayload(tuple(out), usage)


LONG = stream_payload(20, 200)  # 222 chunks with usage
SHORT = stream_payload(2, 18)  # 22 chunks with usage
assert (LONG.size, SHORT.size) == (222, 22)

JSON_HEADERS = {"content-type": "application/json", "x-request-id": "rid-bench-ns"}
SSE_HEADERS = {"content-type": "text/event-stream", "x-request-id": "rid-bench-st"}
_WANTS_USAGE = re.compile(rb'"include_usage"\s*:\s*true')
DONE = b"data: [DONE]\n\n"


def ns_handler(request: http.Request) -> http.Response:
    return http.Response(200, headers=JSON_HEADERS, content=NS_BODY)


def stream_handler(payload: StreamPayload) -> Callable[[http.Request], http.Response]:
    with_usage = (*payload.chunks, payload.usage, DONE)
    without = (*payload.chunks, DONE)

    def handler(request: http.Request) -> http.Response:
        # Honour stream_options like DashScope: the usage chunk only when asked for.
        events = with_usage if _WANTS_USAGE.search(request.content) else without
        return http.Response(200, headers=SSE_HEADERS, content=iter(events))

    return handler


def sync_client(handler: Callable) -> openai.OpenAI:
    return openai.OpenAI(
        api_key="sk-bench",
        base_url=BASE_URL,
        max_retries=0,
        http_client=http.Client(transport=http.MockTransport(handler)),
    )


def async_client(handler: Callable) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(
        api_key="sk-bench",
        base_url=BASE_URL,
        max_retries=0,
        http_client=http.AsyncClient(transport=http.MockTransport(handler)),
    )


# --- the rig -------------------------------------------------------------------------------------

ORIGINAL_SYNC = _base_client.SyncAPIClient.request
ORIGINAL_ASYNC = _base_client.AsyncAPIClient.request


@dataclass(frozen=True)
class SpanShape:
    """What qwenobs's span of the non-streaming call carries, copied from a real one: the
    attributes it starts with, its events, and the attributes set when the response is in."""

    name: str
    request: dict[str, Any]
    events: tuple[tuple[str, dict[str, Any]], ...]
    response: dict[str, Any]


class _StartAttributes(SpanProcessor):
    """A span processor noting the attributes each span starts with."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []

    def on_start(self, span: Any, parent_context: Any = None) -> None:
        self.seen.append(dict(span.attributes or {}))


def span_floor(tracer: Any, shape: SpanShape) -> None:
    """The least any instrumentation emitting qwenobs's span can do: start the span with the
    request attributes, add its events, make it current for the call, set the response
    attributes, end it. No reading of the request or response, no validation, no metrics: the
    OpenTelemetry SDK's own cost for this span. Non-streaming calls only."""

    def start() -> Any:
        span = tracer.start_span(shape.name, kind=SpanKind.CLIENT, attributes=shape.request)
        for name, attributes in shape.events:
            span.add_event(name, attributes)
        return span

    def sync_request(self: Any, *args: Any, **kwargs: Any) -> Any:
        span = start()
        token = otel_context.attach(trace.set_span_in_context(span))
        try:
            result = ORIGINAL_SYNC(self, *args, **kwargs)
        finally:
            otel_context.detach(token)
        span.set_attributes(shape.response)
        span.end()
        return result

    async def async_request(self: Any, *args: Any, **kwargs: Any) -> Any:
        span = start()
        token = otel_context.attach(trace.set_span_in_context(span))
        try:
            result = await ORIGINAL_ASYNC(self, *args, **kwargs)
        finally:
            otel_context.detach(token)
        span.set_attributes(shape.response)
        span.end()
        return result

    _base_client.SyncAPIClient.request = sync_request
    _base_client.AsyncAPIClient.request = async_request


class Rig:
    """Providers, clients and the variant switch; one per process."""

    def __init__(self) -> None:
        self.spans = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        self.metrics = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.metrics])
        self.c_ns = sync_client(ns_handler)
        self.c_long = sync_client(stream_handler(LONG))
        self.c_short = sync_client(stream_handler(SHORT))
        self.ac_ns = async_client(ns_handler)
        self.loop = asyncio.new_event_loop()
        self.variant = "bare"
        self.shape = self._copy_span()

    def _copy_span(self) -> SpanShape:
        """qwenobs's span of one non-streaming call, for the floor to emit as constants (traced
        on a provider of its own, which also notes the attributes the span starts with)."""
        starts, exported = _StartAttributes(), InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(starts)
        provider.add_span_processor(SimpleSpanProcessor(exported))
        qwenobs.instrument(
            tracer_provider=provider, meter_provider=NoOpMeterProvider(), validate="raise"
        )
        try:
            self.ns_call()
        finally:
            qwenobs.uninstrument()
        (span,), (at_start,) = exported.get_finished_spans(), starts.seen
        final = dict(span.attributes or {})
        return SpanShape(
            span.name,
            at_start,
            tuple((e.name, dict(e.attributes or {})) for e in span.events),
            {k: v for k, v in final.items() if k not in at_start},
        )

    def set(self, variant: str) -> None:
        """``bare`` / ``bare-aa``: the SDK alone; ``floor``: the SDK span alone; ``qwenobs``;
        ``qwenobs-no-meter``: qwenobs with no meter provider (the global one, never set here)."""
        if variant == self.variant:
            return
        if self.variant.startswith("qwenobs"):
            qwenobs.uninstrument()
        elif self.variant == "floor":
            _base_client.SyncAPIClient.request = ORIGINAL_SYNC
            _base_client.AsyncAPIClient.request = ORIGINAL_ASYNC
        if variant == "qwenobs":
            qwenobs.instrument(
                tracer_provider=self.tracer_provider,
                meter_provider=self.meter_provider,
                validate="raise",
            )
        elif variant == "qwenobs-no-meter":
            qwenobs.instrument(tracer_provider=self.tracer_provider, validate="raise")
        elif variant == "floor":
            span_floor(self.tracer_provider.get_tracer("floor"), self.shape)
        self.variant = variant
        patched = _base_client.SyncAPIClient.request is not ORIGINAL_SYNC
        apatched = _base_client.AsyncAPIClient.request is not ORIGINAL_ASYNC
        wanted = variant in ("qwenobs", "qwenobs-no-meter", "floor")
        if (patched, apatched) != (wanted, wanted):
            raise RuntimeError(f"request methods patched={patched}/{apatched} under {variant}")

    # workloads: each returns something derived from the response so nothing is skipped

    def ns_call(self) -> int:
        r = self.c_ns.chat.completions.create(**NS_REQUEST)
        return r.usage.prompt_tokens_details.cached_tokens

    def stream_call(self, client: openai.OpenAI) -> int:
        n = 0
        for _ in client.chat.completions.create(**STREAM_REQUEST):
            n += 1
        return n

    async def _ans(self, n: int) -> tuple[float, float]:
        c0, w0 = time.process_time(), time.perf_counter()
        for _ in range(n):
            r = await self.ac_ns.chat.completions.create(**NS_REQUEST)
            _ = r.usage.prompt_tokens_details.cached_tokens
        return time.process_time() - c0, time.perf_counter() - w0

    def batch(self, kind: str, n: int) -> tuple[float, float, float]:
        """Per call over ``n`` calls of ``kind``: CPU seconds on the calling thread, CPU seconds
        including one metric collection at the end (where qwenobs hands its queued measurements
        to the SDK), and wall seconds."""
        gc.collect()
        if kind == "async":
            cpu, wall = self.loop.run_until_complete(self._ans(n))
        else:
            call: Callable[[], int]
            if kind == "ns":
                call = self.ns_call
            else:
                client = self.c_long if kind == "long" else self.c_short
                call = lambda: self.stream_call(client)  # noqa: E731
            c0, w0 = time.process_time(), time.perf_counter()
            for _ in range(n):
                call()
            cpu, wall = time.process_time() - c0, time.perf_counter() - w0
        c0 = time.process_time()
        self.metrics.get_metrics_data()
        collect = time.process_time() - c0
        self.spans.clear()
        return cpu / n, (cpu + collect) / n, wall / n

    def check(self) -> list[str]:
        """One instrumented call of each kind: the spans and the usage chunk behave as expected,
        and the floor's span carries the same attributes and events as qwenobs's."""
        notes = []
        self.set("qwenobs")
        self.spans.clear()
        self.ns_call()
        seen = self.stream_call(self.c_long), self.stream_call(self.c_short)
        self.loop.run_until_complete(self._ans(1))
        spans = self.spans.get_finished_spans()
        self.spans.clear()
        self.set("floor")
        self.ns_call()
        (floor,) = self.spans.get_finished_spans()
        self.spans.clear()
        self.set("bare")
        bare_seen = self.stream_call(self.c_long), self.stream_call(self.c_short)
        if len(spans) != 4:
            notes.append(f"expected 4 spans, got {len(spans)}")
        if seen != bare_seen:
            notes.append(f"caller saw {seen} chunks instrumented vs {bare_seen} bare")
        if spans and dict(spans[0].attributes or {}) != dict(floor.attributes or {}):
            notes.append(
                f"the floor's span differs from qwenobs's: {dict(floor.attributes or {})} "
                f"vs {dict(spans[0].attributes or {})}"
            )
        stream_span = spans[1] if len(spans) > 1 else None
        attrs = dict(stream_span.attributes or {}) if stream_span else {}
        if not any("usage" in k and v == 777 for k, v in attrs.items()):
            notes.append("stream span has no output usage: was include_usage injected?")
        notes.append(
            f"caller sees {seen[0]} / {seen[1]} chunks; qwenobs reads {LONG.size} / {SHORT.size} "
            "(the usage chunk is requested and hidden)"
        )
        if spans and [e.name for e in spans[0].events] != [e.name for e in floor.events]:
            notes.append(f"the floor's events differ from qwenobs's: {floor.events}")
        notes.append(
            f"the floor's span has the {len(floor.attributes or {})} attributes and "
            f"{len(floor.events)} events of qwenobs's non-streaming span"
        )
        return notes


# --- measurement ---------------------------------------------------------------------------------

VARIANTS = ("bare", "floor", "qwenobs", "bare-aa")
STREAMS = ("long", "short")  # the floor ends its span before a stream is read: not comparable


@dataclass
class Series:
    cpu: dict[str, list[float]] = field(default_factory=lambda: {v: [] for v in VARIANTS})
    total: dict[str, list[float]] = field(default_factory=lambda: {v: [] for v in VARIANTS})
    wall: dict[str, list[float]] = field(default_factory=lambda: {v: [] for v in VARIANTS})


def measure(rig: Rig, plan: dict[str, int], rounds: int) -> dict[str, Series]:
    results = {kind: Series() for kind in plan}
    for r in range(rounds):
        shift = r % len(VARIANTS)
        order = VARIANTS[shift:] + VARIANTS[:shift]
        for kind, n in plan.items():
            for variant in order:
                if variant == "floor" and kind in STREAMS:
                    continue
                rig.set(variant)
                cpu, total, wall = rig.batch(kind, n)
                results[kind].cpu[variant].append(cpu)
                results[kind].total[variant].append(total)
                results[kind].wall[variant].append(wall)
        print(f"  round {r + 1}/{rounds}", file=sys.stderr, end="\r", flush=True)
    print(file=sys.stderr)
    rig.set("bare")
    return results


def med(xs: list[float]) -> float:
    return statistics.median(xs)


def paired(a: list[float], b: list[float]) -> tuple[float, float]:
    """Median per-round difference (b - a) and ratio (b / a)."""
    return med([y - x for x, y in zip(a, b, strict=True)]), med(
        [y / x for x, y in zip(a, b, strict=True)]
    )


def us(seconds: float) -> str:
    return f"{seconds * 1e6:,.1f}"
