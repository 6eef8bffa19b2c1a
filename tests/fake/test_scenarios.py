"""The scenario table: each scenario runs through every front end, sync and async, and the SDK
must observe exactly the same thing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from qwenobs import count_tokens, estimate_prompt_tokens
from qwenobs.fake import FakeDashScope
from qwenobs.fake.samples import TRAVEL_SYSTEM_PROMPT as SYSTEM

from .observe import observe

USER = [{"role": "user", "content": "What is the weather in Hangzhou and the time in Beijing?"}]
ORPHAN_TEXT = (
    '<400> InternalError.Algo.InvalidParameter: messages with role "tool" must be a response '
    'to a preceeding message with "tool_calls".'
)
CUT_TEXT = "Partial answer that moderation stops."


@dataclass
class Scenario:
    name: str
    script: Callable[[FakeDashScope], Any]
    request: dict[str, Any]
    expected: dict[str, Any]
    error: dict[str, Any] | None = None


def _request(**extra: Any) -> dict[str, Any]:
    return {"model": "qwen-plus", "messages": USER, "max_tokens": 500, **extra}


STREAM = {"stream": True, "stream_options": {"include_usage": True}}
WEATHER = [
    {"name": "get_weather", "arguments": {"city": "Hangzhou", "unit": "celsius"}},
    {"name": "get_time", "arguments": '{"timezone": "Asia/Shanghai"}'},
]
CALLS = [
    ("get_weather", {"city": "Hangzhou", "unit": "celsius"}),
    ("get_time", {"timezone": "Asia/Shanghai"}),
]

SCENARIOS = [
    Scenario(
        "plain",
        lambda f: f.reply("Sunny, 24°C in Hangzhou; it is 15:00 in Beijing."),
        _request(),
        {
            "kind": "completion",
            "content": "Sunny, 24°C in Hangzhou; it is 15:00 in Beijing.",
            "finish_reason": "stop",
            "tool_calls": [],
            "id_matches_request": True,
        },
    ),
    Scenario(
        "plain stream",
        lambda f: f.reply("Sunny, 24°C in Hangzhou."),
        _request(**STREAM),
        {
            "kind": "stream",
            "content": "Sunny, 24°C in Hangzhou.",
            "order": ["content"],
            "first_role": "assistant",
            "finish_reason": "stop",
        },
    ),
    Scenario(
        "thinking stream",
        lambda f: f.reply("It is sunny.", reasoning="The user asks about weather; check it."),
        _request(**STREAM, extra_body={"enable_thinking": True}),
        {
            "kind": "stream",
            "reasoning": "The user asks about weather; check it.",
            "content": "It is sunny.",
            "order": ["reasoning", "content"],
            "first_role": "assistant",
            "finish_reason": "stop",
        },
    ),
    Scenario(
        "parallel tool calls",
        lambda f: f.reply(tool_calls=WEATHER),
        _request(parallel_tool_calls=True),
        {"kind": "completion", "tool_calls": CALLS, "finish_reason": "tool_calls", "content": ""},
    ),
    Scenario(
        "parallel tool calls stream",
        lambda f: f.reply(tool_calls=WEATHER),
        _request(**STREAM, parallel_tool_calls=True),
        {"kind": "stream", "tool_calls": CALLS, "finish_reason": "tool_calls"},
    ),
    Scenario(
        "401",
        lambda f: f.fail(401),
        _request(),
        {"kind": "error"},
        {"type": "AuthenticationError", "status": 401, "code": "invalid_api_key"},
    ),
    Scenario(
        "429 limit_requests",
        lambda f: f.fail(429),
        _request(**STREAM),
        {"kind": "error"},
        {"type": "RateLimitError", "status": 429, "code": "limit_requests"},
    ),
    Scenario(
        "429 insufficient_quota",
        lambda f: f.fail(429, code="insufficient_quota"),
        _request(),
        {"kind": "error"},
        {"type": "RateLimitError", "status": 429, "code": "insufficient_quota"},
    ),
    Scenario(
        "500",
        lambda f: f.fail(500),
        _request(),
        {"kind": "error"},
        {"type": "InternalServerError", "status": 500, "code": "internal_error"},
    ),
    Scenario(
        "data_inspection_failed",
        lambda f: f.fail(400, code="data_inspection_failed"),
        _request(),
        {"kind": "error"},
        {
            "type": "BadRequestError",
            "status": 400,
            "code": "data_inspection_failed",
            "message": "Input data may contain inappropriate content.",
        },
    ),
    Scenario(
        # On a stream the 400 body is SSE-framed, so the SDK cannot parse a code out of it.
        "data_inspection_failed stream",
        lambda f: f.fail(400, code="data_inspection_failed"),
        _request(**STREAM),
        {"kind": "error"},
        {"type": "BadRequestError", "status": 400, "code": None},
    ),
    Scenario(
        "mid-stream failure",
        lambda f: f.fail(400, code="data_inspection_failed", after_chunks=3, content=CUT_TEXT),
        _request(**STREAM),
        {"kind": "stream", "content": CUT_TEXT[:16], "chunks": 3, "finish_reason": None},
        {
            "type": "APIError",
            "status": None,
            "code": "data_inspection_failed",
            "message": "Output data may contain inappropriate content.",
        },
    ),
    Scenario(
        "orphan tool result (server-side rule)",
        lambda f: f.reply("never sent"),
        _request(messages=[*USER, {"role": "tool", "tool_call_id": "call_1", "content": "24"}]),
        {"kind": "error"},
        {
            "type": "BadRequestError",
            "status": 400,
            "code": "invalid_parameter_error",
            "message": ORPHAN_TEXT,
        },
    ),
    Scenario(
        "thinking without stream (server-side rule)",
        lambda f: f.reply("never sent"),
        _request(extra_body={"enable_thinking": True}),
        {"kind": "error"},
        {
            "type": "BadRequestError",
            "status": 400,
            "code": "invalid_parameter_error",
            "message": "parameter.enable_thinking must be set to false for non-streaming calls",
        },
    ),
    Scenario(
        "omni without stream (server-side rule)",
        lambda f: f.reply("never sent"),
        _request(model="qwen3-omni-flash"),
        {"kind": "error"},
        {
            "type": "BadRequestError",
            "status": 400,
            "code": "invalid_parameter_error",
            "message": "This model only support stream mode, please enable the stream parameter "
            "to access the model. ",
        },
    ),
    Scenario(
        "omni with stream",
        lambda f: f.reply("A cat on a sofa."),
        _request(model="qwen3-omni-flash", **STREAM),
        {"kind": "stream", "content": "A cat on a sofa.", "finish_reason": "stop"},
    ),
    Scenario(
        "dry script",
        lambda f: None,
        _request(),
        {"kind": "error"},
        {"type": "InternalServerError", "status": 500, "code": "fake_script_empty"},
    ),
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
async def test_scenario(harness, scenario: Scenario) -> None:
    scenario.script(harness.fake)
    seen = await observe(harness, **scenario.request)

    assert {key: seen.get(key) for key in scenario.expected} == scenario.expected
    if scenario.error is None:
        assert "error" not in seen
    else:
        error = seen["error"]
        expected = dict(scenario.error)
        message = expected.pop("message", None)
        assert {key: error[key] for key in expected} == expected
        assert error["has_request_id"] or error["status"] is None
        if message is not None:
            assert error["body"]["message"] == message
    assert harness.fake.calls.last.json["model"] == scenario.request["model"]


@pytest.mark.parametrize("stream", [False, True], ids=["completion", "stream"])
async def test_usage_counts_with_the_qwen_tokenizer(harness, stream: bool) -> None:
    harness.fake.reply("Sunny and warm.", reasoning="Weather question." if stream else None)
    request = _request(**STREAM) if stream else _request()
    seen = await observe(harness, **request)

    usage = seen["usage"]
    reasoning = count_tokens("Weather question.") if stream else 0
    assert usage["prompt_tokens"] == estimate_prompt_tokens(USER)
    assert usage["completion_tokens"] == count_tokens("Sunny and warm.") + reasoning
    assert usage["completion_tokens_details"]["reasoning_tokens"] == reasoning
    assert usage["prompt_tokens_details"] == {"cached_tokens": 0}


async def test_stream_has_usage_only_when_asked(harness) -> None:
    harness.fake.reply("Sunny.")
    seen = await observe(harness, **_request(stream=True))
    assert seen["usage"] is None
    assert seen["content"] == "Sunny."


async def test_stream_chunks_share_one_completion_id(harness) -> None:
    harness.fake.reply("Sunny and warm in Hangzhou today.", tool_calls=WEATHER[:1])
    seen = await observe(harness, **_request(**STREAM))
    request_id = harness.fake.calls.last.request_id
    assert seen["ids"] == {f"chatcmpl-{request_id}"}
    assert seen["order"] == ["content"]
    assert seen["tool_call_ids"][0].startswith("call_")


async def test_prefix_cache_reports_cached_tokens(harness) -> None:
    harness.fake.reply("ok", repeat=True)
    stable = [{"role": "system", "content": SYSTEM}]
    first = await observe(harness, **_request(messages=[*stable, *USER]))
    second = await observe(
        harness, **_request(messages=[*stable, {"role": "user", "content": "And Ningbo?"}])
    )

    assert first["usage"]["prompt_tokens_details"]["cached_tokens"] == 0
    cached = second["usage"]["prompt_tokens_details"]["cached_tokens"]
    assert count_tokens(SYSTEM) <= cached < second["usage"]["prompt_tokens"]


async def test_prefix_cache_misses_when_the_system_prompt_changes(harness) -> None:
    harness.fake.reply("ok", repeat=True)
    for minute in range(3):
        system = f"Now is 2025-06-01 10:0{minute}. {SYSTEM}"
        seen = await observe(
            harness, **_request(messages=[{"role": "system", "content": system}, *USER])
        )
        assert seen["usage"]["prompt_tokens_details"]["cached_tokens"] == 0


async def test_prefix_cache_is_per_model(harness) -> None:
    harness.fake.reply("ok", repeat=True)
    messages = [{"role": "system", "content": SYSTEM}, *USER]
    await observe(harness, **_request(messages=messages))
    other = await observe(harness, **_request(model="qwen-max", messages=messages))
    assert other["usage"]["prompt_tokens_details"]["cached_tokens"] == 0


async def test_routing_by_model_and_last_message(harness) -> None:
    fake = harness.fake
    fake.route(model="qwen-max").reply("from max")
    fake.route(last_message="Ningbo").reply("about Ningbo")
    fake.reply("default")

    ningbo = await observe(
        harness, **_request(messages=[{"role": "user", "content": "And Ningbo?"}])
    )
    plain = await observe(harness, **_request())
    max_ = await observe(harness, **_request(model="qwen-max"))

    assert (ningbo["content"], plain["content"], max_["content"]) == (
        "about Ningbo",
        "default",
        "from max",
    )


async def test_timing_is_observable_by_the_client(harness) -> None:
    harness.fake.reply("abcdefgh" * 4, first_chunk_delay=0.15, chunk_delay=0.04, chunk_size=8)
    seen = await observe(harness, **_request(stream=True))

    arrivals = seen["arrivals"]  # seconds since the request was sent
    assert len(arrivals) == 6  # role, 4 pieces, finish
    # Delays only ever add up, whatever the machine's load: each chunk arrives no earlier than
    # the first delay plus every delay before it (a late read can shorten one gap, not the sum).
    for i, arrival in enumerate(arrivals):
        assert arrival >= 0.15 + 0.04 * i - 0.005
    assert seen["elapsed"] < 3.0


async def test_non_stream_waits_for_the_whole_generation(harness) -> None:
    harness.fake.reply("abcdefgh" * 2, first_chunk_delay=0.1, chunk_delay=0.03, chunk_size=8)
    seen = await observe(harness, **_request())
    # first chunk, then role + 2 pieces + finish - 1 gaps: 0.1 + 3 * 0.03
    assert 0.18 <= seen["elapsed"] < 1.0
