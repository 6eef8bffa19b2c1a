"""The end-of-run summary of what each test's Qwen calls cost, from the fakes' call logs and the
traced spans, each call counted once, merged across pytest-xdist workers."""

from __future__ import annotations

import importlib.util

import pytest

SUITE = """
import app

def test_expensive(qwen_fake, qwen_spans):
    qwen_fake.reply("a long answer " * 60, repeat=True)
    for _ in range(3):
        app.ask("Tell me everything about the Grand Canal. " * 40)

def test_cheap(qwen_fake):
    qwen_fake.reply("ok")
    app.ask("hi")

def test_over_http(qwen_server, monkeypatch):
    monkeypatch.setenv("APP_BASE_URL", qwen_server.base_url)
    qwen_server.reply("served")
    app.ask("hi over http")

def test_no_qwen_at_all():
    assert True
"""


def summary(lines: list[str]) -> list[str]:
    start = next(i for i, line in enumerate(lines) if "what each test's Qwen calls cost" in line)
    return lines[start + 1 : start + 6]


def test_the_summary_lists_each_test_by_cost_with_a_total(suite):
    suite.test(SUITE)
    result = suite.run()
    result.assert_outcomes(passed=4)
    header, first, *rest = summary(result.outlines)
    assert header.split()[:3] == ["test", "calls", "input"]
    # The most expensive first; each call once although qwen_spans traced it too.
    assert first.startswith("test_app.py::test_expensive") and first.split()[1] == "3"
    # The app's URL has no region of its own (127.0.0.1): qwen_cost_region, intl by default.
    # The long question hits the prefix cache in full on its second and third asks: 2 of 3.
    assert first.endswith(" USD") and "67%" in first
    cheap = next(line for line in rest if "test_cheap" in line)
    assert cheap.split()[1] == "1"
    total = next(line for line in rest if line.startswith("total (3 tests)"))
    assert total.split()[3] == "5" and total.endswith(" USD")
    assert not any("test_no_qwen_at_all" in line for line in result.outlines)


def test_the_region_of_the_loopback_fake_is_a_setting(suite):
    suite.test(SUITE)
    result = suite.run("-o", "qwen_cost_region=cn")
    total = next(line for line in summary(result.outlines) if line.startswith("total"))
    assert total.endswith(" CNY")


def test_the_summary_can_be_turned_off(suite):
    suite.test(SUITE)
    result = suite.run("--qwen-no-cost-summary")
    result.assert_outcomes(passed=4)
    assert not any("Qwen calls cost" in line for line in result.outlines)


@pytest.mark.skipif(importlib.util.find_spec("xdist") is None, reason="needs pytest-xdist")
def test_workers_totals_are_merged(suite):
    suite.test(SUITE)
    result = suite.pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2")
    result.assert_outcomes(passed=4)
    lines = summary(result.outlines)
    total = next(line for line in lines if line.startswith("total (3 tests)"))
    assert total.split()[3] == "5"
