"""The engine's answers for a server on an asyncio loop, computed in turns.

An engine call is synchronous and takes a fraction of a millisecond (validation, tokens, rendering).
Made straight from each request's task, a burst of a thousand requests would run a thousand calls
back to back in one turn of the loop, and every stream already running would send its next event
that much late. Here one worker task answers the requests in arrival order and gives the loop a
turn every couple of milliseconds, so due events go out between answers.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

from .engine import Request, Response

TIME_SLICE = 0.002  # seconds of engine work before the loop gets a turn


class AnswerQueue:
    def __init__(self, handle: Callable[[Request], Response]) -> None:
        self._handle = handle
        self._waiting: deque[tuple[Request, asyncio.Future[Response]]] = deque()
        self._worker: asyncio.Task[None] | None = None

    async def answer(self, request: Request) -> Response:
        """The engine's response; its exception, if it raised one."""
        future: asyncio.Future[Response] = asyncio.get_running_loop().create_future()
        self._waiting.append((request, future))
        if self._worker is None:
            self._worker = asyncio.create_task(self._work())
        return await future

    def close(self) -> None:
        """Cancel the worker and every request still waiting for its answer."""
        if self._worker is not None:
            self._worker.cancel()
        self._cancel_waiting()

    async def _work(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            turn_ends = loop.time() + TIME_SLICE
            while self._waiting:
                request, future = self._waiting.popleft()
                if future.done():  # its client left before its turn
                    continue
                try:
                    future.set_result(self._handle(request))
                except Exception as exc:  # handed to the request's task, which answers a 500
                    future.set_exception(exc)
                if loop.time() >= turn_ends:
                    await asyncio.sleep(0)
                    turn_ends = loop.time() + TIME_SLICE
        finally:
            self._worker = None
            self._cancel_waiting()  # only left on cancellation: nobody else would answer them

    def _cancel_waiting(self) -> None:
        while self._waiting:
            _, future = self._waiting.popleft()
            future.cancel()
