"""Stream proxies for the openai SDK: what a traced stream call hands back to the user.

They stay an ``openai.Stream`` / ``AsyncStream`` (wrapt forwards everything else, isinstance
included) and keep their state in ``_self_*``. Each chunk feeds the call's ``StreamState``; the
call's span ends exactly once: on exhaustion, close, ``with`` exit, an error, a cancelled task, or
garbage collection of an abandoned stream.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import wrapt

from .streaming import is_usage_only

if TYPE_CHECKING:
    from .lifecycle import TracedCall


class _TracedStreamBase(wrapt.ObjectProxy):
    def __init__(self, stream: Any, call: TracedCall) -> None:
        super().__init__(stream)
        state = call.new_stream()
        self._self_call = call
        self._self_state = state
        self._self_add = state.add  # bound once: this runs for every chunk
        self._self_hide_usage = (
            call.hide_usage
        )  # qwenobs asked for the usage chunk; the user did not
        self._self_ended = False

    def _self_failed(self, chunk: Any, exc: Exception) -> bool:
        """Observing ``chunk`` raised: log it; True when the user must still not see it."""
        self._self_call.stream_chunk_failed(exc)
        # Still hide the chunk qwenobs asked for: the user must see what they asked for.
        return is_usage_only(chunk) and self._self_hide_usage

    def _self_end(self, how: str, error: BaseException | None = None) -> None:
        if self._self_ended:
            return
        self._self_ended = True
        self._self_call.end_stream(self._self_state, how, error)

    def __del__(self) -> None:
        if not self._self_ended:
            self._self_end("abandoned")

    def __reduce_ex__(self, protocol: int) -> Any:  # pragma: no cover - streams never pickle
        return self.__wrapped__.__reduce_ex__(protocol)


class TracedStream(_TracedStreamBase):
    def __iter__(self) -> TracedStream:
        return self

    def __next__(self) -> Any:
        while True:
            try:
                chunk = self.__wrapped__.__next__()
            except StopIteration:
                self._self_end("exhausted")
                raise
            except BaseException as exc:  # recorded on the span, then passed through unchanged
                self._self_end("error", exc)
                raise
            # Observed inline, not through a helper: this runs for every chunk.
            try:
                hide = self._self_add(chunk) and self._self_hide_usage
            except Exception as exc:
                hide = self._self_failed(chunk, exc)
            if not hide:
                return chunk

    def __enter__(self) -> TracedStream:
        self.__wrapped__.__enter__()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def close(self) -> None:
        self._self_end("closed")
        self.__wrapped__.close()


class TracedAsyncStream(_TracedStreamBase):
    def __aiter__(self) -> TracedAsyncStream:
        return self

    async def __anext__(self) -> Any:
        while True:
            try:
                chunk = await self.__wrapped__.__anext__()
            except StopAsyncIteration:
                self._self_end("exhausted")
                raise
            except asyncio.CancelledError as exc:
                self._self_end("cancelled", exc)
                raise
            except BaseException as exc:  # recorded on the span, then passed through unchanged
                self._self_end("error", exc)
                raise
            # Observed inline, not through a helper: this runs for every chunk.
            try:
                hide = self._self_add(chunk) and self._self_hide_usage
            except Exception as exc:
                hide = self._self_failed(chunk, exc)
            if not hide:
                return chunk

    async def __aenter__(self) -> TracedAsyncStream:
        await self.__wrapped__.__aenter__()
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.close()

    async def close(self) -> None:
        self._self_end("closed")
        await self.__wrapped__.close()

    async def aclose(self) -> None:
        await self.close()
