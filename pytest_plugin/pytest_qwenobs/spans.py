"""``qwen_spans``: instrumentation on for one test, with in-memory span and metric pipelines, and
the lookups tests assert on most. Every failed lookup lists the spans (or metrics) that were there."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from qwenobs import semconv as sc

if TYPE_CHECKING:
    from qwenobs.instrumentor import Instrumentation


# instrument() options the qwen_spans fixture sets itself.
PROVIDERS = ("tracer_provider", "meter_provider")


class SpanAssertionError(AssertionError):
    """A span lookup found no match (or more than one); the message lists the spans."""


class SpanList(list):
    """A list of spans whose repr is one readable line per span, for assertion messages."""

    def __repr__(self) -> str:
        from qwenobs.spantree import describe

        return "[" + ", ".join(describe(s).replace("  ", " ") for s in self) + "]"


class QwenSpans:
    """The spans and metrics qwenobs produced during this test.

    ``chat()`` the finished chat spans in start order, ``one(name, **attributes)`` exactly one
    span, ``findings()`` validation events, ``metric(name)`` a metric's data points.
    """

    def __init__(self, test: str | None = None) -> None:
        self.exporter = InMemorySpanExporter()
        # With --qwen-spans-file, spans name their test (resource attribute test.case.name).
        resource = (
            Resource.create({"service.name": "pytest", "test.case.name": test}) if test else None
        )
        self.tracer_provider = TracerProvider(resource=resource)
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])
        self._previous: Instrumentation | None = None
        self._instrumented = False

    def instrument(self, **settings: Any) -> None:
        """qwenobs on, into these pipelines, with ``settings``; ``close()`` puts back what ran
        before (the application's own instrumentation with its settings and providers, or none)."""
        import qwenobs

        if not self._instrumented:  # called again: what ran before the first call stays
            self._previous = qwenobs.instrumentation()
            self._instrumented = True
        qwenobs.uninstrument()  # a suite-wide instrument() would otherwise keep its providers
        try:
            qwenobs.instrument(
                tracer_provider=self.tracer_provider, meter_provider=self.meter_provider, **settings
            )
        except BaseException:
            self._put_back()
            raise

    def close(self) -> None:
        self._put_back()
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown()

    def _put_back(self) -> None:
        import qwenobs

        if not self._instrumented:  # put back already (instrument() failed), or never changed
            return
        qwenobs.uninstrument()
        if self._previous is not None:
            self._previous.restore()
        self._previous, self._instrumented = None, False

    # -- spans ---------------------------------------------------------------------------------

    def all(self) -> SpanList:
        """Every finished span, in start order."""
        spans = sorted(self.exporter.get_finished_spans(), key=lambda s: s.start_time or 0)
        return SpanList(spans)

    def chat(self, model: str | None = None, *, count: int | None = None) -> SpanList:
        """The finished chat spans (optionally of one requested model), in start order; with
        ``count``, fails listing the spans unless there are exactly that many."""
        __tracebackhide__ = True
        found = SpanList(
            s
            for s in self.all()
            if (s.attributes or {}).get(sc.OPERATION) == sc.OPERATION_CHAT
            and (model is None or (s.attributes or {}).get(sc.REQUEST_MODEL) == model)
        )
        if count is not None and len(found) != count:
            what = f"chat spans of {model!r}" if model else "chat spans"
            raise SpanAssertionError(
                f"expected {count} {what}, found {len(found)}\n{self.describe()}"
            )
        return found

    def one(self, name: str | None = None, **attributes: Any) -> ReadableSpan:
        """The one finished span with this name and these attributes (dots as ``__``:
        ``one(gen_ai__request__model="qwen-plus")``); fails listing the spans otherwise."""
        __tracebackhide__ = True
        wanted = {key.replace("__", "."): value for key, value in attributes.items()}
        found = [s for s in self.all() if _matches(s, name, wanted)]
        if len(found) != 1:
            what = " ".join(
                [repr(name) if name else "span", *(f"{k}={v!r}" for k, v in wanted.items())]
            )
            raise SpanAssertionError(
                f"expected exactly one {what}, found {len(found)}\n{self.describe()}"
            )
        return found[0]

    def attributes(self, name: str | None = None, **attributes: Any) -> Mapping[str, Any]:
        """``one(...)``'s attributes."""
        __tracebackhide__ = True
        return dict(self.one(name, **attributes).attributes or {})

    def events(self, name: str | None = None, span: ReadableSpan | None = None) -> list[dict]:
        """Event attributes (with ``name``), of one span or of all, in order."""
        spans = [span] if span is not None else self.all()
        return [
            {"name": e.name, **dict(e.attributes or {})}
            for s in spans
            for e in s.events
            if name is None or e.name == name
        ]

    def findings(self, span: ReadableSpan | None = None) -> list[dict]:
        """Validation findings recorded as ``dashscope.validation`` events: rule, severity,
        message, message_index, param."""
        return self.events(sc.VALIDATION_EVENT, span)

    def cost(self) -> dict[str, float]:
        """What the finished chat calls cost, summed per currency (``{"CNY": 0.0123}``), as their
        spans say; calls with no known cost are left out (a model without a price, a stream
        closed before its usage chunk)."""
        totals: dict[str, float] = {}
        for span in self.chat():
            attributes = span.attributes or {}
            currency = attributes.get(sc.COST_CURRENCY)
            if currency is not None:
                amount = attributes.get(sc.COST_AMOUNT, 0.0)
                totals[currency] = totals.get(currency, 0.0) + amount
        return totals

    def clear(self) -> None:
        """Forget the spans so far (metrics are cumulative and stay)."""
        self.exporter.clear()

    def describe(self) -> str:
        """The finished spans, one a line, as failure messages show them."""
        from qwenobs.spantree import describe

        spans = self.all()
        if not spans:
            return "no finished spans (is the call going to a DashScope host?)"
        lines = [f"finished spans ({len(spans)}):"]
        for span in spans:
            lines.append(f"  {describe(span)}")
            lines += [
                f"    ! {e['severity']} {e['rule']}"
                for e in self.events(sc.VALIDATION_EVENT, span)
                if "rule" in e
            ]
        return "\n".join(lines)

    # -- metrics -------------------------------------------------------------------------------

    def metric(self, name: str) -> list[Any]:
        """The data points of a metric (``.value`` for counters, ``.sum``/``.count`` for
        histograms, ``.attributes``); fails naming the metrics there were if it has none."""
        __tracebackhide__ = True
        metrics = self._metrics()
        if name not in metrics:
            there = ", ".join(sorted(metrics)) or "none"
            raise SpanAssertionError(f"no metric {name!r}; metrics recorded: {there}")
        return metrics[name]

    def _metrics(self) -> dict[str, list[Any]]:
        data = self.reader.get_metrics_data()
        found: dict[str, list[Any]] = {}
        for resource in data.resource_metrics if data else ():
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    found.setdefault(metric.name, []).extend(metric.data.data_points)
        return found

    def __len__(self) -> int:
        return len(self.exporter.get_finished_spans())

    def __iter__(self) -> Any:
        return iter(self.all())


def _matches(span: ReadableSpan, name: str | None, wanted: Mapping[str, Any]) -> bool:
    if name is not None and span.name != name:
        return False
    attributes = span.attributes or {}
    return all(attributes.get(key) == value for key, value in wanted.items())
