"""Token counts match the Qwen tokenizer dashscope ships, offline, for CJK and English alike."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qwenobs import catalog, count_tokens, estimate_prompt_tokens, tokens, validate


@pytest.fixture(scope="module")
def reference():
    from dashscope.tokenizers import get_tokenizer

    return get_tokenizer("qwen-7b-chat")


MIXED = st.text(
    alphabet=st.sampled_from(
        list("今天天气很好我们去公园散步吧。，Qwen tokenizer counts 123 ！? \n\t")
    ),
    max_size=200,
)


@settings(max_examples=200)
@given(MIXED)
def test_counts_match_dashscopes_own_qwen_tokenizer(reference, text):
    assert count_tokens(text) == len(reference.encode(text))


def test_chinese_counts_like_qwen_not_like_an_openai_tokenizer():
    text = "阿里云百炼平台提供通义千问大模型服务，支持函数调用与流式输出。"
    # Qwen's vocabulary merges common Chinese words: fewer tokens than characters.
    assert count_tokens(text) < len(text)
    assert count_tokens("阿里云百炼 DashScope SDK") == 7


def test_special_token_text_is_counted_as_plain_text():
    assert count_tokens("<|im_end|>") > 1


def test_very_long_text_is_counted_in_slices(monkeypatch):
    text = "The quick brown fox jumps over the lazy dog. " * 5000
    whole = count_tokens(text)
    monkeypatch.setattr(tokens, "_SLICE", 10_000)
    assert abs(count_tokens(text) - whole) <= 25  # a cut may split at most one piece per slice


def test_prompt_estimate_adds_the_chat_template():
    one = [{"role": "user", "content": "hi"}]
    assert estimate_prompt_tokens(one) == count_tokens("hi") + 5 + 3
    tool_call = {
        "role": "assistant",
        "content": None,
        "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": '{"a": 1}'}}],
    }
    assert estimate_prompt_tokens([*one, tool_call]) > estimate_prompt_tokens(one) + 5
    tools = [{"type": "function", "function": {"name": "f", "parameters": {}}}]
    assert estimate_prompt_tokens(one, tools) > estimate_prompt_tokens(one) + 100


def test_without_the_vocabulary_counting_says_what_to_install(monkeypatch):
    monkeypatch.setattr(tokens.importlib.util, "find_spec", lambda name: None)
    tokens._encoding.cache_clear()
    try:
        with pytest.raises(tokens.TokenizerUnavailable, match=r"qwenobs\[tokens\]"):
            count_tokens("hello")
        # The context rule then stays quiet instead of breaking validation.
        huge = {
            "model": "qwen-max",
            "max_tokens": 10,
            "messages": [{"role": "user", "content": "a " * 40_000}],
        }
        assert [f.rule for f in validate(huge)] == []
    finally:
        tokens._encoding.cache_clear()


def test_catalog_resolves_snapshots_and_prices_cached_input():
    plus = catalog.DEFAULT_CATALOG.lookup("qwen-plus-2025-07-28")
    assert plus is not None and plus.name == "qwen-plus"
    assert catalog.DEFAULT_CATALOG.lookup("qwen-plus-latest") is plus
    assert catalog.DEFAULT_CATALOG.lookup("no-such-model") is None
    assert plus.cost(1_000_000, 0, cached_tokens=1_000_000) == pytest.approx(0.4 * 0.2)
    assert plus.cost(1_000_000, 1_000_000) == pytest.approx(0.4 + 1.2)
    assert catalog.DEFAULT_CATALOG.lookup("qwen-long").cost(1, 1) is None


def test_a_custom_catalog_changes_the_checks():
    mine = catalog.DEFAULT_CATALOG.extend(catalog.ModelInfo("my-qwen", 1_000, 100))
    request = {
        "model": "my-qwen",
        "max_tokens": 500,
        "messages": [{"role": "user", "content": "word " * 800}],
    }
    assert "context-overflow" in [f.rule for f in validate(request, catalog=mine)]
    assert "context-overflow" not in [f.rule for f in validate(request)]
