"""Run the report's queries on ClickHouse (chdb, in its own virtualenv: `make clickhouse`).

    .venv-chdb/bin/python tests/report/clickhouse_check.py ROWS.jsonl

ROWS.jsonl holds ``otel_traces`` rows as the Collector's ClickHouse exporter writes them (see
test_clickhouse.py). This creates that table, the report's views over it
(``queries.clickhouse_views``), runs every query in the ClickHouse dialect and prints the
results as JSON on stdout.
"""

from __future__ import annotations

import json
import sys
import tempfile

from chdb import session

from qwenobs.report import queries

# The exporter's traces_table.sql, less its indexes, TTL and codecs.
OTEL_TRACES = """
CREATE TABLE otel_traces (
    Timestamp DateTime64(9) CODEC(Delta, ZSTD(1)),
    TraceId String, SpanId String, ParentSpanId String, TraceState String,
    SpanName LowCardinality(String), SpanKind LowCardinality(String),
    ServiceName LowCardinality(String),
    ResourceAttributes Map(LowCardinality(String), String),
    ScopeName String, ScopeVersion String,
    SpanAttributes Map(LowCardinality(String), String),
    Duration UInt64,
    StatusCode LowCardinality(String), StatusMessage String,
    Events Nested (Timestamp DateTime64(9), Name LowCardinality(String),
                   Attributes Map(LowCardinality(String), String)),
    Links Nested (TraceId String, SpanId String, TraceState String,
                  Attributes Map(LowCardinality(String), String))
) ENGINE = MergeTree PARTITION BY toDate(Timestamp)
ORDER BY (ServiceName, SpanName, toDateTime(Timestamp))
"""


def main(rows_path: str) -> None:
    with tempfile.TemporaryDirectory() as data:
        db = session.Session(data)
        db.query(OTEL_TRACES)
        db.query(f"INSERT INTO otel_traces FROM INFILE '{rows_path}' FORMAT JSONEachRow")
        for statement in queries.clickhouse_views().split(";"):
            if statement.strip():
                db.query(statement)

        def execute(sql: str) -> queries.Rows:
            text = str(
                db.query(
                    sql
                    + " SETTINGS cast_keep_nullable = 1, output_format_json_quote_64bit_integers = 0",
                    "JSONEachRow",
                )
            )
            return [json.loads(line) for line in text.splitlines() if line.strip()]

        results = queries.run(execute, queries.CLICKHOUSE)
        db.close()
    json.dump({"unit": results.unit, "tables": results.tables}, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1])
