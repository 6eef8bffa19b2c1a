"""Property tests: well-formed tool rounds pass; any single drop or misplacement is found."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from qwenobs import validate

TOOL_RULES = {"orphan-tool-result", "missing-tool-result", "duplicate-tool-result"}


@st.composite
def conversations(draw) -> list[dict]:
    """A user turn, then any mix of text turns and tool rounds answered in any order."""
    messages: list[dict] = [{"role": "user", "content": "plan my trip"}]
    next_id = 0
    for kind in draw(st.lists(st.sampled_from(["user", "text", "tools"]), max_size=12)):
        if kind == "user":
            messages.append({"role": "user", "content": "and then?"})
        elif kind == "text":
            messages.append({"role": "assistant", "content": "noted"})
        else:
            ids = [f"call_{next_id + k}" for k in range(draw(st.integers(1, 4)))]
            next_id += len(ids)
            calls = [
                {"id": i, "type": "function", "function": {"name": "f", "arguments": "{}"}}
                for i in ids
            ]
            messages.append({"role": "assistant", "content": None, "tool_calls": calls})
            for i in draw(st.permutations(ids)):
                messages.append({"role": "tool", "tool_call_id": i, "content": "ok"})
    return messages


def tool_findings(messages: list[dict]) -> set[str]:
    request = {"model": "qwen-plus", "max_tokens": 64, "messages": messages}
    return {f.rule for f in validate(request)} & TOOL_RULES


def round_window(messages: list[dict], index: int) -> tuple[int, int]:
    """[assistant index, first index after the round] of the tool message at ``index``."""
    start = index
    while messages[start]["role"] == "tool":
        start -= 1
    end = index
    while end < len(messages) and messages[end]["role"] == "tool":
        end += 1
    return start, end


@given(conversations())
def test_well_formed_rounds_have_no_findings(messages):
    request = {"model": "qwen-plus", "max_tokens": 64, "messages": messages}
    assert validate(request) == []


@given(conversations(), st.data())
def test_dropping_any_round_message_is_found(messages, data):
    droppable = [i for i, m in enumerate(messages) if m["role"] == "tool" or m.get("tool_calls")]
    if not droppable:
        return
    victim = data.draw(st.sampled_from(droppable))
    assert tool_findings(messages[:victim] + messages[victim + 1 :])


@given(conversations(), st.data())
def test_moving_a_tool_result_out_of_its_round_is_found(messages, data):
    tools = [i for i, m in enumerate(messages) if m["role"] == "tool"]
    if not tools:
        return
    index = data.draw(st.sampled_from(tools))
    start, end = round_window(messages, index)
    rest = messages[:index] + messages[index + 1 :]
    # Valid places stay inside its own round: after the assistant message, before the next turn.
    outside = [p for p in range(len(rest) + 1) if not start < p <= end - 1]
    target = data.draw(st.sampled_from(outside))
    assert tool_findings(rest[:target] + [messages[index]] + rest[target:])


@given(conversations(), st.data())
def test_answering_a_call_twice_is_found(messages, data):
    tools = [i for i, m in enumerate(messages) if m["role"] == "tool"]
    if not tools:
        return
    index = data.draw(st.sampled_from(tools))
    assert "duplicate-tool-result" in tool_findings(
        messages[: index + 1] + [messages[index]] + messages[index + 1 :]
    )


_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8))
_junk = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)
_message = st.fixed_dictionaries(
    {},
    optional={
        "role": st.sampled_from(["user", "assistant", "tool", "system", "robot"]) | _junk,
        "content": _junk,
        "tool_calls": _junk,
        "tool_call_id": _junk,
    },
)


@given(
    st.lists(_message | _junk, max_size=8),
    st.dictionaries(
        st.sampled_from(
            [
                "temperature",
                "top_p",
                "max_tokens",
                "n",
                "tools",
                "tool_choice",
                "response_format",
                "stream",
                "model",
                "extra_body",
            ]
        ),
        _junk,
    ),
)
def test_arbitrary_requests_never_raise(messages, params):
    for finding in validate({"messages": messages, **params}):
        assert finding.severity in ("error", "warning") and finding.message
