"""The report's figures, from the fixed trace file, against the same figures computed
independently (tests/report/conftest.py: json and loops)."""

from __future__ import annotations

import re

import pytest

from qwenobs.report import aggregate, build

from .conftest import FIXTURE

pytest.importorskip("duckdb")


@pytest.fixture(scope="module")
def results():
    return aggregate([FIXTURE]).results


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    path = tmp_path_factory.mktemp("report") / "report.html"
    build([FIXTURE], path, trace_url="http://jaeger.test/trace/{trace_id}")
    return path.read_text(encoding="utf-8")


def test_the_fixture_has_something_of_everything(expected):
    # Otherwise the comparisons below would pass on empty sections.
    assert expected["errors"] and expected["findings"] and expected["agent_runs"]
    assert expected["loop_guard_stops"] and expected["zero_hit_prompts"]
    assert set(expected["cost"]) == {"CNY", "USD"}


def test_totals(results, expected):
    t = results["totals"][0]
    assert t["calls"] == expected["calls"] and t["errors"] == expected["errors"]
    for key in ("input", "cached", "output", "reasoning"):
        assert t[key] == expected[f"{key}_tokens"], key
    assert t["calls_without_cost"] == 0


def test_cost_and_savings_per_currency_never_summed(results, expected):
    rows = {r["currency"]: r for r in results["cost_by_currency"]}
    assert set(rows) == set(expected["cost"])
    for currency, amount in expected["cost"].items():
        assert rows[currency]["amount"] == pytest.approx(amount)
        assert rows[currency]["savings"] == pytest.approx(expected["savings"][currency])


def test_findings_agents_and_cache(results, expected):
    assert {r["rule"]: r["findings"] for r in results["findings_by_rule"]} == expected["findings"]
    assert sum(r["runs"] for r in results["agents"]) == expected["agent_runs"]
    assert sum(r["loop_guard_stops"] for r in results["agents"]) == expected["loop_guard_stops"]
    assert sum(r["forced_answers"] for r in results["agents"]) == expected["forced_answers"]
    assert (
        sum(r["repeated_tool_calls"] for r in results["agents"]) == expected["repeated_tool_calls"]
    )
    hit = {r["model"]: r["hit_rate"] for r in results["cache_by_model"]}
    assert hit == pytest.approx(expected["hit_rate"])
    zero = sorted(
        r["prompt"] for r in results["cache_by_prompt"] if not r["cached"] and r["calls"] > 1
    )
    assert zero == expected["zero_hit_prompts"]


def test_latency_quantiles(results, expected):
    rows = {r["model"]: r for r in results["latency_duration_s"]}
    assert {m: r["p50"] for m, r in rows.items()} == pytest.approx(expected["median_duration"])
    assert {m: r["p95"] for m, r in rows.items()} == pytest.approx(expected["p95_duration"])
    assert results["slowest"][0]["trace_id"] == expected["slowest"]


def test_the_page_shows_the_figures(page, expected):
    cards = dict(
        (label, value)
        for value, label in re.findall(
            r'<div class="value">(.*?)</div><div class="label">(.*?)</div>', page
        )
    )
    assert cards["chat calls"] == f"{expected['calls']:,}"
    assert cards["input tokens"] == f"{expected['input_tokens']:,}"
    assert cards["cost in CNY"].endswith(" CNY") and cards["cost in USD"].endswith(" USD")
    assert float(cards["cost in CNY"].split()[0].replace(",", "")) == pytest.approx(
        expected["cost"]["CNY"], rel=1e-3
    )
    assert cards["agent runs"] == str(expected["agent_runs"])
    assert cards["agent runs stopped by a guard"] == str(expected["loop_guard_stops"])
    assert "never added across currencies" in page
    for prompt in expected["zero_hit_prompts"]:
        assert f"<code>{prompt}</code>" in page.split("never hit the cache")[1].split("</div>")[0]
    assert f'href="http://jaeger.test/trace/{expected["slowest"]}"' in page
    assert "cdn." not in page.split("<body>")[1]  # nothing to fetch: plotly.js is inline


def test_a_trace_without_cost_says_so(tmp_path):
    spans = tmp_path / "nocost.jsonl"
    lines = FIXTURE.read_bytes()
    import gzip

    text = gzip.decompress(lines).decode()
    spans.write_text(
        re.sub(
            r'\{"key":"dashscope\.(agent\.)?cost\.[a-z_]+","value":\{[^}]*\}\},?', "", text
        ).replace(",]", "]")
    )
    build([spans], tmp_path / "r.html")
    page = (tmp_path / "r.html").read_text()
    assert "These spans carry no cost" in page
    assert "cost in" not in page


def test_lines_longer_than_16_mib_are_read(tmp_path, monkeypatch):
    # A Collector batch of thousands of spans makes one long line; DuckDB needs to be told.
    from qwenobs.report import synthetic

    monkeypatch.setattr(synthetic, "SPANS_PER_LINE", 20_000)
    path = tmp_path / "batch.jsonl"
    synthetic.write(path, 16_000)
    assert max(len(line) for line in path.open("rb")) > 16 * 1024 * 1024
    assert aggregate([path]).chat_calls == 16_000
