"""A simulation of DashScope's implicit context cache: exact prefix match, 256-token minimum.

The cache works on the tokens usage counts, like the real one: the prompt as the chat template
lays it out (each message framed by <|im_start|>{role}\n ... <|im_end|>\n, the tool definitions
in the system turn, the assistant's opening at the end), with exactly the ``prompt_tokens`` the
fake reports. A request's cached tokens are its longest common prefix with any earlier answered
request to the same model, when that prefix reaches 256 tokens. So a prompt sent again hits in
full, the next turn of a conversation hits everything the previous turn sent, a long stable system
prompt hits from the second call on, and a date at its start defeats the cache, as on the real
service. DashScope documents no block size, so hits are not rounded. Entries never expire (the
real cache keeps a prefix for minutes; a test runs in seconds).
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable
from typing import Any

from ..fields import field, jsonable, message_text
from ..tokens import MEDIA_PART, PER_TOOL_CALL, TOOLS_PREAMBLE, Vocabulary

MIN_PREFIX = 256
_KEEP = 256  # prompts remembered per model; the oldest are forgotten first

# The template's fixed tokens that carry no text of the request, as markers no text token equals
# (token ids are 0 and up); what differs between requests (a role, an image) gets its own marker.
# How many there are comes from ``tokens``, which the rules' context check shares.
_IM_START, _IM_END, _NEWLINE, _TOOLS, _TOOL_CALL = -1, -2, -3, -4, -5
_TAIL = [_IM_END, _NEWLINE]  # <|im_end|>\n


def prompt_ids(
    messages: Iterable[Any], tools: Iterable[Any] | None, vocabulary: Vocabulary
) -> tuple[int, ...]:
    """The prompt, token by token, as the model reads it; as long as usage's ``prompt_tokens``
    (``vocabulary.estimate(messages, tools)``): the same texts, the same fixed tokens."""
    encode = vocabulary.encode
    messages = messages if isinstance(messages, list | tuple) else list(messages)
    tools = list(tools or ())
    tool_block: list[int] = []
    if tools:  # the template's tool instructions with every definition, in the system turn
        text = "\n".join(json.dumps(t, ensure_ascii=False, default=jsonable) for t in tools)
        tool_block = [_TOOLS] * TOOLS_PREAMBLE + encode(text)
    with_system = bool(messages) and field(messages[0], "role") == "system"
    ids = [] if with_system else list(tool_block)
    for number, message in enumerate(messages):
        content = field(message, "content")
        ids += _head(field(message, "role"))
        ids += encode(message_text(content))
        for part in _media(content):
            ids += [_marker(part)] * MEDIA_PART
        for call in field(message, "tool_calls") or ():
            function = field(call, "function")
            ids += [_TOOL_CALL] * PER_TOOL_CALL
            ids += encode(
                f'{{"name": "{field(function, "name")}", '
                f'"arguments": {field(function, "arguments")}}}'
            )
        if number == 0 and with_system:
            ids += tool_block
        ids += _TAIL
    # <|im_start|>assistant\n, where the answer starts: the head of the assistant message that
    # the next turn sends, so that turn hits everything this one sent.
    ids += _head("assistant")
    return tuple(ids)


def _head(role: Any) -> list[int]:
    """``<|im_start|>{role}\\n``: with ``_TAIL``, the PER_MESSAGE tokens that frame a message;
    alone, the REPLY_PRIMER."""
    return [_IM_START, _marker(role), _NEWLINE]


def _media(content: Any) -> list[Any]:
    """The image, video and audio parts of a content (``tokens.media_parts`` counts them)."""
    if not isinstance(content, list):
        return []
    return [part for part in content if field(part, "type") not in (None, "text")]


def _marker(value: Any) -> int:
    """One marker per distinct role or media part (its URL or data), below the fixed ones."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=jsonable)
    return -16 - zlib.crc32(text.encode("utf-8", "surrogatepass"))


def common_prefix(a: tuple[int, ...], b: tuple[int, ...]) -> int:
    """Length of the common prefix, by bisection over slice comparisons (done in C)."""
    lo, hi = 0, min(len(a), len(b))
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


class PrefixCache:
    """Earlier prompts per model, grouped by their first 256 tokens (shorter ones never hit)."""

    def __init__(self) -> None:
        self._prompts: dict[tuple[str, tuple[int, ...]], list[tuple[int, ...]]] = {}

    def lookup(self, model: str, ids: tuple[int, ...]) -> int:
        """Cached tokens for a prompt: the longest prefix shared with an earlier one, or 0."""
        if len(ids) < MIN_PREFIX:
            return 0
        earlier = self._prompts.get((model, ids[:MIN_PREFIX]), ())
        return max((common_prefix(ids, seen) for seen in earlier), default=0)

    def store(self, model: str, ids: tuple[int, ...]) -> None:
        if len(ids) < MIN_PREFIX:
            return
        bucket = self._prompts.setdefault((model, ids[:MIN_PREFIX]), [])
        if ids not in bucket:
            bucket.append(ids)
            del bucket[:-_KEEP]

    def clear(self) -> None:
        self._prompts.clear()
