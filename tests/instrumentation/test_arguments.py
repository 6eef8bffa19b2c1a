"""``instrument()``, ``agent`` and ``tool`` arguments: a wrong one raises at the call naming it;
a second ``instrument()`` with other settings warns; and a bad environment value never crashes
start-up: it is logged once and the default is used."""

from __future__ import annotations

import logging
import warnings

import pytest
from opentelemetry.sdk.trace import TracerProvider

import qwenobs
from qwenobs import config


@pytest.fixture(autouse=True)
def _off_before_and_after():
    before = qwenobs.instrumentation()
    qwenobs.uninstrument()
    config.bad_environment.cache_clear()
    yield
    qwenobs.uninstrument()
    if before is not None:
        before.restore()


@pytest.mark.parametrize(
    ("kwargs", "error", "says"),
    [
        (
            {"validate": True},
            TypeError,
            "qwenobs.instrument(): validate must be one of raise, warn, off (or None for "
            "QWENOBS_VALIDATE), got bool True",
        ),
        ({"validate": "loud"}, ValueError, "validate must be one of raise, warn, off"),
        (
            {"hosts": "https://llm.internal/v1"},
            ValueError,
            "hosts must be a list of host names, each a host name such as "
            "'llm-proxy.internal' (no scheme, port or path), got 'https://llm.internal/v1'",
        ),
        ({"hosts": ["llm.internal:8080"]}, ValueError, "got 'llm.internal:8080'"),
        ({"hosts": 8080}, TypeError, "hosts must be a host name, or a list of host names"),
        ({"hosts": [None]}, TypeError, "hosts must be a list of str"),
        ({"capture_content": "yes"}, TypeError, "capture_content must be True or False or None"),
        ({"capture_reasoning": 1}, TypeError, "capture_reasoning must be True or False or None"),
        ({"stream_usage": 1}, TypeError, "stream_usage must be True, False or 'all'"),
        ({"stream_usage": "gateway"}, ValueError, "stream_usage must be True, False or 'all'"),
        ({"genai_cost": "yes"}, TypeError, "genai_cost must be True or False or None"),
        ({"region": "eu"}, ValueError, "region must be one of cn, intl, got 'eu'"),
        ({"region": 1}, TypeError, "region must be one of cn, intl, got int 1"),
        ({"regions": ["cn"]}, TypeError, "regions must be a mapping or None"),
        ({"regions": {"gw.internal": "eu"}}, ValueError, "regions['gw.internal'] must be one of"),
        ({"regions": {"https://gw/": "cn"}}, ValueError, "regions must be a mapping keyed by host"),
        ({"budget": 5}, TypeError, "expected (limit, currency)"),
        ({"spans_file": 3}, TypeError, "spans_file must be a file path"),
        ({"spans_file": ""}, ValueError, "spans_file must be a non-empty file path"),
        ({"catalog": {"qwen-plus": 1}}, TypeError, "catalog must be a qwenobs.Catalog or None"),
        (
            {"tracer_provider": "jaeger"},
            TypeError,
            "tracer_provider must be an OpenTelemetry TracerProvider or None (the global one), "
            "got str 'jaeger'",
        ),
        (
            {"meter_provider": TracerProvider()},
            TypeError,
            "meter_provider must be an OpenTelemetry MeterProvider",
        ),
    ],
)
def test_a_wrong_argument_raises_naming_it(kwargs, error, says) -> None:
    with pytest.raises(error) as raised:
        qwenobs.instrument(**kwargs)
    assert says in str(raised.value)
    assert qwenobs.instrumentation() is None


def test_a_wrong_argument_raises_even_when_already_on() -> None:
    qwenobs.instrument()
    with pytest.raises(ValueError, match="validate must be"):
        qwenobs.instrument(validate="loud")


@pytest.mark.parametrize(
    "hosts", ["LLM.internal", "llm.internal, proxy.internal", ["llm.internal"]]
)
def test_hosts_as_one_string_is_one_host_or_a_comma_separated_list(hosts) -> None:
    qwenobs.instrument(hosts=hosts)
    assert "llm.internal" in qwenobs.instrumentation().settings.hosts


def test_a_second_instrument_with_other_settings_warns_and_changes_nothing() -> None:
    qwenobs.instrument(validate="warn")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        qwenobs.instrument(validate="warn")  # the same settings: silent
    provider = TracerProvider()
    with pytest.warns(UserWarning) as caught:
        qwenobs.instrument(validate="raise", hosts="llm.internal", tracer_provider=provider)
    [warning] = caught
    assert warning.filename == __file__  # it points at the caller's line
    message = str(warning.message)
    assert message.startswith("qwenobs.instrument() is already on, so these settings are ignored:")
    assert "validate: 'warn' -> 'raise'" in message
    assert "hosts: [] -> ['llm.internal']" in message
    assert "tracer_provider: the global one -> a TracerProvider" in message
    assert message.endswith("Call qwenobs.uninstrument() first to change them.")
    assert qwenobs.instrumentation().settings.validate == "warn"


@pytest.mark.parametrize(
    ("variable", "value", "setting", "default"),
    [
        ("QWENOBS_VALIDATE", "true", "validate", "raise"),
        ("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "maybe", "capture_content", False),
        ("QWENOBS_CAPTURE_REASONING", "2", "capture_reasoning", False),
    ],
)
def test_a_bad_environment_value_is_logged_once_and_the_default_used(
    monkeypatch, caplog, variable, value, setting, default
) -> None:
    monkeypatch.setenv(variable, value)
    with caplog.at_level(logging.WARNING, logger="qwenobs"):
        for _ in range(3):
            qwenobs.instrument()
            assert getattr(qwenobs.instrumentation().settings, setting) == default
            qwenobs.uninstrument()
    [record] = [r for r in caplog.records if variable in r.getMessage()]
    assert f"ignoring {variable}={value!r}: expected" in record.getMessage()


def test_hosts_in_the_environment_take_a_urls_host_and_skip_what_is_no_host(
    monkeypatch, caplog
) -> None:
    monkeypatch.setenv(
        "QWENOBS_HOSTS", "llm.internal, https://proxy.internal/v1,, ok.internal, bad host!,"
    )
    with caplog.at_level(logging.WARNING, logger="qwenobs"):
        qwenobs.instrument()
        qwenobs.uninstrument()
        qwenobs.instrument()
    hosts = {"llm.internal", "proxy.internal", "ok.internal"}
    assert qwenobs.instrumentation().settings.hosts == hosts
    url, bad = (r.getMessage() for r in caplog.records)  # each once, however often instrumented
    assert "QWENOBS_HOSTS lists the URL 'https://proxy.internal/v1'; using its host" in url
    assert "ignoring 'bad host!' in QWENOBS_HOSTS: expected comma-separated host names" in bad


def test_a_url_among_the_hosts_argument_names_its_host() -> None:
    with pytest.raises(ValueError, match=r"\(the host of that URL is 'gw.example.com'\)"):
        qwenobs.instrument(hosts=["https://gw.example.com/compatible-mode/v1"])


@pytest.mark.parametrize(
    ("call", "error", "says"),
    [
        (
            lambda: qwenobs.agent(None),
            TypeError,
            "qwenobs.agent(): name must be a str, got NoneType",
        ),
        (lambda: qwenobs.agent(""), ValueError, "qwenobs.agent(): name must be a non-empty str"),
        (
            lambda: qwenobs.agent("a", max_rounds="3"),
            TypeError,
            "max_rounds must be an int from 1 up or None, got str '3'",
        ),
        (
            lambda: qwenobs.agent("a", max_rounds=0),
            ValueError,
            "max_rounds must be an int from 1 up, got 0",
        ),
        (
            lambda: qwenobs.agent("a", answer_after=-1),
            ValueError,
            "answer_after must be an int from 0 up",
        ),
        (lambda: qwenobs.agent("a", max_rounds=True), TypeError, "max_rounds must be an int"),
        (
            lambda: qwenobs.agent("a", conversation_id=7),
            TypeError,
            "conversation_id must be a str or None",
        ),
        (
            lambda: qwenobs.tool(42),
            TypeError,
            "qwenobs.tool(): name must be a str, a function to decorate, or None, got int 42",
        ),
        (
            lambda: qwenobs.tool("t", call_id=3),
            TypeError,
            "qwenobs.tool(): call_id must be a str or None",
        ),
    ],
)
def test_agent_and_tool_arguments(call, error, says) -> None:
    with pytest.raises(error) as raised:
        call()
    assert says in str(raised.value)


def test_a_url_among_the_regions_names_the_regions_argument() -> None:
    with pytest.raises(ValueError, match=r"^qwenobs.instrument\(\): regions must be a mapping"):
        qwenobs.instrument(regions={"http://gw.example.com": "cn"})
