"""Every stream's span carries usage, and the caller reads exactly what the bare SDK shows: on
DashScope's own endpoints (qwenobs asks for the usage chunk and hides it) and on added hosts
(left as sent unless opted in), parsed or read raw, sync and async, whole or broken off.

One scripted server answers two clients: one at a traced host, one at a host qwenobs does not
trace (the bare SDK). What each caller saw is compared.
"""

from __future__ import annotations

import asyncio
import gzip
import inspect
import json
import logging
from collections.abc import Callable
from contextlib import AsyncExitStack
from typing import Any

import openai
import pytest
from opentelemetry.trace import StatusCode

from qwenobs import raw_sse, streaming
from qwenobs.openai_sdk import http  # httpx2 under openai 3.x, httpx under 1.x and 2.x

DASHSCOPE = "https://dashscope.aliyuncs.com/compatible-mode/v1"
GATEWAY = "https://llm-gateway.internal/v1"  # added with hosts=
BARE = "https://bare.example.test/v1"  # not traced: what the bare SDK shows
REQUEST = {
    "model": "qwen-plus",
    "max_tokens": 64,
    "messages": [{"role": "user", "content": "天气?"}],
}
USAGE = {"prompt_tokens": 11, "completion_tokens": 4, "total_tokens": 15}


def _chunk(choices: list, usage: Any = None) -> dict:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "qwen-plus",
        "choices": choices,
        "usage": usage,
    }


def _delta(delta: dict, finish: str | None = None) -> dict:
    return _chunk([{"index": 0, "delta": delta, "finish_reason": finish}])


ANSWER = [
    _delta({"role": "assistant", "content": ""}),
    _delta({"content": "晴，"}),
    _delta({"content": "25°C and sunny"}),
    _delta({}, "stop"),
]


class Server:
    """Streams ANSWER; the usage chunk when asked (as DashScope does) or always (``unasked``).
    The body goes out in 7-byte pieces, gzip-encoded or broken off ``break_at`` bytes into the
    body with usage (a body without usage breaks at the same place of the answer)."""

    def __init__(
        self, *, unasked: bool = False, gzip: bool = False, break_at: int | None = None
    ) -> None:
        self.unasked = unasked
        self.gzip = gzip
        self.break_at = break_at
        self.bodies: list[dict] = []

    def wire(self, with_usage: bool) -> bytes:
        chunks = [*ANSWER, _chunk([], USAGE)] if with_usage else ANSWER
        events = [f"data: {json.dumps(c, ensure_ascii=False)}\n\n" for c in chunks]
        return "".join([*events, "data: [DONE]\n\n"]).encode()

    def handle(self, request: Any, is_async: bool) -> Any:
        body = json.loads(request.content)
        self.bodies.append(body)
        asked = (body.get("stream_options") or {}).get("include_usage") is True
        wire = self.wire(self.unasked or asked)
        headers = {"content-type": "text/event-stream", "x-request-id": "rid-1"}
        if self.gzip:
            wire = gzip.compress(wire, mtime=0)
            headers["content-encoding"] = "gzip"
        if self.break_at is not None:
            usage_bytes = len(self.wire(True)) - len(self.wire(False))
            cut = self.break_at
            if not (self.unasked or asked) and cut > ANSWER_BYTES:
                cut = max(ANSWER_BYTES, cut - usage_bytes)
            wire = wire[:cut]
        pieces = [wire[i : i + 7] for i in range(0, len(wire), 7)]

        def sync_body():
            yield from pieces
            if self.break_at is not None:
                raise http.ReadError("connection reset")

        async def async_body():
            for piece in sync_body():
                yield piece

        return http.Response(
            200, headers=headers, content=async_body() if is_async else sync_body()
        )

    def client(self, base_url: str, is_async: bool) -> Any:
        if is_async:
            transport = http.MockTransport(lambda r: self.handle(r, True))
            return openai.AsyncOpenAI(
                api_key="sk-test",
                base_url=base_url,
                max_retries=0,
                http_client=http.AsyncClient(transport=transport),
            )
        transport = http.MockTransport(lambda r: self.handle(r, False))
        return openai.OpenAI(
            api_key="sk-test",
            base_url=base_url,
            max_retries=0,
            http_client=http.Client(transport=transport),
        )


# --- the ways a caller reads a stream, each written once for sync and async clients --------------


ANSWER_BYTES = len(Server().wire(with_usage=False)) - len(b"data: [DONE]\n\n")


async def settle(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


async def collect(items: Any) -> list:
    if hasattr(items, "__aiter__"):
        return [item async for item in items]
    return list(items)


def shown(items: list) -> list:
    """What a caller saw, comparable across clients (SDK chunks as dicts)."""
    return [item.model_dump() if hasattr(item, "model_dump") else item for item in items]


async def streaming_response(client: Any, read: Callable[[Any], Any]) -> Any:
    async with AsyncExitStack() as stack:
        manager = client.chat.completions.with_streaming_response.create(stream=True, **REQUEST)
        if hasattr(manager, "__aenter__"):
            response = await stack.enter_async_context(manager)
        else:
            response = stack.enter_context(manager)
        return await read(response)


async def raw_response(client: Any, read: Callable[[Any], Any]) -> Any:
    raw = await settle(client.chat.completions.with_raw_response.create(stream=True, **REQUEST))
    return await read(raw)


async def read_then(client: Any, raw: Any, field: str) -> Any:
    """The legacy raw response's ``text``/``content``, once its body was read."""
    response = raw.http_response
    await (response.aread() if isinstance(client, openai.AsyncOpenAI) else settle(response.read()))
    return getattr(raw, field)


async def joined(pieces: Any) -> Any:
    pieces = await collect(pieces)
    return pieces[0][:0].join(pieces) if pieces else pieces


READERS: dict[str, Callable[[Any], Any]] = {
    "create": lambda c: _create(c),
    "parse": lambda c: streaming_response(c, lambda r: _parsed(r)),
    "iter_lines": lambda c: streaming_response(c, lambda r: collect(r.iter_lines())),
    # iter_bytes()/iter_text() pieces follow the network; with a chunk_size they are exact
    "iter_text": lambda c: streaming_response(c, lambda r: joined(r.iter_text())),
    "iter_text(5)": lambda c: streaming_response(c, lambda r: collect(r.iter_text(5))),
    "iter_bytes": lambda c: streaming_response(c, lambda r: joined(r.iter_bytes())),
    "iter_bytes(7)": lambda c: streaming_response(c, lambda r: collect(r.iter_bytes(7))),
    "read": lambda c: streaming_response(c, lambda r: settle(r.read())),
    "text": lambda c: streaming_response(c, lambda r: settle(r.text())),
    "raw parse": lambda c: raw_response(c, lambda r: collect(r.parse())),
    "raw text": lambda c: raw_response(c, lambda r: read_then(c, r, "text")),
    "raw content": lambda c: raw_response(c, lambda r: read_then(c, r, "content")),
}


async def _create(client: Any) -> list:
    return await collect(await settle(client.chat.completions.create(stream=True, **REQUEST)))


async def _parsed(response: Any) -> list:
    return await collect(await settle(response.parse()))


async def outcome(read: Callable[[Any], Any], client: Any) -> tuple[Any, ...]:
    """What the caller saw: the result, or the error."""
    try:
        result = await read(client)
    except Exception as exc:  # compare what the caller would see
        return ("raised", type(exc).__name__, str(exc))
    return ("ok", shown(result) if isinstance(result, list) else result)


@pytest.fixture(params=["sync", "async"])
def is_async(request: pytest.FixtureRequest) -> bool:
    return request.param == "async"


# --- which hosts ask for usage ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "setting", "unasked", "asks"),
    [
        pytest.param(DASHSCOPE, True, False, True, id="dashscope"),
        pytest.param(GATEWAY, True, False, False, id="gateway"),
        pytest.param(GATEWAY, True, True, False, id="gateway-sends-usage-unasked"),
        pytest.param(GATEWAY, "all", False, True, id="gateway-opted-in"),
        pytest.param(DASHSCOPE, False, False, False, id="dashscope-off"),
    ],
)
async def test_which_hosts_ask_for_usage(telemetry, is_async, host, setting, unasked, asks):
    telemetry.instrument(hosts=["llm-gateway.internal"], stream_usage=setting)
    server = Server(unasked=unasked)
    traced = await outcome(READERS["create"], server.client(host, is_async))
    sent = server.bodies[-1]
    bare = await outcome(READERS["create"], server.client(BARE, is_async))

    assert traced == bare, "the caller sees what the bare SDK shows"
    assert ("stream_options" in sent) is asks
    span = telemetry.span()
    assert span.attributes["server.address"] == host.split("/")[2]
    has_usage = asks or unasked
    assert span.attributes.get("gen_ai.usage.input_tokens") == (11 if has_usage else None)


def test_a_bad_stream_usage_is_refused_clearly(monkeypatch, caplog):
    import qwenobs
    from qwenobs import config

    with pytest.raises(
        ValueError,
        match=r"instrument\(\): stream_usage must be True, False or 'all'.*got 'gateway'",
    ):
        qwenobs.instrument(stream_usage="gateway")
    # A bad environment value never stops the application: logged once, the default used.
    config.bad_environment.cache_clear()
    monkeypatch.setenv("QWENOBS_STREAM_USAGE", "sometimes")
    assert config.resolve_settings().stream_usage == "dashscope"
    assert "ignoring QWENOBS_STREAM_USAGE='sometimes': expected true, false or all" in caplog.text


def test_the_environment_opts_added_hosts_in(telemetry, monkeypatch):
    monkeypatch.setenv("QWENOBS_STREAM_USAGE", "all")
    telemetry.instrument(hosts=["llm-gateway.internal"])
    server = Server()
    asyncio.run(outcome(READERS["create"], server.client(GATEWAY, False)))
    assert server.bodies[-1]["stream_options"] == {"include_usage": True}


# --- every way of reading a stream -------------------------------------------------------------


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize(
    ("host", "unasked"),
    [
        pytest.param(DASHSCOPE, False, id="dashscope-hides"),
        pytest.param(GATEWAY, True, id="gateway-as-sent"),
    ],
)
async def test_every_reader_sees_the_bare_sdks_stream_and_the_span_gets_usage(
    telemetry, is_async, reader, host, unasked, caplog
):
    telemetry.instrument(hosts=["llm-gateway.internal"])
    server = Server(unasked=unasked)
    with caplog.at_level(logging.WARNING, logger="qwenobs"):
        traced = await outcome(READERS[reader], server.client(host, is_async))
    bare = await outcome(READERS[reader], server.client(BARE, is_async))

    assert traced[0] == "ok"
    assert traced == bare
    a = telemetry.span().attributes
    assert a["gen_ai.usage.input_tokens"] == 11 and a["gen_ai.usage.output_tokens"] == 4
    assert a["gen_ai.response.finish_reasons"] == ("stop",)
    assert a["dashscope.stream.end"] == "exhausted"
    assert not [r for r in caplog.records if r.name == "qwenobs"]


async def test_iter_raw_is_the_wire_untouched(telemetry, is_async):
    # The wire's own bytes, gzip included: the usage event qwenobs asked for is in them.
    server = Server(gzip=True)

    async def raw_bytes(client: Any) -> bytes:
        def iter_raw(response: Any) -> Any:
            http_response = response.http_response
            return http_response.aiter_raw() if is_async else http_response.iter_raw()

        return await streaming_response(client, lambda r: joined(iter_raw(r)))

    wire = await raw_bytes(server.client(DASHSCOPE, is_async))
    assert wire == gzip.compress(server.wire(with_usage=True), mtime=0)
    assert await outcome(
        READERS["iter_bytes"], server.client(DASHSCOPE, is_async)
    ) == await outcome(READERS["iter_bytes"], server.client(BARE, is_async)), (
        "decoded, the usage event is hidden again"
    )


# --- broken off mid-way ------------------------------------------------------------------------


async def seen_before_error(read: Callable[[Any, Any], Any], client: Any) -> tuple[list, str]:
    seen: list = []

    async def keep(items: Any) -> None:
        if hasattr(items, "__aiter__"):
            async for item in items:
                seen.append(item)
        else:
            for item in items:
                seen.append(item)

    try:
        await read(client, keep)
    except Exception as exc:
        return shown(seen), type(exc).__name__
    raise AssertionError("the stream did not break")


BROKEN_READERS = {
    "create": lambda c, keep: _broken_create(c, keep),
    "iter_lines": lambda c, keep: streaming_response(c, lambda r: keep(r.iter_lines())),
    "iter_bytes(7)": lambda c, keep: streaming_response(c, lambda r: keep(r.iter_bytes(7))),
    "iter_text": lambda c, keep: streaming_response(c, lambda r: keep(r.iter_text())),
    "read": lambda c, keep: streaming_response(c, lambda r: settle(r.read())),
}


async def _broken_create(client: Any, keep: Callable[[Any], Any]) -> None:
    await keep(await settle(client.chat.completions.create(stream=True, **REQUEST)))


@pytest.mark.parametrize("reader", BROKEN_READERS)
@pytest.mark.parametrize(
    "break_at",
    [
        pytest.param(250, id="in-an-answer-chunk"),
        pytest.param(ANSWER_BYTES + 2, id="at-the-usage-event"),
        pytest.param(ANSWER_BYTES + 150, id="in-the-usage-event"),
    ],
)
async def test_a_stream_broken_mid_way(telemetry, is_async, reader, break_at):
    server = Server(break_at=break_at)
    traced = await seen_before_error(BROKEN_READERS[reader], server.client(DASHSCOPE, is_async))
    bare = await seen_before_error(BROKEN_READERS[reader], server.client(BARE, is_async))
    if reader == "iter_text":  # pieces follow the network; what they carry is the same
        traced, bare = ("".join(traced[0]), traced[1]), ("".join(bare[0]), bare[1])
    assert traced == bare
    span = telemetry.span()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["dashscope.stream.end"] == "error"


# --- never broken by qwenobs ---------------------------------------------------------------------


def boom(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("qwenobs bug")


@pytest.mark.parametrize("reader", ["iter_lines", "iter_bytes(7)", "text", "raw content"])
async def test_a_failing_filter_hands_over_the_wire_as_sent(
    telemetry, monkeypatch, caplog, is_async, reader
):
    # An internal error while reading raw: the caller gets every byte the server sent, nothing less.
    server = Server()
    monkeypatch.setattr(raw_sse.RawEvents, "feed", boom)
    with caplog.at_level(logging.WARNING, logger="qwenobs"):
        traced = await outcome(READERS[reader], server.client(DASHSCOPE, is_async))
    assert traced[0] == "ok"
    as_sent = server.wire(with_usage=True)
    got = traced[1]
    if isinstance(got, list):
        got = got[0][:0].join(got) if isinstance(got[0], bytes) else "\n".join(got) + "\n"
    assert got in (as_sent, as_sent.decode())
    assert len([r for r in caplog.records if r.name == "qwenobs"]) == 1
    assert telemetry.span().end_time is not None


@pytest.mark.parametrize("reader", ["iter_lines", "iter_bytes(7)", "read", "raw text"])
async def test_a_failing_state_still_shows_the_bare_sdks_stream(
    telemetry, monkeypatch, caplog, is_async, reader
):
    server = Server()
    bare = await outcome(READERS[reader], server.client(BARE, is_async))
    monkeypatch.setattr(streaming.StreamState, "add", boom)
    with caplog.at_level(logging.WARNING, logger="qwenobs"):
        traced = await outcome(READERS[reader], server.client(DASHSCOPE, is_async))
    assert traced == bare
    assert len([r for r in caplog.records if r.name == "qwenobs"]) == 1
    assert telemetry.span().end_time is not None
