"""Every example runs against the fake and does what its docstring promises."""

from __future__ import annotations

import asyncio
import importlib
import io
import logging
import subprocess
import sys
from pathlib import Path

import openai
import pytest

import qwenobs
from qwenobs.fake import FakeDashScope

EXAMPLES = Path(__file__).parents[2] / "examples"
BASE_URL = "https://dashscope-intl.aliyuncs.com/compatible-mode/v1"


@pytest.fixture(autouse=True)
def examples_importable(monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLES))
    monkeypatch.delenv("DASHSCOPE_API_KEY", raising=False)


def scripted(name: str, fake: FakeDashScope):
    module = importlib.import_module(name)
    module.script(fake)
    return module


def test_weather_agent_appends_the_assistant_message_before_the_tool_result(fake, telemetry):
    module = scripted("weather_agent", fake)
    with fake.intercept():
        answer = module.ask(
            openai.OpenAI(api_key="sk-x", base_url=BASE_URL), "Umbrella in Shanghai?"
        )
    assert "umbrella" in answer
    roles = [m["role"] for m in fake.calls.last.json["messages"]]
    assert roles == ["user", "assistant", "tool"]
    assert [s.attributes["dashscope.tool.rounds"] for s in telemetry.spans()] == [0, 1]


def test_multi_round_agent_is_forced_to_answer_after_three_rounds(fake, telemetry):
    module = scripted("multi_round_agent", fake)
    with fake.intercept():
        answer = module.run_agent(openai.OpenAI(api_key="sk-x", base_url=BASE_URL), "Umbrella?")
    assert "umbrella" in answer
    assert fake.calls.last.json["tool_choice"] == "none"
    agent = telemetry.spans()[0]
    assert agent.name == "invoke_agent weather"
    assert agent.attributes["dashscope.agent.rounds"] == 4  # 3 with tools, then the answer
    assert agent.attributes["dashscope.agent.tool_calls"] == 4
    assert agent.attributes["dashscope.agent.repeated_tool_calls"] == 2
    assert sum(s.name == "execute_tool get_weather" for s in telemetry.spans()) == 4


# example -> (a call of it, the temperature every request must carry)
TEMPERATURES = {
    "weather_agent": (lambda m, c: m.ask(c, "Umbrella in Shanghai?"), 0.2),
    "multi_round_agent": (lambda m, c: m.run_agent(c, "Umbrella?"), 0.2),
    "structured_output": (lambda m, c: m.extract_order(c, "three boxes of tea"), 0),
    "partial_json": (lambda m, c: m.stream_form(c, "Li Wei", lambda form: None), 0),
    "json_mode": (lambda m, c: m.sentiment(c, "I love it"), 0),
}


@pytest.mark.parametrize("name", list(TEMPERATURES))
def test_every_call_uses_the_guides_temperature(fake, telemetry, name):
    """0 for extraction; well below the ~0.7 default for agents, which the guide finds too high."""
    run, temperature = TEMPERATURES[name]
    module = scripted(name, fake)
    run(module, fake.client())
    assert [call.json.get("temperature") for call in fake.calls] == [temperature] * len(fake.calls)


@pytest.mark.parametrize(
    "reply", ['{"sentiment": "positive"}', '```json\n{"sentiment": "positive"}\n```']
)
def test_json_mode_parses_with_or_without_a_fence(fake, telemetry, reply):
    module = importlib.import_module("json_mode")
    fake.reply(reply)
    assert module.sentiment(fake.client(), "I love it") == "positive"
    assert fake.calls.last.json["response_format"] == {"type": "json_object"}


def test_structured_output_through_a_forced_tool(fake, telemetry):
    module = scripted("structured_output", fake)
    assert module.extract_order(fake.client(), "three boxes of tea") == {
        "product": "tea",
        "quantity": 3,
        "city": "Hangzhou",
    }
    assert fake.calls.last.json["tool_choice"]["function"]["name"] == "record_order"
    assert [
        e.name for e in telemetry.span().events
    ] == []  # flat schema, max_tokens set: nothing to warn


class ScreenLog:
    """A ThinkingView that records what the user would see, in order, answer chunks included."""

    def __init__(self) -> None:
        self.events: list[tuple] = []

    def turn(self, reasoning_chars: int) -> None:
        self.events.append(("spinner", reasoning_chars))

    def clear(self) -> None:
        self.events.append(("clear",))

    def show(self, text: str) -> None:
        self.events.append(("answer", text))


def test_thinking_stream_shows_a_spinner_until_the_answer_starts(fake, telemetry):
    module = scripted("thinking_stream", fake)
    screen = ScreenLog()
    module.answer(fake.client(), "clock?", screen.show, spinner=screen)
    kinds = [e[0] for e in screen.events]
    first_answer = kinds.index("answer")
    spinning = [e[1] for e in screen.events[:first_answer] if e[0] == "spinner"]
    assert spinning[0] == 0 and spinning[-1] == 49 and len(spinning) > 3  # turns while thinking
    assert kinds[first_answer - 1] == "clear"  # gone before the first word of the answer
    assert "spinner" not in kinds[first_answer:]


def test_the_spinner_turns_in_place_and_erases_itself():
    module = importlib.import_module("thinking_stream")
    out = io.StringIO()
    spinner = module.Spinner(out)
    spinner.clear()  # nothing shown yet: nothing to erase
    spinner.turn(0)
    spinner.turn(12)
    spinner.clear()
    assert out.getvalue() == (
        "\r| thinking... (0 characters of reasoning)"
        "\r/ thinking... (12 characters of reasoning)\r\x1b[K"
    )


def test_thinking_stream_shows_only_the_answer_and_logs_the_reasoning(fake, telemetry, caplog):
    module = scripted("thinking_stream", fake)
    shown = []
    with caplog.at_level(logging.INFO, logger="reasoning"):
        text = module.answer(fake.client(), "clock?", shown.append, spinner=ScreenLog())
    assert "".join(shown) == text == "It will be 50 minutes off."
    assert "fifty minutes" in caplog.text and "fifty" not in text
    assert fake.calls.last.json["stream"] is True
    assert telemetry.span().attributes["dashscope.response.reasoning.chars"] == 49


def relay_module(monkeypatch, telemetry):
    """The relay example, its span recorded by the test's tracer provider."""
    module = importlib.import_module("backpressure_relay")
    monkeypatch.setattr(module, "tracer", telemetry.tracer_provider.get_tracer("relay-test"))
    return module


def test_the_relay_applies_backpressure_to_a_slow_client(monkeypatch, telemetry):
    module = relay_module(monkeypatch, telemetry)
    fake = FakeDashScope()
    module.script(fake)
    received = []

    async def slow(text: str) -> None:
        await asyncio.sleep(0.0005)
        received.append(text)

    stats = asyncio.run(
        module.relay(fake.async_client(), [{"role": "user", "content": "story"}], slow, depth=4)
    )
    assert "".join(received) == "word " * 200
    relay, chat = telemetry.spans()
    assert chat.parent.span_id == relay.context.span_id
    assert chat.attributes["dashscope.stream.end"] == "exhausted"
    assert relay.attributes["relay.queue.capacity"] == 4
    assert 1 <= relay.attributes["relay.queue.max_depth"] <= 4
    assert relay.attributes["relay.producer.waits"] > 0  # the slow client held the producer back
    assert relay.attributes["relay.consumer.max_lag"] > 0
    assert relay.attributes["relay.chunks"] == len(received) == 200
    assert relay.attributes["relay.queue.max_depth"] == stats.max_depth


def test_a_client_that_goes_away_stops_the_producer_and_closes_the_stream(monkeypatch, telemetry):
    module = relay_module(monkeypatch, telemetry)
    fake = FakeDashScope()
    module.script(fake)

    sent: list[str] = []

    async def leaves_after_three_chunks(text: str) -> None:
        if len(sent) == 3:
            raise ConnectionResetError("the client went away")
        sent.append(text)

    async def scenario():
        with pytest.raises(ConnectionResetError):
            await module.relay(
                fake.async_client(),
                [{"role": "user", "content": "story"}],
                leaves_after_three_chunks,
                depth=4,
            )
        # Checked before asyncio.run() cancels leftovers: nothing may still be running.
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        return others, telemetry.spans()

    others, spans = asyncio.run(scenario())
    assert others == []  # the producer is not left blocked on the full queue
    relay, chat = spans
    assert chat.attributes["dashscope.stream.end"] == "closed"  # the upstream stream is closed
    assert relay.attributes["relay.chunks"] == 3
    assert [e.attributes["exception.type"] for e in relay.events] == ["ConnectionResetError"]


def test_the_relay_script_uses_the_guides_queue_depth(monkeypatch):
    module = importlib.import_module("backpressure_relay")
    depths = []
    relay = module.relay

    async def spy(client, messages, send, depth=module.QUEUE_DEPTH):
        depths.append(depth)
        return await relay(client, messages, send, depth)

    monkeypatch.setattr(module, "relay", spy)
    monkeypatch.setattr("builtins.print", lambda *args, **kwargs: None)
    asyncio.run(module.main())
    assert depths == [module.QUEUE_DEPTH] == [32]


FORM = '{"name": "Li Wei", "city": "Suzhou", "interests": ["gardens", "tea", "cycling"]}'


@pytest.mark.parametrize("reply", [FORM, f"```json\n{FORM}\n```"], ids=["plain", "fenced"])
def test_partial_json_renders_a_growing_form(fake, telemetry, reply):
    module = importlib.import_module("partial_json")
    fake.reply(reply, chunk_size=6)
    frames = []
    final = module.stream_form(fake.client(), "Li Wei from Suzhou", frames.append)
    assert final == {"name": "Li Wei", "city": "Suzhou", "interests": ["gardens", "tea", "cycling"]}
    assert frames[-1] == final and len(frames) > 3
    assert all(isinstance(f, dict) for f in frames)
    assert fake.calls.last.json["temperature"] == 0


@pytest.mark.parametrize(
    ("prefix", "json_text"),
    [
        ("`", ""),
        ("```js", ""),
        ("```json", ""),
        ("```json\n", ""),
        ('```json\n{"a": "Hang', '{"a": "Hang'),
        ('```json\n{"a": 1}\n`', '{"a": 1}'),
        ('```json\n{"a": 1}\n```', '{"a": 1}'),
        ('```\n{"a": 1}```', '{"a": 1}'),
        ('{"a": "x`', '{"a": "x`'),  # a backtick inside a string is content
        ('{"a": 1}', '{"a": 1}'),
    ],
)
def test_unfenced(prefix, json_text):
    assert importlib.import_module("partial_json").unfenced(prefix) == json_text


@pytest.mark.parametrize(
    ("prefix", "value"),
    [
        ('{"a": "Hang', {"a": "Hang"}),
        ('{"a": [1, 2', {"a": [1, 2]}),
        ('{"a": 1,', {"a": 1}),
        ('{"a', None),
        ('{"a": "q\\"', {"a": 'q"'}),
    ],
)
def test_parse_prefix(prefix, value):
    assert importlib.import_module("partial_json").parse_prefix(prefix) == value


def test_the_cache_monitor_sees_a_date_in_the_system_prompt_kill_the_hit_rate(telemetry):
    module = importlib.import_module("cache_monitor")
    stable_fake, dated_fake = FakeDashScope(), FakeDashScope()
    module.script(stable_fake)
    module.script(dated_fake)
    stable = module.run(stable_fake.client(), module.QUESTIONS, dated=False)
    dated = module.run(dated_fake.client(), module.QUESTIONS, dated=True)
    assert stable.hit_rate > 0.5 and dated.hit_rate == 0.0
    # What the cache saved, in money: the same questions cost more with the date in the prompt.
    assert stable.currency == dated.currency == "USD"
    assert stable.saved > 0 and dated.saved == 0
    assert stable.spent < dated.spent
    dated_span = telemetry.spans()[-1]
    assert "dynamic-system-prompt" in [e.attributes["rule"] for e in dated_span.events]


def test_truncation_keeps_the_system_prompt_and_the_tail_and_summarises_the_middle(fake, telemetry):
    module = scripted("truncation", fake)
    messages = module.long_conversation()
    compacted = module.compact(fake.client(), messages, budget_tokens=4000)
    assert compacted[0] == messages[0]
    assert compacted[1]["content"].startswith("Earlier in this conversation: The travellers")
    assert compacted[2:] == messages[-module.KEEP_LAST :]
    assert (
        qwenobs.estimate_prompt_tokens(compacted) < 4000 < qwenobs.estimate_prompt_tokens(messages)
    )
    assert fake.calls.last.json["model"] == "qwen-turbo"
    assert [
        f
        for f in qwenobs.validate({"model": "qwen-plus", "max_tokens": 9, "messages": compacted})
        if f.is_error
    ] == []


@pytest.mark.parametrize(
    "name",
    [
        "weather_agent",
        "multi_round_agent",
        "json_mode",
        "structured_output",
        "thinking_stream",
        "backpressure_relay",
        "partial_json",
        "cache_monitor",
        "truncation",
    ],
)
def test_each_example_runs_as_a_script(name):
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / f"{name}.py")],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "HOME": str(Path.home())},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()
