"""Secrets never reach a span, a metric, a log line or an error message; content stays opt-in."""

from __future__ import annotations

import json
import logging

import openai
import pytest
from opentelemetry.sdk.trace import SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import qwenobs
from qwenobs.fake import FakeDashScope

CANARY = "sk-canary-5e1f0c9a7b3d4e2f"  # a recognisable fake key
BASE_URL = "https://dashscope.aliyuncs.com/compatible-mode/v1"
USER = {"role": "user", "content": "Weather in Shanghai?"}


def everything_recorded(telemetry) -> str:
    dump = []
    for span in telemetry.spans():
        dump.append(span.to_json())
    data = telemetry.reader.get_metrics_data()
    dump.append(data.to_json() if data else "")
    return "\n".join(dump)


def test_the_api_key_appears_nowhere(telemetry, caplog):
    telemetry.instrument(capture_content=True, capture_reasoning=True)
    fake = FakeDashScope()
    fake.reply("Sunny.", reasoning="Checked the sky.")
    fake.reply(tool_calls=[{"name": "get_weather", "arguments": {"city": "Shanghai"}}])
    fake.fail(429)
    fake.fail(400, code="data_inspection_failed", after_chunks=1, content="Partial")
    errors = []
    with caplog.at_level(logging.DEBUG), fake.intercept():
        client = openai.OpenAI(api_key=CANARY, base_url=BASE_URL, max_retries=0)
        list(
            client.chat.completions.create(
                model="qwen-plus",
                max_tokens=9,
                messages=[USER],
                stream=True,
                extra_body={"enable_thinking": True},
            )
        )
        client.chat.completions.create(model="qwen-plus", max_tokens=9, messages=[USER])
        for attempt in (
            lambda: client.chat.completions.create(
                model="qwen-plus", max_tokens=9, messages=[USER]
            ),
            lambda: list(
                client.chat.completions.create(
                    model="qwen-plus", max_tokens=9, messages=[USER], stream=True
                )
            ),
            lambda: client.chat.completions.create(
                model="qwen-plus",
                max_tokens=9,
                messages=[USER, {"role": "tool", "tool_call_id": "x", "content": "1"}],
            ),
        ):
            with pytest.raises(openai.APIError) as caught:
                attempt()
            errors.append(caught.value)

    with caplog.at_level(logging.DEBUG):
        # A wrong key: the fake answers 401 the way DashScope does.
        strict = FakeDashScope(api_key="sk-the-right-one")
        with strict.intercept(), pytest.raises(openai.AuthenticationError) as denied:
            openai.OpenAI(api_key=CANARY, base_url=BASE_URL, max_retries=0).chat.completions.create(
                model="qwen-plus", max_tokens=9, messages=[USER]
            )
        errors.append(denied.value)

    assert [type(e).__name__ for e in errors] == [
        "RateLimitError",
        "APIError",
        "QwenValidationError",
        "AuthenticationError",
    ]
    recorded = everything_recorded(telemetry)
    assert "Sunny." in recorded and "Checked the sky." in recorded  # content capture was on
    assert CANARY not in recorded
    assert all(
        CANARY not in str(e) and CANARY not in json.dumps(e.body, default=str) for e in errors
    )
    assert CANARY not in "\n".join(r.getMessage() for r in caplog.records)
    assert (
        CANARY in fake.calls[0].headers["authorization"]
    )  # the key did travel, to the server only


def test_content_is_off_by_default(telemetry):
    fake = FakeDashScope()
    fake.reply("Sunny.", reasoning="Checked the sky.")
    list(
        fake.client().chat.completions.create(
            model="qwen-plus", max_tokens=9, messages=[USER], stream=True
        )
    )
    recorded = everything_recorded(telemetry)
    assert (
        "Shanghai" not in recorded
        and "Sunny." not in recorded
        and "Checked the sky" not in recorded
    )


def test_captured_content_honours_the_attribute_length_limit():
    exporter = InMemorySpanExporter()
    provider = TracerProvider(span_limits=SpanLimits(max_attribute_length=64))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    qwenobs.uninstrument()
    qwenobs.instrument(tracer_provider=provider, capture_content=True)
    try:
        fake = FakeDashScope()
        fake.reply("A long answer " * 50)
        fake.client().chat.completions.create(
            model="qwen-plus",
            max_tokens=999,
            messages=[{"role": "user", "content": "A long question " * 50}],
        )
    finally:
        qwenobs.uninstrument()
    (span,) = exporter.get_finished_spans()
    for key in ("gen_ai.input.messages", "gen_ai.output.messages"):
        assert 0 < len(span.attributes[key]) <= 64


def test_the_loopback_server_listens_on_loopback_only():
    with FakeDashScope().serve() as server:
        assert server.base_url.startswith("http://127.0.0.1:")
        assert server.address[0] == "127.0.0.1"
