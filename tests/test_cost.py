"""What a call cost, as DashScope bills it: the pricing rules, then cost on spans, metrics, agent
runs and budgets."""

from __future__ import annotations

import asyncio
import contextvars
import json
import re
from concurrent.futures import ThreadPoolExecutor

import pytest

import qwenobs
from qwenobs import DEFAULT_CATALOG, cost
from qwenobs.cost import region_of

USER = {"role": "user", "content": "Recommend one teahouse near West Lake."}


def usage(prompt: int, completion: int = 0, *, cached=0, created=None, reasoning=0) -> dict:
    details: dict = {"cached_tokens": cached}
    if created is not None:  # explicit caching: DashScope adds these two
        details.update(cache_type="ephemeral", cache_creation_input_tokens=created)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "prompt_tokens_details": details,
        "completion_tokens_details": {"reasoning_tokens": reasoning},
    }


# -- the pricing rules ----------------------------------------------------------------------


def test_a_request_exactly_at_a_band_edge_and_one_token_over():
    # qwen-flash, China, per million: input <=128K 0.15, output 1.5; 128K-256K 0.6 and 6.
    at = cost("qwen-flash", usage(128_000, 1_000), region="cn")
    over = cost("qwen-flash", usage(128_001, 1_000), region="cn")
    assert (at.tier, at.currency) == ("0-128K", "CNY")
    assert at.amount == pytest.approx(128_000 * 0.15e-6 + 1_000 * 1.5e-6)
    # The whole request moves to the next band, output included: not sliced.
    assert over.tier == "128K-256K"
    assert over.amount == pytest.approx(128_001 * 0.6e-6 + 1_000 * 6e-6)


def test_32k_means_32000_tokens():
    assert cost("qwen3-max", usage(32_000), region="cn").tier == "0-32K"
    assert cost("qwen3-max", usage(32_001), region="cn").tier == "32K-128K"


def test_cached_tokens_count_toward_the_band_and_cost_a_fifth():
    billed = cost("qwen-flash", usage(150_000, cached=50_000), region="cn")
    assert billed.tier == "128K-256K"  # 100K fresh + 50K cached is a 150K request
    assert billed.breakdown["fresh_input"] == pytest.approx(100_000 * 0.6e-6)
    assert billed.breakdown["cached_input"] == pytest.approx(50_000 * 0.6e-6 * 0.2)
    assert billed.cache_savings == pytest.approx(50_000 * 0.6e-6 * 0.8)


def test_explicit_cache_creation_and_hits():
    # The example sheet: qwen-flash creation 0.0001875, hit 0.000015 CNY per 1K tokens.
    created = cost("qwen-flash", usage(2_000, created=1_500), region="cn")
    assert created.breakdown["cache_creation"] == pytest.approx(1_500 * 0.0001875e-3)
    assert created.breakdown["fresh_input"] == pytest.approx(500 * 0.15e-6)
    hit = cost("qwen-flash", usage(2_000, cached=1_500, created=0), region="cn")
    assert hit.breakdown["cached_input"] == pytest.approx(1_500 * 0.000015e-3)
    assert hit.breakdown["cache_creation"] == 0


def test_thinking_output_price_only_when_the_call_thought():
    # qwen-plus in China: output 2 per million, 8 while thinking; reasoning is output.
    thought = cost("qwen-plus", usage(1_000, 500, reasoning=300), region="cn")
    assert thought.breakdown["reasoning"] == pytest.approx(300 * 8e-6)
    assert thought.breakdown["output"] == pytest.approx(200 * 8e-6)
    plain = cost("qwen-plus", usage(1_000, 500), region="cn")
    assert plain.breakdown["output"] == pytest.approx(500 * 2e-6)
    # Thinking on, no reasoning: "charged at non-thinking mode pricing".
    assert cost("qwen-plus", usage(1_000, 500), region="cn", thinking=True).amount == plain.amount
    # qwen3-max prices thinking like the rest.
    same = cost("qwen3-max", usage(1_000, 500, reasoning=300), region="cn")
    assert same.amount == pytest.approx(1_000 * 2.5e-6 + 500 * 10e-6)


def test_the_international_region_is_a_separate_price_list_in_usd():
    intl = cost("qwen-plus", usage(10_000, 1_000), region="intl")
    assert intl.currency == "USD"
    assert intl.amount == pytest.approx(10_000 * 0.4e-6 + 1_000 * 1.2e-6)


def test_batch_is_half_price_without_cache_discount():
    batch = cost("qwen-flash", usage(10_000, 1_000, cached=8_000), region="cn", batch=True)
    assert batch.amount == pytest.approx((10_000 * 0.15e-6 + 1_000 * 1.5e-6) / 2)


def test_no_price_is_none_never_a_made_up_zero():
    assert cost("qwen-long", usage(1_000, 10), region="intl") is None  # China only
    assert cost("my-private-model", usage(1_000, 10)) is None
    assert cost("qwen-plus", None) is None  # a stream without its usage chunk
    with pytest.raises(ValueError, match="region must be one of"):
        cost("qwen-plus", usage(1), region="eu")


def test_the_sdks_usage_object_is_read_like_a_dict():
    from openai.types import CompletionUsage

    sdk_usage = CompletionUsage.model_validate(
        {**usage(1_000, 100, cached=500), "total_tokens": 1_100}
    )
    assert (
        cost("qwen-plus", sdk_usage).amount
        == cost("qwen-plus", usage(1_000, 100, cached=500)).amount
    )


def test_the_explicit_cache_is_read_from_sdk_objects_and_from_an_sdk_that_declares_it():
    from openai.types import CompletionUsage
    from openai.types.completion_usage import PromptTokensDetails

    class Declared(PromptTokensDetails):  # a later SDK declaring DashScope's two fields
        cache_creation_input_tokens: int | None = None
        cache_type: str | None = None

    wire = {**usage(2_000, created=1_500), "total_tokens": 2_000}
    expected = cost("qwen-flash", wire, region="cn").breakdown
    assert expected["cache_creation"] > 0
    extras = CompletionUsage.model_validate(wire)  # the two fields are pydantic extras here
    assert extras.prompt_tokens_details.__pydantic_extra__
    declared = extras.model_copy(
        update={"prompt_tokens_details": Declared.model_validate(wire["prompt_tokens_details"])}
    )
    assert not declared.prompt_tokens_details.__pydantic_extra__
    for sdk_usage in (extras, declared):
        assert cost("qwen-flash", sdk_usage, region="cn").breakdown == expected


@pytest.mark.parametrize(
    ("host", "region"),
    [
        ("dashscope.aliyuncs.com", "cn"),
        ("dashscope-intl.aliyuncs.com", "intl"),
        ("ws-1234.cn-beijing.maas.aliyuncs.com", "cn"),
        ("ws-1234.ap-southeast-1.maas.aliyuncs.com", "intl"),
        ("dashscope-us.aliyuncs.com", None),  # another price list, not in the table
        ("127.0.0.1", None),
    ],
)
def test_the_region_follows_the_host(host, region):
    assert region_of(host) == region


def test_a_host_map_gives_gateways_a_region():
    assert region_of("LLM-Gateway.internal", {"llm-gateway.internal": "cn"}) == "cn"


def test_a_user_file_prices_a_fine_tuned_model_and_corrects_a_price(tmp_path, monkeypatch):
    path = tmp_path / "models.toml"
    path.write_text(
        """
[models."acme-qwen-ft"]
based_on = "qwen-plus"
[models."acme-qwen-ft".prices.cn]
bands = [{up_to = 128000, input = 1.2, output = 3.0}, {input = 3.6, output = 30.0}]
source = "our contract"
as_of = "2026-11"

[models."qwen-max".prices.intl]
bands = [{input = 1.0, output = 4.0}]
"""
    )
    monkeypatch.setenv("QWENOBS_CATALOG", str(path))
    mine = cost("acme-qwen-ft", usage(200_000, 100), region="cn")
    assert (mine.tier, mine.prices_as_of) == ("128K-up", "2026-11")
    assert mine.amount == pytest.approx(200_000 * 3.6e-6 + 100 * 30e-6)
    assert cost("acme-qwen-ft", usage(1_000), region="intl").currency == "USD"  # based_on's
    assert cost("qwen-max", usage(1_000, 1_000), region="intl").amount == pytest.approx(5e-3)
    assert cost("qwen-max", usage(1_000, 1_000), region="cn").amount == pytest.approx(12e-3)


def test_every_price_has_a_source_and_a_date():
    from qwenobs.catalog.prices import PRICE_SOURCES

    priced = [m for m in DEFAULT_CATALOG.models.values() if m.prices]
    assert len(priced) >= 40
    for info in priced:
        for region, prices in info.prices.items():
            assert prices.source in PRICE_SOURCES and prices.as_of, (info.name, region)
            assert prices.currency == {"cn": "CNY", "intl": "USD"}[region]


# -- cost on spans and metrics --------------------------------------------------------------


def expected(span) -> float:
    a = span.attributes
    counts = usage(
        a["gen_ai.usage.input_tokens"],
        a["gen_ai.usage.output_tokens"],
        cached=a.get("gen_ai.usage.cache_read.input_tokens", 0),
        reasoning=a.get("gen_ai.usage.reasoning.output_tokens", 0),
    )
    return cost(a["gen_ai.request.model"], counts, region="intl").amount


def ask(client, **kwargs):
    return client.chat.completions.create(
        model="qwen-plus", messages=[USER], max_tokens=64, **kwargs
    )


@pytest.mark.parametrize("way", ["sync", "async", "stream", "async-stream", "raw", "raw-stream"])
def test_every_way_of_calling_puts_the_cost_on_the_span(fake, telemetry, way):
    fake.reply("Try the Hupao spring teahouse.", repeat=True)  # fake.client(): international
    client = fake.client()
    if way == "sync":
        ask(client)
    elif way == "stream":
        list(ask(client, stream=True))
    elif way == "raw":
        client.chat.completions.with_raw_response.create(
            model="qwen-plus", messages=[USER], max_tokens=64
        ).parse()
    elif way == "raw-stream":
        raw = client.chat.completions.with_raw_response.create(
            model="qwen-plus", messages=[USER], max_tokens=64, stream=True
        )
        list(raw.parse())
    else:

        async def run() -> None:
            aclient = fake.async_client()
            if way == "async":
                await ask(aclient)
            else:
                async for _ in await ask(aclient, stream=True):
                    pass

        asyncio.run(run())
    span = telemetry.span()
    attributes = span.attributes
    assert attributes["dashscope.cost.currency"] == "USD"
    assert attributes["dashscope.cost.tier"] == "0-256K"
    assert attributes["dashscope.cost.amount"] == pytest.approx(expected(span))
    assert attributes["dashscope.cost.prices_as_of"] == "2026-03"
    assert "gen_ai.usage.cost.amount" not in attributes  # the proposed convention is opt-in


def test_the_cost_metric_and_the_genai_convention(fake, telemetry):
    telemetry.instrument(genai_cost=True)
    fake.reply("ok", repeat=True)
    client = fake.client()
    ask(client)
    ask(client)
    spans = telemetry.spans()
    first = spans[0].attributes
    assert first["gen_ai.usage.cost.amount"] == first["dashscope.cost.amount"]
    assert (first["gen_ai.usage.cost.currency"], first["gen_ai.usage.cost.source"]) == (
        "USD",
        "local",
    )
    (point,) = telemetry.points("dashscope.client.cost")
    assert point.attributes["dashscope.cost.currency"] == "USD"
    assert point.value == pytest.approx(sum(s.attributes["dashscope.cost.amount"] for s in spans))


def test_hosts_without_a_region_get_no_cost_unless_told(fake, telemetry):
    fake.reply("ok", repeat=True)
    with fake.serve() as server:  # http://127.0.0.1:PORT/compatible-mode/v1
        ask(server.client())
        telemetry.instrument(region="cn")
        ask(server.client())
    unpriced, priced = telemetry.spans()
    assert "dashscope.cost.amount" not in unpriced.attributes
    assert priced.attributes["dashscope.cost.currency"] == "CNY"


# -- agents and budgets -----------------------------------------------------------------------


def test_the_agent_span_carries_the_runs_total_once(fake, telemetry):
    fake.reply(tool_calls=[{"name": "get_weather", "arguments": {"city": "Hangzhou"}}])
    fake.reply("Take an umbrella.")
    client = fake.client()
    with qwenobs.agent("weather"):
        messages = [USER]
        first = (
            client.chat.completions.create(model="qwen-plus", messages=messages, max_tokens=64)
            .choices[0]
            .message
        )
        call = first.tool_calls[0]
        messages = [*messages, first, {"role": "tool", "tool_call_id": call.id, "content": "{}"}]
        client.chat.completions.create(model="qwen-plus", messages=messages, max_tokens=64)
    agent, *chats = telemetry.spans()
    total = sum(c.attributes["dashscope.cost.amount"] for c in chats)
    assert agent.attributes["dashscope.agent.cost.amount"] == pytest.approx(total)
    assert agent.attributes["dashscope.agent.cost.currency"] == "USD"
    assert "dashscope.cost.amount" not in agent.attributes  # never counted twice


def test_an_agent_budget_stops_the_next_call_before_it_is_sent(fake, telemetry):
    fake.reply("a long answer " * 20, repeat=True)
    client = fake.client()
    with (
        pytest.raises(qwenobs.AgentBudgetError) as caught,
        qwenobs.agent("spender", max_cost=(0.0001, "USD")),
    ):
        for _ in range(10):
            ask(client)
    sent = len(fake.calls)
    assert 1 <= sent < 10
    error = caught.value
    assert (error.currency, error.limit) == ("USD", 0.0001) and error.spent >= 0.0001
    assert "the max_cost of agent 'spender'" in str(error) and "was not sent" in str(error)
    chats = [s for s in telemetry.spans() if s.name == "chat qwen-plus"]
    assert [c.attributes.get("error.type") for c in chats] == [None] * sent + ["AgentBudgetError"]


def test_a_block_budget_and_a_currency_that_does_not_match(fake, telemetry):
    fake.reply("ok", repeat=True)
    client = fake.client()
    with qwenobs.budget(1.0, "USD") as spending:
        ask(client)
        ask(client)
    assert spending.calls == 2 and spending.spent > 0
    assert repr(spending) == (
        f"<Budget budget: {spending.spent:g} of 1 USD spent over 2 calls (0 without a price)>"
    )
    with (
        pytest.raises(qwenobs.AgentBudgetError, match="billed in USD, not CNY") as caught,
        qwenobs.budget(1.0, "CNY"),
    ):
        ask(client)
    assert len(fake.calls) == 2  # the mismatched call was not sent
    assert "set the budget in USD" in str(caught.value)
    assert "instrument(regions={host: 'cn' or 'intl'})" in str(caught.value)


def test_a_block_budget_counts_the_threads_handed_its_context(fake, telemetry):
    # Python starts a thread with an empty context: the README says to hand it over.
    fake.reply("ok", repeat=True)
    client = fake.client()
    with qwenobs.budget(1.0, "USD") as spending, ThreadPoolExecutor(2) as pool:
        runs = [pool.submit(contextvars.copy_context().run, ask, client) for _ in range(4)]
        for run in runs:
            run.result()
        pool.submit(ask, client).result()  # a plain thread: outside the block
    assert spending.calls == 4


def test_a_process_budget(fake, telemetry):
    telemetry.instrument(budget=(0.00001, "USD"))
    fake.reply("ok " * 50, repeat=True)
    client = fake.client()
    with pytest.raises(qwenobs.AgentBudgetError, match="process budget"):
        for _ in range(50):
            ask(client)
    assert 1 <= len(fake.calls) < 50


def test_a_call_without_a_price_is_counted_not_charged(fake, telemetry):
    fake.reply("ok", repeat=True)
    with qwenobs.budget(1.0, "USD") as spending:
        fake.client().chat.completions.create(model="test-model", messages=[USER], max_tokens=8)
    assert (spending.calls, spending.unpriced, spending.spent) == (1, 1, 0.0)


@pytest.mark.parametrize(
    ("model", "given", "options", "says"),
    [
        (123, usage(10, 1), {}, "model must be a model name (str), got int 123"),
        ("qwen-plus", {"total_tokens": 5}, {}, "usage must be a response's usage"),
        ("qwen-plus", '{"prompt_tokens": 5}', {}, "usage must be a response's usage"),
        ("qwen-plus", usage(-1, 1), {}, "usage must be a response's usage"),
        ("qwen-plus", usage(10, 1), {"batch": "yes"}, "batch must be True or False"),
        ("qwen-plus", usage(10, 1), {"thinking": "no"}, "thinking must be True or False"),
    ],
)
def test_cost_arguments_that_are_not_what_it_prices_raise(model, given, options, says):
    # Was None, which reads as "no published price" and hid the mistake.
    with pytest.raises(TypeError, match=re.escape(f"qwenobs.cost(): {says}")):
        cost(model, given, **options)


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ((0.5, "EUR"), "currency must be one of"),
        ((-1, "CNY"), "positive number"),
        (0.5, "expected (limit, currency)"),
    ],
)
def test_budget_arguments_are_checked_at_setup(value, error):
    with pytest.raises(
        (ValueError, TypeError), match=error.replace("(", r"\(").replace(")", r"\)")
    ):
        qwenobs.agent("x", max_cost=value)


def test_qwen_spans_totals_cost_by_currency(fake, telemetry):
    fake.reply("ok", repeat=True)
    ask(fake.client())
    totals = telemetry.cost()
    assert set(totals) == {"USD"} and totals["USD"] > 0
    json.dumps(totals)  # plain numbers
