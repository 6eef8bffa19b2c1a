"""Threads and tasks mixing streams, errors and cancellations: every span ends, nothing leaks."""

from __future__ import annotations

import asyncio
import gc
import threading
import weakref

import openai
import pytest
from opentelemetry.sdk.trace import SpanProcessor


class Balance(SpanProcessor):
    """Counts spans started and ended: a span that never ends is a leak."""

    def __init__(self) -> None:
        self.started = self.ended = 0
        self._lock = threading.Lock()

    def on_start(self, span, parent_context=None) -> None:
        with self._lock:
            self.started += 1

    def on_end(self, span) -> None:
        with self._lock:
            self.ended += 1


@pytest.fixture
def balance(telemetry) -> Balance:
    processor = Balance()
    telemetry.tracer_provider.add_span_processor(processor)
    return processor


def script(fake) -> None:
    fake.route(last_message="limit").fail(429, repeat=True)
    fake.route(last_message="moderated").fail(
        400, code="data_inspection_failed", after_chunks=2, repeat=True
    )
    fake.reply("a fairly long answer " * 10, chunk_size=4, chunk_delay=0.002, repeat=True)


KINDS = ("stream", "call", "limit", "moderated", "cancel")


def test_tasks_mixing_streams_errors_and_cancellations(fake, telemetry, balance):
    """Run in a loop of its own: once it is closed, nothing may hold a stream or an open span."""
    script(fake)
    client = fake.async_client()
    streams: list[weakref.ref] = []

    async def one(n: int) -> str:
        kind = KINDS[n % len(KINDS)]
        content = {"limit": "limit", "moderated": "moderated"}.get(kind, f"task {n}")
        messages = [{"role": "user", "content": content}]
        if kind == "call":
            await client.chat.completions.create(
                model="qwen-plus", max_tokens=100 + n, messages=messages
            )
            return kind
        stream = await client.chat.completions.create(
            model="qwen-plus", max_tokens=100 + n, messages=messages, stream=True
        )
        streams.append(weakref.ref(stream))
        async for _ in stream:
            pass
        return kind

    cancelled: set[int] = set()

    async def scenario() -> list[str]:
        tasks = [asyncio.create_task(one(n)) for n in range(200)]
        await asyncio.sleep(0.05)
        for n, task in enumerate(tasks):
            if KINDS[n % len(KINDS)] == "cancel" and task.cancel():  # False if it already finished
                cancelled.add(n)
        results = await asyncio.gather(*tasks, return_exceptions=True)
        return [type(r).__name__ for r in results if isinstance(r, BaseException)]

    errors = asyncio.run(scenario())
    gc.collect()
    assert errors.count("RateLimitError") == 40 and errors.count("APIError") == 40
    assert balance.started == balance.ended == 200
    for span in telemetry.spans():  # max_tokens says which task a span belongs to
        n = span.attributes["gen_ai.request.max_tokens"] - 100
        kind = KINDS[n % len(KINDS)]
        if kind == "cancel" and n not in cancelled:
            kind = "stream"  # it finished before it could be cancelled
        end, error = span.attributes.get("dashscope.stream.end"), span.attributes.get("error.type")
        expected = {
            "stream": ("exhausted", None),
            "call": (None, None),
            "limit": (None, "RateLimitError"),
            "moderated": ("error", "APIError"),
            # cancelled while waiting for the response, or mid-stream
            "cancel": (end if end in (None, "cancelled") else "?", "CancelledError"),
        }[kind]
        assert (end, error) == expected, (kind, span.attributes)
    assert all(ref() is None for ref in streams)  # no stream proxy outlives its task


def test_threads_mixing_early_breaks_closes_and_errors(fake, telemetry, balance):
    script(fake)
    client = fake.client()
    failures: list[BaseException] = []

    def worker(n: int) -> None:
        for i in range(6):
            kind = ("stream", "break", "limit", "moderated", "close", "call")[(n + i) % 6]
            content = kind if kind in ("limit", "moderated") else f"thread {n}"
            messages = [{"role": "user", "content": content}]
            try:
                if kind == "call":
                    client.chat.completions.create(
                        model="qwen-plus", max_tokens=99, messages=messages
                    )
                    continue
                stream = client.chat.completions.create(
                    model="qwen-plus", max_tokens=99, messages=messages, stream=True
                )
                if kind == "break":
                    for _ in stream:
                        break
                    del stream
                elif kind == "close":
                    next(stream)
                    stream.close()
                else:
                    with stream:
                        for _ in stream:
                            pass
            except (openai.RateLimitError, openai.APIError):
                pass
            except BaseException as exc:  # pragma: no cover - reported below
                failures.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    gc.collect()
    assert failures == []
    assert balance.started == balance.ended == 96
    ends = [s.attributes.get("dashscope.stream.end") for s in telemetry.spans()]
    assert {e for e in ends if e} <= {"exhausted", "closed", "abandoned", "error"}
    assert ends.count("closed") == 16
