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


BAD_OPTIONS = """
import app, pytest

CASSETTE = "cassettes/test_app/test_record.yaml"

@pytest.mark.qwen_replay(CASSETTE, pace="fast")
def test_pace_a_word():
    pass

@pytest.mark.qwen_replay(CASSETTE, pace=-1)
def test_pace_negative():
    pass

@pytest.mark.qwen_replay(CASSETTE, ignore=[3])
def test_ignore_a_number():
    pass

@pytest.mark.qwen_replay(CASSETTE, allow_unplayed="no")
def test_allow_unplayed_a_word():
    pass

@pytest.mark.qwen_replay(CASSETTE, json_as_data="yes")
def test_json_as_data_a_word():
    pass

@pytest.mark.qwen_replay(CASSETTE, trace_id=7)
def test_trace_id_a_number():
    pass
"""

ONE_PLACE = """
import app, pytest

@pytest.mark.qwen_replay("cassettes/test_app/test_record.yaml", ignore="temperature", pace=0)
def test_one_ignored_place_as_a_str():
    assert app.ask("What is DashScope?", temperature=0.9) == "answer from the service"
    assert app.ask("please stream", stream=True) == "streamed answer from the service"
"""


def test_a_wrong_option_value_errors_the_setup_in_one_line(suite):
    # Each used to be accepted (allow_unplayed="no" as true: a test making none of the recorded
    # calls passed), split into characters (ignore="temperature") or a traceback at the first
    # call (pace="fast": '>' not supported between str and int).
    suite.test(RECORD)
    suite.run("--qwen-record-mode=once").assert_outcomes(passed=1)
    suite.test(BAD_OPTIONS, name="test_bad")
    result = suite.run("test_bad.py")
    result.assert_outcomes(errors=6)
    result.stdout.fnmatch_lines_random(
        [
            "@pytest.mark.qwen_replay: pace must be a number from 0 up (a factor of the "
            "recorded timing) or None, got str 'fast'",
            "@pytest.mark.qwen_replay: pace must be a number from 0 up (a factor of the "
            "recorded timing), got -1",
            "@pytest.mark.qwen_replay: ignore[[]0[]] must be a str, got int 3",
            "@pytest.mark.qwen_replay: allow_unplayed must be True or False, got str 'no'",
            "@pytest.mark.qwen_replay: json_as_data must be True or False, got str 'yes'",
            "@pytest.mark.qwen_replay: trace_id must be a str or None, got int 7",
        ]
    )
    text = result.stdout.str()
    for trace in ("Traceback", "pytest_qwenobs", "qwenobs/", "TypeError", "ValueError"):
        assert trace not in text, f"{trace!r} in the output:\n{text}"
    suite.test(ONE_PLACE, name="test_one_place")
    suite.run("test_one_place.py").assert_outcomes(passed=1)
