"""One fake, reached through each front end (explicit client, intercept, loopback server), sync
and async: every scenario runs against all six and must look the same to the SDK."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import openai
import pytest

from qwenobs.fake import FakeDashScope

DASHSCOPE = "https://dashscope.aliyuncs.com/compatible-mode/v1"
FRONTS = [
    (front, mode) for front in ("client", "intercept", "server") for mode in ("sync", "async")
]


@dataclass
class Harness:
    fake: FakeDashScope
    front: str
    is_async: bool
    client: Any  # openai.OpenAI or openai.AsyncOpenAI


def _harness(fake: FakeDashScope, front: str, is_async: bool, stack: Any) -> Any:
    if front == "client":
        return fake.async_client() if is_async else fake.client()
    if front == "intercept":
        # A client the application builds itself, with its own settings.
        stack.enter_context(fake.intercept())
        cls = openai.AsyncOpenAI if is_async else openai.OpenAI
        return cls(api_key="sk-app", base_url=DASHSCOPE, max_retries=0)
    server = stack.enter_context(fake.serve())
    return server.async_client() if is_async else server.client()


@pytest.fixture(params=FRONTS, ids=[f"{front}-{mode}" for front, mode in FRONTS])
def harness(request: pytest.FixtureRequest) -> Iterator[Harness]:
    from contextlib import ExitStack

    front, mode = request.param
    fake = FakeDashScope()
    with ExitStack() as stack:
        client = _harness(fake, front, mode == "async", stack)
        yield Harness(fake, front, mode == "async", client)


@pytest.fixture
def fake() -> FakeDashScope:
    return FakeDashScope()
