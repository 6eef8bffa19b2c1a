"""QwenInstrumentor: wrap and unwrap the SDK's request methods, and remember what it runs with."""

from __future__ import annotations

import os
from collections.abc import Collection
from dataclasses import dataclass, fields
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor
from opentelemetry.instrumentation.utils import unwrap
from wrapt import wrap_function_wrapper

from . import agents, openai_sdk
from .budgets import Budget
from .config import Settings, bad_environment, resolve_settings
from .extras import need
from .instruments import instruments_for
from .lifecycle import Telemetry
from .openai_hook import async_wrapper, sync_wrapper
from .version import __version__

_SCOPE = "qwenobs"


@dataclass(frozen=True)
class Instrumentation:
    """What the running instrumentation was set up with (``qwenobs.instrumentation()``).

    ``settings`` are resolved (arguments over the environment over defaults); a provider is the one
    ``instrument()`` was given, None for the global one. ``restore()`` puts exactly this back.
    """

    settings: Settings
    tracer_provider: Any = None
    meter_provider: Any = None

    def differences(
        self, settings: Settings, tracer_provider: Any, meter_provider: Any
    ) -> list[str]:
        """How other settings and providers differ from these: ``validate: 'raise' -> 'warn'``."""
        changed = [
            f"{f.name}: {_shown(getattr(self.settings, f.name))} -> {_shown(getattr(settings, f.name))}"
            for f in fields(Settings)
            if _compared(getattr(self.settings, f.name)) != _compared(getattr(settings, f.name))
        ]
        for name, running, asked in (
            ("tracer_provider", self.tracer_provider, tracer_provider),
            ("meter_provider", self.meter_provider, meter_provider),
        ):
            if running is not asked:
                changed.append(f"{name}: {_provider(running)} -> {_provider(asked)}")
        return changed

    def restore(self) -> None:
        """Make this the running instrumentation again, replacing whatever runs now."""
        instrumentor = QwenInstrumentor()
        if instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.uninstrument()
        instrumentor.instrument(
            tracer_provider=self.tracer_provider,
            meter_provider=self.meter_provider,
            settings=self.settings,
        )


def _compared(value: Any) -> Any:
    # A budget keeps what it has spent; the same limit asked for again is the same setting.
    return (value.limit, value.currency) if isinstance(value, Budget) else value


def _shown(value: Any) -> str:
    if isinstance(value, Budget):
        return repr((value.limit, value.currency))
    if isinstance(value, frozenset):
        return repr(sorted(value))
    if value is None or isinstance(value, str | bool):
        return repr(value)
    return f"a {type(value).__name__}"


def _provider(value: Any) -> str:
    return "the global one" if value is None else f"a {type(value).__name__} ({id(value):#x})"


class QwenInstrumentor(BaseInstrumentor):
    """OpenTelemetry instrumentor for DashScope (Qwen) calls made through the OpenAI SDK.

    Registered as the ``dashscope`` entry point, so ``opentelemetry-instrument`` picks it up.
    ``instrument()`` takes ``qwenobs.instrument()``'s options, or ``settings=`` (resolved
    ``config.Settings``, as ``Instrumentation.restore`` passes them) instead of them.
    """

    _running: Instrumentation | None = None

    @property
    def running(self) -> Instrumentation | None:
        """The settings and providers of the running instrumentation; None when off."""
        return self._running if self.is_instrumented_by_opentelemetry else None

    def instrumentation_dependencies(self) -> Collection[str]:
        return ("openai >= 1.40, < 4",)

    def _instrument(self, **kwargs: Any) -> None:
        settings = kwargs.get("settings") or resolve_settings(
            validate=kwargs.get("validate"),
            capture_content=kwargs.get("capture_content"),
            capture_reasoning=kwargs.get("capture_reasoning"),
            hosts=kwargs.get("hosts") or (),
            stream_usage=kwargs.get("stream_usage"),
            catalog=kwargs.get("catalog"),
            region=kwargs.get("region"),
            regions=kwargs.get("regions"),
            genai_cost=kwargs.get("genai_cost"),
            budget=kwargs.get("budget"),
            spans_file=kwargs.get("spans_file"),
        )
        tracer_provider = given_provider = kwargs.get("tracer_provider")
        if settings.spans_file is not None:
            need("opentelemetry.sdk.trace", "spans-file", "instrument(spans_file=...)")
            from_environment = kwargs.get("spans_file") is None and settings.spans_file == (
                os.environ.get("QWENOBS_SPANS_FILE", "").strip()
            )
            tracer_provider = self._attach_spans_file(
                settings.spans_file, tracer_provider, from_environment
            )
        meter_provider = kwargs.get("meter_provider")
        tracer = trace.get_tracer(_SCOPE, __version__, tracer_provider)
        meter = metrics.get_meter(_SCOPE, __version__, meter_provider)
        telemetry = Telemetry(tracer, instruments_for(meter, meter_provider), settings)
        agents.use_tracer(tracer)  # agent and tool spans go where the chat spans go
        wrap_function_wrapper(openai_sdk.SyncAPIClient, "request", sync_wrapper(telemetry))
        wrap_function_wrapper(openai_sdk.AsyncAPIClient, "request", async_wrapper(telemetry))
        self._running = Instrumentation(settings, given_provider, meter_provider)

    def _attach_spans_file(self, path: str, tracer_provider: Any, from_environment: bool) -> Any:
        """The provider to trace with, now also writing ``path``. A file that cannot be written
        raises when it was an argument; from QWENOBS_SPANS_FILE it is logged and left out, since
        a wrong environment value never stops an application."""
        from .spans_file import attach

        try:
            tracer_provider, self._spans_file = attach(path, tracer_provider)
        except (OSError, ValueError) as exc:
            if isinstance(exc, OSError):
                where = f" ({exc.filename})" if exc.filename and exc.filename != path else ""
                detail = f"{path!r} cannot be written: {exc.strerror or exc}{where}"
            else:
                detail = str(exc)
            if not from_environment:
                raise ValueError(f"instrument(): {detail}") from None
            bad_environment(
                "QWENOBS_SPANS_FILE", path, f"a file qwenobs can write ({detail})", "none"
            )
        return tracer_provider

    def _uninstrument(self, **kwargs: Any) -> None:
        unwrap(openai_sdk.SyncAPIClient, "request")
        unwrap(openai_sdk.AsyncAPIClient, "request")
        agents.use_tracer(None)
        self._running = None
        processor, self._spans_file = getattr(self, "_spans_file", None), None
        if processor is not None:
            processor.shutdown()  # flush and close the spans file
