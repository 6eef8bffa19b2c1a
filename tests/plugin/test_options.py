"""Names, help and markers: everything prefixed ``qwen``, in one group; beside pytest-recording.
A mistake in a marker, a ``*_config`` fixture, an ini option or a command-line option says so in
one line naming it, never in a traceback through the plugin."""

from __future__ import annotations

import inspect

import pytest
from pytest_qwenobs import plugin

INI = "[pytest]\nasyncio_default_fixture_loop_scope = function\n"


def test_help_has_one_qwenobs_group(suite):
    result = suite.run("--help")
    result.stdout.fnmatch_lines(
        [
            "qwenobs: fake DashScope, cassettes, span assertions:",
            "  --qwen-record-mode={none,once,new_episodes,all,rewrite}",
            "*qwen_cassette record mode (default none: replay only, no*",
            "  --qwen-scrub=NAME*",
        ]
    )
    result.stdout.fnmatch_lines(["  qwen_scrub (linelist):*", "  qwen_record_mode (string):*"])


def test_markers_are_registered_with_one_line_each(suite):
    result = suite.run("--markers")
    result.stdout.fnmatch_lines(
        [
            "@pytest.mark.qwen_fake(allow_unused=False, hosts=(), **fake_options): *",
            "@pytest.mark.qwen_cassette(path=None, *, scrub=()): *",
            "@pytest.mark.qwen_spans(**instrument_options): *",
        ]
    )


def test_every_public_name_is_prefixed_qwen(suite):
    fixtures = [
        name
        for name, value in vars(plugin).items()
        if type(value).__name__ == "FixtureFunctionDefinition" and not name.startswith("_")
    ]
    assert sorted(fixtures) == [
        "qwen_cassette",
        "qwen_cassette_config",
        "qwen_fake",
        "qwen_fake_config",
        "qwen_server",
        "qwen_spans",
    ]
    hooks = [
        n for n, f in vars(plugin).items() if n.startswith("pytest_") and inspect.isfunction(f)
    ]
    assert all(
        n.startswith("pytest_qwen_")
        for n in vars(__import__("pytest_qwenobs.hooks").hooks)
        if n.startswith("pytest_")
    ), hooks
    result = suite.run("--fixtures")
    result.stdout.fnmatch_lines(["qwen_fake -- *", "qwen_server -- *", "qwen_spans -- *"])


def test_quiet_in_a_suite_that_does_not_use_it(suite):
    suite.test("def test_plain():\n    assert True\n")
    result = suite.run("-rA")
    result.assert_outcomes(passed=1)
    assert "qwen" not in result.stdout.str().replace("qwenobs-0.1.0", "")


def test_works_beside_pytest_recording(suite):
    pytest.importorskip("pytest_recording")
    suite.test(
        """
        import pytest
        from qwenobs.openai_sdk import http as httpx2  # the SDK's HTTP library (httpx before openai 3)
        import app

        def echo(request):
            return httpx2.Response(200, json={"echo": request.url.path})

        @pytest.fixture
        def vcr_config():
            return {"filter_headers": ["authorization"]}

        @pytest.mark.vcr
        def test_recording_plugin():
            with httpx2.Client(transport=httpx2.MockTransport(echo)) as client:
                assert client.get("http://service.test/ping").json() == {"echo": "/ping"}

        @pytest.mark.qwen_cassette
        def test_qwen_plugin():
            assert app.ask("What is DashScope?") == "answer from the service"
        """
    )
    suite.run("--record-mode=once", "--qwen-record-mode=once").assert_outcomes(passed=2)
    names = sorted(p.name for p in suite.cassettes())
    assert names == ["test_qwen_plugin.yaml", "test_recording_plugin.yaml"]
    suite.run("--record-mode=none").assert_outcomes(passed=2)


def test_marker_mistakes_fail_the_test_naming_the_option(suite):
    suite.pytester.makeconftest(
        suite.pytester.path.joinpath("conftest.py").read_text()
        + "\n@pytest.fixture\ndef qwen_fake_config():\n    return {'chunk_delay': 0, 'speed': 2}\n"
    )
    suite.test(
        """
        import pytest

        @pytest.mark.qwen_fake(chunkdelay=0.1)
        def test_fake_typo(qwen_fake):
            pass

        @pytest.mark.qwen_fake(allow_unused="yes")
        def test_fake_flag(qwen_fake):
            pass

        @pytest.mark.qwen_fake(hosts="https://llm.internal/v1")
        def test_fake_hosts(qwen_server):
            pass

        @pytest.mark.qwen_fake(chunk_size=0)
        def test_fake_option_value(qwen_fake):
            pass

        @pytest.mark.qwen_fake(chunk_delay="fast")
        def test_fake_delay(qwen_server):
            pass

        @pytest.mark.qwen_spans("warn")
        def test_spans_positional(qwen_spans):
            pass

        @pytest.mark.qwen_spans(tracer_provider=None)
        def test_spans_provider(qwen_spans):
            pass

        @pytest.mark.qwen_spans(validate=True)
        def test_spans_value(qwen_spans):
            pass

        @pytest.mark.qwen_cassette("a.yaml", "b.yaml")
        def test_cassette_two_paths():
            pass

        @pytest.mark.qwen_cassette(path=3)
        def test_cassette_path_type():
            pass

        @pytest.mark.qwen_cassette(scrub=[1])
        def test_cassette_scrub():
            pass

        @pytest.mark.qwen_cassette(record="once")
        def test_cassette_option():
            pass

        @pytest.mark.qwen_replay
        def test_replay_without_a_recording():
            pass

        @pytest.mark.qwen_replay("cassettes/none.yaml")
        def test_replay_of_nothing():
            pass
        """
    )
    result = suite.run()
    result.assert_outcomes(errors=14)
    fake_options = "accepted: allow_unused, hosts, first_chunk_delay, chunk_delay, chunk_size"
    # One line each, naming the marker or fixture the user wrote, never the library call
    # (FakeDashScope(), qwenobs.instrument()); no traceback through the plugin.
    result.stdout.fnmatch_lines_random(
        [
            f"the qwen_fake_config fixture: unknown option(s) speed; {fake_options}*",
            "@pytest.mark.qwen_spans takes keyword options, got positional ('warn',)",
            "@pytest.mark.qwen_spans: unknown option(s) tracer_provider; accepted: "
            "validate, capture_content, capture_reasoning, hosts, stream_usage, catalog, region*",
            "@pytest.mark.qwen_spans: validate must be one of raise, warn, off*, got bool True",
            "@pytest.mark.qwen_cassette takes at most 1 positional argument(s): "
            "path, got positional ('a.yaml', 'b.yaml')",
            "@pytest.mark.qwen_cassette: path must be a str or a path*got int 3",
            "@pytest.mark.qwen_cassette: scrub must be a name or a list of names*",
            "@pytest.mark.qwen_cassette: unknown option(s) record; accepted: path, scrub",
        ]
    )
    _no_traceback(result)
    suite.pytester.makeconftest(
        suite.pytester.path.joinpath("conftest.py").read_text().replace(", 'speed': 2", "")
    )
    result = suite.run("-k", "fake or replay")
    result.assert_outcomes(errors=7)
    result.stdout.fnmatch_lines_random(
        [
            "@pytest.mark.qwen_replay needs the recording: @pytest.mark.qwen_replay(PATH)",
            "@pytest.mark.qwen_replay: */cassettes/none.yaml: no such file",
            f"@pytest.mark.qwen_fake: unknown option(s) chunkdelay; {fake_options}*",
            "@pytest.mark.qwen_fake: allow_unused must be True or False, got str 'yes'",
            "@pytest.mark.qwen_fake: hosts must be a list of host names*"
            "got 'https://llm.internal/v1'*",
            "@pytest.mark.qwen_fake: chunk_size must be an int from 1 up, got 0",
            "@pytest.mark.qwen_fake: chunk_delay must be a number of seconds from 0 to 3600, "
            "got str 'fast'",
        ]
    )
    _no_traceback(result)


def test_a_bad_value_in_the_config_fixture_names_the_fixture(suite):
    suite.pytester.makeconftest(
        suite.pytester.path.joinpath("conftest.py").read_text()
        + "\n@pytest.fixture\ndef qwen_fake_config():\n"
        + "    return {'chunk_delay': 'fast', 'allow_unused': 1}\n"
        + "\n@pytest.fixture\ndef qwen_cassette_config():\n    return ['record_mode']\n"
    )
    suite.test(
        """
        import pytest

        def test_from_the_fixture(qwen_fake):
            pass

        @pytest.mark.qwen_fake(allow_unused=True)
        def test_the_marker_wins_and_the_fixture_is_named(qwen_server):
            pass

        @pytest.mark.qwen_cassette
        def test_cassette_config():
            pass
        """
    )
    result = suite.run()
    result.assert_outcomes(errors=3)
    result.stdout.fnmatch_lines_random(
        [
            "the qwen_fake_config fixture: allow_unused must be True or False, got int 1",
            "the qwen_fake_config fixture: chunk_delay must be a number of seconds from 0 to "
            "3600, got str 'fast'",
            "the qwen_cassette_config fixture must return a dict of options, got list",
        ]
    )
    _no_traceback(result)


def _no_traceback(result: pytest.RunResult) -> None:
    text = result.stdout.str()
    for trace in ("Traceback", "pytest_qwenobs", "qwenobs/", "TypeError", "ValueError"):
        assert trace not in text, f"{trace!r} in the output:\n{text}"
    assert not [line for line in result.stdout.lines if line.startswith(("E ", ">"))], text


# -- ini options and command-line options: checked at start-up ------------------------------

BAD_SETTINGS = [
    (
        ("-o", "qwen_cost_region=eu"),
        "ini option qwen_cost_region must be cn (the China endpoint, CNY) or intl (the "
        "international endpoint, USD), got 'eu'",
    ),
    (
        ("-o", "qwen_record_mode=sometimes"),
        "ini option qwen_record_mode must be one of none, once, new_episodes, all, rewrite, got "
        "'sometimes'",
    ),
    (
        ("-o", "qwen_cassette_max_age=half a year"),
        "ini option qwen_cassette_max_age must be a number of days, 0 or more, got 'half a year'",
    ),
    (
        ("-o", "qwen_cost_summary=maybe"),
        "ini option qwen_cost_summary must be true or false (also yes/no, on/off, 1/0), got "
        "'maybe'",
    ),
    (
        ("-o", "qwen_lint_cassettes=sure"),
        "ini option qwen_lint_cassettes must be true or false (also yes/no, on/off, 1/0), got "
        "'sure'",
    ),
    (
        ("--qwen-scrub=",),
        "--qwen-scrub needs a header, query parameter or JSON key name, got ''",
    ),
    (
        ("--qwen-spans-file=cassettes",),
        "--qwen-spans-file 'cassettes' is a directory; give a file to append OTLP/JSON lines to",
    ),
]  # --qwen-record-mode has argparse's choices: test_ini_record_mode_and_bad_values


@pytest.mark.parametrize(("args", "line"), BAD_SETTINGS, ids=[a[0][-1] for a in BAD_SETTINGS])
def test_a_bad_setting_stops_the_run_before_any_test_with_one_line(suite, args, line):
    (suite.path / "cassettes").mkdir()
    suite.test(
        """
        def test_passes(qwen_fake):
            qwen_fake.reply("hi")
            import app
            assert app.ask("hi") == "hi"
        """
    )
    result = suite.run(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "passed" not in result.stdout.str()
    assert [entry for entry in result.stderr.lines if entry.strip()] == [f"ERROR: {line}"]


def test_a_setting_in_the_ini_file_is_checked_too(suite):
    suite.pytester.makefile(".ini", pytest=INI + "qwen_cost_region = CN\n")
    suite.test("def test_plain():\n    pass\n")
    result = suite.run()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: ini option qwen_cost_region must be cn * got 'CN'"])
    assert suite.run("--help").ret == pytest.ExitCode.OK  # help stays readable to fix it


def test_the_good_values_pass(suite):
    suite.test("def test_plain():\n    pass\n")
    args = ("-o", "qwen_cost_region=cn", "-o", "qwen_cassette_max_age=0", "-o")
    suite.run(*args, "qwen_cost_summary=no", "--qwen-scrub=x-session").assert_outcomes(passed=1)


def test_the_regions_are_the_cost_modules():
    from pytest_qwenobs.options import COST_REGIONS

    from qwenobs.cost import REGIONS

    assert COST_REGIONS == REGIONS
