"""``@pytest.mark.qwen_replay``: a recording (here a cassette the suite recorded) answers the test's
calls, and a call that differs fails the test with the difference."""

from __future__ import annotations

RECORD = """
import app, pytest

@pytest.mark.qwen_cassette
def test_record():
    assert app.ask("What is DashScope?") == "answer from the service"
    assert app.ask("please stream", stream=True) == "streamed answer from the service"
"""

REPLAY = """
import app, pytest

CASSETTE = "cassettes/test_app/test_record.yaml"

@pytest.mark.qwen_replay(CASSETTE)
def test_the_same_calls_replay():
    assert app.ask("What is DashScope?") == "answer from the service"
    assert app.ask("please stream", stream=True) == "streamed answer from the service"

@pytest.mark.qwen_replay(CASSETTE)
def test_a_changed_question_fails_with_the_difference():
    app.ask("What is DashScope?")
    app.ask("please stream, quickly", stream=True)

@pytest.mark.qwen_replay(CASSETTE)
def test_a_call_left_out_fails_too():
    app.ask("What is DashScope?")

@pytest.mark.qwen_replay(CASSETTE, allow_unplayed=True)
def test_unless_allowed():
    app.ask("What is DashScope?")
"""


def test_a_recorded_cassette_replays_and_a_difference_fails_the_test(suite):
    suite.test(RECORD)
    suite.run("--qwen-record-mode=once").assert_outcomes(passed=1)
    suite.test(REPLAY, name="test_replay")
    result = suite.run("test_replay.py")
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*the replay of *test_record.yaml failed:",
            "call #2 differs from recorded call 2 (interaction 2) of *test_record.yaml:",
            "  - messages[0].parts[0].content (user message with text): recorded 'please stream',"
            " sent now 'please stream, quickly'",
        ]
    )
    result.stdout.fnmatch_lines(["*1 of 2 recorded calls were never made (interaction 2)"])
