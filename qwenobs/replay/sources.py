"""Where a recording comes from: OTLP/JSON span lines, Phoenix, a cassette, a replay file."""

from __future__ import annotations

import json
from pathlib import Path

from .recording import Recording, ReplayUnavailable, from_interactions, from_spans

_TRACE_ID_LENGTH = 32


def load(
    source: str | Path, trace_id: str | None = None, conversation_id: str | None = None
) -> Recording:
    """The recording in ``source``: a path to OTLP/JSON lines (``.json``, ``.jsonl``, ``.gz``; a
    Collector's file or qwenobs's spans file), a ``phoenix://host:port[/project]`` URL, a qwenobs
    cassette (``.yaml``), or a replay file (``.replay.json``, from ``qwenobs capture``).
    ``trace_id``: the 32 hex digits trace UIs show; optional when the source holds one trace, or
    one conversation (``conversation_id`` chooses one: ``gen_ai.conversation.id``)."""
    if trace_id is not None:
        trace_id = _trace_id(trace_id)
    text = str(source)
    if text.startswith("phoenix") and "://" in text:
        from ..otlp_json import decode_line
        from ..report.phoenix import fetch, otlp_span

        url = (
            text if trace_id is None else f"{text}{'&' if '?' in text else '?'}trace_id={trace_id}"
        )
        spans = [otlp_span(s) for s in fetch(url)]
        request = {"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]}
        return from_spans(decode_line(json.dumps(request)), text, trace_id, conversation_id)
    path = Path(source)
    if not path.exists():
        raise ReplayUnavailable(f"{path}: no such file")
    name = path.name.lower()
    if name.endswith(".replay.json"):
        return Recording.from_json(path.read_text(encoding="utf-8"), str(path))
    if name.endswith((".yaml", ".yml")):
        from ..cassettes import load_interactions

        return from_interactions(load_interactions(path), str(path))
    from ..otlp_json import read_spans

    try:
        spans = list(read_spans([path], trace_id))
    except ValueError as exc:
        raise ReplayUnavailable(str(exc)) from None
    return from_spans(spans, str(path), trace_id, conversation_id)


def _trace_id(value: str) -> str:
    trace_id = value.strip().lower()
    if len(trace_id) != _TRACE_ID_LENGTH or any(c not in "0123456789abcdef" for c in trace_id):
        raise ValueError(
            f"trace_id must be the 32 hexadecimal digits a trace UI shows, got {value!r}"
        )
    return trace_id
