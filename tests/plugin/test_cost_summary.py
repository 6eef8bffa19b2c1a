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


LOOPBACK = """
import pytest

def ask(qwen_server):
    qwen_server.reply("Sunny.")
    qwen_server.client().chat.completions.create(
        model="qwen-plus", messages=[{"role": "user", "content": "hi"}], max_tokens=10
    )

def test_summary_region(qwen_server, qwen_spans):
    ask(qwen_server)
    [(currency, amount)] = qwen_spans.cost().items()
    [point] = qwen_spans.metric("dashscope.client.cost")
    assert point.value == amount
    print(f"qwen_spans.cost(): {amount:.6f} {currency}")

@pytest.mark.qwen_spans(region="cn")
def test_own_region(qwen_server, qwen_spans):
    ask(qwen_server)
    assert list(qwen_spans.cost()) == ["CNY"]
"""


@pytest.mark.parametrize(("region", "currency"), [(None, "USD"), ("cn", "CNY")])
def test_qwen_spans_prices_loopback_calls_as_the_summary_does(suite, region, currency):
    # The loopback server has no region of its own: qwen_cost_region prices its calls on the
    # spans as in the summary, unless the test's marker says otherwise.
    suite.test(LOOPBACK)
    result = suite.run("-s", *(["-o", f"qwen_cost_region={region}"] if region else []))
    result.assert_outcomes(passed=2)
    [said] = [line for line in result.outlines if "qwen_spans.cost(): " in line]
    priced = said.partition("qwen_spans.cost(): ")[2].rstrip(".")
    assert priced.endswith(f" {currency}")
    [row] = [line for line in summary(result.outlines) if "::test_summary_region" in line]
    assert row.endswith(f"  {priced}")


OWN_FAKES = """
import pytest
import app
from qwenobs.fake import FakeDashScope

USER = [{"role": "user", "content": "hi"}]

@pytest.fixture(scope="module")
def shared():
    fake = FakeDashScope()
    fake.reply("shared", repeat=True)
    with fake.serve() as server:
        yield server

def test_client():
    fake = FakeDashScope()
    fake.reply("ok")
    fake.client().chat.completions.create(model="qwen-plus", messages=USER)

def test_intercept():
    fake = FakeDashScope()
    fake.reply("ok", repeat=True)
    with fake.intercept():
        app.ask("hi")
        app.ask("hi again")

def test_shared_once(shared):
    shared.client().chat.completions.create(model="qwen-plus", messages=USER)

def test_shared_twice(shared):
    for _ in range(2):
        shared.client().chat.completions.create(model="qwen-plus", messages=USER)

def test_no_call(shared):
    pass
"""


def test_fakes_a_test_makes_itself_are_counted(suite):
    # Every call any fake answers while a test runs is the test's, whoever made the fake.
    suite.test(OWN_FAKES)
    result = suite.run()
    result.assert_outcomes(passed=5)
    lines = result.outlines
    start = next(i for i, line in enumerate(lines) if "what each test's Qwen calls cost" in line)
    # name -> calls, counted from the right: the total's name has spaces
    calls = {line.split()[0]: line.split()[-8] for line in lines[start + 2 : start + 7]}
    assert calls == {
        "test_app.py::test_intercept": "2",
        "test_app.py::test_shared_twice": "2",
        "test_app.py::test_client": "1",
        "test_app.py::test_shared_once": "1",
        "total": "6",  # total (4 tests)
    }


CLOSED_STREAM = """
def test_closed(qwen_server, qwen_spans):
    qwen_server.reply("a long answer " * 60)
    stream = qwen_server.client().chat.completions.create(
        model="qwen-plus", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    next(iter(stream))
    stream.close()
    [span] = qwen_spans.chat()
    assert span.attributes["dashscope.stream.end"] == "closed"
    assert qwen_spans.cost() == {}  # the span never got the usage chunk
    print(f"answer tokens: {qwen_server.calls.last.usage['completion_tokens']}")
"""


def test_a_stream_closed_early_is_charged_in_full_by_the_summary(suite):
    # By design (README, Cost): the summary charges the whole answer the fake had ready, the most
    # DashScope bills; the span knows no usage, so qwen_spans.cost() leaves the call out.
    suite.test(CLOSED_STREAM)
    result = suite.run("-s")
    result.assert_outcomes(passed=1)
    [said] = [line for line in result.outlines if "answer tokens: " in line]
    answer_tokens = int(said.partition("answer tokens: ")[2].rstrip("."))
    [row] = [line for line in summary(result.outlines) if "::test_closed" in line]
    assert row.split()[4] == str(answer_tokens) and row.endswith(" USD")
