"""Print finished spans as a tree a person reads at a glance (the demo's exporter).

With OTEL_EXPORTER_OTLP_ENDPOINT set, the same spans also go to that OTLP backend.
"""

from __future__ import annotations

import os
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from . import semconv as sc

# (attribute, label, format) in the order they are shown
_SHOWN = (
    (sc.USAGE_INPUT, "in", "{}"),
    (sc.USAGE_CACHE_READ, "cached", "{}"),
    (sc.USAGE_OUTPUT, "out", "{}"),
    (sc.USAGE_REASONING, "reasoning tok", "{}"),
    (sc.REASONING_CHARS, "thinking chars", "{}"),
    (sc.TOOL_ROUNDS, "tool rounds", "{}"),
    (sc.RESPONSE_TOOL_CALLS, "tool calls", "{}"),
    (sc.RESPONSE_TTFC, "first chunk", "{:.0f} ms"),
    (sc.TIME_TO_FIRST_CONTENT, "first answer", "{:.0f} ms"),
    (sc.RESPONSE_FINISH_REASONS, "finish", "{}"),
    (sc.AGENT_ROUNDS, "rounds", "{}"),
    (sc.AGENT_TOOL_CALLS, "tool calls", "{}"),
    (sc.AGENT_REPEATED, "repeated", "{}"),
    (sc.TOOL_CALL_ID, "call", "{}"),
    (sc.ERROR_TYPE, "error", "{}"),
)
_MILLIS = {sc.RESPONSE_TTFC, sc.TIME_TO_FIRST_CONTENT}


class SpanTree:
    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.tracer_provider = TracerProvider(
            resource=Resource.create({"service.name": "qwenobs-demo"})
        )
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.otlp_endpoint = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        if self.otlp_endpoint:
            try:
                from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
            except ImportError:
                raise SystemExit(
                    "OTEL_EXPORTER_OTLP_ENDPOINT is set but the OTLP exporter is not installed: "
                    "pip install 'qwenobs[otlp]'"
                ) from None
            self.tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        self.meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])

    def print(self) -> None:
        self.tracer_provider.force_flush()
        spans = sorted(self.exporter.get_finished_spans(), key=lambda s: s.start_time)
        ids = {s.context.span_id for s in spans}
        children: dict[Any, list[ReadableSpan]] = {}
        for span in spans:
            parent = span.parent.span_id if span.parent and span.parent.span_id in ids else None
            children.setdefault(parent, []).append(span)
        print(f"Trace ({len(spans)} spans)")
        if self.otlp_endpoint:
            print(f"(also exported over OTLP to {self.otlp_endpoint})")
        self._print_level(children, None, "")

    def _print_level(self, children: dict, parent: Any, indent: str) -> None:
        level = children.get(parent, [])
        for i, span in enumerate(level):
            last = i == len(level) - 1
            branch = "└─ " if last else "├─ "
            print(f"{indent}{branch}{describe(span)}")
            inner = indent + ("   " if last else "│  ")
            for event in span.events:
                if event.name == sc.VALIDATION_EVENT:
                    a = event.attributes or {}
                    where = f" at messages[{a['message_index']}]" if "message_index" in a else ""
                    print(f"{inner}  ! {a.get('severity')} {a.get('rule')}{where}")
            self._print_level(children, span.context.span_id, inner)


def describe(span: ReadableSpan) -> str:
    attrs = span.attributes or {}
    millis = ((span.end_time or 0) - (span.start_time or 0)) / 1e6
    parts = [f"{span.name:<28} {millis:7.1f} ms"]
    for key, label, fmt in _SHOWN:
        if key not in attrs:
            continue
        value = attrs[key]
        if key in _MILLIS:
            value = value * 1000
        elif isinstance(value, tuple):
            value = ",".join(map(str, value))
        parts.append(f"{label} {fmt.format(value)}")
    return "  ".join(parts)
