"""The cassette file format, shared by the pytest plugin, ``qwenobs lint`` and trace replay.

A cassette is vcrpy's YAML, with multi-line text (SSE streams, pretty-printed JSON) written as
literal blocks so it reads like the traffic it holds. Plain YAML either way: vcrpy's own serializer
and pytest-recording read these files unchanged. PyYAML and vcrpy are imported only when a
cassette is read or written; without them the error names the extra that installs them.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from .extras import need

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
