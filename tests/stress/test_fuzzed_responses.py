"""Whatever parseable response the wire sends, the user gets exactly what the bare SDK gives them,
nothing raises from qwenobs, and every span ends.

The same handler answers two clients: one pointed at a DashScope host (traced) and one at another
host (passed through untouched, i.e. the bare SDK). Their results are compared.
"""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qwenobs.openai_sdk import http  # httpx2 under openai 3.x, httpx under 1.x and 2.x

ODD = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 10**6),
    st.floats(allow_nan=False),
    st.text(max_size=6),
)


def maybe(strategy):
    return st.one_of(strategy, ODD)


TEXT = st.text(max_size=12)
USAGE = st.one_of(
    st.none(),
    ODD,
    st.fixed_dictionaries(
        {},
        optional={
            "prompt_tokens": maybe(st.integers(0, 10**6)),
            "completion_tokens": maybe(st.integers(0, 10**6)),
            "total_tokens": maybe(st.integers(0, 10**6)),
            "prompt_tokens_details": st.one_of(
                ODD,
                st.fixed_dictionaries({}, optional={"cached_tokens": maybe(st.integers(0, 10**6))}),
            ),
            "completion_tokens_details": st.one_of(
                ODD,
                st.fixed_dictionaries(
                    {},
                    optional={"reasoning_tokens": maybe(st.integers(0, 10**6)), "text_tokens": ODD},
                ),
            ),
        },
    ),
)
TOOL_CALL = st.fixed_dictionaries(
    {},
    optional={
        "index": maybe(st.integers(0, 3)),
        "id": maybe(st.sampled_from(["", "call_a", "call_b"])),
        "type": maybe(st.just("function")),
        "function": st.one_of(
            ODD, st.fixed_dictionaries({}, optional={"name": maybe(TEXT), "arguments": maybe(TEXT)})
        ),
    },
)
MESSAGE = st.fixed_dictionaries(
    {},
    optional={
        "role": maybe(st.just("assistant")),
        "content": maybe(TEXT),
        "reasoning_content": maybe(TEXT),
        "tool_calls": st.one_of(ODD, st.lists(TOOL_CALL, max_size=3)),
        "surprise": ODD,
    },
)
FINISH = maybe(st.sampled_from(["stop", "length", "tool_calls"]))
COMPLETION = st.fixed_dictionaries(
    {},
    optional={
        "id": maybe(TEXT),
        "object": maybe(st.just("chat.completion")),
        "created": maybe(st.integers(0, 2**31)),
        "model": maybe(TEXT),
        "choices": st.one_of(
            ODD,
            st.lists(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "index": ODD,
                        "message": st.one_of(ODD, MESSAGE),
                        "finish_reason": FINISH,
                    },
                ),
                max_size=3,
            ),
        ),
        "usage": USAGE,
        "extra_field": ODD,
    },
)
CHUNK = st.fixed_dictionaries(
    {},
    optional={
        "id": maybe(TEXT),
        "object": maybe(st.just("chat.completion.chunk")),
        "created": maybe(st.integers(0, 2**31)),
        "model": maybe(TEXT),
        "choices": st.one_of(
            ODD,
            st.lists(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "index": ODD,
                        "delta": st.one_of(ODD, MESSAGE),
                        "finish_reason": FINISH,
                    },
                ),
                max_size=2,
            ),
        ),
        "usage": USAGE,
    },
)


class Wire:
    """The two clients and what the wire answers next."""

    def __init__(self) -> None:
        self.body = b""
        self.headers: dict[str, str] = {}

        def handler(request: http.Request) -> http.Response:
            return http.Response(200, headers=self.headers, content=self.body)

        def client(base_url: str) -> openai.OpenAI:
            return openai.OpenAI(
                api_key="sk-test",
                base_url=base_url,
                max_retries=0,
                http_client=http.Client(transport=http.MockTransport(handler)),
            )

        self.traced = client("https://dashscope.aliyuncs.com/compatible-mode/v1")
        self.bare = client("https://llm.example.test/v1")


@pytest.fixture
def wire(telemetry) -> Wire:
    return Wire()


def outcome(fn) -> tuple[str, Any]:
    try:
        return "ok", fn()
    except Exception as exc:  # compare what the user would see
        return type(exc).__name__, str(exc)


def dump(obj: Any) -> Any:
    return obj.model_dump() if hasattr(obj, "model_dump") else obj


def create(client: openai.OpenAI, **kwargs: Any) -> Any:
    return client.chat.completions.create(
        model="qwen-plus", max_tokens=64, messages=[{"role": "user", "content": "hi"}], **kwargs
    )


pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # pydantic notes odd types; expected

FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@FUZZ
@given(body=COMPLETION)
def test_any_completion_reaches_the_user_unchanged(wire, telemetry, caplog, body):
    wire.headers = {"content-type": "application/json", "x-request-id": "rid"}
    wire.body = json.dumps(body).encode()
    before = len(telemetry.exporter.get_finished_spans())
    traced = outcome(lambda: dump(create(wire.traced)))
    bare = outcome(lambda: dump(create(wire.bare)))
    assert traced == bare
    assert len(telemetry.exporter.get_finished_spans()) == before + 1  # the span ended
    assert not qwenobs_logs(caplog), "odd wire data is not an internal error"


def qwenobs_logs(caplog: Any) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "qwenobs"]


def _usage_only(chunk: Any) -> bool:
    return not getattr(chunk, "choices", None) and getattr(chunk, "usage", None) is not None


@FUZZ
@given(chunks=st.lists(CHUNK, max_size=8), done=st.booleans(), asked_for_usage=st.booleans())
def test_any_stream_reaches_the_user_unchanged(
    wire, telemetry, caplog, chunks, done, asked_for_usage
):
    wire.headers = {"content-type": "text/event-stream"}
    events = [f"data: {json.dumps(c)}\n\n" for c in chunks] + (["data: [DONE]\n\n"] if done else [])
    wire.body = "".join(events).encode()
    kwargs = {"stream": True}
    if asked_for_usage:
        kwargs["stream_options"] = {"include_usage": True}
    before = len(telemetry.exporter.get_finished_spans())

    def read(client: openai.OpenAI, hide_usage: bool) -> list[Any]:
        return [dump(c) for c in create(client, **kwargs) if not (hide_usage and _usage_only(c))]

    # qwenobs hides the usage chunk only when it asked for it itself.
    traced = outcome(lambda: read(wire.traced, hide_usage=False))
    bare = outcome(lambda: read(wire.bare, hide_usage=not asked_for_usage))
    assert traced == bare
    assert len(telemetry.exporter.get_finished_spans()) == before + 1
    assert not qwenobs_logs(caplog), "odd wire data is not an internal error"


@FUZZ
@given(chunks=st.lists(CHUNK, min_size=1, max_size=6))
def test_a_stream_left_half_read_still_ends_its_span(wire, telemetry, chunks):
    import gc

    wire.headers = {"content-type": "text/event-stream"}
    wire.body = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks).encode()
    before = len(telemetry.exporter.get_finished_spans())
    stream = create(wire.traced, stream=True, stream_options={"include_usage": True})
    outcome(lambda: next(iter(stream)))
    stream = None  # abandon it
    gc.collect()
    assert len(telemetry.exporter.get_finished_spans()) == before + 1


@FUZZ
@given(chunks=st.lists(CHUNK, max_size=8), done=st.booleans(), asked_for_usage=st.booleans())
def test_any_stream_read_raw_reaches_the_user_unchanged(
    wire, telemetry, caplog, chunks, done, asked_for_usage
):
    def body_lines(chunks: list[dict]) -> list[str]:
        frames = [f"data: {json.dumps(c)}" for c in chunks] + (["data: [DONE]"] if done else [])
        return [line for frame in frames for line in (frame, "")]

    wire.headers = {"content-type": "text/event-stream"}
    wire.body = "".join(f"{line}\n" for line in body_lines(chunks)).encode()
    kwargs: dict[str, Any] = {"stream": True}
    if asked_for_usage:
        kwargs["stream_options"] = {"include_usage": True}
    before = len(telemetry.exporter.get_finished_spans())

    def lines(client: openai.OpenAI) -> list[str]:
        with client.chat.completions.with_streaming_response.create(
            model="qwen-plus", max_tokens=64, messages=[{"role": "user", "content": "hi"}], **kwargs
        ) as response:
            return list(response.iter_lines())

    # qwenobs hides the usage-only events only when it asked for them itself.
    shown = [c for c in chunks if asked_for_usage or not _usage_only_dict(c)]
    assert lines(wire.traced) == body_lines(shown)
    assert lines(wire.bare) == body_lines(chunks)
    assert len(telemetry.exporter.get_finished_spans()) == before + 1
    assert not qwenobs_logs(caplog), "odd wire data is not an internal error"


def _usage_only_dict(chunk: dict) -> bool:
    return not chunk.get("choices") and chunk.get("usage") is not None
