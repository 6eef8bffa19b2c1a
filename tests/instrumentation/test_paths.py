"""Every way of reaching DashScope through the SDK, and every way a stream can end, gives one span."""

from __future__ import annotations

import asyncio
import gc
import logging
import threading

import openai
import pytest
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from opentelemetry.trace import StatusCode
from pydantic import BaseModel

import qwenobs
from qwenobs import openai_sdk as sdk
from qwenobs.openai_sdk import http  # httpx2 under openai 3.x, httpx under 1.x and 2.x

USER = {"role": "user", "content": "Weather in Shanghai?"}
ORPHAN = [USER, {"role": "tool", "tool_call_id": "call_1", "content": "sunny"}]


def create(client, **kwargs):
    kwargs.setdefault("model", "qwen-plus")
    kwargs.setdefault("max_tokens", 64)
    kwargs.setdefault("messages", [USER])
    return client.chat.completions.create(**kwargs)


# --- stream lifecycles ---------------------------------------------------------------------


def test_the_stream_is_still_an_openai_stream(fake, telemetry):
    fake.reply("Sunny and warm")
    stream = create(fake.client(), stream=True)
    assert isinstance(stream, openai.Stream)
    assert stream.response.status_code == 200
    with stream as inside:
        assert inside is stream
        assert next(inside).choices[0].delta.role == "assistant"
    assert telemetry.span().attributes["dashscope.stream.end"] == "closed"


def test_an_early_break_then_close_ends_the_span_once(fake, telemetry):
    fake.reply("one two three four five six", chunk_size=1)
    stream = create(fake.client(), stream=True)
    for _ in stream:
        break
    stream.close()
    stream.close()
    assert telemetry.span().attributes["dashscope.stream.end"] == "closed"
    assert stream.response.is_closed


def test_an_abandoned_stream_ends_its_span_when_collected(fake, telemetry):
    fake.reply("one two three", chunk_size=1)
    stream = create(fake.client(), stream=True)
    next(stream)
    del stream
    gc.collect()
    assert telemetry.span().attributes["dashscope.stream.end"] == "abandoned"


def test_a_transport_error_mid_stream_is_recorded_and_raised(fake, telemetry):
    def broken_body(request):
        def chunks():
            yield b'data: {"id":"x","object":"chat.completion.chunk","created":1,"model":"qwen-plus","choices":[{"index":0,"delta":{"content":"Hi"}}]}\n\n'
            raise http.ReadError("connection reset")

        return http.Response(200, headers={"content-type": "text/event-stream"}, content=chunks())

    client = openai.OpenAI(
        api_key="sk-test",
        base_url="https://dashscope.aliyuncs.com/compatible-mode/v1",
        http_client=http.Client(transport=http.MockTransport(broken_body)),
        max_retries=0,
    )
    stream = create(client, stream=True)
    assert next(stream).choices[0].delta.content == "Hi"
    # openai 3.x maps the transport error to APIConnectionError; 1.x and 2.x pass it through.
    with pytest.raises((openai.APIConnectionError, http.ReadError)):
        next(stream)
    span = telemetry.span()
    assert (
        span.status.status_code is StatusCode.ERROR
        and span.attributes["dashscope.stream.end"] == "error"
    )


async def test_async_stream_with_async_with_and_aclose(fake, telemetry):
    fake.reply("one two three", chunk_size=1)
    fake.reply("four five")
    client = fake.async_client()
    stream = await create(client, stream=True)
    assert isinstance(stream, openai.AsyncStream)
    async with stream as inside:
        assert inside is stream
        await inside.__anext__()
    second = await create(client, stream=True)
    await second.__anext__()
    await second.aclose()
    assert [s.attributes["dashscope.stream.end"] for s in telemetry.spans()] == ["closed", "closed"]


async def test_a_cancelled_task_ends_its_stream_span_as_cancelled(fake, telemetry):
    fake.reply("slow " * 20, chunk_size=1, chunk_delay=0.05)
    client = fake.async_client()

    async def consume():
        async for _ in await create(client, stream=True):
            pass

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.15)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    span = telemetry.span()
    assert span.attributes["dashscope.stream.end"] == "cancelled"
    assert span.attributes["error.type"] == "CancelledError"


# --- every way into the SDK --------------------------------------------------------------------


def test_raw_responses_parse_to_the_traced_result(fake, telemetry):
    fake.reply("plain")
    fake.reply("streamed")
    client = fake.client()
    raw = client.chat.completions.with_raw_response.create(
        model="qwen-plus", max_tokens=9, messages=[USER]
    )
    assert isinstance(raw, sdk.LegacyAPIResponse)
    assert raw.parse().choices[0].message.content == "plain"
    raw_stream = client.chat.completions.with_raw_response.create(
        model="qwen-plus", max_tokens=9, messages=[USER], stream=True
    )
    stream = raw_stream.parse()
    assert isinstance(stream, openai.Stream) and raw_stream.parse() is stream
    assert "".join(c.choices[0].delta.content or "" for c in stream) == "streamed"
    plain, streamed = telemetry.spans()
    assert plain.attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert plain.attributes["dashscope.request_id"] == raw.headers["x-request-id"]
    assert streamed.attributes["dashscope.stream.end"] == "exhausted"


def test_streaming_responses_like_langchain_reads_them(fake, telemetry):
    fake.reply("streamed")
    client = fake.client()
    with (
        client.chat.completions.with_streaming_response.create(
            model="qwen-plus", max_tokens=9, messages=[USER], stream=True
        ) as response,
        response.parse() as stream,
    ):
        assert "".join(c.choices[0].delta.content or "" for c in stream) == "streamed"
    assert telemetry.span().attributes["dashscope.stream.end"] == "exhausted"


def test_a_direct_post_like_litellm_makes_it(fake, telemetry):
    fake.reply("posted")
    client = fake.client()
    stream = client.post(
        "/chat/completions",
        cast_to=ChatCompletion,
        body={"model": "qwen-plus", "max_tokens": 9, "messages": [USER], "stream": True},
        stream=True,
        stream_cls=openai.Stream[ChatCompletionChunk],
    )
    assert stream.__next__().choices[0].delta.role == "assistant"
    list(stream)
    assert telemetry.span().attributes["dashscope.stream.end"] == "exhausted"


def test_parse_with_a_response_model(fake, telemetry):
    class Verdict(BaseModel):
        umbrella: bool

    fake.reply('{"umbrella": true}')
    parsed = fake.client().chat.completions.parse(
        model="qwen-plus",
        max_tokens=9,
        messages=[{"role": "user", "content": "json: umbrella?"}],
        response_format=Verdict,
    )
    assert parsed.choices[0].message.parsed == Verdict(umbrella=True)
    assert telemetry.span().attributes["gen_ai.response.finish_reasons"] == ("stop",)


def test_other_clients_pass_through_untouched(telemetry):
    seen = []

    def openai_like(request):
        seen.append(request)
        return http.Response(400, json={"error": {"message": "real server says no"}})

    client = openai.OpenAI(
        api_key="sk-test",
        base_url="https://api.openai.com/v1",
        http_client=http.Client(transport=http.MockTransport(openai_like)),
        max_retries=0,
    )
    with pytest.raises(openai.BadRequestError, match="real server says no"):
        create(client, messages=ORPHAN)  # not checked: this is not DashScope
    assert len(seen) == 1 and telemetry.spans() == []


def test_extra_hosts_are_traced(telemetry, fake):
    telemetry.instrument(hosts=["llm-gateway.internal"])
    fake.reply("via gateway")
    create(fake.client(base_url="http://llm-gateway.internal/v1"))
    assert telemetry.span().attributes["server.address"] == "llm-gateway.internal"


# --- checked before sending ----------------------------------------------------------------------


def test_raise_mode_stops_the_request_before_the_transport(fake, telemetry):
    with pytest.raises(openai.BadRequestError) as caught:
        create(fake.client(), messages=ORPHAN)
    error = caught.value
    assert isinstance(error, qwenobs.QwenValidationError) and error.status_code == 400
    assert [f.rule for f in error.findings] == ["orphan-tool-result"]
    assert "messages[1]" in str(error) and "resp.choices[0].message" in str(error)
    assert len(fake.calls) == 0  # nothing was sent
    span = telemetry.span()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "QwenValidationError"
    (event,) = [e for e in span.events if e.name == "dashscope.validation"]
    assert (
        event.attributes["rule"] == "orphan-tool-result" and event.attributes["message_index"] == 1
    )


async def test_raise_mode_async(fake, telemetry):
    with pytest.raises(qwenobs.QwenValidationError):
        await create(fake.async_client(), messages=ORPHAN)
    assert len(fake.calls) == 0


def test_warn_mode_sends_and_records(fake, telemetry, caplog):
    telemetry.instrument(validate="warn")
    with (
        caplog.at_level(logging.WARNING, logger="qwenobs"),
        pytest.raises(openai.BadRequestError) as caught,
    ):
        create(fake.client(), messages=ORPHAN)
    assert "preceeding" in str(caught.value)  # DashScope's own 400, from the fake
    assert len(fake.calls) == 1
    (record,) = caplog.records
    assert "sent although DashScope will reject it: orphan-tool-result at messages[1]" in (
        record.getMessage()
    )
    events = [e for e in telemetry.span().events if e.name == "dashscope.validation"]
    assert [e.attributes["rule"] for e in events] == ["orphan-tool-result"]


def test_warnings_never_block(fake, telemetry):
    fake.reply("ok")
    create(fake.client(), max_tokens=None)  # max-tokens-unset is only a warning
    events = [e for e in telemetry.span().events if e.name == "dashscope.validation"]
    assert [e.attributes["severity"] for e in events] == ["warning"]


@pytest.mark.parametrize("mode", ["raise", "warn"])
def test_each_warning_is_logged_once_per_call_site(fake, telemetry, caplog, mode):
    telemetry.instrument(validate=mode)
    fake.reply("ok", repeat=True)
    client = fake.client()
    ask = {"model": "qwen-plus", "messages": [USER]}  # no max_tokens: max-tokens-unset
    with caplog.at_level(logging.WARNING, logger="qwenobs"):
        for _ in range(3):
            client.chat.completions.create(**ask)  # one call site, three calls
        client.chat.completions.create(**ask)  # another call site
    logged = [r.getMessage() for r in caplog.records]
    assert len(logged) == 2
    assert all("max-tokens-unset" in line and "Set max_tokens" in line for line in logged)
    assert f"{__file__}:" in logged[0] and logged[0] != logged[1]  # the application's lines
    assert len(telemetry.spans()) == 4  # every call still carries its span event


def test_an_unknown_model_is_logged_once_whatever_the_call_site(fake, telemetry, caplog):
    fake.reply("ok", repeat=True)  # the fake answers unknown models: suites use "test-model"
    client = fake.client()
    with caplog.at_level(logging.WARNING, logger="qwenobs"):
        client.chat.completions.create(model="test-model", messages=[USER], max_tokens=8)
        client.chat.completions.create(model="test-model", messages=[USER], max_tokens=8)
    (line,) = [r.getMessage() for r in caplog.records]
    assert "unknown-model" in line and "'test-model'" in line
    assert [c.status for c in fake.calls] == [200, 200]


def test_off_mode_and_the_environment(fake, telemetry, monkeypatch):
    monkeypatch.setenv("QWENOBS_VALIDATE", "off")
    telemetry.instrument()
    with pytest.raises(openai.BadRequestError):
        create(fake.client(), messages=ORPHAN)
    assert len(fake.calls) == 1
    assert [e.name for e in telemetry.span().events] == ["exception"]
    telemetry.instrument(validate="raise")  # the argument wins over the environment
    with pytest.raises(qwenobs.QwenValidationError):
        create(fake.client(), messages=ORPHAN)


def test_a_bad_mode_is_refused_clearly():
    with pytest.raises(ValueError, match="raise, warn, off"):
        qwenobs.instrument(validate="loud")


# --- on and off ----------------------------------------------------------------------------------


def test_uninstrument_restores_the_original_methods(fake, telemetry):
    qwenobs.uninstrument()
    assert sdk.SyncAPIClient.__dict__["request"] is ORIGINAL_SYNC
    assert sdk.AsyncAPIClient.__dict__["request"] is ORIGINAL_ASYNC
    fake.reply("untraced")
    create(fake.client())
    assert telemetry.spans() == []
    qwenobs.instrument()
    qwenobs.instrument()  # idempotent
    assert sdk.SyncAPIClient.__dict__["request"].__wrapped__ is ORIGINAL_SYNC


ORIGINAL_SYNC = sdk.SyncAPIClient.__dict__["request"]
ORIGINAL_ASYNC = sdk.AsyncAPIClient.__dict__["request"]


def test_the_opentelemetry_instrument_entry_point():
    from importlib.metadata import entry_points

    (entry,) = [
        e for e in entry_points(group="opentelemetry_instrumentor") if e.name == "dashscope"
    ]
    assert entry.load() is qwenobs.QwenInstrumentor


# --- concurrency ---------------------------------------------------------------------------------


def test_sixteen_threads_each_span_carries_its_own_request(fake, telemetry):
    fake.reply("ok", repeat=True)
    client = fake.client()
    errors = []

    def worker(n: int) -> None:
        try:
            for i in range(5):
                stream = n % 2 == 0
                result = create(
                    client,
                    max_tokens=1000 + n * 10 + i,
                    stream=stream,
                    messages=[{"role": "user", "content": f"w{n}-{i}"}],
                )
                if stream:
                    list(result)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    spans = telemetry.spans()
    assert len(spans) == 80
    by_tokens = {s.attributes["gen_ai.request.max_tokens"]: s for s in spans}
    assert len(by_tokens) == 80
    for max_tokens, span in by_tokens.items():
        n = (max_tokens - 1000) // 10
        assert span.attributes["gen_ai.request.stream"] is (n % 2 == 0)
        assert span.attributes["gen_ai.usage.input_tokens"] > 0


async def test_two_hundred_tasks_each_span_carries_its_own_request(fake, telemetry):
    fake.reply("ok", repeat=True)
    client = fake.async_client()

    async def one(n: int) -> str:
        if n % 2:
            completion = await create(client, max_tokens=1000 + n)
            return completion.id
        stream = await create(client, max_tokens=1000 + n, stream=True)
        chunks = [chunk async for chunk in stream]
        return chunks[0].id

    ids = await asyncio.gather(*(one(n) for n in range(200)))
    spans = telemetry.spans()
    assert len(spans) == 200
    by_tokens = {s.attributes["gen_ai.request.max_tokens"]: s for s in spans}
    assert [by_tokens[1000 + n].attributes["gen_ai.response.id"] for n in range(200)] == ids


def test_the_stream_helper_ends_its_span_even_when_left_early(fake, telemetry):
    fake.reply("hello there friend", chunk_size=2)
    fake.reply("again", chunk_size=2)
    client = fake.client()
    with client.chat.completions.stream(model="qwen-plus", max_tokens=9, messages=[USER]) as stream:
        assert "".join(e.delta for e in stream if e.type == "content.delta") == "hello there friend"
    with client.chat.completions.stream(model="qwen-plus", max_tokens=9, messages=[USER]) as stream:
        next(iter(stream))  # the helper closes the HTTP response itself, not our proxy
    del stream
    gc.collect()
    assert [s.attributes["dashscope.stream.end"] for s in telemetry.spans()] == [
        "exhausted",
        "abandoned",
    ]
