"""intercept(): clients the application builds itself reach the fake; everything else does not."""

from __future__ import annotations

import openai
import pytest
import vcr
import vcr.errors

from qwenobs.fake import FakeDashScope
from qwenobs.openai_sdk import http

# The HTTP library the installed openai uses: httpx2 for 3.x, httpx for 1.x/2.x.
USER = [{"role": "user", "content": "hi"}]
INTL = "https://dashscope-intl.aliyuncs.com/compatible-mode/v1"


def test_application_clients_reach_the_fake(fake) -> None:
    fake.reply("from the fake")
    with fake.intercept():
        client = openai.OpenAI(api_key="sk-app", base_url=INTL)
        answer = client.chat.completions.create(model="qwen-plus", messages=USER)
    assert answer.choices[0].message.content == "from the fake"
    assert fake.calls.last.headers["authorization"] == "Bearer sk-app"


def test_extra_hosts_are_routed(fake) -> None:
    fake.reply("via proxy")
    with fake.intercept(hosts=["llm-proxy.internal"]):
        client = openai.OpenAI(api_key="k", base_url="http://llm-proxy.internal/v1")
        answer = client.chat.completions.create(model="qwen-plus", messages=USER)
    assert answer.choices[0].message.content == "via proxy"


def test_it_keeps_working_inside_a_vcr_cassette(fake, tmp_path) -> None:
    fake.reply("not from the cassette")
    cassette = tmp_path / "empty.yaml"
    with vcr.use_cassette(str(cassette), record_mode="none"), fake.intercept():
        client = openai.OpenAI(api_key="k", base_url=INTL, max_retries=0)
        answer = client.chat.completions.create(model="qwen-plus", messages=USER)
        # Other hosts pass through untouched, so vcr sees them (and, in "none" mode, refuses).
        with pytest.raises(vcr.errors.CannotOverwriteExistingCassetteException):
            http.get("https://example.com/")
    assert answer.choices[0].message.content == "not from the cassette"


def test_router_accepts_respx_routes_that_take_precedence(fake) -> None:
    fake.router.get("https://status.example.test/health").respond(200, json={"ok": True})
    embedding = {"object": "embedding", "index": 0, "embedding": [0.5, 0.25]}
    fake.router.post(f"{INTL}/embeddings").respond(
        200, json={"data": [embedding], "model": "m", "object": "list", "usage": {}}
    )
    fake.reply("chat still faked")
    with fake.intercept():
        health = http.get("https://status.example.test/health").json()
        client = openai.OpenAI(api_key="k", base_url=INTL)
        vector = client.embeddings.create(model="text-embedding-v3", input="hi")
        chat = client.chat.completions.create(model="qwen-plus", messages=USER)
    assert health == {"ok": True}
    assert vector.data[0].embedding == [0.5, 0.25]
    assert chat.choices[0].message.content == "chat still faked"
    assert [call.path for call in fake.calls] == ["/compatible-mode/v1/chat/completions"]


async def test_async_clients_stream_through_intercept(fake) -> None:
    fake.reply("streamed", chunk_size=2)
    with fake.intercept():
        client = openai.AsyncOpenAI(api_key="k", base_url=INTL)
        stream = await client.chat.completions.create(model="qwen-plus", messages=USER, stream=True)
        pieces = [c.choices[0].delta.content async for c in stream]
    assert pieces == ["", "st", "re", "am", "ed", None]


def test_patches_are_removed_on_exit(fake) -> None:
    original = http.Client._transport_for_url
    with fake.intercept():
        assert http.Client._transport_for_url is not original
    assert http.Client._transport_for_url is original


def test_two_fakes_can_intercept_in_turn() -> None:
    first, second = FakeDashScope(), FakeDashScope()
    first.reply("one")
    second.reply("two")
    client = openai.OpenAI(api_key="k", base_url=INTL)
    with first.intercept():
        one = client.chat.completions.create(model="qwen-plus", messages=USER)
    with second.intercept():
        two = client.chat.completions.create(model="qwen-plus", messages=USER)
    assert (one.choices[0].message.content, two.choices[0].message.content) == ("one", "two")
