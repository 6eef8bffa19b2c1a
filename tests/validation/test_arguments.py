"""Mistakes in what is handed to ``validate`` and the token helpers: a message that is not a
message, content of the wrong shape, the request as keyword arguments, and wrong types raising
at the call, naming the argument."""

from __future__ import annotations

import pytest

import qwenobs
from qwenobs import count_tokens, estimate_prompt_tokens, validate

USER = {"role": "user", "content": "hi"}


def request(*messages: object) -> dict:
    return {"model": "qwen-plus", "max_tokens": 64, "messages": list(messages)}


@pytest.mark.parametrize(
    ("entry", "says"),
    [
        ("What is DashScope?", "messages[1] is str 'What is DashScope?', not a message"),
        (None, "messages[1] is NoneType None, not a message"),
        (3, "messages[1] is int 3, not a message"),
        (["user", "hi"], "messages[1] is list ['user', 'hi'], not a message"),
    ],
)
def test_an_entry_that_is_not_a_message_says_what_it_is(entry, says) -> None:
    [found] = validate(request(USER, entry))
    assert (found.rule, found.index) == ("invalid-message", 1)
    assert found.message.startswith(says)
    assert '{"role": "user", "content": "..."}' in found.message


@pytest.mark.parametrize("content", [{"text": "hi"}, 42])
def test_content_that_is_neither_text_nor_parts_is_an_error(content) -> None:
    [found] = validate(request({"role": "user", "content": content}))
    assert (found.rule, found.severity, found.index) == ("invalid-message", "error", 0)
    assert found.message.startswith(f"messages[0].content is {type(content).__name__} ")
    assert "a string or a list of content parts" in found.message


def test_text_and_parts_content_stay_fine() -> None:
    parts = [{"type": "text", "text": "hi"}]
    assert (
        validate(
            request(
                USER, {"role": "assistant", "content": "ok"}, {"role": "user", "content": parts}
            )
        )
        == []
    )


def test_validate_takes_keyword_arguments_like_create() -> None:
    orphan = [USER, {"role": "tool", "tool_call_id": "c1", "content": "{}"}]
    by_keywords = validate(model="qwen-plus", messages=orphan, max_tokens=64)
    assert [f.rule for f in by_keywords] == ["orphan-tool-result"]
    assert validate({"model": "qwen-plus", "messages": orphan, "max_tokens": 64}) == by_keywords
    # Both: the keyword arguments win.
    assert validate({"model": "qwen-plus", "messages": orphan}, max_tokens=64) == by_keywords


@pytest.mark.parametrize(
    ("call", "error", "says"),
    [
        (
            lambda: validate([USER]),
            TypeError,
            "qwenobs.validate(): request must be a mapping of create() arguments (or keyword "
            "arguments), got list [{'role': 'user', 'content': 'hi'}]; to check a message list, "
            "pass messages=[...]",
        ),
        (lambda: validate("hi"), TypeError, "request must be a mapping"),
        (
            lambda: validate(request(USER), catalog="qwen"),
            TypeError,
            "qwenobs.validate(): catalog must be a qwenobs.Catalog or None, got str 'qwen'",
        ),
        (
            lambda: count_tokens(42),
            TypeError,
            "qwenobs.count_tokens(): text must be a str, got int 42",
        ),
        (lambda: count_tokens(None), TypeError, "text must be a str, got NoneType None"),
        (
            lambda: estimate_prompt_tokens("hi"),
            TypeError,
            "qwenobs.estimate_prompt_tokens(): messages must be a list of messages, got str 'hi'",
        ),
        (lambda: estimate_prompt_tokens(USER), TypeError, "messages must be a list of messages"),
        (
            lambda: estimate_prompt_tokens([USER], tools={"type": "function"}),
            TypeError,
            "tools must be a list of tool definitions or None, got dict",
        ),
    ],
)
def test_wrong_types_raise_at_the_call_naming_the_argument(call, error, says) -> None:
    with pytest.raises(error) as raised:
        call()
    assert says in str(raised.value)


def test_the_token_helpers_still_take_what_they_took() -> None:
    assert count_tokens("") == 0
    assert estimate_prompt_tokens(m for m in [USER]) == estimate_prompt_tokens([USER])
    assert qwenobs.estimate_prompt_tokens([USER], None) > 0
