"""Hook specifications the plugin adds (``pytest_addhooks``); implement them in a conftest.py."""

from __future__ import annotations

from typing import Any


def pytest_qwen_fake_created(fake: Any, request: Any) -> None:
    """Called with every new per-test ``FakeDashScope`` (of ``qwen_fake`` and ``qwen_server``)
    before the test sees it: script default replies or routes for the whole suite here.

    :param fake: the ``qwenobs.fake.FakeDashScope``.
    :param request: the test's ``pytest.FixtureRequest``.
    """
