"""What the fake DashScope costs, measured against a bare transport in the same run.

In-process: per-call (non-streaming) and per-chunk (streaming) cost of ``fake.client()`` and of an
application client under ``fake.intercept()``, as ratios to an ``httpx2.MockTransport`` that returns
pre-encoded bytes (the SDK's own cost with no fake at all). Loopback: throughput of ``fake.serve()``
with 50 concurrent streaming clients. Runs in well under a minute: ``python benchmarks/bench_fake.py``.
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import time
from collections.abc import Callable

import openai

from qwenobs.fake import FakeDashScope, Request
from qwenobs.openai_sdk import http as sdk_http

MESSAGES = [
    {"role": "system", "content": "You are a concise assistant."},
    {"role": "user", "content": "Summarise the weather in Hangzhou in one sentence."},
]
ANSWER = "Hangzhou is mild and humid today, with light rain clearing by the evening. " * 3
STREAM_CHUNKS = 200
CALLS = 300
CLIENTS = 50


def best_per_call(runs: dict[str, Callable[[], object]], calls: int, rounds: int = 7) -> dict:
    """Best mean seconds per call of each run; rounds alternate between the runs so that machine
    noise hits them alike, and the least disturbed round counts."""
    best = dict.fromkeys(runs, float("inf"))
    for run in runs.values():
        run()  # warm up: tokenizer, pydantic models
    for _ in range(rounds):
        for name, run in runs.items():
            gc.collect()
            gc.disable()
            started = time.perf_counter()
            for _ in range(calls):
                run()
            best[name] = min(best[name], (time.perf_counter() - started) / calls)
            gc.enable()
    return best


def bare_client(http, response: Callable[[], object]) -> openai.OpenAI:
    transport = http.MockTransport(lambda request: response())
    return openai.OpenAI(
        api_key="sk-bench",
        base_url="https://dashscope-intl.aliyuncs.com/compatible-mode/v1",
        max_retries=0,
        http_client=openai.DefaultHttpxClient(transport=transport),
    )


def recorded(fake: FakeDashScope, **body: object):
    """The exact response the fake gives ``body``, to replay from the bare transport."""
    import json

    payload = json.dumps({"model": "qwen-plus", "messages": MESSAGES, **body}).encode()
    request = Request.of(
        "POST", "/compatible-mode/v1/chat/completions", [("authorization", "Bearer sk")], payload
    )
    response = fake.handle(request)
    return response, payload, request


def in_process() -> list[tuple[str, float, float]]:
    http = sdk_http
    fake = FakeDashScope()
    fake.reply(ANSWER, repeat=True)
    completion, _, request = recorded(fake, max_tokens=200)
    stream_fake = FakeDashScope(chunk_size=max(1, len(ANSWER) // STREAM_CHUNKS))
    stream_fake.reply(ANSWER, repeat=True)
    streamed, _, _ = recorded(stream_fake, stream=True, max_tokens=200)
    chunks = [data for _, data in streamed.parts]

    headers = list(completion.headers)
    bare = bare_client(
        http, lambda: http.Response(200, headers=headers, content=completion.content)
    )
    bare_stream = bare_client(
        http, lambda: http.Response(200, headers=list(streamed.headers), content=iter(chunks))
    )

    def call(client: openai.OpenAI) -> Callable[[], object]:
        return lambda: client.chat.completions.create(
            model="qwen-plus", messages=MESSAGES, max_tokens=200
        )

    def stream(client: openai.OpenAI) -> Callable[[], object]:
        return lambda: sum(
            1
            for _ in client.chat.completions.create(
                model="qwen-plus", messages=MESSAGES, max_tokens=200, stream=True
            )
        )

    app = openai.OpenAI(
        api_key="sk-app", base_url="https://dashscope.aliyuncs.com/compatible-mode/v1"
    )
    with fake.intercept(), stream_fake.intercept():
        calls = best_per_call(
            {
                "bare": call(bare),
                "engine": lambda: fake.handle(request),
                "client": call(fake.client()),
                "intercept": call(app),
            },
            CALLS,
        )
        n = len(chunks)
        streams = best_per_call(
            {
                "bare": stream(bare_stream),
                "client": stream(stream_fake.client()),
                "intercept": stream(app),
            },
            CALLS // 20,
        )
        fake.calls.clear()  # the call log holds every response; keep memory flat between runs
    base, chunk = calls["bare"], streams["bare"] / n
    rows = [
        ("bare MockTransport, per call", base, 1.0),
        ("engine.handle() alone, per call", calls["engine"], calls["engine"] / base),
        ("fake.client(), per call", calls["client"], calls["client"] / base),
        ("fake.intercept(), per call", calls["intercept"], calls["intercept"] / base),
        (f"bare MockTransport, per chunk ({n} chunks)", chunk, 1.0),
    ]
    for name in ("client", "intercept"):
        rows.append((f"fake.{name}(), per chunk", streams[name] / n, streams[name] / n / chunk))
    return rows


async def loopback(seconds: float = 4.0) -> dict[str, float]:
    fake = FakeDashScope(chunk_size=4)
    fake.reply(ANSWER[:200], repeat=True)  # 50 content chunks + role + finish
    counts = {"streams": 0, "chunks": 0}
    first_chunk: list[float] = []
    with fake.serve() as server:
        client = server.async_client(
            http_client=openai.DefaultAsyncHttpxClient(
                trust_env=False, limits=sdk_http.Limits(max_connections=CLIENTS * 2)
            )
        )
        deadline = time.perf_counter() + seconds

        async def streaming_client() -> None:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                stream = await client.chat.completions.create(
                    model="qwen-plus", messages=MESSAGES, max_tokens=200, stream=True
                )
                received = 0
                async for _ in stream:
                    if received == 0:
                        first_chunk.append(time.perf_counter() - started)
                    received += 1
                counts["chunks"] += received
                counts["streams"] += 1

        started = time.perf_counter()
        await asyncio.gather(*(streaming_client() for _ in range(CLIENTS)))
        elapsed = time.perf_counter() - started
        await client.close()
    return {
        "streams/s": counts["streams"] / elapsed,
        "chunks/s": counts["chunks"] / elapsed,
        "first chunk p50 ms": statistics.median(first_chunk) * 1000,
        "first chunk p95 ms": statistics.quantiles(first_chunk, n=20)[-1] * 1000,
        "streams": counts["streams"],
    }


def main() -> None:
    started = time.perf_counter()
    print(f"openai {openai.__version__} on {sdk_http.__name__}\n")
    print(f"{'in-process':<44} {'µs':>9} {'ratio':>7}")
    for name, seconds, ratio in in_process():
        print(f"{name:<44} {seconds * 1e6:>9.1f} {ratio:>6.2f}x")
    print(f"\nloopback server, {CLIENTS} concurrent streaming clients (AsyncOpenAI)")
    for name, value in asyncio.run(loopback()).items():
        print(f"  {name:<22} {value:>10.1f}")
    print(f"\ntotal {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
