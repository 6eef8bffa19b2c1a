"""Print finished spans as a tree a person reads at a glance (the demo's exporter).

With OTEL_EXPORTER_OTLP_ENDPOINT set, the same spans also go to that OTLP backend, in one export
at the end that reports whether it reached the backend (within a couple of seconds).
"""

from __future__ import annotations

import contextlib
import logging
import os
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from . import semconv as sc
from .extras import need

_EXPORT_TIMEOUT = 2.0  # seconds: the exporter's default of 10 would stall the demo

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
        self.otlp: Any = None
        if self.otlp_endpoint:
            need(
                "opentelemetry.exporter.otlp.proto.http.trace_exporter",
                "otlp",
                "exporting the demo's spans (OTEL_EXPORTER_OTLP_ENDPOINT is set)",
            )
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            self.otlp = OTLPSpanExporter(timeout=_EXPORT_TIMEOUT)
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
        self._print_level(children, None, "")
        print(cost_line(spans))
        if self.otlp is not None:
            print(self._export(spans))

    def _export(self, spans: list[ReadableSpan]) -> str:
        """Send the spans to the OTLP endpoint once; a line saying whether it worked."""
        exporter_log = logging.getLogger("opentelemetry.exporter.otlp")
        with _quiet(exporter_log):  # its retry warnings would bury the one line that matters
            result = self.otlp.export(spans)
        self.otlp.shutdown()
        if result is SpanExportResult.SUCCESS:
            return f"Exported {len(spans)} spans over OTLP to {self.otlp_endpoint}"
        return (
            f"OTLP export to {self.otlp_endpoint} failed within {_EXPORT_TIMEOUT:g} s: is a "
            "collector listening there? The trace above is complete."
        )

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


def cost_line(spans: list[ReadableSpan]) -> str:
    """What the chat calls cost, per currency, and what DashScope's prefix cache saved."""
    spent: dict[str, float] = {}
    saved: dict[str, float] = {}
    for span in spans:
        attrs = span.attributes or {}
        currency = attrs.get(sc.COST_CURRENCY)
        if isinstance(currency, str):
            spent[currency] = spent.get(currency, 0.0) + float(attrs.get(sc.COST_AMOUNT, 0.0))
            saved[currency] = saved.get(currency, 0.0) + float(
                attrs.get(sc.COST_CACHE_SAVINGS, 0.0)
            )
    if not spent:
        return "Cost: unknown (no priced call)"
    return "Cost: " + "; ".join(
        f"{spent[c]:.6f} {c} (the prefix cache saved another {saved[c]:.6f} {c})"
        for c in sorted(spent)
    )


@contextlib.contextmanager
def _quiet(logger: logging.Logger) -> Any:
    """Silence ``logger`` and the loggers below it meanwhile."""
    was = logger.level
    logger.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        logger.setLevel(was)


def describe(span: ReadableSpan) -> str:
    attrs = span.attributes or {}
    millis = ((span.end_time or 0) - (span.start_time or 0)) / 1e6
    parts = [f"{span.name:<28} {millis:7.1f} ms"]
    for amount, currency in (
        (sc.COST_AMOUNT, sc.COST_CURRENCY),
        (sc.AGENT_COST_AMOUNT, sc.AGENT_COST_CURRENCY),
    ):
        if isinstance(attrs.get(amount), float):
            parts.append(f"cost {attrs[amount]:.6f} {attrs.get(currency)}")
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
