"""Names, help and markers: everything prefixed ``qwen``, in one group; beside pytest-recording."""

from __future__ import annotations

import inspect

import pytest
from pytest_qwenobs import plugin


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
        """
    )
    result = suite.run()
    result.assert_outcomes(errors=11)
    fake_options = "accepted: allow_unused, hosts, first_chunk_delay, chunk_delay, chunk_size"
    result.stdout.fnmatch_lines_random(
        [
            f"E *TypeError: the qwen_fake_config fixture: unknown option(s) speed; {fake_options}*",
            "E *TypeError: @pytest.mark.qwen_spans takes keyword options, got positional ('warn',)",
            "E *TypeError: @pytest.mark.qwen_spans: unknown option(s) tracer_provider; accepted: "
            "validate, capture_content, capture_reasoning, hosts, stream_usage, catalog, region*",
            "E *TypeError: qwenobs.instrument(): validate must be one of raise, warn, off*",
            "E *TypeError: @pytest.mark.qwen_cassette takes at most 1 positional argument(s): "
            "path, got positional ('a.yaml', 'b.yaml')",
            "E *TypeError: @pytest.mark.qwen_cassette: path must be a str or a path*got int 3",
            "E *TypeError: @pytest.mark.qwen_cassette: scrub must be a name or a list of names*",
            "E *TypeError: @pytest.mark.qwen_cassette: unknown option(s) record; accepted: path,"
            " scrub",
        ]
    )
    suite.pytester.makeconftest(
        suite.pytester.path.joinpath("conftest.py").read_text().replace(", 'speed': 2", "")
    )
    result = suite.run("-k", "fake")
    result.assert_outcomes(errors=4)
    result.stdout.fnmatch_lines_random(
        [
            f"E *TypeError: @pytest.mark.qwen_fake: unknown option(s) chunkdelay; {fake_options}*",
            "E *TypeError: @pytest.mark.qwen_fake (or the qwen_fake_config fixture): "
            "allow_unused must be True or False, got str 'yes'",
            "E *ValueError: @pytest.mark.qwen_fake (or the qwen_fake_config fixture): hosts must"
            " be a list of host names*got 'https://llm.internal/v1'",
            "E *ValueError: FakeDashScope(): chunk_size must be an int from 1 up, got 0",
        ]
    )
