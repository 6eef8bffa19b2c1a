"""QwenInstrumentor: wrap and unwrap the SDK's request methods, nothing else."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor
from opentelemetry.instrumentation.utils import unwrap
from wrapt import wrap_function_wrapper

from . import agents, openai_sdk
from .config import resolve_settings
from .instruments import instruments_for
from .lifecycle import Telemetry
from .openai_hook import async_wrapper, sync_wrapper
from .version import __version__

_SCOPE = "qwenobs"


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
            stream_usage=kwargs.get("stream_usage"),
            catalog=kwargs.get("catalog"),
        )
        tracer = trace.get_tracer(_SCOPE, __version__, kwargs.get("tracer_provider"))
        meter_provider = kwargs.get("meter_provider")
        meter = metrics.get_meter(_SCOPE, __version__, meter_provider)
        telemetry = Telemetry(tracer, instruments_for(meter, meter_provider), settings)
        agents.use_tracer(tracer)  # agent and tool spans go where the chat spans go
        wrap_function_wrapper(openai_sdk.SyncAPIClient, "request", sync_wrapper(telemetry))
        wrap_function_wrapper(openai_sdk.AsyncAPIClient, "request", async_wrapper(telemetry))

    def _uninstrument(self, **kwargs: Any) -> None:
        unwrap(openai_sdk.SyncAPIClient, "request")
        unwrap(openai_sdk.AsyncAPIClient, "request")
        agents.use_tracer(None)
