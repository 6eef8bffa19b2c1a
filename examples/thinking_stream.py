"""enable_thinking needs stream=True: the reasoning goes to a log, the answer to the user.

Thinking delays the first word of the answer by a second or more (1.5-3 s is common), so the user
watches a spinner meanwhile instead of a frozen screen. A web UI could stream the reasoning into a
collapsed "show reasoning" panel instead: any ThinkingView will do.
"""

from __future__ import annotations

import logging
import sys
from typing import Protocol, TextIO

from _qwen import qwen

import qwenobs

log = logging.getLogger("reasoning")


class ThinkingView(Protocol):
    """What the user sees while the model thinks."""

    def turn(self, reasoning_chars: int) -> None: ...
    def clear(self) -> None: ...


class Spinner:
    """A one-line "thinking" indicator: it turns as reasoning arrives, then erases itself."""

    FRAMES = "|/-\\"

    def __init__(self, out: TextIO = sys.stderr) -> None:
        self.out = out
        self.turns = 0
        self.shown = False

    def turn(self, reasoning_chars: int) -> None:
        frame = self.FRAMES[self.turns % len(self.FRAMES)]
        self.out.write(f"\r{frame} thinking... ({reasoning_chars} characters of reasoning)")
        self.out.flush()
        self.turns += 1
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            self.out.write("\r\033[K")  # back to the start of the line, erase it
            self.out.flush()
            self.shown = False


def answer(client, question: str, show, spinner: ThinkingView | None = None) -> str:
    spinner = spinner or Spinner()
    spinner.turn(0)  # at once: even the first reasoning chunk takes a moment
    reasoning, text = [], []
    reasoning_chars = 0
    try:
        stream = client.chat.completions.create(
            model="qwen3-max",
            messages=[{"role": "user", "content": question}],
            extra_body={"enable_thinking": True},
            stream=True,
            max_tokens=1024,
        )
        for chunk in stream:
            delta = chunk.choices[0].delta
            thought = getattr(delta, "reasoning_content", None)  # Qwen's thinking comes first
            if thought:
                reasoning.append(thought)
                reasoning_chars += len(thought)
                spinner.turn(reasoning_chars)
            if delta.content:
                spinner.clear()  # the answer has started: the spinner gives way to it
                text.append(delta.content)
                show(delta.content)  # only the answer reaches the user
    finally:
        spinner.clear()  # also when the call fails: no spinner left on the screen
    log.info("reasoning (%d chars): %s", reasoning_chars, "".join(reasoning))
    return "".join(text)


def script(fake) -> None:
    fake.reply(
        "It will be 50 minutes off.",
        reasoning="Five minutes a day for ten days is fifty minutes.",
        chunk_size=4,
    )


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    qwenobs.instrument()
    with qwen(script) as client:
        answer(
            client,
            "A clock loses 5 minutes a day. How far off after 10 days?",
            lambda s: print(s, end="", flush=True),
        )
        print()
