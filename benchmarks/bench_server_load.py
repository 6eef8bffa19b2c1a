"""Load on the fake's HTTP server: does it hold 1,000 concurrent clients, and pace their streams?

    .venv/bin/python benchmarks/bench_server_load.py             # about half a minute
    .venv/bin/python benchmarks/bench_server_load.py --calls 200 # a lighter run

The server runs as users run it, ``fake.serve()`` on its background thread in this process. The
load comes from a separate process (this file with ``--load``) that speaks HTTP/1.1 on raw asyncio
streams and counts SSE events as they arrive: the openai SDK's own parsing would saturate two cores
before the server does. Every call opens its own connection at once (a burst of connects), with a
5 s connect timeout as the SDK's default. Reported: connection errors (refused, reset, timed out,
cut short), the pacing error of each event (its gap to the previous one against the scripted
delay), its drift from the stream's schedule, time to the first event, and wall time; server start
and stop times, stop with every stream still open. Last, what an ``AsyncOpenAI`` client in the same
process holds. Figures are printed, never judged.

To measure another qwenobs tree with the same load (the ThreadingHTTPServer before it, say), put
that tree first: ``PYTHONPATH=/tmp/old-tree .venv/bin/python benchmarks/bench_server_load.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any

MESSAGES = [{"role": "user", "content": "Stream me twenty chunks."}]
CHUNKS = 20  # events before [DONE]: the role chunk, 18 content chunks, the finish chunk
CHUNK_SIZE = 4
ANSWER = "abcd" * (CHUNKS - 2)
CONNECT_TIMEOUT = 5.0  # the openai SDK's default connect timeout
CALL_TIMEOUT = 120.0


# -- the load client (a separate process) ------------------------------------------------------


class Call(asyncio.Protocol):
    """One call on its own connection. A bare protocol: each read is timestamped in the callback
    itself, with no stream reader or task wake-up between the socket and the clock."""

    def __init__(self, request: bytes, stream: bool, finished: asyncio.Future[None]) -> None:
        self.request = request
        self.stream = stream
        self.finished = finished
        self.started = time.perf_counter()
        self.arrivals: list[float] = []  # when each SSE event (or the whole answer) was complete
        self.received = bytearray()
        self.error: str | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.write(self.request)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        if self.stream:
            # An SSE event ends in a blank line; chunked framing never has two \n in a row.
            ends = data.count(b"\n\n") + (self.received[-1:] == b"\n" and data[:1] == b"\n")
            self.arrivals.extend([now] * ends)
        else:
            self.arrivals[:] = [now]  # the answer is complete with its last byte
        self.received += data

    def connection_lost(self, exc: Exception | None) -> None:
        if exc is not None:
            self.error = f"read: {type(exc).__name__}"
        if not self.finished.done():
            self.finished.set_result(None)

    def verdict(self) -> str | None:
        """None for a complete 200 answer, else what went wrong."""
        if self.error:
            return self.error
        head, _, body = bytes(self.received).partition(b"\r\n\r\n")
        status = head.split(b" ", 2)[1].decode() if head.startswith(b"HTTP/") else "none"
        complete = b"data: [DONE]" in body if self.stream else body.rstrip().endswith(b"}")
        return None if status == "200" and complete else f"cut short: HTTP {status}"


def _request(host: str, port: int, stream: bool) -> bytes:
    body = json.dumps({"model": "qwen-plus", "messages": MESSAGES, "stream": stream}).encode()
    head = (
        f"POST /compatible-mode/v1/chat/completions HTTP/1.1\r\nHost: {host}:{port}\r\n"
        "Authorization: Bearer sk-bench\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


async def _call(host: str, port: int, request: bytes, stream: bool) -> tuple[Any, ...]:
    loop = asyncio.get_running_loop()
    call = Call(request, stream, loop.create_future())
    try:
        transport, _ = await asyncio.wait_for(
            loop.create_connection(lambda: call, host, port), CONNECT_TIMEOUT
        )
    except (OSError, asyncio.TimeoutError) as exc:
        return (f"connect: {type(exc).__name__}", call.started, [])
    try:
        await asyncio.wait_for(asyncio.shield(call.finished), CALL_TIMEOUT)
    except asyncio.TimeoutError:
        call.error = "read: TimeoutError"
    finally:
        transport.close()
    return (call.verdict(), call.started, call.arrivals)


async def _load(host: str, port: int, calls: int, stream: bool) -> dict[str, Any]:
    request = _request(host, port, stream)
    started = time.perf_counter()
    outcomes = await asyncio.gather(*(_call(host, port, request, stream) for _ in range(calls)))
    return {"wall": time.perf_counter() - started, "outcomes": outcomes}


def load_main(host: str, port: int, calls: int, stream: bool) -> None:
    print(json.dumps(asyncio.run(_load(host, port, calls, stream))))


# -- figures -----------------------------------------------------------------------------------


def percentile(values: Sequence[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def pacing(outcomes: list[Any], delays: list[float]) -> dict[str, float]:
    """Per event: |gap to the previous event - its scripted delay|, and the drift from the
    stream's schedule (first event + the sum of the delays since). In milliseconds."""
    gaps, drifts, firsts = [], [], []
    for error, started, arrivals in outcomes:
        if error or not arrivals:
            continue
        firsts.append(arrivals[0] - started)
        due = arrivals[0]
        for i in range(1, min(len(arrivals), len(delays))):
            due += delays[i]
            gaps.append(abs(arrivals[i] - arrivals[i - 1] - delays[i]))
            drifts.append(abs(arrivals[i] - due))
    ms = 1000.0
    return {
        "gap p50": percentile(gaps, 0.5) * ms,
        "gap p99": percentile(gaps, 0.99) * ms,
        "gap max": max(gaps, default=float("nan")) * ms,
        "drift p99": percentile(drifts, 0.99) * ms,
        "first p50": percentile(firsts, 0.5) * ms,
        "first p99": percentile(firsts, 0.99) * ms,
    }


def errors(outcomes: list[Any]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for error, _, _ in outcomes:
        if error:
            counts[error] = counts.get(error, 0) + 1
    return counts


# -- the server side (this process) -------------------------------------------------------------


def new_fake(chunk_delay: float) -> Any:
    from qwenobs.fake import FakeDashScope

    fake = FakeDashScope(chunk_delay=chunk_delay, chunk_size=CHUNK_SIZE)
    fake.reply(ANSWER, repeat=True)
    return fake


def scripted_delays(fake: Any) -> list[float]:
    """The delay before each event of the scripted stream, [DONE] included."""
    from qwenobs.fake import Request

    body = json.dumps({"model": "qwen-plus", "messages": MESSAGES, "stream": True}).encode()
    path = "/compatible-mode/v1/chat/completions"
    response = fake.handle(Request.of("POST", path, [("authorization", "Bearer sk")], body))
    fake.calls.clear()
    return [delay for delay, _ in response.parts]


def run_load(server: Any, calls: int, stream: bool) -> dict[str, Any]:
    host, port = server.address
    command = [sys.executable, __file__, "--load", host, str(port), str(calls)]
    command += ["--stream"] if stream else []
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


COLD_START = """
import json, time
began = time.perf_counter()
from qwenobs.fake import FakeDashScope
server = FakeDashScope().serve().start()
started = time.perf_counter()
server.stop()
print(json.dumps([started - began, time.perf_counter() - started]))
"""


def start_stop_times(rounds: int = 20) -> dict[str, float]:
    """A cold start in a new process (importing qwenobs.fake and the server), then warm ones."""
    done = subprocess.run([sys.executable, "-c", COLD_START], capture_output=True, check=True)
    cold_start, cold_stop = json.loads(done.stdout)
    fake = new_fake(0.0)
    starts, stops = [], []
    for _ in range(rounds):
        began = time.perf_counter()
        server = fake.serve().start()
        starts.append(time.perf_counter() - began)
        began = time.perf_counter()
        server.stop()
        stops.append(time.perf_counter() - began)
    return {
        "new process: import + start": cold_start,
        "new process: stop": cold_stop,
        f"start, max of {rounds}": max(starts),
        f"stop, max of {rounds}": max(stops),
    }


def stop_with_open_streams(calls: int) -> tuple[float, int, int]:
    """Seconds ``stop()`` takes with ``calls`` streams open, and threads before/after."""
    fake = new_fake(0.5)  # 20 chunks at 0.5 s: every stream is mid-way when stop() comes
    threads = threading.active_count()
    server = fake.serve().start()
    host, port = server.address
    command = [sys.executable, __file__, "--load", host, str(port), str(calls), "--stream"]
    client = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    deadline = time.perf_counter() + 30
    while len(fake.calls) < calls and time.perf_counter() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)  # every handler is past its first event, waiting on the next
    began = time.perf_counter()
    server.stop()
    took = time.perf_counter() - began
    client.wait(60)
    return took, threads, threading.active_count()


async def sdk_load(
    calls: int, stream: bool, chunk_delay: float = 0.01
) -> tuple[float, dict[str, int]]:
    """An ``AsyncOpenAI`` in this process against the server: wall seconds, failures by kind."""
    fake = new_fake(chunk_delay)
    with fake.serve() as server:
        client = server.async_client()

        async def one() -> None:
            answer = await client.chat.completions.create(
                model="qwen-plus", messages=MESSAGES, stream=stream
            )
            if stream:
                async for _ in answer:
                    pass

        began = time.perf_counter()
        results = await asyncio.gather(*(one() for _ in range(calls)), return_exceptions=True)
        wall = time.perf_counter() - began
        await client.close()
    failed: dict[str, int] = {}
    for result in results:
        if isinstance(result, BaseException):
            kind = type(result).__name__
            failed[kind] = failed.get(kind, 0) + 1
    return wall, failed


def _raise_file_limit(wanted: int) -> None:
    try:
        import resource
    except ImportError:  # Windows
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))


def main(calls: int) -> None:
    import openai

    from qwenobs.fake import server as server_module

    _raise_file_limit(3 * calls + 256)
    began = time.perf_counter()
    print(f"openai {openai.__version__}; server: {server_module.__file__}")
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}, {os.cpu_count()} CPUs\n")

    times = start_stop_times()
    stop_open, before, after = stop_with_open_streams(calls)
    print("server start / stop (s)")
    for name, seconds in times.items():
        print(f"  {name:<36} {seconds:>8.4f}")
    print(f"  {f'stop with {calls} streams open':<36} {stop_open:>8.4f}")
    print(f"  {'threads before start / after stop':<36} {before:>4} / {after}")

    fake = new_fake(0.05)
    delays = scripted_delays(fake)
    with fake.serve() as server:
        streams = run_load(server, calls, stream=True)
        plain = run_load(server, calls, stream=False)
    print(f"\nseparate load process, {calls} concurrent calls, chunk_delay=0.05 (ms unless noted)")
    header = f"  {'case':<34} {'errors':>6} {'wall s':>7}"
    header += "".join(f" {name:>9}" for name in pacing([], delays))
    print(header)
    for name, result in (
        (f"{calls} streams of {len(delays) - 1} events", streams),
        (f"{calls} non-stream calls", plain),
    ):
        failed = errors(result["outcomes"])
        row = f"  {name:<34} {sum(failed.values()):>6} {result['wall']:>7.2f}"
        figures = pacing(result["outcomes"], delays)
        if "non-stream" in name:  # one event: only the time to the answer means anything
            figures = {
                k: (v if k.startswith("first") else float("nan")) for k, v in figures.items()
            }
        row += "".join(f" {value:>9.1f}" for value in figures.values())
        print(row)
        for kind, count in sorted(failed.items()):
            print(f"    {count} x {kind}")

    print("\nAsyncOpenAI in this process, chunk_delay=0.01")
    print(f"  {'case':<34} {'errors':>6} {'wall s':>7}")
    for count, stream in ((200, True), (500, True), (1000, True), (100, False), (1000, False)):
        wall, failed = asyncio.run(sdk_load(count, stream))
        name = f"{count} {'streams' if stream else 'non-stream calls'}"
        print(f"  {name:<34} {sum(failed.values()):>6} {wall:>7.2f}")
        for kind, number in sorted(failed.items()):
            print(f"    {number} x {kind}")
    print(f"\ntotal {time.perf_counter() - began:.1f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000, help="concurrent calls per case")
    parser.add_argument(
        "--load", nargs=3, metavar=("HOST", "PORT", "CALLS"), help=argparse.SUPPRESS
    )
    parser.add_argument("--stream", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        _raise_file_limit(int(args.load[2]) + 256)
        load_main(args.load[0], int(args.load[1]), int(args.load[2]), args.stream)
    else:
        main(args.calls)
