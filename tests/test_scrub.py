"""The scrubber on its own: response cookies, echoed keys, user names, binary bodies."""

from __future__ import annotations

import json

from vcr.request import Request

from qwenobs.scrub import SCRUBBED, Scrubber


def test_request_then_response_of_one_interaction():
    scrubber = Scrubber(["x-tenant"])
    request = Request(
        "POST",
        "https://dashscope.aliyuncs.com/compatible-mode/v1/chat/completions?api_key=q1&a=b",
        b'{"model": "qwen-plus", "x-tenant": "acme"}',
        {
            "Authorization": "Bearer sk-live-abcdef",
            "X-Stainless-OS": "Linux",
            "User-Agent": "OpenAI/Python 3.57.0",
            "Content-Type": "application/json",
            "Content-Length": "42",
        },
    )
    request = scrubber.request(request)
    assert request.headers["Authorization"] == SCRUBBED
    assert "X-Stainless-OS" not in request.headers and "User-Agent" not in request.headers
    assert request.query == [("a", "b"), ("api_key", SCRUBBED)]
    assert json.loads(request.body) == {"model": "qwen-plus", "x-tenant": SCRUBBED}
    assert request.headers["Content-Length"] == str(len(request.body))

    body = json.dumps({"echo": "sk-live-abcdef", "access_token": "t0k3n"}).encode()
    response = scrubber.response(
        {
            "status": {"code": 200, "message": "OK"},
            "headers": {
                "Set-Cookie": ["sid=1", "acw_tc=2"],
                "Content-Type": ["application/json"],
                "Content-Length": [str(len(body))],
            },
            "body": {"string": body},
        }
    )
    assert response["headers"]["Set-Cookie"] == [SCRUBBED, SCRUBBED]
    text = response["body"]["string"].decode()
    assert "sk-live-abcdef" not in text and "t0k3n" not in text
    assert text.startswith('{\n  "echo": "<scrubbed>"')
    assert response["headers"]["Content-Length"] == [str(len(response["body"]["string"]))]


def test_binary_and_sse_bodies_are_left_as_they_are():
    scrubber = Scrubber()
    binary = b"\x89PNG\r\n\x1a\n\xff"
    response = {"headers": {}, "body": {"string": binary}}
    assert scrubber.response(response)["body"]["string"] == binary
    sse = b'data: {"a":1}\n\ndata: [DONE]\n\n'
    response = {"headers": {"content-type": ["text/event-stream"]}, "body": {"string": sse}}
    assert scrubber.response(response)["body"]["string"] == sse


def test_the_secret_scan_names_each_place_and_never_the_secret(monkeypatch):
    from qwenobs.scrub import SecretScan

    env_key = "dsk-" + "7e" * 10
    monkeypatch.setenv("DASHSCOPE_API_KEY", env_key)
    scan = SecretScan(["x-trace-token"])
    found = scan.request(
        "POST",
        "https://gw.internal/v1/chat/completions?key=abc123&page=2",
        {"Cookie": ["sid=1"], "x-trace-token": ["t-1"], "api-key": ["<scrubbed>"]},
        '{"model": "qwen-plus", "extra": {"api_key": "k-9"}, "note": "' + env_key + '"}',
    )
    found += scan.response({"set-cookie": ["a=b"]}, 'data: {"content": "Bearer ' + "x" * 20 + '"}')
    assert found == [
        "request header 'Cookie' is not scrubbed",
        "request header 'x-trace-token' is not scrubbed",
        "query parameter 'key' of the URL is not scrubbed",
        "request body key 'extra.api_key' is not scrubbed",
        "request body holds the value of $DASHSCOPE_API_KEY",
        "response header 'set-cookie' is not scrubbed",
        "response body holds text shaped like a bearer token",
    ]
    assert not any(secret in line for line in found for secret in (env_key, "abc123", "k-9"))
    scrubbed = scan.request("POST", "https://x/v1", {"authorization": ["Bearer <scrubbed>"]}, "")
    assert scrubbed == []
