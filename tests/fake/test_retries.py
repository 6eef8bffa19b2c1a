"""Scripted failures and the SDK's own retries: a failure answers the call and its retries on every
front end, ``times=`` hands later retries to the script, concurrent calls keep their own failure,
and a dry script says what came before and why no route answered."""

from __future__ import annotations

import asyncio
import json

import openai
import pytest

from qwenobs.fake import FakeDashScope, Request

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


# -- the engine alone: pairing, and what a dry script says -----------------------------------


def send(fake: FakeDashScope, body: dict, attempt: int | None = None):
    headers = [("authorization", "Bearer sk-test")]
    if attempt is not None:
        headers.append(("x-stainless-retry-count", str(attempt)))
    return fake.handle(Request.of("POST", PATH, headers, json.dumps(body).encode()))


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
