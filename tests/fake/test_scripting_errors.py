"""A scripting mistake fails at the ``reply``/``fail``/``route`` call that made it, naming the
argument, what was given and what is accepted; what the script accepts, every front end serves
alike; and a failure inside the fake answers one DashScope-shaped error that names it."""

from __future__ import annotations

import contextlib
import json
import math
import re
from typing import Any

import openai
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from qwenobs.fake import FakeDashScope

from .observe import summarize

USER = [{"role": "user", "content": "hi"}]

# (how the script is called, the exception, what its message says)
MISTAKES = [
    (lambda f: f.reply(123), TypeError, "fake.reply(): content must be a str or None, got int 123"),
    (
        lambda f: f.reply(tool_calls=["get_weather"]),
        TypeError,
        "fake.reply(): tool_calls[0] must be a mapping with 'name', 'arguments' (a str or a "
        "mapping) and optionally 'id', got str 'get_weather'",
    ),
    (
        lambda f: f.reply(tool_calls=[{"name": "get_weather", "args": {"city": "X"}}]),
        ValueError,
        "fake.reply(): tool_calls[0] has unknown key(s) 'args'; accepted: name, arguments, id",
    ),
    (
        lambda f: f.reply(tool_calls={"name": "get_weather"}),
        TypeError,
        "fake.reply(): tool_calls must be a list of tool calls",
    ),
    (
        lambda f: f.reply(tool_calls=[{"arguments": "{}"}]),
        ValueError,
        "fake.reply(): tool_calls[0] has no 'name'",
    ),
    (
        lambda f: f.reply(tool_calls=[{"name": "t", "arguments": 3}]),
        TypeError,
        "tool_calls[0]['arguments'] must be JSON text (a str) or a mapping, got int 3",
    ),
    (
        lambda f: f.reply(tool_calls=[{"name": "t", "arguments": {"x": {1, 2}}}]),
        ValueError,
        "tool_calls[0]['arguments'] must be a mapping JSON can encode",
    ),
    (
        lambda f: f.reply(usage="bad"),
        TypeError,
        "fake.reply(): usage must be a mapping or None, got str 'bad'",
    ),
    (
        lambda f: f.reply(usage={"prompt_tokens": -1}),
        ValueError,
        "usage['prompt_tokens'] must be an int from 0 up, got -1",
    ),
    (
        lambda f: f.reply(usage={"cached_tokens": 5}),
        ValueError,
        "usage has unknown key(s) 'cached_tokens'; accepted: prompt_tokens, completion_tokens",
    ),
    (
        lambda f: f.reply(
            "ok", usage={"prompt_tokens": 100, "prompt_tokens_details": {"cached_tokens": 800}}
        ),
        ValueError,
        "fake.reply(): usage['prompt_tokens_details']['cached_tokens'] must be at most "
        "usage['prompt_tokens'], 100 (cached tokens are part of the prompt), got 800",
    ),
    (
        lambda f: f.reply("x", chunk_delay=-1),
        ValueError,
        "chunk_delay must be a number of seconds from 0 to 3600, got -1",
    ),
    (
        lambda f: f.reply("x", first_chunk_delay=math.inf),
        ValueError,
        "first_chunk_delay must be a number of seconds from 0 to 3600, got inf",
    ),
    (lambda f: f.reply("x", chunk_size=0), ValueError, "chunk_size must be an int from 1 up"),
    (lambda f: f.reply("x", repeat="yes"), TypeError, "repeat must be True or False"),
    (lambda f: f.reply("\ud800"), ValueError, "content must be text that UTF-8 can encode"),
    (
        lambda f: f.fail("429"),
        TypeError,
        "fake.fail(): status must be an HTTP error status, an int from 400 to 599, got str '429'",
    ),
    (
        lambda f: f.fail(200),
        ValueError,
        "fake.fail(): status must be an HTTP error status, an int from 400 to 599, got 200",
    ),
    (lambda f: f.fail(True), TypeError, "status must be an HTTP error status"),
    (lambda f: f.fail(429, after_chunks=-1), ValueError, "after_chunks must be an int from 0 up"),
    (lambda f: f.fail(429, code=429), TypeError, "code must be a str or None, got int 429"),
    (lambda f: f.fail(429, times=0), ValueError, "times must be an int from 1 up, got 0"),
    (lambda f: f.fail(429, times=1, repeat=True), ValueError, "Pass one of them"),
    (
        lambda f: f.route(model="qwen-max").fail(999),
        ValueError,
        "fake.route(model='qwen-max').fail(): status must be",
    ),
    (lambda f: f.route(model=3), TypeError, "fake.route(): model must be a str or None, got int 3"),
    (
        lambda f: f.route(last_message=["a"]),
        TypeError,
        "fake.route(): last_message must be a str, a compiled re.Pattern or None",
    ),
    (
        lambda f: f.route(match="stream"),
        TypeError,
        "fake.route(): match must be a function of the request body or None, got str 'stream'",
    ),
    (
        lambda f: FakeDashScope(chunk_size="8"),
        TypeError,
        "FakeDashScope(): chunk_size must be an int from 1 up, got str '8'",
    ),
    (
        lambda f: FakeDashScope(first_chunk_delay=None),
        TypeError,
        "FakeDashScope(): first_chunk_delay must be a number of seconds from 0 to 3600, got "
        "NoneType",
    ),
    (lambda f: FakeDashScope(validate="off"), TypeError, "validate must be True or False"),
    (lambda f: FakeDashScope(catalog={}), TypeError, "catalog must be a qwenobs.Catalog"),
    (lambda f: FakeDashScope(api_key=""), ValueError, "api_key must be a non-empty str"),
    (lambda f: FakeDashScope(max_body=0), ValueError, "max_body must be an int from 1 up"),
]


@pytest.mark.parametrize(("script", "error", "message"), MISTAKES)
def test_a_scripting_mistake_fails_at_the_call(fake, script, error, message) -> None:
    with pytest.raises(error) as raised:
        script(fake)
    assert message in str(raised.value)
    assert fake.script.pending == 0  # nothing half-queued


async def test_a_failure_inside_the_fake_answers_one_error_naming_it(harness, caplog) -> None:
    def broken(body: Any) -> bool:
        return body["no such key"]

    harness.fake.route(match=broken).reply("never")
    harness.fake.reply("the next call")
    client = harness.client
    with pytest.raises(openai.InternalServerError) as raised:
        request = client.chat.completions.create(model="qwen-plus", messages=USER)
        if harness.is_async:
            await request
    error = raised.value.body
    assert error["code"] == "fake_internal_error"
    assert "route(match=<function" in error["message"]
    assert "match(body) raised KeyError: 'no such key'" in error["message"]
    assert [c.status for c in harness.fake.calls] == [500]  # logged, nothing consumed
    assert "the fake DashScope failed" in caplog.text
    assert harness.fake.script.default.pending == 1


# -- the property: accepted means served alike everywhere, else an error at the call ----------

ANY = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 700),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
)


def _arguments(valid: dict[str, Any], required: tuple[str, ...] = ()) -> st.SearchStrategy:
    """Keyword arguments: all valid values (half the time), or each arbitrary or valid."""
    mixed = {
        name: st.one_of(strategy, SLOW_FREE if name in TIMING else ANY)
        for name, strategy in valid.items()
    }

    def kwargs(strategies: dict[str, Any]) -> st.SearchStrategy:
        must = {name: strategies[name] for name in required}
        rest = {name: v for name, v in strategies.items() if name not in required}
        return st.fixed_dictionaries(must, optional=rest)

    return st.one_of(kwargs(valid), kwargs(mixed))


# Arbitrary values for a delay, but none valid that a test would sit through.
SLOW_FREE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 0),
    st.floats(max_value=0.002),
    st.floats(min_value=3600, exclude_min=True),
    st.just(math.nan),
    st.text(max_size=12),
    st.lists(st.integers(), max_size=2),
)
TIMING = {
    "first_chunk_delay": st.floats(0, 0.002),
    "chunk_delay": st.floats(0, 0.002),
    "chunk_size": st.integers(1, 16),
}
TOOL_CALL = st.fixed_dictionaries(
    {"name": st.text(min_size=1, max_size=8)},
    optional={
        "arguments": st.one_of(
            st.text(max_size=12), st.dictionaries(st.text(max_size=4), st.integers(), max_size=2)
        ),
        "id": st.text(min_size=1, max_size=8),
    },
)
USAGE = st.fixed_dictionaries(
    {},
    optional={
        "prompt_tokens": st.integers(0, 99),
        "completion_tokens": st.integers(0, 99),
        "prompt_tokens_details": st.fixed_dictionaries({"cached_tokens": st.integers(0, 9)}),
    },
)
REPLY = _arguments(
    {
        "content": st.text(max_size=40),
        "reasoning": st.text(max_size=20),
        "tool_calls": st.lists(st.one_of(TOOL_CALL, ANY), max_size=3),
        "finish_reason": st.sampled_from(["stop", "length", "tool_calls"]),
        "usage": USAGE,
        **TIMING,
    }
)
FAIL = _arguments(
    {
        "status": st.sampled_from([400, 401, 404, 429, 500, 503]),
        "code": st.sampled_from(["limit_requests", "data_inspection_failed"]),
        "message": st.text(max_size=20),
        "after_chunks": st.integers(0, 4),
        "content": st.text(max_size=30),
        "times": st.integers(1, 3),
        **TIMING,
    },
    required=("status",),
)


@pytest.fixture(scope="module")
def fronts():
    """One fake behind its three front ends, sync: the SDK must see the same thing through each."""
    fake = FakeDashScope()
    app = openai.OpenAI(
        api_key="sk-app",
        base_url="https://dashscope.aliyuncs.com/compatible-mode/v1",
        max_retries=0,
    )
    with fake.serve() as server:
        # The loopback URL has a /compatible-mode/ path: interception is on only for its client.
        yield fake, {"client": fake.client(), "intercept": app, "server": server.client()}


def _seen(client: Any, stream: bool) -> dict[str, Any]:
    request = {"model": "qwen-plus", "messages": USER, "max_tokens": 50}
    if stream:
        request |= {"stream": True, "stream_options": {"include_usage": True}}
    try:
        result = client.chat.completions.create(**request)
        chunks = list(result) if stream else []
    except openai.APIError as exc:
        seen = summarize(result=None, chunks=[], error=exc)
        seen["error"]["body"] = _without_ids(seen["error"]["body"])
        return seen
    seen = summarize(result=None if stream else result, chunks=chunks, error=None)
    seen.pop("ids", None)
    seen.pop("tool_call_ids", None)
    seen.pop("id_matches_request", None)
    return seen


def _without_ids(body: Any) -> Any:
    text = json.dumps(body, sort_keys=True)
    return re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<id>", text)


def _queue(fake: FakeDashScope, method: str, kwargs: dict[str, Any]) -> bool:
    """Script the answer once per front end; False when the script refuses it (at the call)."""
    try:
        getattr(fake, method)(**kwargs)
    except (TypeError, ValueError):
        assert fake.script.pending == 0
        return False
    for _ in range(2):
        getattr(fake, method)(**kwargs)
    return True


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    call=st.one_of(st.tuples(st.just("reply"), REPLY), st.tuples(st.just("fail"), FAIL)),
    stream=st.booleans(),
)
def test_what_the_script_accepts_every_front_end_serves_alike(fronts, call, stream) -> None:
    fake, clients = fronts
    fake.reset()
    method, kwargs = call
    accepted = _queue(fake, method, kwargs)
    event(f"{method} {'accepted' if accepted else 'refused at the call'}")
    if not accepted:
        return
    seen = {}
    for name, client in clients.items():
        with fake.intercept() if name == "intercept" else contextlib.nullcontext():
            seen[name] = _seen(client, stream)
    assert seen["intercept"] == seen["client"]
    assert seen["server"] == seen["client"]
    assert [c.status for c in fake.calls] == [fake.calls[0].status] * 3
    assert fake.calls[0].status != 500 or fake.calls[0].error["code"] != "fake_internal_error"


@pytest.mark.parametrize(
    ("call", "error", "says"),
    [
        (
            lambda f: f.intercept(hosts="https://llm.internal/v1").__enter__(),
            ValueError,
            "fake.intercept(): hosts must be a list of host names",
        ),
        (
            lambda f: f.serve(port="8080"),
            TypeError,
            "fake.serve(): port must be an int from 0 to 65535",
        ),
        (lambda f: f.serve(host=None), TypeError, "fake.serve(): host must be a str, got NoneType"),
    ],
)
def test_front_end_arguments(fake, call, error, says) -> None:
    with pytest.raises(error) as raised:
        call(fake)
    assert says in str(raised.value)


def test_intercept_takes_one_host_as_a_string(fake) -> None:
    fake.reply("through the gateway")
    with fake.intercept(hosts="llm-proxy.internal"):
        app = openai.OpenAI(api_key="sk", base_url="http://llm-proxy.internal/v1", max_retries=0)
        answer = app.chat.completions.create(model="qwen-plus", messages=USER)
    assert answer.choices[0].message.content == "through the gateway"


# -- argument names and counts: the call the user wrote, never an internal class ---------------

FAKE_KEYWORDS = (
    "first_chunk_delay, chunk_delay, chunk_size, api_key, validate, catalog, max_body, clock, seed"
)
REPLY_KEYWORDS = (
    "content, reasoning, tool_calls, finish_reason, usage, first_chunk_delay, chunk_delay, "
    "chunk_size, first_byte_delay, repeat"
)

# (the call, its whole message)
WRONG_ARGUMENTS = [
    (
        lambda f: FakeDashScope(hosts=["llm-proxy.internal"]),
        f"FakeDashScope(): unknown argument 'hosts'; accepted: {FAKE_KEYWORDS} "
        "(hosts belong to fake.intercept(hosts=...))",
    ),
    (
        lambda f: FakeDashScope("qwen-plus"),
        "FakeDashScope(): takes keyword arguments only, got 1 positional (str 'qwen-plus'); "
        f"accepted: {FAKE_KEYWORDS}",
    ),
    (
        lambda f: FakeDashScope(max_retries=2, port=80),
        f"FakeDashScope(): unknown arguments 'max_retries', 'port'; accepted: {FAKE_KEYWORDS} "
        "(client settings belong to fake.client(max_retries=...))",
    ),
    (
        lambda f: FakeDashScope(chunk_delays=0.1),
        f"FakeDashScope(): unknown argument 'chunk_delays'; accepted: {FAKE_KEYWORDS} "
        "(did you mean chunk_delay?)",
    ),
    (
        lambda f: f.route(bogus=1),
        "fake.route(): unknown argument 'bogus'; accepted: model, last_message, match",
    ),
    (
        lambda f: f.route("qwen-max"),
        "fake.route(): takes keyword arguments only, got 1 positional (str 'qwen-max'); "
        "accepted: model, last_message, match",
    ),
    (
        lambda f: f.reply("x", delay=1),
        f"fake.reply(): unknown argument 'delay'; accepted: {REPLY_KEYWORDS} (the delays are "
        "first_chunk_delay, chunk_delay and first_byte_delay)",
    ),
    (
        lambda f: f.reply("x", "because"),
        "fake.reply(): takes 1 positional argument (content), got 2; name the rest "
        f"(str 'because'); accepted: {REPLY_KEYWORDS}",
    ),
    (
        lambda f: f.reply("x", content="y"),
        "fake.reply(): content given twice, by position and by name",
    ),
    (
        lambda f: f.route(model="qwen-max").reply("x", reasonning="..."),
        "fake.route(model='qwen-max').reply(): unknown argument 'reasonning'; accepted: "
        f"{REPLY_KEYWORDS} (did you mean reasoning?)",
    ),
    (
        lambda f: f.fail(),
        "fake.fail(): missing argument 'status'; accepted: status, code, message, after_chunks, "
        "content, first_chunk_delay, chunk_delay, chunk_size, times, first_byte_delay, "
        "retry_after, rate, repeat",
    ),
    (
        lambda f: f.fail(429, model="qwen-max"),
        "fake.fail(): unknown argument 'model'; accepted: status, code, message, after_chunks, "
        "content, first_chunk_delay, chunk_delay, chunk_size, times, first_byte_delay, "
        "retry_after, rate, repeat (answers for one model go on fake.route(model=...))",
    ),
    (
        lambda f: f.drop(3, 4),
        "fake.drop(): takes 1 positional argument (after_chunks), got 2; name the rest (int 4); "
        "accepted: after_chunks, content, times, rate, repeat",
    ),
    (
        lambda f: f.stall(delay=5),
        "fake.stall(): unknown argument 'delay'; accepted: seconds, after_chunks, content, "
        "times, rate, repeat (a stall lasts seconds=S)",
    ),
    (
        lambda f: f.stall(),
        "fake.stall(): missing argument 'seconds'; accepted: seconds, after_chunks, content, "
        "times, rate, repeat",
    ),
    (
        lambda f: f.intercept(host="llm-proxy.internal"),
        "fake.intercept(): unknown argument 'host'; accepted: hosts (did you mean hosts?)",
    ),
    (
        lambda f: f.serve(bind="0.0.0.0"),
        "fake.serve(): unknown argument 'bind'; accepted: host, port",
    ),
]


@pytest.mark.parametrize(
    ("call", "message"), WRONG_ARGUMENTS, ids=[m.split(";")[0] for _, m in WRONG_ARGUMENTS]
)
def test_a_wrong_argument_names_the_call_and_lists_what_it_accepts(fake, call, message) -> None:
    with pytest.raises(TypeError) as raised:
        call(fake)
    assert str(raised.value) == message
    assert fake.script.pending == 0  # nothing half-queued


def test_the_checked_calls_keep_their_signatures() -> None:
    """The pytest plugin and the script file read these signatures: what they list is what the
    checks accept."""
    import inspect

    fake = FakeDashScope()
    shown = inspect.signature(FakeDashScope.__init__).parameters
    assert ", ".join(list(shown)[1:]) == FAKE_KEYWORDS
    assert all(p.kind is p.KEYWORD_ONLY for p in list(shown.values())[1:])
    assert ", ".join(inspect.signature(fake.reply).parameters) == REPLY_KEYWORDS
    assert list(inspect.signature(fake.route).parameters) == ["model", "last_message", "match"]
    assert list(inspect.signature(fake.intercept).parameters) == ["hosts"]
    assert FakeDashScope.reply.__doc__.startswith("Queue a successful answer.")
