"""The report's SQL ports to ClickHouse: the fixed trace file, loaded into an ``otel_traces`` table
as the Collector's ClickHouse exporter would write it, gives the same figures through
``queries.clickhouse_views`` and the ClickHouse dialect as through DuckDB.

ClickHouse is chdb (ClickHouse's embedded engine), in its own virtualenv because of its size
(`make clickhouse`; `make test` builds it); a quick local run skips this without it."""

from __future__ import annotations

import datetime
import json
import math
import os
import subprocess
from pathlib import Path

import pytest

from qwenobs.otlp_json import read_spans
from qwenobs.report import aggregate

from .conftest import FIXTURE

pytestmark = pytest.mark.clickhouse
ROOT = Path(__file__).parents[2]
CHDB_PYTHON = ROOT / ".venv-chdb" / "bin" / "python"
_KIND = {0: "Unspecified", 1: "Internal", 2: "Server", 3: "Client", 4: "Producer", 5: "Consumer"}
_STATUS = {0: "Unset", 1: "Ok", 2: "Error"}


def as_string(value) -> str:
    """An attribute value as the exporter stores it (pcommon.Value.AsString)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def stamp(ns: int) -> str:
    """A DateTime64(9) as ClickHouse reads it from JSON."""
    seconds = datetime.datetime.fromtimestamp(ns // 10**9, datetime.timezone.utc)
    return f"{seconds:%Y-%m-%d %H:%M:%S}.{ns % 10**9:09d}"


def otel_traces_rows(path: Path) -> list[dict]:
    rows = []
    for s in read_spans([path]):
        rows.append(
            {
                "Timestamp": stamp(s.start_unix_nano),
                "TraceId": s.trace_id,
                "SpanId": s.span_id,
                "ParentSpanId": s.parent_span_id or "",
                "TraceState": "",
                "SpanName": s.name,
                "SpanKind": _KIND[s.kind],
                "ServiceName": s.resource.get("service.name", ""),
                "ResourceAttributes": {k: as_string(v) for k, v in s.resource.items()},
                "ScopeName": s.scope,
                "ScopeVersion": "",
                "SpanAttributes": {k: as_string(v) for k, v in s.attributes.items()},
                "Duration": s.end_unix_nano - s.start_unix_nano,
                "StatusCode": _STATUS[s.status_code],
                "StatusMessage": s.status_message,
                "Events.Timestamp": [stamp(e.time_unix_nano) for e in s.events],
                "Events.Name": [e.name for e in s.events],
                "Events.Attributes": [
                    {k: as_string(v) for k, v in e.attributes.items()} for e in s.events
                ],
                "Links.TraceId": [],
                "Links.SpanId": [],
                "Links.TraceState": [],
                "Links.Attributes": [],
            }
        )
    return rows


def same(a, b) -> bool:
    if isinstance(a, datetime.datetime):  # ClickHouse's JSON: '2026-11-18 11:06:48.898743000'
        b = datetime.datetime.fromisoformat(str(b)[:26])
        return abs((a - b).total_seconds()) < 1e-6
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def test_the_same_figures_on_clickhouse_as_on_duckdb(tmp_path):
    if not CHDB_PYTHON.exists():
        message = "chdb is not installed: run `make clickhouse` (CI does it through `make test`)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    rows = tmp_path / "otel_traces.jsonl"
    rows.write_text("".join(json.dumps(r) + "\n" for r in otel_traces_rows(FIXTURE)))
    done = subprocess.run(
        [str(CHDB_PYTHON), str(Path(__file__).with_name("clickhouse_check.py")), str(rows)],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    clickhouse = json.loads(done.stdout)
    duckdb = aggregate([FIXTURE]).results
    assert clickhouse["unit"] == duckdb.unit
    assert set(clickhouse["tables"]) == set(duckdb.tables)
    differences = []
    for name, expected in duckdb.tables.items():
        got = clickhouse["tables"][name]
        if len(got) != len(expected):
            differences.append(f"{name}: {len(got)} rows on ClickHouse, {len(expected)} on DuckDB")
            continue
        for i, (want, have) in enumerate(zip(expected, got, strict=True)):
            for key, value in want.items():
                if not same(value, have.get(key)):
                    differences.append(
                        f"{name}[{i}].{key}: DuckDB {value!r}, ClickHouse {have.get(key)!r}"
                    )
    assert differences == []
