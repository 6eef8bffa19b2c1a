"""Keep a long conversation inside the window: keep the system prompt and the last messages,
summarise the middle with a cheap model, and put the summary back as a system message."""

from __future__ import annotations

from _qwen import qwen

import qwenobs

KEEP_LAST = 6


def compact(
    client, messages: list[dict], budget_tokens: int, keep_last: int = KEEP_LAST
) -> list[dict]:
    if qwenobs.estimate_prompt_tokens(messages) <= budget_tokens or len(messages) <= keep_last + 1:
        return messages
    head = [messages[0]] if messages[0]["role"] == "system" else []
    tail = messages[-keep_last:]
    while tail and tail[0]["role"] == "tool":  # never split a tool round: it would be an orphan
        tail = tail[1:]
    middle = messages[len(head) : len(messages) - len(tail)]
    transcript = "\n".join(f"{m['role']}: {m.get('content') or ''}" for m in middle)
    summary = client.chat.completions.create(
        model="qwen-turbo",  # the cheapest variant is plenty for a summary
        messages=[
            {"role": "system", "content": "Summarise this conversation in at most five sentences."},
            {"role": "user", "content": transcript},
        ],
        max_tokens=300,
    )
    note = {
        "role": "system",
        "content": "Earlier in this conversation: " + summary.choices[0].message.content,
    }
    return [*head, note, *tail]


def long_conversation(turns: int = 40) -> list[dict]:
    messages = [{"role": "system", "content": "You are a patient trip planner."}]
    for i in range(turns):
        messages.append(
            {"role": "user", "content": f"Day {i + 1}: what should we see? " + "Details. " * 40}
        )
        messages.append(
            {
                "role": "assistant",
                "content": f"On day {i + 1}, visit the old town. " + "More. " * 40,
            }
        )
    return messages


def script(fake) -> None:
    fake.reply("The travellers planned 40 days around old towns, gardens and tea hills.")


if __name__ == "__main__":
    qwenobs.instrument()
    with qwen(script) as client:
        messages = long_conversation()
        compacted = compact(client, messages, budget_tokens=4000)
        print(f"{len(messages)} messages, ~{qwenobs.estimate_prompt_tokens(messages)} tokens ->")
        print(f"{len(compacted)} messages, ~{qwenobs.estimate_prompt_tokens(compacted)} tokens")
        print(compacted[1]["content"])
