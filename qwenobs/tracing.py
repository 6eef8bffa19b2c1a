"""The OpenTelemetry API calls that chat, agent and tool spans share."""

from __future__ import annotations

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, Status, StatusCode

from . import semconv as sc


def activate(span: Span) -> object:
    """Make ``span`` current (spans started meanwhile nest under it); detach the returned token."""
    return otel_context.attach(trace.set_span_in_context(span))


def deactivate(token: object) -> None:
    otel_context.detach(token)


def record_error(span: Span, error: BaseException) -> str:
    """Set ``error.type``, the exception as an event, and status ERROR; returns the error type."""
    kind = type(error).__qualname__
    span.set_attribute(sc.ERROR_TYPE, kind)
    span.record_exception(error)
    span.set_status(Status(StatusCode.ERROR, str(error)[:500]))
    return kind
