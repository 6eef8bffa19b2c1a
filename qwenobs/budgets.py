"""Spending limits: a chat call checks every limit that applies before it is sent, and a finished
call adds its cost to them.

Limits apply to an agent run (``qwenobs.agent(max_cost=...)``), a block (``with
qwenobs.budget(...)``, nested blocks all apply) or the whole process (``instrument(budget=...)``).
A call in flight is counted when it ends, so calls already sent when a limit is reached can take
the total past it by their own cost. A call whose cost is unknown (a model without a price, a
stream without usage) is counted as unpriced and does not use up a limit.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from .catalog.prices import CURRENCIES
from .errors import AgentBudgetError

_CURRENCIES = tuple(sorted(set(CURRENCIES.values())))


class Budget:
    """A limit in one currency, safe to share between threads."""

    def __init__(self, limit: Any, currency: Any, name: str) -> None:
        if isinstance(limit, bool) or not isinstance(limit, int | float) or not limit > 0:
            raise ValueError(f"a budget's limit must be a positive number, got {limit!r}")
        if currency not in _CURRENCIES:
            raise ValueError(
                f"a budget's currency must be one of {_CURRENCIES} (DashScope bills in them), "
                f"got {currency!r}"
            )
        self.limit = float(limit)
        self.currency = currency
        self.name = name
        self.spent = 0.0
        self.calls = 0
        self.unpriced = 0  # calls whose cost is unknown
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return (
            f"<Budget {self.name}: {self.spent:g} of {self.limit:g} {self.currency} spent over "
            f"{self.calls} calls ({self.unpriced} without a price)>"
        )

    @classmethod
    def of(cls, value: Any, name: str) -> Budget | None:
        """From ``(limit, currency)``; None stays None."""
        if value is None:
            return None
        if not isinstance(value, tuple | list) or len(value) != 2:
            raise TypeError(
                f"{name}: expected (limit, currency) such as (0.5, 'CNY'), got {value!r}"
            )
        return cls(value[0], value[1], name)

    def check(self, currency: str | None) -> AgentBudgetError | None:
        """The error to raise instead of sending a call billed in ``currency`` (None: unknown)."""
        if currency is not None and currency != self.currency:
            return AgentBudgetError(
                self.name,
                self.limit,
                self.spent,
                self.currency,
                f"this call would be billed in {currency}, not {self.currency}; set the "
                f"budget in {currency}, the currency of this endpoint, or give its host the "
                "other region with instrument(regions={host: 'cn' or 'intl'})",
            )
        if self.spent >= self.limit:
            return AgentBudgetError(
                self.name, self.limit, self.spent, self.currency, "the limit is used up"
            )
        return None

    def add(self, amount: float | None) -> None:
        with self._lock:
            self.calls += 1
            if amount is None:
                self.unpriced += 1
            else:
                self.spent += amount


_blocks: ContextVar[tuple[Budget, ...]] = ContextVar("qwenobs_budgets", default=())


def active() -> tuple[Budget, ...]:
    """The block budgets in force here (innermost last)."""
    return _blocks.get()


@contextmanager
def budget(limit: float, currency: str, *, name: str = "budget") -> Iterator[Budget]:
    """``with qwenobs.budget(2.0, "CNY"):`` every traced chat call inside (asyncio tasks started
    inside included; threads when started with the context copied) counts toward the limit; once it is used up, the next call raises
    ``qwenobs.AgentBudgetError`` before it is sent. Yields the ``Budget`` (``.spent``, ``.calls``)."""
    spending = Budget(limit, currency, name)
    token = _blocks.set((*_blocks.get(), spending))
    try:
        yield spending
    finally:
        _blocks.reset(token)
