"""LiteLLM streams through ``with_raw_response``: its spans get usage, and the chunks it yields are
the ones it yields uninstrumented. LiteLLM itself, against the fake's loopback server.

LiteLLM needs openai>=2.20 (the 1.x compat venv skips this file) and is imported only here, by a
fixture, so no other test pays for its import.
"""

from __future__ import annotations

import os
from typing import Any

import openai
import pytest

import qwenobs

# LiteLLM's own TypedDicts make pydantic warn while LiteLLM builds its models; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:.*ReadOnly. qualifier:UserWarning")

REQUEST = {
    "model": "openai/qwen-plus",  # LiteLLM's OpenAI-compatible provider, pointed at the fake
    "api_key": "sk-test",
    "max_tokens": 64,
    "messages": [{"role": "user", "content": "Weather in Shanghai?"}],
    "stream": True,
}


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".")[:2])


@pytest.fixture(scope="module")
def litellm() -> Any:
    if _version(openai.__version__) < (2, 20):
        pytest.skip(f"LiteLLM needs openai>=2.20; this venv has openai {openai.__version__}")
    # Without it LiteLLM fetches its model price list from the network when imported.
    os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    return pytest.importorskip("litellm")


def chunks_seen(chunks: list[Any]) -> list[dict]:
    # Ids and timestamps differ from one request to the next; everything else must not.
    return [chunk.model_dump(exclude={"id", "created"}) for chunk in chunks]


@pytest.fixture
def server(fake: Any) -> Any:
    fake.reply("Sunny, 25°C. No umbrella needed.", chunk_size=4, repeat=True)
    with fake.serve() as running:
        yield running


def test_completion_stream(litellm, server, fake, telemetry):
    def stream() -> list[dict]:
        return chunks_seen(list(litellm.completion(api_base=server.base_url, **REQUEST)))

    qwenobs.uninstrument()
    bare = stream()
    assert telemetry.spans() == [] and "stream_options" not in fake.calls.last.json
    telemetry.instrument()
    traced = stream()

    assert traced == bare
    assert fake.calls.last.json["stream_options"] == {"include_usage": True}
    (usage,) = [e["usage"] for e in fake.calls.last.response.events() if e.get("usage")]
    a = telemetry.span().attributes
    assert a["gen_ai.usage.input_tokens"] == usage["prompt_tokens"]
    assert a["gen_ai.usage.output_tokens"] == usage["completion_tokens"]
    assert a["dashscope.stream.end"] == "exhausted"


async def test_acompletion_stream(litellm, server, fake, telemetry):
    async def stream() -> list[dict]:
        response = await litellm.acompletion(api_base=server.base_url, **REQUEST)
        return chunks_seen([chunk async for chunk in response])

    qwenobs.uninstrument()
    bare = await stream()
    telemetry.instrument()
    traced = await stream()

    assert traced == bare
    a = telemetry.span().attributes
    assert a["gen_ai.usage.input_tokens"] > 0 and a["dashscope.stream.end"] == "exhausted"
