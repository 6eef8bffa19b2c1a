"""Scripted failures and the SDK's own retries: a failure answers the call and its retries on every
front end, ``times=`` hands later retries to the script, concurrent calls keep their own failure,
and a dry script says what came before and why no route answered."""

from __future__ import annotations

import asyncio
import contextlib
import json

import openai
import pytest

from qwenobs.fake import FakeDashScope, Request
from qwenobs.fake.retries import Retries

from .observe import observe

PATH = "/compatible-mode/v1/chat/completions"
USER = [{"role": "user", "content": "What about Ningbo?"}]


def _request(**extra: object) -> dict:
    return {"model": "qwen-plus", "messages": USER, "max_tokens": 64, **extra}


def _retrying(harness, max_retries: int):
    harness.client = harness.client.with_options(max_retries=max_retries)
    return harness


@pytest.mark.parametrize("max_retries", [0, 2])
async def test_a_failure_answers_every_retry_of_its_call(harness, max_retries) -> None:
    harness.fake.fail(429)
    seen = await observe(_retrying(harness, max_retries), **_request())
    assert seen["error"]["type"] == "RateLimitError"
    calls = harness.fake.calls
    assert [c.status for c in calls] == [429] * (max_retries + 1)
    assert [c.attempt for c in calls] == list(range(max_retries + 1))
    # The SDK honours retry-after-ms, so it does not sleep through its own backoff.
    assert ("retry-after-ms", "1") in calls[0].response.headers


async def test_times_hands_the_retry_to_the_next_scripted_answer(harness) -> None:
    harness.fake.fail(429, times=1)
    harness.fake.reply("after one retry")
    seen = await observe(_retrying(harness, 2), **_request())
    assert seen["content"] == "after one retry"
    assert [(c.attempt, c.status) for c in harness.fake.calls] == [(0, 429), (1, 200)]


async def test_times_counts_the_attempts_of_one_call(harness) -> None:
    harness.fake.fail(500, times=2)
    harness.fake.reply("third time lucky")
    seen = await observe(_retrying(harness, 2), **_request())
    assert seen["content"] == "third time lucky"
    assert [c.status for c in harness.fake.calls] == [500, 500, 200]


def test_not_retryable_failures_carry_no_retry_after(fake) -> None:
    fake.fail(401)
    fake.fail(400, code="data_inspection_failed")
    fake.fail(503)
    client = fake.client()
    for error in (openai.AuthenticationError, openai.BadRequestError, openai.InternalServerError):
        with pytest.raises(error):
            client.chat.completions.create(**_request())
    headers = [dict(c.response.headers) for c in fake.calls]
    assert ["retry-after-ms" in h for h in headers] == [False, False, True]


async def test_concurrent_calls_keep_their_own_failure() -> None:
    fake = FakeDashScope(first_chunk_delay=0.02)  # the calls overlap
    fake.fail(429)
    fake.reply("the lucky one")
    with fake.serve() as server:
        client = server.async_client(max_retries=2)
        results = await asyncio.gather(
            client.chat.completions.create(**_request()),
            client.chat.completions.create(**_request(messages=[{"role": "user", "content": "b"}])),
            return_exceptions=True,
        )
    errors = [r for r in results if isinstance(r, Exception)]
    answers = [r.choices[0].message.content for r in results if not isinstance(r, Exception)]
    assert [type(e).__name__ for e in errors] == ["RateLimitError"]
    assert answers == ["the lucky one"]
    assert sorted(c.status for c in fake.calls) == [200, 429, 429, 429]


@pytest.mark.parametrize("front", ["serve", "client"])
def test_a_timed_out_call_is_not_retried_into_another_calls_failure(front) -> None:
    fake = FakeDashScope()
    fake.fail(500)  # call A: its client does not retry
    fake.reply("slow", first_byte_delay=1.5)  # call B's first attempt times out...
    fake.reply("ok", repeat=True)  # ...and its retry gets this
    with contextlib.ExitStack() as stack:
        source = stack.enter_context(fake.serve()) if front == "serve" else fake
        with pytest.raises(openai.InternalServerError):
            source.client(max_retries=0).chat.completions.create(**_request())
        client = source.client(max_retries=1, timeout=0.5)
        answer = client.chat.completions.create(**_request())
    assert answer.choices[0].message.content == "ok"
    assert [(c.attempt, c.status) for c in fake.calls] == [(0, 500), (0, 200), (1, 200)]


# -- the engine alone: pairing, and what a dry script says -----------------------------------


def send(
    fake: FakeDashScope,
    body: dict,
    attempt: int | None = None,
    *,
    read_timeout: float | None = None,
    key: str | None = None,
):
    headers = [("authorization", "Bearer sk-test")]
    if attempt is not None:
        headers.append(("x-stainless-retry-count", str(attempt)))
    if read_timeout is not None:
        headers.append(("x-stainless-read-timeout", str(read_timeout)))
    if key is not None:
        headers.append(("idempotency-key", key))
    return fake.handle(Request.of("POST", PATH, headers, json.dumps(body).encode()))


def _content(response) -> str:
    return response.json()["choices"][0]["message"]["content"]


def test_retries_pair_with_the_failure_of_their_own_request(fake) -> None:
    a, b = _request(), _request(messages=[{"role": "user", "content": "b"}])
    fake.fail(429)
    fake.fail(503)
    assert send(fake, a, 0).status == 429
    assert send(fake, b, 0).status == 503
    assert send(fake, b, 1).status == 503  # b's retry, whatever came in between
    assert send(fake, a, 1).status == 429
    assert send(fake, a, 2).status == 429


def test_identical_calls_failing_at_once_each_keep_a_failure(fake) -> None:
    fake.fail(429, times=2)
    fake.fail(429, times=2)
    fake.reply("one")
    fake.reply("two")
    assert [send(fake, _request(), n).status for n in (0, 0, 1, 1, 2, 2)] == [
        *(429,) * 4,
        200,
        200,
    ]


def test_a_new_call_never_takes_another_calls_failure(fake) -> None:
    fake.fail(429)
    fake.reply("fresh")
    assert send(fake, _request(), 0).status == 429
    assert send(fake, _request(), 0).json()["choices"][0]["message"]["content"] == "fresh"


def test_a_retry_after_a_timeout_takes_the_next_answer_not_an_older_failure(fake) -> None:
    fake.fail(500)  # a call whose client does not retry
    fake.reply("slow", first_byte_delay=2)
    fake.reply("ok")
    assert send(fake, _request(), 0).status == 500
    assert send(fake, _request(), 0, read_timeout=1).status == 200  # the client gives up on it
    assert _content(send(fake, _request(), 1, read_timeout=1)) == "ok"


def test_a_rate_failure_is_retried_with_a_new_draw_not_an_older_failure() -> None:
    fake = FakeDashScope(seed=10)  # draws: spared, struck, spared
    fake.fail(503, rate=0.5)
    fake.fail(500)  # takes the first (spared) call, whose client does not retry
    fake.reply("ok")
    assert send(fake, _request(), 0).status == 500
    assert send(fake, _request(), 0).status == 503  # another call, struck by the draw
    assert _content(send(fake, _request(), 1)) == "ok"  # its retry: drawn anew, then the script


def test_a_stream_cut_after_its_first_events_is_not_retried(fake) -> None:
    # The SDK has its 200 and never retries a cut stream: the drop cannot strike a retry.
    fake.fail(500, times=1)
    fake.drop(after_chunks=2)
    fake.reply("whole", repeat=True)
    stream = _request(stream=True)
    assert send(fake, stream, 0).status == 500
    assert send(fake, stream, 0).cut is not None
    assert send(fake, stream, 0).cut is None
    retry = send(fake, stream, 1)  # the 500's retry, after its times=1
    assert (retry.status, retry.cut) == (200, None)


def test_failures_that_are_not_retried_are_not_remembered(fake) -> None:
    fake.fail(400)
    fake.fail(500, after_chunks=1)  # an error event in a 200 stream
    fake.reply("ok", repeat=True)
    assert send(fake, _request(), 0).status == 400
    assert send(fake, _request(stream=True), 0).status == 200
    assert send(fake, _request(), 1).status == 200
    send(fake, _request(stream=True), 1)
    assert fake.calls.last.error is None


def test_an_idempotency_key_tells_identical_calls_apart(fake) -> None:
    fake.fail(500)
    fake.reply("b's retry")
    assert send(fake, _request(), 0, key="a").status == 500
    assert _content(send(fake, _request(), 1, key="b")) == "b's retry"
    assert send(fake, _request(), 1, key="a").status == 500


def test_a_remembered_failure_expires_when_its_retry_can_no_longer_come() -> None:
    now = [0.0]
    retries = Retries(clock=lambda: now[0])
    fake = FakeDashScope()
    fake.retries = retries
    fake.fail(500)
    fake.reply("later")
    assert send(fake, _request(), 0).status == 500
    now[0] += 60  # far past the 1 ms the failure asked the SDK to wait
    assert _content(send(fake, _request(), 1)) == "later"


def test_the_dry_message_says_what_the_earlier_attempts_got(fake) -> None:
    fake.fail(429, times=1)
    send(fake, _request(), 0)
    message = send(fake, _request(), 1).json()["error"]["message"]
    assert "no scripted answer for call #2" in message
    assert "retry 1 of the client" in message
    assert "Earlier calls with this same request: #1 got HTTP 429 from fail(429, times=1)." in (
        message
    )


def test_a_client_that_does_not_number_retries_is_told_so(fake) -> None:
    fake.fail(429)
    send(fake, _request())
    message = send(fake, _request()).json()["error"]["message"]
    assert "#1 got HTTP 429 from fail(429)" in message
    assert "does not number its retries (x-stainless-retry-count" in message
    assert "max_retries=0" in message


def test_the_dry_message_says_why_each_route_gave_no_answer(fake) -> None:
    fake.route(model="qwen-max").reply("max")
    fake.route(last_message="Ningbo").reply("about Ningbo")
    fake.route(last_message="Hangzhou").reply("about Hangzhou")
    fake.route(match=lambda body: body.get("stream") is True).reply("streamed")
    send(fake, _request())  # the Ningbo route answers
    message = send(fake, _request()).json()["error"]["message"]
    assert (
        "Tried: route(model='qwen-max'): the model is 'qwen-plus'; "
        "route(last_message='Ningbo'): it matches, but has no answers left (it answered 1); "
        "route(last_message='Hangzhou'): the last message 'What about Ningbo?' does not contain "
        "it; route(match=<function " in message
    )
    assert (
        ": match(body) returned a false value; "
        "the catch-all queue (fake.reply/fake.fail) is empty (it answered 0)." in message
    )


def test_reset_forgets_failed_calls(fake) -> None:
    fake.fail(429)
    send(fake, _request(), 0)
    fake.reset()
    fake.reply("after reset")
    assert send(fake, _request(), 1).status == 200
