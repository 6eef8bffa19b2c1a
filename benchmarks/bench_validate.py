"""How much the request rules cost per call, and how fast Qwen token counting is.

    .venv/bin/python benchmarks/bench_validate.py

Prints per-message figures for ``validate`` on a 1,000-message conversation with 200 tool rounds
(dicts and SDK message objects), the cost of the context check far from the window as a ratio
against the same request for a model with no known window, and ``count_tokens`` throughput on
mixed Chinese/English text. Medians of repeated runs; no pass/fail, these machines are noisy.

The tool-set lines send a fresh copy of the tools on every call, as the SDK does (new dicts and
lists, the same strings), so they measure the tools memo the way an application meets it.
"""

from __future__ import annotations

import itertools
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from openai.types.chat import ChatCompletionMessage

from qwenobs import count_tokens, tokens, validate
from qwenobs.fake.samples import WEATHER_TOOLS as TOOLS

REPEATS = 15


def conversation(rounds: int = 200, size: int = 1000) -> list[dict]:
    messages: list[dict] = [{"role": "system", "content": "You are a helpful travel agent. " * 8}]
    for r in range(rounds):
        messages.append({"role": "user", "content": f"What about city number {r}? 我想知道天气。"})
        messages.append(
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": f"call_{r}",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": f'{{"city": "c{r}"}}'},
                    }
                ],
            }
        )
        messages.append({"role": "tool", "tool_call_id": f"call_{r}", "content": '{"temp_c": 21}'})
    while len(messages) < size:
        messages.append({"role": "user", "content": "继续，please go on with the plan."})
        messages.append({"role": "assistant", "content": "Sure: day two we visit the Bund. 好的。"})
    return messages[:size]


def toolbox(size: int) -> list[dict]:
    """``size`` flat, required tools with descriptions, like an assistant with a few skills."""
    return [
        {
            "type": "function",
            "function": {
                "name": f"skill_{i}",
                "description": f"Skill number {i}: looks something up and returns it as JSON",
                "parameters": {
                    "type": "object",
                    "properties": {
                        "query": {"type": "string", "description": "What to look up"},
                        "limit": {"type": "integer", "description": "At most this many results"},
                    },
                    "required": ["query", "limit"],
                },
            },
        }
        for i in range(size)
    ]


def sdk_copy(value: Any) -> Any:
    """What the SDK sends: new dicts and lists around the caller's own strings and numbers."""
    if isinstance(value, dict):
        return {k: sdk_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [sdk_copy(v) for v in value]
    return value


def median_seconds(fn: Callable[[], object], inner: int) -> float:
    samples = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        for _ in range(inner):
            fn()
        samples.append((time.perf_counter() - start) / inner)
    return statistics.median(samples)


def main() -> None:
    messages = conversation()
    as_objects = [
        ChatCompletionMessage.model_validate(m) if m["role"] == "assistant" else m for m in messages
    ]
    request = {"model": "qwen-plus", "max_tokens": 1024, "messages": messages, "tools": TOOLS}
    assert [f.rule for f in validate(request)] == [], validate(request)
    n = len(messages)

    per_call = median_seconds(lambda: validate(request), 20)
    objects = {**request, "messages": as_objects}
    per_call_obj = median_seconds(lambda: validate(objects), 20)
    print(f"validate, {n} messages, 200 tool rounds (dict messages):")
    print(f"  {per_call * 1e6:9.1f} us per call   {per_call / n * 1e6:6.2f} us per message")
    print("validate, same conversation with SDK message objects for the assistant turns:")
    print(f"  {per_call_obj * 1e6:9.1f} us per call   {per_call_obj / n * 1e6:6.2f} us per message")

    # The context check far from the window: the same request for a model with no known window
    # skips the check, so the ratio is what the check costs. It must never tokenize here.
    unknown = {**request, "model": "a-model-not-in-the-catalog"}
    calls = 0
    real_estimate = tokens._estimate

    def counting(*args, **kwargs):
        nonlocal calls
        calls += 1
        return real_estimate(*args, **kwargs)

    tokens._estimate = counting
    try:
        rounds = []
        for _ in range(5):
            known_s = median_seconds(lambda: validate(request), 10)
            unknown_s = median_seconds(lambda: validate(unknown), 10)
            rounds.append(known_s / unknown_s)
    finally:
        tokens._estimate = real_estimate
    print("context check far from the window (qwen-plus vs a model without a window):")
    print(f"  ratio {statistics.median(rounds):.3f}   tokenizer calls: {calls}")

    short = {"model": "qwen-plus", "max_tokens": 256, "messages": messages[:4], "tools": TOOLS}
    per_short = median_seconds(lambda: validate(short), 2000)
    print(f"validate, a typical 4-message request with one tool: {per_short * 1e6:.1f} us per call")

    for size in (1, 8, 32):
        tools = toolbox(size)
        copies = itertools.cycle([{**short, "tools": sdk_copy(tools)} for _ in range(64)])
        assert validate(next(copies)) == []
        per_tools = median_seconds(lambda copies=copies: validate(next(copies)), 1000)
        print(
            f"validate, the 4-message request with {size:2} tools (a fresh copy per call): "
            f"{per_tools * 1e6:.1f} us per call"
        )

    # A system prompt that changes on every call misses the rules' memo: searched afresh each time.
    persona = (
        "You are the support assistant of a large online bookshop. Orders over 99 yuan ship "
        "free; returns are accepted within 7 days. Be friendly and answer in detail. "
    ) * 8
    dated = itertools.cycle(
        [
            {**short, "messages": [{"role": "system", "content": f"{persona}Today is day {n}."}]}
            for n in range(1024)  # more than the memo holds
        ]
    )
    per_dated = median_seconds(lambda: validate(next(dated)), 1000)
    print(
        f"validate, a request whose {len(persona) + 16:,}-character system prompt changes every "
        f"call: {per_dated * 1e6:.1f} us per call"
    )

    # A prompt far beyond qwen-plus's input limit (997,952 tokens): judged without tokenizing
    # all of it. Varied text (no slice repeats) and a run of one character (the worst case for
    # a BPE, each slice alike).
    rng = random.Random(7)
    words = [w for w in (persona + " 阿里云 百炼 通义千问 模型 推理 流式 输出 缓存").split() if w]
    varied = " ".join(rng.choice(words) + str(rng.randrange(1000)) for _ in range(1_900_000))
    for name, huge in (("varied text", varied[:15_000_000]), ("one character", "a" * 15_000_000)):
        big = {
            "model": "qwen-plus",
            "max_tokens": 256,
            "messages": [{"role": "user", "content": huge}],
        }
        seconds = median_seconds(lambda big=big: validate(big), 1)
        found = [f.rule for f in validate(big)]
        print(
            f"validate, a {len(huge.encode()) / 1e6:.0f} MB prompt ({name}) to qwen-plus: "
            f"{seconds:.3f} s, {found}"
        )

    text = "阿里云百炼提供通义千问模型。Qwen streams reasoning_content before the answer. " * 400
    count_tokens("warm up")
    per_text = median_seconds(lambda: count_tokens(text), 5)
    n_tokens = count_tokens(text)
    print(f"count_tokens on mixed Chinese/English ({len(text):,} chars, {n_tokens:,} tokens):")
    print(
        f"  {len(text) / per_text / 1e6:.2f} M chars/s   {n_tokens / per_text / 1e6:.2f} M tokens/s"
        f"   {len(text.encode()) / per_text / 1e6:.2f} MB/s"
    )


if __name__ == "__main__":
    main()
