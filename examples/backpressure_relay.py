"""Relay a stream to a slow client through a bounded queue: when the client lags, the producer waits.

When the client goes away (its ``send`` raises), the producer is cancelled and the upstream stream
closed, so a dead client holds neither memory nor a connection to DashScope. The relay's own span
records the queue's depth and the consumer's lag, so backpressure shows up in the traces beside
qwenobs' chat span.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from _qwen import qwen
from opentelemetry import trace

import qwenobs

QUEUE_DEPTH = 32  # chunks allowed in flight between the model and the client
tracer = trace.get_tracer("backpressure_relay")

Send = Callable[[str], Awaitable[None]]
# A chunk with the loop time it was queued at; None ends the answer; an exception is the
# upstream's failure, handed to the consumer.
Item = tuple[float, str] | Exception | None


@dataclass
class Backpressure:
    """What the queue saw during one relay."""

    capacity: int
    chunks: int = 0  # chunks the client received
    max_depth: int = 0  # the most chunks queued at once
    producer_waits: int = 0  # times the producer found the queue full and had to wait
    max_lag: float = 0.0  # seconds: the longest a chunk sat in the queue before the client got it

    def attributes(self) -> dict[str, int | float]:
        return {
            "relay.queue.capacity": self.capacity,
            "relay.queue.max_depth": self.max_depth,
            "relay.producer.waits": self.producer_waits,
            "relay.consumer.max_lag": self.max_lag,
            "relay.chunks": self.chunks,
        }


async def relay(client, messages: list[dict], send: Send, depth: int = QUEUE_DEPTH) -> Backpressure:
    """Forward the answer chunk by chunk to ``send``; if ``send`` raises, stop and re-raise."""
    with tracer.start_as_current_span("relay") as span:
        stats = Backpressure(capacity=depth)
        queue: asyncio.Queue[Item] = asyncio.Queue(maxsize=depth)
        stream = await client.chat.completions.create(
            model="qwen-plus", messages=messages, stream=True, max_tokens=1024
        )
        async with stream:  # closes the upstream connection however the relay ends
            producer = asyncio.create_task(produce(stream, queue, stats))
            try:
                await consume(queue, send, stats)
            finally:
                await stop(producer)  # a departed client must not leave it blocked on a full queue
                span.set_attributes(stats.attributes())
        return stats


async def produce(stream, queue: asyncio.Queue[Item], stats: Backpressure) -> None:
    loop = asyncio.get_running_loop()
    try:
        async for chunk in stream:
            text = chunk.choices[0].delta.content if chunk.choices else None
            if not text:
                continue
            if queue.full():
                stats.producer_waits += 1
            await queue.put((loop.time(), text))  # waits while the queue is full: backpressure
            stats.max_depth = max(stats.max_depth, queue.qsize())
    except Exception as exc:  # the upstream failed: the consumer raises it
        await queue.put(exc)
        return
    await queue.put(None)


async def consume(queue: asyncio.Queue[Item], send: Send, stats: Backpressure) -> None:
    loop = asyncio.get_running_loop()
    while (item := await queue.get()) is not None:
        if isinstance(item, Exception):
            raise item
        queued_at, text = item
        stats.max_lag = max(stats.max_lag, loop.time() - queued_at)
        await send(text)  # raises when the client has gone away
        stats.chunks += 1


async def stop(producer: asyncio.Task) -> None:
    producer.cancel()
    await asyncio.gather(producer, return_exceptions=True)  # wait until it has let go


def script(fake) -> None:
    fake.reply("word " * 200, chunk_size=5)


async def main() -> None:
    async def slow_client(text: str) -> None:
        await asyncio.sleep(0.001)  # a phone on a slow network
        print(text, end="", flush=True)

    with qwen(script, is_async=True) as client:
        stats = await relay(
            client, [{"role": "user", "content": "Tell me a long story."}], slow_client
        )
    print(
        f"\n(queue: at most {stats.max_depth} of {stats.capacity} chunks, the producer waited "
        f"{stats.producer_waits} times, the longest lag was {stats.max_lag * 1000:.1f} ms)"
    )


if __name__ == "__main__":
    qwenobs.instrument()
    asyncio.run(main())
