"""A conversation validated call by call, as an instrumented agent sends it, finds exactly what a
validation from scratch finds: after appends, and after any edit of earlier messages between
calls (truncation, a summary replacing the middle, a changed role, id, argument or content), made
on a rebuilt copy as the SDK sends it or in place on the very objects sent before."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qwenobs import validate
from qwenobs.catalog import DEFAULT_CATALOG, ModelInfo
from qwenobs.tokens import Tally, vocabulary
from qwenobs.validation import History, inspect
from qwenobs.validation.conversation import scan
from qwenobs.validation.history import SHORT_MESSAGES

CONTENTS = ["plan my trip", "reply in json", "noted", "", "sunny", "多云", None, 7, ["x"]]
ROLES = ["user", "assistant", "tool", "system", "robot"]


def rebuilt(value: Any) -> Any:
    """What the SDK sends: every dict and list rebuilt, the strings the caller's own objects."""
    if isinstance(value, dict):
        return {key: rebuilt(item) for key, item in value.items()}
    if isinstance(value, list):
        return [rebuilt(item) for item in value]
    return value


def tool_call(call_id: str, arguments: str = "{}") -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": "f", "arguments": arguments}}


@st.composite
def message(draw: Any, ids: list[str]) -> dict[str, Any]:
    kind = draw(st.sampled_from(["user", "text", "tools", "result", "system", "odd"]))
    if kind == "user":
        return {"role": "user", "content": draw(st.sampled_from(CONTENTS[:6]))}
    if kind == "text":
        return {"role": "assistant", "content": draw(st.sampled_from(CONTENTS[:5]))}
    if kind == "system":
        return {"role": "system", "content": draw(st.sampled_from(CONTENTS[:3]))}
    if kind == "tools":
        new = [f"call_{len(ids) + k}" for k in range(draw(st.integers(1, 3)))]
        ids.extend(new)
        return {"role": "assistant", "content": None, "tool_calls": [tool_call(i) for i in new]}
    if kind == "result":
        call_id = draw(st.sampled_from(ids)) if ids else "call_x"
        return {"role": "tool", "tool_call_id": call_id, "content": "ok"}
    return {
        "role": draw(st.sampled_from(ROLES)),
        "content": draw(st.sampled_from(CONTENTS)),
        **({"tool_call_id": draw(st.sampled_from([*ids, "zz"]))} if ids else {}),
    }


EDITS = ["append", "append", "append", "truncate", "summary", "role", "content", "id", "args"]


def edit(draw: Any, messages: list[dict[str, Any]], ids: list[str]) -> str:
    """One change between two calls, in place on the caller's list and dicts."""
    kind = draw(st.sampled_from(EDITS))
    if kind == "append" or len(messages) < 3:
        messages.extend(draw(st.lists(message(ids), min_size=1, max_size=3)))
        return "append"
    at = draw(st.integers(0, len(messages) - 2))
    target = messages[at]
    if kind == "truncate":
        del messages[at : at + draw(st.integers(1, 3))]
    elif kind == "summary":
        messages[at : at + 2] = [{"role": "user", "content": "summary of the middle"}]
    elif kind == "role":
        target["role"] = draw(st.sampled_from(ROLES))
    elif kind == "content":
        target["content"] = draw(st.sampled_from(CONTENTS))
    elif kind == "id" and ids:
        target["tool_call_id"] = draw(st.sampled_from(ids))
    elif kind == "args" and target.get("tool_calls"):
        target["tool_calls"][0]["function"]["arguments"] = '{"city": "Hangzhou"}'
        target["tool_calls"].append(tool_call(f"call_{len(ids)}"))
        ids.append(f"call_{len(ids)}")
    return kind


def same(a: Any, b: Any) -> None:
    assert [(f.rule, f.index, f.message) for f in a.findings] == [
        (f.rule, f.index, f.message) for f in b.findings
    ]
    assert (a.tool_rounds, a.count, a.text_bytes_bound, a.system_prompt, a.media) == (
        b.tool_rounds,
        b.count,
        b.text_bytes_bound,
        b.system_prompt,
        b.media,
    )
    assert a.mentions_json == b.mentions_json


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), st.booleans(), st.booleans())
def test_call_by_call_equals_from_scratch(data, sdk_rebuilds, json_mode_sometimes):
    ids: list[str] = []
    messages = [{"role": "system", "content": "You are a travel agent."}]
    messages += data.draw(st.lists(message(ids), min_size=1, max_size=6))
    history = History()
    for _ in range(data.draw(st.integers(1, 8))):
        # Without the SDK (client.post), a new list of the caller's own dicts.
        sent = rebuilt(messages) if sdk_rebuilds else list(messages)
        want_json = json_mode_sometimes and data.draw(st.booleans())
        same(history.scan(sent, want_json), scan(copy.deepcopy(sent), want_json_word=want_json))
        edit(data.draw, messages, ids)


def chat(turns: int) -> list[dict[str, Any]]:
    messages = [{"role": "system", "content": "s"}]
    for n in range(turns):
        messages += [{"role": "user", "content": f"q{n}"}, {"role": "assistant", "content": "a"}]
    return messages


def test_an_appending_agent_is_checked_for_what_it_appended():
    history = History()
    messages = chat(5)
    first = history.scan(rebuilt(messages), False)
    assert (first.unchanged, first.prior) == (0, None)
    sent = rebuilt(messages)
    messages += [{"role": "assistant", "content": None, "tool_calls": [tool_call("c1")]}]
    messages += [{"role": "tool", "tool_call_id": "c1", "content": "ok"}]
    second_sent = rebuilt(messages)
    second = history.scan(second_sent, False)
    assert second.unchanged == 11 and second.tool_rounds == 1
    assert history.scan(rebuilt(messages), False).prior is second_sent
    assert sent  # the list of the first call is no longer held once continued


def test_messages_sent_again_as_the_same_objects_are_scanned_afresh():
    # client.post(body=...) sends the caller's own dicts: an edit in place would compare equal to
    # what was held, so the held list is not trusted.
    history = History()
    messages = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]
    history.scan(list(messages), False)
    messages[1]["role"] = "tool"
    messages.append({"role": "user", "content": "more"})
    conv = history.scan(list(messages), False)
    assert conv.unchanged == 0
    assert [f.rule for f in conv.findings] == ["orphan-tool-result"]


def test_a_short_conversation_is_scanned_afresh_and_not_held():
    # Cheaper than finding and storing it; it is held once it grows past SHORT_MESSAGES, or
    # when its text is long enough for the context check to count tokens message by message.
    history = History()
    messages = chat(3)
    assert len(messages) <= SHORT_MESSAGES
    for _ in range(2):
        assert history.scan(rebuilt(messages), False).unchanged == 0
    assert history._held == 0
    messages += chat(2)[1:]
    history.scan(rebuilt(messages), False)
    assert history._held == len(messages) > SHORT_MESSAGES
    document = [{"role": "system", "content": "page " * 4000}, {"role": "user", "content": "q"}]
    history.scan(rebuilt(document), False)
    assert history.scan(rebuilt(document + chat(1)[1:]), False).unchanged == 2


def test_memory_is_bounded_by_the_messages_held():
    history = History(max_messages=100)
    for n in range(50):
        history.scan(
            [{"role": "user", "content": f"conversation {n}"}] * 1
            + [{"role": "assistant", "content": "a"} for _ in range(9)],
            False,
        )
    assert history._held <= 100
    too_long = [{"role": "user", "content": "x"}] * 101
    history.scan(too_long, False)
    assert history._held <= 100


def test_the_context_check_counts_only_what_was_appended(monkeypatch):
    catalog = DEFAULT_CATALOG.extend(ModelInfo("tiny-qwen", 8400, 64, max_input=8000))
    counted: list[str] = []
    vocab = vocabulary("qwen-plus")
    real = vocab.estimate

    def spy(messages, tools, stop_above=None, tally=None):
        before = dict(tally.counted) if tally is not None else {}
        total = real(messages, tools, stop_above, tally)
        if tally is not None:  # validate() from scratch counts everything, as before
            counted.append(f"{before.get('qwen', (0, 0))[0]}->{len(messages)}")
        return total

    monkeypatch.setattr(type(vocab), "estimate", lambda self, *a: spy(*a))
    history = History()
    messages = [{"role": "user", "content": "word " * 4000}]  # long enough to be held
    for n in range(6):
        request = {"model": "tiny-qwen", "max_tokens": 8, "messages": rebuilt(messages)}
        ours = inspect(request, catalog=catalog, history=history).findings
        fresh = validate(request, catalog=catalog)
        assert [f.rule for f in ours] == [f.rule for f in fresh]
        messages.append({"role": "user", "content": f"and {n} " * 300})
    assert "context-overflow" in [f.rule for f in fresh]
    # Each call tokenized the messages the last one had not (until it was past the limit).
    assert counted[:4] == ["0->1", "1->2", "2->3", "3->4"]


def test_a_tally_from_another_vocabulary_is_not_used():
    tally = Tally()
    messages = [{"role": "user", "content": "天气 " * 50}]
    classic = vocabulary().estimate(messages, None, None, tally)
    wide = vocabulary("qwen3.5-plus").estimate(messages, None, None, tally)
    assert classic == vocabulary().estimate(messages, None)
    assert wide == vocabulary("qwen3.5-plus").estimate(messages, None)


@pytest.mark.parametrize("bad", [None, "hi", [], ({"role": "user", "content": "q"},)])
def test_what_is_not_a_message_list_is_judged_as_before(bad):
    same(History().scan(bad, False), scan(bad))
