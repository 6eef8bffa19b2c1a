"""Shared fixtures: instrumentation on for one test (the plugin's in-memory pipelines), and the fake."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from pytest_qwenobs.spans import QwenSpans

from qwenobs.fake import FakeDashScope


class Telemetry(QwenSpans):
    """The plugin's ``qwen_spans`` helpers, with the short names these tests use."""

    def spans(self) -> list[ReadableSpan]:
        return list(self.all())

    def span(self) -> ReadableSpan:
        spans = self.all()
        assert len(spans) == 1, spans
        return spans[0]

    def points(self, name: str) -> list[Any]:
        return self._metrics().get(name, [])


@pytest.fixture
def telemetry() -> Iterator[Telemetry]:
    t = Telemetry()
    t.instrument()
    yield t
    t.close()


@pytest.fixture
def fake() -> FakeDashScope:
    return FakeDashScope()
