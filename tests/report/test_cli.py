"""`qwenobs report` as a user runs it: on a Collector file exporter's output, on qwenobs's spans
file, on a pytest run's --qwen-spans-file, and what it says when it cannot."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
import textwrap

import openai
import pytest
from opentelemetry.sdk.trace import TracerProvider

import qwenobs
from qwenobs import demo
from qwenobs.cli import main
from qwenobs.fake import FakeDashScope
from qwenobs.otlp_json import read_spans

from .conftest import FIXTURE

pytest.importorskip("duckdb")


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["report", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_collector_file_with_its_rotated_and_gzipped_backups(tmp_path, capsys, expected):
    # As the Collector writes it: upper-case ids, a rotated (timberjack) backup, gzip by hand.
    request = json.loads(gzip.decompress(FIXTURE.read_bytes()))
    spans = request["resourceSpans"][0]["scopeSpans"][0]["spans"]
    for span in spans:
        span["traceId"] = span["traceId"].upper()
    half = len(spans) // 2
    for name, part in (("traces-2026-11-30T08-00-00.000-size.json.gz", spans[:half]),
                       ("traces.json", spans[half:])):  # fmt: skip
        request["resourceSpans"][0]["scopeSpans"][0]["spans"] = part
        text = json.dumps(request) + "\n"
        path = tmp_path / name
        path.write_bytes(gzip.compress(text.encode()) if name.endswith(".gz") else text.encode())
    code, out, err = run(capsys, tmp_path / "traces.json", "-o", tmp_path / "r.html")
    assert (code, err) == (0, "")
    assert f"{expected['calls']:,} chat calls" in out
    page = (tmp_path / "r.html").read_text()
    assert f'<div class="value">{expected["calls"]:,}</div>' in page
    assert f"<code>{expected['slowest']}</code>" in page  # ids read in lower case


def test_qwenobs_spans_file_from_the_demo(tmp_path, capsys):
    path = tmp_path / "spans.jsonl"
    qwenobs.uninstrument()
    qwenobs.instrument(tracer_provider=TracerProvider(), spans_file=path)
    fake = FakeDashScope()
    demo.script(fake)
    try:
        with fake.intercept():
            client = openai.OpenAI(api_key="sk-test", base_url=demo.BASE_URL)
            demo.agent(client, "Umbrella?")
            demo.thinking(client)
            demo.json_mode(client)
            demo.orphan(client)
    finally:
        qwenobs.uninstrument()
    code, out, _ = run(capsys, path, "-o", tmp_path / "demo.html")
    assert code == 0 and "5 chat calls from 8 spans" in out
    page = (tmp_path / "demo.html").read_text()
    assert "QwenValidationError" in page and "travel-weather" in page


def test_a_pytest_runs_spans_file(tmp_path, capsys):
    (tmp_path / "test_app.py").write_text(
        textwrap.dedent(
            """
            def test_answer(qwen_fake, qwen_spans):
                qwen_fake.reply("Sunny.")
                qwen_fake.client().chat.completions.create(
                    model="qwen-flash", messages=[{"role": "user", "content": "weather?"}],
                    max_tokens=16)
                assert len(qwen_spans.chat()) == 1

            def test_two(qwen_fake, qwen_spans):
                qwen_fake.reply("a")
                qwen_fake.reply("b")
                for _ in range(2):
                    qwen_fake.client().chat.completions.create(
                        model="qwen-plus", messages=[{"role": "user", "content": "hi"}],
                        max_tokens=16)

            def test_without_spans(qwen_fake):
                pass
            """
        )
    )
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--qwen-spans-file",
         "out/spans.jsonl", "test_app.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    spans = list(read_spans([tmp_path / "out" / "spans.jsonl"]))
    assert sorted(s.resource["test.case.name"] for s in spans) == [
        "test_app.py::test_answer", "test_app.py::test_two", "test_app.py::test_two",
    ]  # fmt: skip
    code, out, _ = run(capsys, tmp_path / "out" / "spans.jsonl", "-o", tmp_path / "r.html")
    assert code == 0 and "3 chat calls" in out


@pytest.mark.parametrize(
    ("content", "args", "expected"),
    [
        (None, [], "no spans file"),
        ("{not json\n", [], "is not OTLP/JSON lines"),
        ('{"foo": 1}\n', [], "is not OTLP/JSON lines: its first line is not an export"),
        (
            '{"resourceSpans":[]}\n',
            ["--trace-url", "http://x/"],
            "trace_url must contain {trace_id}",
        ),
        ('{"resourceSpans":[]}\n', [], None),  # no spans: a page that says so
    ],
)
def test_bad_input_exits_2_with_one_line(tmp_path, capsys, content, args, expected):
    path = tmp_path / "spans.jsonl"
    if content is not None:
        path.write_text(content)
    code, out, err = run(capsys, path, "-o", tmp_path / "r.html", *args)
    if expected is None:
        assert code == 0 and "0 chat calls" in out
        assert "These spans hold no chat calls" in (tmp_path / "r.html").read_text()
        return
    assert code == 2 and out == ""
    assert expected in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_without_the_report_extra_it_names_the_extra(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "duckdb", None)  # import duckdb fails
    path = tmp_path / "spans.jsonl"
    path.write_text('{"resourceSpans":[]}\n')
    code, _, err = run(capsys, path)
    assert code == 2
    assert (
        err.strip() == "qwenobs report: qwenobs report needs duckdb: pip install 'qwenobs[report]'"
    )


def test_a_zstd_stream(tmp_path, capsys, expected):
    # The Collector's native zstd (exporter.file.nativeCompression) is a plain zstd stream.
    zstd = shutil.which("zstd")
    if zstd is None:
        pytest.skip("the zstd command is not installed")
    plain = tmp_path / "traces.json"
    plain.write_bytes(gzip.decompress(FIXTURE.read_bytes()))
    subprocess.run([zstd, "-q", "--rm", str(plain)], check=True)
    code, out, _ = run(capsys, tmp_path / "traces.json.zst", "-o", tmp_path / "r.html")
    assert code == 0 and f"{expected['calls']:,} chat calls" in out


def test_a_loop_guard_stop_and_the_cost_from_live_instrumentation(tmp_path):
    from qwenobs.report import aggregate

    path = tmp_path / "spans.jsonl"
    qwenobs.uninstrument()
    qwenobs.instrument(tracer_provider=TracerProvider(), spans_file=path)
    fake = FakeDashScope()
    fake.reply(tool_calls=[{"name": "get_weather", "arguments": {"city": "Hangzhou"}}], repeat=True)
    messages = [{"role": "user", "content": "Umbrella?"}]
    try:
        with fake.intercept(), pytest.raises(qwenobs.AgentLoopError):
            client = openai.OpenAI(api_key="sk-test", base_url=demo.BASE_URL)
            with qwenobs.agent("looper", max_rounds=2):
                while True:
                    message = (
                        client.chat.completions.create(
                            model="qwen-plus", messages=messages, tools=demo.TOOLS, max_tokens=64
                        )
                        .choices[0]
                        .message
                    )
                    messages.append(message)
                    for call in message.tool_calls:
                        messages.append(
                            {"role": "tool", "tool_call_id": call.id, "content": "rain"}
                        )
    finally:
        qwenobs.uninstrument()
    results = aggregate([path]).results
    (agent,) = results["agents"]
    assert (agent["agent"], agent["runs"], agent["loop_guard_stops"]) == ("looper", 1, 1)
    (cost,) = results["cost_by_currency"]
    assert cost["currency"] == "CNY" and cost["amount"] > 0 and cost["calls"] == 2


# -- what a new user's trial found --------------------------------------------------------------


def one_line_exit_2(code: int, out: str, err: str) -> str:
    assert (code, out) == (2, ""), err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    return err


@pytest.mark.parametrize("limit", ["lots", "-5GB", "0GB", "5", "1 GBs"])
def test_a_bad_memory_limit_is_refused_up_front(tmp_path, capsys, limit):
    path = tmp_path / "spans.jsonl"
    path.write_text('{"resourceSpans":[]}\n')
    err = one_line_exit_2(*run(capsys, path, "-o", tmp_path / "r.html", f"--memory-limit={limit}"))
    assert "--memory-limit" in err and repr(limit) in err and "1GB" in err and "512MB" in err
    assert not (tmp_path / "r.html").exists()


def test_a_good_memory_limit_is_passed_on(tmp_path, capsys):
    path = tmp_path / "spans.jsonl"
    path.write_text('{"resourceSpans":[]}\n')
    for limit in ("512MB", "1.5GiB", "2 gb"):
        code, out, err = run(capsys, path, "-o", tmp_path / "r.html", "--memory-limit", limit)
        assert (code, err) == (0, "") and "0 chat calls" in out


def several_lines(path):
    from qwenobs.report import synthetic

    synthetic.write(path, 2500, seed=3)  # 1,000 spans a line: four lines
    return path


def test_a_cut_gzip_file_is_named_not_a_traceback(tmp_path, capsys):
    whole = several_lines(tmp_path / "whole.jsonl.gz").read_bytes()
    for size in (300, len(whole) // 2, len(whole) - 20):  # inside the first line, later, at the end
        path = tmp_path / "cut.jsonl.gz"
        path.write_bytes(whole[:size])
        err = one_line_exit_2(*run(capsys, path, "-o", tmp_path / "r.html"))
        assert str(path) in err and "cut short" in err, (size, err)


def test_a_cut_zstd_file_is_named_never_an_empty_report(tmp_path, capsys):
    zstd = shutil.which("zstd")
    if zstd is None:
        pytest.skip("the zstd command is not installed")
    plain = several_lines(tmp_path / "traces.jsonl")
    subprocess.run([zstd, "-q", "--rm", str(plain)], check=True)
    whole = (tmp_path / "traces.jsonl.zst").read_bytes()
    code, out, _ = run(capsys, tmp_path / "traces.jsonl.zst", "-o", tmp_path / "r.html")
    assert code == 0 and "2,500 chat calls" in out  # the whole file passes the check
    for size in (300, len(whole) // 2, len(whole) - 20, len(whole) - 1):
        path = tmp_path / "cut.jsonl.zst"
        path.write_bytes(whole[:size])
        err = one_line_exit_2(*run(capsys, path, "-o", tmp_path / "r.html"))
        assert str(path) in err and "cut short" in err, (size, err)


def test_each_file_is_read_once_however_often_it_is_named(tmp_path, capsys, monkeypatch, expected):
    path = tmp_path / "spans.jsonl"
    path.write_bytes(gzip.decompress(FIXTURE.read_bytes()))
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(capsys, path, "./spans.jsonl", tmp_path, "-o", "r.html")
    assert code == 0 and f"{expected['calls']:,} chat calls" in out


def test_a_glob_over_rotated_copies_reads_each_once(tmp_path, capsys):
    from qwenobs.spans_file import SpansFileExporter

    path = tmp_path / "spans.jsonl"
    qwenobs.uninstrument()
    provider = TracerProvider()
    exporter = SpansFileExporter(path, max_bytes=3000, backups=3)
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    provider.add_span_processor(SimpleSpanProcessor(exporter))
    qwenobs.instrument(tracer_provider=provider)
    fake = FakeDashScope()
    try:
        with fake.intercept():
            client = openai.OpenAI(api_key="sk-test", base_url=demo.BASE_URL)
            for i in range(4):
                fake.reply(f"answer {i}")
                client.chat.completions.create(
                    model="qwen-plus",
                    messages=[{"role": "user", "content": f"q{i}"}],
                    max_tokens=16,
                )
    finally:
        qwenobs.uninstrument()
        exporter.shutdown()
    files = sorted(tmp_path.glob("spans*.jsonl"))  # what the shell makes of spans*.jsonl
    assert len(files) == 4  # the live file and three rotated copies
    code, out, _ = run(capsys, *files, "-o", tmp_path / "r.html")
    assert code == 0 and "4 chat calls from 4 spans" in out


def test_a_copy_of_a_file_counts_its_spans_once(tmp_path, capsys, expected):
    # Two names for the same spans (a copy, or two exporters of one service): by trace and span id.
    path = tmp_path / "spans.jsonl"
    path.write_bytes(gzip.decompress(FIXTURE.read_bytes()))
    (tmp_path / "copy").mkdir()
    shutil.copy(path, tmp_path / "copy" / "spans.jsonl")
    code, out, _ = run(capsys, path, tmp_path / "copy" / "spans.jsonl", "-o", tmp_path / "r.html")
    assert code == 0 and f"{expected['calls']:,} chat calls" in out
    assert "(300 repeated spans counted once)" in out
