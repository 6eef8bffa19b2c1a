"""What the pytest plugin costs a suite that never uses it.

The plugin loads in every pytest run of every project that installs qwenobs. This measures, in the
same run and interleaved so machine noise hits both sides alike:
  - importing the plugin module (a fresh interpreter each time, bytecode cached);
  - `pytest --collect-only` and a full run of a generated suite of N trivial tests, with the plugin
    (`-p qwenobs`, the default) and without it (`-p no:qwenobs`).
Prints medians and the ratio; never pass/fail.

    python benchmarks/bench_plugin.py [--tests 2000] [--repeat 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

IMPORT_PROBE = (
    "import time, pytest; t = time.perf_counter(); import pytest_qwenobs.plugin; "
    "print(time.perf_counter() - t)"
)


def make_suite(root: Path, tests: int, per_module: int = 50) -> None:
    (root / "pytest.ini").write_text(
        "[pytest]\nasyncio_default_fixture_loop_scope = function\n", encoding="utf-8"
    )
    for start in range(0, tests, per_module):
        body = "".join(
            f"def test_{i}():\n    assert {i} == {i}\n\n"
            for i in range(start, min(start + per_module, tests))
        )
        (root / f"test_m{start // per_module}.py").write_text(body, encoding="utf-8")


def env() -> dict[str, str]:
    # Bytecode caching on, as in a developer's checkout or CI after the first run.
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def timed(args: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(args, cwd=cwd, env=env(), check=True, capture_output=True)
    return time.perf_counter() - started


def import_seconds() -> float:
    out = subprocess.run(
        [sys.executable, "-c", IMPORT_PROBE], env=env(), check=True, capture_output=True, text=True
    )
    return float(out.stdout)


def pytest_args(*extra: str) -> list[str]:
    return [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=7)
    options = parser.parse_args()

    import_seconds()  # writes the bytecode cache
    imports = sorted(import_seconds() for _ in range(options.repeat * 3))
    print(f"import pytest_qwenobs.plugin: median {statistics.median(imports) * 1e3:.2f} ms")

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_suite(root, options.tests)
        scenarios = {
            "collect-only": ("--collect-only",),
            "full run": (),
        }
        for label, extra in scenarios.items():
            runs: dict[str, list[float]] = {"without": [], "with": []}
            timed(pytest_args(*extra), root)  # warm the file cache and bytecode
            for _ in range(options.repeat):
                runs["without"].append(timed(pytest_args("-p", "no:qwenobs", *extra), root))
                runs["with"].append(timed(pytest_args(*extra), root))
            without = statistics.median(runs["without"])
            with_ = statistics.median(runs["with"])
            print(
                f"{label:<13} {options.tests} tests: without plugin {without:.3f} s, "
                f"with {with_:.3f} s, ratio {with_ / without:.3f} "
                f"({(with_ - without) * 1e3:+.0f} ms)"
            )


if __name__ == "__main__":
    main()
