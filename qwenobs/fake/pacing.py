"""Send a response's body parts with their delays, for sync and async clients alike."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator

import anyio

from .engine import Part


class PacedBody:
    """A body that waits before each part: iterate it in a sync client, async-iterate it in an
    async one (anyio, so trio works too). A delay of 0 never yields to the scheduler."""

    __slots__ = ("parts",)

    def __init__(self, parts: tuple[Part, ...]) -> None:
        self.parts = parts

    def __iter__(self) -> Iterator[bytes]:
        for delay, data in self.parts:
            if delay > 0:
                time.sleep(delay)
            yield data

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for delay, data in self.parts:
            if delay > 0:
                await anyio.sleep(delay)
            yield data

    # httpx's stream protocol; nothing to release.
    def close(self) -> None:
        pass

    async def aclose(self) -> None:
        pass
