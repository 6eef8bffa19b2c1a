"""List prices per model and region, as Model Studio publishes them, with sources and dates.

Per million tokens. ``cn``: the China (Beijing) endpoint, in CNY; ``intl``: the international
(Singapore) endpoint, in USD. Tiered models bill a whole request at the band its input size falls
in, input and output alike; a band's edge is decimal (32K = 32,000 tokens) and inclusive. Where a
model prices output higher while thinking, the band says so. Cache and batch prices derive from
these (``cost.py``). A price without a published source is left out: that model's cost is unknown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Region = Literal["cn", "intl"]
CURRENCIES: dict[str, str] = {"cn": "CNY", "intl": "USD"}

# Where the prices come from: key -> (URL, what it is, the date or period of its content).
PRICE_SOURCES: dict[str, tuple[str, str, str]] = {
    "pricing-zh": (
        "https://help.aliyun.com/zh/model-studio/model-pricing",
        "百炼: 模型调用计费 (China prices in CNY; 'K 表示 1,000'; one band per request)",
        "2026-08",
    ),
    "models-en": (
        "https://www.alibabacloud.com/help/en/model-studio/models",
        "Model Studio: Models (international prices in USD)",
        "2026-03",
    ),
    "shortapi": (
        "https://shortapi.ai/models/alibaba/qwen-3.6-plus/llms.txt",
        "a reseller's listing of qwen3.6-plus international prices (0.50 / 3.00 USD)",
        "2026-08",
    ),
}


@dataclass(frozen=True, slots=True)
class Band:
    """Prices for requests whose input is at most ``up_to`` tokens (None: no upper edge)."""

    up_to: int | None
    input: float
    output: float
    output_thinking: float | None = None  # None: output costs the same while thinking

    @property
    def thinking_output(self) -> float:
        return self.output if self.output_thinking is None else self.output_thinking


@dataclass(frozen=True, slots=True)
class Prices:
    """A model's prices in one region: its bands in order, the currency, where they are from."""

    currency: str
    bands: tuple[Band, ...]
    source: str
    as_of: str
    # (band, its label) in order, and the label past the top edge: labelled once, read per call.
    _labelled: tuple[tuple[Band, str], ...] = field(init=False, repr=False, compare=False)
    _over: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        labelled, low = [], 0
        for band in self.bands:
            if len(self.bands) == 1:
                label = "flat"
            else:
                label = f"{_k(low)}-{_k(band.up_to) if band.up_to else 'up'}"
            labelled.append((band, label))
            low = band.up_to or low
        object.__setattr__(self, "_labelled", tuple(labelled))
        object.__setattr__(self, "_over", f"over {_k(low)}")

    @property
    def tiers(self) -> tuple[tuple[Band, str], ...]:
        """Each band with its label ("0-128K", "128K-256K", ... or "flat"), in order."""
        return self._labelled

    def band(self, input_tokens: int) -> tuple[str, Band]:
        """The band a request of ``input_tokens`` falls in, with its label ("0-128K", ...)."""
        for band, label in self._labelled:
            if band.up_to is None or input_tokens <= band.up_to:
                return label, band
        return self._over, self.bands[-1]  # past the top edge: the service refuses it


def _k(tokens: int) -> str:
    if tokens == 0:
        return "0"
    return f"{tokens // 1_000_000}M" if tokens % 1_000_000 == 0 else f"{tokens // 1000}K"


K = 1_000


def _cn(*bands: Band) -> Prices:
    return Prices("CNY", bands, "pricing-zh", "2026-08")


def _intl(*bands: Band, source: str = "models-en", as_of: str = "2026-03") -> Prices:
    return Prices("USD", bands, source, as_of)


def flat(input: float, output: float, output_thinking: float | None = None) -> tuple[Band]:
    return (Band(None, input, output, output_thinking),)


_QWEN3_MAX_CN_OLD = _cn(Band(32 * K, 6, 24), Band(128 * K, 10, 40), Band(256 * K, 15, 60))
_QWEN3_MAX_INTL = _intl(Band(32 * K, 1.2, 6), Band(128 * K, 2.4, 12), Band(252 * K, 3, 15))
_CODER_BANDS = (32 * K, 128 * K, 256 * K, 1_000 * K)


def _coder(prices: tuple[tuple[float, float], ...], region: Region) -> Prices:
    bands = tuple(Band(edge, i, o) for edge, (i, o) in zip(_CODER_BANDS, prices, strict=True))
    return _cn(*bands) if region == "cn" else _intl(*bands)


def _vl(prices: tuple[tuple[float, float], ...], region: Region) -> Prices:
    edges = (32 * K, 128 * K, 256 * K)
    bands = tuple(Band(edge, i, o) for edge, (i, o) in zip(edges, prices, strict=True))
    return _cn(*bands) if region == "cn" else _intl(*bands)


PRICES: dict[str, dict[str, Prices]] = {
    "qwen-flash": {
        "cn": _cn(Band(128 * K, 0.15, 1.5), Band(256 * K, 0.6, 6), Band(1_000 * K, 1.2, 12)),
        "intl": _intl(Band(256 * K, 0.05, 0.4), Band(1_000 * K, 0.25, 2)),
    },
    "qwen-turbo": {"cn": _cn(*flat(0.3, 0.6, 3)), "intl": _intl(*flat(0.05, 0.2, 0.5))},
    "qwen-plus": {
        "cn": _cn(
            Band(128 * K, 0.8, 2, 8), Band(256 * K, 2.4, 20, 24), Band(1_000 * K, 4.8, 48, 64)
        ),
        "intl": _intl(Band(256 * K, 0.4, 1.2, 4), Band(1_000 * K, 1.2, 3.6, 12)),
    },
    "qwen-plus-2025-07-14": {"cn": _cn(*flat(0.8, 2, 8)), "intl": _intl(*flat(0.4, 1.2, 4))},
    "qwen-plus-2025-04-28": {"cn": _cn(*flat(0.8, 2, 8)), "intl": _intl(*flat(0.4, 1.2, 4))},
    "qwen-max": {"cn": _cn(*flat(2.4, 9.6)), "intl": _intl(*flat(1.6, 6.4))},
    "qwen3-max": {
        "cn": _cn(Band(32 * K, 2.5, 10), Band(128 * K, 4, 16), Band(256 * K, 7, 28)),
        "intl": _QWEN3_MAX_INTL,
    },
    "qwen3-max-preview": {"cn": _QWEN3_MAX_CN_OLD, "intl": _QWEN3_MAX_INTL},
    "qwen3-max-2025-09-23": {"cn": _QWEN3_MAX_CN_OLD, "intl": _QWEN3_MAX_INTL},
    "qwen3.5-plus": {
        "cn": _cn(Band(128 * K, 0.8, 4.8), Band(256 * K, 2, 12), Band(1_000 * K, 4, 24)),
        "intl": _intl(Band(256 * K, 0.4, 2.4), Band(1_000 * K, 0.5, 3)),
    },
    "qwen3.5-flash": {
        "cn": _cn(Band(128 * K, 0.2, 2), Band(256 * K, 0.8, 8), Band(1_000 * K, 1.2, 12)),
        "intl": _intl(*flat(0.1, 0.4)),
    },
    "qwen3.6-plus": {
        "cn": _cn(Band(256 * K, 2, 12), Band(1_000 * K, 8, 48)),
        "intl": _intl(
            Band(256 * K, 0.5, 3), Band(1_000 * K, 2, 6), source="shortapi", as_of="2026-08"
        ),
    },
    "qwen3.6-flash": {"cn": _cn(Band(256 * K, 1.2, 7.2), Band(1_000 * K, 4.8, 28.8))},
    "qwen3.6-max-preview": {"cn": _cn(Band(128 * K, 9, 54), Band(256 * K, 15, 90))},
    "qwen3-coder-plus": {
        "cn": _coder(((4, 16), (6, 24), (10, 40), (20, 200)), "cn"),
        "intl": _coder(((1, 5), (1.8, 9), (3, 15), (6, 60)), "intl"),
    },
    "qwen3-coder-flash": {
        "cn": _coder(((1, 4), (1.5, 6), (2.5, 10), (5, 25)), "cn"),
        "intl": _coder(((0.3, 1.5), (0.5, 2.5), (0.8, 4), (1.6, 9.6)), "intl"),
    },
    "qwq-plus": {"cn": _cn(*flat(1.6, 4)), "intl": _intl(*flat(0.8, 2.4))},
    "qwen-long": {"cn": _cn(*flat(0.5, 2))},  # China only
    "qwen3-vl-plus": {
        "cn": _vl(((1, 10), (1.5, 15), (3, 30)), "cn"),
        "intl": _vl(((0.2, 1.6), (0.3, 2.4), (0.6, 4.8)), "intl"),
    },
    "qwen3-vl-flash": {
        "cn": _vl(((0.15, 1.5), (0.3, 3), (0.6, 6)), "cn"),
        "intl": _vl(((0.05, 0.4), (0.075, 0.6), (0.12, 0.96)), "intl"),
    },
    "qwen-vl-max": {"cn": _cn(*flat(1.6, 4)), "intl": _intl(*flat(0.8, 3.2))},
    "qwen-vl-plus": {"cn": _cn(*flat(0.8, 2)), "intl": _intl(*flat(0.21, 0.63))},
    "qwen3-235b-a22b": {"cn": _cn(*flat(2, 8, 20)), "intl": _intl(*flat(0.7, 2.8, 8.4))},
    "qwen3-32b": {"cn": _cn(*flat(2, 8, 20)), "intl": _intl(*flat(0.16, 0.64))},
    "qwen3-30b-a3b": {"cn": _cn(*flat(0.75, 3, 7.5)), "intl": _intl(*flat(0.2, 0.8, 2.4))},
    "qwen3-14b": {"cn": _cn(*flat(1, 4, 10)), "intl": _intl(*flat(0.35, 1.4, 4.2))},
    "qwen3-8b": {"cn": _cn(*flat(0.5, 2, 5)), "intl": _intl(*flat(0.18, 0.7, 2.1))},
    "qwen3-4b": {"intl": _intl(*flat(0.11, 0.42, 1.26))},
    "qwen3-next-80b-a3b-thinking": {"cn": _cn(*flat(1, 10)), "intl": _intl(*flat(0.15, 1.2))},
    "qwen3-next-80b-a3b-instruct": {"cn": _cn(*flat(1, 4)), "intl": _intl(*flat(0.15, 1.2))},
    "qwen3-235b-a22b-thinking-2507": {"cn": _cn(*flat(2, 20)), "intl": _intl(*flat(0.23, 2.3))},
    "qwen3-235b-a22b-instruct-2507": {"cn": _cn(*flat(2, 8)), "intl": _intl(*flat(0.23, 0.92))},
    "qwen3-30b-a3b-thinking-2507": {"cn": _cn(*flat(0.75, 7.5)), "intl": _intl(*flat(0.2, 2.4))},
    "qwen3-30b-a3b-instruct-2507": {"cn": _cn(*flat(0.75, 3)), "intl": _intl(*flat(0.2, 0.8))},
    "qwen3.5-397b-a17b": {
        "cn": _cn(Band(128 * K, 1.2, 7.2), Band(256 * K, 3, 18)),
        "intl": _intl(Band(256 * K, 0.6, 3.6)),
    },
    "qwen3.5-122b-a10b": {
        "cn": _cn(Band(128 * K, 0.8, 6.4), Band(256 * K, 2, 16)),
        "intl": _intl(Band(256 * K, 0.4, 3.2)),
    },
    "qwen3.5-27b": {
        "cn": _cn(Band(128 * K, 0.6, 4.8), Band(256 * K, 1.8, 14.4)),
        "intl": _intl(Band(256 * K, 0.3, 2.4)),
    },
    "qwen3.5-35b-a3b": {
        "cn": _cn(Band(128 * K, 0.4, 3.2), Band(256 * K, 1.6, 12.8)),
        "intl": _intl(Band(256 * K, 0.25, 2)),
    },
    "qwen3.6-35b-a3b": {"cn": _cn(Band(256 * K, 1.8, 10.8))},
    "qwen3.6-27b": {"cn": _cn(Band(256 * K, 3, 18))},
}
# Snapshots that share a family's prices: the -latest alias and qwen-max's 128K snapshot.
PRICES["qwen-max-latest"] = PRICES["qwen-max-2025-01-25"] = PRICES["qwen-max"]
