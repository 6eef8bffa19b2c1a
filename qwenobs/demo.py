"""``qwenobs demo``: an instrumented Qwen app against the embedded fake DashScope, spans printed.

No API key and no network: the fake answers as DashScope would (usage, prefix cache, thinking).
"""

from __future__ import annotations

import json
from typing import Any

import openai

import qwenobs
from qwenobs.fake import FakeDashScope
from qwenobs.fake.samples import TRAVEL_SYSTEM_PROMPT as SYSTEM
from qwenobs.fake.samples import WEATHER_TOOLS as TOOLS

BASE_URL = "https://dashscope.aliyuncs.com/compatible-mode/v1"


@qwenobs.tool
def get_weather(city: str) -> dict:
    return {
        "city": city,
        "temp_c": {"Shanghai": 22, "Hangzhou": 19}.get(city, 20),
        "conditions": "rain",
    }


def script(fake: FakeDashScope) -> None:
    fake.reply(
        tool_calls=[
            {"name": "get_weather", "arguments": {"city": "Shanghai"}},
            {"name": "get_weather", "arguments": {"city": "Hangzhou"}},
        ]
    )
    fake.reply("Rain in both cities (22°C in Shanghai, 19°C in Hangzhou): bring an umbrella.")
    fake.reply(
        "After 10 days the clock is 50 minutes off.",
        reasoning="It loses 5 minutes a day. Over 10 days that is 5 x 10 = 50 minutes.",
    )
    fake.reply('{"sentiment": "positive"}')


def agent(client: openai.OpenAI, question: str) -> str:
    messages: list[Any] = [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": question},
    ]
    with qwenobs.agent("travel-weather", max_rounds=6, answer_after=3):
        while True:
            response = client.chat.completions.create(
                model="qwen-plus",
                messages=messages,
                tools=TOOLS,
                parallel_tool_calls=True,
                max_tokens=512,
            )
            message = response.choices[0].message
            messages.append(message)  # the assistant tool_calls message comes before its results
            if not message.tool_calls:
                return message.content or ""
            for call in message.tool_calls:
                result = get_weather(**json.loads(call.function.arguments))
                messages.append(
                    {"role": "tool", "tool_call_id": call.id, "content": json.dumps(result)}
                )


def thinking(client: openai.OpenAI) -> tuple[str, int]:
    stream = client.chat.completions.create(
        model="qwen3-max",
        messages=[
            {
                "role": "user",
                "content": "A clock loses 5 minutes a day. How far off is it after 10 days?",
            }
        ],
        extra_body={"enable_thinking": True},
        stream=True,
        max_tokens=512,
    )
    answer, reasoning = [], 0
    for chunk in stream:
        delta = chunk.choices[0].delta
        reasoning += len(getattr(delta, "reasoning_content", None) or "")
        answer.append(delta.content or "")
    return "".join(answer), reasoning


def json_mode(client: openai.OpenAI) -> dict:
    response = client.chat.completions.create(
        model="qwen-turbo",
        messages=[
            {
                "role": "system",
                "content": 'Return JSON: {"sentiment": "positive|negative|neutral"}',
            },
            {"role": "user", "content": "I love this product."},
        ],
        response_format={"type": "json_object"},
        max_tokens=64,
    )
    return json.loads(response.choices[0].message.content or "{}")


def orphan(client: openai.OpenAI) -> qwenobs.QwenValidationError:
    try:
        client.chat.completions.create(
            model="qwen-plus",
            max_tokens=256,
            messages=[
                {"role": "user", "content": "Should I bring an umbrella to Shanghai?"},
                {"role": "tool", "tool_call_id": "call_7f3a", "content": '{"conditions": "rain"}'},
            ],
        )
    except qwenobs.QwenValidationError as error:
        return error
    raise AssertionError("the orphan tool result was not caught")


def main(report: str | None = "demo-report.html") -> int:
    """Run the demo; with ``report``, also write the report page of its spans there."""
    import tempfile
    from pathlib import Path

    from .spantree import SpanTree

    # Load the vocabulary the fake counts with first, so the spans' durations show the calls.
    qwenobs.count_tokens("warm up")
    tree = SpanTree()
    scratch = tempfile.TemporaryDirectory(prefix="qwenobs-demo-")
    spans_file = Path(scratch.name) / "spans.jsonl" if report else None
    qwenobs.instrument(
        tracer_provider=tree.tracer_provider,
        meter_provider=tree.meter_provider,
        spans_file=spans_file,
    )
    fake = FakeDashScope()
    script(fake)
    try:
        with fake.intercept():
            client = openai.OpenAI(api_key="sk-demo-not-a-real-key", base_url=BASE_URL)
            print("1. Multi-round agent with parallel tool calls")
            print(
                "   answer:",
                agent(client, "Should I bring an umbrella to Shanghai or Hangzhou today?"),
            )
            print("2. Thinking stream (reasoning to the log, answer to the user)")
            answer, reasoning = thinking(client)
            print(f"   answer: {answer}  (reasoning hidden, {reasoning} chars)")
            print("3. JSON mode")
            print("   parsed:", json_mode(client))
            print("4. An orphan tool result, caught before sending")
            error = orphan(client)
            print("   " + str(error).replace("\n", "\n   "))
            print(
                f"   (requests that reached the fake DashScope: {len(fake.calls)}; the orphan was never sent)"
            )
    finally:
        qwenobs.uninstrument()  # flushes the spans file
    print()
    tree.print()
    with scratch:
        if spans_file is not None:
            _write_report(spans_file, Path(report))
    return 0


def _write_report(spans_file: Any, output: Any) -> None:
    from .errors import MissingExtra

    try:
        from .report import build

        summary = build([spans_file], output, title="qwenobs demo")
    except MissingExtra as exc:
        print(f"\n(no report: {exc})")
        return
    print(f"\nReport of these spans ({summary.chat_calls} chat calls): {summary.output.resolve()}")
