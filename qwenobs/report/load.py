"""Spans into DuckDB: OTLP/JSON lines files (plain, gzip or zstd, with rotated siblings) become
one narrow, typed table ``spans``, a row per span and a column per attribute the report reads.

DuckDB reads and parses the files itself (``read_json_objects`` + ``json_transform``), never
Python: one pass over the JSON, in a bounded amount of memory. The views the report queries
(``chat_calls``, ``agent_runs``, ``findings``) are defined on that table here, and on the
Collector's ClickHouse table by ``queries.clickhouse_views()``, with the same columns.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import semconv as sc
from ..extras import need
from ..otlp_json import open_lines

DEFAULT_MEMORY_LIMIT = "1GB"
_MIN_OBJECT = 16 * 1024 * 1024
# DuckDB's units: 1000^i and 1024^i. Below 100MB its JSON reader cannot hold a line per thread.
_UNITS = {"kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12, "kib": 2**10, "mib": 2**20, "gib": 2**30,
          "tib": 2**40}  # fmt: skip
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*", re.IGNORECASE)
_MIN_MEMORY = 100e6

_KV = (
    '{"key":"VARCHAR","value":{"stringValue":"VARCHAR","intValue":"VARCHAR",'
    '"doubleValue":"DOUBLE","boolValue":"BOOLEAN"}}'
)
_SCHEMA = (
    '{"resourceSpans":[{"resource":{"attributes":[KV]},"scopeSpans":[{"spans":[{'
    '"traceId":"VARCHAR","spanId":"VARCHAR","parentSpanId":"VARCHAR","name":"VARCHAR",'
    '"startTimeUnixNano":"VARCHAR","endTimeUnixNano":"VARCHAR","attributes":[KV],'
    '"events":[{"name":"VARCHAR","attributes":[KV]}],'
    '"status":{"code":"INTEGER","message":"VARCHAR"}}]}]}]}'
).replace("KV", _KV)

# column -> (attribute, type): the attributes the report reads (each costs a lookup in every
# span, so only these), typed however they were written
COLUMNS: dict[str, tuple[str, str]] = {
    "operation": (sc.OPERATION, "str"),
    "model": (sc.REQUEST_MODEL, "str"),
    "error_type": (sc.ERROR_TYPE, "str"),
    "input_tokens": (sc.USAGE_INPUT, "int"),
    "output_tokens": (sc.USAGE_OUTPUT, "int"),
    "cached_tokens": (sc.USAGE_CACHE_READ, "int"),
    "reasoning_tokens": (sc.USAGE_REASONING, "int"),
    "reasoning_chars": (sc.REASONING_CHARS, "int"),
    "time_to_first_chunk": (sc.RESPONSE_TTFC, "float"),
    "time_to_first_content": (sc.TIME_TO_FIRST_CONTENT, "float"),
    "cost_amount": (sc.COST_AMOUNT, "float"),
    "cost_currency": (sc.COST_CURRENCY, "str"),
    "prices_as_of": (sc.COST_PRICES_AS_OF, "str"),
    "cache_savings": (sc.COST_CACHE_SAVINGS, "float"),
    "conversation_id": (sc.CONVERSATION_ID, "str"),
    "prompt_fingerprint": (sc.SYSTEM_PROMPT_FINGERPRINT, "str"),
    "agent_name": (sc.AGENT_NAME, "str"),
    "agent_rounds": (sc.AGENT_ROUNDS, "int"),
    "agent_tool_calls": (sc.AGENT_TOOL_CALLS, "int"),
    "agent_repeated": (sc.AGENT_REPEATED, "int"),
    "agent_forced_answer": (sc.AGENT_FORCED_ANSWER, "bool"),
    "agent_cost_amount": (sc.AGENT_COST_AMOUNT, "float"),
    "agent_cost_currency": (sc.AGENT_COST_CURRENCY, "str"),
}

# An attribute's value as the column's type. Writers may put a whole number in a double (or,
# rarely, an int in a double's place); strings stay strings.
_TYPED = {
    "str": "{v}.stringValue",
    "int": "coalesce(TRY_CAST({v}.intValue AS BIGINT), CAST({v}.doubleValue AS BIGINT))",
    "float": "coalesce({v}.doubleValue, TRY_CAST({v}.intValue AS DOUBLE))",
    "bool": "{v}.boolValue",
}

VIEWS = f"""
CREATE OR REPLACE TEMP VIEW chat_calls AS
    SELECT * FROM spans WHERE operation = '{sc.OPERATION_CHAT}' OR (operation IS NULL AND name LIKE 'chat %');
CREATE OR REPLACE TEMP VIEW agent_runs AS
    SELECT * FROM spans WHERE operation = '{sc.OPERATION_AGENT}';
CREATE OR REPLACE TEMP VIEW findings AS
    SELECT trace_id, span_id, model, f.rule AS rule, f.severity AS severity
    FROM (SELECT trace_id, span_id, model, unnest(findings) AS f FROM spans);
"""


@dataclass
class Loaded:
    files: list[Path]
    spans: int
    repeated: int = 0  # spans read more than once, counted once


def check_memory_limit(value: str, name: str = "memory_limit") -> str:
    """``value`` if it is a size DuckDB takes and the report fits in (at least 100MB), else a
    ``ValueError`` naming ``name``: checked before DuckDB, whose parser error is a traceback and
    which takes a negative size as no limit at all."""
    match = _SIZE.fullmatch(str(value))
    unit = _UNITS.get(match[2].lower(), 0) if match else 0
    if match and float(match[1]) * unit >= _MIN_MEMORY:
        return str(value).strip()
    raise ValueError(
        f"{name} must be a size of at least 100MB such as 1GB, 512MB or 2GiB "
        f"(units KB, MB, GB, TB, KiB, MiB, GiB, TiB), got {value!r}"
    )


def connect(memory_limit: str = DEFAULT_MEMORY_LIMIT, threads: int | None = None) -> Any:
    """An in-memory DuckDB within ``memory_limit`` (it spills to a temporary directory beyond)."""
    check_memory_limit(memory_limit)
    duckdb = need("duckdb", "report", "qwenobs report")
    con = duckdb.connect(":memory:")
    con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute(f"SET threads = {int(threads or min(4, os.cpu_count() or 1))}")
    con.execute("SET preserve_insertion_order = false")
    con.execute("SET enable_progress_bar = false")
    return con


def longest_line(path: Path, chunk: int = 8 * 1024 * 1024) -> int:
    """Bytes in the longest line of an uncompressed file (a compressed one: 0, unknown).
    Read in chunks, not mapped: a mapped file's pages would count in the process's RSS."""
    if path.suffix in (".gz", ".zst"):
        return 0
    longest = current = 0
    with path.open("rb", buffering=0) as f:
        while block := f.read(chunk):
            start = 0
            while (end := block.find(b"\n", start)) >= 0:
                longest = max(longest, current + end - start)
                current, start = 0, end + 1
            current += len(block) - start
    return max(longest, current)


def _object_size(files: Sequence[Path]) -> int:
    """``maximum_object_size`` for these files: DuckDB needs the longest line to fit, but sizes
    far above it cost memory per thread, so the next power of two over the longest line."""
    longest = max((longest_line(p) for p in files), default=0)
    size = _MIN_OBJECT
    while size <= longest:
        size *= 2
    return size


def _attribute_columns() -> str:
    # The keys listed once, then a native list_position per attribute: 2.7 times cheaper than a
    # list_filter lambda per attribute, which was cheaper than building a map (measured).
    return ",\n           ".join(
        f"s.attributes[list_position(keys, '{key}')].value AS \"{column}\""
        for column, (key, _) in COLUMNS.items()
    )


def _select_columns() -> str:
    return ",\n       ".join(
        _TYPED[kind].format(v=f'flat."{column}"') + f" AS {column}"
        for column, (_, kind) in COLUMNS.items()
    )


def load_files(con: Any, files: Sequence[Path]) -> Loaded:
    """Create the ``spans`` table (and the report's views) from OTLP/JSON lines files."""
    if not files:
        raise ValueError("no spans files to read")
    for path in files:
        _check_first_line(path)
    names = "[" + ", ".join("'" + str(p).replace("'", "''") + "'" for p in files) + "]"
    duckdb = need("duckdb", "report", "qwenobs report")
    try:
        try:
            _create(con, names, _MIN_OBJECT)
        except duckdb.Error as exc:
            if "maximum_object_size" not in str(exc):
                raise
            # Lines longer than 16 MiB (a Collector batch of thousands of spans): measure them
            # only now, since scanning costs about a second per 2 GB.
            object_size = _object_size(files)
            if object_size > 64 * 1024 * 1024:
                con.execute("SET threads = 1")  # one huge line per thread would not fit
            _create(con, names, object_size)
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        cut = re.search(r"Unexpected end of GZIP stream: (.+)$", first)
        if cut:  # cut after its first line (a cut within it is found by _check_first_line)
            raise _cut_short(Path(cut[1]), "its gzip stream ends before its end marker") from None
        shown = ", ".join(map(str, files[:3])) + (" ..." if len(files) > 3 else "")
        raise ValueError(f"cannot read the spans in {shown}: {first}") from None
    repeated = _drop_repeated_spans(con)
    con.execute(VIEWS)
    (count,) = con.execute("SELECT count(*) FROM spans").fetchone()
    return Loaded(list(files), count, repeated)


def _drop_repeated_spans(con: Any) -> int:
    """Keep one of the spans read more than once (a copy of a file under another name, two
    exporters of one service), known by their trace and span ids; returns how many went.
    Counting first costs one hash pass; the table is rewritten only when there are any."""
    (repeated,) = con.execute(
        "SELECT count(*) - count(DISTINCT (trace_id, span_id)) FROM spans"
    ).fetchone()
    if repeated:
        con.execute(
            "CREATE OR REPLACE TABLE spans AS SELECT DISTINCT ON (trace_id, span_id) * FROM spans"
        )
    return int(repeated)


def _cut_short(path: Path, what: str) -> ValueError:
    return ValueError(
        f"cannot read {path}: it is cut short ({what}); a compressed spans file is read whole "
        "or not at all"
    )


def _check_first_line(path: Path) -> None:
    """A file whose first line is not an OTLP/JSON export is refused before DuckDB reads it all:
    JSON lines of another kind would otherwise make an empty report. A zstd file cut short is
    refused too: DuckDB reads it as far as it can without a word, even as empty."""
    if path.suffix == ".zst":
        if not _zstd_complete(path):
            raise _cut_short(path, "its zstd stream ends inside a frame")
        return  # DuckDB decompresses these itself; it reports what else it cannot read
    try:
        with open_lines(path) as lines:
            first = next((line for line in lines if line.strip()), None)
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from None
    except EOFError:  # gzip: the cut is within the first line (DuckDB finds later ones)
        raise _cut_short(path, "its gzip stream ends before its end marker") from None
    if first is None:
        return  # an empty file: no spans yet
    try:
        document = json.loads(first)
    except ValueError:
        document = None
    if not isinstance(document, dict) or "resourceSpans" not in document:
        raise ValueError(
            f"{path} is not OTLP/JSON lines: its first line is not an export with "
            "resourceSpans (write spans with instrument(spans_file=...) or the Collector's "
            "file exporter)"
        )


def _zstd_complete(path: Path) -> bool:
    """Whether every zstd frame in ``path`` is whole: walks the frame and block headers
    (RFC 8878), reading a few bytes per block of up to 128 KiB and decompressing nothing."""
    with path.open("rb") as f:
        size = os.fstat(f.fileno()).st_size
        at = 0
        while at < size:
            f.seek(at)
            head = f.read(5)
            if len(head) < 4:
                return False
            magic = int.from_bytes(head[:4], "little")
            if magic & 0xFFFFFFF0 == 0x184D2A50:  # a skippable frame: its length, then data
                f.seek(at + 4)
                length = f.read(4)
                if len(length) < 4:
                    return False
                at += 8 + int.from_bytes(length, "little")
                continue
            if magic != 0xFD2FB528:
                return True  # not zstd after all: DuckDB says what it is
            if len(head) < 5:
                return False
            descriptor = head[4]
            fcs = (0, 2, 4, 8)[descriptor >> 6] or (1 if descriptor & 0x20 else 0)
            at += 5 + (0 if descriptor & 0x20 else 1) + (0, 1, 2, 4)[descriptor & 3] + fcs
            last = False
            while not last:
                f.seek(at)
                block = f.read(3)
                if len(block) < 3:
                    return False
                header = int.from_bytes(block, "little")
                last, kind, length = bool(header & 1), (header >> 1) & 3, header >> 3
                at += 3 + (1 if kind == 1 else length)  # an RLE block stores one byte
            at += 4 if descriptor & 0x04 else 0  # the content checksum
        return at == size


def _create(con: Any, names: str, object_size: int) -> None:
    validation = sc.VALIDATION_EVENT
    con.execute(
        f"""
CREATE OR REPLACE TABLE spans AS
WITH doc AS (
    SELECT json_transform(json, '{_SCHEMA}') AS d
    FROM read_json_objects({names}, format = 'newline_delimited',
                           maximum_object_size = {object_size}, ignore_errors = false)),
rs AS (SELECT unnest(d.resourceSpans) AS rs FROM doc),
ss AS (SELECT list_filter(rs.resource.attributes, lambda x: x.key = 'service.name')[1]
              .value.stringValue AS service,
              unnest(rs.scopeSpans) AS ss FROM rs),
sp AS (SELECT service, unnest(ss.spans) AS s FROM ss),
keyed AS (SELECT service, s, list_transform(s.attributes, lambda x: x.key) AS keys FROM sp),
flat AS (
    SELECT service, s.name AS name, lower(s.traceId) AS trace_id, lower(s.spanId) AS span_id,
           lower(nullif(s.parentSpanId, '')) AS parent_span_id,
           CAST(s.startTimeUnixNano AS HUGEINT) AS start_ns,
           CAST(s.endTimeUnixNano AS HUGEINT) AS end_ns,
           coalesce(s.status.code, 0) AS status_code,
           list_transform(list_filter(s.events, lambda e: e.name = '{validation}'),
               lambda e: {{rule: list_filter(e.attributes, lambda x: x.key = 'rule')[1].value.stringValue,
                          severity: list_filter(e.attributes, lambda x: x.key = 'severity')[1].value.stringValue}})
               AS findings,
           {_attribute_columns()}
    FROM keyed)
SELECT trace_id, span_id, parent_span_id, name, service,
       make_timestamp(CAST(start_ns // 1000 AS BIGINT)) AS ts,
       CAST(end_ns - start_ns AS DOUBLE) / 1e9 AS duration_s,
       status_code = 2 AS is_error,
       findings,
       {_select_columns()}
FROM flat
"""
    )
