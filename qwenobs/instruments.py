"""The OpenTelemetry metric instruments qwenobs records."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from opentelemetry.metrics import CallbackOptions, Histogram, Meter, Observation

from . import semconv as sc


class RunningTotals:
    """Monotonic sums per attribute set, reported by an asynchronous counter at collection time.

    Adding to a dict costs a fraction of a synchronous counter's per-call work in the SDK, and
    an observable counter reporting cumulative totals is the same Sum metric to every backend.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sums: dict[tuple, int] = {}

    def add(self, value: int, key: tuple) -> None:
        with self._lock:
            self._sums[key] = self._sums.get(key, 0) + value

    def observe(self, options: CallbackOptions) -> Iterable[Observation]:
        with self._lock:
            sums = list(self._sums.items())
        return [Observation(total, _metric_attributes(key)[0]) for key, total in sums]


@dataclass(frozen=True, slots=True)
class Instruments:
    duration: Histogram
    tokens: Histogram
    time_to_first_chunk: Histogram
    cache_read: RunningTotals
    reasoning: RunningTotals

    @classmethod
    def create(cls, meter: Meter) -> Instruments:
        def histogram(name: str, unit: str, description: str, buckets: tuple) -> Histogram:
            try:
                return meter.create_histogram(
                    name,
                    unit=unit,
                    description=description,
                    explicit_bucket_boundaries_advisory=list(buckets),
                )
            except TypeError:  # opentelemetry-api older than 1.23 has no bucket advice
                return meter.create_histogram(name, unit=unit, description=description)

        def counter(name: str, description: str) -> RunningTotals:
            totals = RunningTotals()
            meter.create_observable_counter(
                name, callbacks=[totals.observe], unit="{token}", description=description
            )
            return totals

        return cls(
            duration=histogram(
                sc.METRIC_DURATION, "s", "GenAI operation duration", sc.DURATION_BUCKETS
            ),
            tokens=histogram(
                sc.METRIC_TOKENS, "{token}", "Input and output tokens used", sc.TOKEN_BUCKETS
            ),
            time_to_first_chunk=histogram(
                sc.METRIC_TTFC,
                "s",
                "Time to the first chunk of a streamed response",
                sc.DURATION_BUCKETS,
            ),
            cache_read=counter(
                sc.METRIC_CACHE_READ, "Input tokens served from DashScope's prefix cache"
            ),
            reasoning=counter(sc.METRIC_REASONING, "Output tokens spent thinking"),
        )

    def record(
        self, attrs: dict[str, Any], key: tuple, duration: float, ttfc: float | None
    ) -> None:
        """Record one finished call. ``attrs`` are the span's attributes; ``key`` is
        (request model, response model, server address, server port, error type)."""
        common, as_input, as_output = _metric_attributes(key)
        self.duration.record(duration, common)
        if ttfc is not None:
            self.time_to_first_chunk.record(ttfc, common)
        input_tokens = attrs.get(sc.USAGE_INPUT)
        if input_tokens is not None:
            self.tokens.record(input_tokens, as_input)
        output_tokens = attrs.get(sc.USAGE_OUTPUT)
        if output_tokens is not None:
            self.tokens.record(output_tokens, as_output)
        cached = attrs.get(sc.USAGE_CACHE_READ)
        if cached:
            self.cache_read.add(cached, key)
        reasoning = attrs.get(sc.USAGE_REASONING)
        if reasoning:
            self.reasoning.add(reasoning, key)


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
