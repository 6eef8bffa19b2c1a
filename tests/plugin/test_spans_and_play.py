"""``qwen_spans`` helpers and their failure output; ``qwen_server.play`` of a recorded stream."""

from __future__ import annotations

import textwrap


def test_span_helpers(suite):
    suite.test(
        """
        import app, pytest
        import openai

        def test_helpers(qwen_fake, qwen_spans):
            qwen_fake.reply("one")
            qwen_fake.route(model="qwen-max").reply("two", reasoning="thinking it over")
            app.ask("first")
            app.ask("second", model="qwen-max", stream=True, extra_body={"enable_thinking": True})
            chats = qwen_spans.chat(count=2)
            assert [s.name for s in chats] == ["chat qwen-plus", "chat qwen-max"]
            assert qwen_spans.chat("qwen-max") == [chats[1]]
            span = qwen_spans.one("chat qwen-max", gen_ai__request__stream=True)
            assert span.attributes["dashscope.response.reasoning.chars"] == 16
            assert qwen_spans.attributes("chat qwen-plus")["gen_ai.usage.output_tokens"] == 1
            [point] = qwen_spans.metric("gen_ai.client.operation.duration")[:1]
            assert point.count >= 1
            assert qwen_spans.findings() == []

        @pytest.mark.qwen_spans(validate="warn")
        def test_findings(qwen_fake, qwen_spans):
            qwen_fake.reply("ok")
            app.ask("hi", temperature=0.5, top_p=0.5)
            [finding] = qwen_spans.findings()
            assert finding["rule"] == "temperature-and-top-p"
            assert finding["severity"] == "warning"

        def test_validation_raise_is_on_by_default(qwen_fake, qwen_spans):
            with pytest.raises(openai.BadRequestError):
                app.ask("hi", temperature=5)
            assert qwen_spans.one().attributes["error.type"] == "QwenValidationError"
            assert qwen_fake.calls == []
        """
    )
    suite.run().assert_outcomes(passed=3)


def test_span_failures_list_the_spans_that_were_there(suite):
    suite.test(
        """
        import app

        def test_wrong_model(qwen_fake, qwen_spans):
            qwen_fake.reply("hello", repeat=True)
            app.ask("hi")
            app.ask("again")
            qwen_spans.one("chat qwen-max")

        def test_wrong_count(qwen_fake, qwen_spans):
            qwen_fake.reply("hello")
            app.ask("hi")
            qwen_spans.chat(count=2)

        def test_no_spans(qwen_spans):
            qwen_spans.one()

        def test_missing_metric(qwen_fake, qwen_spans):
            qwen_fake.reply("hello")
            app.ask("hi")
            qwen_spans.metric("gen_ai.client.token.usages")
        """
    )
    result = suite.run()
    result.assert_outcomes(failed=4)
    result.stdout.fnmatch_lines(
        [
            "*_ test_wrong_model _*",
            '>*qwen_spans.one("chat qwen-max")',
            "E*SpanAssertionError: expected exactly one 'chat qwen-max', found 0",
            "E*finished spans (2):",
            "E*  chat qwen-plus * ms  cost * USD  in * out 1 *finish stop",
            "E*  chat qwen-plus * ms  cost * USD  in * out 1 *finish stop",
            "*_ test_wrong_count _*",
            "E*expected 2 chat spans, found 1",
            "E*finished spans (1):",
            "*_ test_no_spans _*",
            "E*expected exactly one span, found 0",
            "E*no finished spans (is the call going to a DashScope host?)",
            "*_ test_missing_metric _*",
            "E*no metric 'gen_ai.client.token.usages'; metrics recorded: *gen_ai.client.token.usage*",
        ]
    )
    # The plugin's own frames are hidden: the failure points at the test's line.
    assert "spans.py" not in result.stdout.str()


def test_play_a_recorded_stream_through_the_server_with_the_fakes_timing(suite):
    suite.test(
        """
        import app, pytest

        @pytest.mark.qwen_cassette
        def test_stream():
            assert app.ask("please stream", stream=True) == "streamed answer from the service"
        """
    )
    suite.run("--qwen-record-mode=once").assert_outcomes(passed=1)
    suite.test(
        """
        import time, httpx, pytest

        def test_paced_for_any_http_client(qwen_server):
            assert qwen_server.play("cassettes/test_app/test_stream.yaml", chunk_delay=0.05) == 1
            arrivals, started = [], time.perf_counter()
            body = {"model": "qwen-plus", "stream": True,
                    "messages": [{"role": "user", "content": "anything"}]}
            with httpx.stream("POST", qwen_server.base_url + "/chat/completions", json=body,
                              headers={"authorization": "Bearer sk-x"}) as response:
                assert response.headers["content-type"].startswith("text/event-stream")
                for line in response.iter_lines():
                    if line.startswith("data:"):
                        arrivals.append(time.perf_counter() - started)
            assert len(arrivals) >= 4
            assert arrivals[-1] - arrivals[0] >= 0.05 * (len(arrivals) - 1) * 0.8
            assert qwen_server.calls.last.json["messages"][0]["content"] == "anything"

        def test_sdk_reads_it(qwen_server):
            qwen_server.play("cassettes/test_app/test_stream.yaml")
            stream = qwen_server.client().chat.completions.create(
                model="qwen-plus", messages=[{"role": "user", "content": "x"}], stream=True
            )
            text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
            assert text == "streamed answer from the service"

        def test_unplayed_fails(qwen_server):
            qwen_server.play("cassettes/test_app/test_stream.yaml")
        """,
        name="test_play",
    )
    result = suite.run("test_play.py")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "qwen_server: 1 scripted answer(s) were never requested:",
            "  play: 1 recorded response(s) never served",
        ]
    )


def test_play_reads_a_relative_path_next_to_the_test_file_like_the_markers(suite):
    # The suite lives in tests/ and pytest runs from the project root: the path that
    # qwen_cassette's default names (cassettes/<module>/<test>.yaml) is the one play() reads.
    tests = suite.path / "tests"
    tests.mkdir()
    (tests / "test_agent.py").write_text(
        textwrap.dedent(
            """
            import app, pytest

            @pytest.mark.qwen_cassette
            def test_real_answer():
                assert app.ask("please stream", stream=True) == "streamed answer from the service"
            """
        )
    )
    suite.run("--qwen-record-mode=once", "tests/test_agent.py").assert_outcomes(passed=1)
    assert (tests / "cassettes" / "test_agent" / "test_real_answer.yaml").is_file()
    (tests / "test_ui.py").write_text(
        textwrap.dedent(
            """
            from pathlib import Path

            def test_relative(qwen_server):
                assert qwen_server.play("cassettes/test_agent/test_real_answer.yaml") == 1
                stream = qwen_server.client().chat.completions.create(
                    model="qwen-plus", messages=[{"role": "user", "content": "x"}], stream=True
                )
                text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
                assert text == "streamed answer from the service"

            def test_absolute(qwen_server):
                path = Path(__file__).parent / "cassettes/test_agent/test_real_answer.yaml"
                assert qwen_server.play(path) == 1
                qwen_server.client().chat.completions.create(
                    model="qwen-plus", messages=[{"role": "user", "content": "x"}]
                )

            def test_missing(qwen_server):
                qwen_server.play("cassettes/test_agent/no_such_test.yaml")

            def test_from_the_working_directory(qwen_server):
                qwen_server.play("tests/cassettes/test_agent/test_real_answer.yaml")
            """
        )
    )
    result = suite.run("tests/test_ui.py")
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*_ test_missing _*",
            "qwen_server.play: no cassette at tests/cassettes/test_agent/no_such_test.yaml (a "
            "relative path starts next to the test file, tests/test_ui.py)",
            "*_ test_from_the_working_directory _*",
            "qwen_server.play: no cassette at tests/tests/cassettes/test_agent/"
            "test_real_answer.yaml (a relative path starts next to the test file, "
            "tests/test_ui.py); tests/cassettes/test_agent/test_real_answer.yaml from the working"
            " directory is play('cassettes/test_agent/test_real_answer.yaml')",
        ]
    )
    text = result.stdout.str()
    assert "Traceback" not in text and "FileNotFoundError" not in text and "playback.py" not in text


def test_play_fails_in_one_line_on_a_file_that_is_not_a_cassette(suite):
    (suite.path / "notes.yaml").write_text("jobs: [lint]\n")
    suite.test(
        """
        def test_not_a_cassette(qwen_server):
            qwen_server.play("notes.yaml")
        """
    )
    result = suite.run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["qwen_server.play: *notes.yaml: not a cassette (no 'interactions' list)"]
    )
    assert "Traceback" not in result.stdout.str()
