"""A downstream project's suite: an agent module with its own OpenAI client and a tool loop, and a
test module that imports nothing from qwenobs, only the fixtures the plugin provides."""

from __future__ import annotations

AGENT = """
import json
import os

import openai

TOOLS = [{
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                       "required": ["city"]},
    },
}]


def get_weather(city):
    return {"city": city, "conditions": "rain", "celsius": 18}


def run(question, max_rounds=4):
    client = openai.OpenAI(
        api_key=os.environ.get("DASHSCOPE_API_KEY", "sk-agent"),
        base_url=os.environ.get(
            "DASHSCOPE_BASE_URL", "https://dashscope-intl.aliyuncs.com/compatible-mode/v1"
        ),
        max_retries=0,
    )
    messages = [{"role": "system", "content": "You are a weather assistant."},
                {"role": "user", "content": question}]
    for _ in range(max_rounds):
        reply = client.chat.completions.create(
            model="qwen-plus", messages=messages, tools=TOOLS, max_tokens=256
        ).choices[0].message
        if not reply.tool_calls:
            return reply.content
        messages.append(reply)
        for call in reply.tool_calls:
            result = get_weather(**json.loads(call.function.arguments))
            messages.append({"role": "tool", "tool_call_id": call.id,
                             "content": json.dumps(result)})
    raise RuntimeError("no answer after max_rounds")
"""

TESTS = """
import json

import openai
import pytest

import agent


def test_agent_answers_after_one_tool_round(qwen_fake, qwen_spans):
    qwen_fake.reply(tool_calls=[{"name": "get_weather", "arguments": {"city": "Hangzhou"}}])
    qwen_fake.reply("Bring an umbrella: rain, 18°C.")

    assert agent.run("Umbrella in Hangzhou?") == "Bring an umbrella: rain, 18°C."

    sent = qwen_fake.calls.last.json["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "tool"]
    assert json.loads(sent[-1]["content"])["conditions"] == "rain"

    first, second = qwen_spans.chat(count=2)
    assert first.attributes["dashscope.response.tool_calls"] == 1
    assert second.attributes["dashscope.tool.rounds"] == 1
    assert qwen_spans.findings() == []


def test_agent_surfaces_rate_limits(qwen_fake):
    qwen_fake.fail(429)
    with pytest.raises(openai.RateLimitError):
        agent.run("Umbrella in Hangzhou?")


def test_agent_gives_up_when_the_model_keeps_calling_tools(qwen_fake):
    qwen_fake.reply(tool_calls=[{"name": "get_weather", "arguments": {"city": "X"}}], repeat=True)
    with pytest.raises(RuntimeError, match="no answer"):
        agent.run("Loop forever?", max_rounds=3)
    assert len(qwen_fake.calls) == 3


def test_agent_over_real_http(qwen_server, monkeypatch):
    monkeypatch.setenv("DASHSCOPE_BASE_URL", qwen_server.base_url)
    qwen_server.reply("Sunny.")
    assert agent.run("Weather?") == "Sunny."
"""


def test_downstream_suite_needs_no_qwenobs_import(suite):
    suite.pytester.makepyfile(agent=AGENT)
    path = suite.test(TESTS, name="test_agent")
    assert "qwenobs" not in path.read_text()
    result = suite.run("test_agent.py", "-v")
    result.assert_outcomes(passed=4)
