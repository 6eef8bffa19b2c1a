"""gen_ai.conversation.id on every chat span (given, an agent's, or derived from the start of the
messages) and the system prompt's fingerprint."""

from __future__ import annotations

import pytest

import qwenobs
from qwenobs import semconv as sc
from qwenobs.conversations import Fingerprints

SYSTEM = {"role": "system", "content": "You are a travel assistant. " * 20}


def ask(fake, messages):
    fake.reply("ok")
    return fake.client().chat.completions.create(model="qwen-plus", messages=messages, max_tokens=9)


def chat_attributes(telemetry):
    return [dict(s.attributes) for s in telemetry.chat()]


def test_the_calls_of_one_conversation_share_a_derived_id(telemetry, fake):
    history = [SYSTEM, {"role": "user", "content": "Umbrella in Hangzhou?"}]
    ask(fake, history)
    history += [
        {"role": "assistant", "content": "Yes."},
        {"role": "user", "content": "And Ningbo?"},
    ]
    ask(fake, history)
    ask(fake, [SYSTEM, {"role": "user", "content": "Umbrella in Shanghai?"}])  # another one
    ask(fake, [{"role": "user", "content": "Umbrella in Hangzhou?"}])  # no system prompt
    first, second, other, bare = chat_attributes(telemetry)
    assert first[sc.CONVERSATION_ID] == second[sc.CONVERSATION_ID]
    assert (
        len({first[sc.CONVERSATION_ID], other[sc.CONVERSATION_ID], bare[sc.CONVERSATION_ID]}) == 3
    )
    assert first[sc.SYSTEM_PROMPT_FINGERPRINT] == other[sc.SYSTEM_PROMPT_FINGERPRINT]
    assert len(first[sc.SYSTEM_PROMPT_FINGERPRINT]) == 16
    assert sc.SYSTEM_PROMPT_FINGERPRINT not in bare
    assert SYSTEM["content"][:20] not in str(first)  # content-free


def test_a_given_id_wins_and_an_agent_inside_takes_it(telemetry, fake):
    with qwenobs.conversation("ticket-4821"):
        ask(fake, [SYSTEM, {"role": "user", "content": "hi"}])
        with qwenobs.agent("helper"):
            ask(fake, [SYSTEM, {"role": "user", "content": "hi"}])
    with qwenobs.agent("alone", conversation_id="agent-7"):
        ask(fake, [SYSTEM, {"role": "user", "content": "hi"}])
    ids = [a[sc.CONVERSATION_ID] for a in chat_attributes(telemetry)]
    assert ids == ["ticket-4821", "ticket-4821", "agent-7"]


def test_conversation_rejects_an_empty_id():
    with pytest.raises(ValueError, match="conversation_id must be a non-empty string, got ''"):
        qwenobs.conversation("")


def test_fingerprints_are_remembered_within_a_bound():
    prints = Fingerprints(size=2)
    a = prints.prompt("A")
    assert prints.prompt("A") == a and len(prints._prompts) == 1
    prints.prompt("B")
    prints.prompt("C")  # over the bound: it starts over
    assert len(prints._prompts) == 1
    assert prints.prompt("A") == a  # the same value when computed again
    parts = [{"role": "system", "content": [{"type": "text", "text": "A"}]}]
    assert prints.attributes(parts, derive_id=False) == (a, None)
