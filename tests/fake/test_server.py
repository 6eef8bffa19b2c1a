"""The loopback server as any HTTP client sees it: raw sockets, streams, disconnects, shutdown."""

from __future__ import annotations

import json
import socket
import struct
import threading
import time

import openai
import pytest

from qwenobs.openai_sdk import http

# The HTTP library the installed openai uses: httpx2 for 3.x, httpx for 1.x/2.x.
USER = [{"role": "user", "content": "hi"}]
HEADERS = {"authorization": "Bearer sk-test"}


@pytest.fixture
def server(fake):
    with fake.serve() as running:
        yield running


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


def test_malformed_http_gets_a_dashscope_style_error(server) -> None:
    answer = raw_exchange(server, b"NONSENSE\r\n\r\n")
    head, _, payload = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400")
    assert json.loads(payload)["error"]["message"].startswith("Malformed HTTP request")


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


def test_a_client_leaving_mid_stream_does_not_break_the_server(fake, server) -> None:
    fake.reply("x" * 400, chunk_size=1, chunk_delay=0.01)
    fake.reply("still here")
    client = server.client()
    stream = client.chat.completions.create(model="qwen-plus", messages=USER, stream=True)
    next(iter(stream))
    stream.close()  # hangs up with most of the stream unsent

    answer = client.chat.completions.create(model="qwen-plus", messages=USER)
    assert answer.choices[0].message.content == "still here"


def test_a_client_resetting_the_connection_leaves_no_traceback(fake, server, capfd) -> None:
    sock = socket.create_connection(server.address, timeout=5)
    sock.sendall(b"POST /compatible-mode/v1/chat/completions HTTP/1.1\r\nHost: x")  # half a request
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()  # an RST: the server's read of the request line fails
    time.sleep(0.3)
    fake.reply("still here")
    answer = server.client().chat.completions.create(model="qwen-plus", messages=USER)
    assert answer.choices[0].message.content == "still here"
    assert "Traceback" not in capfd.readouterr().err


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


def test_stop_is_fast_even_during_a_slow_stream(fake) -> None:
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
