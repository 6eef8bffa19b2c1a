"""What each test's Qwen calls cost: a ledger filled with the calls any fake answered while the
test ran and the spans ``qwen_spans`` traced (each call once, by its request id), merged across
pytest-xdist workers, printed at the end.

The fake counts usage with the Qwen tokenizer and its prefix cache, so these figures mean
something without a key: they are what the same calls would cost on DashScope.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from qwenobs import semconv as sc
from qwenobs.cost import cost, region_of


@dataclass
class Call:
    """One priced (or unpriced) call: its tokens, and its cost when the model has a price."""

    model: str
    input: int
    cached: int
    output: int
    reasoning: int
    amount: float | None
    currency: str | None


class Ledger:
    """Per test (node id), per request id: every call counted once."""

    def __init__(self, default_region: str | None) -> None:
        self.default_region = default_region  # for hosts with no region (the loopback server)
        self.tests: dict[str, dict[str, Call]] = {}

    def add(self, test: str, request_id: str, call: Call) -> None:
        """Count ``call`` once: a second report of the same request only adds a missing price."""
        calls = self.tests.setdefault(test, {})
        known = calls.get(request_id)
        if known is None or (known.amount is None and call.amount is not None):
            calls[request_id] = call

    def add_fake_calls(self, test: str, calls: Iterable[Any]) -> None:
        """The calls fakes answered; those answered with a success are counted."""
        for logged in calls:
            usage = logged.usage
            if logged.status != 200 or not usage or not isinstance(logged.json, Mapping):
                continue
            model = str(logged.json.get("model"))
            host = logged.headers.get("host", "").partition(":")[0]
            region = region_of(host) or self.default_region
            priced = cost(model, usage, region=region) if region else None
            details = usage.get("prompt_tokens_details") or {}
            reasoning = (usage.get("completion_tokens_details") or {}).get("reasoning_tokens", 0)
            self.add(
                test,
                logged.request_id,
                Call(
                    model,
                    usage.get("prompt_tokens", 0),
                    details.get("cached_tokens", 0),
                    usage.get("completion_tokens", 0),
                    reasoning or 0,
                    None if priced is None else priced.amount,
                    None if priced is None else priced.currency,
                ),
            )

    def add_spans(self, test: str, spans: Iterable[Any]) -> None:
        """The chat spans the plugin's fixtures traced (calls to the real service included)."""
        for span in spans:
            a = span.attributes or {}
            request_id = a.get(sc.REQUEST_ID)
            if (
                a.get(sc.OPERATION) != sc.OPERATION_CHAT
                or sc.USAGE_INPUT not in a
                or not request_id
            ):
                continue
            self.add(
                test,
                request_id,
                Call(
                    str(a.get(sc.REQUEST_MODEL)),
                    a.get(sc.USAGE_INPUT, 0),
                    a.get(sc.USAGE_CACHE_READ, 0),
                    a.get(sc.USAGE_OUTPUT, 0),
                    a.get(sc.USAGE_REASONING, 0),
                    a.get(sc.COST_AMOUNT),
                    a.get(sc.COST_CURRENCY),
                ),
            )

    # -- across xdist workers -----------------------------------------------------------------

    def dump(self) -> dict[str, Any]:
        return {
            test: {rid: asdict(c) for rid, c in calls.items()} for test, calls in self.tests.items()
        }

    def merge(self, dumped: Mapping[str, Any]) -> None:
        for test, calls in dumped.items():
            for request_id, fields in calls.items():
                self.add(test, request_id, Call(**fields))


class FakeWatch:
    """Every call any ``FakeDashScope`` answers from now on (``close()`` stops): the calls of the
    fakes a test makes itself as well as the fixtures' and longer-lived ones."""

    def __init__(self) -> None:
        from qwenobs.fake.engine import CALL_WATCHERS

        self._watchers = CALL_WATCHERS
        self._calls: list[Any] = []
        CALL_WATCHERS.append(self._seen)

    def _seen(self, call: Any) -> None:
        self._calls.append(call)  # from any thread: a list append is atomic

    def take(self) -> list[Any]:
        """The calls seen since the last ``take``."""
        taken, self._calls = self._calls, []
        return taken

    def close(self) -> None:
        if self._seen in self._watchers:
            self._watchers.remove(self._seen)


def _usage(call: Call) -> dict[str, Any]:
    return {
        "prompt_tokens": call.input,
        "completion_tokens": call.output,
        "prompt_tokens_details": {"cached_tokens": call.cached},
        "completion_tokens_details": {"reasoning_tokens": call.reasoning},
    }


@dataclass
class Row:
    test: str
    calls: int
    input: int
    cached: int
    output: int
    reasoning: int
    costs: dict[str, float]  # currency -> amount
    unpriced: int

    @property
    def hit_rate(self) -> float:
        return self.cached / self.input if self.input else 0.0


def rows(ledger: Ledger) -> list[Row]:
    found = []
    for test, calls in ledger.tests.items():
        costs: dict[str, float] = {}
        for call in calls.values():
            if call.amount is not None and call.currency:
                costs[call.currency] = costs.get(call.currency, 0.0) + call.amount
        found.append(
            Row(
                test,
                len(calls),
                sum(c.input for c in calls.values()),
                sum(c.cached for c in calls.values()),
                sum(c.output for c in calls.values()),
                sum(c.reasoning for c in calls.values()),
                costs,
                sum(c.amount is None for c in calls.values()),
            )
        )
    # Most expensive first; currencies are never added together, so CNY orders before USD.
    return sorted(found, key=lambda r: sorted(((-v, c) for c, v in r.costs.items())) or [(0, "")])


def _money(costs: Mapping[str, float], unpriced: int) -> str:
    text = " + ".join(f"{amount:.6f} {currency}" for currency, amount in sorted(costs.items()))
    if unpriced:
        text = f"{text} ({unpriced} unpriced)" if text else f"({unpriced} unpriced)"
    return text or "-"


def report(ledger: Ledger, limit: int = 20) -> list[str]:
    """The summary's lines: per test, sorted by cost, then the total."""
    table = rows(ledger)
    if not table:
        return []
    header = ("test", "calls", "input", "cached", "output", "reasoning", "cache hits", "cost")
    lines = [header]
    for row in table[:limit]:
        lines.append(
            (
                row.test,
                str(row.calls),
                f"{row.input:,}",
                f"{row.cached:,}",
                f"{row.output:,}",
                f"{row.reasoning:,}",
                f"{row.hit_rate:.0%}",
                _money(row.costs, row.unpriced),
            )
        )
    totals: dict[str, float] = {}
    for row in table:
        for currency, amount in row.costs.items():
            totals[currency] = totals.get(currency, 0.0) + amount
    all_input = sum(r.input for r in table)
    lines.append(
        (
            f"total ({len(table)} tests)",
            str(sum(r.calls for r in table)),
            f"{all_input:,}",
            f"{sum(r.cached for r in table):,}",
            f"{sum(r.output for r in table):,}",
            f"{sum(r.reasoning for r in table):,}",
            f"{sum(r.cached for r in table) / all_input:.0%}" if all_input else "0%",
            _money(totals, sum(r.unpriced for r in table)),
        )
    )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = [
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(line, widths, strict=True))
        )
        for line in lines
    ]
    if len(table) > limit:
        out.insert(-1, f"... {len(table) - limit} cheaper tests not shown")
    return out
