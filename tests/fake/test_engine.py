"""The engine alone: request bytes in, DashScope's exact answers out."""

from __future__ import annotations

import json
import re

import pytest

from qwenobs.fake import FakeDashScope, Request
from qwenobs.fake.error_bodies import ORPHAN_TOOL_RESULT

PATH = "/compatible-mode/v1/chat/completions"
AUTH = [("Authorization", "Bearer sk-test"), ("Content-Type", "application/json")]
USER = [{"role": "user", "content": "hi"}]


def send(
    fake: FakeDashScope,
    body: object = None,
    *,
    raw: bytes | None = None,
    path: str = PATH,
    method: str = "POST",
    headers: list | None = None,
):
    payload = raw if raw is not None else json.dumps(body).encode()
    return fake.handle(Request.of(method, path, AUTH if headers is None else headers, payload))


def body(**extra: object) -> dict:
    return {"model": "qwen-plus", "messages": USER, "max_tokens": 100, **extra}


def test_error_bodies_carry_ids_like_dashscope(fake) -> None:
    response = send(fake, body(messages=[{"role": "tool", "tool_call_id": "c", "content": "x"}]))
    rid = response.request_id
    assert response.status == 400
    assert response.json() == {
        "error": {
            "code": "invalid_parameter_error",
            "param": None,
            "message": ORPHAN_TOOL_RESULT.message,
            "type": "invalid_request_error",
        },
        "id": f"chatcmpl-{rid}",
        "request_id": rid,
    }


def test_401_has_request_id_but_no_completion_id(fake) -> None:
    response = send(fake, body(), headers=[("Content-Type", "application/json")])
    assert response.status == 401
    assert set(response.json()) == {"error", "request_id"}
    assert response.json()["error"]["code"] == "invalid_api_key"


def test_a_configured_api_key_must_match() -> None:
    fake = FakeDashScope(api_key="sk-right")
    fake.reply("ok")
    assert send(fake, body()).status == 401
    assert send(fake, body(), headers=[("authorization", "Bearer sk-right")]).status == 200


@pytest.mark.parametrize(
    ("raw", "path", "method", "status", "needle"),
    [
        (b"{not json", PATH, "POST", 400, "not valid JSON"),
        (b"\xff\xfe", PATH, "POST", 400, "not valid JSON"),
        (b"[1, 2]", PATH, "POST", 400, "expected a JSON object"),
        (json.dumps({"messages": USER}).encode(), PATH, "POST", 400, "Field required: model"),
        (json.dumps({"model": "qwen-plus"}).encode(), PATH, "POST", 400, "messages"),
        (b"{}", "/compatible-mode/v1/embeddings", "POST", 404, "not an API"),
        (b"", PATH, "GET", 404, "GET"),
    ],
    ids=["bad-json", "bad-utf8", "not-object", "no-model", "no-messages", "wrong-path", "get"],
)
def test_malformed_requests_get_dashscope_errors(fake, raw, path, method, status, needle) -> None:
    response = send(fake, raw=raw, path=path, method=method)
    assert response.status == status
    assert needle in response.json()["error"]["message"]
    assert fake.calls.last.status == status


def test_oversized_body_is_refused_before_parsing() -> None:
    fake = FakeDashScope(max_body=1024)
    response = send(fake, raw=b"x" * 2048)
    assert response.status == 413
    assert "limit of 1024 bytes" in response.json()["error"]["message"]
    assert fake.calls.last.json is None


RULE_REQUESTS = {
    "missing-tool-result": body(
        messages=[
            *USER,
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
                ],
            },
            {"role": "user", "content": "well?"},
        ]
    ),
    "json-mode-needs-json-word": body(response_format={"type": "json_object"}),
    "omni-requires-stream": body(model="qwen3-omni-flash"),
    "json-mode-with-thinking": body(
        stream=True,
        enable_thinking=True,
        response_format={"type": "json_object"},
        messages=[{"role": "user", "content": "json please"}],
    ),
    "parameter-range": body(temperature=2.5),
    "unknown-tool-choice": body(tool_choice={"type": "function", "function": {"name": "nope"}}),
    "invalid-message": body(messages=[{"role": "robot", "content": "hi"}]),
    "context-overflow": body(
        model="qwen-max", max_tokens=8000, messages=[{"role": "user", "content": "word " * 40000}]
    ),
}
EXACT = {
    "missing-tool-result": "<400> InternalError.Algo.InvalidParameter: An assistant message with "
    '"tool_calls" must be followed by tool messages responding to each "tool_call_id". The '
    "following tool_call_ids did not have response messages: message[2].role",
    "json-mode-needs-json-word": "<400> InternalError.Algo.InvalidParameter: 'messages' must "
    "contain the word 'json' in some form, to use 'response_format' of type 'json_object'.",
    "json-mode-with-thinking": "Json mode response is not supported when enable_thinking is true",
    "parameter-range": "Temperature should be in [0.0, 2.0)",
    "omni-requires-stream": "This model only support stream mode, please enable the stream "
    "parameter to access the model. ",
}


@pytest.mark.parametrize("rule", sorted(RULE_REQUESTS))
def test_every_error_rule_is_enforced_server_side(fake, rule) -> None:
    fake.reply("never sent", repeat=True)
    response = send(fake, RULE_REQUESTS[rule])
    error = response.json()["error"]
    assert (response.status, error["code"], error["type"]) == (
        400,
        "invalid_parameter_error",
        "invalid_request_error",
    )
    if rule in EXACT:
        assert error["message"] == EXACT[rule]
    assert fake.calls.last.answer is None


def test_warnings_do_not_stop_a_request(fake) -> None:
    fake.reply("ok")
    response = send(
        fake, {"model": "qwen-plus", "messages": USER, "temperature": 0.5, "top_p": 0.5}
    )
    assert response.status == 200


def test_validation_can_be_switched_off() -> None:
    fake = FakeDashScope(validate=False)
    fake.reply("accepted")
    response = send(fake, body(messages=[{"role": "tool", "tool_call_id": "c", "content": "x"}]))
    assert response.status == 200


def test_stream_layout_matches_dashscope(fake) -> None:
    fake.reply(
        "Hello",
        reasoning="Hmm",
        tool_calls=[{"name": "f", "arguments": {"a": "long value"}}],
        chunk_size=4,
    )
    response = send(fake, body(stream=True, stream_options={"include_usage": True}))
    assert response.content.endswith(b"data: [DONE]\n\n")
    events = response.events()
    assert all(e["object"] == "chat.completion.chunk" for e in events)
    assert all(
        e["system_fingerprint"] is None and e["id"] == f"chatcmpl-{response.request_id}"
        for e in events
    )
    deltas = [e["choices"][0]["delta"] for e in events[:-1]]
    assert deltas[0] == {"content": None, "role": "assistant", "reasoning_content": ""}
    assert "role" not in deltas[1]
    calls = [d["tool_calls"][0] for d in deltas if "tool_calls" in d]
    assert calls[0]["id"].startswith("call_") and calls[0]["function"]["name"] == "f"
    assert all(c["id"] == "" and "name" not in c["function"] for c in calls[1:])
    assert json.loads("".join(c["function"]["arguments"] for c in calls)) == {"a": "long value"}
    assert deltas[-1] == {} and events[-2]["choices"][0]["finish_reason"] == "tool_calls"
    assert events[-1]["choices"] == [] and events[-1]["usage"]["total_tokens"] > 0


def test_completion_layout_matches_dashscope(fake) -> None:
    fake.reply("Hello")
    response = send(fake, body())
    completion = response.json()
    assert completion["object"] == "chat.completion"
    assert completion["choices"][0]["message"] == {"role": "assistant", "content": "Hello"}
    assert completion["usage"]["prompt_tokens_details"] == {"cached_tokens": 0}
    assert dict(response.headers)["content-type"] == "application/json"


def test_max_tokens_cuts_the_answer_with_finish_reason_length(fake) -> None:
    fake.reply("one two three four five six seven eight nine ten")
    choice = send(fake, body(max_tokens=3)).json()["choices"][0]
    assert choice["finish_reason"] == "length"
    assert choice["message"]["content"] == "one two three"


def test_usage_override_keeps_the_rest_consistent(fake) -> None:
    fake.reply(
        "Hello", usage={"prompt_tokens": 1000, "prompt_tokens_details": {"cached_tokens": 800}}
    )
    usage = send(fake, body()).json()["usage"]
    assert usage["prompt_tokens_details"] == {"cached_tokens": 800}
    assert usage["total_tokens"] == 1000 + usage["completion_tokens"]


@pytest.mark.parametrize(
    ("usage", "message"),
    [
        (  # the request's prompt is ~9 tokens
            {"prompt_tokens_details": {"cached_tokens": 800}},
            "reply('Hello'): usage['prompt_tokens_details']['cached_tokens'] must be at most the "
            "request's prompt_tokens, 9 (cached tokens are part of the prompt), got 800",
        ),
        (  # the prefix cache counts the repeated long prompt in full
            {"prompt_tokens": 5},
            "reply('Hello'): usage['prompt_tokens'] must be at least the request's cached_tokens",
        ),
    ],
)
def test_an_override_leaving_more_cached_than_prompt_tokens_fails_inside(
    fake, usage, message
) -> None:
    long = {"messages": [{"role": "user", "content": "Tell me about the Grand Canal. " * 60}]}
    if "prompt_tokens" in usage:
        fake.reply("first")
        send(fake, body(**long))
    fake.reply("Hello", usage=usage)
    response = send(fake, body(**long) if "prompt_tokens" in usage else body())
    assert response.status == 500
    assert response.json()["error"]["code"] == "fake_internal_error"
    assert message in response.json()["error"]["message"]
    assert fake.internal_errors and message in fake.internal_errors[0]


def test_routes_by_predicate_and_regex_fall_through_when_empty(fake) -> None:
    fake.route(match=lambda b: b.get("temperature") == 0).reply("cold")
    fake.route(last_message=re.compile(r"^h.$")).reply("regex")
    fake.reply("default")
    answers = [
        send(fake, body(temperature=0)).json(),
        send(fake, body(temperature=0)).json(),  # the route is empty now: falls through
        send(fake, body()).json(),
    ]
    contents = [
        a["choices"][0]["message"]["content"] if "choices" in a else a["error"]["code"]
        for a in answers
    ]
    assert contents == ["cold", "regex", "default"]


def test_a_repeating_reply_answers_every_time(fake) -> None:
    route = fake.route(model="qwen-max").reply("again", repeat=True)
    for _ in range(3):
        assert send(fake, body(model="qwen-max")).status == 200
    assert route.pending == 1


def test_dry_script_names_the_request_and_asks_not_to_retry(fake) -> None:
    response = send(fake, body(messages=[{"role": "user", "content": "What about Ningbo?"}]))
    assert response.status == 500
    assert ("x-should-retry", "false") in response.headers
    message = response.json()["error"]["message"]
    assert "call #1" in message and "'What about Ningbo?'" in message and "fake.reply" in message


def test_call_log_records_what_was_asked_and_answered(fake) -> None:
    fake.reply("ok")
    fake.fail(429)
    send(fake, body())
    send(fake, body(stream=True))
    first, last = fake.calls
    assert first.json["messages"] == USER and first.status == 200 and first.error is None
    assert last is fake.calls.last and last.path == PATH
    assert last.headers["authorization"] == "Bearer sk-test"
    assert last.error["code"] == "limit_requests" and last.answer.status == 429


def test_empty_call_log_says_so(fake) -> None:
    with pytest.raises(IndexError, match="no calls yet"):
        _ = fake.calls.last


def test_reset_forgets_script_calls_and_cache(fake) -> None:
    fake.reply("ok")
    send(fake, body())
    fake.reset()
    assert fake.calls == [] and fake.script.pending == 0
