"""Watch the implicit prefix cache: hit rate over a window of calls, and what a date in the system
prompt does to it (exact-prefix matching: anything dynamic early in the prompt defeats it)."""

from __future__ import annotations

import datetime as dt
from collections import deque

from _qwen import qwen

import qwenobs

STABLE_SYSTEM = (
    "You are the support assistant of a tea shop in Hangzhou. Answer in two sentences, cite the "
    "shop policy when relevant, and never promise delivery dates. " * 12
)


class CacheMonitor:
    """Cache hit rate over the last ``window`` calls, from usage.prompt_tokens_details.cached_tokens."""

    def __init__(self, window: int = 50) -> None:
        self.window: deque[tuple[int, int]] = deque(maxlen=window)

    def record(self, usage) -> None:
        details = usage.prompt_tokens_details
        self.window.append((usage.prompt_tokens, (details.cached_tokens or 0) if details else 0))

    @property
    def hit_rate(self) -> float:
        total = sum(p for p, _ in self.window)
        return sum(c for _, c in self.window) / total if total else 0.0


def run(client, questions: list[str], dated: bool) -> float:
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
        monitor.record(response.usage)
    return monitor.hit_rate


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
    with qwen(script) as client:
        print(f"stable system prompt: cache hit rate {run(client, QUESTIONS, dated=False):.0%}")
    with qwen(script) as client:
        print(f"date in system prompt: cache hit rate {run(client, QUESTIONS, dated=True):.0%}")
