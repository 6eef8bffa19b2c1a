"""Cassettes qwenobs records carry their recording date and qwenobs's version, and
``--qwen-lint-cassettes`` lints the cassettes a run used, failing the run on errors."""

from __future__ import annotations

import importlib.util
from datetime import datetime, timezone

import pytest
import yaml

from qwenobs import __version__

INI = "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"

TESTS = """
import app, pytest

@pytest.mark.qwen_cassette
def test_answer():
    assert app.ask("What is DashScope?") == "answer from the service"

@pytest.mark.qwen_cassette
def test_stream():
    assert app.ask("please stream", stream=True, stream_options={"include_usage": True}) == (
        "streamed answer from the service"
    )
"""


def _load(path):
    return yaml.safe_load(path.read_text("utf-8"))


def _stamps(path):
    return [i["response"]["qwenobs"] for i in _load(path)["interactions"]]


def test_recorded_responses_carry_their_date_and_version(suite):
    suite.test(TESTS)
    suite.run("--qwen-record-mode=once").assert_outcomes(passed=2)
    answer = suite.path / "cassettes" / "test_app" / "test_answer.yaml"
    [stamp] = _stamps(answer)
    assert stamp["version"] == __version__
    recorded = datetime.fromisoformat(stamp["recorded"].replace("Z", "+00:00"))
    assert abs((datetime.now(timezone.utc) - recorded).total_seconds()) < 600
    suite.run().assert_outcomes(passed=2)  # vcrpy replays it as before


def test_new_episodes_keep_the_dates_already_there(suite):
    suite.test(TESTS)
    suite.run("--qwen-record-mode=once").assert_outcomes(passed=2)
    path = suite.path / "cassettes" / "test_app" / "test_answer.yaml"
    data = _load(path)
    data["interactions"][0]["response"]["qwenobs"]["recorded"] = "2024-01-02T03:04:05Z"
    path.write_text(yaml.safe_dump(data), "utf-8")
    suite.test(
        TESTS.replace(
            'app.ask("What is DashScope?")', 'app.ask("What is DashScope?") and app.ask("More?")'
        ).replace('== "answer from the service"', "")
    )
    suite.run("--qwen-record-mode=new_episodes").assert_outcomes(passed=2)
    first, second = _stamps(path)
    assert first["recorded"] == "2024-01-02T03:04:05Z"
    assert second["recorded"].startswith(f"{datetime.now(timezone.utc):%Y-}")


def test_the_lint_option_lints_the_cassettes_the_run_used(suite):
    suite.test(TESTS)
    suite.run("--qwen-record-mode=once").assert_outcomes(passed=2)
    clean = suite.run("--qwen-lint-cassettes")
    clean.assert_outcomes(passed=2)
    assert clean.ret == 0
    clean.stdout.fnmatch_lines(
        ["*- qwenobs lint: the 2 cassette(s) this run used -*", "0 error(s), 0 warning(s)"]
    )

    # Plant what the lint looks for: a stream cut before [DONE], a key left in a header.
    stream = suite.path / "cassettes" / "test_app" / "test_stream.yaml"
    stream.write_text(stream.read_text("utf-8").replace("data: [DONE]", ""), "utf-8")
    answer = suite.path / "cassettes" / "test_app" / "test_answer.yaml"
    key = "sk-" + "3c9d" * 8
    answer.write_text(
        answer.read_text("utf-8")
        .replace("authorization: \n    - <scrubbed>", "x")
        .replace("    - <scrubbed>", f"    - Bearer {key}", 1),
        "utf-8",
    )
    planted = suite.run("--qwen-lint-cassettes")
    planted.assert_outcomes(passed=2)  # the tests pass, the lint fails the run
    assert planted.ret == pytest.ExitCode.TESTS_FAILED
    planted.stdout.fnmatch_lines_random(
        [
            "cassettes/test_app/test_answer.yaml: interaction 1: error [secret-in-recording]",
            "cassettes/test_app/test_stream.yaml: interaction 1: error [stream-cut]",
            "2 error(s), 0 warning(s): the run fails",
        ]
    )
    assert key not in planted.stdout.str() and key[3:11] not in planted.stdout.str()
    # Off by default; the ini turns it on.
    assert suite.run().ret == 0
    suite.pytester.makefile(".ini", pytest=INI + "qwen_lint_cassettes = true\n")
    assert suite.run().ret == pytest.ExitCode.TESTS_FAILED


def test_the_age_comes_from_the_ini(suite):
    suite.test(TESTS)
    suite.run("--qwen-record-mode=once").assert_outcomes(passed=2)
    path = suite.path / "cassettes" / "test_app" / "test_answer.yaml"
    data = _load(path)
    data["interactions"][0]["response"]["qwenobs"]["recorded"] = "2020-01-01T00:00:00Z"
    path.write_text(yaml.safe_dump(data), "utf-8")
    result = suite.run("--qwen-lint-cassettes")
    assert result.ret == 0  # old is a warning
    result.stdout.fnmatch_lines(
        [
            "cassettes/test_app/test_answer.yaml: warning [recording-too-old]",
            "*older than 180 days*",
        ]
    )
    result = suite.run("--qwen-lint-cassettes", "-o", "qwen_cassette_max_age=99999")
    assert "recording-too-old" not in result.stdout.str()
    bad = suite.run("--qwen-lint-cassettes", "-o", "qwen_cassette_max_age=soon")
    bad.stderr.fnmatch_lines(
        ["*qwen_cassette_max_age must be a number of days, 0 or more, got 'soon'*"]
    )


def test_played_cassettes_are_linted_too(suite):
    suite.test(TESTS)
    suite.run("--qwen-record-mode=once").assert_outcomes(passed=2)
    stream = suite.path / "cassettes" / "test_app" / "test_stream.yaml"
    stream.write_text(stream.read_text("utf-8").replace("data: [DONE]", ""), "utf-8")
    suite.test(
        """
        def test_play(qwen_server):
            qwen_server.play("cassettes/test_app/test_stream.yaml")
            with qwen_server.client() as client:
                client.chat.completions.create(
                    model="qwen-plus", messages=[{"role": "user", "content": "x"}], stream=True
                ).close()
        """,
        name="test_player",
    )
    result = suite.run("test_player.py", "--qwen-lint-cassettes")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        ["cassettes/test_app/test_stream.yaml: interaction 1: error [stream-cut]"]
    )


@pytest.mark.skipif(importlib.util.find_spec("xdist") is None, reason="needs pytest-xdist")
def test_workers_hand_their_cassettes_to_the_controller(suite):
    suite.test(TESTS)
    suite.run("--qwen-record-mode=once").assert_outcomes(passed=2)
    stream = suite.path / "cassettes" / "test_app" / "test_stream.yaml"
    stream.write_text(stream.read_text("utf-8").replace("data: [DONE]", ""), "utf-8")
    result = suite.pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-n", "2", "--qwen-lint-cassettes"
    )
    result.assert_outcomes(passed=2)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "*- qwenobs lint: the 2 cassette(s) this run used -*",
            "cassettes/test_app/test_stream.yaml: interaction 1: error [stream-cut]",
        ]
    )
