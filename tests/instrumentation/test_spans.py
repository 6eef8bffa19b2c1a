"""Every DashScope chat call becomes one complete span, sync and async, streaming and not."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import openai
import pytest
from opentelemetry.trace import SpanKind, StatusCode

from qwenobs.fake.samples import TRAVEL_SYSTEM_PROMPT as LONG_SYSTEM
from qwenobs.fake.samples import WEATHER_TOOLS as TOOLS

USER = {"role": "user", "content": "Should I bring an umbrella to Shanghai?"}


class Api:
    """The same calls through OpenAI or AsyncOpenAI, so each test runs both ways."""

    def __init__(self, fake: Any, mode: str) -> None:
        self.is_async = mode == "async"
        self.client = fake.async_client() if self.is_async else fake.client()

    def create(self, **kwargs: Any) -> Any:
        kwargs.setdefault("model", "qwen-plus")
        kwargs.setdefault("max_tokens", 256)
        result = self.client.chat.completions.create(**kwargs)
        return asyncio.run(result) if self.is_async else result

    def stream(self, **kwargs: Any) -> list[Any]:
        kwargs.setdefault("model", "qwen-plus")
        kwargs.setdefault("max_tokens", 256)
        if not self.is_async:
            return list(self.client.chat.completions.create(stream=True, **kwargs))

        async def collect() -> list[Any]:
            stream = await self.client.chat.completions.create(stream=True, **kwargs)
            return [chunk async for chunk in stream]

        return asyncio.run(collect())


@pytest.fixture(params=["sync", "async"])
def api(request: pytest.FixtureRequest, fake: Any, telemetry: Any) -> Api:
    return Api(fake, request.param)


def test_a_call_becomes_a_client_span_with_request_response_and_usage(api, fake, telemetry):
    fake.reply("Yes, rain is expected.")
    completion = api.create(messages=[USER], temperature=0.3, seed=7, stop=["END"])

    span = telemetry.span()
    assert span.name == "chat qwen-plus" and span.kind is SpanKind.CLIENT
    a = span.attributes
    assert a["gen_ai.operation.name"] == "chat" and a["gen_ai.provider.name"] == "dashscope"
    assert a["gen_ai.request.model"] == "qwen-plus"
    assert a["gen_ai.request.max_tokens"] == 256 and a["gen_ai.request.temperature"] == 0.3
    assert a["gen_ai.request.seed"] == 7 and a["gen_ai.request.stop_sequences"] == ("END",)
    assert a["gen_ai.request.stream"] is False
    assert a["server.address"].endswith(".aliyuncs.com") and a["server.port"] == 443
    assert (
        a["gen_ai.response.id"] == completion.id and a["gen_ai.response.model"] == completion.model
    )
    assert a["gen_ai.response.finish_reasons"] == ("stop",)
    assert a["gen_ai.usage.input_tokens"] == completion.usage.prompt_tokens
    assert a["gen_ai.usage.output_tokens"] == completion.usage.completion_tokens
    assert a["dashscope.request_id"] == completion._request_id
    assert a["dashscope.tool.rounds"] == 0 and a["dashscope.response.tool_calls"] == 0
    assert span.status.status_code is StatusCode.UNSET
    assert (
        "gen_ai.input.messages" not in a and "gen_ai.output.messages" not in a
    )  # content is opt-in


def test_a_thinking_stream_records_timing_reasoning_and_hidden_usage(api, fake, telemetry):
    fake.reply("Bring one.", reasoning="Rain in Shanghai this week, so an umbrella helps.")
    chunks = api.stream(
        messages=[USER], extra_body={"enable_thinking": True, "thinking_budget": 500}
    )

    # The user asked for no usage, so they see no usage-only chunk; the span still has usage.
    assert all(chunk.choices for chunk in chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "Bring one."
    assert fake.calls.last.json["stream_options"] == {"include_usage": True}
    a = telemetry.span().attributes
    assert a["gen_ai.request.stream"] is True
    assert (
        a["dashscope.request.enable_thinking"] is True
        and a["dashscope.request.thinking_budget"] == 500
    )
    assert a["dashscope.response.reasoning.chars"] == len(
        "Rain in Shanghai this week, so an umbrella helps."
    )
    assert a["gen_ai.usage.reasoning.output_tokens"] > 0
    assert a["gen_ai.usage.output_tokens"] > a["gen_ai.usage.reasoning.output_tokens"]
    assert (
        0
        < a["gen_ai.response.time_to_first_chunk"]
        <= a["dashscope.response.time_to_first_content"]
    )
    assert a["gen_ai.response.finish_reasons"] == ("stop",)
    assert a["dashscope.stream.end"] == "exhausted"
    assert a["dashscope.request_id"]
    (ttfc,) = telemetry.points("gen_ai.client.operation.time_to_first_chunk")
    assert ttfc.count == 1


def test_a_usage_chunk_the_user_asked_for_is_shown(api, fake, telemetry):
    fake.reply("ok")
    chunks = api.stream(messages=[USER], stream_options={"include_usage": True})
    assert chunks[-1].choices == [] and chunks[-1].usage.prompt_tokens > 0
    assert (
        telemetry.span().attributes["gen_ai.usage.input_tokens"] == chunks[-1].usage.prompt_tokens
    )


def test_without_stream_usage_nothing_is_added_to_the_request(fake, telemetry):
    telemetry.instrument(stream_usage=False)
    fake.reply("ok")
    list(
        fake.client().chat.completions.create(
            model="qwen-plus", max_tokens=9, messages=[USER], stream=True
        )
    )
    assert "stream_options" not in fake.calls.last.json
    assert "gen_ai.usage.input_tokens" not in telemetry.span().attributes


@pytest.mark.parametrize("stream", [False, True])
def test_parallel_tool_calls_and_completed_rounds(api, fake, telemetry, stream):
    fake.reply(
        tool_calls=[
            {"name": "get_weather", "arguments": {"city": "Shanghai"}},
            {"name": "get_weather", "arguments": {"city": "Hangzhou"}},
        ]
    )
    history = [
        USER,
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_a",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Beijing"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_a", "content": '{"temp_c": 3}'},
    ]
    if stream:
        api.stream(messages=history, tools=TOOLS, parallel_tool_calls=True)
    else:
        api.create(messages=history, tools=TOOLS, parallel_tool_calls=True)
    a = telemetry.span().attributes
    assert a["dashscope.tool.rounds"] == 1
    assert a["dashscope.response.tool_calls"] == 2
    assert a["gen_ai.response.finish_reasons"] == ("tool_calls",)


def test_the_prefix_cache_shows_up_as_cache_read_tokens(api, fake, telemetry):
    fake.reply("one")
    fake.reply("two")
    system = {"role": "system", "content": LONG_SYSTEM}
    api.create(messages=[system, USER])
    api.create(messages=[system, {"role": "user", "content": "And Hangzhou?"}])
    first, second = telemetry.spans()
    assert first.attributes.get("gen_ai.usage.cache_read.input_tokens", 0) == 0
    assert second.attributes["gen_ai.usage.cache_read.input_tokens"] >= 256
    (cached,) = telemetry.points("dashscope.client.cache_read.input_tokens")
    assert cached.value == second.attributes["gen_ai.usage.cache_read.input_tokens"]


@pytest.mark.parametrize(
    ("status", "error"), [(400, openai.BadRequestError), (429, openai.RateLimitError)]
)
def test_http_errors_reach_the_user_unchanged_and_mark_the_span(
    api, fake, telemetry, status, error
):
    fake.fail(status)
    with pytest.raises(error) as caught:
        api.create(messages=[USER])
    span = telemetry.span()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == error.__name__
    assert span.attributes["dashscope.request_id"] == caught.value.request_id
    assert span.attributes["http.response.status_code"] == status
    assert span.attributes["dashscope.error.code"] == caught.value.code  # e.g. limit_requests
    assert [e.name for e in span.events] == ["exception"]
    (duration,) = telemetry.points("gen_ai.client.operation.duration")
    assert duration.attributes["error.type"] == error.__name__


def test_a_failure_mid_stream_ends_the_span_as_an_error(api, fake, telemetry):
    fake.fail(
        400, code="data_inspection_failed", after_chunks=2, content="Partial answer that goes on"
    )
    with pytest.raises(openai.APIError, match="inappropriate"):
        api.stream(messages=[USER])
    span = telemetry.span()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["dashscope.stream.end"] == "error"


def test_metrics_carry_tokens_duration_and_reasoning(api, fake, telemetry):
    fake.reply("42", reasoning="Six times seven.")
    api.stream(messages=[USER], extra_body={"enable_thinking": True})
    tokens = {
        p.attributes["gen_ai.token.type"]: p for p in telemetry.points("gen_ai.client.token.usage")
    }
    a = telemetry.span().attributes
    assert tokens["input"].sum == a["gen_ai.usage.input_tokens"]
    assert tokens["output"].sum == a["gen_ai.usage.output_tokens"]
    (reasoning,) = telemetry.points("dashscope.client.reasoning.output_tokens")
    assert reasoning.value == a["gen_ai.usage.reasoning.output_tokens"]
    (duration,) = telemetry.points("gen_ai.client.operation.duration")
    assert (
        duration.attributes["gen_ai.request.model"] == "qwen-plus"
        and "error.type" not in duration.attributes
    )
    assert list(duration.explicit_bounds)[:3] == [0.01, 0.02, 0.04]


def test_content_capture_is_opt_in_and_reasoning_has_its_own_switch(fake, telemetry):
    telemetry.instrument(capture_content=True)
    fake.reply("Bring one.", reasoning="secret chain of thought")
    client = fake.client()
    list(
        client.chat.completions.create(
            model="qwen-plus",
            max_tokens=99,
            stream=True,
            tools=TOOLS,
            messages=[{"role": "system", "content": "Be brief."}, USER],
            extra_body={"enable_thinking": True},
        )
    )
    a = telemetry.span().attributes
    assert '"Be brief."' in a["gen_ai.system_instructions"]
    assert (
        "umbrella" in a["gen_ai.input.messages"] and "get_weather" in a["gen_ai.tool.definitions"]
    )
    assert "Bring one." in a["gen_ai.output.messages"]
    assert "secret chain" not in a["gen_ai.output.messages"]
    # The other parameters as the application sent them (extra_body merged, as on the wire):
    # what a replay of this trace checks the application's requests against.
    parameters = json.loads(a["dashscope.request.parameters"])
    assert parameters["enable_thinking"] is True and parameters["max_tokens"] == 99
    assert parameters["stream"] is True and "stream_options" not in parameters

    telemetry.exporter.clear()
    telemetry.instrument(capture_content=True, capture_reasoning=True)
    fake.reply("Bring one.", reasoning="secret chain of thought")
    list(
        fake.client().chat.completions.create(
            model="qwen-plus",
            max_tokens=99,
            stream=True,
            messages=[USER],
            extra_body={"enable_thinking": True},
        )
    )
    assert "secret chain" in telemetry.span().attributes["gen_ai.output.messages"]
