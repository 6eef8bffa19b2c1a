from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from qwenobs.fake import sse

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@given(st.lists(JSON, max_size=6), st.data())
def test_encode_decode_round_trip_whatever_the_chunking(payloads, data) -> None:
    stream = b"".join(sse.encode(p) for p in payloads) + sse.DONE
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=8)))
    pieces = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
    assert sse.decode_json(pieces) == payloads
    assert sse.decode(stream)[-1] == "[DONE]"


def test_decode_follows_the_sse_spec_for_comments_and_multiline_data() -> None:
    assert sse.decode(b": keep-alive\n\ndata: a\ndata: b\r\n\r\ndata:c\n\n") == ["a\nb", "c"]
