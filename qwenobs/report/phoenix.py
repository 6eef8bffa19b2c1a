"""Spans from Arize Phoenix's REST API, as OTLP/JSON lines, so one reader serves every source.

``phoenix://host:6006`` (``phoenix+https://host`` for TLS; a path names the project, default
``default``; ``?trace_id=...`` keeps one trace). Phoenix returns spans page by page
(``GET /v1/projects/{project}/spans``, up to 1,000 a page, with a cursor); their attributes
come as a flat dict with dotted keys and JSON types, which map straight onto OTLP values. The
OpenInference attributes Phoenix adds on ingestion (``llm.*``, ``input.value``...) come along
and are ignored by readers that look for ``gen_ai.*`` and ``dashscope.*``.

Standard library only (urllib), so it needs no extra.
"""

from __future__ import annotations

import datetime
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..otlp_json import key_values

SCHEMES = ("phoenix", "phoenix+http", "phoenix+https")
PAGE = 1000
_STATUS = {"UNSET": 0, "OK": 1, "ERROR": 2}


def is_phoenix(source: str) -> bool:
    return source.split("://", 1)[0] in SCHEMES and "://" in source


def _endpoint(source: str) -> tuple[str, str, dict[str, list[str]]]:
    """(base URL, project, filters) of a ``phoenix://`` source."""
    url = urllib.parse.urlsplit(source)
    if not url.netloc:
        raise ValueError(
            f"{source!r}: expected phoenix://HOST:PORT[/PROJECT], e.g. phoenix://localhost:6006"
        )
    scheme = "https" if url.scheme == "phoenix+https" else "http"
    project = url.path.strip("/") or "default"
    filters = urllib.parse.parse_qs(url.query)
    unknown = set(filters) - {"trace_id"}
    if unknown:
        raise ValueError(f"{source!r}: unknown option {sorted(unknown)[0]!r}; accepted: trace_id")
    return f"{scheme}://{url.netloc}", project, filters


def _nanos(iso: str | None) -> int:
    if not iso:
        return 0
    when = datetime.datetime.fromisoformat(iso.replace("Z", "+00:00"))
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
    delta = when - epoch
    return (delta.days * 86400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000


def otlp_span(span: dict[str, Any]) -> dict[str, Any]:
    """One span of Phoenix's REST API as an OTLP/JSON span object."""
    context = span.get("context") or {}
    out: dict[str, Any] = {
        "traceId": str(context.get("trace_id", "")).lower(),
        "spanId": str(context.get("span_id", "")).lower(),
        "name": span.get("name", ""),
        "kind": 0,  # Phoenix keeps its own span kinds, not OTLP's
        "startTimeUnixNano": str(_nanos(span.get("start_time"))),
        "endTimeUnixNano": str(_nanos(span.get("end_time"))),
        "attributes": key_values(span.get("attributes") or {}),
        "events": [
            {
                "timeUnixNano": str(_nanos(e.get("timestamp"))),
                "name": e.get("name", ""),
                "attributes": key_values(e.get("attributes") or {}),
            }
            for e in span.get("events") or ()
        ],
        "status": {"code": _STATUS.get(str(span.get("status_code", "")).upper(), 0)},
    }
    if span.get("parent_id"):
        out["parentSpanId"] = str(span["parent_id"]).lower()
    if span.get("status_message"):
        out["status"]["message"] = span["status_message"]
    return out


def fetch(source: str, timeout: float = 30.0) -> Iterator[dict[str, Any]]:
    """Every span of the project (or trace) behind a ``phoenix://`` source, as Phoenix gives it."""
    base, project, filters = _endpoint(source)
    path = f"{base}/v1/projects/{urllib.parse.quote(project, safe='')}/spans"
    params: dict[str, Any] = {"limit": PAGE}
    if "trace_id" in filters:
        params["trace_id"] = [t.lower() for t in filters["trace_id"]]
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        url = f"{path}?{urllib.parse.urlencode(query, doseq=True)}"
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                page = json.load(response)
        except urllib.error.HTTPError as exc:
            detail = exc.read(300).decode("utf-8", "replace")
            raise ConnectionError(
                f"{source}: Phoenix answered {exc.code} for {url}: {detail}"
            ) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ConnectionError(f"{source}: cannot reach Phoenix at {base} ({reason})") from None
        yield from page.get("data") or ()
        cursor = page.get("next_cursor")
        if not cursor:
            return


def write_lines(source: str, path: Path, spans_per_line: int = PAGE) -> int:
    """Write the spans behind ``source`` to ``path`` as OTLP/JSON lines; returns how many."""
    head = '{"resourceSpans":[{"resource":{"attributes":[]},"scopeSpans":[{"scope":{"name":"phoenix"},"spans":['
    count = 0
    batch: list[str] = []
    with path.open("w", encoding="utf-8") as out:
        for span in fetch(source):
            batch.append(json.dumps(otlp_span(span), separators=(",", ":"), ensure_ascii=False))
            count += 1
            if len(batch) >= spans_per_line:
                out.write(head + ",".join(batch) + "]}]}]}\n")
                batch = []
        if batch:
            out.write(head + ",".join(batch) + "]}]}]}\n")
    return count
