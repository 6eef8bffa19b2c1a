"""A thousand concurrent calls through ``fake.serve()``: none may fail (no timing asserted here;
benchmarks/bench_server_load.py measures the pacing)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from qwenobs.fake import FakeDashScope

CALLS = 1000
USER = [{"role": "user", "content": "hi"}]


@pytest.fixture(autouse=True)
def enough_file_descriptors() -> Iterator[None]:
    """Both ends of every connection live in this process: about 2,000 descriptors, more than
    the 1,024 many systems allow by default."""
    resource = pytest.importorskip("resource")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 2 * CALLS + 512
    if soft >= wanted:
        yield
        return
    if hard != resource.RLIM_INFINITY and hard < wanted:
        pytest.skip(f"needs {wanted} open files, the hard limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


async def test_a_thousand_concurrent_calls_streaming_and_not() -> None:
    fake = FakeDashScope(chunk_size=2)
    fake.reply("hello there", repeat=True)
    with fake.serve() as server:
        client = server.async_client()

        async def call(number: int) -> str:
            if number % 2:
                answer = await client.chat.completions.create(model="qwen-plus", messages=USER)
                return answer.choices[0].message.content
            stream = await client.chat.completions.create(
                model="qwen-plus", messages=USER, stream=True
            )
            return "".join([c.choices[0].delta.content or "" async for c in stream])

        results = await asyncio.gather(*(call(n) for n in range(CALLS)), return_exceptions=True)
        await client.close()
    failures = [r for r in results if isinstance(r, BaseException)]
    assert failures == [], f"{len(failures)} of {CALLS} calls failed, first: {failures[:1]!r}"
    assert results == ["hello there"] * CALLS
    assert len(fake.calls) == CALLS
    assert {call.status for call in fake.calls} == {200}
