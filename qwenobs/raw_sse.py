"""A stream's raw body read the way the caller reads it: pieces of bytes, of text, or lines.

Pure: no SDK, no OpenTelemetry. ``RawEvents`` feeds every chunk event of the body to a
``StreamState``, so a stream read raw still gives its span usage, finish reasons and timings. When
qwenobs asked for the usage chunk, it also hides that event again: it then hands back whole events
less the usage-only one (cut to the caller's ``chunk_size``, if any), which is the body the server
sends when not asked. Otherwise each piece goes back exactly as it came.

Events end where the openai SDK ends them: at a blank line (``\\n\\n``, ``\\r\\r``, ``\\r\\n\\r\\n``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from .streaming import StreamState

KINDS = ("bytes", "text", "lines")
_ENDS_BYTES = (b"\r\r", b"\n\n", b"\r\n\r\n")
_ENDS_TEXT = ("\r\r", "\n\n", "\r\n\r\n")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")  # the SDK's line breaks (str.splitlines knows more)


class RawEvents:
    """One raw read of a stream's body: ``feed`` each piece, then ``end``; each returns the pieces
    to hand to the caller. After an error inside either, ``release`` returns what was held back,
    and every later piece passes through untouched."""

    __slots__ = (
        "_chunk_size",
        "_done",
        "_ends",
        "_held",
        "_hide",
        "_lines",
        "_on_error",
        "_open",
        "_out",
        "_released",
        "_usage_seen",
        "state",
    )

    def __init__(
        self,
        state: StreamState,
        hide_usage: bool,
        kind: str,
        chunk_size: int | None = None,
        on_error: Callable[[Exception], None] | None = None,
    ) -> None:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
        self.state = state
        self._hide = hide_usage  # qwenobs asked for the usage chunk; the caller did not
        self._lines = kind == "lines"
        self._ends = _ENDS_BYTES if kind == "bytes" else _ENDS_TEXT
        empty: Any = b"" if kind == "bytes" else ""
        self._held: Any = [] if self._lines else empty  # the event still arriving
        self._out: Any = empty  # kept events not yet handed back (less than one chunk_size)
        self._chunk_size = chunk_size or None
        self._on_error = on_error  # the state failed on a chunk (an internal error)
        self._done = False  # [DONE] seen: the SDK reads no further
        self._open: set[Any] | None = None  # choices begun and not finished; None before any
        self._released = False
        self._usage_seen = False

    def feed(self, piece: Any) -> list[Any]:
        """One piece as the SDK gave it; the pieces the caller gets now."""
        if self._released:
            return [piece]
        if self._lines:
            return self._feed_line(piece)
        events, rest = _split(self._held + piece, self._ends)
        kept = [event for event in events if self._keep(event)]
        self._held = rest
        if not self._hide:
            return [piece]
        return self._hand_back(self._out + self._out[:0].join(kept), final=False)

    def end(self, broken: bool = False) -> list[Any]:
        """The body ended (``broken``: on a transport error); the pieces still owed to the caller.
        A broken body owes no last piece shorter than ``chunk_size``: the SDK keeps that one."""
        if self._released:
            return []
        held = self._held
        if self._lines:
            keep = not held or self._keep("\n".join(held))
            self._held = []
            return held if self._hide and keep else []
        if broken and held and self._hide and self._open == set() and not self._usage_seen:
            # Cut off after every choice finished and before the usage event qwenobs asked for:
            # this is its start (DashScope sends it next, then [DONE]). Unasked, it never comes.
            keep = False
        else:
            keep = not held or self._keep(held)  # an unterminated last event
        self._held = held[:0]
        if not self._hide:
            return []
        return self._hand_back(self._out + held if keep else self._out, final=not broken)

    def release(self) -> list[Any]:
        """Everything received and not yet handed back, as it came (after an internal error)."""
        self._released = True
        if not self._hide:
            return []
        if self._lines:
            return list(self._held)
        rest = self._out + self._held
        return [rest] if rest else []

    def whole(self, body: Any) -> Any:
        """A body read at once (``read()``, ``text``): the body the caller gets."""
        return body[:0].join([*self.feed(body), *self.end()])

    # --- inside -----------------------------------------------------------------------------

    def _feed_line(self, line: str) -> list[str]:
        if line:  # one more line of the event still arriving
            self._held.append(line)
            return [] if self._hide else [line]
        event = self._held
        keep = not event or self._keep("\n".join(event))
        self._held = []
        if not self._hide:
            return [line]
        return [*event, line] if keep else []

    def _hand_back(self, out: Any, final: bool) -> list[Any]:
        size = self._chunk_size
        if size is None:
            self._out = out[:0]
            return [out] if out else []
        cut = len(out) if final else len(out) - len(out) % size
        self._out = out[cut:]
        return [out[i : i + size] for i in range(0, cut, size)]

    def _keep(self, event: Any) -> bool:
        """Observe one event; False for the usage-only chunk qwenobs asked for."""
        if self._done:
            return True
        if type(event) is bytes:
            try:
                event = event.decode("utf-8")
            except UnicodeDecodeError:
                return True
        data = _data(event)
        if data is None:
            return True
        if data.startswith("[DONE]"):
            self._done = True
            return True
        try:
            chunk = json.loads(data)
        except ValueError:
            return True
        if type(chunk) is not dict:
            return True
        choices = chunk.get("choices")
        usage_only = not choices and chunk.get("usage") is not None
        if choices and type(choices) is list:
            self._follow(choices)
        self._usage_seen = self._usage_seen or usage_only
        try:
            self.state.add(chunk)
        except Exception as exc:  # the caller still gets the event
            if self._on_error is not None:
                self._on_error(exc)
        return not (usage_only and self._hide)

    def _follow(self, choices: list) -> None:
        """Which choices have begun and not finished yet."""
        open_ = self._open if self._open is not None else set()
        for choice in choices:
            if type(choice) is dict:
                index = choice.get("index")
                index = index if type(index) is int else 0
                if choice.get("finish_reason"):
                    open_.discard(index)
                else:
                    open_.add(index)
        self._open = open_


def _split(buf: Any, ends: tuple) -> tuple[list[Any], Any]:
    """The complete events at the start of ``buf`` (each ending in a blank line) and the rest."""
    events = []
    start = end = 0
    for line in buf.splitlines(keepends=True):
        end += len(line)
        if buf.endswith(ends, start, end):
            events.append(buf[start:end])
            start = end
    return events, buf[start:]


def _data(event: str) -> str | None:
    """The event's data field (its ``data:`` lines joined), None when it has none."""
    data = None
    for line in _LINE_BREAK.split(event):
        name, _, value = line.partition(":")
        if name == "data":
            value = value[1:] if value.startswith(" ") else value
            data = value if data is None else f"{data}\n{value}"
    return data
