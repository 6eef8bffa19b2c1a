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
from typing import Any

from ..otlp_json import spans_files
from . import phoenix

__all__ = ["Summary", "aggregate", "build"]


@dataclass
class Summary:
    """What ``build`` read and wrote."""

    output: Path | None
    files: list[Path]  # the spans files read (Phoenix's spans are fetched into a scratch file)
    spans: int
    chat_calls: int
    results: Any  # queries.Results: every table the page is drawn from
    repeated: int = 0  # spans found more than once (by trace and span id), counted once


def aggregate(
    sources: Sequence[str | Path], *, memory_limit: str = "1GB", threads: int | None = None
) -> Summary:
    """Read the spans in ``sources`` (files, directories, ``phoenix://host:port``) and run the
    report's queries on them. ``memory_limit``: DuckDB's (it spills to disk beyond)."""
    from . import load, queries

    if not sources:
        raise ValueError("sources: give at least one spans file, directory or phoenix:// URL")
    con = load.connect(memory_limit, threads)
    try:
        with tempfile.TemporaryDirectory(prefix="qwenobs-report-") as scratch:
            con.execute(f"SET temp_directory = '{scratch}'")
            files: list[Path] = []
            read: list[Path] = []
            for source in map(str, sources):
                if phoenix.is_phoenix(source):
                    fetched = Path(scratch) / f"phoenix-{len(files)}.jsonl"
                    phoenix.write_lines(source, fetched)
                    files.append(fetched)
                else:  # a file named twice, or a rotated copy its live file brings too: once
                    found = [p for p in spans_files([source]) if p not in read]
                    files += found
                    read += found
            loaded = load.load_files(con, files)

            def execute(sql: str) -> queries.Rows:
                cursor = con.execute(sql)
                names = [d[0] for d in cursor.description]
                return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

            results = queries.run(execute)
    finally:
        con.close()
    calls = results["totals"][0]["calls"]
    return Summary(None, read, loaded.spans, calls, results, loaded.repeated)


def build(
    sources: Sequence[str | Path],
    output: str | Path,
    *,
    title: str = "Qwen calls",
    trace_url: str | None = None,
    memory_limit: str = "1GB",
    threads: int | None = None,
) -> Summary:
    """Write the report of the spans in ``sources`` to ``output`` (see ``aggregate``).
    ``trace_url``: a link for each trace id, e.g. ``http://localhost:16686/trace/{trace_id}``."""
    from . import render

    if trace_url is not None and "{trace_id}" not in trace_url:
        raise ValueError(f"trace_url must contain {{trace_id}}, got {trace_url!r}")
    summary = aggregate(sources, memory_limit=memory_limit, threads=threads)
    page = render.render(
        summary.results, title=title, sources=[str(s) for s in sources], trace_url=trace_url
    )
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(page, encoding="utf-8")
    summary.output = output
    return summary
