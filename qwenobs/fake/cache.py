"""A simulation of DashScope's implicit context cache: exact prefix match, 256-token minimum.

The cache works on tokens, like the real one: each prompt becomes the Qwen token sequence of its
chat-template rendering (tools first, then every message framed by <|im_start|>/<|im_end|>), and a
request's cached tokens are its longest common prefix with any earlier answered request to the same
model, when that prefix reaches 256 tokens. So a long, stable system prompt hits from the second call
on, and a date at the start of the system prompt defeats the cache, as on the real service.
Entries never expire (the real cache keeps a prefix for minutes; a test runs in seconds).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from ..fields import field, message_text
from ..tokens import Vocabulary

MIN_PREFIX = 256
_KEEP = 256  # prompts remembered per model; the oldest are forgotten first


def prompt_ids(
    messages: Iterable[Any], tools: Iterable[Any] | None, vocabulary: Vocabulary
) -> tuple[int, ...]:
    """The token sequence the cache compares: tools, then each message in chat-template framing."""
    encode = vocabulary.encode
    ids: list[int] = []
    tools = list(tools or ())
    if tools:
        ids += encode(json.dumps(tools, ensure_ascii=False, sort_keys=True))
    for message in messages:
        role = field(message, "role")
        ids.append(vocabulary.im_start)
        ids += encode(f"{role}\n{message_text(field(message, 'content'))}")
        for call in field(message, "tool_calls") or ():
            ids += encode(json.dumps(call, ensure_ascii=False, sort_keys=True, default=str))
        ids.append(vocabulary.im_end)
    return tuple(ids)


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
