"""Agent loops: one invoke_agent span over the rounds, tool spans, loop guards."""

from __future__ import annotations

import json

import pytest
from opentelemetry.trace import StatusCode

import qwenobs
from qwenobs.fake.samples import WEATHER_TOOLS as TOOLS


@qwenobs.tool
def get_weather(city: str) -> dict:
    if city == "Atlantis":
        raise LookupError("no such city")
    return {"city": city, "temp_c": 21}


def loop(client, question: str, *, stream: bool = False, rounds: int = 6) -> str:
    messages = [{"role": "user", "content": question}]
    for _ in range(rounds):
        if stream:
            calls, text = {}, ""
            for chunk in client.chat.completions.create(
                model="qwen-plus", max_tokens=256, messages=messages, tools=TOOLS, stream=True
            ):
                delta = chunk.choices[0].delta
                text += delta.content or ""
                for call in delta.tool_calls or ():
                    slot = calls.setdefault(call.index, {"id": call.id, "name": "", "args": ""})
                    slot["name"] += call.function.name or ""
                    slot["args"] += call.function.arguments or ""
            tool_calls = [
                {
                    "id": c["id"],
                    "type": "function",
                    "function": {"name": c["name"], "arguments": c["args"]},
                }
                for c in calls.values()
            ]
            messages.append(
                {
                    "role": "assistant",
                    "content": text or None,
                    **({"tool_calls": tool_calls} if tool_calls else {}),
                }
            )
        else:
            message = (
                client.chat.completions.create(
                    model="qwen-plus", max_tokens=256, messages=messages, tools=TOOLS
                )
                .choices[0]
                .message
            )
            messages.append(message)
            tool_calls = [
                {
                    "id": c.id,
                    "function": {"name": c.function.name, "arguments": c.function.arguments},
                }
                for c in message.tool_calls or ()
            ]
            text = message.content or ""
        if not tool_calls:
            return text
        for call in tool_calls:
            result = get_weather(**json.loads(call["function"]["arguments"]))
            messages.append(
                {"role": "tool", "tool_call_id": call["id"], "content": json.dumps(result)}
            )
    raise AssertionError("no answer")


def weather_calls(*cities: str) -> list[dict]:
    return [{"name": "get_weather", "arguments": {"city": c}} for c in cities]


@pytest.mark.parametrize("stream", [False, True])
def test_the_agent_span_parents_chat_and_tool_spans(fake, telemetry, stream):
    fake.reply(tool_calls=weather_calls("Shanghai", "Hangzhou"))
    fake.reply("Rain in both.")
    with qwenobs.agent("weather") as run:
        assert loop(fake.client(), "umbrella?", stream=stream) == "Rain in both."
    spans = telemetry.spans()
    agent = spans[0]
    assert agent.name == "invoke_agent weather"
    assert [s.name for s in spans[1:]] == [
        "chat qwen-plus",
        "execute_tool get_weather",
        "execute_tool get_weather",
        "chat qwen-plus",
    ]
    assert all(s.parent.span_id == agent.context.span_id for s in spans[1:])
    a = agent.attributes
    assert a["gen_ai.operation.name"] == "invoke_agent" and a["gen_ai.agent.name"] == "weather"
    assert a["dashscope.agent.rounds"] == 2 and a["dashscope.agent.tool_calls"] == 2
    assert (
        a["dashscope.agent.repeated_tool_calls"] == 0
        and a["dashscope.agent.forced_answer"] is False
    )
    assert {s.attributes["gen_ai.conversation.id"] for s in spans} == {run.conversation_id}
    # Each tool span carries the id of the call it answers, matched in order.
    first_chat = spans[1]
    tool_ids = [
        s.attributes["gen_ai.tool.call.id"] for s in spans if s.name.startswith("execute_tool")
    ]
    assert len(set(tool_ids)) == 2 and all(i.startswith("call_") for i in tool_ids)
    assert first_chat.attributes["dashscope.response.tool_calls"] == 2
    assert spans[-1].attributes["dashscope.tool.rounds"] == 1


def test_without_guards_the_requests_are_unchanged(fake, telemetry):
    for _ in range(2):
        fake.reply(tool_calls=weather_calls("Shanghai"))
        fake.reply("ok")
    loop(fake.client(), "umbrella?")
    bare = [c.json for c in fake.calls]
    with qwenobs.agent("weather"):
        loop(fake.client(), "umbrella?")
    guarded = [c.json for c in fake.calls][2:]
    strip = lambda bodies: [{k: v for k, v in b.items() if k != "messages"} for b in bodies]  # noqa: E731
    assert strip(guarded) == strip(bare)


def test_repeated_calls_are_recorded_and_answer_after_forces_an_answer(fake, telemetry):
    for _ in range(3):
        fake.reply(tool_calls=weather_calls("Shanghai"))
    fake.reply("Fine, it rains.")
    with qwenobs.agent("weather", answer_after=3):
        assert loop(fake.client(), "umbrella?") == "Fine, it rains."
    assert fake.calls.last.json["tool_choice"] == "none"
    assert all("tool_choice" not in c.json for c in list(fake.calls)[:-1])
    spans = telemetry.spans()
    agent = spans[0]
    assert agent.attributes["dashscope.agent.repeated_tool_calls"] == 2
    assert agent.attributes["dashscope.agent.forced_answer"] is True
    repeats = [e for e in agent.events if e.name == "dashscope.agent.repeated_tool_call"]
    assert [e.attributes["call"] for e in repeats] == ['get_weather({"city": "Shanghai"})'] * 2
    last_chat = [s for s in spans if s.name.startswith("chat")][-1]
    assert last_chat.attributes["dashscope.agent.forced_answer"] is True


def test_max_rounds_is_the_number_of_model_calls_as_in_the_guides_loop(fake, telemetry):
    # The guide's loop: `for round in range(max_rounds): create(...)` makes at most max_rounds
    # paid calls. The agent allows as many and stops the next one before it is sent.
    fake.reply(tool_calls=weather_calls("Shanghai"), repeat=True)
    with pytest.raises(qwenobs.AgentLoopError) as caught, qwenobs.agent("weather", max_rounds=8):
        loop(fake.client(), "umbrella?", rounds=20)
    assert len(fake.calls) == 8  # the ninth call was never sent
    assert caught.value.rounds == 8 and caught.value.max_rounds == 8
    assert "made 8 model calls (max_rounds=8)" in str(caught.value)


def test_max_rounds_stops_the_loop_before_sending(fake, telemetry):
    fake.reply(tool_calls=weather_calls("Shanghai"), repeat=True)
    with pytest.raises(qwenobs.AgentLoopError) as caught, qwenobs.agent("weather", max_rounds=2):
        loop(fake.client(), "umbrella?", rounds=10)
    error = caught.value
    assert error.rounds == 2 and error.max_rounds == 2
    assert 'get_weather({"city": "Shanghai"}) x1' in str(error)
    assert len(fake.calls) == 2  # the third call was never sent
    agent = telemetry.spans()[0]
    assert (
        agent.status.status_code is StatusCode.ERROR
        and agent.attributes["error.type"] == "AgentLoopError"
    )


def test_on_repeat_reuse_answers_a_repeated_call_from_its_first_result(fake, telemetry):
    runs = []

    @qwenobs.tool("get_weather")
    def forecast(city: str) -> dict:
        runs.append(city)
        return {"city": city, "temp_c": 21}

    fake.reply(tool_calls=weather_calls("Shanghai"))
    fake.reply(tool_calls=weather_calls("Shanghai"))  # the same call again
    fake.reply(tool_calls=weather_calls("Hangzhou"))
    fake.reply("Done.")
    client = fake.client()
    with qwenobs.agent("weather", on_repeat="reuse"):
        messages = [{"role": "user", "content": "umbrella?"}]
        while True:
            message = (
                client.chat.completions.create(
                    model="qwen-plus", messages=messages, tools=TOOLS, max_tokens=64
                )
                .choices[0]
                .message
            )
            messages.append(message)
            if not message.tool_calls:
                break
            for call in message.tool_calls:
                result = forecast(**json.loads(call.function.arguments))
                messages.append(
                    {"role": "tool", "tool_call_id": call.id, "content": json.dumps(result)}
                )
    assert runs == ["Shanghai", "Hangzhou"]  # the repeat never ran the tool
    tools = [s for s in telemetry.spans() if s.name == "execute_tool get_weather"]
    assert [s.attributes.get("dashscope.tool.reused", False) for s in tools] == [False, True, False]
    agent = telemetry.spans()[0]
    assert agent.attributes["dashscope.agent.reused_tool_results"] == 1


def test_on_repeat_raise_stops_the_call_that_carries_the_repeat(fake, telemetry):
    fake.reply(tool_calls=weather_calls("Shanghai"), repeat=True)
    with (
        pytest.raises(qwenobs.AgentLoopError, match=r"repeat get_weather\(.*Shanghai") as stopped,
        qwenobs.agent("weather", on_repeat="raise"),
    ):
        loop(fake.client(), "umbrella?", rounds=10)
    assert len(fake.calls) == 2  # the third call would have carried the repeated call
    assert "max_rounds" not in str(stopped.value)  # not the fix for a repeat
    assert "on_repeat='reuse'" in str(stopped.value)


def test_on_repeat_is_checked():
    with pytest.raises(ValueError, match="on_repeat must be one of"):
        qwenobs.agent("x", on_repeat="skip")


async def test_async_agent_and_async_tools(fake, telemetry):
    @qwenobs.tool("lookup")
    async def lookup(city: str) -> str:
        return city.upper()

    fake.reply(tool_calls=[{"name": "lookup", "arguments": {"city": "ningbo"}}])
    fake.reply("NINGBO")
    client = fake.async_client()
    async with qwenobs.agent("async-agent"):
        message = (
            (
                await client.chat.completions.create(
                    model="qwen-plus",
                    max_tokens=9,
                    messages=[{"role": "user", "content": "x"}],
                    tools=TOOLS,
                )
            )
            .choices[0]
            .message
        )
        call = message.tool_calls[0]
        result = await lookup(**json.loads(call.function.arguments))
        await client.chat.completions.create(
            model="qwen-plus",
            max_tokens=9,
            tools=TOOLS,
            messages=[
                {"role": "user", "content": "x"},
                message,
                {"role": "tool", "tool_call_id": call.id, "content": result},
            ],
        )
    spans = telemetry.spans()
    assert [s.name for s in spans] == [
        "invoke_agent async-agent",
        "chat qwen-plus",
        "execute_tool lookup",
        "chat qwen-plus",
    ]
    assert spans[2].attributes["gen_ai.tool.call.id"] == call.id


def test_tool_errors_and_the_context_manager_form(telemetry):
    with pytest.raises(LookupError):
        get_weather("Atlantis")
    with qwenobs.tool("search", call_id="call_42") as span:
        span.set_attribute("app.hits", 3)
    failed, search = telemetry.spans()
    assert (
        failed.status.status_code is StatusCode.ERROR
        and failed.attributes["error.type"] == "LookupError"
    )
    assert (
        search.attributes["gen_ai.tool.call.id"] == "call_42" and search.attributes["app.hits"] == 3
    )
    assert get_weather.__name__ == "get_weather"  # the decorator keeps the function's identity


def test_guard_arguments_are_checked():
    with pytest.raises(ValueError, match="max_rounds"):
        qwenobs.agent("x", max_rounds=0)
