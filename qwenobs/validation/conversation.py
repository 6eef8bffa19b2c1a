"""One pass over the messages: roles, content, and the tool-call rounds.

This runs before every traced call, so it is a single loop with a dict fast path; everything the
other rules need from the messages (text size, the system prompt, whether "json" appears) is
collected on the way.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..checks import given
from ..fields import field, message_text
from .findings import Finding, finding

_ROLES = frozenset({"system", "user", "assistant", "tool"})
_NEEDS_CONTENT = frozenset({"system", "user", "tool"})
_JSON_WORD = re.compile("json", re.IGNORECASE)
_ORPHAN_FIX = (
    "Append the assistant message that asked for the tool (resp.choices[0].message) "
    "before its tool results."
)


@dataclass(slots=True)
class Conversation:
    """What the rules need to know about the messages, gathered in one pass."""

    findings: list[Finding] = dataclasses.field(default_factory=list)
    tool_rounds: int = 0  # assistant tool_calls fully answered by tool messages
    text_bytes_bound: int = 0  # an upper bound on the UTF-8 bytes of all text
    count: int = 0
    system_prompt: str = ""  # the text of the leading system messages
    mentions_json: bool = False
    media: dict[str, int] = dataclasses.field(default_factory=dict)  # kind -> first message index
    # Set when a ``History`` judged this list as the continuation of an earlier call's: the first
    # ``unchanged`` messages equal those of ``prior`` (that call's list), and ``tally`` holds the
    # token counts of the conversation's first messages.
    unchanged: int = 0
    prior: list[Any] | None = None
    tally: Any = None


def _call_fields(call: Any) -> tuple[Any, str]:
    """(id, name + arguments text) of one tool call, dict or SDK object."""
    if type(call) is dict:
        function, call_id = call.get("function"), call.get("id")
    else:
        function, call_id = field(call, "function"), field(call, "id")
    if type(function) is dict:
        name, args = function.get("name"), function.get("arguments")
    else:
        name, args = field(function, "name"), field(function, "arguments")
    if type(call_id) is not str:
        call_id = None
    return call_id, f"{name or ''}{args if isinstance(args, str) else args or ''}"


def scan(messages: Any, *, want_json_word: bool = False) -> Conversation:
    """The pass over a whole message list."""
    problem = not_a_message_list(messages)
    if problem is not None:
        return Conversation([problem])
    state = Scan()
    state.feed(messages, 0, want_json_word)
    return state.result(want_json_word)


def not_a_message_list(messages: Any) -> Finding | None:
    """The finding for ``messages`` that is not a non-empty list (or tuple); None when it is."""
    if not isinstance(messages, list | tuple):
        return finding(
            "invalid-message",
            f"messages must be a list of messages, got {type(messages).__name__}.",
        )
    if not messages:
        return finding("invalid-message", "messages is empty; send at least one message.")
    return None


class Scan:
    """The pass over a message list, resumable: ``feed`` the messages appended since, then
    ``result`` judges the list as it stands, leaving the state ready for the next ``feed``."""

    __slots__ = (
        "bound",
        "count",
        "findings",
        "issued_at",
        "json_seen",
        "json_upto",
        "leading_system",
        "media",
        "opened_at",
        "orphans",
        "pending",
        "system_prompt",
        "tool_rounds",
    )

    def __init__(self) -> None:
        self.findings: list[Finding] = []  # of the messages fed; a round still open is judged later
        self.tool_rounds = 0  # closed rounds fully answered
        # The open round: ids the nearest assistant tool_calls issued -> answered yet?
        self.pending: dict[Any, bool] | None = None
        self.opened_at = -1
        self.orphans: list[tuple[int, Any]] = []  # (index, tool_call_id), judged in result()
        self.issued_at: dict[Any, int] = {}  # tool call id -> the message that first issued it
        self.leading_system = True
        self.system_prompt = ""
        self.bound = 0
        self.json_seen = False
        self.json_upto = 0  # messages searched for the word "json" (only JSON mode needs it)
        self.media: dict[str, int] = {}
        self.count = 0  # messages fed

    def feed(self, messages: list[Any] | tuple[Any, ...], start: int, want_json: bool) -> None:
        """Take in ``messages[start:]``; ``messages[:start]`` are the ones fed before."""
        found = self.findings
        media = self.media
        issued_at = self.issued_at
        orphans = self.orphans
        pending = self.pending
        opened_at = self.opened_at
        leading_system = self.leading_system
        system_prompt = self.system_prompt
        bound = self.bound
        if want_json and not self.json_seen and self.json_upto < start:
            self._search_json(messages, start)
        search_json = want_json and not self.json_seen

        for i in range(start, len(messages)):
            m = messages[i]
            if type(m) is dict:
                role = m.get("role")
                content = m.get("content")
                calls = m.get("tool_calls")
                call_id = m.get("tool_call_id") if role == "tool" else None
            elif m is None or isinstance(m, str | bytes | int | float | list | tuple):
                found.append(_not_a_message(i, m))
                continue
            else:  # a Mapping or the SDK's message object
                role, content, calls, call_id = _fields(m)

            if type(content) is str:
                text = content
            elif content is None:
                text = ""
            elif isinstance(content, list | tuple):
                text = message_text(list(content))
                _note_media(media, content, i)
            else:
                found.append(_bad_content(i, content))
                text = ""
            # An ASCII str knows it is ASCII in O(1); otherwise 4 bytes a character bound UTF-8.
            bound += len(text) if text.isascii() else 4 * len(text)
            if search_json and _JSON_WORD.search(text):
                search_json = False
                self.json_seen = True

            if type(role) is not str or role not in _ROLES:
                found.append(
                    finding(
                        "invalid-message",
                        f"messages[{i}] has role {role!r}; DashScope accepts "
                        "'system', 'user', 'assistant' and 'tool'.",
                        i,
                    )
                )
                continue
            if role == "system":
                if leading_system:
                    system_prompt += text
            else:
                leading_system = False

            if content is None and (role in _NEEDS_CONTENT or (role == "assistant" and not calls)):
                what = "content or tool_calls" if role == "assistant" else "content"
                found.append(
                    finding("invalid-message", f"messages[{i}] ({role}) has no {what}.", i)
                )

            if role == "tool":
                if type(call_id) is not str:
                    call_id = None
                if pending is None or call_id is None or call_id not in pending:
                    orphans.append((i, call_id))
                elif pending[call_id]:
                    found.append(
                        finding(
                            "duplicate-tool-result",
                            f"messages[{i}] answers tool_call_id {call_id!r} a second time. "
                            "Send exactly one tool message per tool call.",
                            i,
                        )
                    )
                else:
                    pending[call_id] = True
                continue

            # A user, system or assistant message closes the open round.
            if pending is not None:
                missing = _close_round(pending, opened_at)
                if missing is None:
                    self.tool_rounds += 1
                else:
                    found.append(missing)
                pending = None
            if role == "assistant" and calls:
                if not isinstance(calls, list | tuple):
                    found.append(
                        finding("invalid-message", f"messages[{i}].tool_calls must be a list.", i)
                    )
                    continue
                pending = {}
                opened_at = i
                for call in calls:
                    cid, fn_text = _call_fields(call)
                    pending[cid] = False
                    issued_at.setdefault(cid, i)
                    bound += (len(fn_text) if fn_text.isascii() else 4 * len(fn_text)) + 32

        self.pending = pending
        self.opened_at = opened_at
        self.leading_system = leading_system
        self.system_prompt = system_prompt
        self.bound = bound
        self.count = len(messages)
        if want_json:
            self.json_upto = self.count

    def _search_json(self, messages: list[Any] | tuple[Any, ...], end: int) -> None:
        """Search the messages fed before JSON mode was asked for."""
        for i in range(self.json_upto, end):
            if _JSON_WORD.search(_text_of(messages[i])):
                self.json_seen = True
                break
        self.json_upto = end

    def result(self, want_json: bool) -> Conversation:
        """The conversation as fed so far; the open round and orphans judged, the state kept."""
        found = list(self.findings)
        rounds = self.tool_rounds
        if self.pending is not None:
            missing = _close_round(self.pending, self.opened_at)
            if missing is None:
                rounds += 1
            else:
                found.append(missing)
        for index, call_id in self.orphans:
            found.append(_orphan(index, call_id, pending_hint=self.issued_at.get(call_id)))
        if len(found) > 1:
            found.sort(key=lambda f: f.index)  # every finding of this pass names its message
        return Conversation(
            found,
            rounds,
            self.bound,
            self.count,
            self.system_prompt,
            self.json_seen or not want_json,
            dict(self.media) if self.media else {},
        )


def _text_of(m: Any) -> str:
    """The text ``feed`` reads from one entry of the list."""
    if type(m) is dict:
        content = m.get("content")
    elif m is None or isinstance(m, str | bytes | int | float | list | tuple):
        return ""
    else:
        content = _fields(m)[1]
    if type(content) is str:
        return content
    return message_text(list(content)) if isinstance(content, list | tuple) else ""


def _fields(m: Any) -> tuple[Any, Any, Any, Any]:
    """(role, content, tool_calls, tool_call_id) of a Mapping or an SDK message object."""
    if isinstance(m, Mapping):
        role = m.get("role")
        return (
            role,
            m.get("content"),
            m.get("tool_calls"),
            m.get("tool_call_id") if role == "tool" else None,
        )
    role = field(m, "role")
    call_id = field(m, "tool_call_id") if role == "tool" else None
    return role, field(m, "content"), field(m, "tool_calls"), call_id


# Content part types -> what they carry (OpenAI's names and DashScope's own).
_MEDIA_KINDS = {
    "image_url": "image",
    "image": "image",
    "video_url": "video",
    "video": "video",
    "input_audio": "audio",
    "audio": "audio",
}


def _note_media(media: dict[str, int], parts: list[Any], index: int) -> None:
    for part in parts:
        kind = _MEDIA_KINDS.get(field(part, "type"))
        if kind is not None and kind not in media:
            media[kind] = index


def _not_a_message(index: int, value: Any) -> Finding:
    return finding(
        "invalid-message",
        f"messages[{index}] is {given(value)}, not a message; each message is a mapping such "
        'as {"role": "user", "content": "..."}.',
        index,
    )


def _bad_content(index: int, content: Any) -> Finding:
    return finding(
        "invalid-message",
        f"messages[{index}].content is {given(content)}; DashScope takes a string or a list of "
        'content parts such as [{"type": "text", "text": "..."}].',
        index,
    )


def _close_round(pending: dict[Any, bool], opened_at: int) -> Finding | None:
    """The missing-tool-result finding of a round that closes; None when every call has its
    result."""
    unanswered = [cid for cid, done in pending.items() if not done]
    if not unanswered:
        return None
    ids = ", ".join(repr(c) for c in unanswered)
    return finding(
        "missing-tool-result",
        f"messages[{opened_at}] (assistant) asked for tool calls {ids} but no tool message "
        "answers them before the next user/assistant message or the end. Append one "
        '{"role": "tool", "tool_call_id": ..., "content": ...} per call right after it.',
        opened_at,
    )


def _orphan(index: int, call_id: Any, pending_hint: int | None) -> Finding:
    if call_id is None:
        what = f"messages[{index}] is a tool message without a tool_call_id."
        fix = "Set tool_call_id to the id of the tool call it answers."
    elif pending_hint is not None and pending_hint > index:
        what = (
            f"messages[{index}] answers tool_call_id {call_id!r}, but the assistant message "
            f"that issued it comes later, at messages[{pending_hint}]."
        )
        fix = "Append the assistant message first, then its tool results."
    elif pending_hint is not None:
        what = (
            f"messages[{index}] answers tool_call_id {call_id!r}, which messages[{pending_hint}] "
            "issued, but another message stands between that round and this result."
        )
        fix = "Keep each round together: the assistant tool_calls, then one tool message per call."
    else:
        what = (
            f"messages[{index}] answers tool_call_id {call_id!r}, but no preceding assistant "
            "message with tool_calls issued that id."
        )
        fix = _ORPHAN_FIX
    return finding("orphan-tool-result", f"{what} {fix}", index)
