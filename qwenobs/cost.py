"""What a call cost, as DashScope bills it: model + usage + region -> ``Cost``.

Pure: no SDK, no OpenTelemetry. The rules, each from Model Studio's pricing pages (the README's
"Cost" section cites them):

- A region has its own price list and currency: China (Beijing) in CNY, international
  (Singapore) in USD.
- Tiered models bill the whole request at the band its input size falls in, input and output
  alike; cached tokens count toward that size (they are part of ``prompt_tokens``).
- Implicit cache hits (``prompt_tokens_details.cached_tokens``) cost 20% of the input price.
  With explicit caching (``cache_control``; the usage then says ``cache_type: "ephemeral"``),
  creating the cache (``cache_creation_input_tokens``) costs 125% and hits 10%.
- Output includes the reasoning; a model with a thinking price charges it when the call thought
  (reasoning tokens in the usage).
- Batch calls cost 50% of input and output, with no cache discount.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .catalog import Catalog, catalog_or_active
from .catalog.prices import CURRENCIES, Prices
from .fields import field

__all__ = ["REGIONS", "Cost", "cost", "region_of"]

REGIONS = tuple(CURRENCIES)  # "cn", "intl"
IMPLICIT_HIT = 0.2
EXPLICIT_CREATION = 1.25
EXPLICIT_HIT = 0.1
BATCH = 0.5
_PER = 1_000_000  # prices are per million tokens


@dataclass(frozen=True, slots=True)
class Cost:
    """One call's price: ``amount`` in ``currency``, the band it was billed at, and the parts."""

    amount: float
    currency: str
    tier: str
    breakdown: Mapping[str, float]  # fresh_input, cached_input, cache_creation, output, reasoning
    cache_savings: float  # what the cached input would have cost at the full input price, less
    prices_as_of: str

    def __str__(self) -> str:
        return f"{self.amount:.6f} {self.currency} ({self.tier})"


@dataclass(frozen=True, slots=True)
class Usage:
    """The token counts pricing reads from a response's ``usage``."""

    prompt: int
    completion: int
    cached: int
    cache_created: int
    explicit: bool
    reasoning: int

    @classmethod
    def of(cls, usage: Any) -> Usage | None:
        """From the SDK's usage object or a dict of the same shape; None without token counts."""
        prompt, completion = (
            _int(field(usage, "prompt_tokens")),
            _int(field(usage, "completion_tokens")),
        )
        if prompt is None or completion is None:
            return None
        details = field(usage, "prompt_tokens_details")
        cached = _int(field(details, "cached_tokens")) or 0
        created = _int(field(details, "cache_creation_input_tokens")) or 0
        explicit = field(details, "cache_type") == "ephemeral" or created > 0
        reasoning = _int(field(field(usage, "completion_tokens_details"), "reasoning_tokens")) or 0
        return cls(prompt, completion, cached, created, explicit, reasoning)


def _int(value: Any) -> int | None:
    return value if type(value) is int and value >= 0 else None


def cost(
    model: str,
    usage: Any,
    *,
    region: str = "cn",
    thinking: bool | None = None,
    batch: bool = False,
    catalog: Catalog | None = None,
) -> Cost | None:
    """What one call to ``model`` with ``usage`` cost in ``region`` ("cn": China, CNY; "intl":
    international, USD), or None when that model has no price there (never a made-up 0).

    ``thinking``: whether the call thought; by default, whether the usage reports reasoning
    tokens (a model with a thinking price charges it only then). ``batch``: a Batch API call.
    """
    if region not in REGIONS:
        raise ValueError(f"region must be one of {REGIONS}, got {region!r}")
    info = catalog_or_active(catalog).lookup(model)
    prices: Prices | None = info.prices.get(region) if info is not None and info.prices else None
    counts = Usage.of(usage)
    if prices is None or counts is None:
        return None
    return price(prices, counts, thinking=thinking, batch=batch)


def price(prices: Prices, u: Usage, *, thinking: bool | None = None, batch: bool = False) -> Cost:
    """The cost of usage ``u`` under ``prices``."""
    tier, band = prices.band(u.prompt)
    thought = u.reasoning > 0 if thinking is None else thinking and u.reasoning > 0
    output_price = band.thinking_output if thought else band.output
    cache_read = min(u.cached, u.prompt)
    created = min(u.cache_created, u.prompt - cache_read)
    fresh = u.prompt - cache_read - created
    if batch:  # half price, and no cache discount
        rate_in, rate_out = band.input * BATCH, output_price * BATCH
        parts = {"fresh_input": u.prompt * rate_in, "cached_input": 0.0, "cache_creation": 0.0}
        savings = 0.0
    else:
        rate_in, rate_out = band.input, output_price
        hit = EXPLICIT_HIT if u.explicit else IMPLICIT_HIT
        parts = {
            "fresh_input": fresh * rate_in,
            "cached_input": cache_read * rate_in * hit,
            "cache_creation": created * rate_in * EXPLICIT_CREATION,
        }
        savings = cache_read * rate_in * (1 - hit) / _PER
    reasoning = min(u.reasoning, u.completion)
    parts["output"] = (u.completion - reasoning) * rate_out
    parts["reasoning"] = reasoning * rate_out
    breakdown = {key: value / _PER for key, value in parts.items()}
    return Cost(sum(breakdown.values()), prices.currency, tier, breakdown, savings, prices.as_of)


# -- which region a call is billed in ----------------------------------------------------------

# Hosts of DashScope's OpenAI-compatible endpoints -> region. Workspace hosts carry the region id.
_HOSTS = {
    "dashscope.aliyuncs.com": "cn",
    "dashscope-intl.aliyuncs.com": "intl",
}
_REGION_IDS = {"cn-beijing": "cn", "ap-southeast-1": "intl"}


def region_of(host: str, regions: Mapping[str, str] | None = None) -> str | None:
    """The billing region of ``host``: ``regions`` (the user's map) first, then DashScope's own
    hosts; None for hosts with no region of their own (gateways, the loopback fake, other
    deployment modes such as dashscope-us, whose prices this table does not hold)."""
    host = host.lower()
    if regions and host in regions:
        return regions[host]
    found = _HOSTS.get(host)
    if found is None and host.endswith(".maas.aliyuncs.com"):
        found = _REGION_IDS.get(host.split(".")[-4])
    return found
