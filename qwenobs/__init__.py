"""qwenobs: observability and testing for Qwen (DashScope) calls made through the OpenAI SDK."""

from __future__ import annotations

from .catalog import DEFAULT_CATALOG, Catalog, ModelInfo
from .tokens import count_tokens, estimate_prompt_tokens
from .validation import RULES, Finding, validate

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_CATALOG",
    "RULES",
    "Catalog",
    "Finding",
    "ModelInfo",
    "count_tokens",
    "estimate_prompt_tokens",
    "validate",
]
