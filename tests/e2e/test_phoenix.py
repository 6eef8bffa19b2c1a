"""End to end against a real tracing backend: Arize Phoenix on loopback, spans over OTLP/HTTP,
read back through Phoenix's own REST API.

Phoenix lives in its own virtualenv (`make phoenix` builds .venv-phoenix; `make test` does it
first). A quick local run skips it with `-m "not phoenix"`; under CI=true a missing Phoenix fails.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

import qwenobs
from qwenobs import demo
from qwenobs.fake import FakeDashScope

pytestmark = pytest.mark.phoenix

ROOT = Path(__file__).parents[2]


def _phoenix_binary() -> str | None:
    configured = os.environ.get("QWENOBS_PHOENIX")
    candidates = [configured] if configured else [str(ROOT / ".venv-phoenix" / "bin" / "phoenix")]
    found = [c for c in candidates if c and Path(c).exists()]
    return found[0] if found else shutil.which("phoenix")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


@pytest.fixture(scope="module")
def phoenix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = _phoenix_binary()
    if binary is None:
        message = "Phoenix is not installed: run `make phoenix` (CI does it through `make test`)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    port = _free_port()
    env = {
        **os.environ,
        "PHOENIX_WORKING_DIR": str(tmp_path_factory.mktemp("phoenix")),
        "PHOENIX_HOST": "127.0.0.1",
        "PHOENIX_PORT": str(port),
        "PHOENIX_GRPC_PORT": str(_free_port()),
    }
    log = tmp_path_factory.mktemp("phoenix-log") / "serve.log"
    with log.open("w") as out:
        server = subprocess.Popen([binary, "serve"], env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                _get(f"{base}/v1/projects")
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"Phoenix did not start:\n{log.read_text()[-3000:]}")
                time.sleep(0.5)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


def test_an_agent_run_arrives_in_phoenix_with_attributes_and_links(phoenix):
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": "qwenobs-e2e"}))
    provider.add_span_processor(
        SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{phoenix}/v1/traces"))
    )
    qwenobs.uninstrument()
    qwenobs.instrument(tracer_provider=provider)
    fake = FakeDashScope()
    demo.script(fake)
    try:
        with fake.intercept():
            client = openai.OpenAI(api_key="sk-e2e", base_url=demo.BASE_URL)
            assert "umbrella" in demo.agent(client, "Umbrella for Shanghai or Hangzhou?")
    finally:
        qwenobs.uninstrument()
        provider.shutdown()

    deadline = time.monotonic() + 30
    while True:
        spans = _get(f"{phoenix}/v1/projects/default/spans?limit=100")["data"]
        if len(spans) >= 5 or time.monotonic() > deadline:
            break
        time.sleep(0.5)

    (agent,) = [s for s in spans if s["name"] == "invoke_agent travel-weather"]
    chats = sorted(
        (s for s in spans if s["name"] == "chat qwen-plus"), key=lambda s: s["start_time"]
    )
    tools = [s for s in spans if s["name"] == "execute_tool get_weather"]
    assert len(chats) == 2 and len(tools) == 2
    agent_id = agent["context"]["span_id"]
    assert all(s["parent_id"] == agent_id for s in [*chats, *tools])
    assert agent["attributes"]["dashscope.agent.rounds"] == 2  # a round is one model call
    assert agent["attributes"]["dashscope.agent.tool_calls"] == 2
    first, second = (c["attributes"] for c in chats)
    assert first["dashscope.response.tool_calls"] == 2 and first[
        "gen_ai.response.finish_reasons"
    ] == ["tool_calls"]
    assert second["dashscope.tool.rounds"] == 1
    assert second["gen_ai.usage.input_tokens"] > 0 and second["gen_ai.usage.output_tokens"] > 0
    assert (
        second["gen_ai.usage.cache_read.input_tokens"] >= 256
    )  # the long system prompt was cached
    tool_ids = {t["attributes"]["gen_ai.tool.call.id"] for t in tools}
    assert len(tool_ids) == 2 and all(i.startswith("call_") for i in tool_ids)


def test_qwenobs_report_reads_the_same_figures_from_phoenix_as_from_the_spans_file(
    phoenix, tmp_path
):
    pytest.importorskip("duckdb")
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    from qwenobs.report import aggregate

    project = "qwenobs-report"  # its own Phoenix project, apart from the other tests' spans
    provider = TracerProvider(resource=Resource.create({"openinference.project.name": project}))
    provider.add_span_processor(
        SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{phoenix}/v1/traces"))
    )
    spans_file = tmp_path / "spans.jsonl"
    qwenobs.uninstrument()
    qwenobs.instrument(tracer_provider=provider, spans_file=spans_file)
    fake = FakeDashScope()
    demo.script(fake)
    try:
        with fake.intercept():
            client = openai.OpenAI(api_key="sk-e2e", base_url=demo.BASE_URL)
            demo.agent(client, "Umbrella for Shanghai or Hangzhou?")
            demo.thinking(client)
            demo.json_mode(client)
            demo.orphan(client)
    finally:
        qwenobs.uninstrument()
        provider.shutdown()

    source = f"{phoenix.replace('http://', 'phoenix://')}/{project}"
    deadline = time.monotonic() + 30
    while True:
        try:  # Phoenix ingests in the background: the project appears, then its spans
            from_phoenix = aggregate([source])
            if from_phoenix.spans >= 8:
                break
        except ConnectionError:
            if time.monotonic() > deadline:
                raise
        if time.monotonic() > deadline:
            break
        time.sleep(0.5)
    from_file = aggregate([spans_file])
    assert from_phoenix.spans == from_file.spans == 8
    phoenix_totals, file_totals = from_phoenix.results["totals"][0], from_file.results["totals"][0]
    for key in ("first", "last"):  # Phoenix keeps microseconds, rounded its own way
        assert abs(phoenix_totals.pop(key) - file_totals.pop(key)).total_seconds() < 1e-3
    assert phoenix_totals == file_totals
    for table in ("cache_by_model", "findings_by_rule", "agents", "errors_by_type"):
        assert from_phoenix.results[table] == from_file.results[table], table
    assert from_file.results["totals"][0]["calls"] == 5
    (phoenix_ttfc,) = from_phoenix.results["latency_time_to_first_chunk"]
    (file_ttfc,) = from_file.results["latency_time_to_first_chunk"]
    assert phoenix_ttfc["p50"] == pytest.approx(file_ttfc["p50"])


def test_an_incident_replays_from_phoenix(phoenix, monkeypatch):
    """The replay's Done-when, from Phoenix's API: the agent run captured with content capture,
    replayed against the unchanged agent (passes) and a changed one (a readable difference)."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    from qwenobs.replay import ReplayMismatch

    project = "qwenobs-replay"
    provider = TracerProvider(resource=Resource.create({"openinference.project.name": project}))
    provider.add_span_processor(
        SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{phoenix}/v1/traces"))
    )
    qwenobs.uninstrument()
    qwenobs.instrument(tracer_provider=provider, capture_content=True, capture_reasoning=True)
    fake = FakeDashScope()
    demo.script(fake)
    question = "Umbrella for Shanghai or Hangzhou?"
    try:
        with fake.intercept():
            client = openai.OpenAI(api_key="sk-e2e", base_url=demo.BASE_URL)
            answer = demo.agent(client, question)
    finally:
        qwenobs.uninstrument()
        provider.shutdown()

    deadline = time.monotonic() + 30
    while True:  # Phoenix ingests in the background
        try:
            spans = _get(f"{phoenix}/v1/projects/{project}/spans?limit=100")["data"]
        except OSError:
            spans = []
        if len([s for s in spans if s["name"] == "chat qwen-plus"]) >= 2:
            break
        assert time.monotonic() < deadline, "the agent run did not reach Phoenix"
        time.sleep(0.5)
    (trace_id,) = {s["context"]["trace_id"] for s in spans}
    source = f"{phoenix.replace('http://', 'phoenix://')}/{project}"

    replayed = FakeDashScope.from_trace(source, trace_id=trace_id)
    with replayed.intercept():
        client = openai.OpenAI(api_key="sk-e2e", base_url=demo.BASE_URL)
        assert demo.agent(client, question) == answer
    replayed.replay.check()

    changed = FakeDashScope.from_trace(source, trace_id=trace_id)
    real = demo.get_weather
    monkeypatch.setattr(demo, "get_weather", lambda city: {**real(city), "conditions": "sun"})
    with changed.intercept(), pytest.raises(openai.BadRequestError):
        client = openai.OpenAI(api_key="sk-e2e", base_url=demo.BASE_URL)
        demo.agent(client, question)
    with pytest.raises(ReplayMismatch, match=r"recorded .*rain.*sent now .*sun"):
        changed.replay.check()
