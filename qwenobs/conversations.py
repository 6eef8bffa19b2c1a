"""Which conversation a chat call belongs to, and a content-free fingerprint of its system prompt.

Chat Completions has no server-side conversation id, so each call gets one: the id the user
gave (``with qwenobs.conversation("..."):``), else the running ``qwenobs.agent``'s, else one
derived from the start of the message list (the system prompt and the first user message),
which stays the same over the calls of one conversation as it grows at the end.

Both hashes run on every traced call, so each is remembered per distinct string (a bounded memo
keyed by the string itself: the app usually passes the same string object every time, whose hash
Python keeps, so a hit costs one dict lookup). Pure: no openai, no OpenTelemetry.
"""

from __future__ import annotations

import hashlib
from contextvars import ContextVar
from typing import Any

from .fields import field, message_text

MEMO_SIZE = 1024  # distinct prompts (and conversation starts) remembered; then it starts over

_given: ContextVar[str | None] = ContextVar("qwenobs_conversation", default=None)


def given_id() -> str | None:
    """The id of the enclosing ``qwenobs.conversation(...)``, if any."""
    return _given.get()


class conversation:
    """``with qwenobs.conversation("support-ticket-4821"):`` (or ``async with``): every chat call
    inside carries this ``gen_ai.conversation.id`` instead of a derived one (an agent started
    inside takes it as its own)."""

    def __init__(self, conversation_id: str) -> None:
        if not isinstance(conversation_id, str) or not conversation_id:
            raise ValueError(f"conversation_id must be a non-empty string, got {conversation_id!r}")
        self.conversation_id = conversation_id
        self._token: Any = None

    def __enter__(self) -> str:
        self._token = _given.set(self.conversation_id)
        return self.conversation_id

    def __exit__(self, *exc: object) -> None:
        _given.reset(self._token)

    async def __aenter__(self) -> str:
        return self.__enter__()

    async def __aexit__(self, *exc: object) -> None:
        self.__exit__()


class Fingerprints:
    """System prompt fingerprints and derived conversation ids, each computed once per string."""

    def __init__(self, size: int = MEMO_SIZE) -> None:
        self.size = size
        self._prompts: dict[str, str] = {}
        self._starts: dict[tuple[str, str], str] = {}

    def prompt(self, text: str) -> str:
        """16 hex digits of BLAKE2b over the prompt's UTF-8 text."""
        found = self._prompts.get(text)
        if found is None:
            if len(self._prompts) >= self.size:
                self._prompts.clear()
            found = hashlib.blake2b(
                text.encode("utf-8", "surrogatepass"), digest_size=8
            ).hexdigest()
            self._prompts[text] = found
        return found

    def conversation(self, prompt_fp: str, first_user: str) -> str:
        """32 hex digits over the prompt's fingerprint and the first user message."""
        key = (prompt_fp, first_user)
        found = self._starts.get(key)
        if found is None:
            if len(self._starts) >= self.size:
                self._starts.clear()
            data = f"{prompt_fp}\x00{first_user}".encode("utf-8", "surrogatepass")
            found = hashlib.blake2b(data, digest_size=16).hexdigest()
            self._starts[key] = found
        return found

    def attributes(self, messages: Any, derive_id: bool) -> tuple[str | None, str | None]:
        """(system prompt fingerprint, derived conversation id) of a message list; None where
        there is nothing to hash (no system prompt; no list, or ``derive_id`` false)."""
        if not isinstance(messages, list) or not messages:
            return None, None
        first = messages[0]
        fp = None
        if field(first, "role") == "system":
            content = field(first, "content")
            fp = self.prompt(content if isinstance(content, str) else message_text(content))
        if not derive_id:
            return fp, None
        user = ""
        for message in messages:
            if field(message, "role") == "user":
                content = field(message, "content")
                user = content if isinstance(content, str) else message_text(content)
                break
        return fp, self.conversation(fp or "", user)
