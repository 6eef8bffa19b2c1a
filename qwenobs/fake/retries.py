"""Which scripted failure answers a client's automatic retry.

The openai SDK retries by itself (``max_retries``, 2 by default): 408, 409, 429 and 5xx answers,
a connection closed before the response, and a read timeout before the status line (or, for a
call that does not stream, before the end of its body). It numbers each attempt in
``x-stainless-retry-count`` (from openai 1.47): 0 for the call, 1 for its first retry, and so on;
it also sends its read timeout (``x-stainless-read-timeout``), so the fake knows which of its own
delays the client will give up on. A scripted failure answers the call and, by default, every
retry of it, so an application sees the error DashScope would give it whatever its
``max_retries``; with ``fail(..., times=N)`` it answers the call's first N attempts and later
retries take the next scripted answer. Clients that do not number their attempts (openai before
1.47, most other HTTP clients) cannot be told from a new call: each of their attempts takes the
next scripted answer.

The SDK sends no per-call identity (its idempotency key is not sent to this API), so a retry is
known by what it resends: the same method, path and body (or the same ``Idempotency-Key``, for
clients that send one). The fake remembers each attempt the client will retry, whatever the
reason (a plain scripted failure, a ``rate=`` draw, a timeout), and a retry pairs with the most
recent such attempt of the same request numbered just before it. Each remembered attempt pairs
with one retry at most, and is forgotten once its retry could no longer come (the SDK waits at
most ``Retry-After``, or 8 s of backoff), so a failure whose client did not retry never answers a
later call.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .faults import Cut
from .script import Fault

if TYPE_CHECKING:
    from .engine import Response

RETRY_COUNT_HEADER = "x-stainless-retry-count"
READ_TIMEOUT_HEADER = "x-stainless-read-timeout"
IDEMPOTENCY_HEADER = "idempotency-key"
# A retryable failure asks the SDK to wait this long instead of its exponential backoff
# (0.5 s, 1 s, ...), so a test does not sleep through its retries. Zero would be ignored.
RETRY_AFTER_MS = "1"
RETRYABLE = frozenset({408, 409, 429})  # and every 5xx, as the openai SDK decides
_LIMIT = 4096  # remembered attempts; the oldest are forgotten first
_BACKOFF = 8.0  # the SDK's longest wait of its own before a retry
# How late a retry may come after its wait: an event loop driving a thousand streams lags.
_GRACE = 30.0


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


def read_timeout_of(headers: Mapping[str, str]) -> float | None:
    """The read timeout the client says it uses, in seconds; None when it does not say."""
    try:
        seconds = float(headers.get(READ_TIMEOUT_HEADER, ""))
    except ValueError:
        return None
    return seconds if seconds > 0 else None  # also refuses NaN


def request_key(method: str, path: str, headers: Mapping[str, str], body: bytes) -> bytes:
    """What a retry repeats of its call: its idempotency key when it sends one, else the request."""
    key = headers.get(IDEMPOTENCY_HEADER)
    sent = b"key:" + key.encode() if key else body
    return hashlib.blake2b(b"%s %s\n%s" % (method.encode(), path.encode(), sent)).digest()


def retried(response: Response, read_timeout: float | None) -> bool:
    """Whether the openai SDK retries ``response`` when it has retries left."""
    if response.cut is Cut.BEFORE_RESPONSE:
        return True  # a connection error
    # The SDK retries a read timeout until it has the status line; a call that does not stream
    # reads its body before create() returns, so a timeout there is retried too.
    waits = [response.first_byte_delay]
    if not response.streaming:
        waits += [delay for delay, _ in response.parts]
    if read_timeout is not None and max(waits) > read_timeout:
        return True
    return retryable(response.status) and dict(response.headers).get("x-should-retry") != "false"


def _patience(response: Response) -> float:
    """Seconds from the answer until its retry can no longer come."""
    headers = dict(response.headers)
    wait = _BACKOFF
    if "retry-after-ms" in headers:
        wait = float(headers["retry-after-ms"]) / 1000
    elif "retry-after" in headers:
        wait = float(headers["retry-after"])
    sent = response.first_byte_delay + sum(delay for delay, _ in response.parts)
    return sent + wait + _GRACE


@dataclass(frozen=True, slots=True)
class Attempt:
    """An attempt the client will retry, and what its retry gets."""

    number: int  # 0: the call itself
    failure: Fault | None  # answers the retry; None: the script's next answer does
    answered: int  # attempts of the call ``failure`` has answered
    expires: float  # on the ``Retries`` clock

    @property
    def again(self) -> Fault | None:
        """The failure that answers the retry too; None once its ``times`` are used up."""
        failure = self.failure
        if failure is None or (failure.times is not None and self.answered >= failure.times):
            return None
        return failure


class Retries:
    """The attempts whose retries may still come. Not thread-safe: the engine's lock guards it."""

    def __init__(self, limit: int = _LIMIT, clock: Callable[[], float] = time.monotonic) -> None:
        self._limit = limit
        self._clock = clock
        self._attempts: OrderedDict[bytes, list[Attempt]] = OrderedDict()
        self._count = 0

    def take(self, key: bytes, number: int) -> Attempt | None:
        """The attempt that retry ``number`` of a call with this ``key`` repeats, no longer
        remembered; None when no such attempt is remembered."""
        entries = self._attempts.get(key, [])
        now = self._clock()
        for entry in [e for e in entries if e.expires < now]:
            self._forget(key, entry)
        for entry in reversed(entries):
            if entry.number == number - 1:
                self._forget(key, entry)
                return entry
        return None

    def remember(
        self, key: bytes, response: Response, number: int, failure: Fault | None, answered: int
    ) -> None:
        """Attempt ``number`` of a call with this ``key`` got ``response``, which the client will
        retry; ``failure``, having answered ``answered`` attempts, answers its retry unless its
        ``times`` are used up (None: the retry takes the script's next answer)."""
        entry = Attempt(number, failure, answered, self._clock() + _patience(response))
        self._attempts.setdefault(key, []).append(entry)
        self._attempts.move_to_end(key)
        self._count += 1
        while self._count > self._limit:
            oldest, entries = next(iter(self._attempts.items()))
            self._forget(oldest, entries[0])

    def _forget(self, key: bytes, entry: Attempt) -> None:
        entries = self._attempts[key]
        entries.remove(entry)
        self._count -= 1
        if not entries:
            del self._attempts[key]

    def clear(self) -> None:
        self._attempts.clear()
        self._count = 0
