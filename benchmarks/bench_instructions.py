"""Instructions and cache misses qwenobs adds per call and per chunk, counted by valgrind.

    .venv/bin/python benchmarks/bench_instructions.py     # about 6 minutes on 2 cores

Timings on shared machines drift by several percent; instruction counts do not. Each workload of
``bench_instrument.py`` runs under ``valgrind --tool=cachegrind`` (simulated 32 KiB L1 caches)
twice, with N and 2N calls after the same warm-up, so start-up cancels out of the difference;
PYTHONHASHSEED is fixed so dict layouts repeat. Variants: bare, the floor (the SDK span alone:
qwenobs's span copied, emitted as constants) and qwenobs, as in bench_instrument.py, and for the
non-streaming call qwenobs with no meter provider (traces only, as the peers comparison runs).
Needs valgrind (``apt-get install valgrind``).

Instructions are not time: the extra code also misses the CPU caches more often than the SDK's
own hot loop, which is why the timed ratios come out higher than these.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
COUNTERS = {"instructions": "I   refs", "L1i misses": "I1  misses", "L1d misses": "D1  misses"}
# workload -> (calls in the short run, what one unit is)
WORKLOADS = {"ns": (100, "call"), "long": (4, "stream"), "short": (4, "stream")}


def worker(variant: str, workload: str, n: int) -> None:
    """Run inside valgrind: warm up, then ``n`` units of ``workload`` under ``variant``."""
    sys.path.insert(0, HERE)
    import rig as b

    rig = b.Rig()
    rig.set(variant)
    if workload == "ns":
        run = rig.ns_call
    else:
        client = rig.c_long if workload == "long" else rig.c_short
        run = lambda: rig.stream_call(client)  # noqa: E731
    for i in range(n + 20):
        run()
        if i % 50 == 49:
            rig.metrics.get_metrics_data()
            rig.spans.clear()
    rig.metrics.get_metrics_data()


def count(variant: str, workload: str, n: int) -> dict[str, int]:
    cmd = [
        "valgrind",
        "--tool=cachegrind",
        "--cache-sim=yes",
        "--cachegrind-out-file=/dev/null",
        sys.executable,
        __file__,
        "--worker",
        variant,
        workload,
        str(n),
    ]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stderr
    return {
        name: int(re.search(re.escape(label) + r":\s+([\d,]+)", out).group(1).replace(",", ""))
        for name, label in COUNTERS.items()
    }


def main() -> None:
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed: apt-get install valgrind")
    variants = {
        "ns": ("bare", "floor", "qwenobs", "qwenobs-no-meter"),
        "long": ("bare", "qwenobs"),
    }
    variants["short"] = variants["long"]
    jobs = [(v, w, n * k) for w, (n, _) in WORKLOADS.items() for v in variants[w] for k in (1, 2)]
    print(f"{len(jobs)} valgrind runs ...", file=sys.stderr)
    with ThreadPoolExecutor(os.cpu_count() or 2) as pool:
        results = dict(zip(jobs, pool.map(lambda job: count(*job), jobs), strict=True))

    def per_unit(v: str, w: str) -> dict[str, float]:
        n = WORKLOADS[w][0]
        small, large = results[(v, w, n)], results[(v, w, 2 * n)]
        return {c: (large[c] - small[c]) / n for c in COUNTERS}

    print("# Instructions and L1 misses (valgrind cachegrind)\n")
    print("## Per non-streaming call\n")
    print("| variant | " + " | ".join(f"{c} / call | Δ vs bare" for c in COUNTERS) + " |")
    print("|---|" + "---:|---:|" * len(COUNTERS))
    bare = per_unit("bare", "ns")
    for v in variants["ns"]:
        row = per_unit(v, "ns")
        cells = [
            f"{row[c]:,.0f} | " + ("" if v == "bare" else f"{(row[c] / bare[c] - 1) * 100:+.2f}%")
            for c in COUNTERS
        ]
        print(f"| {v} | " + " | ".join(cells) + " |")

    print("\n## Per stream chunk (slope between 222- and 22-chunk streams)\n")
    print("| counter | bare per chunk | qwenobs Δ per chunk | Δ % |")
    print("|---|---:|---:|---:|")
    long_b, long_q = per_unit("bare", "long"), per_unit("qwenobs", "long")
    short_b, short_q = per_unit("bare", "short"), per_unit("qwenobs", "short")
    for c in COUNTERS:
        bare_chunk = (long_b[c] - short_b[c]) / 200
        delta = ((long_q[c] - long_b[c]) - (short_q[c] - short_b[c])) / 200
        print(f"| {c} | {bare_chunk:,.0f} | {delta:+,.0f} | {delta / bare_chunk * 100:+.2f}% |")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        worker(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        main()
