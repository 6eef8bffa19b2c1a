"""From incident to regression test: a multi-round agent run captured as spans (content capture
on, exported to a spans file), replayed against the unchanged agent (passes) and against one whose
second tool result changed (fails with a readable diff); failures replay too."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import openai
import pytest
from opentelemetry.sdk.trace import TracerProvider

import qwenobs
from qwenobs.fake import FakeDashScope
from qwenobs.fake.samples import WEATHER_TOOLS
from qwenobs.otlp_json import read_spans
from qwenobs.replay import ReplayMismatch, ReplayUnavailable, load

BASE_URL = "https://dashscope.aliyuncs.com/compatible-mode/v1"
QUESTION = "Should I pack an umbrella for Hangzhou and Shanghai tomorrow?"


def forecast(city: str) -> dict:
    return {"city": city, "rain_mm": {"Hangzhou": 12, "Shanghai": 3}.get(city, 0)}


def run_agent(weather: Callable[[str], dict] = forecast, *, stream_last: bool = False) -> str:
    """The application: a tool loop, one call per round, as the production guide writes it."""
    client = openai.OpenAI(api_key="sk-app", base_url=BASE_URL, max_retries=0)
    messages: list = [
        {"role": "system", "content": "You are a packing assistant. Use the weather tool."},
        {"role": "user", "content": QUESTION},
    ]
    for _ in range(6):
        response = client.chat.completions.create(
            model="qwen-plus", messages=messages, tools=WEATHER_TOOLS, max_tokens=256
        )
        message = response.choices[0].message
        messages.append(message)
        if not message.tool_calls:
            return message.content or ""
        for call in message.tool_calls:
            result = weather(**json.loads(call.function.arguments))
            messages.append(
                {"role": "tool", "tool_call_id": call.id, "content": json.dumps(result)}
            )
    raise RuntimeError("the agent did not answer")


def script_incident(fake: FakeDashScope) -> None:
    fake.reply(tool_calls=[{"name": "get_weather", "arguments": {"city": "Hangzhou"}}])
    fake.reply(tool_calls=[{"name": "get_weather", "arguments": {"city": "Shanghai"}}])
    fake.reply("Pack an umbrella for Hangzhou; Shanghai stays mostly dry.")


def capture(path: Path, app: Callable[[], object], script: Callable[[FakeDashScope], None]) -> None:
    """Run ``app`` against a scripted fake with content capture on, spans to ``path``."""
    provider = TracerProvider()
    qwenobs.uninstrument()
    qwenobs.instrument(
        tracer_provider=provider,
        capture_content=True,
        capture_reasoning=True,
        spans_file=path,
    )
    fake = FakeDashScope()
    script(fake)
    try:
        with fake.intercept():
            app()
    finally:
        qwenobs.uninstrument()
        provider.shutdown()


@pytest.fixture
def incident(tmp_path: Path) -> Path:
    path = tmp_path / "incident.jsonl"
    capture(path, run_agent, script_incident)
    return path


def test_the_unchanged_agent_replays_and_passes(incident):
    fake = FakeDashScope.from_trace(incident)
    with fake.intercept():
        answer = run_agent()
    assert answer == "Pack an umbrella for Hangzhou; Shanghai stays mostly dry."
    fake.replay.check()
    assert fake.replay.played == [0, 1, 2] and [c.status for c in fake.calls] == [200] * 3


def test_a_changed_tool_result_fails_at_the_call_that_carries_it_with_a_diff(incident):
    def wetter(city: str) -> dict:
        return {"city": city, "rain_mm": 30 if city == "Shanghai" else 12}

    fake = FakeDashScope.from_trace(incident)
    with fake.intercept(), pytest.raises(openai.BadRequestError):
        run_agent(wetter)
    with pytest.raises(ReplayMismatch) as caught:
        fake.replay.check()
    text = str(caught.value)
    assert "call #3 differs from recorded call 3" in text
    # The place, what was recorded and what the application sent now, in a line a person reads.
    line = next(line for line in text.splitlines() if "messages[" in line)
    # The request's own index: the Shanghai result follows the system prompt, the question and
    # the first round.
    assert "messages[5].parts[0].response (tool message with tool_call_response)" in line
    assert '"rain_mm": 3' in line and '"rain_mm": 30' in line


def test_options_loosen_the_comparison(incident):
    def reformatted(city: str) -> dict:  # the same data, keys in another order
        return {"rain_mm": {"Hangzhou": 12, "Shanghai": 3}[city], "city": city}

    strict = FakeDashScope.from_trace(incident)
    with strict.intercept(), pytest.raises(openai.BadRequestError):
        run_agent(reformatted)
    loose = FakeDashScope.from_trace(incident, json_as_data=True)
    with loose.intercept():
        run_agent(reformatted)
    loose.replay.check()
    ignoring = FakeDashScope.from_trace(incident, ignore=["messages[*].parts[*].response"])
    with ignoring.intercept():
        run_agent(lambda city: {"anything": city})
    ignoring.replay.check()


def test_concurrent_calls_are_matched_by_their_conversation_not_their_order(tmp_path):
    path = tmp_path / "two.jsonl"

    def two_questions() -> None:  # one request of a service, two calls under its span
        client = openai.OpenAI(api_key="sk-app", base_url=BASE_URL)
        with qwenobs.agent("two-cities"):
            for city in ("Ningbo", "Suzhou"):
                client.chat.completions.create(
                    model="qwen-plus",
                    messages=[{"role": "user", "content": f"Weather in {city}?"}],
                    max_tokens=64,
                )

    def script(fake: FakeDashScope) -> None:
        fake.route(last_message="Ningbo").reply("Ningbo: sunny.")
        fake.route(last_message="Suzhou").reply("Suzhou: drizzle.")

    capture(path, two_questions, script)
    fake = FakeDashScope.from_trace(path)
    client = fake.client()
    for city, expected in (("Suzhou", "Suzhou: drizzle."), ("Ningbo", "Ningbo: sunny.")):
        answer = client.chat.completions.create(
            model="qwen-plus",
            messages=[{"role": "user", "content": f"Weather in {city}?"}],
            max_tokens=64,
        )
        assert answer.choices[0].message.content == expected
    fake.replay.check()


def test_a_429_and_a_moderation_cut_mid_stream_replay_as_they_happened(tmp_path):
    path = tmp_path / "storm.jsonl"

    def app() -> list[str]:
        client = openai.OpenAI(api_key="sk-app", base_url=BASE_URL, max_retries=0)
        seen = []
        ask = {
            "model": "qwen-plus",
            "messages": [{"role": "user", "content": "Tell a story."}],
            "max_tokens": 200,
        }
        try:
            client.chat.completions.create(**ask)
        except openai.RateLimitError as error:
            seen.append(f"429 {error.code}")
        text = []
        try:
            for chunk in client.chat.completions.create(**ask, stream=True):
                if chunk.choices:
                    text.append(chunk.choices[0].delta.content or "")
        except openai.APIError as error:
            seen.append(f"cut after {''.join(text)!r}: {error.code}")
        return seen

    def script(fake: FakeDashScope) -> None:
        fake.fail(429)
        fake.fail(400, code="data_inspection_failed", after_chunks=3, content="Once upon a time, a")

    capture(path, app, script)
    fake = FakeDashScope.from_trace(path)
    with fake.intercept():
        replayed = app()
    fresh = FakeDashScope()
    script(fresh)
    with fresh.intercept():
        original = app()
    assert replayed == original
    assert replayed[0] == "429 limit_requests" and replayed[1].endswith("data_inspection_failed")
    fake.replay.check()


def test_a_trace_without_content_capture_says_how_to_record_one(tmp_path):
    path = tmp_path / "plain.jsonl"
    provider = TracerProvider()
    qwenobs.uninstrument()
    qwenobs.instrument(tracer_provider=provider, spans_file=path)
    fake = FakeDashScope()
    fake.reply("ok")
    try:
        fake.client().chat.completions.create(
            model="qwen-plus", messages=[{"role": "user", "content": "hi"}], max_tokens=8
        )
    finally:
        qwenobs.uninstrument()
        provider.shutdown()
    with pytest.raises(
        ReplayUnavailable, match="OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
    ):
        load(path)


def test_a_value_cut_by_the_backend_is_reported_not_replayed(incident, tmp_path):
    cut = tmp_path / "cut.jsonl"
    lines = incident.read_text().splitlines()
    data = json.loads(lines[0])
    for span in data["resourceSpans"][0]["scopeSpans"][0]["spans"]:
        for attribute in span["attributes"]:
            if attribute["key"] == "gen_ai.input.messages":
                attribute["value"]["stringValue"] = attribute["value"]["stringValue"][:40]
    cut.write_text("\n".join([json.dumps(data), *lines[1:]]) + "\n")
    with pytest.raises(ReplayUnavailable, match=r"is not valid JSON .* cut it"):
        load(cut)


def test_capture_writes_a_redacted_replay_file_and_a_test_module(incident, tmp_path, capsys):
    from qwenobs.cli import main

    out = tmp_path / "incidents"
    assert (
        main(
            [
                "capture",
                str(incident),
                "-o",
                str(out),
                "--name",
                "umbrella",
                "--redact",
                r"Hangzhou",
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "redacted" in printed and "--redact Hangzhou" in printed
    data = (out / "umbrella.replay.json").read_text()
    assert "Hangzhou" not in data and "<scrubbed>" in data
    module = (out / "test_umbrella.py").read_text()
    assert '@pytest.mark.qwen_replay("umbrella.replay.json")' in module
    assert "EDIT ME" in module and QUESTION.replace("Hangzhou", "<scrubbed>") in module
    # The replay file replays: the agent now asks about "<scrubbed>", as the file says it did.
    replayed = load(out / "umbrella.replay.json")
    assert replayed.calls[0].messages[0]["parts"][0]["content"] == (
        QUESTION.replace("Hangzhou", "<scrubbed>")
    )
    # A mismatch names the file the test replays, and where it came from.
    assert replayed.source == f"{out / 'umbrella.replay.json'} (captured from {incident})"


def test_capture_of_a_source_that_cannot_replay_is_one_line(tmp_path, capsys):
    from qwenobs.cli import main

    assert main(["capture", str(tmp_path / "missing.jsonl"), "-o", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip().startswith("qwenobs capture: ")


@pytest.mark.parametrize("chunk_size", [3, 5, 8, 13])
def test_a_stream_cut_by_an_error_replays_all_the_content_that_streamed(tmp_path, chunk_size):
    # Whatever the production chunking, the replay sends exactly the recorded text, then the
    # error event: 'Here is th' (two chunks of 5) replayed as 'Here is th', not 'Here is '.
    path = tmp_path / "cut.jsonl"

    def app() -> str:
        client = openai.OpenAI(api_key="sk-app", base_url=BASE_URL, max_retries=0)
        text = []
        ask = [{"role": "user", "content": "Tell me."}]
        try:
            for chunk in client.chat.completions.create(
                model="qwen-plus", messages=ask, max_tokens=50, stream=True
            ):
                if chunk.choices:
                    text.append(chunk.choices[0].delta.content or "")
        except openai.APIError as error:
            return f"{''.join(text)!r} then {error.code}"
        return "no error"

    def script(fake: FakeDashScope) -> None:
        fake.fail(400, code="data_inspection_failed", after_chunks=3, content="Here is the answer.")

    provider = TracerProvider()
    qwenobs.uninstrument()
    qwenobs.instrument(tracer_provider=provider, capture_content=True, spans_file=path)
    production = FakeDashScope(chunk_size=chunk_size)
    script(production)
    try:
        with production.intercept():
            original = app()
    finally:
        qwenobs.uninstrument()
        provider.shutdown()
    fake = FakeDashScope.from_trace(path)
    with fake.intercept():
        replayed = app()
    streamed = "Here is the answer."[: 2 * chunk_size]
    assert original == f"{streamed!r} then data_inspection_failed"
    assert replayed == original
    fake.replay.check()


def test_a_paced_stream_lasts_as_long_as_it_did_with_thinking_and_content(tmp_path):
    # 10 characters of thinking and 10 of content, 8 per replayed chunk: 2 + 2 chunks between
    # the role chunk and the finish chunk. The recorded second, at pace 0.01, is 10 ms in all.
    call = {
        "where": "span 00000001 (chat qwen-plus)",
        "model": "qwen-plus",
        "system": [],
        "messages": [{"role": "user", "parts": [{"type": "text", "content": "hi"}]}],
        "tools": None,
        "parameters": {"max_tokens": 50, "stream": True},
        "stream": True,
        "answer": {"content": "c" * 10, "reasoning": "r" * 10, "finish_reason": "stop"},
        "first_chunk": 0.2,
        "duration": 1.0,
    }
    path = tmp_path / "thinking.replay.json"
    path.write_text(json.dumps({"format": "qwenobs-replay/1", "source": "x", "calls": [call]}))
    fake = FakeDashScope.from_trace(path, pace=0.01)
    stream = fake.client().chat.completions.create(
        model="qwen-plus", messages=[{"role": "user", "content": "hi"}], max_tokens=50, stream=True
    )
    deltas = [c.choices[0].delta for c in stream if c.choices]
    assert "".join(getattr(d, "reasoning_content", None) or "" for d in deltas) == "r" * 10
    assert "".join(d.content or "" for d in deltas) == "c" * 10
    delays = [delay for delay, _ in fake.calls[0].response.parts]
    assert delays[0] == pytest.approx(0.002)
    assert sum(delays) == pytest.approx(0.01)
    fake.replay.check()


@pytest.mark.parametrize(
    ("option", "error"),
    [
        ({"pace": "fast"}, "pace must be a number from 0 up (a factor of the recorded timing) or"),
        ({"pace": float("nan")}, "pace must be a number from 0 up"),
        ({"ignore": 3}, "ignore must be a place name or a list of them"),
        ({"ignore": ["temperature", None]}, "ignore[1] must be a str, got NoneType None"),
        ({"json_as_data": "yes"}, "json_as_data must be True or False, got str 'yes'"),
        ({"conversation_id": 5}, "conversation_id must be a str or None, got int 5"),
    ],
)
def test_from_trace_checks_its_options_before_reading_the_source(tmp_path, option, error):
    # The source does not exist: the option's mistake is reported first, naming the call.
    with pytest.raises((TypeError, ValueError)) as caught:
        FakeDashScope.from_trace(tmp_path / "missing.jsonl", **option)
    assert str(caught.value).startswith(f"FakeDashScope.from_trace(): {error}")


def test_a_lone_str_to_ignore_is_one_place_not_its_characters(incident):
    def tuned() -> str:
        client = openai.OpenAI(api_key="sk-app", base_url=BASE_URL, max_retries=0)
        return (
            client.chat.completions.create(
                model="qwen-plus",
                messages=[
                    {
                        "role": "system",
                        "content": "You are a packing assistant. Use the weather tool.",
                    },
                    {"role": "user", "content": QUESTION},
                ],
                tools=WEATHER_TOOLS,
                max_tokens=512,
            )
            .choices[0]
            .message.tool_calls[0]
            .function.name
        )

    fake = FakeDashScope.from_trace(incident, ignore="max_tokens")
    assert fake.replay.options.ignore == ("max_tokens",)
    with fake.intercept():
        assert tuned() == "get_weather"  # max_tokens 512, recorded 256: ignored
    with pytest.raises(TypeError, match=r"allow_unplayed must be True or False, got str 'no'"):
        fake.replay.check(allow_unplayed="no")
    fake.replay.check(allow_unplayed=True)


def test_capture_with_an_invalid_redact_regex_is_one_line_naming_the_flag(
    incident, tmp_path, capsys
):
    from qwenobs.cli import main

    out = tmp_path / "incidents"
    assert main(["capture", str(incident), "-o", str(out), "--redact", "("]) == 2
    printed = capsys.readouterr()
    assert printed.out == ""
    assert printed.err == (
        "qwenobs capture: --redact '(' is not a regular expression: "
        "missing ), unterminated subpattern at position 0\n"
    )
    assert not out.exists()  # checked before the source is read


def test_capture_chooses_a_conversation_and_names_its_own_flags(tmp_path, capsys):
    from qwenobs.cli import main

    path = tmp_path / "two.jsonl"

    def two_conversations() -> None:  # no parent span: a trace per call
        client = openai.OpenAI(api_key="sk-app", base_url=BASE_URL)
        for city in ("Ningbo", "Suzhou"):
            client.chat.completions.create(
                model="qwen-plus",
                messages=[{"role": "user", "content": f"Weather in {city}?"}],
                max_tokens=64,
            )

    def script(fake: FakeDashScope) -> None:
        fake.reply("Ningbo: sunny.")
        fake.reply("Suzhou: drizzle.")

    capture(path, two_conversations, script)
    out = tmp_path / "incidents"
    assert main(["capture", str(path), "-o", str(out)]) == 2
    error = capsys.readouterr().err
    assert "pass --trace-id (or --conversation-id) to choose one" in error, error
    assert main(["capture", str(path), "-o", str(out), "--trace-id", "4bf9"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("qwenobs capture: --trace-id must be the 32 hexadecimal digits"), error

    spans = [s for s in read_spans([path]) if s.attributes.get("gen_ai.operation.name") == "chat"]
    suzhou = next(s for s in spans if "Suzhou" in s.attributes["gen_ai.input.messages"])
    conversation = suzhou.attributes["gen_ai.conversation.id"]
    assert main(["capture", str(path), "-o", str(out), "--conversation-id", conversation]) == 0
    recording = load(out / "incident.replay.json")
    assert [c.answer.content for c in recording.calls] == ["Suzhou: drizzle."]
    # The Python API names its keyword arguments.
    with pytest.raises(ReplayUnavailable, match=r"pass trace_id= \(or conversation_id=\)"):
        load(path)


def test_redact_names_a_pattern_that_is_not_a_regular_expression(incident):
    from qwenobs.replay.capture import redact

    with pytest.raises(ValueError, match=r"^patterns\[1\] '\[a-' is not a regular expression: "):
        redact(load(incident), ["Hangzhou", "[a-"])
