"""The fake DashScope as a real HTTP server (aiohttp, see ``app.FakeApp``).

``FakeServer`` runs it on an asyncio loop in one background thread, for ``fake.serve()`` and the
plugin's ``qwen_server``; ``run`` runs the same app in the foreground of a process until SIGINT or
SIGTERM. Both bind 127.0.0.1 unless told otherwise, and warn when told otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import signal
import socket
import sys
import threading
import warnings
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from .app import BACKLOG, Backend, FakeApp
from .clients import make_client

log = logging.getLogger(__name__)
BASE_PATH = "/compatible-mode/v1"


class FakeServer:
    """``with fake.serve() as server:`` — ``server.base_url`` ends in ``/compatible-mode/v1``.

    The socket is bound (and ``address`` known) on construction; ``start()`` serves it from a
    background thread, ``stop()`` ends every open stream and joins that thread. A stopped server
    does not start again: ask ``fake.serve()`` for a new one.
    """

    def __init__(self, engine: Backend, host: str = "127.0.0.1", port: int = 0) -> None:
        self.engine = engine
        self._socket = bind(host, port)
        self._address = _address_of(self._socket)
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopped: asyncio.Event | None = None
        self._closed = False

    @property
    def address(self) -> tuple[str, int]:
        return self._address

    @property
    def base_url(self) -> str:
        return base_url(self._address)

    def start(self) -> FakeServer:
        if self._closed:
            raise RuntimeError("this FakeServer was stopped; call fake.serve() for a new one")
        if self._thread is None:
            started: Future[None] = Future()
            self._thread = threading.Thread(
                target=self._serve,
                args=(started,),
                name=f"qwenobs-fake-dashscope:{self._address[1]}",
                daemon=True,  # a server nobody stopped must not keep the interpreter alive
            )
            self._thread.start()
            try:
                started.result()
            except Exception:
                self._thread.join()
                self._thread, self._closed = None, True
                raise
        return self

    def stop(self) -> None:
        if self._thread is None:
            if not self._closed:  # never started
                self._socket.close()
                self._closed = True
            return
        if self._loop is not None and self._stopped is not None:
            with contextlib.suppress(RuntimeError):  # the loop already ended on its own
                self._loop.call_soon_threadsafe(self._stopped.set)
        self._thread.join()
        self._thread, self._loop, self._stopped = None, None, None
        self._closed = True

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _serve(self, started: Future[None]) -> None:
        async def main() -> None:
            loop, stopped = asyncio.get_running_loop(), asyncio.Event()

            def ready() -> None:
                self._loop, self._stopped = loop, stopped
                started.set_result(None)

            await FakeApp(self.engine).serve(self._socket, stopped, ready)

        try:
            asyncio.run(main())
        except Exception as exc:  # the boundary of the server thread
            if started.done():
                log.exception("the fake DashScope server on %s stopped on an error", self.base_url)
            else:
                started.set_exception(exc)

    def client(self, **options: Any) -> Any:
        return self._client(is_async=False, **options)

    def async_client(self, **options: Any) -> Any:
        return self._client(is_async=True, **options)

    def _client(self, *, is_async: bool, **options: Any) -> Any:
        # trust_env=False: a proxy from the environment must not see loopback traffic.
        options = {"base_url": self.base_url, **options}
        return make_client(is_async=is_async, http={"trust_env": False}, **options)


def run(
    engine: Backend,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    ready: Callable[[str], None] | None = None,
) -> None:
    """Serve ``engine`` in the foreground until SIGINT or SIGTERM (the process mode). ``ready``
    gets the base URL once the server accepts requests."""
    sock = bind(host, port)
    url = base_url(_address_of(sock))

    async def main() -> None:
        loop, stopped = asyncio.get_running_loop(), asyncio.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):  # Windows: Ctrl+C still interrupts
                loop.add_signal_handler(signum, stopped.set)
        await FakeApp(engine).serve(sock, stopped, lambda: ready(url) if ready else None)

    asyncio.run(main())


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host``; any address but a loopback one warns."""
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    # "localhost" may resolve to ::1 first; IPv4 gives the URL every client expects.
    family, _, _, _, address = min(found, key=lambda info: info[0] != socket.AF_INET)
    ip = ipaddress.ip_address(str(address[0]).partition("%")[0])
    if not ip.is_loopback:
        warnings.warn(
            f"the fake DashScope is listening on {host!r} ({ip}), not on a loopback address: "
            "anything that can reach this machine there can call it, with any API key, and "
            "read its scripted answers. Keep the default 127.0.0.1 unless another machine or "
            "a container must reach it.",
            UserWarning,
            stacklevel=_caller_level(),
        )
    return socket.create_server(address, family=family, backlog=BACKLOG)


def base_url(address: tuple[str, int]) -> str:
    host, port = address
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{port}{BASE_PATH}"


def _address_of(sock: socket.socket) -> tuple[str, int]:
    host, port = sock.getsockname()[:2]
    return str(host), int(port)


def _caller_level() -> int:
    """The ``stacklevel`` that points a warning at the first caller outside ``qwenobs.fake``."""
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_globals.get("__name__", "").startswith("qwenobs.fake"):
        frame, level = frame.f_back, level + 1
    return level
