"""``qwenobs serve``: the fake DashScope as a process, for apps in other processes, other
languages and containers.

Standard output carries one line, the base URL, once the server accepts requests; standard error
carries the log: a line at start, one per call, one at stop. SIGINT or SIGTERM stops it (exit 0).
Without a script file every call is answered with an echo of its last message.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import warnings
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from .extras import need
from .fake import Call, FakeDashScope, Request, Response
from .fake.faults import Cut
from .fake.script import Reply, describe
from .fake.script_file import EXTRA, ScriptFileError, load
from .fields import message_text
from .semconv import is_chat_path

EXIT_OK, EXIT_BAD_INPUT = 0, 2
ECHO_PREFIX = "You said: "


def main(
    host: str,
    port: int,
    script: Path | None,
    seed: int | None,
    *,
    out: TextIO | None = None,
    log: TextIO | None = None,
) -> int:
    out, log = out or sys.stdout, log or sys.stderr
    need("aiohttp", EXTRA, "qwenobs serve")
    from .fake.server import run

    def say(line: str) -> None:
        print(f"qwenobs serve: {line}", file=log, flush=True)

    if not 0 <= port <= 65535:
        say(f"--port takes 0 to 65535 (0: any free port), not {port}")
        return EXIT_BAD_INPUT
    if seed is not None and seed < 0:
        say(f"--seed takes a whole number, 0 or more, not {seed}")
        return EXIT_BAD_INPUT
    try:
        fake = load(script, seed=seed) if script is not None else echoing(seed)
    except ScriptFileError as exc:
        say(str(exc))
        return EXIT_BAD_INPUT
    backend = CallLog(fake, log, echo=script is None)

    def ready(url: str) -> None:
        print(url, file=out, flush=True)
        source = f"from {script} ({_counted(fake)})" if script else "with an echo of each call"
        say(
            f"the fake DashScope at {url} answers {source}; seed {fake.seed}. Ctrl+C or SIGTERM stops it."
        )

    with warnings.catch_warnings():  # a non-loopback --host warns: one line, like the rest
        warnings.showwarning = lambda message, *_, **__: say(f"warning: {message}")
        try:
            run(backend, host, port, ready=ready)
        except OSError as exc:  # the address is taken, or not this machine's
            say(f"cannot listen on {host} port {port}: {_reason(exc)}")
            return EXIT_BAD_INPUT
        except KeyboardInterrupt:  # Ctrl+C before the server took over the signal
            pass
    say(f"stopped after {len(fake.calls)} call{'s' * (len(fake.calls) != 1)}")
    return EXIT_OK


def echoing(seed: int | None) -> FakeDashScope:
    """The fake of ``qwenobs serve`` without a script file: every call is answered with the text
    of its last message, so an app in another process shows something real, and which of its
    messages got through."""
    fake = FakeDashScope(seed=seed)
    fake.script.responder = echo
    return fake


def echo(body: Mapping[str, Any]) -> Reply:
    messages = body.get("messages")
    last = messages[-1] if isinstance(messages, list) and messages else None
    text = message_text(last.get("content")) if isinstance(last, Mapping) else ""
    return Reply(ECHO_PREFIX + text)


class CallLog:
    """What the server answers from: the fake, with a log line for every call it answers."""

    def __init__(self, fake: FakeDashScope, log: TextIO, *, echo: bool) -> None:
        self.fake = fake
        self._log = log
        self._echo = echo

    @property
    def max_body(self) -> int:
        return self.fake.max_body

    def handle(self, request: Request) -> Response:
        response = self.fake.handle(request)
        # The server asks the engine for one answer at a time, so the last call is this one.
        calls = self.fake.calls
        print(line(len(calls), calls.last, echo=self._echo), file=self._log, flush=True)
        return response


def line(number: int, call: Call, *, echo: bool = False) -> str:
    """``12:00:01.123 #3 qwen-plus stream retry 1 -> 429 fail(429, times=1)``"""
    body = _body(call)
    asked = [f"#{number}"]
    if call.method != "POST" or not is_chat_path(call.path):
        asked.append(f"{call.method} {call.path}")
    elif body.get("model"):
        asked.append(str(body["model"]))
    if body.get("stream") is True:
        asked.append("stream")
    if call.attempt:
        asked.append(f"retry {call.attempt}")
    stamp = datetime.now().strftime("%H:%M:%S.%f")[:-3]
    return f"{stamp} {' '.join(asked)} -> {_answered(call, echo)}"


def _body(call: Call) -> Mapping[str, Any]:
    """The request body as a mapping, also when the fake refused the call before reading it (a
    missing API key); {} when it is not a JSON object."""
    body = call.json
    if body is None and call.request.body:
        try:
            body = json.loads(call.request.body)
        except ValueError:
            return {}
    return body if isinstance(body, Mapping) else {}


def _answered(call: Call, echo: bool) -> str:
    response = call.response
    if call.answer is None:  # a rule error, a wrong path, a dry script
        error = call.error or {}
        return f"{call.status} {error.get('code')}: {error.get('message')}"
    what = "echo" if echo else describe(call.answer)
    if response.cut is Cut.BEFORE_RESPONSE:
        return f"connection closed before the response: {what}"
    if response.cut is Cut.IN_BODY:
        return f"{call.status}, connection closed after {len(response.parts)} events: {what}"
    return f"{call.status} {what}"


def _reason(exc: OSError) -> str:
    if isinstance(exc, socket.gaierror) or not exc.errno:  # a host name that does not resolve
        return exc.strerror or str(exc)
    return os.strerror(exc.errno)  # without asyncio's "(while attempting to bind on ...)"


def _counted(fake: FakeDashScope) -> str:
    script = fake.script
    answers = sum(len(r.queued) + len(r.rated) for r in (*script.routes, script.default))
    routes = len(script.routes)
    return f"{answers} answer{'s' * (answers != 1)}, {routes} route{'s' * (routes != 1)}"
