"""Force each internal step to raise: the user gets the identical result, and one log line per cause."""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any

import openai
import pydantic
import pytest

from qwenobs import attributes, lifecycle, streaming

USER = {"role": "user", "content": "Weather in Shanghai?"}


def boom(*args, **kwargs):
    raise RuntimeError("qwenobs bug")


def run(client, stream: bool):
    result = client.chat.completions.create(
        model="qwen-plus", max_tokens=64, messages=[USER], stream=stream
    )
    if stream:
        return [(c.choices[0].delta.content if c.choices else None) for c in result]
    return result.choices[0].message.content


@pytest.mark.parametrize(
    ("target", "name"),
    [
        (attributes, "request_attributes"),  # plan
        (lifecycle, "inspect"),  # validation
        (attributes, "completion_attributes"),  # observe, non-streaming
        (streaming.StreamState, "add"),  # observe, each chunk
        (attributes, "usage_attributes"),  # ending a stream's span
    ],
)
@pytest.mark.parametrize("stream", [False, True])
def test_an_internal_error_never_reaches_the_user(
    fake, telemetry, monkeypatch, caplog, target, name, stream
):
    fake.reply("Sunny", repeat=True)
    client = fake.client()
    expected = run(client, stream)  # instrumented and healthy
    monkeypatch.setattr(target, name, boom)
    with caplog.at_level(logging.WARNING, logger="qwenobs"):
        assert run(client, stream) == expected
        assert run(client, stream) == expected
    logged = [r for r in caplog.records if r.name == "qwenobs"]
    assert len(logged) <= 1  # once per cause, not once per call
    if logged:
        assert "the call is unaffected" in logged[0].getMessage()
    for span in telemetry.spans():
        assert span.end_time is not None


def test_the_users_exception_is_the_identical_object(fake, telemetry, monkeypatch):
    fake.fail(429)
    monkeypatch.setattr(attributes, "usage_attributes", boom)
    with pytest.raises(openai.RateLimitError) as caught:
        run(fake.client(), stream=False)
    assert caught.value.status_code == 429 and caught.value.__cause__ is None


def test_a_span_that_cannot_end_does_not_break_the_stream(fake, telemetry, monkeypatch):
    fake.reply("Sunny")
    monkeypatch.setattr(lifecycle.TracedCall, "_end", boom)
    assert run(fake.client(), stream=True)[-1] is None


def test_a_stream_of_plain_dicts_is_traced_like_sdk_chunks(fake, telemetry, caplog):
    # client.post with stream_cls=Stream[dict] hands back decoded JSON, not SDK chunk objects:
    # the usage chunk qwenobs asked for is still hidden and still read.
    fake.reply("Sunny")
    client = fake.client()
    with caplog.at_level(logging.WARNING, logger="qwenobs"):
        stream = client.post(
            "/chat/completions",
            cast_to=object,
            body={"model": "qwen-plus", "max_tokens": 64, "messages": [USER], "stream": True},
            stream=True,
            stream_cls=openai.Stream[dict[str, Any]],
        )
        chunks = list(stream)
    assert chunks and all(type(c) is dict for c in chunks)
    assert all(c["choices"] for c in chunks), "the usage-only chunk is hidden"
    assert "Sunny" in "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
    assert not [r for r in caplog.records if r.name == "qwenobs"]
    attributes = telemetry.span().attributes
    assert attributes["dashscope.stream.end"] == "exhausted"
    assert attributes["gen_ai.usage.output_tokens"] > 0
    assert attributes["gen_ai.response.finish_reasons"] == ("stop",)


class _Delta(pydantic.BaseModel):  # a caller's own chunk model: no usage, no tool_calls
    content: str | None = None


class _Choice(pydantic.BaseModel):
    index: int = 0
    delta: _Delta
    finish_reason: str | None = None


class _MyChunk(pydantic.BaseModel):
    id: str
    model: str
    choices: list[_Choice]


@pytest.mark.parametrize(
    "chunk",
    [
        _MyChunk(
            id="c1",
            model="qwen-plus",
            choices=[_Choice(delta=_Delta(content="hi"), finish_reason="stop")],
        ),
        # pydantic 1 models keep extra fields as plain attributes, with no __pydantic_extra__
        SimpleNamespace(
            id="c1",
            model="qwen-plus",
            usage=None,
            choices=[
                SimpleNamespace(
                    index=0,
                    finish_reason="stop",
                    delta=SimpleNamespace(content="hi", reasoning_content="hmm", tool_calls=None),
                )
            ],
        ),
    ],
    ids=["own-model", "pydantic-1-like"],
)
def test_chunks_that_are_not_the_sdks_are_read_with_defaults(chunk):
    state = streaming.StreamState()
    assert state.add(chunk) is False
    assert (state.response_id, state.model, state.saw_finish) == ("c1", "qwen-plus", {0: "stop"})
    assert state.first_content_at is not None
    assert state.reasoning_chars == len(getattr(chunk.choices[0].delta, "reasoning_content", ""))
