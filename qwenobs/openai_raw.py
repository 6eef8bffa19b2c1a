"""Raw-response proxies for the openai SDK: what ``with_raw_response`` and
``with_streaming_response`` hand back, traced.

They stay the SDK's own response objects (wrapt forwards everything else, isinstance included).
What the caller parses becomes a traced stream or completion. A stream read raw is observed as it
is read (``read``/``text`` and ``iter_bytes``/``iter_text``/``iter_lines``; the legacy
``content``/``text``), and the usage-only event qwenobs asked for is held back, as the parsed
stream holds back its chunk. ``iter_raw`` (the wire's bytes, possibly gzip) and ``http_response``
are the HTTP library's own and stay untouched.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

import wrapt

from . import openai_sdk as sdk
from .openai_streams import TracedAsyncStream, TracedStream
from .raw_sse import RawEvents

if TYPE_CHECKING:
    from .lifecycle import TracedCall
    from .streaming import StreamState


def _observe_parsed(call: TracedCall, parsed: Any) -> Any:
    """A raw response was parsed by the user: a stream to trace, or the completion."""
    if isinstance(parsed, sdk.Stream):
        return TracedStream(parsed, call)
    if isinstance(parsed, sdk.AsyncStream):
        return TracedAsyncStream(parsed, call)
    call.end_completion(parsed)
    return parsed


class _TracedRawBase(wrapt.ObjectProxy):
    def __init__(self, response: Any, call: TracedCall) -> None:
        super().__init__(response)
        self._self_call = call
        self._self_parsed: dict[int, Any] = {}
        self._self_read: dict[int, Any] = {}  # bodies read at once: id -> (as read, as handed back)
        self._self_state: StreamState | None = None  # what the raw reads of a stream showed

    def _self_observe(self, parsed: Any) -> Any:
        key = id(parsed)
        known = self._self_parsed.get(key)
        if known is not None:
            return known[1]
        try:
            traced = _observe_parsed(self._self_call, parsed)
        except Exception as exc:
            self._self_call.telemetry.log_once("observing a parsed response", exc)
            self._self_call.end_quietly()
            traced = parsed
        self._self_parsed[key] = (parsed, traced)  # keeps parsed alive so its id stays unique
        return traced

    # --- a stream read raw ------------------------------------------------------------------

    def _self_events(self, kind: str, chunk_size: int | None = None) -> RawEvents | None:
        """The reader for one raw read of a stream's body; None leaves the read untouched."""
        call = self._self_call
        if not call.stream:
            return None
        try:
            if self._self_state is None:
                self._self_state = call.new_stream()
            return RawEvents(
                self._self_state, call.hide_usage, kind, chunk_size, call.stream_chunk_failed
            )
        except Exception as exc:
            call.telemetry.log_once("reading a raw stream", exc)
            return None

    def _self_whole(self, body: Any, kind: str) -> Any:
        """A body read at once: observed (the span ends), the usage event qwenobs asked for hidden."""
        known = self._self_read.get(id(body))
        if known is not None and known[0] is body:
            return known[1]
        events = self._self_events(kind)
        if events is None:
            return body
        try:
            out = events.whole(body)
        except Exception as exc:
            self._self_call.telemetry.log_once("reading a raw stream", exc)
            out = body
        self._self_read[id(body)] = (body, out)
        self._self_finish("exhausted")
        return out

    def _self_feed(self, events: RawEvents, piece: Any) -> list[Any]:
        try:
            return events.feed(piece)
        except Exception as exc:
            return self._self_give_up(events, exc, [piece])

    def _self_last(self, events: RawEvents, error: BaseException | None = None) -> list[Any]:
        """The body ended, or broke off with ``error``: end the span; what the caller is owed."""
        self._self_finish("exhausted" if error is None else "error", error)
        try:
            return events.end(broken=error is not None)
        except Exception as exc:
            return self._self_give_up(events, exc, [])

    def _self_give_up(self, events: RawEvents, exc: Exception, pieces: list[Any]) -> list[Any]:
        """An internal error: hand back what was held, then let pieces through (logged once)."""
        self._self_call.telemetry.log_once("reading a raw stream", exc)
        try:
            held = events.release()
        except Exception:
            held = []
        return [*held, *pieces]

    def _self_pieces(self, pieces: Iterator[Any], events: RawEvents) -> Iterator[Any]:
        while True:
            try:
                piece = next(pieces)
            except StopIteration:
                break
            except Exception as exc:  # recorded on the span, then passed through unchanged
                yield from self._self_last(events, exc)  # what the bare SDK had handed over
                raise
            except BaseException as exc:
                self._self_finish("error", exc)
                raise
            yield from self._self_feed(events, piece)
        yield from self._self_last(events)

    def _self_finish(self, how: str, error: BaseException | None = None) -> None:
        """End the span unless a parsed result owns it: a stream's with what its reads showed."""
        call = self._self_call
        if call.ended or self._self_parsed:
            return
        if not call.stream:
            if error is None:
                call.end_quietly()
            else:
                call.fail(error)
            return
        try:
            state = self._self_state
            if state is None:
                state = self._self_state = call.new_stream()
        except Exception as exc:
            call.telemetry.log_once("reading a raw stream", exc)
            call.end_quietly()
            return
        call.end_stream(state, how, error)

    def __del__(self) -> None:
        self._self_finish("abandoned")


class TracedLegacyRawResponse(_TracedRawBase):
    """``with_raw_response`` (sync and async clients): ``parse()``, ``content`` and ``text``."""

    def parse(self, *args: Any, **kwargs: Any) -> Any:
        return self._self_observe(self.__wrapped__.parse(*args, **kwargs))

    @property
    def content(self) -> bytes:
        return self._self_whole(self.__wrapped__.content, "bytes")

    @property
    def text(self) -> str:
        return self._self_whole(self.__wrapped__.text, "text")


class TracedRawResponse(_TracedRawBase):
    """``with_streaming_response`` (sync): the span follows what the user parses or reads."""

    def parse(self, *args: Any, **kwargs: Any) -> Any:
        return self._self_observe(self.__wrapped__.parse(*args, **kwargs))

    def read(self) -> bytes:
        return self._self_whole(self._self_reading(self.__wrapped__.read), "bytes")

    def text(self) -> str:
        return self._self_whole(self._self_reading(self.__wrapped__.text), "text")

    def iter_bytes(self, chunk_size: int | None = None) -> Iterator[bytes]:
        return self._self_iter(self.__wrapped__.iter_bytes(chunk_size), "bytes", chunk_size)

    def iter_text(self, chunk_size: int | None = None) -> Iterator[str]:
        return self._self_iter(self.__wrapped__.iter_text(chunk_size), "text", chunk_size)

    def iter_lines(self) -> Iterator[str]:
        return self._self_iter(self.__wrapped__.iter_lines(), "lines")

    def close(self) -> None:
        self.__wrapped__.close()
        self._self_finish("closed")

    def _self_reading(self, read: Any) -> Any:
        try:
            return read()
        except BaseException as exc:  # recorded on the span, then passed through unchanged
            self._self_finish("error", exc)
            raise

    def _self_iter(self, pieces: Iterator[Any], kind: str, chunk_size: int | None = None) -> Any:
        events = self._self_events(kind, chunk_size)
        return pieces if events is None else self._self_pieces(pieces, events)


class TracedAsyncRawResponse(_TracedRawBase):
    """``with_streaming_response`` (async)."""

    async def parse(self, *args: Any, **kwargs: Any) -> Any:
        return self._self_observe(await self.__wrapped__.parse(*args, **kwargs))

    async def read(self) -> bytes:
        return self._self_whole(await self._self_reading(self.__wrapped__.read), "bytes")

    async def text(self) -> str:
        return self._self_whole(await self._self_reading(self.__wrapped__.text), "text")

    def iter_bytes(self, chunk_size: int | None = None) -> AsyncIterator[bytes]:
        return self._self_iter(self.__wrapped__.iter_bytes(chunk_size), "bytes", chunk_size)

    def iter_text(self, chunk_size: int | None = None) -> AsyncIterator[str]:
        return self._self_iter(self.__wrapped__.iter_text(chunk_size), "text", chunk_size)

    def iter_lines(self) -> AsyncIterator[str]:
        return self._self_iter(self.__wrapped__.iter_lines(), "lines")

    async def close(self) -> None:
        await self.__wrapped__.close()
        self._self_finish("closed")

    async def _self_reading(self, read: Any) -> Any:
        try:
            return await read()
        except BaseException as exc:  # recorded on the span, then passed through unchanged
            self._self_finish("error", exc)
            raise

    def _self_iter(
        self, pieces: AsyncIterator[Any], kind: str, chunk_size: int | None = None
    ) -> Any:
        events = self._self_events(kind, chunk_size)
        return pieces if events is None else self._self_apieces(pieces, events)

    async def _self_apieces(
        self, pieces: AsyncIterator[Any], events: RawEvents
    ) -> AsyncIterator[Any]:
        while True:
            try:
                piece = await pieces.__anext__()
            except StopAsyncIteration:
                break
            except Exception as exc:  # recorded on the span, then passed through unchanged
                for out in self._self_last(events, exc):  # what the bare SDK had handed over
                    yield out
                raise
            except asyncio.CancelledError as exc:
                self._self_finish("cancelled", exc)
                raise
            except BaseException as exc:
                self._self_finish("error", exc)
                raise
            for out in self._self_feed(events, piece):
                yield out
        for out in self._self_last(events):
            yield out
