"""``@pytest.mark.qwen_cassette``: record against a "real DashScope" (a loopback fake server),
replay with nothing listening; record modes, the unmatched-request failure, scrubbing, format."""

from __future__ import annotations

import json

import pytest
import yaml
from pytest_qwenobs.cassettes import body_matcher

INI = "[pytest]\nasyncio_default_fixture_loop_scope = function\n"

RECORDED_TESTS = """
import app, pytest

@pytest.mark.qwen_cassette
def test_answer():
    assert app.ask("What is DashScope?") == "answer from the service"

@pytest.mark.qwen_cassette
def test_stream():
    assert app.ask("please stream", stream=True) == "streamed answer from the service"
"""


def _load(path):
    return yaml.safe_load(path.read_text("utf-8"))


def test_record_then_replay_with_nothing_listening(suite):
    suite.test(RECORDED_TESTS)
    suite.run("--qwen-record-mode=once").assert_outcomes(passed=2)
    answer = suite.path / "cassettes" / "test_app" / "test_answer.yaml"
    stream = suite.path / "cassettes" / "test_app" / "test_stream.yaml"
    assert [p.name for p in suite.cassettes()] == ["test_answer.yaml", "test_stream.yaml"]

    # Readable: the SSE stream as text lines, JSON bodies pretty-printed, no SDK noise.
    text = stream.read_text("utf-8")
    assert '\n        data: {"choices":' in text and "data: [DONE]" in text
    interaction = _load(answer)["interactions"][0]
    request_body = interaction["request"]["body"]
    assert request_body.startswith('{\n  "') and json.loads(request_body)["model"] == "qwen-plus"
    assert interaction["response"]["body"]["string"].startswith("{\n  ")
    assert not [h for h in interaction["request"]["headers"] if h.startswith("x-stainless")]

    suite.run().assert_outcomes(passed=2)  # record mode none, the server is gone
    suite.run("--qwen-record-mode=once").assert_outcomes(passed=2)  # replays, records nothing
    assert len(_load(answer)["interactions"]) == 1


def test_unmatched_request_in_replay_says_which_and_how_to_rerecord(suite):
    suite.test(RECORDED_TESTS)
    suite.run("--qwen-record-mode=once").assert_outcomes(passed=2)
    suite.test(
        """
        import app, pytest

        @pytest.mark.qwen_cassette
        def test_answer():
            assert app.ask("A different question?", temperature=0.3) == "answer from the service"

        @pytest.mark.qwen_cassette
        def test_never_recorded():
            app.ask("hi")
        """
    )
    result = suite.run()
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "*_ test_answer _*",
            "qwen_cassette: 1 request(s) have no recorded response (record mode 'none')",
            "  cassette: cassettes/test_app/test_answer.yaml, 1 recorded interaction(s)",
            "  unmatched: POST /compatible-mode/v1/chat/completions model='qwen-plus'"
            " last message user: 'A different question?'",
            "    closest recorded: interaction 1: POST /compatible-mode/v1/chat/completions"
            " model='qwen-plus' last message user: 'What is DashScope?'",
            "    differs in:",
            "      messages[0].content: recorded 'What is DashScope?', sent 'A different question?'",
            "      temperature: sent 0.3, not recorded",
            "Re-record it against the real service with one of:",
            "  pytest test_app.py::test_answer --qwen-record-mode=new_episodes    (keeps the "
            "recorded interactions, adds the missing ones)",
            "  pytest test_app.py::test_answer --qwen-record-mode=rewrite         (deletes the "
            "cassette and records the test from scratch)",
            "*_ test_never_recorded _*",
            "  cassette: cassettes/test_app/test_never_recorded.yaml (does not exist yet)",
            "Record it against the real service with:",
            "  pytest test_app.py::test_never_recorded --qwen-record-mode=once",
        ]
    )


def _hinted_modes(result: pytest.RunResult, nodeid: str) -> list[str]:
    prefix = f"  pytest {nodeid} --qwen-record-mode="
    return [
        line.removeprefix(prefix).split()[0]
        for line in result.stdout.lines
        if line.startswith(prefix)
    ]


def _asked(cassette) -> list[str]:
    bodies = [json.loads(i["request"]["body"]) for i in _load(cassette)["interactions"]]
    return [body["messages"][0]["content"] for body in bodies]


def test_the_rerecord_hint_names_a_mode_that_records_what_is_missing(suite):
    # Following the hint must end the failure: `once` never adds to an existing cassette, so
    # hinting it there sent the user round in a loop.
    suite.test(RECORDED_TESTS)
    suite.run("--qwen-record-mode=once").assert_outcomes(passed=2)
    path = suite.path / "cassettes" / "test_app" / "test_answer.yaml"
    suite.test(RECORDED_TESTS.replace("What is DashScope?", "What is Qwen?"))
    failed = suite.run("test_app.py::test_answer")
    failed.assert_outcomes(failed=1)
    assert _hinted_modes(failed, "test_app.py::test_answer") == ["new_episodes", "rewrite"]
    suite.run("test_app.py::test_answer", "--qwen-record-mode=once").assert_outcomes(failed=1)

    suite.run("test_app.py::test_answer", "--qwen-record-mode=new_episodes").assert_outcomes(
        passed=1
    )
    assert _asked(path) == ["What is DashScope?", "What is Qwen?"]  # kept, and added
    suite.run("test_app.py::test_answer", "--qwen-record-mode=rewrite").assert_outcomes(passed=1)
    assert _asked(path) == ["What is Qwen?"]  # started over
    suite.run("test_app.py::test_answer").assert_outcomes(passed=1)


def test_the_record_hint_for_a_new_cassette_is_once_and_quoted_for_the_shell(suite):
    suite.test(
        """
        import app, pytest

        @pytest.mark.qwen_cassette
        @pytest.mark.parametrize("question", ["What is Qwen?"])
        def test_new(question):
            assert app.ask(question) == "answer from the service"
        """
    )
    failed = suite.run()
    failed.assert_outcomes(failed=1)
    nodeid = "'test_app.py::test_new[What is Qwen?]'"
    assert _hinted_modes(failed, nodeid) == ["once"]
    suite.run("test_app.py::test_new[What is Qwen?]", "--qwen-record-mode=once").assert_outcomes(
        passed=1
    )
    suite.run().assert_outcomes(passed=1)


def test_record_modes_new_episodes_all_and_rewrite(suite):
    suite.test(
        """
        import app, pytest

        @pytest.mark.qwen_cassette("shared/one.yaml")
        def test_one():
            app.ask("first")
        """
    )
    path = suite.path / "shared" / "one.yaml"
    suite.run("--qwen-record-mode=once").assert_outcomes(passed=1)
    suite.test(
        """
        import app, pytest

        @pytest.mark.qwen_cassette("shared/one.yaml")
        def test_one():
            app.ask("first")
            app.ask("second")
        """
    )
    suite.run("--qwen-record-mode=once").assert_outcomes(failed=1)  # once never adds
    suite.run("--qwen-record-mode=new_episodes").assert_outcomes(passed=1)
    assert len(_load(path)["interactions"]) == 2
    suite.run("--qwen-record-mode=all").assert_outcomes(passed=1)  # re-recorded, not duplicated
    assert len(_load(path)["interactions"]) == 2
    suite.test(
        """
        import app, pytest

        @pytest.mark.qwen_cassette("shared/one.yaml")
        def test_one():
            app.ask("third")
        """
    )
    suite.run("--qwen-record-mode=rewrite").assert_outcomes(passed=1)
    bodies = [json.loads(i["request"]["body"]) for i in _load(path)["interactions"]]
    assert [b["messages"][0]["content"] for b in bodies] == ["third"]
    suite.run().assert_outcomes(passed=1)


def test_ini_record_mode_and_bad_values(suite):
    suite.test(RECORDED_TESTS)
    result = suite.run("--qwen-record-mode=sometimes")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--qwen-record-mode: invalid choice: 'sometimes'*"])
    suite.pytester.makefile(".ini", pytest=INI + "qwen_record_mode = once\n")
    suite.run().assert_outcomes(passed=2)
    assert len(suite.cassettes()) == 2


def test_secrets_never_reach_a_cassette(suite, monkeypatch):
    env_key = "sk-env-secret-0123456789"
    monkeypatch.setenv("DASHSCOPE_API_KEY", env_key)
    suite.pytester.makefile(
        ".ini",
        pytest=INI + "qwen_scrub = x-trace-token\n",
    )
    suite.test(
        f"""
        import app, pytest

        @pytest.mark.qwen_cassette(scrub=["session_id"])
        def test_secrets():
            client = app.client(
                default_headers={{"api-key": "sk-header-secret", "cookie": "sid=cookie-secret",
                                  "x-trace-token": "trace-secret"}},
                default_query={{"key": "query-secret"}},
            )
            client.chat.completions.create(
                model="qwen-plus",
                messages=[{{"role": "user", "content": "my key is {env_key}"}}],
                max_tokens=8,
                extra_body={{"api_key": "body-secret", "metadata": {{"session_id": "sess-secret"}}}},
            )
        """
    )
    suite.run("--qwen-record-mode=once").assert_outcomes(passed=1)
    suite.run().assert_outcomes(passed=1)  # scrubbed cassettes still replay
    [cassette] = suite.cassettes()
    text = cassette.read_text("utf-8")
    for secret in (
        "sk-qwenobs-app-secret",  # Authorization (the suite fixture checks every cassette too)
        "sk-header-secret",
        "cookie-secret",
        "trace-secret",  # the ini scrub list
        "query-secret",
        "body-secret",
        "sess-secret",  # the marker's scrub list
        env_key,  # a known secret's value anywhere, here in a message
    ):
        assert secret not in text, secret
    assert text.count("<scrubbed>") >= 8


def test_gzip_is_decoded_and_json_pretty_printed(suite):
    suite.test(
        """
        import gzip, json, openai, pytest
        from app import client

        def gzipped(request):
            body = {"id": "c1", "object": "chat.completion", "created": 1, "model": "qwen-plus",
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": "unzipped"}}]}
            from qwenobs.openai_sdk import http as httpx2  # the SDK's HTTP library (httpx before openai 3)
            return httpx2.Response(200, content=gzip.compress(json.dumps(body).encode()),
                                   headers={"content-encoding": "gzip",
                                            "content-type": "application/json"})

        @pytest.mark.qwen_cassette
        def test_gzip():
            from qwenobs.openai_sdk import http as httpx2  # the SDK's HTTP library (httpx before openai 3)
            transport = httpx2.MockTransport(gzipped)
            http = openai.DefaultHttpxClient(transport=transport)
            answer = client(http_client=http).chat.completions.create(
                model="qwen-plus", messages=[{"role": "user", "content": "hi"}], max_tokens=8
            )
            assert answer.choices[0].message.content == "unzipped"
        """
    )
    suite.run("--qwen-record-mode=once").assert_outcomes(passed=1)
    response = _load(suite.cassettes()[0])["interactions"][0]["response"]
    assert "content-encoding" not in response["headers"]
    assert '"content": "unzipped"' in response["body"]["string"]
    suite.run().assert_outcomes(passed=1)


def test_body_matching_ignores_key_order_and_formatting():
    class Req:
        def __init__(self, body):
            self.body = body

    body_matcher(Req(b'{"a": 1, "b": [1, 2]}'), Req(b'{\n  "b": [1, 2],\n  "a": 1\n}'))
    with pytest.raises(AssertionError, match="JSON bodies differ"):
        body_matcher(Req(b'{"a": 1}'), Req(b'{"a": 2}'))
    with pytest.raises(AssertionError, match="bodies differ"):
        body_matcher(Req(b"plain"), Req(b"other"))


def test_hand_edited_cassette_with_other_key_order_still_replays(suite):
    suite.test(RECORDED_TESTS)
    suite.run("--qwen-record-mode=once").assert_outcomes(passed=2)
    path = suite.path / "cassettes" / "test_app" / "test_answer.yaml"
    data = _load(path)
    request = data["interactions"][0]["request"]
    request["body"] = json.dumps(dict(reversed(json.loads(request["body"]).items())))
    path.write_text(yaml.safe_dump(data), "utf-8")
    suite.run("-k", "test_answer").assert_outcomes(passed=1, deselected=1)


def test_cassette_fixture_and_config_fixture(suite):
    suite.pytester.makeconftest(
        suite.pytester.path.joinpath("conftest.py").read_text()
        + """
@pytest.fixture
def qwen_cassette_config():
    def tag(response):
        response["headers"]["x-recorded-by"] = ["qwen-suite"]
        return response
    return {"before_record_response": tag}
"""
    )
    suite.test(
        """
        import app

        def test_uses_fixture(qwen_cassette):
            app.ask("first")
            assert len(qwen_cassette) == 1

        class TestGrouped:
            def test_in_class(self, qwen_cassette):
                app.ask("first")
                assert len(qwen_cassette) == 1
        """
    )
    suite.run("--qwen-record-mode=once").assert_outcomes(passed=2)
    names = sorted(p.name for p in suite.cassettes())
    assert names == ["TestGrouped.test_in_class.yaml", "test_uses_fixture.yaml"]
    response = _load(suite.cassettes()[0])["interactions"][0]["response"]
    assert response["headers"]["x-recorded-by"] == ["qwen-suite"]
    suite.run().assert_outcomes(passed=2)


def test_a_repeated_request_names_the_recording_it_already_played(suite):
    suite.test(RECORDED_TESTS)
    suite.run("--qwen-record-mode=once").assert_outcomes(passed=2)
    suite.test(
        """
        import app, pytest

        @pytest.mark.qwen_cassette
        def test_answer():
            app.ask("What is DashScope?")
            app.ask("What is DashScope?")
        """
    )
    result = suite.run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["    closest recorded: interaction 1: * (identical, already played: *"]
    )


def test_differences_name_the_key_and_the_message():
    from pytest_qwenobs.jsondiff import differences

    recorded = {"model": "qwen-plus", "messages": [{"role": "user", "content": "a"}], "n": 1}
    sent = {"model": "qwen-max", "messages": [{"role": "user", "content": "a"}, {"role": "x"}]}
    assert differences(recorded, sent) == [
        "model: recorded 'qwen-plus', sent 'qwen-max'",
        "messages: 1 item(s) recorded, 2 sent; only sent: [{'role': 'x'}]",
        "n: recorded 1, not sent",
    ]
    assert differences(recorded, recorded) == []
    assert differences("x" * 100, "y") == [f"body: recorded '{'x' * 56}..., sent 'y'"]


AGENT = """
import json, os, openai

RAIN = {"Hangzhou": 12, "Shanghai": 3, "Ningbo": 3}
TOOLS = [{"type": "function", "function": {"name": "rain", "parameters": {"type": "object"}}}]

def run_agent():
    llm = openai.OpenAI(api_key="sk-test", base_url=os.environ.get(
        "APP_BASE_URL", "https://dashscope.aliyuncs.com/compatible-mode/v1"), max_retries=0)
    messages = [{"role": "system", "content": "Use the tool."},
                {"role": "user", "content": "Umbrella tomorrow?"}]
    while True:
        message = llm.chat.completions.create(
            model="qwen-plus", messages=messages, tools=TOOLS, max_tokens=64
        ).choices[0].message
        if not message.tool_calls:
            return message.content
        messages.append(message.model_dump(exclude_none=True))
        for call in message.tool_calls:
            city = json.loads(call.function.arguments)["city"]
            result = {"city": city, "rain_mm": RAIN[city]}
            messages.append({"role": "tool", "tool_call_id": call.id, "content": json.dumps(result)})
"""

AGENT_DASHSCOPE = """
import os, pytest
from qwenobs.fake import FakeDashScope

@pytest.fixture(scope="session", autouse=True)
def real_dashscope():
    fake = FakeDashScope()
    for city in ("Hangzhou", "Shanghai", "Ningbo"):
        fake.reply(tool_calls=[{"name": "rain", "arguments": {"city": city}}])
    fake.reply("Take an umbrella.")
    with fake.serve() as server:
        os.environ["APP_BASE_URL"] = server.base_url
        yield fake
    del os.environ["APP_BASE_URL"]
"""


def test_a_later_agent_round_that_changed_names_its_own_recording_as_closest(suite):
    # Four calls, each repeating the conversation so far: a request of the fourth round lacks
    # nothing of the fourth recording but one changed tool result, and lacks six messages of the
    # first. A list one item short and a list six items short are not equally close.
    suite.pytester.makepyfile(agent=AGENT)
    suite.pytester.makeconftest(AGENT_DASHSCOPE)
    suite.test(
        """
        import agent, pytest

        @pytest.mark.qwen_cassette
        def test_agent():
            assert agent.run_agent() == "Take an umbrella."
        """
    )
    suite.run("--qwen-record-mode=once").assert_outcomes(passed=1)
    suite.pytester.makeconftest("")
    suite.pytester.path.joinpath("agent.py").write_text(
        AGENT.replace('"Ningbo": 3', '"Ningbo": 30')
    )
    result = suite.run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "    closest recorded: interaction 4: *",
            "    differs in:",
            '      messages[7].content: recorded \'{"city": "Ningbo", "rain_mm": 3}\', '
            'sent \'{"city": "Ningbo", "rain_mm": 30}\'',
        ]
    )
