"""Cassettes for ``qwenobs lint``: recorded traffic freezes mistakes into tests.

Every recorded chat request goes through ``qwenobs.validate`` (a request DashScope rejected is
usually a bug kept alive by its cassette); the secret scan looks for what scrubbing missed and
never shows the secret; streams recorded empty, cut before ``data: [DONE]`` or without the usage
they asked for are errors; a cassette older than the set age is a warning (its date comes from
the stamp qwenobs writes when it records).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from ..cassettes import STAMP, Interaction, asks_for_usage, recorded_at
from ..scrub import SecretScan
from ..semconv import is_chat_path
from ..validation import validate
from .findings import LintFinding

# rule id -> (severity, one-line description); the ids are stable, like validate's.
RULES: dict[str, tuple[str, str]] = {
    "secret-in-recording": (
        "error",
        "an API key, an Authorization header, a cookie or a scrubbed name's value in a cassette",
    ),
    "empty-stream": ("error", "a stream recorded with no content, reasoning or tool call"),
    "stream-cut": ("error", "a stream recorded without its closing data: [DONE]"),
    "stream-without-usage": (
        "error",
        "a stream that asked for usage, recorded without its usage chunk",
    ),
    "recording-too-old": ("warning", "a cassette recorded longer ago than the set age"),
}


def lint_cassette(
    file: str,
    interactions: list[Interaction],
    *,
    secrets: SecretScan,
    max_age_days: int | None,
    today: datetime,
) -> list[LintFinding]:
    found: list[LintFinding] = []
    for number, interaction in enumerate(interactions, 1):
        found += _interaction(file, number, interaction, secrets)
    if max_age_days is not None:
        found += _age(file, interactions, max_age_days, today)
    return found


def _note(file: str, rule: str, message: str, **where: Any) -> LintFinding:
    return LintFinding(file, rule, RULES[rule][0], message, **where)


def _interaction(
    file: str, number: int, interaction: Interaction, secrets: SecretScan
) -> list[LintFinding]:
    found = [
        _note(
            file,
            "secret-in-recording",
            f"{place}. Scrub it (re-record: qwenobs scrubs Authorization, API-key headers and "
            "cookies; --qwen-scrub NAME adds names), and revoke the key if the cassette was ever "
            "shared.",
            interaction=number,
        )
        for place in _secret_places(interaction, secrets)
    ]
    body = _json(interaction.request_body)
    if interaction.method != "POST" or not is_chat_path(urlsplit(interaction.uri).path):
        return found
    if not isinstance(body, dict):
        return found
    found += [LintFinding.of(file, f, interaction=number) for f in validate(body)]
    if _streamed(interaction, body):
        found += _stream(file, number, interaction.response_body, asks_for_usage(body))
    return found


def _secret_places(interaction: Interaction, secrets: SecretScan) -> list[str]:
    request, response = interaction.request, interaction.response
    places = secrets.request(
        interaction.method, interaction.uri, request.get("headers"), interaction.request_body
    )
    places += secrets.response(response.get("headers"), interaction.response_body)
    return list(dict.fromkeys(places))  # each place once, in order


def _json(text: str) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


def _streamed(interaction: Interaction, body: dict[str, Any]) -> bool:
    status = interaction.status
    if status is not None and not 200 <= status < 300:
        return False  # an error answer, even an SSE-framed one, is not a stream to judge
    kind = interaction.header("response", "content-type") or ""
    return "event-stream" in kind or body.get("stream") is True


@dataclass(frozen=True, slots=True)
class _Stream:
    chunks: int  # data events before [DONE]
    done: bool  # the last event is [DONE]
    error: bool  # an error event (moderation stops a stream this way, without [DONE])
    answer: bool  # some chunk carries content, reasoning or a tool call
    usage: bool  # a chunk carries usage


def _read_stream(body: str) -> _Stream:
    events = []
    for block in body.replace("\r\n", "\n").split("\n\n"):
        data = [line[5:].strip() for line in block.split("\n") if line.startswith("data:")]
        if data:
            events.append("\n".join(data))
    done = bool(events) and events[-1] == "[DONE]"
    chunks = [_json(e) for e in events if e != "[DONE]"]
    error = answer = usage = False
    for chunk in chunks:
        if not isinstance(chunk, dict):
            continue
        error = error or "error" in chunk
        usage = usage or bool(chunk.get("usage"))
        for choice in chunk.get("choices") or ():
            delta = choice.get("delta") if isinstance(choice, dict) else None
            if isinstance(delta, dict) and any(
                delta.get(key) for key in ("content", "reasoning_content", "tool_calls")
            ):
                answer = True
    return _Stream(len(chunks), done, error, answer, usage)


def _stream(file: str, number: int, body: str, asked_usage: bool) -> list[LintFinding]:
    stream = _read_stream(body)
    if stream.error:
        return []  # a stream stopped by an error event is what DashScope sent
    found = []
    if not stream.answer:
        what = (
            "the recorded body is empty"
            if not stream.chunks
            else f"none of its {stream.chunks} chunk(s) carries content, reasoning or a tool call"
        )
        found.append(
            _note(
                file,
                "empty-stream",
                f"a streamed answer with nothing in it: {what}. Every replay test built on it "
                "asserts against nothing; re-record it.",
                interaction=number,
            )
        )
    if stream.chunks and not stream.done:
        found.append(
            _note(
                file,
                "stream-cut",
                "the recorded stream ends without data: [DONE]: the recording was cut (a "
                "client that stopped reading, a timeout). Re-record it.",
                interaction=number,
            )
        )
    elif asked_usage and stream.chunks and not stream.usage:
        found.append(
            _note(
                file,
                "stream-without-usage",
                'the request asked for usage (stream_options={"include_usage": true}) but the '
                "recorded stream has no usage chunk, which DashScope always sends when asked. "
                "Re-record it.",
                interaction=number,
            )
        )
    return found


def _age(
    file: str, interactions: Iterable[Interaction], max_age_days: int, today: datetime
) -> list[LintFinding]:
    dated = [(when, i) for i in interactions if (when := recorded_at(i.response)) is not None]
    if not dated:
        return []  # not recorded by qwenobs: vcrpy stores no date, file times are checkout times
    when, oldest = min(dated, key=lambda pair: pair[0])
    days = (today - when).days
    if days <= max_age_days:
        return []
    version = (oldest.response.get(STAMP) or {}).get("version", "?")
    return [
        _note(
            file,
            "recording-too-old",
            f"recorded {when:%Y-%m-%d} ({days} days ago, by qwenobs {version}), older than "
            f"{max_age_days} days: DashScope may answer differently today. Re-record it "
            "(pytest ... --qwen-record-mode=rewrite).",
        )
    ]
