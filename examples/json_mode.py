"""JSON mode with defensive parsing: the word "json" in the prompt, and tolerance for a ```json fence."""

from __future__ import annotations

import json
import re

from _qwen import qwen

import qwenobs

_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)


def parse_json_reply(text: str) -> dict:
    """The model sometimes wraps JSON in a ```json fence even in JSON mode: strip it first."""
    match = _FENCE.match(text)
    return json.loads(match.group(1) if match else text)


def sentiment(client, review: str) -> str:
    response = client.chat.completions.create(
        model="qwen-plus",
        messages=[
            {
                "role": "system",
                "content": 'Return JSON: {"sentiment": "positive|negative|neutral"}',
            },
            {"role": "user", "content": review},
        ],
        response_format={"type": "json_object"},
        max_tokens=64,
        temperature=0,
    )
    return parse_json_reply(response.choices[0].message.content)["sentiment"]


def script(fake) -> None:
    fake.reply('```json\n{"sentiment": "positive"}\n```')


if __name__ == "__main__":
    qwenobs.instrument()
    with qwen(script) as client:
        print(sentiment(client, "I love this product."))
