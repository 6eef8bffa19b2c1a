"""QwenInstrumentor: wrap and unwrap the SDK's request methods, nothing else."""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor
from opentelemetry.instrumentation.utils import unwrap
from wrapt import wrap_function_wrapper

from . import sdk
from .catalog import DEFAULT_CATALOG
from .instruments import instruments_for
from .patch import VALIDATE_MODES, Settings, Telemetry, async_wrapper, sync_wrapper

_SCOPE = "qwenobs"
_TRUE = ("1", "true", "yes", "on")


def _env_flag(name: str) -> bool | None:
    value = os.environ.get(name)
    return None if value is None else value.strip().lower() in _TRUE


def resolve_settings(
    validate: str | None = None,
    capture_content: bool | None = None,
    capture_reasoning: bool | None = None,
    hosts: Iterable[str] = (),
    stream_usage: bool = True,
    catalog: Any = DEFAULT_CATALOG,
) -> Settings:
    """Arguments win over the environment; the environment over the defaults."""
    mode = (validate or os.environ.get("QWENOBS_VALIDATE") or "raise").strip().lower()
    if mode not in VALIDATE_MODES:
        raise ValueError(f"validate must be one of {', '.join(VALIDATE_MODES)}, got {mode!r}")
    if capture_content is None:
        capture_content = bool(_env_flag("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"))
    if capture_reasoning is None:
        capture_reasoning = bool(_env_flag("QWENOBS_CAPTURE_REASONING"))
    env_hosts = [h for h in os.environ.get("QWENOBS_HOSTS", "").split(",") if h.strip()]
    all_hosts = frozenset(h.strip().lower() for h in [*env_hosts, *hosts])
    return Settings(mode, capture_content, capture_reasoning, all_hosts, stream_usage, catalog)


class QwenInstrumentor(BaseInstrumentor):
    """OpenTelemetry instrumentor for DashScope (Qwen) calls made through the OpenAI SDK.

    Registered as the ``dashscope`` entry point, so ``opentelemetry-instrument`` picks it up.
    """

    def instrumentation_dependencies(self) -> Collection[str]:
        return ("openai >= 1.40, < 4",)

    def _instrument(self, **kwargs: Any) -> None:
        settings = resolve_settings(
            validate=kwargs.get("validate"),
            capture_content=kwargs.get("capture_content"),
            capture_reasoning=kwargs.get("capture_reasoning"),
            hosts=kwargs.get("hosts") or (),
            stream_usage=kwargs.get("stream_usage", True),
            catalog=kwargs.get("catalog") or DEFAULT_CATALOG,
        )
        from . import __version__

        tracer = trace.get_tracer(_SCOPE, __version__, kwargs.get("tracer_provider"))
        meter_provider = kwargs.get("meter_provider")
        meter = metrics.get_meter(_SCOPE, __version__, meter_provider)
        telemetry = Telemetry(tracer, instruments_for(meter, meter_provider), settings)
        self._telemetry = telemetry  # agent and tool spans use the same tracer
        wrap_function_wrapper(sdk.SyncAPIClient, "request", sync_wrapper(telemetry))
        wrap_function_wrapper(sdk.AsyncAPIClient, "request", async_wrapper(telemetry))

    def _uninstrument(self, **kwargs: Any) -> None:
        self._telemetry = None
        unwrap(sdk.SyncAPIClient, "request")
        unwrap(sdk.AsyncAPIClient, "request")
