"""Server-sent events as DashScope frames them: ``data: <json>\\n\\n``, ending with ``data: [DONE]``."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

DONE = b"data: [DONE]\n\n"


def encode(payload: Any) -> bytes:
    """One ``data:`` event; compact JSON, non-ASCII kept as UTF-8 like the real service."""
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return f"data: {text}\n\n".encode()


def decode(stream: bytes | Iterable[bytes]) -> list[str]:
    """The ``data`` of every event in ``stream`` (bytes, or chunks cut anywhere), in order.

    Multi-line data is joined with newlines and comments (``:``-lines) are skipped, per the SSE spec.
    """
    raw = stream if isinstance(stream, bytes) else b"".join(stream)
    text = raw.decode().replace("\r\n", "\n").replace("\r", "\n")
    events = []
    for block in text.split("\n\n"):
        lines = [
            line[5:].removeprefix(" ") for line in block.split("\n") if line.startswith("data:")
        ]
        if lines:
            events.append("\n".join(lines))
    return events


def decode_json(stream: bytes | Iterable[bytes]) -> list[Any]:
    """Every JSON event of ``stream``; the ``[DONE]`` marker is left out."""
    return [json.loads(data) for data in decode(stream) if data != "[DONE]"]
