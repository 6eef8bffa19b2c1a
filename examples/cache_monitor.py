"""Watch the implicit prefix cache: hit rate over a window of calls, what it saved in money, and
what a date in the system prompt does to it (exact-prefix matching: anything dynamic early in the
prompt defeats it)."""

from __future__ import annotations

import datetime as dt
from collections import deque

from _qwen import BASE_URL, qwen

import qwenobs

# DashScope bills the China endpoint in CNY and the international one in USD, each its own prices.
REGION = "intl" if "dashscope-intl" in BASE_URL else "cn"

STABLE_SYSTEM = (
    "You are the support assistant of a tea shop in Hangzhou. Answer in two sentences, cite the "
    "shop policy when relevant, and never promise delivery dates. " * 12
)


class CacheMonitor:
    """Cache hit rate over the last ``window`` calls, from usage.prompt_tokens_details.cached_tokens,
    and what the calls cost and the cache saved (cached input is billed at 20% of the price)."""

    def __init__(self, window: int = 50) -> None:
        self.window: deque[tuple[int, int]] = deque(maxlen=window)
        self.spent = self.saved = 0.0
        self.currency = ""

    def record(self, model: str, usage) -> None:
        details = usage.prompt_tokens_details
        self.window.append((usage.prompt_tokens, (details.cached_tokens or 0) if details else 0))
        priced = qwenobs.cost(model, usage, region=REGION)
        if priced is not None:  # None: no published price for this model in this region
            self.spent += priced.amount
            self.saved += priced.cache_savings
            self.currency = priced.currency

    @property
    def hit_rate(self) -> float:
        total = sum(p for p, _ in self.window)
        return sum(c for _, c in self.window) / total if total else 0.0


def run(client, questions: list[str], dated: bool) -> CacheMonitor:
    monitor = CacheMonitor()
    for i, question in enumerate(questions):
        system = STABLE_SYSTEM
        if dated:  # the anti-pattern: a per-request value at the start of the prompt
            system = f"Now: {dt.datetime(2025, 6, 1, 9, 0, i):%Y-%m-%d %H:%M:%S}. " + STABLE_SYSTEM
        response = client.chat.completions.create(
            model="qwen-plus",
            messages=[{"role": "system", "content": system}, {"role": "user", "content": question}],
            max_tokens=128,
        )
        monitor.record("qwen-plus", response.usage)
    return monitor


QUESTIONS = [
    "Do you ship to Ningbo?",
    "Is Longjing in stock?",
    "Can I return opened tea?",
    "Gift wrapping?",
]


def script(fake) -> None:
    fake.reply("Yes, we can help with that.", repeat=True)


if __name__ == "__main__":
    qwenobs.instrument(validate="warn")  # the dated prompt is worth a warning, not a block
    for label, dated in (("stable system prompt", False), ("date in system prompt", True)):
        with qwen(script) as client:
            m = run(client, QUESTIONS, dated=dated)
        print(
            f"{label}: cache hit rate {m.hit_rate:.0%}, cost {m.spent:.6f} {m.currency}, "
            f"the cache saved {m.saved:.6f} {m.currency}"
        )
