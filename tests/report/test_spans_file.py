"""The spans file: OTLP/JSON lines as the Collector writes them, read back; rotation; several
processes appending to one file; instrument(spans_file=...)."""

from __future__ import annotations

import gzip
import json
import logging
import math
import multiprocessing
import os
import re

import openai
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode

import qwenobs
from qwenobs import demo
from qwenobs.fake import FakeDashScope
from qwenobs.otlp_json import encode_lines, read_spans, spans_files
from qwenobs.spans_file import SpansFileExporter


def finished_spans(n: int = 3, attribute_bytes: int = 10):
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("qwenobs", "9.9")
    with tracer.start_as_current_span("invoke_agent a"):
        for i in range(n):
            with tracer.start_as_current_span(f"chat m{i}", kind=SpanKind.CLIENT) as span:
                span.set_attributes(
                    {
                        "flag": True,
                        "count": 2**40,
                        "ratio": 0.5,
                        "nan": math.nan,
                        "reasons": ("stop", "length"),
                        "text": "x" * attribute_bytes,
                    }
                )
                span.add_event("dashscope.validation", {"rule": "r", "message_index": 3})
                span.set_status(Status(StatusCode.ERROR, "boom"))
    return memory.get_finished_spans()


def test_lines_follow_the_otlp_json_mapping_and_read_back():
    spans = finished_spans(1)
    (line,) = encode_lines(spans)
    request = json.loads(line)
    scope = request["resourceSpans"][0]["scopeSpans"][0]
    assert scope["scope"] == {"name": "qwenobs", "version": "9.9"}
    chat = next(s for s in scope["spans"] if s["name"] == "chat m0")
    assert chat["traceId"] == format(spans[0].context.trace_id, "032x")  # hex, not base64
    assert len(chat["spanId"]) == 16 and chat["parentSpanId"]
    assert chat["kind"] == 3 and chat["status"] == {"code": 2, "message": "boom"}
    assert isinstance(chat["startTimeUnixNano"], str)
    values = {a["key"]: a["value"] for a in chat["attributes"]}
    assert values["flag"] == {"boolValue": True}  # not an int
    assert values["count"] == {"intValue": str(2**40)}
    assert values["nan"] == {"doubleValue": "NaN"}
    assert values["reasons"] == {
        "arrayValue": {"values": [{"stringValue": "stop"}, {"stringValue": "length"}]}
    }
    read = {s.name: s for s in read_spans_from(line)}
    assert read["chat m0"].attributes["count"] == 2**40
    assert math.isnan(read["chat m0"].attributes["nan"])
    assert read["chat m0"].events[0].attributes == {"rule": "r", "message_index": 3}
    assert read["chat m0"].parent_span_id == read["invoke_agent a"].span_id


def read_spans_from(line: bytes):
    from qwenobs.otlp_json import decode_line

    return list(decode_line(line))


def test_a_large_batch_is_split_into_lines_under_the_limit():
    spans = finished_spans(6, attribute_bytes=3000)
    lines = encode_lines(spans, max_line_bytes=8000)
    assert len(lines) > 1 and all(len(line) < 8000 + 3500 for line in lines)
    assert sum(len(read_spans_from(line)) for line in lines) == 7


def test_other_writers_lines_are_read(tmp_path):
    # Upper-case ids and numbers where int64 strings are expected, as the spec's example has.
    line = {
        "resourceSpans": [{"resource": {}, "scopeSpans": [{"spans": [{
            "traceId": "5B8EFFF798038103D269B633813FC60C", "spanId": "EEE19B7EC3C1B174",
            "parentSpanId": "", "name": "chat qwen-plus", "kind": 3,
            "startTimeUnixNano": 1544712660000000000, "endTimeUnixNano": 1544712661000000000,
            "attributes": [{"key": "gen_ai.usage.input_tokens", "value": {"intValue": 42}}],
            "status": {}}]}]}]}  # fmt: skip
    path = tmp_path / "collector.json.gz"
    with gzip.open(path, "wt") as f:
        f.write(json.dumps(line) + "\n")
    (span,) = read_spans([path], trace_id="5b8efff798038103d269b633813fc60c")
    assert span.trace_id == "5b8efff798038103d269b633813fc60c" and span.parent_span_id is None
    assert span.attributes == {"gen_ai.usage.input_tokens": 42} and span.duration == 1.0


def test_rotated_siblings_are_found_oldest_first_and_the_live_file_last(tmp_path):
    names = [
        "traces.jsonl",
        "traces-2026-11-30T10-00-00.000.jsonl",  # lumberjack
        "traces-2026-12-01T10-00-00.000-size.jsonl.gz",  # timberjack, gzipped by hand
        "traces-other.jsonl",  # not a rotation
        "other.jsonl",
    ]
    for name in names:
        (tmp_path / name).write_text("")
    found = [p.name for p in spans_files([tmp_path / "traces.jsonl"])]
    assert found == names[1:3] + ["traces.jsonl"]
    with pytest.raises(FileNotFoundError, match=r"nope\.jsonl"):
        spans_files([tmp_path / "nope.jsonl"])


def test_the_exporter_rotates_and_keeps_its_backups(tmp_path):
    path = tmp_path / "spans.jsonl"
    exporter = SpansFileExporter(path, max_bytes=20_000, backups=2)
    for _ in range(12):
        exporter.export(finished_spans(3, attribute_bytes=1000))
    exporter.shutdown()
    files = spans_files([path])
    assert len(files) == 3 and files[-1] == path.resolve()
    assert all(f.stat().st_size <= 20_000 for f in files)
    assert all(len(list(read_spans([f]))) % 4 == 0 for f in files)  # whole exports only


def _write_from_process(path: str, exports: int) -> None:
    exporter = SpansFileExporter(path, max_bytes=200_000, backups=None)
    for _ in range(exports):
        exporter.export(finished_spans(2, attribute_bytes=2000))
    exporter.shutdown()


def test_several_processes_append_to_one_file_without_losing_or_tearing_a_line(tmp_path):
    path = tmp_path / "spans.jsonl"
    context = multiprocessing.get_context("spawn" if os.name != "posix" else "fork")
    workers = [context.Process(target=_write_from_process, args=(str(path), 40)) for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
        assert w.exitcode == 0
    files = spans_files([path])
    assert len(files) > 2  # it rotated while four processes wrote
    assert sum(1 for _ in read_spans([path])) == 4 * 40 * 3  # every line parses


def test_instrument_writes_every_span_to_the_file_and_uninstrument_closes_it(tmp_path):
    path = tmp_path / "app-spans.jsonl"
    qwenobs.uninstrument()
    qwenobs.instrument(tracer_provider=TracerProvider(), spans_file=path)
    fake = FakeDashScope()
    demo.script(fake)
    try:
        with fake.intercept():
            demo.agent(openai.OpenAI(api_key="sk-test", base_url=demo.BASE_URL), "Umbrella?")
    finally:
        qwenobs.uninstrument()
    names = sorted(s.name for s in read_spans([path]))
    assert names == ["chat qwen-plus"] * 2 + ["execute_tool get_weather"] * 2 + [
        "invoke_agent travel-weather"
    ]


def test_the_environment_names_the_file_and_no_sdk_provider_is_needed(tmp_path, monkeypatch):
    path = tmp_path / "env-spans.jsonl"
    monkeypatch.setenv("QWENOBS_SPANS_FILE", str(path))
    qwenobs.uninstrument()
    qwenobs.instrument()  # the global provider is the API's no-op one here
    fake = FakeDashScope()
    fake.reply("hi")
    try:
        with fake.intercept():
            openai.OpenAI(api_key="sk-test", base_url=demo.BASE_URL).chat.completions.create(
                model="qwen-turbo", messages=[{"role": "user", "content": "hi"}], max_tokens=9
            )
    finally:
        qwenobs.uninstrument()
    (span,) = read_spans([path])
    assert span.name == "chat qwen-turbo" and span.attributes["gen_ai.usage.output_tokens"] > 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"spans_file": 42}, "spans_file must be a file path"),
        (
            {"spans_file": "x.jsonl", "tracer_provider": trace.NoOpTracerProvider()},
            "needs an OpenTelemetry SDK TracerProvider",
        ),
    ],
)
def test_bad_spans_file_arguments_say_what_is_accepted(kwargs, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    qwenobs.uninstrument()
    with pytest.raises((TypeError, ValueError), match=message):
        qwenobs.instrument(**kwargs)
    qwenobs.uninstrument()


@pytest.mark.parametrize("where", ["a directory", "under a file"])
def test_a_spans_file_that_cannot_be_written(where, tmp_path, monkeypatch, caplog):
    # As an argument it raises, naming it; from QWENOBS_SPANS_FILE it is logged once and the
    # application starts, traced, without the file.
    (tmp_path / "plain").write_text("not a directory")
    bad = str(tmp_path) if where == "a directory" else str(tmp_path / "plain" / "spans.jsonl")
    qwenobs.uninstrument()
    with pytest.raises(ValueError, match=r"^instrument\(\): .*(is a directory|cannot be written)"):
        qwenobs.instrument(spans_file=bad)
    monkeypatch.setenv("QWENOBS_SPANS_FILE", bad)
    for _ in range(2):
        qwenobs.uninstrument()
        with caplog.at_level(logging.WARNING, logger="qwenobs"):
            assert qwenobs.instrument().running is not None
    qwenobs.uninstrument()
    said = [r.getMessage() for r in caplog.records if "QWENOBS_SPANS_FILE" in r.getMessage()]
    assert len(said) == 1 and bad in said[0] and "using none" in said[0]


def test_a_failed_write_drops_the_batch_and_says_so_once(tmp_path, monkeypatch, caplog):
    from opentelemetry.sdk.trace.export import SpanExportResult

    exporter = SpansFileExporter(tmp_path / "spans.jsonl")

    def full_disk(fd, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", full_disk)
    results = [exporter.export(finished_spans(1)) for _ in range(3)]
    assert results == [SpanExportResult.FAILURE] * 3
    warnings = [r.getMessage() for r in caplog.records if r.name == "qwenobs"]
    assert len(warnings) == 1 and "No space left on device" in warnings[0]


@pytest.mark.parametrize(
    ("options", "error", "says"),
    [
        ({"max_bytes": "10MB"}, TypeError, "max_bytes must be a positive number of bytes"),
        ({"max_bytes": 0}, ValueError, "max_bytes must be a positive number of bytes"),
        ({"backups": "3"}, TypeError, "backups must be 0 or more"),
        ({"backups": -1}, ValueError, "backups must be 0 or more"),
    ],
)
def test_exporter_options_say_what_is_accepted(options, error, says, tmp_path):
    with pytest.raises(error, match=re.escape(f"SpansFileExporter(): {says}")):
        SpansFileExporter(tmp_path / "spans.jsonl", **options)
