"""A faithful fake DashScope: one pure engine behind in-process clients, interception and a
loopback server. See ``FakeDashScope``."""

from __future__ import annotations

from .dashscope import FakeDashScope
from .engine import Call, Calls, Request, Response
from .script import Route

__all__ = ["Call", "Calls", "FakeDashScope", "Request", "Response", "Route"]
