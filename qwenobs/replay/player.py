"""Replay a recording through the fake: each call the application makes is answered with the
recorded answer of the call it repeats, found by its conversation (not by arrival order, so
concurrent calls replay too), after checking it sends what it sent then.

A call that differs is answered with a 400 whose message is the difference (code
``replay_mismatch``), and the difference is kept: ``check()`` raises ``ReplayMismatch`` with
every one, and the pytest marker fails the test with them.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping
from typing import Any

from .. import checks
from ..fake.render import Outcome, chunk_count
from ..fake.script import Answer, Failure, Reply, Timing, ToolCall
from .compare import Now, Options, common_prefix, differences, report
from .recording import RecordedCall, Recording

CHUNK_SIZE = 8  # characters per replayed stream chunk (the fake's default)


def settings(
    where: str, *, json_as_data: Any = False, ignore: Any = (), pace: Any = None
) -> tuple[Options, float | None]:
    """The replay options of ``FakeDashScope.from_trace`` and the ``qwen_replay`` marker,
    checked where they were written (``where`` names the call): ``json_as_data`` True or False,
    ``ignore`` a place or a list of places (str), ``pace`` a number from 0 up or None."""
    checks.flag(where, "json_as_data", json_as_data)
    places = (ignore,) if isinstance(ignore, str) else ignore  # one place, not its characters
    if not isinstance(places, list | tuple):
        raise checks.wrong_type(where, "ignore", ignore, _IGNORE)
    for index, place in enumerate(places):
        checks.text(where, f"ignore[{index}]", place, optional=False, empty=False)
    _check_pace(where, pace)
    return Options(json_as_data, tuple(places)), pace


_IGNORE = "a place name or a list of them, such as ['temperature', 'messages[*].parts[*].response']"
_PACE = "a number from 0 up (a factor of the recorded timing)"


def _check_pace(where: str, pace: Any) -> None:
    if pace is None:
        return
    if not isinstance(pace, int | float) or isinstance(pace, bool):
        raise checks.wrong_type(where, "pace", pace, _PACE + " or None")
    if not (pace >= 0 and math.isfinite(pace)):  # NaN fails this too
        raise checks.wrong_value(where, "pace", pace, _PACE)


class ReplayMismatch(AssertionError):
    """The application did not repeat the recorded conversation; the message says where."""


class Replay:
    """What the fake answers from, and what it found."""

    def __init__(self, recording: Recording, options: Options, pace: float | None) -> None:
        _check_pace("Replay()", pace)
        self.recording = recording
        self.options = options
        self.pace = pace
        self.mismatches: list[str] = []
        self.played: list[int] = []  # recorded call indexes, in the order they were asked for
        self._count = 0
        self._lock = threading.Lock()

    @property
    def unplayed(self) -> list[RecordedCall]:
        return [c for i, c in enumerate(self.recording.calls) if i not in self.played]

    def answer(self, body: Mapping[str, Any]) -> Answer:
        """The recorded answer of the call ``body`` repeats, or the 400 that says how it differs."""
        now = Now.of(body)
        with self._lock:
            self._count += 1
            number = self._count
            left = [i for i in range(len(self.recording.calls)) if i not in self.played]
            for i in left:
                if not differences(self.recording.calls[i], now, self.options):
                    self.played.append(i)
                    return self._answer_of(self.recording.calls[i])
            text = self._mismatch(number, now, left)
            self.mismatches.append(text)
        return Failure(400, code="replay_mismatch", message=text, times=1)

    def _mismatch(self, number: int, now: Now, left: list[int]) -> str:
        if not left:
            return (
                f"call #{number} has no counterpart in {self.recording.source}: all "
                f"{len(self.recording.calls)} recorded calls were made already"
            )
        calls = self.recording.calls
        # The recorded call it most likely repeats: the longest common start, then the earliest.
        best = max(left, key=lambda i: (common_prefix(calls[i], now, self.options), -i))
        found = differences(calls[best], now, self.options)
        return (
            f"call #{number} differs from recorded call {best + 1} ({calls[best].where}) of "
            f"{self.recording.source}:\n{report(found)}"
        )

    def check(self, allow_unplayed: bool = False) -> None:
        """Raise ``ReplayMismatch`` when a call differed, or (unless allowed) when recorded calls
        were never made."""
        checks.flag("fake.replay.check()", "allow_unplayed", allow_unplayed)
        problems = list(self.mismatches)
        if not allow_unplayed and self.unplayed and not self.mismatches:
            names = ", ".join(c.where for c in self.unplayed[:3])
            problems.append(
                f"{len(self.unplayed)} of {len(self.recording.calls)} recorded calls were never "
                f"made ({names}{', ...' if len(self.unplayed) > 3 else ''})"
            )
        if problems:
            raise ReplayMismatch(
                "the replay of " + self.recording.source + " failed:\n" + "\n".join(problems)
            )

    # -- the recorded answer as the fake's ------------------------------------------------------

    def _answer_of(self, call: RecordedCall) -> Answer:
        answer = call.answer
        timing = self._timing(call)
        if answer.failed and not answer.mid_stream:
            # A recorded HTTP error answers the SDK's retries of the call too, as it did then.
            return Failure(answer.status, answer.code, answer.message, timing=timing)
        if answer.failed:
            content = answer.content or ""
            return Failure(
                answer.status,
                answer.code,
                answer.message,
                # Every chunk but the finish chunk: the role chunk, then all the recorded content
                # (the last piece may be shorter than the others), then the error event.
                after_chunks=chunk_count(Outcome(content, None, (), "stop", {}), CHUNK_SIZE) - 1,
                content=content,
                timing=timing,
            )
        return Reply(
            answer.content,
            answer.reasoning,
            _tool_calls(call),
            answer.finish_reason,
            answer.usage,
            timing,
        )

    def _timing(self, call: RecordedCall) -> Timing:
        if self.pace is None or call.duration is None:
            return Timing(0.0, 0.0, CHUNK_SIZE)
        first = (call.first_chunk if call.first_chunk is not None else call.duration) * self.pace
        answer = call.answer
        outcome = Outcome(answer.content, answer.reasoning, _tool_calls(call), "stop", {})
        # The rest of the recorded duration spread over the chunks after the first, counted as
        # the fake will send them (thinking, content and tool-call pieces, the finish chunk).
        every = max(0.0, call.duration * self.pace - first) / (chunk_count(outcome, CHUNK_SIZE) - 1)
        return Timing(first, every, CHUNK_SIZE)


def _tool_calls(call: RecordedCall) -> tuple[ToolCall, ...]:
    return tuple(ToolCall(c["name"], c["arguments"], c["id"]) for c in call.answer.tool_calls)
