"""Faults a load test needs, as data the front ends carry out.

A fault is a scripted answer (``fake.drop``, ``fake.stall``) or an option of one
(``first_byte_delay``, ``retry_after``, ``rate``). The engine stays pure: it marks its ``Response``
(a wait before the status line, a longer wait before one part, a connection cut) and each front
end does what the marks say: the server on its socket, the in-process transports by raising what
the client's HTTP library raises on a real socket (see ``pacing``).

Like a scripted failure, a drop or a stall answers the client's automatic retries of its call
(``times=N``: its first N attempts). A fault with ``rate=`` is not queued: it strikes each attempt
of a matching request with that probability, drawn from the fake's seeded generator, so a run with
the same seed and the same calls repeats.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum
from typing import TYPE_CHECKING, Any

from .. import checks

if TYPE_CHECKING:
    from .engine import Response

DROP_TEXT = "Here is the beginning of an answer whose connection is cut before it is complete."
STALL_TEXT = "This answer stops for a while partway through, and then it goes on to the end."


class Cut(Enum):
    """Where a dropped connection closes."""

    BEFORE_RESPONSE = "before the response"  # no status line: the client gets nothing
    IN_BODY = "in the body"  # the parts go out, then the body ends unfinished (no [DONE])


@dataclass(frozen=True, slots=True)
class Drop:
    """The connection closes after ``after_chunks`` events of a stream; before any response when
    ``after_chunks`` is None or the request does not stream."""

    after_chunks: int | None = None
    content: str = DROP_TEXT  # what streams before the cut
    times: int | None = None  # attempts of one call it answers (SDK retries); None: all
    rate: float | None = None  # drawn for each attempt instead of queued

    def describe(self) -> str:
        return _call("drop", after_chunks=self.after_chunks, times=self.times, rate=self.rate)


@dataclass(frozen=True, slots=True)
class Stall:
    """No bytes for ``seconds`` before event ``after_chunks`` of a stream (before the body of a
    JSON answer), then the rest of the answer."""

    seconds: float
    after_chunks: int = 0
    content: str = STALL_TEXT
    times: int | None = None
    rate: float | None = None

    def describe(self) -> str:
        after = self.after_chunks or None
        return _call(
            "stall", f"{self.seconds:g}", after_chunks=after, times=self.times, rate=self.rate
        )


def _call(name: str, *positional: str, **options: object) -> str:
    given = [
        *positional,
        *(f"{key}={value!r}" for key, value in options.items() if value is not None),
    ]
    return f"{name}({', '.join(given)})"


def check_rate(where: str, rate: Any, times: Any, repeat: Any) -> None:
    """``rate``: None (a queued fault) or the share of attempts a fault strikes, from 0 to 1,
    without ``times`` or ``repeat``, which do not apply to a fault drawn for every attempt."""
    if rate is None:
        return
    accepted = "a number from 0 to 1 (the share of attempts it strikes) or None"
    if not isinstance(rate, int | float) or isinstance(rate, bool):
        raise checks.wrong_type(where, "rate", rate, accepted)
    if not 0 <= rate <= 1:  # NaN fails this too
        raise checks.wrong_value(where, "rate", rate, "a number from 0 to 1")
    if times is not None or repeat is True:
        given = f"times={times}" if times is not None else "repeat=True"
        raise ValueError(
            f"{where}: rate={rate} with {given}; a rate= fault is drawn anew for every attempt "
            f"and stays in the script. Pass one of them."
        )


# -- marking a response ------------------------------------------------------------------------


def cut(response: Response, after_chunks: int | None) -> Response:
    """``response`` with its connection cut: after ``after_chunks`` events of a stream (never its
    last, ``[DONE]``), else before the status line."""
    if after_chunks is None or not response.streaming:
        return replace(response, parts=(), cut=Cut.BEFORE_RESPONSE)
    kept = response.parts[: min(after_chunks, len(response.parts) - 1)]
    return replace(response, parts=kept, cut=Cut.IN_BODY)


def stall(response: Response, seconds: float, after_chunks: int) -> Response:
    """``response`` with ``seconds`` more of silence before part ``after_chunks`` (at most its
    last part: a stream's ``[DONE]``, a JSON answer's body)."""
    parts = list(response.parts)
    at = min(after_chunks, len(parts) - 1)
    delay, data = parts[at]
    parts[at] = (delay + seconds, data)
    return replace(response, parts=tuple(parts))


def first_byte(response: Response, delay: float | None) -> Response:
    """``response`` sent ``delay`` seconds late: nothing, not even the status line, before."""
    return response if not delay else replace(response, first_byte_delay=delay)


def retry_after(response: Response, seconds: float | None) -> Response:
    """``response`` asking the client to wait ``seconds`` before it retries (``Retry-After``),
    instead of the fake's 1 ms."""
    if seconds is None:
        return response
    kept = tuple(h for h in response.headers if h[0] not in ("retry-after", "retry-after-ms"))
    return replace(response, headers=(*kept, ("retry-after", f"{seconds:g}")))
