"""Sample request parts for scripting the fake, shared by the demo, our tests and benchmarks: the
weather tool every Qwen function-calling tutorial starts from, with a flat required parameter, and
a stable system prompt long enough (past 256 tokens) for DashScope's prefix cache to serve it.
Treat them as constants: pass them to the SDK, which copies them into each request."""

from __future__ import annotations

from typing import Any

WEATHER_TOOL: dict[str, Any] = {
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
WEATHER_TOOLS: list[dict[str, Any]] = [WEATHER_TOOL]

TRAVEL_SYSTEM_PROMPT = (
    "You are a concise travel assistant for trips in East China. Use the weather tool for any "
    "question about the weather, answer in one or two sentences, and never invent forecasts. " * 8
)  # 281 Qwen tokens
