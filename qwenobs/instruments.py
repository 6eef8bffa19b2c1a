"""The OpenTelemetry metric instruments qwenobs records."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from opentelemetry.metrics import Counter, Histogram, Meter

from . import semconv as sc


@dataclass(frozen=True, slots=True)
class Instruments:
    duration: Histogram
    tokens: Histogram
    time_to_first_chunk: Histogram
    cache_read: Counter
    reasoning: Counter

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
            cache_read=meter.create_counter(
                sc.METRIC_CACHE_READ,
                unit="{token}",
                description="Input tokens served from DashScope's prefix cache",
            ),
            reasoning=meter.create_counter(
                sc.METRIC_REASONING, unit="{token}", description="Output tokens spent thinking"
            ),
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
            self.cache_read.add(cached, common)
        reasoning = attrs.get(sc.USAGE_REASONING)
        if reasoning:
            self.reasoning.add(reasoning, common)


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
