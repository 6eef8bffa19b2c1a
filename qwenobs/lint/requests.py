"""Request files for ``qwenobs lint``: one request object, a bare message list, or JSONL of either;
``-`` is standard input."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from ..validation import Finding, validate

STDIN = "-"


class UnreadableInput(Exception):
    """A file lint cannot read; the message is one line naming the file and why."""


def requests_in(values: list[Any], path: Path) -> list[dict[str, Any]]:
    """The requests among a request file's JSON values; ``UnreadableInput`` for any other value."""
    return [_as_request(value, path, number) for number, value in enumerate(values, 1)]


def read_json(path: Path) -> list[Any]:
    """The JSON value of a file, or of each line of a JSONL file (``-``: standard input)."""
    try:
        text = sys.stdin.read() if str(path) == STDIN else path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UnreadableInput(f"{path}: cannot read: {exc}") from None
    try:
        return [json.loads(text)]
    except json.JSONDecodeError as whole_error:
        lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
        if len(lines) < 2:
            raise UnreadableInput(
                f"{path}: not JSON ({whole_error.msg} at line {whole_error.lineno}, "
                f"column {whole_error.colno})"
            ) from None
        values = []
        for number, line in lines:
            try:
                values.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise UnreadableInput(
                    f"{path}:{number}: not a JSON line ({exc.msg}, column {exc.colno})"
                ) from None
        return values


def look_like_requests(values: list[Any]) -> bool:
    """Whether JSON found in a directory is a request file: every value an object with a
    ``messages`` list, or a list of messages (objects with a ``role``). Anything else there (a
    package.json, a replay file, fixtures of other tests) is not lint's business."""

    def one(value: Any) -> bool:
        if isinstance(value, dict):
            return isinstance(value.get("messages"), list)
        return (
            isinstance(value, list)
            and bool(value)
            and all(isinstance(m, dict) and "role" in m for m in value)
        )

    return bool(values) and all(one(value) for value in values)


def look_like_a_cassette(values: list[Any]) -> bool:
    """A cassette vcrpy wrote with its JSON serializer: one object with an ``interactions`` list."""
    return len(values) == 1 and isinstance(values[0], dict) and "interactions" in values[0]


def _as_request(data: Any, path: Path, number: int) -> dict[str, Any]:
    if isinstance(data, dict):
        if "messages" not in data:
            raise UnreadableInput(f"{path}: request {number} is an object without 'messages'")
        return data
    if isinstance(data, list):
        return {"messages": data}
    raise UnreadableInput(
        f"{path}: request {number} must be a JSON object with 'messages' or a list of messages, "
        f"not {type(data).__name__}"
    )


def lint_request(request: dict[str, Any]) -> list[Finding]:
    """The findings for one request; a bare message list (``messages`` alone) is judged as
    messages only: it has no parameters to find fault with (no ``max-tokens-unset``)."""
    findings = validate(request)
    if request.keys() == {"messages"}:
        return [f for f in findings if f.param is None or f.param == "messages"]
    return findings
