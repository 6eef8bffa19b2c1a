"""Shared by the examples: a real DashScope client when DASHSCOPE_API_KEY is set, else the fake.

Each example scripts what the fake answers; with a real key the script is ignored and Qwen answers.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import openai

from qwenobs.fake import FakeDashScope

BASE_URL = os.environ.get(
    "DASHSCOPE_BASE_URL", "https://dashscope-intl.aliyuncs.com/compatible-mode/v1"
)


def live() -> bool:
    return bool(os.environ.get("DASHSCOPE_API_KEY"))


@contextmanager
def qwen(script: Callable[[FakeDashScope], None], *, is_async: bool = False) -> Iterator[Any]:
    """An OpenAI (or AsyncOpenAI) client for DashScope: real with a key, the scripted fake without."""
    cls = openai.AsyncOpenAI if is_async else openai.OpenAI
    if live():
        yield cls(api_key=os.environ["DASHSCOPE_API_KEY"], base_url=BASE_URL)
        return
    fake = FakeDashScope()
    script(fake)
    with fake.intercept():
        yield cls(api_key="sk-example", base_url=BASE_URL)
