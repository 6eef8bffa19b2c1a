"""Every exception qwenobs raises on purpose, each defined here once and exported from ``qwenobs``.

Importing this module imports nothing heavy, so the pure layers (tokens, validation) raise from
here too. ``QwenValidationError`` is an ``openai.BadRequestError``; its class is built from the
openai SDK the first time it is asked for, which keeps the openai import out of those layers.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import openai

    from .validation.findings import Finding

    class QwenValidationError(openai.BadRequestError):
        findings: list[Finding]

        def __init__(self, findings: Sequence[Finding], url: str = ...) -> None: ...


__all__ = [
    "AgentBudgetError",
    "AgentLoopError",
    "MissingExtra",
    "QwenValidationError",
    "TokenizerUnavailable",
]


class MissingExtra(ImportError):
    """A feature needs an optional dependency; the message names the extra that installs it."""

    def __init__(self, extra: str, what: str) -> None:
        self.extra = extra
        self.what = what  # what needs it, without the install hint
        super().__init__(f"{what}: pip install 'qwenobs[{extra}]'")


class TokenizerUnavailable(MissingExtra):
    """The Qwen vocabulary is not installed: token counts need the ``tokens`` extra."""


class AgentLoopError(RuntimeError):
    """An agent loop went past a guard of ``qwenobs.agent``: ``max_rounds`` model calls made
    without a final answer, or a repeated tool call with ``on_repeat="raise"``. Raised before the
    next chat call is sent."""

    def __init__(
        self,
        name: str,
        rounds: int,
        max_rounds: int | None,
        repeated: Mapping[str, int],
        reason: str | None = None,
    ) -> None:
        self.rounds, self.max_rounds, self.repeated = rounds, max_rounds, dict(repeated)
        detail = ", ".join(f"{call} x{n}" for call, n in self.repeated.items()) or "none"
        if reason is None:
            reason = (
                f"agent {name!r} made {rounds} model calls (max_rounds={max_rounds}) and the "
                "model still asks for tools"
            )
            fix = (
                "Raise max_rounds, pass answer_after=N to make the model answer after N rounds, "
                "or on_repeat='reuse' to answer repeated calls from their first result."
            )
        else:  # on_repeat="raise"
            fix = (
                "Feed the model what the first call returned, or pass on_repeat='reuse' to "
                "answer repeated calls from their first result (or 'count' to only count them)."
            )
        super().__init__(f"{reason}; repeated tool calls: {detail}. {fix}")


class AgentBudgetError(RuntimeError):
    """A spending limit (``qwenobs.agent(max_cost=...)``, ``qwenobs.budget(...)`` or
    ``instrument(budget=...)``) is used up, or a call would be billed in another currency than the
    limit's; raised before the call is sent."""

    def __init__(self, budget: str, limit: float, spent: float, currency: str, reason: str) -> None:
        self.budget, self.limit, self.spent, self.currency = budget, limit, spent, currency
        super().__init__(
            f"{budget} ({limit:g} {currency}, {spent:.6g} {currency} spent): {reason}; the call "
            "was not sent."
        )


def _validation_error_class() -> type:
    from . import openai_sdk

    class QwenValidationError(openai_sdk.BadRequestError):
        """DashScope would reject this request with a 400; qwenobs stopped it before anything
        was sent.

        It is an ``openai.BadRequestError`` (status 400, code ``invalid_parameter_error``), so
        existing ``except openai.BadRequestError`` handlers keep working. ``.findings`` lists
        every problem.
        """

        def __init__(
            self, findings: Sequence[Finding], url: str = "https://dashscope.aliyuncs.com/"
        ) -> None:
            self.findings = list(findings)
            lines = [
                "qwenobs stopped this request before sending; DashScope would reject it with "
                "HTTP 400:"
            ]
            lines += [f"  - {f}" for f in self.findings]
            lines.append("(validate='warn' or QWENOBS_VALIDATE=warn sends it anyway)")
            message = "\n".join(lines)
            body = {
                "code": "invalid_parameter_error",
                "param": self.findings[0].param if self.findings else None,
                "message": message,
                "type": "invalid_request_error",
            }
            request = openai_sdk.http.Request("POST", url)
            response = openai_sdk.http.Response(400, request=request, json={"error": body})
            super().__init__(message, response=response, body=body)

    # Named as if defined at module level, so it pickles and reprs like any other class here.
    QwenValidationError.__module__ = __name__
    QwenValidationError.__qualname__ = "QwenValidationError"
    return QwenValidationError


_build_lock = threading.Lock()


def __getattr__(name: str) -> Any:
    if name != "QwenValidationError":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    with _build_lock:  # one class for every thread, so `except` clauses always match
        built = globals().get(name)
        if built is None:
            built = globals()[name] = _validation_error_class()
    return built
