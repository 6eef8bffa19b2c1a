"""The OTLP/JSON lines format of the OpenTelemetry Collector's file exporter: finished spans to
lines, lines back to spans, and a spans file's rotated siblings.

One line is one ``ExportTraceServiceRequest`` (``{"resourceSpans": [...]}``). The protobuf JSON
mapping has traps this module keeps to: trace and span ids are hex (not protobuf's base64), enums
are integers, 64-bit integers are decimal strings (numbers are accepted when reading), and a
double may be ``"NaN"`` or ``"Infinity"``.

Pure: no OpenTelemetry import. Spans are read by duck typing (the SDK's ``ReadableSpan`` shape),
so the encoder serves the spans file exporter and the tests alike.
"""

from __future__ import annotations

import base64
import gzip
import json
import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

MAX_LINE_BYTES = 4 * 1024 * 1024  # a batch bigger than this is split over several lines

# --- encoding ----------------------------------------------------------------------------------


def _double(value: float) -> float | str:
    if math.isfinite(value):
        return value
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")


def any_value(value: Any) -> dict[str, Any]:
    """An attribute value as an OTLP ``AnyValue``."""
    if isinstance(value, bool):  # before int: bool is an int
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": _double(value)}
    if isinstance(value, str):
        return {"stringValue": value}
    if isinstance(value, bytes | bytearray):
        return {"bytesValue": base64.b64encode(value).decode("ascii")}
    if isinstance(value, Sequence):
        return {"arrayValue": {"values": [any_value(v) for v in value]}}
    if isinstance(value, Mapping):
        return {"kvlistValue": {"values": key_values(value)}}
    return {"stringValue": str(value)}


def key_values(attributes: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    return [{"key": k, "value": any_value(v)} for k, v in (attributes or {}).items()]


def _hex(number: int, digits: int) -> str:
    return format(number, f"0{digits}x")


def span_dict(span: Any) -> dict[str, Any]:
    """One finished span (``ReadableSpan``-like) as an OTLP/JSON span object."""
    context = span.context
    out: dict[str, Any] = {
        "traceId": _hex(context.trace_id, 32),
        "spanId": _hex(context.span_id, 16),
    }
    parent = span.parent
    if parent is not None and parent.span_id:
        out["parentSpanId"] = _hex(parent.span_id, 16)
    flags = getattr(context, "trace_flags", None)
    if flags is not None:
        out["flags"] = int(flags)
    out["name"] = span.name
    out["kind"] = span.kind.value + 1  # the SDK counts INTERNAL from 0, OTLP from 1
    out["startTimeUnixNano"] = str(span.start_time or 0)
    out["endTimeUnixNano"] = str(span.end_time or span.start_time or 0)
    out["attributes"] = key_values(span.attributes)
    if span.events:
        out["events"] = [
            {
                "timeUnixNano": str(event.timestamp),
                "name": event.name,
                "attributes": key_values(event.attributes),
            }
            for event in span.events
        ]
    if span.links:
        out["links"] = [
            {
                "traceId": _hex(link.context.trace_id, 32),
                "spanId": _hex(link.context.span_id, 16),
                "attributes": key_values(link.attributes),
            }
            for link in span.links
        ]
    status: dict[str, Any] = {}
    code = span.status.status_code.value  # UNSET 0, OK 1, ERROR 2: the same numbers as OTLP
    if code:
        status["code"] = code
    if span.status.description:
        status["message"] = span.status.description
    out["status"] = status
    return out


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def encode_lines(spans: Iterable[Any], max_line_bytes: int = MAX_LINE_BYTES) -> list[bytes]:
    """Finished spans as OTLP/JSON lines (each ending in a newline), grouped by resource and
    instrumentation scope; a line holds spans up to about ``max_line_bytes`` (a single larger
    span gets a line of its own)."""
    headers: dict[tuple[int, int], tuple[str, str]] = {}
    encoded: list[tuple[tuple[int, int], bytes]] = []
    for span in spans:
        resource, scope = span.resource, span.instrumentation_scope
        key = (id(resource), id(scope))
        if key not in headers:
            headers[key] = (_resource_json(resource), _scope_json(scope))
        encoded.append((key, _dumps(span_dict(span)).encode("utf-8")))
    lines: list[bytes] = []
    batch: list[tuple[tuple[int, int], bytes]] = []
    size = 0
    for item in encoded:
        if batch and size + len(item[1]) > max_line_bytes:
            lines.append(_line(batch, headers))
            batch, size = [], 0
        batch.append(item)
        size += len(item[1]) + 1
    if batch:
        lines.append(_line(batch, headers))
    return lines


def _resource_json(resource: Any) -> str:
    body: dict[str, Any] = {"attributes": key_values(getattr(resource, "attributes", None))}
    return _dumps(body)


def _scope_json(scope: Any) -> str:
    body: dict[str, Any] = {"name": getattr(scope, "name", "") or ""}
    version = getattr(scope, "version", None)
    if version:
        body["version"] = version
    return _dumps(body)


def _line(batch: list[tuple[tuple[int, int], bytes]], headers: dict) -> bytes:
    groups: dict[tuple[int, int], list[bytes]] = {}
    for key, span in batch:
        groups.setdefault(key, []).append(span)
    parts = []
    for key, spans in groups.items():
        resource, scope = headers[key]
        parts.append(
            b'{"resource":'
            + resource.encode("utf-8")
            + b',"scopeSpans":[{"scope":'
            + scope.encode("utf-8")
            + b',"spans":['
            + b",".join(spans)
            + b"]}]}"
        )
    return b'{"resourceSpans":[' + b",".join(parts) + b"]}\n"


# --- decoding ----------------------------------------------------------------------------------


@dataclass
class Event:
    name: str
    time_unix_nano: int
    attributes: dict[str, Any]


@dataclass
class Span:
    """One span read back from OTLP/JSON, with plain Python attribute values."""

    trace_id: str  # 32 lowercase hex digits
    span_id: str  # 16 lowercase hex digits
    parent_span_id: str | None
    name: str
    kind: int  # OTLP: 1 internal, 2 server, 3 client, 4 producer, 5 consumer
    start_unix_nano: int
    end_unix_nano: int
    attributes: dict[str, Any]
    events: list[Event] = field(default_factory=list)
    status_code: int = 0  # 0 unset, 1 ok, 2 error
    status_message: str = ""
    resource: dict[str, Any] = field(default_factory=dict)
    scope: str = ""

    @property
    def duration(self) -> float:
        """Seconds from start to end."""
        return (self.end_unix_nano - self.start_unix_nano) / 1e9


def plain_value(value: Mapping[str, Any] | None) -> Any:
    """An OTLP ``AnyValue`` as a Python value (arrays as lists, kvlists as dicts)."""
    if not value:
        return None
    if "stringValue" in value:
        return value["stringValue"]
    if "intValue" in value:
        return int(value["intValue"])
    if "doubleValue" in value:
        return float(value["doubleValue"])  # float("NaN") and float("Infinity") parse
    if "boolValue" in value:
        return bool(value["boolValue"])
    if "arrayValue" in value:
        return [plain_value(v) for v in (value["arrayValue"] or {}).get("values") or ()]
    if "kvlistValue" in value:
        return plain_attributes((value["kvlistValue"] or {}).get("values"))
    if "bytesValue" in value:
        return base64.b64decode(value["bytesValue"])
    return None


def plain_attributes(items: Iterable[Mapping[str, Any]] | None) -> dict[str, Any]:
    return {item["key"]: plain_value(item.get("value")) for item in items or ()}


def decode_line(line: str | bytes) -> Iterator[Span]:
    """The spans of one OTLP/JSON line (an ``ExportTraceServiceRequest``)."""
    request = json.loads(line)
    for resource_spans in request.get("resourceSpans") or ():
        resource = plain_attributes((resource_spans.get("resource") or {}).get("attributes"))
        for scope_spans in resource_spans.get("scopeSpans") or ():
            scope = (scope_spans.get("scope") or {}).get("name") or ""
            for s in scope_spans.get("spans") or ():
                status = s.get("status") or {}
                yield Span(
                    trace_id=str(s.get("traceId", "")).lower(),
                    span_id=str(s.get("spanId", "")).lower(),
                    parent_span_id=str(s["parentSpanId"]).lower()
                    if s.get("parentSpanId")
                    else None,
                    name=s.get("name", ""),
                    kind=int(s.get("kind") or 0),
                    start_unix_nano=int(s.get("startTimeUnixNano") or 0),
                    end_unix_nano=int(s.get("endTimeUnixNano") or 0),
                    attributes=plain_attributes(s.get("attributes")),
                    events=[
                        Event(
                            e.get("name", ""),
                            int(e.get("timeUnixNano") or 0),
                            plain_attributes(e.get("attributes")),
                        )
                        for e in s.get("events") or ()
                    ],
                    status_code=int(status.get("code") or 0),
                    status_message=status.get("message") or "",
                    resource=resource,
                    scope=scope,
                )


def open_lines(path: Path) -> IO[bytes]:
    """A spans file for reading, gunzipped when its name ends in ``.gz``."""
    if path.suffix == ".zst":
        raise ValueError(
            f"{path}: zstd files are read by `qwenobs report` only; decompress it first "
            "(zstd -d) to read it here"
        )
    return gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb")


def read_spans(paths: Iterable[str | Path], trace_id: str | None = None) -> Iterator[Span]:
    """Every span in these files (each with its rotated siblings, see ``spans_files``),
    optionally only those of one trace (hex, any case)."""
    wanted = trace_id.lower() if trace_id else None
    needle = wanted.encode("ascii") if wanted else None
    for path in spans_files(paths):
        with open_lines(path) as lines:
            for number, line in enumerate(lines, 1):
                if not line.strip():
                    continue
                # Ids may be upper case in other writers' files: look before parsing only when
                # the cheap test can say no.
                if needle is not None and needle not in line.lower():
                    continue
                try:
                    spans = list(decode_line(line))
                except (ValueError, TypeError, KeyError, AttributeError) as exc:
                    raise ValueError(f"{path}:{number}: not an OTLP/JSON line ({exc})") from None
                yield from (s for s in spans if wanted is None or s.trace_id == wanted)


# --- files ---------------------------------------------------------------------------------------

_SPANS_SUFFIXES = (".json", ".jsonl", ".ndjson")
_COMPRESSED = ("", ".gz", ".zst")
# lumberjack/timberjack (the Collector's rotation) and qwenobs's exporter:
# traces-2026-12-01T10-02-14.173.jsonl, traces-2026-12-01T10-02-14.173-size.jsonl
_ROTATED = r"-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}(?:\.\d+)?(?:-[a-z]+)?(?:-\d+)?"


def split_name(path: Path) -> tuple[str, str, str]:
    """(stem, extension, compression) of ``traces.jsonl.gz`` -> ("traces", ".jsonl", ".gz")."""
    name = path.name
    compression = next((c for c in _COMPRESSED[1:] if name.endswith(c)), "")
    name = name[: len(name) - len(compression)] if compression else name
    stem, dot, ext = name.rpartition(".")
    if not dot:
        return name, "", compression
    return stem, "." + ext, compression


def rotated_name(path: Path, stamp: str) -> Path:
    """Where a full spans file goes when it rotates: ``traces.jsonl`` ->
    ``traces-<stamp>-size.jsonl`` (the Collector's naming, so one reader takes both)."""
    stem, ext, compression = split_name(path)
    return path.with_name(f"{stem}-{stamp}-size{ext}{compression}")


def spans_files(paths: Iterable[str | Path]) -> list[Path]:
    """The files behind ``paths``: a file with its rotated siblings (oldest first, the file
    itself last), every spans file in a directory. Missing paths raise ``FileNotFoundError``."""
    found: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            found += sorted(
                p for p in path.iterdir() if p.is_file() and split_name(p)[1] in _SPANS_SUFFIXES
            )
            continue
        stem, ext, _ = split_name(path)
        pattern = re.compile(re.escape(stem) + _ROTATED + re.escape(ext) + "(?:\\.gz|\\.zst)?$")
        siblings = (
            sorted(p for p in path.parent.iterdir() if pattern.match(p.name))
            if path.parent.is_dir()
            else []
        )
        if not path.exists() and not siblings:
            raise FileNotFoundError(f"no spans file {str(path)!r} (nor rotated copies of it)")
        found += siblings
        if path.exists():
            found.append(path)
    unique: dict[Path, None] = {}
    for p in found:
        unique.setdefault(p.resolve(), None)
    return list(unique)
