"""A real HTTP server for the fake: 127.0.0.1, an ephemeral port, one thread per connection.

Streams go out with chunked transfer encoding, one SSE event per chunk, each after its delay; a
client that goes away mid-stream only ends its own handler. ``stop()`` wakes every waiting stream,
shuts every open connection and joins the threads, so it returns in well under a second.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from . import error_bodies
from .clients import make_client
from .engine import Request, Response, error_response

if TYPE_CHECKING:
    from .engine import Engine

log = logging.getLogger(__name__)
BASE_PATH = "/compatible-mode/v1"
_GONE = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)


class FakeServer:
    """``with fake.serve() as server:`` — ``server.base_url`` ends in ``/compatible-mode/v1``."""

    def __init__(self, engine: Engine, host: str = "127.0.0.1", port: int = 0) -> None:
        self.engine = engine
        self._httpd = _HTTPServer((host, port), _Handler)
        self._httpd.engine = engine
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._httpd.server_address[:2]
        return str(host), int(port)

    @property
    def base_url(self) -> str:
        host, port = self.address
        return f"http://{host}:{port}{BASE_PATH}"

    def start(self) -> FakeServer:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"qwenobs-fake-dashscope:{self.address[1]}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is None:
            return
        self._httpd.stopping.set()
        self._httpd.shutdown()
        self._httpd.close_connections()
        self._httpd.server_close()  # joins the handler threads
        self._thread.join()
        self._thread = None

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def client(self, **options: Any) -> Any:
        return self._client(is_async=False, **options)

    def async_client(self, **options: Any) -> Any:
        return self._client(is_async=True, **options)

    def _client(self, *, is_async: bool, **options: Any) -> Any:
        # trust_env=False: a proxy from the environment must not see loopback traffic.
        options = {"base_url": self.base_url, **options}
        return make_client(is_async=is_async, http={"trust_env": False}, **options)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = False  # server_close() joins them: a stopped server leaves nothing running
    block_on_close = True
    request_queue_size = 128  # 50 clients connecting at once must not be refused
    engine: Engine

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(address, handler)
        self.stopping = threading.Event()
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hung up, or a connection shut while stopping, is not worth a traceback.
        error = sys.exc_info()[1]
        if isinstance(error, _GONE) or (self.stopping.is_set() and isinstance(error, OSError)):
            return
        super().handle_error(request, client_address)

    def track(self, connection: socket.socket, is_open: bool) -> None:
        with self._open_lock:
            if is_open:
                self._open.add(connection)
            else:
                self._open.discard(connection)

    def close_connections(self) -> None:
        with self._open_lock:
            for connection in self._open:
                with contextlib.suppress(OSError):  # already closed by the peer
                    connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive and chunked streams
    default_request_version = "HTTP/1.0"  # so even a garbled request line gets a status line
    disable_nagle_algorithm = True  # small SSE chunks must not wait for delayed ACKs
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, True)

    def finish(self) -> None:
        self.server.track(self.connection, False)
        with contextlib.suppress(_GONE):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    # Every method reaches the engine, which answers unknown paths and methods with a 404.
    def do_POST(self) -> None:
        self._serve()

    do_GET = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_POST

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Malformed requests get a DashScope-style JSON error, not the stdlib's HTML page."""
        spec = error_bodies.for_status(code, None, f"Malformed HTTP request: {message or code}")
        self.close_connection = True
        with contextlib.suppress(_GONE):
            self._send(_plain_error(spec))

    def _serve(self) -> None:
        body = self._read_body()
        if body is None:
            return
        engine = self.server.engine
        request = Request.of(self.command, self.path.partition("?")[0], self.headers.items(), body)
        try:
            response = engine.handle(request)
        except Exception:  # the boundary of a server thread: a bug in the fake answers a 500
            log.exception("the fake DashScope failed on %s %s", self.command, self.path)
            response = _plain_error(
                error_bodies.for_status(500, "fake_internal_error", "fake crashed")
            )
        try:
            self._send(response)
        except _GONE:  # the client went away; only this connection ends
            self.close_connection = True

    def _read_body(self) -> bytes | None:
        limit = self.server.engine.max_body
        if "chunked" in self.headers.get("transfer-encoding", "").lower():
            return self._read_chunked(limit)
        length = self.headers.get("content-length", "0")
        if not length.isdigit():
            self.send_error(400, f"bad Content-Length {length!r}")
            return None
        if int(length) > limit:
            self._discard(int(length))
            self._send(_plain_error(error_bodies.too_large(limit)))
            return None
        return self.rfile.read(int(length))

    def _discard(self, length: int) -> None:
        # Reading what the client sends lets it see the answer instead of a reset connection;
        # a body far beyond the limit is not worth the wait.
        self.close_connection = True
        if length <= 8 * self.server.engine.max_body:
            while length > 0:
                data = self.rfile.read(min(length, 1 << 20))
                if not data:
                    break
                length -= len(data)

    def _read_chunked(self, limit: int) -> bytes | None:
        body = bytearray()
        while True:
            size_line = self.rfile.readline(1024).split(b";")[0].strip()
            try:
                size = int(size_line, 16)
            except ValueError:
                self.send_error(400, "bad chunk size")
                return None
            if size == 0:
                while self.rfile.readline(1024).strip():  # trailers
                    pass
                return bytes(body)
            if len(body) + size > limit:
                self.close_connection = True
                self._send(_plain_error(error_bodies.too_large(limit)))
                return None
            body += self.rfile.read(size)
            self.rfile.readline(16)

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        stopping = self.server.stopping
        if not response.streaming:
            content = response.content
            self.send_header("content-length", str(len(content)))
            self.end_headers()
            delay = sum(d for d, _ in response.parts)
            if delay > 0:
                self.wfile.flush()
                stopping.wait(delay)
            if self.command != "HEAD":
                self.wfile.write(content)
            self.wfile.flush()
            return
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        self.wfile.flush()
        for delay, data in response.parts:
            if delay > 0 and stopping.wait(delay):
                self.close_connection = True  # shutting down: end the stream here
                return
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


def _plain_error(spec: error_bodies.ErrorSpec) -> Response:
    # Refused before the engine sees the request (so not in fake.calls), yet with a request id.
    return error_response(spec, str(uuid.uuid4()))
