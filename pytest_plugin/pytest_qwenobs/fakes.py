"""The per-test fakes behind ``qwen_fake`` and ``qwen_server``: settings from the
``qwen_fake_config`` fixture and the ``qwen_fake`` marker, the unused-replies check, and the
session server whose script and call log change with every test."""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qwenobs.semconv import is_chat_path

if TYPE_CHECKING:
    from qwenobs.fake import Call, FakeDashScope, Response
    from qwenobs.fake.engine import Request
    from qwenobs.fake.server import FakeServer

    from .options import OptionMistake

# Settings the plugin reads; every other key goes to ``FakeDashScope(...)``.
PLUGIN_KEYS = ("allow_unused", "hosts")


@dataclass(frozen=True)
class FakeSettings:
    fake_kwargs: Mapping[str, Any]
    allow_unused: bool = False
    hosts: tuple[str, ...] = ()
    origins: Mapping[str, str] = field(default_factory=dict)  # option -> where the user wrote it

    @classmethod
    def merge(cls, config: Mapping[str, Any], marker: Mapping[str, Any]) -> FakeSettings:
        """The marker's options win over the ``qwen_fake_config`` fixture's; a wrong value
        raises ``OptionMistake`` naming the one of the two it came from."""
        from qwenobs.checks import wrong_type
        from qwenobs.config import host_names

        from .options import CONFIG_FAKE, MARKER_FAKE, OptionMistake

        merged = {**config, **marker}
        origins = {key: MARKER_FAKE if key in marker else CONFIG_FAKE for key in merged}
        kwargs = {k: v for k, v in merged.items() if k not in PLUGIN_KEYS}
        allow_unused = merged.get("allow_unused", False)
        if not isinstance(allow_unused, bool):
            where = origins["allow_unused"]
            raise OptionMistake(
                str(wrong_type(where, "allow_unused", allow_unused, "True or False"))
            )
        try:
            hosts = tuple(host_names(merged.get("hosts", ()), origins.get("hosts", MARKER_FAKE)))
        except (TypeError, ValueError) as exc:
            raise OptionMistake(str(exc)) from None
        return cls(kwargs, allow_unused, hosts, origins)

    def mistake(self, error: Exception) -> OptionMistake | None:
        """``FakeDashScope(...)``'s error about one of these options, naming the marker or the
        fixture it was written in (None: not about an option)."""
        from .options import MARKER_FAKE, reworded

        return reworded(
            error, "FakeDashScope()", lambda option: self.origins.get(option, MARKER_FAKE)
        )


def unused_answers(fake: FakeDashScope) -> list[str]:
    """One line per scripted answer nothing asked for (repeating default answers excluded)."""
    from qwenobs.fake.script import describe

    lines = []
    for route in (*fake.script.routes, fake.script.default):
        where = "fake" if route is fake.script.default else str(route)
        for answer, repeat in route.queued:
            if not repeat:
                lines.append(f"{where}: .{describe(answer)}")
    return lines


def unused_message(lines: list[str], fixture: str) -> str:
    return "\n".join(
        [
            f"{fixture}: {len(lines)} scripted answer(s) were never requested:",
            *(f"  {line}" for line in lines),
            "Remove them, or allow it with @pytest.mark.qwen_fake(allow_unused=True).",
        ]
    )


# -- the session server ---------------------------------------------------------------------


class Switchboard:
    """What the session's loopback server answers with: the current test's fake, after any
    recorded responses queued with ``qwen_server.play``. Between tests a fresh fake answers."""

    def __init__(self, fake: FakeDashScope) -> None:
        self._idle = fake
        self.fake = fake
        self.played: deque[Response] = deque()
        self._lock = threading.Lock()

    @property
    def max_body(self) -> int:
        return self.fake.max_body

    def plug(self, fake: FakeDashScope) -> None:
        with self._lock:
            self.fake = fake
            self.played.clear()

    def unplug(self) -> None:
        self.plug(self._idle)

    def queue(self, responses: list[Response]) -> None:
        with self._lock:
            self.played.extend(responses)

    def handle(self, request: Request) -> Response:
        with self._lock:
            fake = self.fake
            chat = request.method == "POST" and is_chat_path(request.path)
            played = self.played.popleft() if self.played and chat else None
        if played is None:
            return fake.handle(request)
        fake.calls.append(_played_call(request, played))
        return played


def _played_call(request: Request, response: Response) -> Call:
    import json

    from qwenobs.fake import Call

    try:
        body = json.loads(request.body)
    except ValueError:
        body = None
    return Call(request, body, response, None)


class QwenServer:
    """``qwen_server``: the session's loopback fake DashScope, scripted for this test.

    Script it like ``qwen_fake`` (``reply``, ``fail``, ``drop``, ``stall``, ``route``), read ``calls``, and connect
    any HTTP client to ``base_url`` (or take ``client()``/``async_client()``). ``play(path)``
    queues the responses of a cassette to be served in order, paced like the fake's streams.
    """

    def __init__(
        self, server: FakeServer, board: Switchboard, fake: FakeDashScope, test_file: Path
    ) -> None:
        self._server = server
        self._board = board
        self._test_file = test_file  # play()'s relative paths start next to it
        self.fake = fake
        self.reply = fake.reply
        self.fail = fake.fail
        self.drop = fake.drop
        self.stall = fake.stall
        self.route = fake.route
        self.played_paths: list[Path] = []  # the cassettes play() served, for the cassette lint

    @property
    def calls(self) -> Any:
        return self.fake.calls

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/compatible-mode/v1``"""
        return self._server.base_url

    def client(self, **options: Any) -> Any:
        """An ``openai.OpenAI`` for ``base_url`` (``max_retries=0``; ``options`` override)."""
        return self._server.client(**options)

    def async_client(self, **options: Any) -> Any:
        return self._server.async_client(**options)

    def play(
        self,
        cassette: str | os.PathLike[str],
        *,
        first_chunk_delay: float | None = None,
        chunk_delay: float | None = None,
    ) -> int:
        """Serve a cassette's recorded responses, one per chat request, in recorded order.

        ``cassette``: a path relative to the test's file (as ``qwen_cassette`` and
        ``qwen_replay`` read theirs), or absolute. Recorded streams go out event by event after
        ``first_chunk_delay`` and ``chunk_delay`` (default: the fake's timing); a JSON answer
        after ``first_chunk_delay``. Requests are not matched against the recording. Returns how
        many responses were queued; ones never requested fail the test like unused replies. A
        missing or unreadable cassette fails the test with one line naming it.
        """
        __tracebackhide__ = True
        from qwenobs import checks

        where = "qwen_server.play()"
        if not isinstance(cassette, str | os.PathLike):
            raise checks.wrong_type(where, "cassette", cassette, "a str or a path")
        checks.seconds(where, "first_chunk_delay", first_chunk_delay)
        checks.seconds(where, "chunk_delay", chunk_delay)
        from .cassettes import resolve_path

        path = resolve_path(self._test_file, cassette)
        timing = self.fake.timing
        first = timing.first_chunk_delay if first_chunk_delay is None else first_chunk_delay
        every = timing.chunk_delay if chunk_delay is None else chunk_delay
        responses = _recorded(path, Path(cassette), self._test_file, first, every)
        self.played_paths.append(path)
        self._board.queue(responses)
        return len(responses)

    @property
    def pending_played(self) -> int:
        """Recorded responses from ``play`` still waiting for a request."""
        return len(self._board.played)


def _recorded(path: Path, given: Path, test_file: Path, first: float, every: float) -> list[Any]:
    """The responses of the cassette at ``path``, or the test failed with one line saying why."""
    __tracebackhide__ = True
    import pytest

    from qwenobs.fake.playback import recorded_responses

    from .cassettes import shown

    if not path.is_file():
        message = f"qwen_server.play: no cassette at {shown(path)}"
        if not given.is_absolute():
            message += f" (a relative path starts next to the test file, {shown(test_file)})"
            from_cwd = Path.cwd() / given
            if from_cwd.is_file():  # where play() used to look: say how to reach it now
                moved = os.path.relpath(from_cwd, test_file.parent)
                message += f"; {given} from the working directory is play({moved!r})"
        pytest.fail(message, pytrace=False)
    try:
        return recorded_responses(path, first, every)
    except Exception:  # vcrpy's loader fails in many ways on a file that is no cassette
        from qwenobs.cassettes import NotACassette, read

        try:
            read(path)
        except NotACassette as exc:
            pytest.fail(f"qwen_server.play: {exc}", pytrace=False)
        raise
