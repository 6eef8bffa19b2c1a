"""Synthetic traces in the shape qwenobs writes, as OTLP/JSON lines: for the report's benchmark
and tests, and to try the report without an app.

Shape (per 100 chat spans, seeded, so a given seed always gives the same file): four models on
two endpoints (China: CNY, international: USD); 30% streams with time to first chunk, 10% of them
thinking (reasoning tokens and chars, time to first answer); 15% inside agent runs of three chat
calls and two tool spans (some stopped by the loop guard, some with a forced answer or repeated
tool calls); 2% errors (status ERROR, ``error.type``); 5% with a ``dashscope.validation`` event;
six system prompts (one that never hits the prefix cache); two single calls in five continue a
recent conversation; usage, cached tokens, and cost with
its tier, price date and cache savings on every successful call. Each line holds 1,000 spans.
"""

from __future__ import annotations

import gzip
import json
import random
from collections.abc import Iterator
from pathlib import Path

# model, host, currency, price per 1K input tokens, per 1K output tokens
MODELS = (
    ("qwen-plus", "dashscope.aliyuncs.com", "CNY", 0.0008, 0.002),
    ("qwen-flash", "dashscope.aliyuncs.com", "CNY", 0.00015, 0.0015),
    ("qwen3-max", "dashscope-intl.aliyuncs.com", "USD", 0.0012, 0.006),
    ("qwen-turbo", "dashscope-intl.aliyuncs.com", "USD", 0.00005, 0.0002),
)
PROMPTS = tuple(f"{i:016x}" for i in (0x1A2B, 0x3C4D, 0x5E6F, 0x7081, 0x92A3, 0xB4C5))
NEVER_CACHED = PROMPTS[5]  # a prompt with a date in it: its hit rate stays zero
ERRORS = ("RateLimitError", "InternalServerError", "QwenValidationError", "APITimeoutError")
RULES = (("max-tokens-unset", "warning"), ("dynamic-system-prompt", "warning"))
PRICES_AS_OF = "2026-11-20"
SPANS_PER_LINE = 1000
AGENT_TRACES = 0.15 / 2.7  # traces that are agent runs (3 chats each): 15% of chat spans


def _s(key: str, value: str) -> str:
    return f'{{"key":"{key}","value":{{"stringValue":{json.dumps(value)}}}}}'


def _i(key: str, value: int) -> str:
    return f'{{"key":"{key}","value":{{"intValue":"{value}"}}}}'


def _d(key: str, value: float) -> str:
    return f'{{"key":"{key}","value":{{"doubleValue":{value!r}}}}}'


def _b(key: str, value: bool) -> str:
    return f'{{"key":"{key}","value":{{"boolValue":{"true" if value else "false"}}}}}'


class _Writer:
    def __init__(self, seed: int, start_ns: int, span_ns: int) -> None:
        self.rng = random.Random(seed)
        self.start_ns = start_ns
        self.span_ns = span_ns
        self.recent: list[str] = []

    def conversation(self) -> str:
        """A new conversation, or (two calls in five) the next turn of a recent one."""
        if self.recent and self.rng.random() < 0.4:
            return self.rng.choice(self.recent)
        new = self.hex(32)
        self.recent = [*self.recent[-199:], new]
        return new

    def hex(self, digits: int) -> str:
        return f"{self.rng.getrandbits(digits * 4):0{digits}x}"

    def chat(self, trace: str, parent: str | None, t0: int, conversation: str) -> tuple[str, int]:
        """One chat span: (its JSON, its end time)."""
        rng = self.rng
        model, host, currency, price_in, price_out = rng.choice(MODELS)
        prompt = rng.choice(PROMPTS)
        stream = rng.random() < 0.3
        thinking = stream and rng.random() < 0.1
        error = ERRORS[rng.randrange(len(ERRORS))] if rng.random() < 0.02 else None
        duration = rng.lognormvariate(-0.5, 0.6) + (2.0 if thinking else 0.0)
        end = t0 + int(duration * 1e9)
        a = [
            _s("gen_ai.operation.name", "chat"),
            _s("gen_ai.provider.name", "dashscope"),
            _s("gen_ai.request.model", model),
            _i("gen_ai.request.max_tokens", 1024),
            _d("gen_ai.request.temperature", 0.7),
            _b("gen_ai.request.stream", stream),
            _s("server.address", host),
            _i("server.port", 443),
            _s("dashscope.system_prompt.fingerprint", prompt),
            _s("gen_ai.conversation.id", conversation),
            _i("dashscope.tool.rounds", 0),
        ]
        if thinking:
            a.append(_b("dashscope.request.enable_thinking", True))
        status = ""
        events = ""
        if error is None:
            inp = rng.randint(200, 4000)
            cached = 0 if prompt == NEVER_CACHED else rng.choice((0, inp // 2, inp * 3 // 4))
            out = rng.randint(10, 800)
            reasoning = rng.randint(100, 1500) if thinking else 0
            out += reasoning
            cost = ((inp - cached) * price_in + cached * price_in * 0.2 + out * price_out) / 1000
            savings = cached * price_in * 0.8 / 1000
            a += [
                _s("gen_ai.response.id", "chatcmpl-" + self.hex(24)),
                _s("gen_ai.response.model", model),
                '{"key":"gen_ai.response.finish_reasons","value":{"arrayValue":{"values":'
                '[{"stringValue":"stop"}]}}}',
                _i("gen_ai.usage.input_tokens", inp),
                _i("gen_ai.usage.output_tokens", out),
                _i("gen_ai.usage.cache_read.input_tokens", cached),
                _i("gen_ai.usage.reasoning.output_tokens", reasoning),
                _i("dashscope.response.tool_calls", 0),
                _s("dashscope.request_id", self.hex(32)),
                _d("dashscope.cost.amount", round(cost, 8)),
                _s("dashscope.cost.currency", currency),
                _s("dashscope.cost.tier", "0-128K"),
                _s("dashscope.cost.prices_as_of", PRICES_AS_OF),
                _d("dashscope.cost.cache_savings", round(savings, 8)),
            ]
            if stream:
                ttfc = min(duration, rng.uniform(0.05, 0.4) + (1.5 if thinking else 0.0))
                a += [
                    _d("gen_ai.response.time_to_first_chunk", round(ttfc, 6)),
                    _s("dashscope.stream.end", "exhausted"),
                ]
                if thinking:
                    a += [
                        _i("dashscope.response.reasoning.chars", reasoning * 3),
                        _d("dashscope.response.time_to_first_content", round(duration * 0.8, 6)),
                    ]
        else:
            a.append(_s("error.type", error))
            status = ',"message":"failed"'
            events = (
                f'{{"timeUnixNano":"{end}","name":"exception","attributes":['
                f"{_s('exception.type', error)}]}}"
            )
        if rng.random() < 0.05:
            rule, severity = RULES[rng.randrange(len(RULES))]
            finding = (
                f'{{"timeUnixNano":"{t0}","name":"dashscope.validation","attributes":['
                f"{_s('rule', rule)},{_s('severity', severity)},{_s('message', rule)}]}}"
            )
            events = f"{finding},{events}" if events else finding
        code = '"code":2' if error else ""
        parent_json = f',"parentSpanId":"{parent}"' if parent else ""
        span = (
            f'{{"traceId":"{trace}","spanId":"{self.hex(16)}"{parent_json},"flags":257,'
            f'"name":"chat {model}","kind":3,"startTimeUnixNano":"{t0}","endTimeUnixNano":"{end}",'
            f'"attributes":[{",".join(a)}],"events":[{events}],"status":{{{code}{status}}}}}'
        )
        return span, end

    def tool(self, trace: str, parent: str, t0: int, conversation: str) -> tuple[str, int]:
        end = t0 + int(self.rng.uniform(0.001, 0.2) * 1e9)
        a = [
            _s("gen_ai.operation.name", "execute_tool"),
            _s("gen_ai.tool.name", "get_weather"),
            _s("gen_ai.tool.call.id", "call_" + self.hex(24)),
            _s("gen_ai.conversation.id", conversation),
        ]
        span = (
            f'{{"traceId":"{trace}","spanId":"{self.hex(16)}","parentSpanId":"{parent}",'
            f'"flags":257,"name":"execute_tool get_weather","kind":1,'
            f'"startTimeUnixNano":"{t0}","endTimeUnixNano":"{end}",'
            f'"attributes":[{",".join(a)}],"status":{{}}}}'
        )
        return span, end

    def trace(self) -> Iterator[tuple[str, bool]]:
        """The spans of one trace: (span JSON, is a chat span)."""
        rng = self.rng
        trace = self.hex(32)
        t0 = self.start_ns + rng.randrange(self.span_ns)
        if rng.random() >= AGENT_TRACES:
            yield self.chat(trace, None, t0, self.conversation())[0], True
            return
        agent_id, conversation = self.hex(16), self.hex(32)
        t, spans, chats = t0, [], 3
        for n in range(chats):
            span, t = self.chat(trace, agent_id, t, conversation)
            spans.append((span, True))
            if n < chats - 1:
                for _ in range(2 if n == 0 else 1):
                    span, t = self.tool(trace, agent_id, t, conversation)
                    spans.append((span, False))
        loop_stop = rng.random() < 0.1
        repeated = 1 if rng.random() < 0.2 else 0
        forced = rng.random() < 0.15
        currency = rng.choice(("CNY", "USD"))
        name = rng.choice(("travel-weather", "support-triage"))
        a = [
            _s("gen_ai.operation.name", "invoke_agent"),
            _s("gen_ai.provider.name", "dashscope"),
            _s("gen_ai.agent.name", name),
            _s("gen_ai.conversation.id", conversation),
            _i("dashscope.agent.rounds", 2 + loop_stop * 4),
            _i("dashscope.agent.tool_calls", 3 + repeated),
            _i("dashscope.agent.repeated_tool_calls", repeated),
            _b("dashscope.agent.forced_answer", forced),
            _d("dashscope.agent.cost.amount", round(rng.uniform(0.001, 0.05), 6)),
            _s("dashscope.agent.cost.currency", currency),
        ]
        status = "{}"
        if loop_stop:
            a.append(_s("error.type", "AgentLoopError"))
            status = '{"code":2,"message":"loop"}'
        yield (
            f'{{"traceId":"{trace}","spanId":"{agent_id}","flags":257,'
            f'"name":"invoke_agent {name}","kind":1,"startTimeUnixNano":"{t0}",'
            f'"endTimeUnixNano":"{t}","attributes":[{",".join(a)}],"status":{status}}}',
            False,
        )
        yield from spans


def write(
    path: str | Path,
    chat_spans: int,
    *,
    seed: int = 7,
    start_ns: int = 1_795_000_000_000_000_000,
    days: float = 14.0,
    service: str = "synthetic-app",
) -> int:
    """Write a trace file of ``chat_spans`` chat spans (plus their agent and tool spans);
    gzipped when the name ends in ``.gz``. Returns the number of spans written."""
    path = Path(path)
    writer = _Writer(seed, start_ns, int(days * 86400e9))
    head = (
        '{"resourceSpans":[{"resource":{"attributes":['
        + _s("service.name", service)
        + ']},"scopeSpans":[{"scope":{"name":"qwenobs","version":"0.2.0"},"spans":['
    )
    tail = "]}]}]}\n"
    opener = gzip.open if path.suffix == ".gz" else open
    total = chats = 0
    with opener(path, "wt", encoding="utf-8") as out:
        batch: list[str] = []
        while chats < chat_spans:
            for span, is_chat in writer.trace():
                batch.append(span)
                chats += is_chat
            if len(batch) >= SPANS_PER_LINE or chats >= chat_spans:
                out.write(head + ",".join(batch) + tail)
                total += len(batch)
                batch = []
    return total
