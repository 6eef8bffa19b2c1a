"""``FakeDashScope``: the engine plus its three ways in."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import checks
from ..extras import need
from .arguments import arguments
from .engine import EXTRA, Engine

if TYPE_CHECKING:
    from ..replay import Replay
    from .inprocess import FakeRouter
    from .server import FakeServer


class FakeDashScope(Engine):
    """A fake DashScope (OpenAI-compatible mode) that behaves like the real service.

    Script it with ``reply``/``fail`` (or per ``route``), reach it with ``client()``,
    ``intercept()`` or ``serve()``, and read what happened in ``calls``.
    """

    _router: FakeRouter | None = None
    replay: Replay | None = None  # set by from_trace

    @classmethod
    def from_trace(
        cls,
        source: str | Path,
        trace_id: str | None = None,
        *,
        conversation_id: str | None = None,
        json_as_data: bool = False,
        ignore: str | tuple[str, ...] | list[str] = (),
        pace: float | None = None,
        **options: Any,
    ) -> FakeDashScope:
        """A fake that answers like the captured conversation: each call the application makes
        gets the recorded answer of the call it repeats (content, reasoning, tool calls, usage, or
        the recorded error), once the application sent what it sent then.

        ``source``: OTLP/JSON span lines, ``phoenix://host:port``, a qwenobs cassette or a
        ``.replay.json`` file; ``trace_id``: optional when the source holds one trace or one
        conversation (``conversation_id``: a ``gen_ai.conversation.id`` to choose one).
        ``json_as_data``: compare JSON text as data; ``ignore``: places never compared (glob
        patterns such as ``"temperature"`` or ``"messages[*].parts[*].response"``; a lone str is
        one place); ``pace``: replay streams at the recorded pace times this factor (default and
        0: no waiting). ``options`` go to ``FakeDashScope(...)``. ``fake.replay.check()`` raises
        ``ReplayMismatch`` with every difference found; the ``qwen_replay`` pytest marker does it
        for you.
        """
        from ..replay import Replay, load
        from ..replay.player import settings

        where = "FakeDashScope.from_trace()"
        checks.text(where, "trace_id", trace_id)
        checks.text(where, "conversation_id", conversation_id)
        rules, pace = settings(where, json_as_data=json_as_data, ignore=ignore, pace=pace)
        recording = load(source, trace_id, conversation_id)
        replay = Replay(recording, rules, pace)
        fake = cls(**options)
        fake.replay = replay
        fake.script.responder = replay.answer
        return fake

    def client(self, **options: Any) -> Any:
        """An ``openai.OpenAI`` wired to the fake through an explicit transport (no patching).

        Defaults: a DashScope base URL, a placeholder API key and ``max_retries=0``; ``options``
        override them.
        """
        from .clients import engine_client

        return engine_client(self, is_async=False, **options)

    def async_client(self, **options: Any) -> Any:
        """An ``openai.AsyncOpenAI`` wired to the fake, like ``client()``."""
        from .clients import engine_client

        return engine_client(self, is_async=True, **options)

    @property
    def router(self) -> FakeRouter:
        """The respx router ``intercept()`` uses; routes added here take precedence."""
        if self._router is None:
            need("respx", EXTRA, "fake.router")
            from .inprocess import FakeRouter

            self._router = FakeRouter(self.handle)
        return self._router

    @arguments("fake.intercept()")
    @contextmanager
    def intercept(self, hosts: str | tuple[str, ...] | list[str] = ()) -> Iterator[FakeDashScope]:
        """Route every OpenAI SDK client's DashScope traffic in this process to the fake.

        DashScope hosts are ``*.aliyuncs.com`` and any URL with a ``/compatible-mode/`` path;
        ``hosts`` adds more (``"llm-proxy.internal"``, or a list). Other traffic passes through
        untouched.
        """
        need("respx", EXTRA, "fake.intercept()")
        from ..config import host_names
        from .inprocess import intercept

        with intercept(self.router, tuple(host_names(hosts, "fake.intercept()"))):
            yield self

    @arguments("fake.serve()")
    def serve(self, host: str = "127.0.0.1", port: int = 0) -> FakeServer:
        """A real HTTP server for the fake (aiohttp, on a background thread); use it as
        ``with fake.serve() as server:``. It binds 127.0.0.1; another ``host`` warns."""
        need("aiohttp", EXTRA, "fake.serve()")
        from .. import checks
        from .server import FakeServer

        checks.text("fake.serve()", "host", host, optional=False, empty=False)
        checks.integer("fake.serve()", "port", port, minimum=0, maximum=65535, optional=False)
        return FakeServer(self, host, port)
