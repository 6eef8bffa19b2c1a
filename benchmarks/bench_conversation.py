"""Does what qwenobs adds per call stay flat as an agent's conversation grows?

    .venv/bin/python benchmarks/bench_conversation.py            # about a minute
    .venv/bin/python benchmarks/bench_conversation.py --quick

An agent appends one round (an assistant tool call and its result) to its message list on every
call, and the SDK sends the whole list each time, rebuilding every message dict. For
conversations of 5, 50, 500 and 2,000 messages, the benchmark makes a sequence of real SDK calls
that each append one round, captures what reached the client's request method, and then times
qwenobs's work on exactly those calls (plan and observe: validation, attributes, the span through a
real SDK tracer and meter, ``validate="raise"``) in order, as an instrumented agent would run them.
Timed apart from the SDK, whose own cost at 2,000 messages is hundreds of milliseconds of noise.
Flat is the target: an agent with hundreds of tool rounds should not pay for its whole history on
every call. The bare SDK call at each length is printed for scale.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from typing import Any

from openai import _base_client
from rig import NS_REQUEST, Rig

SIZES = (5, 50, 500, 2000)
CALLS = 40  # appended rounds per sequence


def conversation(size: int) -> list[dict[str, Any]]:
    """A system prompt, a question, then tool rounds: ``size`` messages."""
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "You are a travel agent. Use the tools. " * 4},
        {"role": "user", "content": "Plan three days around Hangzhou, checking the weather."},
    ]
    n = 0
    while len(messages) + 2 <= size:
        messages.extend(round_(n))
        n += 1
    if len(messages) < size:
        messages.append({"role": "user", "content": "And the day after?"})
    return messages


def round_(n: int) -> list[dict[str, Any]]:
    call_id = f"call_{n:06d}"
    return [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": call_id,
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": f'{{"city": "city {n}"}}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": call_id, "content": f'{{"temp_c": {n % 30}}}'},
    ]


def captured_calls(rig: Rig, size: int, calls: int) -> tuple[list[tuple], float]:
    """What reached the request method for ``calls`` bare calls that each append a round, and
    the bare call's CPU time at this length."""
    seen: list[tuple] = []
    original = _base_client.SyncAPIClient.request

    def spy(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = original(self, *args, **kwargs)
        seen.append((self, args, kwargs, result))
        return result

    messages = conversation(size)
    request = {**NS_REQUEST, "messages": messages}
    _base_client.SyncAPIClient.request = spy
    try:
        t0 = time.process_time()
        for i in range(calls):
            messages.extend(round_(100_000 + i))
            rig.c_ns.chat.completions.create(**request)
        bare = (time.process_time() - t0) / calls
    finally:
        _base_client.SyncAPIClient.request = original
    return seen, bare


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    repeats = 3 if args.quick else 9

    from opentelemetry import metrics, trace

    from qwenobs.config import resolve_settings
    from qwenobs.instruments import instruments_for
    from qwenobs.lifecycle import Telemetry
    from qwenobs.openai_hook import _observe, _plan

    rig = Rig()
    rows = []
    for size in SIZES:
        sequence, bare = captured_calls(rig, size, CALLS)
        samples = []
        for _ in range(repeats):
            # A fresh instrumentation per pass: nothing learned from an earlier pass carries over.
            tracer = trace.get_tracer("qwenobs", None, rig.tracer_provider)
            meter = metrics.get_meter("qwenobs", None, rig.meter_provider)
            telemetry = Telemetry(
                tracer, instruments_for(meter, rig.meter_provider), resolve_settings()
            )
            gc.collect()
            t0 = time.process_time()
            for client, call_args, call_kwargs, result in sequence:
                _observe(_plan(telemetry, client, call_args, call_kwargs), result)
            rig.metrics.get_metrics_data()
            samples.append((time.process_time() - t0) / len(sequence))
            rig.spans.clear()
        rows.append((size, bare, statistics.median(samples)))
        print(f"  {size} messages done", file=sys.stderr)

    print("# What qwenobs adds per call as the conversation grows (validate='raise')\n")
    print(
        f"Each sequence starts at the size shown and appends one tool round per call ({CALLS} "
        f"calls); qwenobs's plan and observe timed on those calls, median of {repeats} passes.\n"
    )
    print("| messages | bare SDK call, us | qwenobs per call, us | qwenobs per message, ns |")
    print("|---:|---:|---:|---:|")
    for size, bare, ours in rows:
        print(f"| {size:,} | {bare * 1e6:,.0f} | {ours * 1e6:,.1f} | {ours / size * 1e9:,.0f} |")
    first, last = rows[0][2], rows[-1][2]
    print(
        f"\nFrom {SIZES[0]} to {SIZES[-1]:,} messages qwenobs's work per call goes from "
        f"{first * 1e6:.1f} to {last * 1e6:.1f} us, {last / first:.1f}x (target: flat)."
    )


if __name__ == "__main__":
    main()
