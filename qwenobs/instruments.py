"""The OpenTelemetry metric instruments qwenobs records, and when it hands them to the
OpenTelemetry SDK (the meter's implementation; not the openai SDK).

The OpenTelemetry SDK spends about 10 microseconds on each histogram measurement (attribute
cleaning and hashing, aggregation lookup, exemplar checks); recorded in the middle of a user's
call, that is the largest part of what instrumentation adds. So a finished call only queues its
numbers, and the queue is handed to the SDK when a metric reader collects: the observable
counters' callback runs first in every collection. A queue longer than ``QUEUE_LIMIT`` calls
(nothing collects, or calls outpace the reader's interval) hands over two queued calls with every
new one: memory stays bounded and no single call pays for a backlog. Every measurement reaches the
same data points in the same collection as if it were recorded at once; its exemplar keeps the
call's span but takes the hand-over time.

Without a meter provider nothing is queued: a no-op meter drops every measurement, and so does the
API's stand-in meter until a global provider is set. Once one is set
(``opentelemetry.metrics.set_meter_provider``), every call that ends from then on is recorded.
"""

from __future__ import annotations

import functools
import os
import threading
import weakref
from collections import deque
from collections.abc import Iterable
from typing import Any, NamedTuple

from opentelemetry import trace
from opentelemetry.metrics import CallbackOptions, Histogram, Meter, NoOpMeter, Observation
from opentelemetry.trace import NonRecordingSpan, SpanContext

from . import semconv as sc

try:  # the API's stand-in for the global meter until a provider is set (a private class)
    from opentelemetry.metrics._internal import _ProxyMeter
except ImportError:  # pragma: no cover - a future API without it: every meter counts as real
    _ProxyMeter = None

QUEUE_LIMIT = 4096  # calls; about 2.5 MiB with their span contexts


class MetricKey(NamedTuple):
    """What a call's metric attributes are made of (their sets are built once per key)."""

    request_model: str
    response_model: str | None
    server_address: str
    server_port: int
    error_type: str | None


# Built with tuple.__new__, a C call: the generated __new__ of a NamedTuple is a Python frame,
# and these are built for every call.
new_metric_key = functools.partial(tuple.__new__, MetricKey)


class Measurement(NamedTuple):
    """One finished call's numbers, queued until a metric reader collects."""

    key: MetricKey
    duration: float
    time_to_first_chunk: float | None
    input_tokens: Any
    output_tokens: Any
    cache_read_tokens: Any
    reasoning_tokens: Any
    cost: Any  # the call's cost in ``currency``, or None
    currency: Any
    span_context: SpanContext | None


_new_measurement = functools.partial(tuple.__new__, Measurement)


class Instruments:
    """The three GenAI histograms and two DashScope counters of one meter."""

    def __init__(self, meter: Meter) -> None:
        # A stand-in meter gets its real meter when a global provider is set: until then nothing
        # is recorded, and ``recording()`` looks again on every call.
        self._stand_in = meter if _is_stand_in(meter) else None
        self.enabled = self._stand_in is None and not isinstance(meter, NoOpMeter)
        self._pending: deque[Measurement] = deque()
        self._flush_lock = threading.Lock()  # one hand-over at a time keeps the sums exact
        _live.add(self)
        self._cache_read: dict[MetricKey, int] = {}
        self._reasoning: dict[MetricKey, int] = {}
        self._cost: dict[tuple[MetricKey, str], float] = {}
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
        meter.create_observable_counter(
            sc.METRIC_COST,
            callbacks=[functools.partial(self._observe, self._cost)],
            unit="1",
            description="What the calls cost, in the currency their region bills in "
            "(dashscope.cost.currency)",
        )

    def recording(self) -> bool:
        """Whether a finished call's measurements go anywhere (a meter provider that is not a
        no-op is set)."""
        if self.enabled:
            return True
        stand_in = self._stand_in
        if stand_in is None or stand_in._real_meter is None:
            return False
        self._stand_in = None  # a provider was set: its meter is the one from now on
        self.enabled = not isinstance(stand_in._real_meter, NoOpMeter)
        return self.enabled

    def record(
        self,
        key: MetricKey,
        duration: float,
        attrs: dict[str, Any],
        span_context: SpanContext | None,
    ) -> None:
        """Queue one finished call; ``attrs`` are its span's attributes. Callers ask
        ``recording()`` first, so a call with nowhere to send its numbers builds none."""
        pending = self._pending
        pending.append(
            _new_measurement(
                (
                    key,
                    duration,
                    attrs.get(sc.RESPONSE_TTFC),
                    attrs.get(sc.USAGE_INPUT),
                    attrs.get(sc.USAGE_OUTPUT),
                    attrs.get(sc.USAGE_CACHE_READ),
                    attrs.get(sc.USAGE_REASONING),
                    attrs.get(sc.COST_AMOUNT),
                    attrs.get(sc.COST_CURRENCY),
                    span_context,
                )
            )
        )
        if len(pending) > QUEUE_LIMIT:
            self.flush(2, wait=False)  # a collection under way is shortening the queue anyway

    def flush(self, most: int | None = None, wait: bool = True) -> None:
        """Hand the queued calls to the SDK's instruments: those queued now, or at most ``most``.
        With ``wait=False``, nothing happens while another thread is handing over."""
        if not self._flush_lock.acquire(blocking=wait):
            return
        try:
            pending = self._pending
            for _ in range(len(pending) if most is None else min(most, len(pending))):
                try:
                    item = pending.popleft()
                except IndexError:  # another thread took the last one
                    break
                self._hand_over(item)
        finally:
            self._flush_lock.release()

    def _hand_over(self, m: Measurement) -> None:
        common, as_input, as_output = _metric_attributes(m.key)
        # The call's span, so exemplars point at it.
        context = (
            trace.set_span_in_context(NonRecordingSpan(m.span_context))
            if m.span_context is not None
            else None
        )
        self.duration.record(m.duration, common, context)
        if m.time_to_first_chunk is not None:
            self.time_to_first_chunk.record(m.time_to_first_chunk, common, context)
        if m.input_tokens is not None:
            self.tokens.record(m.input_tokens, as_input, context)
        if m.output_tokens is not None:
            self.tokens.record(m.output_tokens, as_output, context)
        if m.cache_read_tokens:
            self._cache_read[m.key] = self._cache_read.get(m.key, 0) + m.cache_read_tokens
        if m.reasoning_tokens:
            self._reasoning[m.key] = self._reasoning.get(m.key, 0) + m.reasoning_tokens
        if m.cost is not None:
            key = (m.key, m.currency)
            self._cost[key] = self._cost.get(key, 0.0) + m.cost

    def _observe(self, totals: dict[Any, Any], options: CallbackOptions) -> Iterable[Observation]:
        # Every live queue, not only this one: instrumenting twice on one SDK meter (once through
        # the API's proxy meter) creates two Instruments, but the SDK keeps one callback per name.
        for instruments in list(_live):
            instruments.flush()
        with self._flush_lock:
            sums = list(totals.items())
        return [Observation(total, _observed_attributes(key)) for key, total in sums]


def _observed_attributes(key: MetricKey | tuple[MetricKey, str]) -> dict[str, Any]:
    """A counter's attributes: the call's, and for cost the currency."""
    if isinstance(key, MetricKey):
        return _metric_attributes(key)[0]
    call, currency = key
    return {**_metric_attributes(call)[0], sc.COST_CURRENCY: currency}


def _is_stand_in(meter: Meter) -> bool:
    """Whether ``meter`` is the API's stand-in for the global meter (one that says whether a
    provider has given it a real meter yet)."""
    return (
        _ProxyMeter is not None and isinstance(meter, _ProxyMeter) and hasattr(meter, "_real_meter")
    )


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


_live: weakref.WeakSet[Instruments] = weakref.WeakSet()
_by_provider: weakref.WeakKeyDictionary[Any, Instruments] = weakref.WeakKeyDictionary()
_global: list[Instruments] = []  # for the global provider, whichever it is when first used
_registry_lock = threading.Lock()


def instruments_for(meter: Meter, provider: Any = None) -> Instruments:
    """One Instruments per meter provider (``None``: the global one), so instrumenting again keeps
    the running totals and registers no second callback for the same counters."""
    with _registry_lock:
        if provider is None:
            if not _global:
                _global.append(Instruments(meter))
            return _global[0]
        found = _by_provider.get(provider)
        if found is None:
            found = _by_provider[provider] = Instruments(meter)
        return found


def _after_fork_in_child() -> None:
    # A fork while another thread held a lock would leave the child's copy held for good.
    global _registry_lock
    _registry_lock = threading.Lock()
    for instruments in list(_live):
        instruments._flush_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


@functools.lru_cache(maxsize=1024)
def _metric_attributes(key: MetricKey) -> tuple[dict, dict, dict]:
    """The metric attribute sets for one (model, server, error) combination, built once."""
    common: dict[str, Any] = {
        sc.OPERATION: sc.OPERATION_CHAT,
        sc.PROVIDER: sc.PROVIDER_NAME,
        sc.REQUEST_MODEL: key.request_model,
        sc.SERVER_ADDRESS: key.server_address,
        sc.SERVER_PORT: key.server_port,
    }
    if key.response_model is not None:
        common[sc.RESPONSE_MODEL] = key.response_model
    if key.error_type is not None:
        common[sc.ERROR_TYPE] = key.error_type
    return common, {**common, sc.TOKEN_TYPE: "input"}, {**common, sc.TOKEN_TYPE: "output"}
