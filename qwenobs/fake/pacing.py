"""The engine's responses delivered in-process, as a socket would deliver them: each part after
its delay, for sync and async clients alike, and the faults a socket shows raised the way the
client's HTTP library (httpx or httpx2) raises them there.

A wait longer than the client's read timeout (from the request's ``timeout`` extension) waits that
timeout and raises ``ReadTimeout``; a connection cut before the response raises
``RemoteProtocolError`` from the transport, one cut in the body raises it while the body is read.
The openai SDK turns these into ``APITimeoutError`` and ``APIConnectionError`` as it does for a
real server.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from types import ModuleType
from typing import Any

import anyio

from .engine import Response
from .faults import Cut

# What httpcore says for the same events on a socket.
DISCONNECTED = "Server disconnected without sending a response."
INCOMPLETE = (
    "peer closed connection without sending complete message body (incomplete chunked read)"
)


class PacedBody:
    """A body that waits before each part: iterate it in a sync client, async-iterate it in an
    async one (anyio, so trio works too). A delay of 0 never yields to the scheduler."""

    __slots__ = ("_http", "_read_timeout", "_request", "response")

    def __init__(self, response: Response, http: ModuleType, request: Any = None) -> None:
        self.response = response
        self._http = http
        self._request = request
        self._read_timeout = read_timeout(request)

    def __iter__(self) -> Iterator[bytes]:
        for delay, data in self.response.parts:
            if delay > 0:
                time.sleep(self._wait(delay))
                self._check(delay)
            yield data
        self._check_cut(Cut.IN_BODY)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for delay, data in self.response.parts:
            if delay > 0:
                await anyio.sleep(self._wait(delay))
                self._check(delay)
            yield data
        self._check_cut(Cut.IN_BODY)

    def head(self) -> None:
        """Wait for the status line, or raise what the client would instead."""
        delay = self.response.first_byte_delay
        if delay > 0:
            time.sleep(self._wait(delay))
            self._check(delay)
        self._check_cut(Cut.BEFORE_RESPONSE)

    async def ahead(self) -> None:
        delay = self.response.first_byte_delay
        if delay > 0:
            await anyio.sleep(self._wait(delay))
            self._check(delay)
        self._check_cut(Cut.BEFORE_RESPONSE)

    def _wait(self, delay: float) -> float:
        timeout = self._read_timeout
        return delay if timeout is None else min(delay, timeout)

    def _check(self, delay: float) -> None:
        if self._read_timeout is not None and delay > self._read_timeout:
            raise self._http.ReadTimeout("timed out", request=self._request)

    def _check_cut(self, where: Cut) -> None:
        if self.response.cut is where:
            message = DISCONNECTED if where is Cut.BEFORE_RESPONSE else INCOMPLETE
            raise self._http.RemoteProtocolError(message, request=self._request)

    # httpx's stream protocol; nothing to release.
    def close(self) -> None:
        pass

    async def aclose(self) -> None:
        pass


def read_timeout(request: Any) -> float | None:
    """The read timeout the client set on ``request`` (None: it waits for ever)."""
    extensions = getattr(request, "extensions", None) or {}
    timeout = extensions.get("timeout") or {}
    return timeout.get("read")


def deliver(http: ModuleType, response: Response, request: Any) -> Any:
    """``response`` as ``http``'s response to ``request`` in a sync transport: the status after
    the first-byte delay, the body paced as it is read."""
    body = PacedBody(response, http, request)
    body.head()
    return http.Response(response.status, headers=response.headers, content=iter(body))


async def adeliver(http: ModuleType, response: Response, request: Any) -> Any:
    """``deliver`` for an async transport."""
    body = PacedBody(response, http, request)
    await body.ahead()
    return http.Response(response.status, headers=response.headers, content=body.__aiter__())
