"""Request attributes from the body the SDK sends (extra_body already merged in)."""

from __future__ import annotations

import pytest

from qwenobs.attributes import request_attributes


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"max_tokens": 512}, 512),
        ({"max_completion_tokens": 300}, 300),
        ({"max_tokens": 0, "max_completion_tokens": 50}, 50),
        ({"max_tokens": 0}, 0),
        ({"max_tokens": True}, None),  # a bool is not a token count
        ({"max_tokens": "512"}, None),
        ({}, None),
    ],
)
def test_max_tokens(params, expected):
    attrs = request_attributes({"model": "qwen-plus", **params}, stream=False)
    assert attrs.get("gen_ai.request.max_tokens") == expected


def test_sampling_thinking_and_stop_are_recorded_as_sent():
    attrs = request_attributes(
        {
            "model": "qwen3-max",
            "temperature": 0.7,
            "top_p": 1,
            "seed": 7,
            "stop": "END",
            "n": 2,
            "enable_thinking": True,
            "thinking_budget": 4096,
        },
        stream=True,
    )
    assert attrs == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "dashscope",
        "gen_ai.request.model": "qwen3-max",
        "gen_ai.request.stream": True,
        "gen_ai.request.temperature": 0.7,
        "gen_ai.request.top_p": 1,
        "gen_ai.request.seed": 7,
        "gen_ai.request.stop_sequences": ("END",),
        "gen_ai.request.choice.count": 2,
        "dashscope.request.enable_thinking": True,
        "dashscope.request.thinking_budget": 4096,
    }


def test_odd_values_are_left_out():
    attrs = request_attributes(
        {"model": 3, "temperature": "hot", "stop": ["a", 1], "n": 1, "enable_thinking": "yes"},
        stream=False,
    )
    assert attrs == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "dashscope",
        "gen_ai.request.model": "unknown",
        "gen_ai.request.stream": False,
    }
