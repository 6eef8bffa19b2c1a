"""Faults on every front end, sync and async: a drop, a stall, a slow first byte, Retry-After and
seeded rate failures look to the openai SDK as they would from a real server (the in-process
front ends raise what the HTTP library raises on a socket), and meet its retries by the rule of
scripted failures."""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass, field
from typing import Any

import openai
import pytest

from qwenobs.fake import FakeDashScope, Request
from qwenobs.fake.faults import Cut
from qwenobs.fake.script import describe
from qwenobs.openai_sdk import http

PATH = "/compatible-mode/v1/chat/completions"
USER = [{"role": "user", "content": "What about Ningbo?"}]


@dataclass
class Seen:
    """What the app sees of one call: the answer or the error, and when."""

    content: str = ""
    chunks: int = 0
    error: str | None = None  # "timeout" or "connection"
    cause: str | None = None  # the HTTP library's exception under the SDK's, by name
    opened: float = 0.0  # seconds until create() returned (the status line and headers came)
    elapsed: float = 0.0
    arrivals: list[float] = field(default_factory=list)


def _classify(exc: BaseException) -> tuple[str, str]:
    """openai 3.x wraps a stream's transport error in its own; 1.x and 2.x let it out as is."""
    root = exc.__cause__ if isinstance(exc, openai.APIError) and exc.__cause__ else exc
    timeout = isinstance(exc, openai.APITimeoutError | http.TimeoutException)
    return ("timeout" if timeout else "connection"), type(root).__name__


async def attempt(harness: Any, *, stream: bool = False, **options: Any) -> Seen:
    client = harness.client.with_options(**options) if options else harness.client
    request = {"model": "qwen-plus", "messages": USER, "stream": stream}
    seen, started = Seen(), time.perf_counter()
    try:
        if harness.is_async:
            result = await client.chat.completions.create(**request)
            seen.opened = time.perf_counter() - started
            if stream:
                async for chunk in result:
                    _take(seen, chunk, started)
        else:
            result = client.chat.completions.create(**request)
            seen.opened = time.perf_counter() - started
            if stream:
                for chunk in result:
                    _take(seen, chunk, started)
        if not stream:
            seen.content = result.choices[0].message.content
    except (openai.APIError, http.TransportError) as exc:
        seen.error, seen.cause = _classify(exc)
    seen.elapsed = time.perf_counter() - started
    return seen


def _take(seen: Seen, chunk: Any, started: float) -> None:
    seen.chunks += 1
    seen.arrivals.append(time.perf_counter() - started)
    for choice in chunk.choices:
        seen.content += choice.delta.content or ""


# -- a dropped connection ----------------------------------------------------------------------


async def test_a_drop_mid_stream_cuts_after_n_events_without_done(harness) -> None:
    harness.fake.drop(after_chunks=3, content="Here comes a long answer that never ends.")
    seen = await attempt(harness, stream=True)
    assert (seen.error, seen.cause) == ("connection", "RemoteProtocolError")
    assert seen.chunks == 3  # the role chunk and two pieces of content, then nothing
    assert seen.content == "Here comes a lon"  # 8 characters a chunk
    (call,) = harness.fake.calls
    assert call.response.cut is Cut.IN_BODY
    assert b"[DONE]" not in call.response.content


@pytest.mark.parametrize("max_retries", [0, 1])  # the SDK backs off 0.5 s: no Retry-After here
async def test_a_drop_answers_every_retry_of_its_call(harness, max_retries) -> None:
    harness.fake.drop()
    seen = await attempt(harness, max_retries=max_retries)
    assert (seen.error, seen.cause) == ("connection", "RemoteProtocolError")
    assert [c.attempt for c in harness.fake.calls] == list(range(max_retries + 1))
    assert {c.response.cut for c in harness.fake.calls} == {Cut.BEFORE_RESPONSE}


async def test_a_drop_of_a_stream_before_the_response_fails_the_create(harness) -> None:
    harness.fake.drop()
    seen = await attempt(harness, stream=True)
    assert (seen.error, seen.chunks) == ("connection", 0)
    assert seen.cause == "RemoteProtocolError"


async def test_times_hands_a_drops_retry_to_the_script(harness) -> None:
    harness.fake.drop(times=1)
    harness.fake.reply("on the second try")
    seen = await attempt(harness, max_retries=2)
    assert seen.content == "on the second try"
    assert [(c.attempt, c.response.cut) for c in harness.fake.calls] == [
        (0, Cut.BEFORE_RESPONSE),
        (1, None),
    ]


# -- a stall and a slow first byte -------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
async def test_a_stall_past_the_read_timeout_times_out(harness, stream) -> None:
    harness.fake.stall(5, after_chunks=2)
    seen = await attempt(harness, stream=stream, timeout=0.2)
    assert (seen.error, seen.cause) == ("timeout", "ReadTimeout")
    assert seen.chunks == (2 if stream else 0)
    assert 0.2 <= seen.elapsed < 2  # the client's timeout, not the stall


async def test_a_stall_within_the_timeout_only_pauses(harness) -> None:
    harness.fake.stall(0.2, after_chunks=2, content="Paused, then done.")
    seen = await attempt(harness, stream=True)
    assert seen.error is None and seen.content == "Paused, then done."
    gaps = [b - a for a, b in zip(seen.arrivals, seen.arrivals[1:], strict=False)]
    # Between the second and the third event; measured where the client reads them, so a late
    # read of the second one may shorten it a little.
    assert gaps[1] >= 0.15


async def test_a_stall_answers_every_retry_of_its_call(harness) -> None:
    harness.fake.stall(5)
    seen = await attempt(harness, timeout=0.1, max_retries=1)
    assert seen.error == "timeout"
    assert [c.attempt for c in harness.fake.calls] == [0, 1]


async def test_a_slow_first_byte_holds_back_the_headers(harness) -> None:
    harness.fake.reply("late", first_byte_delay=0.2)
    seen = await attempt(harness, stream=True)
    assert seen.content == "late"
    assert seen.opened >= 0.2  # create() returns with the headers: after the delay


async def test_a_first_byte_past_the_read_timeout_times_out(harness) -> None:
    harness.fake.fail(500, first_byte_delay=5, times=1)
    harness.fake.reply("never seen")
    seen = await attempt(harness, stream=True, timeout=0.2)
    assert (seen.error, seen.cause, seen.chunks) == ("timeout", "ReadTimeout", 0)
    assert seen.elapsed < 2
    assert harness.fake.script.pending == 1


async def test_any_wait_past_the_read_timeout_times_out_as_on_a_socket(harness) -> None:
    harness.fake.reply("slowly", chunk_delay=5)  # no fault: a slow model
    seen = await attempt(harness, stream=True, timeout=0.2)
    assert (seen.error, seen.cause, seen.chunks) == ("timeout", "ReadTimeout", 1)


# -- Retry-After -------------------------------------------------------------------------------


async def test_retry_after_is_sent_and_the_sdk_waits_for_it(harness) -> None:
    harness.fake.fail(429, retry_after=0.3, times=1)
    harness.fake.reply("after waiting")
    seen = await attempt(harness, max_retries=1)
    assert seen.content == "after waiting"
    headers = dict(harness.fake.calls[0].response.headers)
    assert headers["retry-after"] == "0.3" and "retry-after-ms" not in headers
    assert seen.elapsed >= 0.3


def test_faults_are_marks_on_the_engines_response() -> None:
    fake = FakeDashScope(first_chunk_delay=0.1, chunk_delay=0.01)
    fake.stall(5, after_chunks=2)
    fake.stall(5, after_chunks=99)
    fake.stall(5)
    fake.drop(after_chunks=2)
    fake.drop(after_chunks=99)
    fake.drop(after_chunks=2)
    fake.reply("late", first_byte_delay=1.5)
    fake.fail(429, retry_after=2)

    def delays(response) -> list[float]:
        return [delay for delay, _ in response.parts]

    stalled = send(fake, stream=True)
    assert delays(stalled)[:4] == [0.1, 0.01, 5.01, 0.01]  # before the third event
    assert delays(send(fake, stream=True))[-2:] == [0.01, 5.0]  # at most before [DONE]
    (body_delay,) = delays(send(fake))  # a JSON answer: after the headers, before the body
    assert 5 < body_delay < 6
    cut = send(fake, stream=True)
    assert (cut.cut, len(cut.parts), cut.status) == (Cut.IN_BODY, 2, 200)
    whole = send(fake, stream=True)  # every event but [DONE]
    assert whole.cut is Cut.IN_BODY and not whole.content.endswith(b"data: [DONE]\n\n")
    assert whole.events()[-1]["choices"][0]["finish_reason"] == "stop"
    dropped = send(fake)  # a JSON answer: before the status line, whatever after_chunks says
    assert (dropped.cut, dropped.parts) == (Cut.BEFORE_RESPONSE, ())
    late = send(fake, stream=True)
    assert (late.first_byte_delay, late.parts[0][0]) == (1.5, 0.1)
    assert dict(send(fake).headers)["retry-after"] == "2"


# -- failures for a share of attempts ----------------------------------------------------------


def draws(seed: int, count: int, rate: float) -> list[bool]:
    """Whether each of ``count`` attempts fails, as the fake draws them with ``seed``."""
    chance = random.Random(seed)
    return [chance.random() < rate for _ in range(count)]


async def test_a_rate_failure_is_drawn_anew_for_each_attempt(harness) -> None:
    harness.fake.seed = next(s for s in range(100) if draws(s, 3, 0.5) == [True, True, False])
    harness.fake.reset()  # the draws start again from fake.seed
    harness.fake.fail(503, rate=0.5)
    harness.fake.reply("third attempt", repeat=True)
    seen = await attempt(harness, max_retries=3)
    assert seen.content == "third attempt"
    assert [(c.attempt, c.status) for c in harness.fake.calls] == [(0, 503), (1, 503), (2, 200)]


def send(fake: FakeDashScope, attempt: int | None = None, **extra: Any):
    headers = [("authorization", "Bearer sk-test")]
    if attempt is not None:
        headers.append(("x-stainless-retry-count", str(attempt)))
    body = {"model": "qwen-plus", "messages": USER, **extra}
    return fake.handle(Request.of("POST", PATH, headers, json.dumps(body).encode()))


def statuses(seed: int | None, calls: int = 40) -> list[int]:
    fake = FakeDashScope(seed=seed)
    fake.fail(500, rate=0.3)
    fake.reply("ok", repeat=True)
    return [send(fake).status for _ in range(calls)]


def test_the_same_seed_gives_the_same_failures() -> None:
    first = statuses(7)
    assert first == statuses(7)
    assert first == [500 if hit else 200 for hit in draws(7, 40, 0.3)]
    assert first != statuses(8)
    assert 5 < first.count(500) < 20


def test_without_a_seed_one_is_chosen_and_kept() -> None:
    fake = FakeDashScope()
    fake.fail(500, rate=0.3)
    fake.reply("ok", repeat=True)
    run = [send(fake).status for _ in range(40)]
    assert run == statuses(fake.seed)


def test_reset_starts_the_draws_again() -> None:
    fake = FakeDashScope(seed=3)
    fake.fail(500, rate=0.5)
    fake.reply("ok", repeat=True)
    before = [send(fake).status for _ in range(20)]
    fake.reset()
    fake.fail(500, rate=0.5)
    fake.reply("ok", repeat=True)
    assert [send(fake).status for _ in range(20)] == before


def test_rate_faults_are_drawn_in_order_and_a_miss_falls_through() -> None:
    fake = FakeDashScope(seed=11)
    fake.route(model="qwen-max").fail(429, rate=1.0)  # never reached by qwen-plus
    fake.route(model="qwen-plus").drop(rate=0.4).stall(0.01, rate=0.5)  # no queued answers
    fake.reply("queued", repeat=True)
    chance = random.Random(11)
    expected = []
    for _ in range(30):
        if chance.random() < 0.4:
            expected.append("drop(rate=0.4)")
        elif chance.random() < 0.5:
            expected.append("stall(0.01, rate=0.5)")
        else:
            expected.append("reply('queued')")
    for _ in range(30):
        send(fake)
    assert [describe(c.answer) for c in fake.calls] == expected


def test_a_rate_failure_never_answers_a_retry_by_itself() -> None:
    fake = FakeDashScope(seed=next(s for s in range(100) if draws(s, 2, 0.5) == [True, False]))
    fake.fail(500, rate=0.5)
    fake.reply("fresh draw")
    assert send(fake, 0).status == 500
    assert send(fake, 1).status == 200  # a plain fail(500) would have answered this retry


def test_the_dry_message_says_the_rate_faults_did_not_strike() -> None:
    fake = FakeDashScope(seed=next(s for s in range(100) if not draws(s, 1, 0.5)[0]))
    fake.fail(500, rate=0.5)
    message = send(fake).json()["error"]["message"]
    assert "is empty (it answered 0) and its 1 rate= fault(s) did not strike" in message


def test_rate_faults_are_not_unused_answers() -> None:
    fake = FakeDashScope()
    fake.fail(500, rate=0.1)
    assert fake.script.pending == 0
    assert fake.script.default.queued == ()
    assert [describe(f) for f in fake.script.default.rated] == ["fail(500, rate=0.1)"]


# -- how faults read, and bad arguments --------------------------------------------------------


def test_faults_read_like_the_calls_that_made_them(fake) -> None:
    fake.drop()
    fake.drop(after_chunks=3, times=1)
    fake.stall(5, after_chunks=2)
    fake.stall(0.5, rate=0.25)
    fake.fail(429, retry_after=2, times=1)
    answers = [a for a, _ in fake.script.default.queued] + list(fake.script.default.rated)
    assert [describe(a) for a in answers] == [
        "drop()",
        "drop(after_chunks=3, times=1)",
        "stall(5, after_chunks=2)",
        "fail(429, times=1, retry_after=2)",
        "stall(0.5, rate=0.25)",
    ]


BAD = [
    (
        lambda f: f.fail(500, rate=1.5),
        ValueError,
        "fake.fail(): rate must be a number from 0 to 1, got 1.5",
    ),
    (
        lambda f: f.fail(500, rate="10%"),
        TypeError,
        "fake.fail(): rate must be a number from 0 to 1 (the share of attempts it strikes) or "
        "None, got str '10%'",
    ),
    (
        lambda f: f.fail(500, rate=0.1, times=1),
        ValueError,
        "fake.fail(): rate=0.1 with times=1; a rate= fault is drawn anew for every attempt and "
        "stays in the script. Pass one of them.",
    ),
    (
        lambda f: f.route(model="qwen-max").drop(rate=0.1, repeat=True),
        ValueError,
        "fake.route(model='qwen-max').drop(): rate=0.1 with repeat=True;",
    ),
    (
        lambda f: f.fail(429, retry_after="soon"),
        TypeError,
        "fake.fail(): retry_after must be a number of seconds from 0 to 3600, or None, got str",
    ),
    (
        lambda f: f.fail(429, retry_after=-1),
        ValueError,
        "fake.fail(): retry_after must be a number of seconds from 0 to 3600, got -1",
    ),
    (
        lambda f: f.reply("x", first_byte_delay=-0.5),
        ValueError,
        "fake.reply(): first_byte_delay must be a number of seconds from 0 to 3600, got -0.5",
    ),
    (
        lambda f: f.drop(after_chunks=-1),
        ValueError,
        "fake.drop(): after_chunks must be an int from 0 up, got -1",
    ),
    (
        lambda f: f.drop(after_chunks=2.5),
        TypeError,
        "fake.drop(): after_chunks must be an int from 0 up or None, got float 2.5",
    ),
    (lambda f: f.drop(times=0), ValueError, "fake.drop(): times must be an int from 1 up, got 0"),
    (
        lambda f: f.drop(content=3),
        TypeError,
        "fake.drop(): content must be a str or None, got int 3",
    ),
    (
        lambda f: f.stall(0),
        ValueError,
        "fake.stall(): seconds must be a number of seconds above 0, got 0",
    ),
    (
        lambda f: f.stall(None),
        TypeError,
        "fake.stall(): seconds must be a number of seconds from 0 to 3600, got NoneType None",
    ),
    (
        lambda f: f.stall(float("inf")),
        ValueError,
        "fake.stall(): seconds must be a number of seconds from 0 to 3600, got inf",
    ),
    (
        lambda f: f.stall(1, after_chunks=True),
        TypeError,
        "fake.stall(): after_chunks must be an int from 0 up, got bool True",
    ),
    (
        lambda f: FakeDashScope(seed=-1),
        ValueError,
        "FakeDashScope(): seed must be an int from 0 up, got -1",
    ),
    (
        lambda f: FakeDashScope(seed="7"),
        TypeError,
        "FakeDashScope(): seed must be an int from 0 up or None, got str '7'",
    ),
]


@pytest.mark.parametrize(("script", "error", "message"), BAD)
def test_bad_fault_arguments_say_what_is_accepted(fake, script, error, message) -> None:
    with pytest.raises(error) as caught:
        script(fake)
    assert message in str(caught.value)
    assert fake.script.pending == 0 and fake.script.default.rated == ()
