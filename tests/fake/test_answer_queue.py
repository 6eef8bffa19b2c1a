"""The server's engine calls in turns: arrival order, errors handed over, and the loop's timers
running between answers during a burst."""

from __future__ import annotations

import asyncio
import time

import pytest

from qwenobs.fake.answer_queue import TIME_SLICE, AnswerQueue
from qwenobs.fake.engine import Request, Response


def request(number: int) -> Request:
    return Request.of("POST", f"/{number}", [], b"")


def response(request: Request) -> Response:
    return Response(200, (("x-request-id", request.path),), ((0.0, b"{}"),), streaming=False)


async def test_answers_in_arrival_order_and_hands_over_errors() -> None:
    seen: list[str] = []

    def handle(req: Request) -> Response:
        seen.append(req.path)
        if req.path == "/2":
            raise RuntimeError("broken on 2")
        return response(req)

    answers = AnswerQueue(handle)
    results = await asyncio.gather(
        *(answers.answer(request(n)) for n in range(5)), return_exceptions=True
    )
    assert seen == ["/0", "/1", "/2", "/3", "/4"]
    assert isinstance(results[2], RuntimeError)
    assert [r.request_id for r in results if isinstance(r, Response)] == ["/0", "/1", "/3", "/4"]


async def test_due_timers_run_between_answers_of_a_burst() -> None:
    events: list[str] = []

    def slow(req: Request) -> Response:
        began = time.perf_counter()
        while time.perf_counter() - began < TIME_SLICE / 2:  # engine work that holds the loop
            pass
        events.append("answer")
        return response(req)

    answers = AnswerQueue(slow)
    asyncio.get_running_loop().call_later(2 * TIME_SLICE, events.append, "timer")
    await asyncio.gather(*(answers.answer(request(n)) for n in range(40)))
    # Direct calls would have answered all 40 in one turn of the loop, before the timer.
    assert events.index("timer") < len(events) - 1


async def test_a_request_whose_client_left_is_skipped_and_close_cancels_the_rest() -> None:
    seen: list[str] = []
    answers = AnswerQueue(lambda req: seen.append(req.path) or response(req))
    left = asyncio.ensure_future(answers.answer(request(0)))
    kept = asyncio.ensure_future(answers.answer(request(1)))
    await asyncio.sleep(0)  # both wait in the queue; the worker has not run yet
    left.cancel()
    assert (await kept).request_id == "/1"
    assert seen == ["/1"]

    waiting = asyncio.ensure_future(answers.answer(request(2)))
    await asyncio.sleep(0)
    answers.close()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert seen == ["/1"]
