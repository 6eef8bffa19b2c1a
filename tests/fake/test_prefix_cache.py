"""The implicit cache counts the tokens usage counts: a prompt whose ``prompt_tokens`` reach 256 can
be cached, a prompt sent again hits in full, and the next turn hits everything the last one sent."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qwenobs.fake import FakeDashScope, Request
from qwenobs.fake.cache import MIN_PREFIX, prompt_ids
from qwenobs.tokens import VOCABULARIES, count_tokens, estimate_prompt_tokens

PATH = "/compatible-mode/v1/chat/completions"
AUTH = [("Authorization", "Bearer sk-test"), ("Content-Type", "application/json")]
QUESTION = {"role": "user", "content": "What is the weather in Hangzhou?"}
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city today.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


def usage(fake: FakeDashScope, messages: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    body = {"model": "qwen-plus", "messages": messages} | extra
    response = fake.handle(Request.of("POST", PATH, AUTH, json.dumps(body).encode()))
    assert response.status == 200, response.content
    return response.json()["usage"]


def cached(answer: dict[str, Any]) -> int:
    return answer["prompt_tokens_details"]["cached_tokens"]


def system_for(prompt_tokens: int) -> list[dict[str, Any]]:
    """A system prompt and a question whose prompt_tokens are exactly ``prompt_tokens``."""
    rest = estimate_prompt_tokens([{"role": "system", "content": ""}, QUESTION])
    system = "hello" + " hello" * (prompt_tokens - rest - 1)  # one token a word
    messages = [{"role": "system", "content": system}, QUESTION]
    assert estimate_prompt_tokens(messages) == prompt_tokens
    return messages


@pytest.fixture
def fake() -> FakeDashScope:
    fake = FakeDashScope()
    fake.reply("Sunny.", repeat=True)
    return fake


@pytest.mark.parametrize(
    ("prompt_tokens", "hit"),
    [(MIN_PREFIX - 1, 0), (MIN_PREFIX, MIN_PREFIX), (292, 292)],
    ids=["255-misses", "256-hits", "292-hits"],
)
def test_a_prompt_sent_again_hits_from_256_prompt_tokens(fake, prompt_tokens, hit) -> None:
    messages = system_for(prompt_tokens)
    first, again = usage(fake, messages), usage(fake, messages)
    assert first["prompt_tokens"] == again["prompt_tokens"] == prompt_tokens
    assert (cached(first), cached(again)) == (0, hit)


def test_the_next_turn_hits_everything_the_last_one_sent(fake) -> None:
    turn = system_for(300)
    first = usage(fake, turn)
    turn += [{"role": "assistant", "content": "Sunny."}, {"role": "user", "content": "And Ningbo?"}]
    second = usage(fake, turn)
    assert cached(second) == first["prompt_tokens"]
    assert second["prompt_tokens"] > first["prompt_tokens"]


def test_tools_sit_after_the_system_prompt_so_changing_them_keeps_its_hit(fake) -> None:
    messages = system_for(400)
    with_tools = usage(fake, messages, tools=[WEATHER_TOOL])
    other = {**WEATHER_TOOL, "function": {**WEATHER_TOOL["function"], "name": "get_forecast"}}
    changed = usage(fake, messages, tools=[other])
    system = count_tokens(messages[0]["content"])
    assert system < cached(changed) < changed["prompt_tokens"]
    assert with_tools["prompt_tokens"] == estimate_prompt_tokens(messages, [WEATHER_TOOL])


def test_another_image_after_the_same_text_misses_from_the_image_on(fake) -> None:
    def asking(url: str) -> list[dict[str, Any]]:
        parts = [
            {"type": "text", "text": system_for(400)[0]["content"]},
            {"type": "image_url", "image_url": {"url": url}},
        ]
        return [{"role": "user", "content": parts}]

    first = usage(fake, asking("https://example.test/a.png"), model="qwen-vl-plus")
    again = usage(fake, asking("https://example.test/a.png"), model="qwen-vl-plus")
    other = usage(fake, asking("https://example.test/b.png"), model="qwen-vl-plus")
    assert cached(again) == first["prompt_tokens"]
    assert MIN_PREFIX <= cached(other) < other["prompt_tokens"]


# -- the cache's tokens are usage's tokens -----------------------------------------------------

TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
PART = st.one_of(
    st.fixed_dictionaries({"type": st.just("text"), "text": TEXT}),
    st.fixed_dictionaries(
        {"type": st.just("image_url"), "image_url": st.fixed_dictionaries({"url": TEXT})}
    ),
)
CALL = st.fixed_dictionaries(
    {
        "id": TEXT,
        "type": st.just("function"),
        "function": st.fixed_dictionaries({"name": TEXT, "arguments": TEXT}),
    }
)
MESSAGE = st.one_of(
    st.fixed_dictionaries(
        {
            "role": st.sampled_from(["system", "user", "assistant", "tool"]),
            "content": st.one_of(st.none(), TEXT, st.lists(PART, max_size=3)),
        }
    ),
    st.fixed_dictionaries(
        {"role": st.just("assistant"), "content": st.none(), "tool_calls": st.lists(CALL)}
    ),
)
TOOLS = st.one_of(st.none(), st.lists(st.dictionaries(TEXT, TEXT, max_size=3), max_size=2))


@settings(max_examples=200, deadline=None)
@given(
    messages=st.lists(MESSAGE, max_size=5),
    tools=TOOLS,
    vocabulary=st.sampled_from(["qwen", "qwen3.5"]),
)
def test_the_cache_compares_as_many_tokens_as_usage_counts(messages, tools, vocabulary) -> None:
    """The same count as the rules' context check (``estimate_prompt_tokens``)."""
    vocab = VOCABULARIES[vocabulary]
    assert len(prompt_ids(messages, tools, vocab)) == vocab.estimate(messages, tools)
