"""Every rule fires on the request DashScope rejects (or that costs you) and stays quiet on the fix."""

from __future__ import annotations

import copy

import pytest
from openai.types.chat import ChatCompletionMessage
from openai.types.chat.chat_completion_message_tool_call import ChatCompletionMessageToolCall

from qwenobs import RULES, validate
from qwenobs.fake.samples import WEATHER_TOOLS as TOOLS
from qwenobs.validation import inspect

IMAGE = {"type": "image_url", "image_url": {"url": "https://example.test/cat.png"}}


def call(call_id: str, name: str = "get_weather", args: str = '{"city": "Shanghai"}') -> dict:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": args}}


def asks(*ids: str) -> dict:
    return {"role": "assistant", "content": None, "tool_calls": [call(i) for i in ids]}


def answer(call_id: str | None) -> dict:
    message = {"role": "tool", "content": '{"temp_c": 22}'}
    if call_id is not None:
        message["tool_call_id"] = call_id
    return message


USER = {"role": "user", "content": "Should I bring an umbrella to Shanghai?"}


def request(*messages: dict, **params) -> dict:
    base = {"model": "qwen-plus", "max_tokens": 256, "messages": list(messages)}
    return base | params


def rules(req: dict) -> list[str]:
    return [f.rule for f in validate(req)]


# (rule, a request that triggers it, the same request fixed)
CASES = [
    ("orphan-tool-result", request(USER, answer("c1")), request(USER, asks("c1"), answer("c1"))),
    (
        "orphan-tool-result",  # tool result appended before the assistant message that asked
        request(USER, answer("c1"), asks("c1")),
        request(USER, asks("c1"), answer("c1")),
    ),
    (
        "orphan-tool-result",  # no tool_call_id at all
        request(USER, asks("c1"), answer(None)),
        request(USER, asks("c1"), answer("c1")),
    ),
    (
        "orphan-tool-result",  # answers an id from an earlier, closed round
        request(USER, asks("c1"), answer("c1"), asks("c2"), answer("c1")),
        request(USER, asks("c1"), answer("c1"), asks("c2"), answer("c2")),
    ),
    (
        "missing-tool-result",
        request(USER, asks("c1", "c2"), answer("c1")),
        request(USER, asks("c1", "c2"), answer("c1"), answer("c2")),
    ),
    (
        "missing-tool-result",  # a user message closes the round
        request(USER, asks("c1"), USER, answer("c1")),
        request(USER, asks("c1"), answer("c1"), USER),
    ),
    (
        "duplicate-tool-result",
        request(USER, asks("c1"), answer("c1"), answer("c1")),
        request(USER, asks("c1"), answer("c1")),
    ),
    (
        "thinking-requires-stream",
        request(USER, extra_body={"enable_thinking": True}),
        request(USER, extra_body={"enable_thinking": True}, stream=True),
    ),
    (
        "thinking-requires-stream",  # a wire body: enable_thinking at the top level
        request(USER, enable_thinking=True),
        request(USER, enable_thinking=False),
    ),
    (
        "thinking-requires-stream",
        request(USER, model="qwq-plus"),
        request(USER, model="qwq-plus", stream=True),
    ),
    (
        "thinking-requires-stream",  # open-weight Qwen3 thinks unless told not to
        request(USER, model="qwen3-32b"),
        request(USER, model="qwen3-32b", extra_body={"enable_thinking": False}),
    ),
    (
        "thinking-requires-stream",
        request(USER, model="qwen3-235b-a22b-thinking-2507"),
        request(USER, model="qwen3-235b-a22b-instruct-2507"),
    ),
    (
        "omni-requires-stream",
        request(USER, model="qwen3-omni-flash"),
        request(USER, model="qwen3-omni-flash", stream=True),
    ),
    (
        "omni-requires-stream",
        request(USER, model="qwen-omni-turbo-latest", stream=False),
        request(USER, model="qwen-omni-turbo-latest", stream=True),
    ),
    (
        "omni-requires-stream",
        request(USER, model="qwen2.5-omni-7b"),
        request(USER, model="qwen2.5-7b-instruct"),
    ),
    (
        "json-mode-needs-json-word",
        request(USER, response_format={"type": "json_object"}),
        request(
            {"role": "system", "content": "Reply in JSON."},
            USER,
            response_format={"type": "json_object"},
        ),
    ),
    (
        "json-mode-with-thinking",
        request(
            {"role": "user", "content": "json please"},
            response_format={"type": "json_object"},
            stream=True,
            extra_body={"enable_thinking": True},
        ),
        request(
            {"role": "user", "content": "json please"},
            response_format={"type": "json_object"},
            stream=True,
        ),
    ),
    ("parameter-range", request(USER, temperature=2.0), request(USER, temperature=1.99)),
    ("parameter-range", request(USER, temperature=-0.1), request(USER, temperature=0)),
    ("parameter-range", request(USER, temperature="hot"), request(USER, temperature=0.3)),
    ("parameter-range", request(USER, top_p=0), request(USER, top_p=1)),
    ("parameter-range", request(USER, top_p=1.01), request(USER, top_p=0.01)),
    ("parameter-range", request(USER, max_tokens=0), request(USER, max_tokens=1)),
    ("parameter-range", request(USER, max_tokens=100_000), request(USER, max_tokens=16_384)),
    ("parameter-range", request(USER, n=0), request(USER, n=2)),
    (
        "parameter-range",
        request(USER, stream=True, extra_body={"enable_thinking": True, "thinking_budget": 0}),
        request(USER, stream=True, extra_body={"enable_thinking": True, "thinking_budget": 1}),
    ),
    (
        "unknown-tool-choice",
        request(USER, tool_choice="auto"),
        request(USER, tool_choice="auto", tools=TOOLS),
    ),
    (
        "unknown-tool-choice",
        request(USER, tools=TOOLS, tool_choice={"type": "function", "function": {"name": "nope"}}),
        request(
            USER, tools=TOOLS, tool_choice={"type": "function", "function": {"name": "get_weather"}}
        ),
    ),
    (
        "thinking-forced-tool",
        request(
            USER,
            tools=TOOLS,
            stream=True,
            extra_body={"enable_thinking": True},
            tool_choice={"type": "function", "function": {"name": "get_weather"}},
        ),
        request(
            USER, tools=TOOLS, stream=True, extra_body={"enable_thinking": True}, tool_choice="auto"
        ),
    ),
    ("invalid-message", request(), request(USER)),
    ("invalid-message", request({"role": "robot", "content": "hi"}), request(USER)),
    ("invalid-message", request({"role": "user"}), request(USER)),
    (
        "invalid-message",
        request(USER, {"role": "assistant"}),
        request(USER, {"role": "assistant", "content": "ok"}),
    ),
    ("invalid-message", {"model": "qwen-plus", "max_tokens": 1, "messages": "hi"}, request(USER)),
    (
        "context-overflow",
        request({"role": "user", "content": "word " * 40_000}, model="qwen-max", max_tokens=100),
        request({"role": "user", "content": "word " * 20_000}, model="qwen-max", max_tokens=100),
    ),
    (
        "context-overflow",  # CJK counts like Qwen counts it: about a token per character or two
        request(
            {"role": "user", "content": "今天天气很好，我们去公园散步吧。" * 4000},
            model="qwen-max",
            max_tokens=100,
        ),
        request(
            {"role": "user", "content": "今天天气很好，我们去公园散步吧。" * 2000},
            model="qwen-max",
            max_tokens=100,
        ),
    ),
    (
        "unsupported-modality",
        request(
            {"role": "user", "content": [IMAGE, {"type": "text", "text": "What is this?"}]},
            model="qwen-plus",
        ),
        request(
            {"role": "user", "content": [IMAGE, {"type": "text", "text": "What is this?"}]},
            model="qwen3-vl-plus",
        ),
    ),
    ("unknown-model", request(USER, model="qwen-plusplus"), request(USER, model="qwen-plus")),
    ("max-tokens-unset", {"model": "qwen-plus", "messages": [USER]}, request(USER)),
    (
        "temperature-and-top-p",
        request(USER, temperature=0.2, top_p=0.9),
        request(USER, temperature=0.2),
    ),
    (
        "nested-tool-schema",
        request(
            USER,
            tools=[
                {
                    "type": "function",
                    "function": {
                        "name": "search",
                        "parameters": {
                            "type": "object",
                            "properties": {
                                "filter": {
                                    "type": "object",
                                    "properties": {"date": {"type": "string"}},
                                }
                            },
                        },
                    },
                }
            ],
        ),
        request(USER, tools=TOOLS),
    ),
    (
        "nested-tool-schema",  # flat, but a parameter is optional
        request(
            USER,
            tools=[
                {
                    "type": "function",
                    "function": {
                        "name": "get_weather",
                        "parameters": {
                            "type": "object",
                            "properties": {"city": {"type": "string"}, "unit": {"type": "string"}},
                            "required": ["city"],
                        },
                    },
                }
            ],
        ),
        request(USER, tools=TOOLS),
    ),
    (
        "thinking-with-tools",
        request(USER, tools=TOOLS, stream=True, extra_body={"enable_thinking": True}),
        request(USER, tools=TOOLS, stream=True),
    ),
    (
        "thinking-high-temperature",
        request(USER, stream=True, temperature=1.0, extra_body={"enable_thinking": True}),
        request(USER, stream=True, temperature=0.7, extra_body={"enable_thinking": True}),
    ),
    (
        "thinking-high-temperature",
        request(USER, model="qwq-plus", stream=True, temperature=1.3),
        request(USER, model="qwen-plus", stream=True, temperature=1.3),
    ),
    (
        "dynamic-system-prompt",
        request({"role": "system", "content": "You help. Today is 2025-06-01."}, USER),
        request(
            {"role": "system", "content": "You help."},
            {"role": "user", "content": "Today is 2025-06-01."},
        ),
    ),
    (
        "dynamic-system-prompt",
        request(
            {"role": "system", "content": "session 3f2b8c1e-9d4a-4b7e-8f00-1234567890ab"}, USER
        ),
        request({"role": "system", "content": "session"}, USER),
    ),
    (
        "dynamic-system-prompt",
        request({"role": "system", "content": "现在是2025年6月1日"}, USER),
        request({"role": "system", "content": "你是助手"}, USER),
    ),
]


@pytest.mark.parametrize(
    ("rule", "bad", "good"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)]
)
def test_rule_fires_on_the_bad_request_and_not_on_the_fix(rule, bad, good):
    assert rule in rules(bad)
    assert rule not in rules(good)


def test_every_rule_has_a_case():
    assert {c[0] for c in CASES} == set(RULES)


def test_a_clean_request_has_no_findings():
    assert (
        validate(
            request({"role": "system", "content": "Be brief."}, USER, asks("c1"), answer("c1"))
        )
        == []
    )


def test_findings_carry_severity_index_and_a_fix():
    found = validate(request(USER, answer("call_9")))
    orphan = next(f for f in found if f.rule == "orphan-tool-result")
    assert orphan.severity == "error" and orphan.is_error
    assert orphan.index == 1
    assert "messages[1]" in orphan.message and "'call_9'" in orphan.message
    assert "resp.choices[0].message" in orphan.message  # says how to fix it
    assert str(orphan).startswith("orphan-tool-result (error): messages[1]")


def test_orphan_before_its_assistant_message_says_where_that_message_is():
    found = validate(request(USER, answer("c1"), asks("c1")))
    orphan = next(f for f in found if f.rule == "orphan-tool-result")
    assert "comes later, at messages[2]" in orphan.message
    missing = next(f for f in found if f.rule == "missing-tool-result")
    assert missing.index == 2


def test_message_findings_come_in_message_order():
    found = validate(request(USER, asks("a", "b"), answer("a"), answer("a")))
    assert [(f.rule, f.index) for f in found] == [
        ("missing-tool-result", 1),
        ("duplicate-tool-result", 3),
    ]


def test_parameter_findings_name_the_parameter_and_the_range():
    (finding,) = [f for f in validate(request(USER, top_p=0)) if f.rule == "parameter-range"]
    assert finding.param == "top_p" and finding.index is None
    assert "(0.0, 1.0]" in finding.message


def test_sdk_message_objects_are_read_like_dicts():
    """Users append resp.choices[0].message itself, a pydantic object, to the history."""
    assistant = ChatCompletionMessage(
        role="assistant",
        content=None,
        tool_calls=[
            ChatCompletionMessageToolCall(
                id="call_1",
                type="function",
                function={"name": "get_weather", "arguments": '{"city": "Hangzhou"}'},
            )
        ],
    )
    assert validate(request(USER, assistant, answer("call_1"))) == []
    assert [f.rule for f in validate(request(USER, assistant))] == ["missing-tool-result"]


def test_sdk_not_given_sentinels_count_as_unset():
    from openai import NOT_GIVEN

    assert validate(request(USER, temperature=NOT_GIVEN, top_p=NOT_GIVEN)) == []


def test_unknown_models_get_only_the_unknown_model_warning():
    huge = {"role": "user", "content": "word " * 300_000}
    assert rules(request(huge, model="my-private-qwen", max_tokens=900_000)) == ["unknown-model"]


@pytest.mark.parametrize(
    ("model", "says"),
    [
        ("qwen-plusplus", "Did you mean 'qwen-plus'"),
        ("qwen3.5-pluss", "Did you mean 'qwen3.5-plus'"),
        ("gpt-4o", "looks like another provider's"),
    ],
)
def test_an_unknown_model_is_named_with_the_closest_listed_ones(model, says):
    (found,) = validate(request(USER, model=model))
    assert (found.rule, found.severity, found.param) == ("unknown-model", "warning", "model")
    assert says in found.message and "QWENOBS_CATALOG" in found.message


def test_tool_rounds_are_counted():
    conv = inspect(request(USER, asks("a", "b"), answer("b"), answer("a"), asks("c"), answer("c")))
    assert conv.tool_rounds == 2 and conv.findings == []


def test_a_request_that_is_not_a_mapping_is_a_type_error():
    with pytest.raises(TypeError, match="mapping"):
        validate(["not", "a", "request"])  # type: ignore[arg-type]


def test_json_word_in_content_parts_counts():
    parts = {"role": "user", "content": [{"type": "text", "text": "Answer in JSON"}]}
    assert "json-mode-needs-json-word" not in rules(
        request(parts, response_format={"type": "json_object"})
    )


def test_a_tools_list_that_grows_between_calls_is_checked_afresh():
    tools = list(TOOLS)
    forced = {"type": "function", "function": {"name": "search"}}
    assert "unknown-tool-choice" in rules(request(USER, tools=tools, tool_choice=forced))
    tools.append({"type": "function", "function": {"name": "search", "parameters": {}}})
    assert "unknown-tool-choice" not in rules(request(USER, tools=tools, tool_choice=forced))


def weather_tool(parameters: dict) -> list[dict]:
    return [{"type": "function", "function": {"name": "get_weather", "parameters": parameters}}]


FLAT = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
NESTED = {
    "type": "object",
    "properties": {"place": {"type": "object", "properties": {"city": {"type": "string"}}}},
    "required": ["place"],
}


def test_a_schema_changed_under_the_same_name_gets_a_fresh_verdict():
    assert "nested-tool-schema" not in rules(request(USER, tools=weather_tool(FLAT)))
    assert "nested-tool-schema" in rules(request(USER, tools=weather_tool(NESTED)))
    assert "nested-tool-schema" not in rules(request(USER, tools=weather_tool(FLAT)))


def test_a_schema_edited_in_place_gets_a_fresh_verdict():
    tools = weather_tool(copy.deepcopy(FLAT))
    assert "nested-tool-schema" not in rules(request(USER, tools=tools))
    tools[0]["function"]["parameters"]["properties"]["city"] = {"type": "object"}
    assert "nested-tool-schema" in rules(request(USER, tools=tools))


def test_optional_parameters_are_named_and_a_tool_without_parameters_is_fine():
    loose = {"type": "object", "properties": {"city": {}, "unit": {}, "days": {}}}
    (found,) = validate(request(USER, tools=weather_tool(loose | {"required": ["city"]})))
    assert found.rule == "nested-tool-schema" and found.param == "tools"
    assert "'unit', 'days'" in found.message and "'required'" in found.message
    assert "'city', 'unit', 'days'" in validate(request(USER, tools=weather_tool(loose)))[0].message
    assert validate(request(USER, tools=weather_tool({"type": "object", "properties": {}}))) == []
    assert validate(request(USER, tools=weather_tool({}))) == []


def test_the_omni_finding_names_the_model_and_the_fix():
    (found,) = validate(request(USER, model="qwen3-omni-flash"))
    assert found.rule == "omni-requires-stream" and found.is_error and found.param == "stream"
    assert "'qwen3-omni-flash'" in found.message and "stream=True" in found.message


def test_thinking_at_a_creative_temperature_says_the_threshold():
    found = validate(
        request(USER, stream=True, temperature=0.9, extra_body={"enable_thinking": True})
    )
    assert [f.rule for f in found] == ["thinking-high-temperature"]
    assert "temperature=0.9" in found[0].message and "above 0.7" in found[0].message
