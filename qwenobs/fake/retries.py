"""Which scripted failure answers a client's automatic retry.

The openai SDK retries 408, 409, 429 and 5xx answers by itself (``max_retries``, 2 by default) and
numbers each attempt in ``x-stainless-retry-count`` (from openai 1.47): 0 for the call, 1 for its
first retry, and so on. A scripted failure answers the call and, by default, every retry of it, so
an application sees the error DashScope would give it whatever its ``max_retries``; with
``fail(..., times=N)`` it answers the call's first N attempts and later retries take the next
scripted answer. Clients that do not number their attempts (openai before 1.47, most other HTTP
clients) cannot be told from a new call: each of their attempts takes the next scripted answer.

A retry resends the same method, path and body. Concurrent calls are told apart by that
request and by the attempt number: a retry pairs with a failure of the same request whose last
attempt came just before it, the most recent one when identical calls failed at once.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass

from .script import Failure

RETRY_COUNT_HEADER = "x-stainless-retry-count"
# A retryable failure asks the SDK to wait this long instead of its exponential backoff
# (0.5 s, 1 s, ...), so a test does not sleep through its retries. Zero would be ignored.
RETRY_AFTER_MS = "1"
RETRYABLE = frozenset({408, 409, 429})  # and every 5xx, as the openai SDK decides
_LIMIT = 4096  # failed calls remembered; the oldest are forgotten first


def retryable(status: int) -> bool:
    return status in RETRYABLE or status >= 500


def attempt_of(headers: Mapping[str, str]) -> int | None:
    """The attempt number the client sent (0: the call itself), or None when it sends none."""
    value = headers.get(RETRY_COUNT_HEADER)
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError:
        return None
    return number if number >= 0 else None


def request_key(method: str, path: str, body: bytes) -> bytes:
    """What a retry repeats of its call."""
    return hashlib.blake2b(b"%s %s\n%s" % (method.encode(), path.encode(), body)).digest()


@dataclass(slots=True, eq=False)
class _Failed:
    failure: Failure
    attempt: int  # the last attempt this failure answered
    answered: int  # how many attempts it answered


class Retries:
    """The failed calls whose retries may still come, the most recent ones: retries follow their
    call within seconds. Not thread-safe: the engine's lock guards it."""

    def __init__(self, limit: int = _LIMIT) -> None:
        self._limit = limit
        self._failed: OrderedDict[bytes, list[_Failed]] = OrderedDict()
        self._count = 0

    def replay(self, key: bytes, attempt: int) -> Failure | None:
        """The failure that answers retry ``attempt`` of a call with this ``key``, or None when
        the retry takes the next scripted answer."""
        entries = self._failed.get(key, ())
        for entry in reversed(entries):
            if entry.attempt == attempt - 1:
                times = entry.failure.times
                if times is not None and entry.answered >= times:
                    self._forget(key, entry)  # done: this retry goes to the script
                    return None
                entry.attempt, entry.answered = attempt, entry.answered + 1
                return entry.failure
        return None

    def failed(self, key: bytes, failure: Failure, attempt: int) -> None:
        """``failure`` answered attempt ``attempt`` of a call with this ``key``."""
        self._failed.setdefault(key, []).append(_Failed(failure, attempt, 1))
        self._failed.move_to_end(key)
        self._count += 1
        while self._count > self._limit:
            oldest, entries = next(iter(self._failed.items()))
            self._forget(oldest, entries[0])

    def _forget(self, key: bytes, entry: _Failed) -> None:
        entries = self._failed[key]
        entries.remove(entry)
        self._count -= 1
        if not entries:
            del self._failed[key]

    def clear(self) -> None:
        self._failed.clear()
        self._count = 0
