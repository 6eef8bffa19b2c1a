"""The OpenTelemetry metric instruments qwenobs records, and when it hands them to the SDK.

The OpenTelemetry SDK spends tens of microseconds on each histogram measurement (attribute
hashing, aggregation lookup, exemplar checks). Run in the middle of a user's call, that cost is
the largest part of what instrumentation adds. So a finished call only queues its numbers; the
queue is handed to the SDK when a metric reader collects (the observable counters' callback runs
first in every collection), or inline once it holds ``FLUSH_AT`` calls, which bounds memory when
nothing ever collects. Every measurement reaches the same data points in the same collection as
if it were recorded at once; its exemplar keeps the call's span but takes the hand-over time.
"""

from __future__ import annotations

import functools
import threading
import weakref
from collections import deque
from collections.abc import Iterable
from typing import Any

from opentelemetry import trace
from opentelemetry.metrics import CallbackOptions, Histogram, Meter, NoOpMeter, Observation
from opentelemetry.trace import NonRecordingSpan, SpanContext

from . import semconv as sc

FLUSH_AT = 256

# (key, duration, time to first chunk, input, output, cache read, reasoning tokens, span context)
_Pending = tuple[tuple, float, float | None, Any, Any, Any, Any, SpanContext | None]


class Instruments:
    """The three GenAI histograms and two DashScope counters of one meter."""

    def __init__(self, meter: Meter) -> None:
        self.enabled = not isinstance(meter, NoOpMeter)
        self._pending: deque[_Pending] = deque()
        self._flush_lock = threading.Lock()  # one drain at a time keeps the counters' sums exact
        self._cache_read: dict[tuple, int] = {}
        self._reasoning: dict[tuple, int] = {}
        self.duration = _histogram(
            meter, sc.METRIC_DURATION, "s", "GenAI operation duration", sc.DURATION_BUCKETS
        )
        self.tokens = _histogram(
            meter, sc.METRIC_TOKENS, "{token}", "Input and output tokens used", sc.TOKEN_BUCKETS
        )
        self.time_to_first_chunk = _histogram(
            meter,
            sc.METRIC_TTFC,
            "s",
            "Time to the first chunk of a streamed response",
            sc.DURATION_BUCKETS,
        )
        # Observable counters over running totals: an addition to a dict per call, and the
        # same cumulative Sum to every backend as a synchronous counter.
        meter.create_observable_counter(
            sc.METRIC_CACHE_READ,
            callbacks=[functools.partial(self._observe, self._cache_read)],
            unit="{token}",
            description="Input tokens served from DashScope's prefix cache",
        )
        meter.create_observable_counter(
            sc.METRIC_REASONING,
            callbacks=[functools.partial(self._observe, self._reasoning)],
            unit="{token}",
            description="Output tokens spent thinking",
        )

    def record(
        self,
        key: tuple,
        duration: float,
        ttfc: float | None,
        attrs: dict[str, Any],
        span_context: SpanContext | None,
    ) -> None:
        """Queue one finished call. ``attrs`` are the span's attributes; ``key`` is
        (request model, response model, server address, server port, error type)."""
        if not self.enabled:
            return
        pending = self._pending
        pending.append(
            (
                key,
                duration,
                ttfc,
                attrs.get(sc.USAGE_INPUT),
                attrs.get(sc.USAGE_OUTPUT),
                attrs.get(sc.USAGE_CACHE_READ),
                attrs.get(sc.USAGE_REASONING),
                span_context,
            )
        )
        if len(pending) >= FLUSH_AT:
            self.flush()

    def flush(self) -> None:
        """Hand every queued call to the SDK's instruments."""
        pending = self._pending
        with self._flush_lock:
            while pending:
                try:
                    item = pending.popleft()
                except IndexError:  # another thread took the last one
                    break
                self._hand_over(*item)

    def _hand_over(
        self,
        key: tuple,
        duration: float,
        ttfc: float | None,
        input_tokens: Any,
        output_tokens: Any,
        cached: Any,
        reasoning: Any,
        span_context: SpanContext | None,
    ) -> None:
        common, as_input, as_output = _metric_attributes(key)
        # The call's span, so exemplars point at it.
        context = (
            trace.set_span_in_context(NonRecordingSpan(span_context))
            if span_context is not None
            else None
        )
        self.duration.record(duration, common, context)
        if ttfc is not None:
            self.time_to_first_chunk.record(ttfc, common, context)
        if input_tokens is not None:
            self.tokens.record(input_tokens, as_input, context)
        if output_tokens is not None:
            self.tokens.record(output_tokens, as_output, context)
        if cached:
            self._cache_read[key] = self._cache_read.get(key, 0) + cached
        if reasoning:
            self._reasoning[key] = self._reasoning.get(key, 0) + reasoning

    def _observe(self, totals: dict[tuple, int], options: CallbackOptions) -> Iterable[Observation]:
        self.flush()
        with self._flush_lock:
            sums = list(totals.items())
        return [Observation(total, _metric_attributes(key)[0]) for key, total in sums]


def _histogram(meter: Meter, name: str, unit: str, description: str, buckets: tuple) -> Histogram:
    try:
        return meter.create_histogram(
            name,
            unit=unit,
            description=description,
            explicit_bucket_boundaries_advisory=list(buckets),
        )
    except TypeError:  # opentelemetry-api older than 1.23 has no bucket advice
        return meter.create_histogram(name, unit=unit, description=description)


_by_meter: weakref.WeakKeyDictionary[Meter, Instruments] = weakref.WeakKeyDictionary()
_by_meter_lock = threading.Lock()


def instruments_for(meter: Meter) -> Instruments:
    """One Instruments per meter: instrumenting again keeps the running totals (and registers no
    second callback reporting the same counters)."""
    with _by_meter_lock:
        found = _by_meter.get(meter)
        if found is None:
            found = _by_meter[meter] = Instruments(meter)
        return found


@functools.lru_cache(maxsize=1024)
def _metric_attributes(key: tuple) -> tuple[dict, dict, dict]:
    """The metric attribute sets for one (model, server, error) combination, built once."""
    request_model, response_model, address, port, error_type = key
    common: dict[str, Any] = {
        sc.OPERATION: "chat",
        sc.PROVIDER: sc.PROVIDER_NAME,
        sc.REQUEST_MODEL: request_model,
        sc.SERVER_ADDRESS: address,
        sc.SERVER_PORT: port,
    }
    if response_model is not None:
        common[sc.RESPONSE_MODEL] = response_model
    if error_type is not None:
        common[sc.ERROR_TYPE] = error_type
    return common, {**common, sc.TOKEN_TYPE: "input"}, {**common, sc.TOKEN_TYPE: "output"}
