"""What qwenobs knows about each Qwen model: context window, output cap, thinking, prices.

Prices and limits change often, so they live in this one dated table. Build your own catalog with
``DEFAULT_CATALOG.extend(ModelInfo(...))`` and pass it where a ``catalog`` is accepted.
Unknown models get ``None`` from ``lookup``: no context check, no cost.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

__all__ = ["DEFAULT_CATALOG", "Catalog", "ModelInfo", "Thinking"]

# "off": hybrid model, thinks only when asked; "on": hybrid, thinks unless enable_thinking=false;
# "always": cannot turn thinking off; "never": no thinking mode.
Thinking = Literal["off", "on", "always", "never"]

PRICES_AS_OF = "2025-04 (Model Studio international, USD per 1M tokens)"
CACHED_INPUT_RATIO = 0.2  # implicit cache hits are billed at 20% of the input price


@dataclass(frozen=True, slots=True)
class ModelInfo:
    name: str
    context_window: int
    max_output: int
    thinking: Thinking = "never"
    input_price: float | None = None  # USD per 1M tokens
    output_price: float | None = None
    prices_as_of: str | None = None

    @property
    def cached_input_price(self) -> float | None:
        return None if self.input_price is None else self.input_price * CACHED_INPUT_RATIO

    def cost(self, input_tokens: int, output_tokens: int, cached_tokens: int = 0) -> float | None:
        """USD for one call, with cached input at the cache price; None when prices are unknown."""
        if self.input_price is None or self.output_price is None:
            return None
        fresh = max(input_tokens - cached_tokens, 0)
        return (
            fresh * self.input_price
            + cached_tokens * self.input_price * CACHED_INPUT_RATIO
            + output_tokens * self.output_price
        ) / 1_000_000


_INTL = PRICES_AS_OF
_MODELS = (
    ModelInfo("qwen-turbo", 1_008_192, 16_384, "off", 0.05, 0.2, _INTL),
    ModelInfo("qwen-plus", 131_072, 16_384, "off", 0.4, 1.2, _INTL),
    ModelInfo("qwen-max", 32_768, 8_192, "never", 1.6, 6.4, _INTL),
    ModelInfo("qwen3-max", 262_144, 65_536, "off", 1.2, 6.0, _INTL),
    ModelInfo("qwen-long", 10_000_000, 8_192, "never"),
    ModelInfo("qwen3-coder-plus", 1_048_576, 65_536, "never"),
    ModelInfo("qwq-plus", 131_072, 8_192, "always"),
    # Open-weight Qwen3 on DashScope think unless told not to.
    ModelInfo("qwen3-235b-a22b", 131_072, 16_384, "on"),
    ModelInfo("qwen3-32b", 131_072, 16_384, "on"),
    ModelInfo("qwen3-30b-a3b", 131_072, 16_384, "on"),
    ModelInfo("qwen3-14b", 131_072, 8_192, "on"),
    ModelInfo("qwen3-8b", 131_072, 8_192, "on"),
)

# Dated snapshots and aliases share their family's entry: qwen-plus-2025-07-28, qwen-plus-latest.
_SUFFIX = re.compile(r"-(latest|\d{4}-\d{2}-\d{2}|\d{4})$")


@dataclass(frozen=True)
class Catalog:
    models: Mapping[str, ModelInfo]

    @classmethod
    def of(cls, *models: ModelInfo) -> Catalog:
        return cls(MappingProxyType({m.name: m for m in models}))

    def extend(self, *models: ModelInfo) -> Catalog:
        """A new catalog with these entries added or replaced."""
        return Catalog.of(*self.models.values(), *models)

    def lookup(self, model: str | None) -> ModelInfo | None:
        if not model:
            return None
        found = self.models.get(model)
        if found is None:
            found = self.models.get(_SUFFIX.sub("", model))
        return found

    def thinking(self, model: str | None) -> Thinking | None:
        """How a model thinks; name conventions cover models the table does not list."""
        info = self.lookup(model)
        if info is not None:
            return info.thinking
        if not model:
            return None
        name = model.lower()
        if name.startswith("qwq") or "-thinking" in name:
            return "always"
        if "-instruct" in name:
            return "never"
        return None


DEFAULT_CATALOG = Catalog.of(*_MODELS)
