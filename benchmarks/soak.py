"""Soak: memory stays flat over 100,000 traced calls and 10,000 traced streams.

    .venv/bin/python benchmarks/soak.py            # about 5 minutes
    .venv/bin/python benchmarks/soak.py --scale 0.1

Real SDK tracer and meter providers (spans go to an exporter that counts and drops them, metrics
to an in-memory reader), the OpenAI SDK on an in-memory transport. RSS and live gc objects are printed at checkpoints; flat after the warm-up is the target.
"""

from __future__ import annotations

import argparse
import gc
import resource
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

sys.path.insert(0, str(Path(__file__).parent))
import rig

import qwenobs


class CountingExporter(SpanExporter):
    def __init__(self) -> None:
        self.count = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.count += len(spans)
        return SpanExportResult.SUCCESS


def rss_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def checkpoint(label: str, done: int, exporter: CountingExporter) -> str:
    gc.collect()
    return (
        f"| {label} | {done:,} | {rss_kib():,} | {len(gc.get_objects()):,} | {exporter.count:,} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the full soak to run")
    args = parser.parse_args()
    calls, streams = int(100_000 * args.scale), int(10_000 * args.scale)

    exporter = CountingExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    qwenobs.instrument(
        tracer_provider=tracer_provider, meter_provider=MeterProvider(metric_readers=[reader])
    )
    ns_client = rig.sync_client(rig.ns_handler)
    stream_client = rig.sync_client(rig.stream_handler(rig.SHORT))

    def call() -> None:
        ns_client.chat.completions.create(**rig.NS_REQUEST)

    def stream() -> None:
        for _ in stream_client.chat.completions.create(**rig.STREAM_REQUEST):
            pass

    for _ in range(1_000):  # warm-up: caches, pools, interned strings
        call()
    for _ in range(100):
        stream()
    rows = [
        "| phase | done | RSS KiB | gc objects | spans exported |",
        "|---|---:|---:|---:|---:|",
    ]
    rows.append(checkpoint("after warm-up", 0, exporter))
    started = time.perf_counter()
    step = max(calls // 5, 1)
    for i in range(1, calls + 1):
        call()
        if i % step == 0:
            rows.append(checkpoint("non-streaming calls", i, exporter))
            reader.get_metrics_data()  # a collection, as a periodic exporter would do
    step = max(streams // 5, 1)
    for i in range(1, streams + 1):
        stream()
        if i % step == 0:
            rows.append(checkpoint(f"{rig.SHORT.size}-chunk streams", i, exporter))
    elapsed = time.perf_counter() - started
    print(
        f"# qwenobs soak: {calls:,} traced calls, then {streams:,} traced streams ({elapsed:.0f} s)\n"
    )
    print("\n".join(rows))
    print("\nTarget: flat after the warm-up (RSS within allocator noise, gc objects not growing).")


if __name__ == "__main__":
    main()
