"""Relay a stream to a slow client through a bounded queue: when the client lags, the producer waits."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from _qwen import qwen

import qwenobs

QUEUE_DEPTH = 32  # chunks allowed in flight between the model and the client


async def relay(
    client, messages: list[dict], send: Callable[[str], Awaitable[None]], depth: int = QUEUE_DEPTH
) -> int:
    """Forward the answer chunk by chunk; returns the deepest the queue got."""
    stream = await client.chat.completions.create(
        model="qwen-plus", messages=messages, stream=True, max_tokens=1024
    )
    queue: asyncio.Queue[str | None] = asyncio.Queue(maxsize=depth)
    deepest = 0

    async def produce() -> None:
        nonlocal deepest
        async with stream:
            async for chunk in stream:
                text = chunk.choices[0].delta.content if chunk.choices else None
                if text:
                    await queue.put(text)  # blocks while the queue is full: backpressure
                    deepest = max(deepest, queue.qsize())
        await queue.put(None)

    async def consume() -> None:
        while (text := await queue.get()) is not None:
            await send(text)

    await asyncio.gather(produce(), consume())
    return deepest


def script(fake) -> None:
    fake.reply("word " * 200, chunk_size=5)


async def main() -> None:
    async def slow_client(text: str) -> None:
        await asyncio.sleep(0.001)  # a phone on a slow network
        print(text, end="", flush=True)

    with qwen(script, is_async=True) as client:
        deepest = await relay(
            client, [{"role": "user", "content": "Tell me a long story."}], slow_client, depth=8
        )
    print(f"\n(queue never held more than {deepest} chunks)")


if __name__ == "__main__":
    qwenobs.instrument()
    asyncio.run(main())
