"""qwenobs: observability and testing for Qwen (DashScope) calls made through the OpenAI SDK."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .budgets import budget
from .catalog import DEFAULT_CATALOG, Catalog, ModelInfo
from .conversations import conversation
from .cost import Cost, cost
from .errors import AgentBudgetError, AgentLoopError, MissingExtra, TokenizerUnavailable
from .tokens import count_tokens, estimate_prompt_tokens
from .validation import RULES, Finding, validate
from .version import __version__

if TYPE_CHECKING:
    from .agents import agent, tool
    from .errors import QwenValidationError
    from .instrumentor import Instrumentation, QwenInstrumentor

__all__ = [
    "DEFAULT_CATALOG",
    "RULES",
    "AgentBudgetError",
    "AgentLoopError",
    "Catalog",
    "Cost",
    "Finding",
    "MissingExtra",
    "ModelInfo",
    "QwenInstrumentor",
    "QwenValidationError",
    "TokenizerUnavailable",
    "__version__",
    "agent",
    "budget",
    "conversation",
    "cost",
    "count_tokens",
    "estimate_prompt_tokens",
    "instrument",
    "instrumentation",
    "tool",
    "uninstrument",
    "validate",
]


def instrument(
    *,
    tracer_provider: Any = None,
    meter_provider: Any = None,
    validate: str | None = None,
    capture_content: bool | None = None,
    capture_reasoning: bool | None = None,
    hosts: str | Iterable[str] = (),
    stream_usage: bool | str | None = None,
    catalog: Catalog | None = None,
    region: str | None = None,
    regions: Mapping[str, str] | None = None,
    genai_cost: bool | None = None,
    budget: tuple[float, str] | None = None,
    spans_file: str | os.PathLike[str] | None = None,
) -> QwenInstrumentor:
    """Trace every DashScope chat call made through the OpenAI SDK, and check it before sending.

    ``validate``: "raise" (default; QWENOBS_VALIDATE), "warn" or "off". ``capture_content``: record
    messages (default off; OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT). ``capture_reasoning``:
    record the thinking text too (QWENOBS_CAPTURE_REASONING). ``hosts``: more hosts to treat as
    DashScope, a list or one comma-separated str (QWENOBS_HOSTS). ``stream_usage``: ask streams for
    their usage chunk and hide it from the caller; True (default) on DashScope's own endpoints,
    "all" on the added hosts too, False nowhere (QWENOBS_STREAM_USAGE). ``catalog``: the model
    table (default: the built-in one with QWENOBS_CATALOG's corrections). ``region``: the billing
    region ("cn" or "intl"; QWENOBS_REGION) of hosts that have none of their own (a gateway, the
    loopback fake); ``regions``: a region per host. ``genai_cost``: also the proposed
    ``gen_ai.usage.cost.*`` attributes (QWENOBS_GENAI_COST). ``budget``: a spending limit for the
    whole process, such as ``(100.0, "CNY")``. ``spans_file``: also append every span to this file
    as OTLP/JSON lines, for ``qwenobs report`` (QWENOBS_SPANS_FILE; the ``spans-file`` extra).

    A wrong argument raises TypeError/ValueError naming it; a wrong environment value is logged
    once and the default used. Idempotent: called again while on, it changes nothing, and warns if
    it was asked for other settings (``uninstrument()`` first to change them).
    """
    from .config import resolve_settings
    from .instrumentor import QwenInstrumentor

    _check_provider("tracer_provider", tracer_provider, "get_tracer")
    _check_provider("meter_provider", meter_provider, "get_meter")
    settings = resolve_settings(
        validate,
        capture_content,
        capture_reasoning,
        hosts,
        stream_usage,
        catalog,
        region,
        regions,
        genai_cost,
        budget,
        spans_file,
    )
    instrumentor = QwenInstrumentor()
    running = instrumentor.running
    if running is None:
        instrumentor.instrument(
            tracer_provider=tracer_provider,
            meter_provider=meter_provider,
            settings=settings,
            spans_file=spans_file,  # an argument raises where the environment's value is logged
        )
    elif changed := running.differences(settings, tracer_provider, meter_provider):
        import warnings

        warnings.warn(
            "qwenobs.instrument() is already on, so these settings are ignored: "
            f"{'; '.join(changed)}. Call qwenobs.uninstrument() first to change them.",
            UserWarning,
            stacklevel=2,
        )
    return instrumentor


def _check_provider(name: str, provider: Any, method: str) -> None:
    if provider is not None and not callable(getattr(provider, method, None)):
        from .checks import wrong_type

        kind = "TracerProvider" if method == "get_tracer" else "MeterProvider"
        raise wrong_type(
            "qwenobs.instrument()",
            name,
            provider,
            f"an OpenTelemetry {kind} or None (the global one)",
        )


def instrumentation() -> Instrumentation | None:
    """What the running instrumentation was set up with, or None when qwenobs is off.

    ``.settings`` (validate mode, capture flags, hosts, ...), ``.tracer_provider`` and
    ``.meter_provider`` (None: the global ones). Keep it to put it back later, exactly:
    ``previous.restore()`` (what the ``qwen_spans`` fixture does after its test).
    """
    from .instrumentor import QwenInstrumentor

    return QwenInstrumentor().running


def uninstrument() -> None:
    """Undo ``instrument()``: the SDK's methods are the originals again."""
    from .instrumentor import QwenInstrumentor

    instrumentor = QwenInstrumentor()
    if instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.uninstrument()


def __getattr__(name: str) -> Any:
    # The instrumentation imports openai and OpenTelemetry; keep `import qwenobs` light without them.
    if name == "QwenInstrumentor":
        from .instrumentor import QwenInstrumentor

        return QwenInstrumentor
    if name in ("agent", "tool"):
        from . import agents

        return getattr(agents, name)
    if name == "QwenValidationError":  # an openai.BadRequestError, built on first use
        from . import errors

        return errors.QwenValidationError
    raise AttributeError(f"module 'qwenobs' has no attribute {name!r}")
