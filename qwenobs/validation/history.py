"""The last call of recent conversations, so a call is validated for what it appended.

An agent sends its whole message list on every call, growing at the end. Validating all of it each
time costs the whole history per call (quadratic over a run). A ``History`` keeps, per
conversation, the scan state and the message list of its last call; a new call whose first
messages equal that list resumes the scan after them. Equality is one C-level list comparison,
fast because the SDK's rebuilt messages share their strings with the caller's, which compare by
identity. It is trusted only for rebuilt messages: when a message is the very object seen last
time, the caller may have edited it in place, so the list is scanned afresh. An edited
conversation (truncated, summarised in the middle) fails the comparison and is scanned afresh too.

A list of up to ``SHORT_MESSAGES`` messages with little text is scanned afresh, not stored.
Memory is bounded: at most ``max_messages`` messages are held over all conversations (the
dicts the SDK built; their strings are the caller's own), the least recently continued dropped
first. Pure: no openai, no OpenTelemetry.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from operator import is_
from typing import Any

from ..tokens import Tally
from .conversation import Conversation, Scan, not_a_message_list

MAX_MESSAGES = 20_000  # held over all conversations (about 8 MiB of tool-call rounds)
PER_START = 4  # conversations kept that begin with the same two messages
# A list this short is scanned afresh: scanning it costs less than finding and storing it.
# Unless its text is long enough that the context check may count its tokens, which a stored
# conversation remembers message by message.
SHORT_MESSAGES = 8
SHORT_TEXT_BYTES = 16_384


class Snapshot:
    """One conversation as of its last call."""

    __slots__ = ("messages", "scan", "tally")

    def __init__(self) -> None:
        self.scan = Scan()
        self.tally = Tally()
        self.messages: list[Any] = []


class History:
    def __init__(self, max_messages: int = MAX_MESSAGES) -> None:
        self.max_messages = max_messages
        self._lock = threading.Lock()
        # The first two contents -> the conversations that begin with them, least recent first.
        self._by_start: OrderedDict[tuple[Any, Any], list[Snapshot]] = OrderedDict()
        self._held = 0  # messages held by the stored snapshots

    def scan(self, messages: Any, want_json: bool) -> Conversation:
        """The scan of ``messages``, resumed after the part that repeats an earlier call."""
        problem = not_a_message_list(messages)
        if problem is not None or type(messages) is not list:
            return _fresh(messages, want_json, problem)
        if len(messages) <= SHORT_MESSAGES:
            conversation = _fresh(messages, want_json, None)
            if conversation.text_bytes_bound <= SHORT_TEXT_BYTES:
                return conversation
        key = _start(messages)
        snapshot = self._take(key, messages)
        if snapshot is None and key[1] is not None:  # its last call may have had one message
            snapshot = self._take((key[0], None), messages)
        unchanged, prior = 0, None
        if snapshot is None:
            snapshot = Snapshot()
        else:
            unchanged, prior = snapshot.scan.count, snapshot.messages
        snapshot.scan.feed(messages, unchanged, want_json)
        conversation = snapshot.scan.result(want_json)
        conversation.unchanged = unchanged
        conversation.prior = prior
        conversation.tally = snapshot.tally
        snapshot.messages = messages
        self._put(key, snapshot)
        return conversation

    def _take(self, key: tuple[Any, Any], messages: list[Any]) -> Snapshot | None:
        """The snapshot this list continues, removed from the store (one owner at a time)."""
        with self._lock:
            candidates = self._by_start.get(key)
            if not candidates:
                return None
            candidates = list(candidates)
        for snapshot in reversed(candidates):  # the most recent first
            if _continues(messages, snapshot):
                with self._lock:
                    stored = self._by_start.get(key)
                    if stored is not None and snapshot in stored:  # not taken by another thread
                        stored.remove(snapshot)
                        self._held -= snapshot.scan.count
                        return snapshot
        return None

    def _put(self, key: tuple[Any, Any], snapshot: Snapshot) -> None:
        size = snapshot.scan.count
        if size > self.max_messages:
            return
        with self._lock:
            stored = self._by_start.pop(key, None) or []
            stored.append(snapshot)
            self._held += size
            if len(stored) > PER_START:
                self._held -= stored.pop(0).scan.count
            self._by_start[key] = stored  # now the most recently continued
            while self._held > self.max_messages:
                _, dropped = self._by_start.popitem(last=False)
                self._held -= sum(s.scan.count for s in dropped)


def _fresh(messages: Any, want_json: bool, problem: Any) -> Conversation:
    if problem is not None:
        return Conversation([problem])
    scan = Scan()
    scan.feed(messages, 0, want_json)
    return scan.result(want_json)


def _start(messages: list[Any]) -> tuple[Any, Any]:
    """The key of a conversation: the contents of its first two messages when they are str."""
    first = messages[0]
    second = messages[1] if len(messages) > 1 else None
    return _content(first), _content(second)


def _content(message: Any) -> str | None:
    content = message.get("content") if type(message) is dict else None
    return content if type(content) is str else None


def _continues(messages: list[Any], snapshot: Snapshot) -> bool:
    """Whether ``messages`` begins with the list of the snapshot's call, message for message,
    each rebuilt since (not the object seen then, which an edit in place would leave equal)."""
    old = snapshot.messages
    count = snapshot.scan.count
    if count == 0 or count > len(messages) or len(old) != count or old is messages:
        return False
    head = messages if count == len(messages) else messages[:count]
    # Cheap rejections first: the last message of the old list, then any object seen then.
    if old[-1] != head[-1] or any(map(is_, old, head)):
        return False
    return old == head
