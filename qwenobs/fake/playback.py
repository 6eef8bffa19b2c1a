"""A cassette's recorded responses as the fake's timed responses, so a server front end serves a
recorded stream event by event with the fake's pacing (``qwen_server.play``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..cassettes import load_interactions
from .engine import Response

# Framing headers are the server's job; the body was decoded before it was saved.
_DROPPED = frozenset({"content-length", "transfer-encoding", "content-encoding", "connection"})


def recorded_responses(path: Path, first_delay: float, every_delay: float) -> list[Response]:
    if not path.exists():
        raise FileNotFoundError(f"qwen_server.play: no cassette at {path}")
    return [_response(r, first_delay, every_delay) for _, r in load_interactions(path)]


def _response(recorded: dict[str, Any], first: float, every: float) -> Response:
    headers = tuple(
        (name.lower(), value)
        for name, values in recorded.get("headers", {}).items()
        if name.lower() not in _DROPPED
        for value in values
    )
    body = recorded.get("body", {}).get("string") or b""
    body = body.encode() if isinstance(body, str) else body
    content_type = dict(headers).get("content-type", "")
    if "event-stream" in content_type:
        events = _events(body)
        parts = tuple((first if i == 0 else every, e) for i, e in enumerate(events))
        return Response(recorded["status"]["code"], headers, parts, streaming=True)
    return Response(recorded["status"]["code"], headers, ((first, body),), streaming=False)


def _events(body: bytes) -> list[bytes]:
    """The body cut after each blank line, so every SSE event is its own chunk."""
    text = body.replace(b"\r\n", b"\n")
    events = [chunk + b"\n\n" for chunk in text.split(b"\n\n") if chunk.strip()]
    return events or [body]
