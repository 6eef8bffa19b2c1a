"""Render a streaming JSON answer as it arrives: close what is open and parse the prefix.

Even in JSON mode the model sometimes wraps its answer in a ```json fence, so the fence is
stripped from every prefix before parsing, and from the whole answer at the end.
"""

from __future__ import annotations

import json
import re
from typing import Any

from _qwen import qwen

import qwenobs

_OPENING_FENCE = re.compile(r"\s*```[A-Za-z]*[ \t]*\n?")
_CLOSING_FENCE = re.compile(r"(?<=[}\]])\s*`{1,3}\s*$")  # also a closing fence still arriving


def unfenced(text: str) -> str:
    """``text`` without a ```json fence around it; "" while only (part of) the fence has arrived."""
    if not text.lstrip().startswith("`"):
        return text
    opening = _OPENING_FENCE.match(text)
    if opening is None or opening.end() == len(text):
        return ""  # "`", "``", "```js": the JSON has not started yet
    return _CLOSING_FENCE.sub("", text[opening.end() :])


def parse_prefix(text: str) -> Any:
    """The value a JSON prefix is heading for, with open strings, arrays and objects closed; None
    while not even that parses (e.g. it stops right after a key)."""
    closers, in_string, escaped = [], False, False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            closers.append("]" if ch == "[" else "}")
        elif ch in "]}" and closers:
            closers.pop()
    candidate = text + ('"' if in_string else "")
    for trimmed in (candidate, candidate.rstrip().rstrip(",")):
        try:
            return json.loads(trimmed + "".join(reversed(closers)))
        except ValueError:
            continue
    return None


def stream_form(client, text: str, render) -> dict:
    stream = client.chat.completions.create(
        model="qwen-plus",
        messages=[
            {
                "role": "system",
                "content": 'Extract JSON: {"name": str, "city": str, "interests": [str]}',
            },
            {"role": "user", "content": text},
        ],
        response_format={"type": "json_object"},
        stream=True,
        max_tokens=256,
        temperature=0,  # extraction: the guide's setting, no creativity wanted
    )
    buffer, last = "", None
    for chunk in stream:
        buffer += chunk.choices[0].delta.content or ""
        partial = parse_prefix(unfenced(buffer))
        if partial is not None and partial != last:
            render(partial)  # the form fills in while the model is still writing
            last = partial
    return json.loads(unfenced(buffer))


def script(fake) -> None:
    fake.reply(
        '{"name": "Li Wei", "city": "Suzhou", "interests": ["gardens", "tea", "cycling"]}',
        chunk_size=6,
    )


if __name__ == "__main__":
    qwenobs.instrument()
    with qwen(script) as client:
        stream_form(client, "I'm Li Wei from Suzhou; I love gardens, tea and cycling.", print)
