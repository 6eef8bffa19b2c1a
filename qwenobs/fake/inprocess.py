"""``intercept()``: every httpx/httpx2 client in the process routed through ``fake.router`` (a
respx router).

Interception patches ``Client/AsyncClient._transport_for_url`` of httpx2 (openai 3.x) and of httpx
(openai 1.x/2.x) through respx ``Mocker`` subclasses. The transport they hand out is a plain
``BaseTransport``, never a ``MockTransport``: vcrpy patches ``MockTransport`` and the real transports,
so the fake keeps answering while a cassette is active, and pass-through traffic is still recorded.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any, ClassVar

import httpx
from respx import Route, Router
from respx.mocks import Mocker
from respx.models import PassThrough
from respx.patterns import Match, Pattern

from ..semconv import is_dashscope
from .clients import as_request, to_http
from .engine import Request, Response
from .pacing import PacedBody, adeliver, deliver

_DASHSCOPE_ROUTE = "qwenobs-dashscope"
_PASS_THROUGH_ROUTE = "qwenobs-pass-through"


# -- interception -----------------------------------------------------------------------------


class FakeRouter(Router):
    """``fake.router``: a respx router whose last routes send DashScope hosts to the fake and let
    everything else through untouched; routes users add with respx's DSL come before them."""

    _RESERVED = (_DASHSCOPE_ROUTE, _PASS_THROUGH_ROUTE)

    def __init__(self, handle: Callable[[Request], Response]) -> None:
        super().__init__(assert_all_called=False, assert_all_mocked=True)
        self._handle = handle
        self.set_hosts(())

    def set_hosts(self, hosts: tuple[str, ...] | list[str]) -> None:
        """Route what qwenobs traces as DashScope (``*.aliyuncs.com``, any ``/compatible-mode/``
        path) and ``hosts`` to the fake."""
        route = Route(_DashScopePattern(hosts)).mock(side_effect=self._respond)
        super().add(route, name=_DASHSCOPE_ROUTE)
        super().add(Route().pass_through(), name=_PASS_THROUGH_ROUTE)

    def add(self, route: Route, *, name: str | None = None) -> Route:
        route = super().add(route, name=name)
        if name not in self._RESERVED:
            for reserved in self._RESERVED:  # keep the fake's catch-alls behind user routes
                self.routes.add(self.routes.pop(reserved), name=reserved)
        return route

    def _respond(self, request: httpx.Request) -> httpx.Response:
        response = self._handle(
            as_request(request.method, request.url, request.headers, request.content)
        )
        # The bridge delivers the engine's response itself, with the client's own HTTP library.
        return httpx.Response(
            response.status, headers=list(response.headers), stream=PacedBody(response, httpx)
        )


class _DashScopePattern(Pattern):
    """A respx pattern for the hosts and paths ``instrument()`` treats as DashScope."""

    def __init__(self, hosts: tuple[str, ...] | list[str]) -> None:
        super().__init__(frozenset(host.lower() for host in hosts))

    def match(self, request: httpx.Request) -> Match:
        return Match(is_dashscope(request.url.host, request.url.path, self.value))


class _Bridge:
    """What the patched ``_transport_for_url`` returns: respx routes first, else the real one."""

    def __init__(self, http: ModuleType, mocker: type[Mocker], real: Any) -> None:
        self._http = http
        self._mocker = mocker
        self._real = real

    def handle_request(self, request: Any) -> Any:
        routed = self._route(request, request.read())
        try:
            answered = self._mocker.handler(routed)
        except PassThrough:
            return self._real.handle_request(request)
        if isinstance(answered.stream, PacedBody):  # the fake's own answer
            return deliver(self._http, answered.stream.response, request)
        return to_http(
            self._http, answered.status_code, answered.headers.raw, iter(answered.stream)
        )

    async def handle_async_request(self, request: Any) -> Any:
        routed = self._route(request, await request.aread())
        try:
            answered = await self._mocker.async_handler(routed)
        except PassThrough:
            return await self._real.handle_async_request(request)
        if isinstance(answered.stream, PacedBody):
            return await adeliver(self._http, answered.stream.response, request)
        body = answered.stream.__aiter__()
        return to_http(self._http, answered.status_code, answered.headers.raw, body)

    @staticmethod
    def _route(request: Any, body: bytes) -> httpx.Request:
        # respx routes match httpx requests; httpx2's are a different class.
        return httpx.Request(
            request.method, str(request.url), headers=request.headers.raw, content=body
        )

    def close(self) -> None:
        self._real.close()

    async def aclose(self) -> None:
        await self._real.aclose()


class _BridgeMocker(Mocker):
    library: ClassVar[str]

    @classmethod
    def mock(cls, spec: Callable[..., Any]) -> Callable[..., Any]:
        http = importlib.import_module(cls.library)

        def _transport_for_url(self: Any, url: Any) -> Any:
            return _Bridge(http, cls, spec(self, url))

        return _transport_for_url

    @classmethod
    def available(cls) -> bool:
        return importlib.util.find_spec(cls.library) is not None


def _mocker(name: str, library: str) -> type[_BridgeMocker]:
    """The bridge mocker for one HTTP library. respx registers mockers by unique name when the
    class is created, so a re-import (importlib.reload, pytester's in-process runs) reuses it."""
    registered = Mocker.registry.get(name)
    if registered is not None:
        return registered
    attrs = {
        "name": name,
        "library": library,
        "targets": [f"{library}._client.Client", f"{library}._client.AsyncClient"],
        "target_methods": ["_transport_for_url"],
    }
    return type(f"{library.capitalize()}Mocker", (_BridgeMocker,), attrs)


Httpx2Mocker = _mocker("qwenobs-httpx2", "httpx2")
HttpxMocker = _mocker("qwenobs-httpx", "httpx")


@contextmanager
def intercept(router: FakeRouter, hosts: tuple[str, ...]) -> Iterator[None]:
    """Send every httpx2 and httpx client's DashScope traffic through ``router`` meanwhile."""
    router.set_hosts(hosts)
    mockers = [m for m in (Httpx2Mocker, HttpxMocker) if m.available()]
    for mocker in mockers:
        mocker.register(router)
        mocker.start()
    try:
        yield
    finally:
        for mocker in mockers:
            mocker.unregister(router)
            mocker.stop()
