"""An agent's growing conversation through the real SDK: each call is judged like a validation
from scratch, also after the guide's truncation (keep the system prompt and the last messages,
summarise the middle into a system message), which can cut a tool round in two."""

from __future__ import annotations

import pytest

import qwenobs
from qwenobs import semconv as sc

SYSTEM = {"role": "system", "content": "You are a travel agent. Use the tools."}
WEATHER = [{"type": "function", "function": {"name": "get_weather", "parameters": {}}}]


def tool_round(n: int) -> list[dict]:
    call_id = f"call_{n}"
    return [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": call_id,
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": f'{{"day": {n}}}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": call_id, "content": f"day {n}: sunny"},
    ]


def truncate(messages: list[dict], keep: int) -> None:
    """The guide's pattern, in place: the system prompt, a summary, the last ``keep`` messages."""
    summary = {"role": "system", "content": "Earlier in this conversation: weather checks."}
    messages[1:-keep] = [summary]


async def send(fake, messages, is_async):
    kwargs = {"model": "qwen-plus", "messages": messages, "max_tokens": 64, "tools": WEATHER}
    if is_async:
        return await fake.async_client().chat.completions.create(**kwargs)
    return fake.client().chat.completions.create(**kwargs)


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
async def test_a_truncated_conversation_is_judged_afresh(telemetry, fake, is_async):
    fake.reply("ok", repeat=True)
    messages = [SYSTEM, {"role": "user", "content": "Plan a week in Hangzhou."}]
    for n in range(12):
        messages += tool_round(n)
        await send(fake, messages, is_async)
    assert [s.attributes[sc.TOOL_ROUNDS] for s in telemetry.chat()][-1] == 12

    truncate(messages, keep=5)  # starts with a tool result: its assistant message was cut
    assert [f.rule for f in qwenobs.validate(model="qwen-plus", messages=messages)] == [
        "orphan-tool-result",
        "max-tokens-unset",
    ]
    with pytest.raises(qwenobs.QwenValidationError) as blocked:
        await send(fake, messages, is_async)
    assert "messages[2] answers tool_call_id 'call_9'" in str(blocked.value)

    del messages[2]  # cut at a round's boundary instead
    messages += tool_round(12)
    await send(fake, messages, is_async)
    assert telemetry.chat()[-1].attributes[sc.TOOL_ROUNDS] == 3


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
async def test_an_earlier_message_edited_in_place_is_seen(telemetry, fake, is_async):
    fake.reply("ok", repeat=True)
    messages = [SYSTEM, {"role": "user", "content": "Plan a week."}, *tool_round(0)]
    messages += tool_round(1)
    await send(fake, messages, is_async)
    messages[3]["tool_call_id"] = "call_unknown"  # in place, on a dict sent before
    messages.append({"role": "user", "content": "And tomorrow?"})
    with pytest.raises(qwenobs.QwenValidationError, match="call_unknown"):
        await send(fake, messages, is_async)
