"""How long does `qwenobs report` take on 1,000,000 chat spans, and how much memory?

The spans are synthetic OTLP/JSON lines in the shape qwenobs writes (qwenobs.report.synthetic:
4 models on 2 endpoints, 21-31 attributes a chat span, streams, thinking, errors, validation
events, cost; agent runs with tool spans around 15% of the calls; 1,000 spans a line), written
once to a scratch file and kept for the next run. The report runs in a child process, so its
wall time, CPU seconds and peak RSS are the report's alone; the machine's load average is
printed beside them, since these 2-core machines are shared.

    python benchmarks/bench_report.py              # 1,000,000 chat spans
    python benchmarks/bench_report.py --spans 100000
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = """
import sys, time
from qwenobs.report import build
started = time.perf_counter()
summary = build([sys.argv[1]], sys.argv[2], memory_limit=sys.argv[3])
print(f"{summary.spans} {summary.chat_calls} {time.perf_counter() - started:.2f}")
"""


def spans_file(chat_spans: int, seed: int) -> Path:
    from qwenobs.report import synthetic

    path = Path(tempfile.gettempdir()) / f"qwenobs-bench-report-{chat_spans}-{seed}.jsonl"
    if not path.exists():
        started = time.perf_counter()
        partial = path.with_suffix(".partial")
        total = synthetic.write(partial, chat_spans, seed=seed)
        partial.rename(path)
        print(f"wrote {total:,} spans to {path} in {time.perf_counter() - started:.0f} s")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=1_000_000, help="chat spans (default 1M)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--memory-limit", default="1GB", help="DuckDB's (default 1GB)")
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()

    path = spans_file(args.spans, args.seed)
    print(f"input: {path.stat().st_size / 1e9:.2f} GB, {args.spans:,} chat spans")
    for run in range(args.runs):
        load = os.getloadavg()[0]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        with tempfile.TemporaryDirectory() as scratch:
            out = Path(scratch) / "report.html"
            done = subprocess.run(
                [sys.executable, "-c", CHILD, str(path), str(out), args.memory_limit],
                capture_output=True,
                text=True,
                check=True,
            )
            size = out.stat().st_size
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        spans, chats, inner = done.stdout.split()
        print(
            f"run {run + 1}: {int(spans):,} spans ({int(chats):,} chat calls) -> "
            f"{size / 1e6:.1f} MB page in {wall:.1f} s wall ({float(inner):.1f} s inside build), "
            f"{cpu:.1f} CPU s, peak RSS {after.ru_maxrss / 1024**2:.2f} GiB, "
            f"load average before {load:.1f}"
        )


if __name__ == "__main__":
    main()
