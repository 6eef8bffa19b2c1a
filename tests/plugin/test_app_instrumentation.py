"""The plugin inside a suite whose application instruments itself at import: ``qwen_spans`` leaves
exactly what was there before it (the app's instrumentation, its settings and its providers), so
the suite passes in any order."""

from __future__ import annotations

import pytest

# An application that turns qwenobs on when it is imported, as the README says to, with its own
# tracer provider and settings.
INSTRUMENTED_APP = """
import openai
import qwenobs
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

EXPORTER = InMemorySpanExporter()
PROVIDER = TracerProvider()
PROVIDER.add_span_processor(SimpleSpanProcessor(EXPORTER))
qwenobs.instrument(tracer_provider=PROVIDER, capture_content=True, hosts=["llm-gateway.internal"])


def ask(messages, **extra):
    with openai.OpenAI(
        api_key="sk-app", base_url="https://dashscope.aliyuncs.com/compatible-mode/v1",
        max_retries=0,
    ) as llm:
        return llm.chat.completions.create(
            model="qwen-plus", messages=messages, max_tokens=64, **extra
        )
"""

ORDER_TESTS = """
import pytest
import qwenobs

import instrumented_app as app

ORPHAN = [{"role": "user", "content": "hi"},
          {"role": "tool", "tool_call_id": "call_1", "content": "{}"}]


def test_spans(qwen_fake, qwen_spans):
    app.EXPORTER.clear()
    qwen_fake.reply("traced")
    app.ask([{"role": "user", "content": "hi"}])
    assert len(qwen_spans.chat()) == 1
    assert app.EXPORTER.get_finished_spans() == ()  # this test's spans are its own


@pytest.mark.qwen_spans(validate="warn")
def test_spans_with_other_settings(qwen_fake, qwen_spans):
    with pytest.raises(Exception) as raised:
        app.ask(ORPHAN)  # warn: qwenobs lets it go, and the fake answers DashScope's 400
    assert type(raised.value).__name__ == "BadRequestError"
    assert qwen_spans.findings()[0]["rule"] == "orphan-tool-result"


def test_app_validation_still_on(qwen_fake):
    with pytest.raises(qwenobs.QwenValidationError):
        app.ask(ORPHAN)
    assert qwen_fake.calls == []


def test_app_settings_and_provider_still_in_place(qwen_fake):
    current = qwenobs.instrumentation()
    assert current is not None
    assert current.tracer_provider is app.PROVIDER
    assert current.settings.capture_content is True
    assert "llm-gateway.internal" in current.settings.hosts
    app.EXPORTER.clear()
    qwen_fake.reply("to the app's provider")
    app.ask([{"role": "user", "content": "hi"}])
    [span] = app.EXPORTER.get_finished_spans()
    assert "gen_ai.input.messages" in span.attributes
"""

NODES = (
    "test_spans",
    "test_spans_with_other_settings",
    "test_app_validation_still_on",
    "test_app_settings_and_provider_still_in_place",
)


@pytest.mark.parametrize("order", ["spans first", "spans last"])
def test_qwen_spans_restores_the_apps_own_instrumentation(suite, order):
    suite.pytester.makepyfile(instrumented_app=INSTRUMENTED_APP)
    suite.test(ORDER_TESTS, name="test_order")
    nodes = NODES if order == "spans first" else NODES[::-1]
    result = suite.run(*(f"test_order.py::{name}" for name in nodes), "-v")
    result.assert_outcomes(passed=4)
    ran = [line.split("::")[1].split()[0] for line in result.outlines if " PASSED" in line]
    assert ran == list(nodes)


def test_qwen_spans_leaves_instrumentation_off_when_it_was_off(suite):
    suite.test(
        """
        import qwenobs

        def test_spans(qwen_spans):
            assert qwenobs.instrumentation() is not None

        def test_after():
            assert qwenobs.instrumentation() is None
        """
    )
    suite.run("-v").assert_outcomes(passed=2)


@pytest.fixture(autouse=True)
def _keep_this_process_instrumentation():
    # Inner runs are in-process: the inner app's instrument() would outlive them.
    import qwenobs

    before = qwenobs.instrumentation()
    yield
    qwenobs.uninstrument()
    if before is not None:
        before.restore()


STREAM_TESTS = """
import app, os, pytest

@pytest.fixture(params=[os.environ["TRACED"] == "1"], ids=["traced"])
def traced(request):
    if request.param:
        request.getfixturevalue("qwen_spans")
    return request.param

@pytest.mark.qwen_cassette("stream.yaml")
def test_stream(traced):
    with app.client() as llm:
        chunks = list(llm.chat.completions.create(
            model="qwen-plus", messages=[{"role": "user", "content": "please stream"}],
            max_tokens=64, stream=True,
        ))
    # What the app asked for, whoever recorded the cassette: no usage chunk.
    assert all(chunk.choices for chunk in chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == (
        "streamed answer from the service"
    )
"""


@pytest.mark.parametrize(("recorded", "replayed"), [("1", "0"), ("0", "1")])
def test_a_stream_cassette_replays_with_qwenobs_on_or_off(suite, monkeypatch, recorded, replayed):
    # qwenobs asks a stream for its usage chunk (stream_options) and hides it from the app; the
    # cassette matches either way, and replays only what the app itself asked for.
    suite.test(STREAM_TESTS)
    monkeypatch.setenv("TRACED", recorded)
    suite.run("--qwen-record-mode=once").assert_outcomes(passed=1)
    body = (suite.path / "stream.yaml").read_text("utf-8")
    assert ('"include_usage": true' in body) is (recorded == "1")
    monkeypatch.setenv("TRACED", replayed)
    suite.run().assert_outcomes(passed=1)


def test_instrumenting_twice_in_one_test_still_restores_what_ran_before():
    from pytest_qwenobs.spans import QwenSpans

    import qwenobs

    qwenobs.uninstrument()
    qwenobs.instrument(validate="warn")
    spans = QwenSpans()
    spans.instrument()
    spans.instrument(validate="off")
    assert qwenobs.instrumentation().settings.validate == "off"
    spans.close()
    assert qwenobs.instrumentation().settings.validate == "warn"


def test_a_bad_marker_option_leaves_the_previous_instrumentation(suite):
    suite.test(
        """
        import pytest, qwenobs

        qwenobs.instrument(validate="warn")

        @pytest.mark.qwen_spans(validate="loud")
        def test_bad(qwen_spans):
            pass

        def test_after():
            assert qwenobs.instrumentation().settings.validate == "warn"
        """
    )
    result = suite.run("-p", "no:randomly")
    result.assert_outcomes(passed=1, errors=1)
