"""OpenAI SDK clients wired to the fake, for every front end (a placeholder key, no retries), and
the transport ``fake.client()`` uses: the engine answers straight, with nothing patched."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import ModuleType
from typing import TYPE_CHECKING, Any

from ..openai_sdk import http as sdk_http
from .engine import Request, Response
from .pacing import adeliver, deliver

if TYPE_CHECKING:
    from .engine import Engine

DASHSCOPE_BASE_URL = "https://dashscope-intl.aliyuncs.com/compatible-mode/v1"
FAKE_API_KEY = "sk-qwenobs-fake"


def make_client(*, is_async: bool, http: Mapping[str, Any], **options: Any) -> Any:
    """An ``openai.OpenAI`` (or ``AsyncOpenAI``) with ``options`` (``base_url`` first of all) over
    the defaults. ``http`` goes to the SDK's own HTTP client (a transport, ``trust_env``)."""
    import openai

    http_client = (openai.DefaultAsyncHttpxClient if is_async else openai.DefaultHttpxClient)(
        **http
    )
    settings = {
        "api_key": FAKE_API_KEY,
        # One attempt per call: fake.calls reads one line per call, and a drop or a stall fails
        # at once instead of after the SDK's backoff (no Retry-After without a response). Tests of
        # retry logic pass max_retries.
        "max_retries": 0,
        "http_client": http_client,
        **options,
    }
    return (openai.AsyncOpenAI if is_async else openai.OpenAI)(**settings)


def as_request(method: str, url: Any, headers: Any, body: bytes) -> Request:
    return Request.of(method, url.path, headers.multi_items(), body)


def to_http(http: ModuleType, status: int, headers: Any, body: Any) -> Any:
    return http.Response(status, headers=headers, content=body)


class EngineTransport:
    """A sync and async transport answering from the engine, with no patching anywhere."""

    def __init__(self, http: ModuleType, handle: Callable[[Request], Response]) -> None:
        self._http = http
        self._handle = handle

    def handle_request(self, request: Any) -> Any:
        body = request.read()
        response = self._handle(as_request(request.method, request.url, request.headers, body))
        return deliver(self._http, response, request)

    async def handle_async_request(self, request: Any) -> Any:
        body = await request.aread()
        response = self._handle(as_request(request.method, request.url, request.headers, body))
        return await adeliver(self._http, response, request)

    def close(self) -> None:
        pass

    async def aclose(self) -> None:
        pass


def engine_client(engine: Engine, *, is_async: bool, **options: Any) -> Any:
    """An ``OpenAI``/``AsyncOpenAI`` wired to ``engine``; ``options`` override the defaults."""
    transport = EngineTransport(sdk_http, engine.handle)
    options = {"base_url": DASHSCOPE_BASE_URL, **options}
    return make_client(is_async=is_async, http={"transport": transport}, **options)
