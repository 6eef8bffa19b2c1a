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
from typing import Any, NamedTuple

from . import checks
from .catalog import Catalog, catalog_or_active
from .catalog.prices import CURRENCIES, Prices
from .fields import field, fields_of

__all__ = ["REGIONS", "Cost", "cost", "region_of"]

REGIONS = tuple(CURRENCIES)  # "cn", "intl"
IMPLICIT_HIT = 0.2
EXPLICIT_CREATION = 1.25
EXPLICIT_HIT = 0.1
BATCH = 0.5
_PER = 1_000_000  # prices are per million tokens
# The parts of a call's amount, in the order ``charge`` gives them.
BREAKDOWN = ("fresh_input", "cached_input", "cache_creation", "output", "reasoning")


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

    @classmethod
    def of(cls, prices: Prices, tier: str, parts: tuple[float, ...], savings: float) -> Cost:
        """The cost ``charge`` worked out under ``prices``."""
        breakdown = dict(zip(BREAKDOWN, parts, strict=True))
        return cls(sum(parts), prices.currency, tier, breakdown, savings, prices.as_of)


class Usage(NamedTuple):
    """The token counts pricing reads from a response's ``usage``. (A named tuple: read on every
    priced call, and a frozen dataclass takes three times as long to build.)"""

    prompt: int
    completion: int
    cached: int
    cache_created: int
    explicit: bool
    reasoning: int

    @classmethod
    def of(cls, usage: Any) -> Usage | None:
        """From the SDK's usage object or a dict of the same shape; None without token counts."""
        get = dict.get if isinstance(usage, dict) else getattr  # the same (obj, name, default)
        return cls.counted(
            get(usage, "prompt_tokens", None),
            get(usage, "completion_tokens", None),
            field(get(usage, "prompt_tokens_details", None), "cached_tokens"),
            field(get(usage, "completion_tokens_details", None), "reasoning_tokens"),
            usage,
        )

    @classmethod
    def counted(
        cls, prompt: Any, completion: Any, cached: Any, reasoning: Any, usage: Any
    ) -> Usage | None:
        """From the four token counts as read (any type; None when absent) and the explicit
        cache fields of ``usage``; None without the prompt and completion counts. A traced call
        passes the counts on its span, so its cost is worked out on the numbers the span shows."""
        if not (
            type(prompt) is int and prompt >= 0 and type(completion) is int and completion >= 0
        ):
            return None
        created, explicit = _explicit_cache(usage)
        cached = cached if type(cached) is int and cached > 0 else 0
        reasoning = reasoning if type(reasoning) is int and reasoning > 0 else 0
        return tuple.__new__(cls, (prompt, completion, cached, created, explicit, reasoning))


def _explicit_cache(usage: Any) -> tuple[int, bool]:
    """DashScope's explicit cache (``cache_control``) in ``usage.prompt_tokens_details``, fields
    the SDK does not declare: the tokens written to the cache, and whether the call used it."""
    details = field(usage, "prompt_tokens_details")
    if details is None:
        return 0, False
    found = fields_of(details)
    created = _int(found.get("cache_creation_input_tokens")) or 0
    return created, created > 0 or found.get("cache_type") == "ephemeral"


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
    international, USD), or None when that model has no price there or ``usage`` is None (never
    a made-up 0). Anything else than a usage raises TypeError.

    ``thinking``: whether the call thought; by default, whether the usage reports reasoning
    tokens (a model with a thinking price charges it only then). ``batch``: a Batch API call.
    """
    if region not in REGIONS:
        raise ValueError(f"region must be one of {REGIONS}, got {region!r}")
    if not isinstance(model, str):
        raise checks.wrong_type(_WHERE, "model", model, "a model name (str)")
    for name, flag in (("thinking", thinking), ("batch", batch)):
        if flag is not None and not isinstance(flag, bool):
            raise checks.wrong_type(_WHERE, name, flag, "True or False")
    if usage is None:  # a stream that ended without its usage chunk: the cost is unknown
        return None
    counts = Usage.of(usage)
    if counts is None:
        raise checks.wrong_type(_WHERE, "usage", usage, _A_USAGE)
    info = catalog_or_active(catalog).lookup(model)
    prices: Prices | None = info.prices.get(region) if info is not None and info.prices else None
    if prices is None:
        return None
    return price(prices, counts, thinking=thinking, batch=batch)


_WHERE = "qwenobs.cost()"
_A_USAGE = (
    "a response's usage (response.usage, or a dict of the same shape) with prompt_tokens and "
    "completion_tokens counts"
)


def price(prices: Prices, u: Usage, *, thinking: bool | None = None, batch: bool = False) -> Cost:
    """The cost of usage ``u`` under ``prices``."""
    return Cost.of(prices, *charge(prices, u, thinking=thinking, batch=batch))


def charge(
    prices: Prices, u: Usage, *, thinking: bool | None = None, batch: bool = False
) -> tuple[str, tuple[float, ...], float]:
    """``price`` without building the ``Cost``: the tier, the parts of the amount in
    ``BREAKDOWN`` order (their sum is the amount), and the cache savings. A traced call prices
    with this: its span needs the numbers, and only an agent's total needs a ``Cost``."""
    prompt, completion, cached, cache_created, explicit, reasoning = u
    tier, band = prices.band(prompt)
    thought = reasoning > 0 if thinking is None else thinking and reasoning > 0
    rate_out = band.thinking_output if thought else band.output
    cache_read = cached if cached < prompt else prompt
    created = cache_created if cache_created < prompt - cache_read else prompt - cache_read
    if reasoning > completion:
        reasoning = completion
    if batch:  # half price, and no cache discount
        rate_in, rate_out = band.input * BATCH, rate_out * BATCH
        fresh_input, cached_input, cache_creation = prompt * rate_in / _PER, 0.0, 0.0
        savings = 0.0
    else:
        rate_in = band.input
        hit = EXPLICIT_HIT if explicit else IMPLICIT_HIT
        fresh_input = (prompt - cache_read - created) * rate_in / _PER
        cached_input = cache_read * rate_in * hit / _PER
        cache_creation = created * rate_in * EXPLICIT_CREATION / _PER
        savings = cache_read * rate_in * (1 - hit) / _PER
    output = (completion - reasoning) * rate_out / _PER
    parts = (fresh_input, cached_input, cache_creation, output, reasoning * rate_out / _PER)
    return tier, parts, savings


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
