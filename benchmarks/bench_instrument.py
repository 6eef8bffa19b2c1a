"""What ``qwenobs.instrument()`` adds to a DashScope chat call, against the bare OpenAI SDK.

    .venv/bin/python benchmarks/bench_instrument.py            # full, about 2 minutes
    .venv/bin/python benchmarks/bench_instrument.py --quick    # smoke, about 20 seconds

No network: the clients talk to an in-memory transport replaying pre-encoded DashScope-style
payloads (``rig.py``), on openai 1.x, 2.x and 3.x alike. Measured in one process:

1. a non-streaming call after one completed tool round (user, assistant tool_calls, tool result),
   with ``max_tokens`` and tools, validation on (``validate="raise"``): per-call time and ratio;
2. streams of 222 and 22 chunks (reasoning_content, content, finish, usage when asked for): the
   per-chunk overhead is the slope of (instrumented - bare) between the two. The caller does not
   pass ``stream_options``; the mock honours it, so qwenobs's injected ``include_usage`` costs one
   extra (hidden) chunk on the wire, which cancels out of the slope;
3. the non-streaming call through ``AsyncOpenAI``;
4. RSS and gc object count around many instrumented calls (and bare calls as the control).

Method: bare, the floor (the same span emitted with constant attributes and nothing else: what the
OpenTelemetry SDK costs for it), instrumented and bare again (the A/A control, showing the noise
floor) run in alternating batches, their order rotated every round; ``instrument()`` /
``uninstrument()`` run between batches, outside the timing. Each batch ends with one metric
collection, timed apart: qwenobs queues measurements and hands them to the SDK there. Per-call CPU time (``time.process_time``) per batch; reported
are medians over the rounds and the median of the per-round paired ratio / difference, with the
wall-clock (``perf_counter``) ratio as a cross-check. Tracing goes to a real SDK TracerProvider with
``SimpleSpanProcessor(InMemorySpanExporter())`` (cleared every batch) and a MeterProvider with an
``InMemoryMetricReader``, passed to ``instrument()`` (no globals). No pass/fail: these machines
are noisy, read the A/A row before the others. ``benchmarks/README.md`` says how the figures
compare with instruction counts, which are not noisy.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

from openai import _base_client
from rig import LONG, SHORT, STREAMS, Rig, Series, measure, med, paired, us

import qwenobs
from qwenobs.instruments import QUEUE_LIMIT


def table_calls(results: dict[str, Series], labels: dict[str, str]) -> list[str]:
    lines = [
        "| workload | variant | CPU us/call | Δ us (paired) | × (paired) | "
        "Δ us with collection | × with collection | wall × (paired) |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    names = {"bare-aa": "bare-aa (A/A noise)", "floor": "floor: the SDK span alone"}
    for kind, label in labels.items():
        s = results[kind]
        base = s.cpu["bare"]
        lines.append(f"| {label} | bare | {us(med(base))} | | | | | |")
        for variant in ("bare-aa", "floor", "qwenobs"):
            if not s.cpu[variant]:
                continue
            d, x = paired(base, s.cpu[variant])
            dt, xt = paired(s.total["bare"], s.total[variant])
            _, wx = paired(s.wall["bare"], s.wall[variant])
            lines.append(
                f"| {label} | {names.get(variant, variant)} | {us(med(s.cpu[variant]))} | "
                f"{d * 1e6:+,.1f} | {x:.3f} | {dt * 1e6:+,.1f} | {xt:.3f} | {wx:.3f} |"
            )
    return lines


def table_chunks(results: dict[str, Series]) -> list[str]:
    span = LONG.size - SHORT.size
    long, short = results["long"], results["short"]
    lines = [
        f"| variant | CPU us/stream {SHORT.size} ch | CPU us/stream {LONG.size} ch | "
        "bare cost us/chunk | Δ us/chunk (paired slope) | Δ us/stream fixed part |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    bare_slope = med(
        [(lg - sh) / span for lg, sh in zip(long.cpu["bare"], short.cpu["bare"], strict=True)]
    )
    lines.append(
        f"| bare | {us(med(short.cpu['bare']))} | {us(med(long.cpu['bare']))} | "
        f"{bare_slope * 1e6:.2f} | | |"
    )
    for variant in ("bare-aa", "qwenobs"):
        slopes, fixed = [], []
        for i in range(len(long.cpu["bare"])):
            d_long = long.cpu[variant][i] - long.cpu["bare"][i]
            d_short = short.cpu[variant][i] - short.cpu["bare"][i]
            slope = (d_long - d_short) / span
            slopes.append(slope)
            fixed.append(d_short - slope * SHORT.size)
        name = "bare-aa (A/A noise)" if variant == "bare-aa" else variant
        lines.append(
            f"| {name} | {us(med(short.cpu[variant]))} | {us(med(long.cpu[variant]))} | | "
            f"{med(slopes) * 1e6:+.2f} | {med(fixed) * 1e6:+,.1f} |"
        )
    return lines


# --- memory --------------------------------------------------------------------------------------


def rss_kib() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def memory(rig: Rig, counts: dict[str, int], warmup: int) -> list[str]:
    lines = [
        "| variant | calls | RSS before KiB | RSS after KiB | RSS growth KiB | gc objects growth | "
        "objects per 1k calls | RSS growth, 2nd half KiB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for variant, calls in counts.items():
        rig.set(variant)
        for _ in range(warmup):
            rig.ns_call()
        rig.spans.clear()
        rig.metrics.get_metrics_data()
        gc.collect()
        rss0, obj0 = rss_kib(), len(gc.get_objects())
        done, rss_half = 0, rss0
        while done < calls:
            step = min(1000, calls - done)
            for _ in range(step):
                rig.ns_call()
            rig.spans.clear()
            done += step
            if done <= calls // 2:
                rss_half = rss_kib()
        rig.metrics.get_metrics_data()
        gc.collect()
        rss1, obj1 = rss_kib(), len(gc.get_objects())
        lines.append(
            f"| {variant} | {calls:,} | {rss0:,} | {rss1:,} | {rss1 - rss0:+,} | "
            f"{obj1 - obj0:+,} | {(obj1 - obj0) * 1000 / calls:+.2f} | {rss1 - rss_half:+,} |"
        )
    rig.set("bare")
    return lines


def retained_without_meter(rig: Rig, calls: int) -> list[str]:
    """What stays alive after ``calls`` non-streaming calls when no meter provider is set: the
    measurements have nowhere to go, so nothing may be kept for them. Live objects (gc) and
    bytes still allocated (tracemalloc), against bare calls in the same run."""
    lines = [
        "| variant | calls | live objects after | KiB still allocated after |",
        "|---|---:|---:|---:|",
    ]
    for variant in ("bare", "qwenobs-no-meter"):
        rig.set(variant)
        for _ in range(200):
            rig.ns_call()
        rig.spans.clear()
        gc.collect()
        tracemalloc.start()
        objects0, bytes0 = len(gc.get_objects()), tracemalloc.get_traced_memory()[0]
        for i in range(calls):
            rig.ns_call()
            if i % 1000 == 999:
                rig.spans.clear()
        rig.spans.clear()
        gc.collect()
        objects1, bytes1 = len(gc.get_objects()), tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        name = "qwenobs, no meter provider" if variant != "bare" else variant
        lines.append(
            f"| {name} | {calls:,} | {objects1 - objects0:+,} | {(bytes1 - bytes0) / 1024:+,.1f} |"
        )
    rig.set("bare")
    return lines


# --- main ----------------------------------------------------------------------------------------


def proxy_per_chunk(reps: int) -> list[str]:
    """The stream proxy alone: pre-decoded SDK chunks through TracedStream vs a bare iterator.

    Free of HTTP and SSE decoding, so the figure is steady where the end-to-end slope is noisy.
    """
    from openai.types.chat import ChatCompletionChunk

    from qwenobs.openai_streams import TracedStream
    from qwenobs.streaming import StreamState

    chunks = [
        ChatCompletionChunk.model_validate(json.loads(raw.decode()[len("data: ") :]))
        for raw in (*LONG.chunks, LONG.usage)
    ]

    class Source:
        def __init__(self) -> None:
            self._it = iter(chunks)

        def __next__(self) -> Any:
            return next(self._it)

        def __iter__(self) -> Source:
            return self

        def close(self) -> None:
            pass

    class Call:  # what a stream proxy reports to (a lifecycle.TracedCall), doing nothing
        hide_usage = True

        def new_stream(self) -> StreamState:
            return StreamState()

        def stream_chunk_failed(self, exc: Exception) -> None:
            raise exc

        def end_stream(self, state: Any, how: str, error: Any) -> None:
            pass

    def bare() -> None:
        for _ in Source():
            pass

    def traced() -> None:
        for _ in TracedStream(Source(), Call()):
            pass

    def per_chunk(fn: Callable[[], None]) -> float:
        gc.collect()
        c0 = time.process_time()
        for _ in range(reps):
            fn()
        return (time.process_time() - c0) / reps / len(chunks)

    rounds = [(per_chunk(bare), per_chunk(traced)) for _ in range(15)]
    delta = med([t - b for b, t in rounds])
    return [
        "| iterator | us/chunk |",
        "|---|---:|",
        f"| bare iteration | {us(med([b for b, _ in rounds]))} |",
        f"| through TracedStream (StreamState, hidden usage chunk) | {us(med([t for _, t in rounds]))} |",
        f"| difference (paired) | {us(delta)} |",
    ]


def breakdown(rig: Rig, bare_call: float) -> list[str]:
    """Where the per-call time goes: qwenobs's plan and observe steps timed directly on a captured
    call, with no-op providers and then with each SDK pipeline. Steadier than end-to-end deltas,
    because the SDK's own 1-2 ms per call is not in the measurement."""
    from opentelemetry import metrics, trace
    from opentelemetry.metrics import NoOpMeterProvider
    from opentelemetry.trace import NoOpTracerProvider

    from qwenobs.config import resolve_settings
    from qwenobs.instruments import instruments_for
    from qwenobs.lifecycle import Telemetry
    from qwenobs.openai_hook import _observe, _plan

    captured: dict[str, Any] = {}
    original = _base_client.SyncAPIClient.request

    def spy(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = original(self, *args, **kwargs)
        captured.update(client=self, args=args, kwargs=kwargs, result=result)
        return result

    _base_client.SyncAPIClient.request = spy
    try:
        rig.ns_call()
    finally:
        _base_client.SyncAPIClient.request = original

    noop = {"tracer_provider": NoOpTracerProvider(), "meter_provider": NoOpMeterProvider()}
    sdk_trace = {"tracer_provider": rig.tracer_provider}
    sdk_meter = {"meter_provider": rig.meter_provider}
    variants = {
        "qwenobs logic, validate=off (no-op tracer and meter)": {**noop, "validate": "off"},
        "qwenobs logic with validation (no-op tracer and meter)": noop,
        "+ SDK span pipeline (no-op meter)": {**noop, **sdk_trace},
        "+ SDK metric pipeline (no-op tracer)": {**noop, **sdk_meter},
        "everything on (what the end-to-end figures measure)": {**sdk_trace, **sdk_meter},
    }
    client, args, kwargs, result = (captured[k] for k in ("client", "args", "kwargs", "result"))

    def telemetry(tracer_provider: Any = None, meter_provider: Any = None, **settings: Any) -> Any:
        """What instrument() builds for its wrappers, built here to call them directly."""
        tracer = trace.get_tracer("qwenobs", None, tracer_provider)
        meter = metrics.get_meter("qwenobs", None, meter_provider)
        instruments = instruments_for(meter, meter_provider)
        return Telemetry(tracer, instruments, resolve_settings(**settings))

    def plan_and_observe(n: int) -> float:
        c0 = time.process_time()
        for _ in range(n):
            _observe(_plan(current, client, args, kwargs), result)
        rig.metrics.get_metrics_data()  # the hand-over of the queued measurements
        return (time.process_time() - c0) / n

    lines = ["| configuration | us/call | % of a bare call |", "|---|---:|---:|"]
    for name, settings in variants.items():
        current = telemetry(**settings)
        plan_and_observe(500)
        samples = []
        for _ in range(9):
            rig.spans.clear()
            samples.append(plan_and_observe(1000))
        cost = med(samples)
        lines.append(f"| {name} | {us(cost)} | {cost / bare_call:.1%} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run, about 20 seconds")
    parser.add_argument("--rounds", type=int, help="override the number of interleaved rounds")
    args = parser.parse_args()

    # Small batches, many rounds: the pairing within a round is what beats the machine's drift.
    if args.quick:
        rounds, mem_calls, mem_control, warmup = 12, 3_000, 1_000, 300
        plan = {"ns": 30, "async": 30, "short": 10, "long": 2}
    else:
        rounds, mem_calls, mem_control, warmup = 24, 20_000, 3_000, 1_000
        plan = {"ns": 40, "async": 40, "short": 15, "long": 3}
    rounds = args.rounds or rounds

    t0 = time.perf_counter()
    rig = Rig()
    notes = rig.check()
    for variant in ("bare", "floor", "qwenobs"):  # warm every path and the route caches
        rig.set(variant)
        for kind in plan:
            if not (variant == "floor" and kind in STREAMS):
                rig.batch(kind, 20)
    rig.set("bare")

    print(f"measuring: {rounds} rounds of {plan} calls per variant", file=sys.stderr)
    results = measure(rig, plan, rounds)
    print("memory ...", file=sys.stderr)
    mem = memory(rig, {"bare": mem_control, "qwenobs": mem_calls}, warmup)
    no_meter = retained_without_meter(rig, QUEUE_LIMIT + (1_000 if args.quick else 2_000))
    elapsed = time.perf_counter() - t0

    from importlib.metadata import version

    from qwenobs.openai_sdk import http

    libraries = ("openai", http.__name__, "opentelemetry-sdk", "wrapt")
    versions = ", ".join(f"{d} {version(d)}" for d in libraries)
    print("# qwenobs instrumentation overhead (in-memory transport)\n")
    print(
        f"Python {sys.version.split()[0]}, {versions}, qwenobs {qwenobs.__version__}; "
        f"{rounds} interleaved rounds, batches of {plan} calls; CPU = time.process_time; "
        f"{os.cpu_count()} CPUs; run took {elapsed:.0f} s.\n"
    )
    print("## Per call (non-streaming: tool round + max_tokens, validate=raise)\n")
    labels = {"ns": "sync non-stream", "async": "async non-stream"}
    print("\n".join(table_calls(results, labels)))
    print(
        "\nCPU us/call is the calling thread's time. The columns with collection add one metric "
        "collection per batch, where qwenobs's queued measurements reach the SDK (a periodic "
        "reader does that on its own thread). The floor emits the same span with constant "
        "attributes and does nothing else: what the OpenTelemetry SDK itself costs for this "
        "span.\n\nTarget: qwenobs × ≤ 1.05 on the sync non-streaming call.\n"
    )
    print("## Per stream chunk (no stream_options from the caller)\n")
    print("\n".join(table_chunks(results)))
    print(
        f"\nSlope between {SHORT.size} and {LONG.size} chunks of (instrumented - bare); "
        "target ≤ 1.5 us/chunk. The fixed part is the per-stream cost (span, proxy, hidden "
        "usage chunk).\n"
    )
    print(
        "\n".join(
            table_calls(
                results, {"short": f"stream {SHORT.size} ch", "long": f"stream {LONG.size} ch"}
            )
        )
    )
    print(f"\n## Memory (non-streaming calls after {warmup:,} warm-up calls each)\n")
    print("\n".join(mem))
    print(
        f"\nTarget: flat. gc objects counted after gc.collect(); the bare control runs "
        f"{mem_control:,} calls to keep the run short.\n"
    )
    print("## Memory with no meter provider\n")
    print("\n".join(no_meter))
    print(
        f"\nMore calls than the metric queue holds ({QUEUE_LIMIT:,}), none collecting: with no "
        "meter provider qwenobs keeps nothing for its measurements. Target: the same as bare.\n"
    )
    print("## Where the per-call time goes\n")
    print("\n".join(breakdown(rig, med(results["ns"].cpu["bare"]))))
    print(
        "\nqwenobs's own work is the first two rows; the others add the OpenTelemetry SDK's span "
        "and metric pipelines (the metric row includes the hand-over of queued measurements). "
        "Timed back to back on one captured call, so code and data stay in the CPU caches: "
        "inside real calls the same steps cost several times more, which is why the end-to-end "
        "figures are larger.\n"
    )
    print("## Per chunk, the stream proxy alone\n")
    print("\n".join(proxy_per_chunk(20 if args.quick else 60)))
    print("\nTarget: ≤ 1.5 us/chunk.\n")
    print("## Checks\n")
    for note in notes:
        print(f"- {note}")


if __name__ == "__main__":
    main()
