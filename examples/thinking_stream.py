"""enable_thinking needs stream=True: the reasoning goes to a log, the answer to the user."""

from __future__ import annotations

import logging

from _qwen import qwen

import qwenobs

log = logging.getLogger("reasoning")


def answer(client, question: str, show) -> str:
    stream = client.chat.completions.create(
        model="qwen3-max",
        messages=[{"role": "user", "content": question}],
        extra_body={"enable_thinking": True},
        stream=True,
        max_tokens=1024,
    )
    reasoning, text = [], []
    for chunk in stream:
        delta = chunk.choices[0].delta
        thought = getattr(delta, "reasoning_content", None)  # Qwen streams its thinking here first
        if thought:
            reasoning.append(thought)
        if delta.content:
            text.append(delta.content)
            show(delta.content)  # only the answer reaches the user
    log.info("reasoning (%d chars): %s", sum(map(len, reasoning)), "".join(reasoning))
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
