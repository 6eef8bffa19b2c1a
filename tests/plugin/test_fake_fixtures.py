"""``qwen_fake`` and ``qwen_server``: interception, the per-test script, the unused-replies check,
configuration through a fixture, a marker and a hook."""

from __future__ import annotations


def test_qwen_fake_answers_the_apps_own_client(suite):
    suite.test(
        """
        import app

        def test_sync(qwen_fake):
            qwen_fake.reply("Sunny, 24°C.")
            assert app.ask("Weather in Hangzhou?") == "Sunny, 24°C."
            assert qwen_fake.calls.last.json["messages"][0]["content"] == "Weather in Hangzhou?"

        def test_stream(qwen_fake):
            qwen_fake.reply("a streamed answer", chunk_delay=0.001)
            assert app.ask("hi", stream=True) == "a streamed answer"

        async def test_async(qwen_fake):
            import openai
            qwen_fake.reply("async works")
            client = openai.AsyncOpenAI(
                api_key="sk-x", base_url="https://dashscope.aliyuncs.com/compatible-mode/v1"
            )
            answer = await client.chat.completions.create(
                model="qwen-plus", messages=[{"role": "user", "content": "hi"}], max_tokens=8
            )
            assert answer.choices[0].message.content == "async works"

        def test_interception_ends_with_the_test():
            import openai, pytest
            # The app's URL is a dead local port (see conftest); no fake answers it now.
            with pytest.raises(openai.APIConnectionError):
                app.ask("hi")
        """
    )
    suite.run().assert_outcomes(passed=4)


def test_unused_replies_fail_the_test_and_list_them(suite):
    suite.test(
        """
        import app, pytest

        def test_leaves_two(qwen_fake):
            qwen_fake.reply("used")
            qwen_fake.reply("never asked for")
            qwen_fake.route(model="qwen-max").fail(429, code="limit_requests")
            assert app.ask("hi") == "used"

        @pytest.mark.qwen_fake(allow_unused=True)
        def test_allowed(qwen_fake):
            qwen_fake.reply("spare")

        def test_default_responder_is_not_unused(qwen_fake):
            qwen_fake.reply("always", repeat=True)

        def test_own_failure_wins(qwen_fake):
            qwen_fake.reply("spare")
            assert 1 == 2
        """
    )
    result = suite.run()
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*_ test_leaves_two _*",
            "qwen_fake: 2 scripted answer(s) were never requested:",
            "  route(model='qwen-max'): .fail(429, code='limit_requests')",
            "  fake: .reply('never asked for')",
            "Remove them, or allow it with @pytest.mark.qwen_fake(allow_unused=True).",
            "*_ test_own_failure_wins _*",
            "*FAILED test_app.py::test_own_failure_wins - assert 1 == 2",
        ]
    )


def test_marker_options_reach_the_fake_and_hosts_are_intercepted(suite):
    suite.test(
        """
        import openai, pytest, time

        pytestmark = pytest.mark.qwen_fake(hosts=["llm-proxy.internal"])

        @pytest.mark.qwen_fake(first_chunk_delay=0.2)
        def test_gateway_and_timing(qwen_fake):
            qwen_fake.reply("through the gateway")
            client = openai.OpenAI(api_key="sk-x", base_url="http://llm-proxy.internal/v1")
            started = time.perf_counter()
            answer = client.chat.completions.create(
                model="qwen-plus", messages=[{"role": "user", "content": "hi"}], max_tokens=8
            )
            assert answer.choices[0].message.content == "through the gateway"
            assert time.perf_counter() - started >= 0.2
        """
    )
    suite.run().assert_outcomes(passed=1)


def test_config_fixture_and_hook_configure_every_fake(suite):
    suite.pytester.makeconftest(
        """
        import pytest

        @pytest.fixture
        def qwen_fake_config():
            return {"api_key": "sk-only-this-one", "allow_unused": True}

        def pytest_qwen_fake_created(fake, request):
            fake.route(last_message="ping").reply("pong", repeat=True)
            fake.created_for = request.node.name
        """
    )
    suite.test(
        """
        import openai, pytest

        def test_hook_and_config(qwen_fake):
            assert qwen_fake.created_for == "test_hook_and_config"
            client = qwen_fake.client(api_key="sk-only-this-one")
            answer = client.chat.completions.create(
                model="qwen-plus", messages=[{"role": "user", "content": "ping"}], max_tokens=8
            )
            assert answer.choices[0].message.content == "pong"
            with pytest.raises(openai.AuthenticationError):
                qwen_fake.client(api_key="sk-other").chat.completions.create(
                    model="qwen-plus", messages=[{"role": "user", "content": "ping"}]
                )
            qwen_fake.reply("unused but allowed by the config fixture")

        def test_server_gets_the_hook_too(qwen_server):
            client = qwen_server.client(api_key="sk-only-this-one")
            answer = client.chat.completions.create(
                model="qwen-plus", messages=[{"role": "user", "content": "ping"}], max_tokens=8
            )
            assert answer.choices[0].message.content == "pong"
        """
    )
    suite.run().assert_outcomes(passed=2)


def test_qwen_server_is_one_server_with_a_script_per_test(suite):
    suite.test(
        """
        import httpx, pytest

        urls = []

        def test_first(qwen_server):
            urls.append(qwen_server.base_url)
            qwen_server.reply("first")
            qwen_server.reply("left over")  # fails this test, must not leak into the next
            client = qwen_server.client()
            answer = client.chat.completions.create(
                model="qwen-plus", messages=[{"role": "user", "content": "hi"}], max_tokens=8
            )
            assert answer.choices[0].message.content == "first"

        def test_second_any_http_client(qwen_server):
            urls.append(qwen_server.base_url)
            assert qwen_server.base_url.startswith("http://127.0.0.1:")
            assert qwen_server.calls == []
            qwen_server.fail(429)
            response = httpx.post(
                qwen_server.base_url + "/chat/completions",
                headers={"authorization": "Bearer sk-x"},
                json={"model": "qwen-plus", "messages": [{"role": "user", "content": "hi"}]},
            )
            assert response.status_code == 429
            assert qwen_server.calls.last.status == 429
            assert urls[0] == urls[1]

        async def test_async_client(qwen_server):
            qwen_server.reply("async over HTTP")
            client = qwen_server.async_client()
            stream = await client.chat.completions.create(
                model="qwen-plus", messages=[{"role": "user", "content": "hi"}], stream=True
            )
            text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
            assert text == "async over HTTP"
        """
    )
    result = suite.run()
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        ["qwen_server: 1 scripted answer(s) were never requested:", "  fake: .reply('left over')"]
    )


def test_qwen_server_scripts_faults(suite):
    suite.test(
        """
        import openai, pytest
        from qwenobs.openai_sdk import http

        def test_a_dropped_stream(qwen_server):
            qwen_server.drop(after_chunks=2)
            stream = qwen_server.client().chat.completions.create(
                model="qwen-plus", messages=[{"role": "user", "content": "hi"}], stream=True
            )
            got = []
            with pytest.raises((openai.APIConnectionError, http.RemoteProtocolError)):
                got.extend(stream)
            assert len(got) == 2

        def test_a_stall(qwen_server):
            qwen_server.stall(5)
            with pytest.raises(openai.APITimeoutError):
                qwen_server.client(timeout=0.1).chat.completions.create(
                    model="qwen-plus", messages=[{"role": "user", "content": "hi"}]
                )
        """
    )
    suite.run().assert_outcomes(passed=2)


def test_an_app_with_the_sdks_default_retries_sees_the_scripted_error(suite):
    # The app's own client keeps openai's default max_retries=2.
    suite.test(
        """
        import openai, pytest

        def ask(base_url="https://dashscope.aliyuncs.com/compatible-mode/v1"):
            with openai.OpenAI(api_key="sk-app", base_url=base_url) as llm:
                return llm.chat.completions.create(
                    model="qwen-plus", messages=[{"role": "user", "content": "hi"}], max_tokens=8
                ).choices[0].message.content

        def test_rate_limited(qwen_fake):
            qwen_fake.fail(429)
            with pytest.raises(openai.RateLimitError):
                ask()
            assert [(c.attempt, c.status) for c in qwen_fake.calls] == [(0, 429), (1, 429), (2, 429)]

        def test_retry_logic(qwen_server):
            qwen_server.fail(503, times=1)
            qwen_server.reply("recovered")
            assert ask(qwen_server.base_url) == "recovered"
            assert [c.status for c in qwen_server.calls] == [503, 200]
        """
    )
    suite.run().assert_outcomes(passed=2)


def test_the_fake_failing_inside_fails_the_test_that_caused_it(suite):
    # A broken route answers a 500 the app may retry past or swallow; the test still fails,
    # naming the failure, on both fixtures.
    suite.test(
        """
        import app, openai

        def broken(body):
            return body["no such key"]

        def test_swallowed(qwen_fake):
            qwen_fake.route(match=broken).reply("never")
            try:
                app.ask("hi")
            except openai.InternalServerError:
                pass  # the app's own error handling hides it

        def test_raised(qwen_server):
            qwen_server.route(match=broken).reply("never")
            qwen_server.client(max_retries=0).chat.completions.create(
                model="qwen-plus", messages=[{"role": "user", "content": "hi"}]
            )

        def test_healthy(qwen_fake):
            qwen_fake.reply("fine")
            assert app.ask("hi") == "fine"
        """
    )
    result = suite.run()
    result.assert_outcomes(passed=1, failed=2)
    said = "the fake DashScope failed inside on 1 request(s), each answered a 500 fake_internal"
    assert result.stdout.str().count(said) == 2
    result.stdout.fnmatch_lines(
        ["*RuntimeError: route(match=<function broken*KeyError*on POST /compatible-mode/v1/chat*"]
    )


def test_usage_dashscope_never_sends_fails_the_test(suite):
    # Cached tokens are part of the prompt. Given both, reply() refuses at once; given only the
    # cached ones, the request's own prompt decides, and the test fails as for any fake failure.
    suite.test(
        """
        import app

        def test_both_given(qwen_fake):
            qwen_fake.reply(
                "ok", usage={"prompt_tokens": 100, "prompt_tokens_details": {"cached_tokens": 800}}
            )

        def test_cached_only(qwen_fake):
            qwen_fake.reply("ok", usage={"prompt_tokens_details": {"cached_tokens": 800}})
            app.ask("hi")

        def test_realistic(qwen_fake):
            qwen_fake.reply("ok", usage={"prompt_tokens_details": {"cached_tokens": 4}})
            assert app.ask("hi") == "ok"
        """
    )
    result = suite.run()
    result.assert_outcomes(passed=1, failed=2)
    out = result.stdout.str()
    assert (
        "ValueError: fake.reply(): usage['prompt_tokens_details']['cached_tokens'] must be at "
        "most usage['prompt_tokens'], 100 (cached tokens are part of the prompt), got 800"
    ) in out
    assert "the fake DashScope failed inside on 1 request(s)" in out
    assert (
        "ValueError: reply('ok'): usage['prompt_tokens_details']['cached_tokens'] must be at most "
        "the request's prompt_tokens, 9 (cached tokens are part of the prompt), got 800"
    ) in out
    assert "800%" not in out  # no impossible cache-hit rate in the summary
