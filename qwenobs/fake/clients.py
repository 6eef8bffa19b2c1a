"""OpenAI SDK clients wired to the fake, for every front end: a placeholder key, no retries."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

DASHSCOPE_BASE_URL = "https://dashscope-intl.aliyuncs.com/compatible-mode/v1"
FAKE_API_KEY = "sk-qwenobs-fake"


def make_client(*, is_async: bool, http: Mapping[str, Any], **options: Any) -> Any:
    """An ``openai.OpenAI`` (or ``AsyncOpenAI``) with ``options`` (``base_url`` first of all) over
    the defaults. ``http`` goes to the SDK's own HTTP client (a transport, ``trust_env``)."""
    import openai

    http_client = (openai.DefaultAsyncHttpxClient if is_async else openai.DefaultHttpxClient)(
        **http
    )
    settings = {
        "api_key": FAKE_API_KEY,
        "max_retries": 0,  # a scripted 429 or 500 fails at once instead of sleeping through retries
        "http_client": http_client,
        **options,
    }
    return (openai.AsyncOpenAI if is_async else openai.OpenAI)(**settings)
