"""Plugin tests run inner pytest sessions with ``pytester``. ``suite`` writes an inner project:
an app module that builds its own OpenAI client (as application code does), and a conftest whose
"real DashScope" is a loopback fake server while recording and a dead port while replaying.

Every cassette any plugin test writes is grepped for the app's API key after the test."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import openai
import pytest

from qwenobs import count_tokens

# Imported here, before any inner run: pytester's in-process runs drop the modules a run imported,
# and re-importing qwenobs.fake.inprocess registers its respx mockers twice (a TypeError). It also
# keeps each inner run fast, like loading the Qwen vocabulary once.
for _module in (
    "qwenobs.fake.inprocess",
    "qwenobs.fake.server",
    "qwenobs.instrumentor",
    "vcr",
    "pytest_qwenobs.cassettes",
    "pytest_qwenobs.fakes",
    "qwenobs.fake.playback",
    "pytest_qwenobs.spans",
):
    importlib.import_module(_module)
count_tokens("load the Qwen vocabulary")


def _touch_the_network_stack() -> None:
    # httpx2 imports its connection stack (httpcore2, h11, anyio backends) on the first request;
    # imported inside an inner run, it would be dropped and re-imported with new exception
    # classes that the still-loaded httpx2 no longer recognises.
    dead = "http://127.0.0.1:9/v1"
    with contextlib.suppress(openai.APIConnectionError):
        openai.OpenAI(api_key="x", base_url=dead, max_retries=0).models.list()

    async def once() -> None:
        with contextlib.suppress(openai.APIConnectionError):
            await openai.AsyncOpenAI(api_key="x", base_url=dead, max_retries=0).models.list()

    asyncio.run(once())


_touch_the_network_stack()


@pytest.fixture
def pytester(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> pytest.Pytester:
    # A conftest below the root may not set pytest_plugins = ["pytester"], so `pytest tests`
    # would refuse it; build the fixture here, with the one option pytester reads.
    if not request.config.pluginmanager.has_plugin("pytester"):
        monkeypatch.setattr(request.config.option, "--runpytest", "inprocess", raising=False)
    return pytest.Pytester(request, tmp_path_factory, monkeypatch, _ispytest=True)


APP_KEY = "sk-qwenobs-app-secret-7f3a9c"  # must never appear in a cassette

INI = """
[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = function
"""

# The application under test: it reads its endpoint and key from the environment, like real apps.
APP = f'''
import os
import openai

def client(**options):
    return openai.OpenAI(
        api_key=os.environ.get("APP_KEY", "{APP_KEY}"),
        base_url=os.environ.get("APP_BASE_URL", "https://dashscope.aliyuncs.com/compatible-mode/v1"),
        max_retries=0,
        **options,
    )

def ask(question, stream=False, model="qwen-plus", **extra):
    with client() as llm:
        response = llm.chat.completions.create(
            model=model, messages=[{{"role": "user", "content": question}}], max_tokens=64,
            stream=stream, **extra,
        )
        if stream:
            return "".join(c.choices[0].delta.content or "" for c in response if c.choices)
        return response.choices[0].message.content
'''

# While recording, the "real DashScope" is a fake behind a loopback server; while replaying
# nothing listens, so a request the cassette cannot answer fails loudly.
REAL_DASHSCOPE = """
import os
import pytest
from qwenobs.fake import FakeDashScope

@pytest.fixture(scope="session", autouse=True)
def real_dashscope(pytestconfig):
    mode = pytestconfig.getoption("qwen_record_mode") or pytestconfig.getini("qwen_record_mode")
    if mode == "none":
        os.environ["APP_BASE_URL"] = "http://127.0.0.1:9/compatible-mode/v1"
        yield None
        del os.environ["APP_BASE_URL"]
        return
    fake = FakeDashScope()
    fake.route(last_message="stream").reply("streamed answer from the service", repeat=True)
    fake.reply("answer from the service", repeat=True)
    with fake.serve() as server:
        os.environ["APP_BASE_URL"] = server.base_url
        yield fake
    del os.environ["APP_BASE_URL"]
"""


@dataclass
class Suite:
    pytester: pytest.Pytester

    @property
    def path(self) -> Path:
        return self.pytester.path

    def test(self, source: str, name: str = "test_app") -> Path:
        return self.pytester.makepyfile(**{name: textwrap.dedent(source)})

    def run(self, *args: str) -> pytest.RunResult:
        return self.pytester.runpytest_inprocess(
            "-p", "no:cacheprovider", "-p", "no:hypothesispytest", *args
        )

    def cassettes(self) -> list[Path]:
        return sorted(self.path.rglob("*.yaml"))


@pytest.fixture
def suite(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Iterator[Suite]:
    monkeypatch.delenv("APP_BASE_URL", raising=False)
    monkeypatch.delenv("APP_KEY", raising=False)
    # Under CI=true pytest prints each failure's whole message again in the summary; inner
    # runs print what a developer's terminal shows, wherever the outer suite runs.
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("BUILD_NUMBER", raising=False)
    pytester.makefile(".ini", pytest=INI)
    pytester.makepyfile(app=APP)
    pytester.makeconftest(REAL_DASHSCOPE)
    pytester.syspathinsert()
    yield Suite(pytester)
    leaked = [p for p in pytester.path.rglob("*.yaml") if APP_KEY in p.read_text("utf-8")]
    assert not leaked, f"the API key reached a cassette: {leaked}"
