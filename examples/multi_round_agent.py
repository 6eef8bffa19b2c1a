"""A multi-round agent with parallel tool calls, tool spans and the loop guard.

After three tool rounds the next call goes out with tool_choice="none", so the model must answer;
after eight model calls (rounds) qwenobs.AgentLoopError stops the loop before a ninth is sent.
"""

from __future__ import annotations

import json

from _qwen import qwen

import qwenobs

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Current weather for a city",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
]
# Well below the ~0.7 default, which the guide finds too high for agents: a steady tool choice.
TEMPERATURE = 0.2


@qwenobs.tool
def get_weather(city: str) -> dict:
    return {
        "city": city,
        "temp_c": {"Shanghai": 22, "Hangzhou": 19}.get(city, 20),
        "conditions": "rain",
    }


def run_agent(client, question: str) -> str:
    messages = [{"role": "user", "content": question}]
    with qwenobs.agent("weather", max_rounds=8, answer_after=3):
        while True:
            response = client.chat.completions.create(
                model="qwen-plus",
                messages=messages,
                tools=TOOLS,
                parallel_tool_calls=True,
                max_tokens=512,
                temperature=TEMPERATURE,
            )
            message = response.choices[0].message
            messages.append(message)  # one assistant message carrying every parallel call
            if not message.tool_calls:
                return message.content
            for call in message.tool_calls:  # then one tool message per call
                result = get_weather(**json.loads(call.function.arguments))
                messages.append(
                    {
                        "role": "tool",
                        "tool_call_id": call.id,
                        "content": json.dumps(result, ensure_ascii=False),
                    }
                )


def script(fake) -> None:
    both = [
        {"name": "get_weather", "arguments": {"city": "Shanghai"}},
        {"name": "get_weather", "arguments": {"city": "Hangzhou"}},
    ]
    fake.reply(tool_calls=both)
    fake.reply(tool_calls=[both[0]])  # Qwen-Plus sometimes asks again for the same city...
    fake.reply(tool_calls=[both[0]])
    fake.reply("Rain in both cities today: take an umbrella.")  # ...until tool_choice="none"


if __name__ == "__main__":
    qwenobs.instrument()
    with qwen(script) as client:
        print(run_agent(client, "Umbrella for Shanghai or Hangzhou today?"))
