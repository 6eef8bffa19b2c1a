"""The loopback server as any HTTP client sees it: raw sockets, streams, disconnects, shutdown,
the address it binds, and the process mode."""

from __future__ import annotations

import json
import logging
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import warnings

import openai
import pytest

from qwenobs.fake.server import FakeServer
from qwenobs.openai_sdk import http

# The HTTP library the installed openai uses: httpx2 for 3.x, httpx for 1.x/2.x.
USER = [{"role": "user", "content": "hi"}]
HEADERS = {"authorization": "Bearer sk-test"}


@pytest.fixture
def server(fake):
    with fake.serve() as running:
        yield running


def server_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("qwenobs-fake-dashscope")]


def noisy_records(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Log records a user would see as noise (warnings and up, from any logger or thread)."""
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def raw_exchange(server, data: bytes) -> bytes:
    with socket.create_connection(server.address, timeout=5) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_base_url_is_loopback_compatible_mode(server) -> None:
    assert server.base_url.startswith("http://127.0.0.1:")
    assert server.base_url.endswith("/compatible-mode/v1")


def test_bad_json_and_wrong_path_get_json_errors(server) -> None:
    with http.Client(base_url=server.base_url, headers=HEADERS, trust_env=False) as session:
        bad = session.post("/chat/completions", content=b"{oops")
        missing = session.get("/models")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_parameter_error"
    assert missing.status_code == 404 and missing.headers["x-request-id"]


def test_malformed_http_gets_the_servers_own_400(fake, server) -> None:
    # aiohttp answers a request it cannot parse itself (text/plain); the engine never sees it.
    answer = raw_exchange(server, b"NONSENSE\r\n\r\n")
    assert re.match(rb"HTTP/1\.[01] 400 ", answer)
    assert fake.calls == []
    fake.reply("still here")
    assert server.client().chat.completions.create(model="qwen-plus", messages=USER)


def test_a_bug_in_the_fake_answers_a_dashscope_500_naming_it(caplog) -> None:
    class Broken:
        max_body = 1024

        def handle(self, request):
            raise RuntimeError("tokenizer not installed")

    with FakeServer(Broken()) as server, pytest.raises(openai.InternalServerError) as caught:
        server.client().chat.completions.create(model="qwen-plus", messages=USER)
    error = caught.value.body
    assert error["code"] == "fake_internal_error"
    assert "RuntimeError: tokenizer not installed" in error["message"]
    assert caught.value.response.headers["x-request-id"]
    assert "the fake DashScope failed" in caplog.text  # and the traceback is logged


def test_oversized_request_is_refused_with_413(fake, server) -> None:
    fake.reply("never")
    body = b'{"model": "qwen-plus", "messages": [], "pad": "' + b"x" * (8 * 2**20) + b'"}'
    with http.Client(base_url=server.base_url, headers=HEADERS, trust_env=False) as session:
        response = session.post("/chat/completions", content=body)
    assert response.status_code == 413
    assert "8 MiB" in response.json()["error"]["message"]
    assert fake.calls == []


def test_chunked_request_bodies_are_read(fake, server) -> None:
    fake.reply("chunked ok")
    payload = json.dumps({"model": "qwen-plus", "messages": USER}).encode()
    with http.Client(base_url=server.base_url, headers=HEADERS, trust_env=False) as session:
        response = session.post("/chat/completions", content=iter([payload[:10], payload[10:]]))
    assert response.json()["choices"][0]["message"]["content"] == "chunked ok"


def test_expect_100_continue_is_answered(fake, server) -> None:
    # curl sends it for bodies over 1 KiB and waits a second for the go-ahead.
    fake.reply("after continue")
    payload = json.dumps({"model": "qwen-plus", "messages": USER, "pad": "x" * 2000}).encode()
    with socket.create_connection(server.address, timeout=5) as sock:
        sock.sendall(
            b"POST /compatible-mode/v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
            b"Authorization: Bearer sk-test\r\nExpect: 100-continue\r\n"
            b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(payload)
        )
        assert sock.recv(65536).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        sock.sendall(payload)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert b"after continue" in answer


def test_a_client_leaving_mid_stream_does_not_break_the_server(fake, server, capfd, caplog) -> None:
    fake.reply("x" * 400, chunk_size=1, chunk_delay=0.01)
    fake.reply("still here")
    client = server.client()
    stream = client.chat.completions.create(model="qwen-plus", messages=USER, stream=True)
    next(iter(stream))
    stream.close()  # hangs up with most of the stream unsent

    answer = client.chat.completions.create(model="qwen-plus", messages=USER)
    assert answer.choices[0].message.content == "still here"
    time.sleep(0.05)  # past the left stream's next event
    assert "Traceback" not in capfd.readouterr().err
    assert noisy_records(caplog) == []


def test_a_client_resetting_mid_stream_leaves_no_traceback(fake, server, capfd, caplog) -> None:
    fake.reply("x" * 200, chunk_size=1, chunk_delay=0.005)
    payload = json.dumps({"model": "qwen-plus", "messages": USER, "stream": True}).encode()
    sock = socket.create_connection(server.address, timeout=5)
    sock.sendall(
        b"POST /compatible-mode/v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
        b"Authorization: Bearer sk-test\r\nContent-Length: %d\r\n\r\n%s" % (len(payload), payload)
    )
    received = b""
    while b"data: " not in received:  # the headers may come alone, then the first event
        received += sock.recv(65536)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()  # an RST while the server is still writing events
    time.sleep(0.1)
    fake.reply("still here")
    answer = server.client().chat.completions.create(model="qwen-plus", messages=USER)
    assert answer.choices[0].message.content == "still here"
    assert "Traceback" not in capfd.readouterr().err
    assert noisy_records(caplog) == []


def test_a_client_resetting_the_connection_leaves_no_traceback(fake, server, capfd, caplog) -> None:
    sock = socket.create_connection(server.address, timeout=5)
    sock.sendall(b"POST /compatible-mode/v1/chat/completions HTTP/1.1\r\nHost: x")  # half a request
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()  # an RST: the server's read of the request line fails
    time.sleep(0.3)
    fake.reply("still here")
    answer = server.client().chat.completions.create(model="qwen-plus", messages=USER)
    assert answer.choices[0].message.content == "still here"
    assert "Traceback" not in capfd.readouterr().err
    assert noisy_records(caplog) == []


def test_many_concurrent_streaming_clients(fake, server) -> None:
    fake.reply("streamed to everyone", chunk_size=3, chunk_delay=0.005, repeat=True)
    client = server.client()
    results: list[str] = []

    def consume() -> None:
        stream = client.chat.completions.create(model="qwen-plus", messages=USER, stream=True)
        results.append("".join(c.choices[0].delta.content or "" for c in stream))

    threads = [threading.Thread(target=consume) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert results == ["streamed to everyone"] * 20


def test_stop_is_fast_even_during_a_slow_stream(fake, caplog) -> None:
    fake.reply("slow " * 100, chunk_delay=0.5)
    server = fake.serve().start()
    stream = server.client().chat.completions.create(model="qwen-plus", messages=USER, stream=True)
    next(iter(stream))

    started = time.perf_counter()
    server.stop()
    assert time.perf_counter() - started < 1.0
    # openai 3.x wraps the cut connection in APIConnectionError; 1.x/2.x let httpx's error out.
    with pytest.raises((openai.APIError, http.TransportError)):
        list(stream)
    assert server_threads() == []
    assert noisy_records(caplog) == []


def test_start_and_stop_leave_no_thread_and_no_socket(fake) -> None:
    before = threading.active_count()
    for _ in range(3):
        with fake.serve() as server:
            assert len(server_threads()) == 1
        assert server_threads() == []
        with pytest.raises(OSError):  # the port is closed
            socket.create_connection(server.address, timeout=1).close()
    assert threading.active_count() == before
    with pytest.raises(RuntimeError, match=r"fake\.serve\(\)"):
        server.start()  # a stopped server does not come back


def test_binds_loopback_by_default_without_a_warning(fake) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        server = fake.serve()
    assert server.address[0] == "127.0.0.1"
    server.stop()


def ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:  # no IPv6 in this kernel or container
        return False
    return True


@pytest.mark.parametrize("host", ["0.0.0.0", "::"])
def test_binding_another_address_is_explicit_and_warns(fake, host) -> None:
    if host == "::" and not ipv6_loopback():
        pytest.skip("no IPv6 here")
    with pytest.warns(UserWarning, match=r"not on a loopback address") as caught:
        server = fake.serve(host=host)
    assert repr(host) in str(caught[0].message)
    assert caught[0].filename == __file__  # points at the call that asked for it
    with server:
        fake.reply("reachable")
        url = server.base_url.replace(f"//{server.address[0]}:", "//127.0.0.1:")
        if host == "::":
            url = server.base_url.replace("[::]", "[::1]")
        answer = server.client(base_url=url).chat.completions.create(
            model="qwen-plus", messages=USER
        )
    assert answer.choices[0].message.content == "reachable"


PROCESS = """
import sys
from qwenobs.fake import FakeDashScope
from qwenobs.fake.server import run

fake = FakeDashScope()
fake.reply("from another process", repeat=True)
run(fake, ready=lambda url: print(url, flush=True))
print("stopped", len(fake.calls), flush=True)
"""


@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM")
def test_run_serves_in_the_foreground_until_sigterm() -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", PROCESS], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        base_url = process.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/compatible-mode/v1")
        client = openai.OpenAI(
            api_key="sk-test",
            base_url=base_url,
            http_client=openai.DefaultHttpxClient(trust_env=False),
        )
        answer = client.chat.completions.create(model="qwen-plus", messages=USER)
        assert answer.choices[0].message.content == "from another process"
        stream = client.chat.completions.create(model="qwen-plus", messages=USER, stream=True)
        next(iter(stream))  # a stream still open when the signal comes
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=10)
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert out.strip() == "stopped 2"
    assert "Traceback" not in err
