"""A stream's raw body, however it is cut into pieces, reaches the caller as the server sends it
unasked: the usage-only event qwenobs asked for is held back, nothing else changes, and every chunk
feeds the span's state."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qwenobs.raw_sse import RawEvents
from qwenobs.streaming import StreamState

USAGE = {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15}


def chunk(content: str, finish: str | None = None) -> dict:
    choice = {"index": 0, "delta": {"content": content}, "finish_reason": finish}
    return {"id": "c1", "model": "qwen-plus", "choices": [choice], "usage": None}


USAGE_ONLY = {"id": "c1", "model": "qwen-plus", "choices": [], "usage": USAGE}

CONTENT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=8)
EVENT = st.one_of(
    CONTENT.map(lambda text: chunk(text)),
    st.just(USAGE_ONLY),
    st.just(": keep-alive"),  # a comment: an event with no data
)
NEWLINE = st.sampled_from(["\n", "\r\n", "\r"])


def frame(event: dict | str, newline: str) -> str:
    line = event if isinstance(event, str) else f"data: {json.dumps(event, ensure_ascii=False)}"
    return line + newline + newline


def body_of(events: list, newline: str, hide: bool) -> str:
    """The body with every event, or as a server not asked for usage sends it."""
    frames = [frame(e, newline) for e in events if not (hide and e is USAGE_ONLY)]
    return "".join(frames) + frame("data: [DONE]", newline)


def cut(data, cuts: list[int]) -> list:
    cuts = sorted({c for c in cuts if 0 < c < len(data)})
    return [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]


def chunks(events: list) -> list[dict]:
    return [e for e in events if isinstance(e, dict) and e["choices"]]


def seen_text(state: StreamState) -> str:
    """The answer the state put together: every chunk observed exactly once."""
    return state.messages.get(0, {}).get("content", "")


def read(events: RawEvents, pieces: list) -> list:
    out = [o for piece in pieces for o in events.feed(piece)]
    return out + events.end()


@given(
    events=st.lists(EVENT, max_size=6),
    newline=NEWLINE,
    hide=st.booleans(),
    as_bytes=st.booleans(),
    chunk_size=st.one_of(st.none(), st.integers(1, 40)),
    cuts=st.lists(st.integers(0, 2000), max_size=10),
)
def test_bytes_and_text_in_any_pieces(events, newline, hide, as_bytes, chunk_size, cuts):
    wire = body_of(events, newline, hide=False)
    expected = body_of(events, newline, hide=hide)
    if as_bytes:
        wire, expected = wire.encode(), expected.encode()
    pieces = cut(wire, cuts)
    if chunk_size:  # the SDK hands the caller pieces of exactly chunk_size
        pieces = cut(wire, list(range(chunk_size, len(wire), chunk_size)))
    state = StreamState(capture=True)
    out = read(RawEvents(state, hide, "bytes" if as_bytes else "text", chunk_size), pieces)

    assert wire[:0].join(out) == expected
    assert all(out), "no empty piece"
    if not hide:
        assert out == pieces, "nothing held back: every piece as it came"
    if chunk_size:
        assert all(len(piece) == chunk_size for piece in out[:-1])
    assert (state.usage is not None) == (USAGE_ONLY in events)
    assert seen_text(state) == "".join(e["choices"][0]["delta"]["content"] for e in chunks(events))


@given(events=st.lists(EVENT, max_size=6), hide=st.booleans())
def test_lines(events, hide):
    def lines(body: str) -> list[str]:  # what httpx's iter_lines() gives
        return body.split("\n")[:-1]

    wire = lines(body_of(events, "\n", hide=False))
    state = StreamState(capture=True)
    out = read(RawEvents(state, hide, "lines"), wire)
    assert out == lines(body_of(events, "\n", hide=hide))
    assert (state.usage is not None) == (USAGE_ONLY in events)
    assert seen_text(state) == "".join(e["choices"][0]["delta"]["content"] for e in chunks(events))


@pytest.mark.parametrize("kind", ["bytes", "text", "lines"])
def test_a_body_without_a_final_blank_line(kind):
    # The last event is cut short of its blank line: a usage-only one is still held back.
    body = frame(chunk("Hi", "stop"), "\n") + f"data: {json.dumps(USAGE_ONLY)}"
    pieces = body.split("\n") if kind == "lines" else [body.encode() if kind == "bytes" else body]
    state = StreamState()
    out = read(RawEvents(state, True, kind), pieces)
    shown = "\n".join(out) if kind == "lines" else out[0].decode() if kind == "bytes" else out[0]
    assert "usage" not in shown.replace('"usage": null', "")
    assert state.usage is not None and state.saw_finish == {0: "stop"}


def test_after_done_nothing_is_read_or_hidden():
    # The SDK stops at [DONE]; so do the span and the filter.
    body = frame("data: [DONE]", "\n") + frame(USAGE_ONLY, "\n")
    state = StreamState()
    assert RawEvents(state, True, "text").whole(body) == body
    assert state.usage is None


def test_a_failing_state_still_hides_the_usage_chunk():
    seen = []

    class Failing(StreamState):
        def add(self, chunk):
            raise RuntimeError("qwenobs bug")

    body = frame(chunk("Hi"), "\n") + frame(USAGE_ONLY, "\n")
    out = RawEvents(Failing(), True, "text", on_error=seen.append).whole(body)
    assert out == frame(chunk("Hi"), "\n")
    assert [str(e) for e in seen] == ["qwenobs bug", "qwenobs bug"]


def test_release_hands_back_what_was_held_then_lets_pieces_through():
    events = RawEvents(StreamState(), True, "bytes")
    assert events.feed(b"data: {") == []
    assert events.release() == [b"data: {"]
    assert events.feed(b"}\n\n") == [b"}\n\n"]
    assert events.end() == []


def test_a_bad_kind_is_refused_clearly():
    with pytest.raises(ValueError, match="kind must be one of bytes, text, lines, got 'json'"):
        RawEvents(StreamState(), True, "json")


@given(
    contents=st.lists(CONTENT, max_size=4),
    as_bytes=st.booleans(),
    at=st.floats(0, 1),
    pieces=st.integers(1, 50),
)
def test_a_body_broken_off_anywhere(contents, as_bytes, at, pieces):
    # The caller sees the body the server sends unasked, broken off at the same place of the answer.
    answer = [chunk(text) for text in contents] + [chunk("", "stop")]
    wire = body_of([*answer, USAGE_ONLY], "\n", hide=False)
    unasked = body_of(answer, "\n", hide=False)
    if as_bytes:
        wire, unasked = wire.encode(), unasked.encode()
    answer_end = len(unasked) - len(frame("data: [DONE]", "\n"))
    usage_length = len(wire) - len(unasked)
    broken_at = int(at * len(wire))
    if broken_at <= answer_end:
        expected = unasked[:broken_at]
    else:
        expected = unasked[: max(answer_end, broken_at - usage_length)]

    events = RawEvents(StreamState(), True, "bytes" if as_bytes else "text")
    received = cut(wire[:broken_at], list(range(pieces, broken_at, pieces)))
    out = [o for piece in received for o in events.feed(piece)] + events.end(broken=True)
    assert wire[:0].join(out) == expected
