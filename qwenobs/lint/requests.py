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


def load_requests(path: Path) -> list[dict[str, Any]]:
    """The requests in a request file, in order."""
    try:
        text = sys.stdin.read() if str(path) == STDIN else path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UnreadableInput(f"{path}: cannot read: {exc}") from None
    try:
        return [_as_request(json.loads(text), path, 1)]
    except json.JSONDecodeError as whole_error:
        lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
        if len(lines) < 2:
            raise UnreadableInput(
                f"{path}: not JSON ({whole_error.msg} at line {whole_error.lineno}, "
                f"column {whole_error.colno})"
            ) from None
        requests = []
        for number, line in lines:
            try:
                requests.append(_as_request(json.loads(line), path, len(requests) + 1))
            except json.JSONDecodeError as exc:
                raise UnreadableInput(
                    f"{path}:{number}: not a JSON line ({exc.msg}, column {exc.colno})"
                ) from None
        return requests


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
