"""The fake DashScope as an aiohttp application: one task per request, every delay awaited.

Every method and path goes to the engine, which answers what DashScope would (a 404 for unknown
paths). ``FakeApp.serve`` runs until an event is set, on whatever loop calls it:
``server.FakeServer`` runs it on a background thread for ``fake.serve()`` and ``qwen_server``;
``server.run`` runs it in the foreground of a process. Streams go out one SSE event per write,
each after its delay. A client that goes away ends only its own request; stopping cancels every
request in flight, so it takes milliseconds. Faults happen on the socket: a slow first byte waits
before the status line, a stall is a long wait before one event, a drop closes the connection.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import uuid
from collections.abc import Callable
from typing import Protocol

from aiohttp import web

from . import error_bodies
from .answer_queue import AnswerQueue
from .engine import Part, Request, Response, error_response
from .faults import Cut

log = logging.getLogger(__name__)

# A burst of a thousand connects must queue, not be refused (the kernel caps it at somaxconn).
BACKLOG = 2048
_READ_BLOCK = 1 << 16


class Backend(Protocol):
    """What the server answers from: an ``Engine``, or the plugin's per-test switchboard."""

    max_body: int

    def handle(self, request: Request) -> Response: ...


class FakeApp:
    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self._answers = AnswerQueue(backend.handle)
        self._in_flight: set[asyncio.Task[object]] = set()
        # An application rather than aiohttp's bare server: it answers Expect: 100-continue.
        self.web_app = web.Application()
        self.web_app.router.add_route("*", "/{path:.*}", self.handle)

    async def serve(
        self, sock: socket.socket, stopped: asyncio.Event, ready: Callable[[], None]
    ) -> None:
        """Answer on the listening ``sock`` until ``stopped`` is set; ``ready`` is called once
        requests are being accepted. The socket is closed on return."""
        runner = web.AppRunner(
            self.web_app,
            handle_signals=False,
            handler_cancellation=True,  # a client that hangs up ends its request at once
            access_log=None,
            # Requests in flight are cancelled before the runner's own shutdown; this bounds
            # only a handler that would ignore its cancellation.
            shutdown_timeout=0.2,
        )
        try:
            await runner.setup()
            await web.SockSite(runner, sock, backlog=BACKLOG).start()
            ready()
            await stopped.wait()
        finally:
            self._answers.close()
            await self._cancel_in_flight()
            await runner.cleanup()
            sock.close()

    async def _cancel_in_flight(self) -> None:
        tasks = list(self._in_flight)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def handle(self, http: web.BaseRequest) -> web.StreamResponse:
        task = asyncio.current_task()
        assert task is not None
        self._in_flight.add(task)
        try:
            return await self._handle(http)
        finally:
            self._in_flight.discard(task)

    async def _handle(self, http: web.BaseRequest) -> web.StreamResponse:
        body = await _read_body(http, self.backend.max_body)
        if body is None:
            return await _send(http, _plain_error(error_bodies.too_large(self.backend.max_body)))
        path = http.raw_path.partition("?")[0]
        request = Request.of(http.method, path, http.headers.items(), body)
        try:
            response = await self._answers.answer(request)
        except Exception as exc:  # the boundary of a request: a bug in the fake answers a 500
            log.exception("the fake DashScope failed on %s %s", http.method, path)
            response = _plain_error(error_bodies.internal_error(exc, log.name))
        return await _send(http, response)


async def _read_body(http: web.BaseRequest, limit: int) -> bytes | None:
    """The whole body (chunked or not), or None past ``limit``. aiohttp reads and drops what is
    left of a refused body after the answer, so the client sees the 413, not a reset."""
    if http.content_length is not None and http.content_length > limit:
        return None
    body = bytearray()
    while chunk := await http.content.read(_READ_BLOCK):
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


async def _send(http: web.BaseRequest, response: Response) -> web.StreamResponse:
    """Status and headers at once (after the first-byte delay), then each part after its delay,
    one write per part; a cut connection closes instead of ending the response."""
    out = web.StreamResponse(status=response.status, headers=response.headers)
    if not response.streaming:
        out.content_length = len(response.content)
    if response.status == 413:
        out.force_close()  # the rest of a refused body is not worth keeping the connection for
    if response.first_byte_delay > 0:
        await asyncio.sleep(response.first_byte_delay)
    if response.cut is Cut.BEFORE_RESPONSE:
        _hang_up(http)  # aiohttp's own attempt to send `out` then meets a closed connection
        return out
    try:
        await out.prepare(http)
        parts = () if http.method == "HEAD" else response.parts
        await _write_paced(out, parts, end=response.cut is None)
        if response.cut is Cut.IN_BODY:
            _hang_up(http)
    except ConnectionError:  # the client went away: only this request ends
        log.debug("client left during %s %s", http.method, http.raw_path)
    return out


async def _write_paced(
    out: web.StreamResponse, parts: tuple[Part, ...], *, end: bool = True
) -> None:
    """Each part at least its delay after the previous one, like the in-process front ends (a
    client never sees a shorter gap than scripted); the last part goes out with the end of the
    body, in the same write, unless the body is not to ``end``."""
    last = len(parts) - 1 if end else len(parts)
    for number, (delay, data) in enumerate(parts):
        if delay > 0:
            await asyncio.sleep(delay)
        if number < last:
            await out.write(data)
        else:
            await out.write_eof(data)
    if not parts and end:
        await out.write_eof()


def _hang_up(http: web.BaseRequest) -> None:
    """Close the connection: what was written still goes out, then the client reads its end."""
    if http.transport is not None:
        http.transport.close()


def _plain_error(spec: error_bodies.ErrorSpec) -> Response:
    # Answered without the engine (so not in fake.calls), yet with a request id.
    return error_response(spec, str(uuid.uuid4()))
