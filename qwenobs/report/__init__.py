"""``qwenobs report``: one self-contained HTML page of plots from traces.

    load      spans files (OTLP/JSON lines: the Collector's file exporter, qwenobs's spans file,
              a pytest run's) and Phoenix into DuckDB       -> load.py, phoenix.py
    aggregate SQL that ports to ClickHouse                  -> queries.py
    render    one HTML file, plotly.js embedded once        -> render.py

Needs the ``report`` extra (DuckDB, Plotly); importing this package needs nothing.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..otlp_json import spans_files
from . import phoenix

__all__ = ["Summary", "build"]


@dataclass
class Summary:
    """What ``build`` read and wrote."""

    output: Path
    files: list[Path]
    spans: int
    chat_calls: int
    unit: str


def build(
    sources: Sequence[str | Path],
    output: str | Path,
    *,
    title: str = "Qwen calls",
    trace_url: str | None = None,
    memory_limit: str = "1GB",
    threads: int | None = None,
) -> Summary:
    """Read the spans in ``sources`` (files, directories, ``phoenix://host:port``) and write the
    report to ``output``. ``trace_url``: a link for each trace id, e.g.
    ``http://localhost:16686/trace/{trace_id}``. ``memory_limit``: DuckDB's (it spills beyond)."""
    from . import load, queries, render

    if not sources:
        raise ValueError("sources: give at least one spans file, directory or phoenix:// URL")
    if trace_url is not None and "{trace_id}" not in trace_url:
        raise ValueError(f"trace_url must contain {{trace_id}}, got {trace_url!r}")
    output = Path(output)
    con = load.connect(memory_limit, threads)
    with tempfile.TemporaryDirectory(prefix="qwenobs-report-") as scratch:
        con.execute(f"SET temp_directory = '{scratch}'")
        files: list[Path] = []
        for source in map(str, sources):
            if phoenix.is_phoenix(source):
                fetched = Path(scratch) / f"phoenix-{len(files)}.jsonl"
                phoenix.write_lines(source, fetched)
                files.append(fetched)
            else:
                files += spans_files([source])
        loaded = load.load_files(con, files)

        def execute(sql: str) -> queries.Rows:
            cursor = con.execute(sql)
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

        results = queries.run(execute)
        con.close()
    page = render.render(
        results, title=title, sources=[str(s) for s in sources], trace_url=trace_url
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(page, encoding="utf-8")
    return Summary(
        output=output,
        files=[f for f in files if not str(f).startswith(scratch)],
        spans=loaded.spans,
        chat_calls=results["totals"][0]["calls"],
        unit=results.unit,
    )
