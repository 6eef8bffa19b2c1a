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
    conv = Conversation()
    found = conv.findings
    if not isinstance(messages, list | tuple):
        found.append(
            finding(
                "invalid-message",
                f"messages must be a list of messages, got {type(messages).__name__}.",
            )
        )
        return conv
    if not messages:
        found.append(finding("invalid-message", "messages is empty; send at least one message."))
        return conv

    # The open round: ids the nearest assistant tool_calls issued -> answered yet?
    pending: dict[Any, bool] | None = None
    opened_at = -1
    orphans: list[tuple[int, Any]] = []
    issued_at: dict[Any, int] = {}
    leading_system = True
    bound = 0
    json_seen = not want_json_word

    for i, m in enumerate(messages):
        if type(m) is dict:
            role = m.get("role")
            content = m.get("content")
            calls = m.get("tool_calls")
            call_id = m.get("tool_call_id") if role == "tool" else None
        elif m is None or isinstance(m, str | bytes | int | float | list | tuple):
            found.append(_not_a_message(i, m))
            continue
        else:  # a Mapping or the SDK's message object
            role = field(m, "role") if not isinstance(m, Mapping) else m.get("role")
            content = field(m, "content") if not isinstance(m, Mapping) else m.get("content")
            calls = field(m, "tool_calls") if not isinstance(m, Mapping) else m.get("tool_calls")
            call_id = None
            if role == "tool":
                call_id = (
                    m.get("tool_call_id") if isinstance(m, Mapping) else field(m, "tool_call_id")
                )

        if type(content) is str:
            text = content
        elif content is None:
            text = ""
        elif isinstance(content, list | tuple):
            text = message_text(list(content))
            _note_media(conv.media, content, i)
        else:
            found.append(_bad_content(i, content))
            text = ""
        # An ASCII str knows it is ASCII in O(1); otherwise 4 bytes a character bound UTF-8.
        bound += len(text) if text.isascii() else 4 * len(text)
        if not json_seen and _JSON_WORD.search(text):
            json_seen = True

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
                conv.system_prompt += text
        else:
            leading_system = False

        if content is None and (role in _NEEDS_CONTENT or (role == "assistant" and not calls)):
            what = "content or tool_calls" if role == "assistant" else "content"
            found.append(finding("invalid-message", f"messages[{i}] ({role}) has no {what}.", i))

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
            _close_round(conv, pending, opened_at)
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

    if pending is not None:
        _close_round(conv, pending, opened_at)
    for index, call_id in orphans:
        found.append(_orphan(index, call_id, pending_hint=issued_at.get(call_id)))
    if len(found) > 1:
        found.sort(key=lambda f: f.index)  # every finding of this pass names its message

    conv.count = len(messages)
    conv.text_bytes_bound = bound
    conv.mentions_json = json_seen
    return conv


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


def _close_round(conv: Conversation, pending: dict[Any, bool], opened_at: int) -> None:
    unanswered = [cid for cid, done in pending.items() if not done]
    if not unanswered:
        conv.tool_rounds += 1
        return
    ids = ", ".join(repr(c) for c in unanswered)
    conv.findings.append(
        finding(
            "missing-tool-result",
            f"messages[{opened_at}] (assistant) asked for tool calls {ids} but no tool message "
            "answers them before the next user/assistant message or the end. Append one "
            '{"role": "tool", "tool_call_id": ..., "content": ...} per call right after it.',
            opened_at,
        )
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
