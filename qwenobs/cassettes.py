"""The cassette file format, shared by the pytest plugin, ``qwenobs lint`` and trace replay.

A cassette is vcrpy's YAML, with multi-line text (SSE streams, pretty-printed JSON) written as
literal blocks so it reads like the traffic it holds. Plain YAML either way: vcrpy's own serializer
and pytest-recording read these files unchanged. PyYAML and vcrpy are imported only when a
cassette is read or written; without them the error names the extra that installs them.

vcrpy stores no recording date, and a file's time is its checkout time, so each response qwenobs
records carries one more key, ignored by vcrpy on replay::

    qwenobs: {recorded: '2025-06-01T08:30:00Z', version: 0.1.0}
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .extras import need
from .version import __version__

EXTRA = "cassettes"


@functools.cache
def _yaml() -> tuple[Any, type, type]:
    """PyYAML, its fastest safe loader, and a dumper writing multi-line text as literal blocks."""
    yaml = need("yaml", EXTRA, "reading and writing cassettes")
    # The C loader is much faster on long streams; pure PyYAML lacks it.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class Dumper(yaml.SafeDumper):
        pass

    def text(dumper: Any, value: str) -> Any:
        # PyYAML falls back to a quoted scalar by itself when a literal block cannot hold the text.
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    Dumper.add_representer(str, text)
    return yaml, loader, Dumper


class QwenYamlSerializer:
    """A vcrpy serializer (``serialize``/``deserialize`` as module-level functions would be)."""

    @staticmethod
    def serialize(cassette_dict: dict[str, Any]) -> str:
        yaml, _, dumper = _yaml()
        return yaml.dump(
            cassette_dict, Dumper=dumper, allow_unicode=True, sort_keys=False, width=100
        )

    @staticmethod
    def deserialize(cassette_string: str) -> dict[str, Any]:
        yaml, loader, _ = _yaml()
        return yaml.load(cassette_string, Loader=loader)  # a safe loader (C or pure)


STAMP = "qwenobs"  # the key of a response's recording date and qwenobs version


def stamp(now: datetime | None = None) -> dict[str, str]:
    """What qwenobs writes beside a response it records: when, and which qwenobs."""
    when = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return {"recorded": when.strftime("%Y-%m-%dT%H:%M:%SZ"), "version": __version__}


def recorded_at(response: dict[str, Any]) -> datetime | None:
    """When a response was recorded, from its stamp; None for a response without one."""
    mark = response.get(STAMP)
    text = mark.get("recorded") if isinstance(mark, dict) else None
    if not isinstance(text, str | datetime):
        return None
    try:
        when = (
            text
            if isinstance(text, datetime)
            else datetime.fromisoformat(text.replace("Z", "+00:00"))
        )
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


class NotACassette(ValueError):
    """A file that is not a vcrpy cassette; ``unreadable`` when it is not even readable YAML."""

    def __init__(self, message: str, *, unreadable: bool = False) -> None:
        super().__init__(message)
        self.unreadable = unreadable


@dataclass(frozen=True)
class Interaction:
    """One recorded request and response, as plain data (bodies as text)."""

    request: dict[str, Any]  # method, uri, headers {name: [values]}, body
    response: dict[str, Any]  # status {code, message}, headers {name: [values]}, body {string}

    @property
    def method(self) -> str:
        return str(self.request.get("method", "")).upper()

    @property
    def uri(self) -> str:
        return str(self.request.get("uri", ""))

    @property
    def request_body(self) -> str:
        return _text(self.request.get("body"))

    @property
    def status(self) -> int | None:
        status = self.response.get("status")
        code = status.get("code") if isinstance(status, dict) else status
        return code if isinstance(code, int) else None

    @property
    def response_body(self) -> str:
        body = self.response.get("body")
        return _text(body.get("string") if isinstance(body, dict) else body)

    def header(self, which: str, name: str) -> str | None:
        """The first value of a request or response header, by case-insensitive name."""
        headers = (self.request if which == "request" else self.response).get("headers") or {}
        for key, values in headers.items() if isinstance(headers, dict) else ():
            if str(key).lower() == name:
                return str(values[0]) if isinstance(values, list) and values else str(values)
        return None


def read(path: str | Path) -> list[Interaction]:
    """A cassette's interactions, with PyYAML only (no vcrpy); ``NotACassette`` otherwise."""
    yaml, loader, _ = _yaml()
    try:
        data = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=loader)
    except Exception as exc:  # OSError, UnicodeDecodeError, every YAML error
        raise NotACassette(
            f"{path}: cannot read it as YAML: {_first_line(exc)}", unreadable=True
        ) from None
    interactions = data.get("interactions") if isinstance(data, dict) else None
    if not isinstance(interactions, list):
        raise NotACassette(f"{path}: not a cassette (no 'interactions' list)")
    out = []
    for number, item in enumerate(interactions, 1):
        request = item.get("request") if isinstance(item, dict) else None
        response = item.get("response") if isinstance(item, dict) else None
        if not isinstance(request, dict) or not isinstance(response, dict):
            raise NotACassette(f"{path}: interaction {number} has no request and response")
        out.append(Interaction(request, response))
    return out


def _text(body: Any) -> str:
    if body is None:
        return ""
    if isinstance(body, bytes):
        return body.decode("utf-8", errors="replace")
    return str(body)


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def load_interactions(path: str | Path) -> list[tuple[Any, dict[str, Any]]]:
    """The (vcr request, response dict) pairs of a cassette file, bodies as bytes."""
    serialize = need("vcr.serialize", EXTRA, "reading cassettes")
    text = Path(path).read_text(encoding="utf-8")
    requests, responses, *_ = serialize.deserialize(text, QwenYamlSerializer)
    return list(zip(requests, responses, strict=True))


# -- what a recorded request and stream mean, whoever sent them ----------------------------------

# What qwenobs adds to a stream request so its span gets the usage (``instrument(stream_usage=)``).
QWENOBS_STREAM_OPTIONS = {"include_usage": True}


def asks_for_usage(body: Any) -> bool:
    """Whether a request body (parsed JSON) asks a stream for its usage chunk."""
    options = body.get("stream_options") if isinstance(body, dict) else None
    return isinstance(options, dict) and options.get("include_usage") is True


def comparable(body: Any) -> Any:
    """A parsed request body as cassettes compare it: without the ``stream_options`` qwenobs adds
    to a stream, so traffic recorded with instrumentation on matches with it off and back."""
    if (
        isinstance(body, dict)
        and body.get("stream") is True
        and body.get("stream_options") == QWENOBS_STREAM_OPTIONS
    ):
        return {key: value for key, value in body.items() if key != "stream_options"}
    return body


def without_usage_chunk(stream: bytes) -> bytes:
    """An SSE body without its usage-only chunk (``"choices": []`` and ``usage``): what DashScope
    sends to a stream request that did not ask for usage."""
    kept = [event for event in _sse_events(stream) if not _is_usage_chunk(event)]
    return b"".join(kept)


def _sse_events(stream: bytes) -> list[bytes]:
    text = stream.replace(b"\r\n", b"\n")
    return [block + b"\n\n" for block in text.split(b"\n\n") if block.strip()]


def _is_usage_chunk(event: bytes) -> bool:
    data = b"\n".join(line[5:].strip() for line in event.split(b"\n") if line.startswith(b"data:"))
    if not data.startswith(b"{") or b'"usage"' not in data:
        return False
    try:
        chunk = json.loads(data)
    except ValueError:
        return False
    return isinstance(chunk, dict) and chunk.get("choices") == [] and bool(chunk.get("usage"))
