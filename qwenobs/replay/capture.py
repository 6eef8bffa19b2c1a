"""``qwenobs capture``: a recording made safe to commit, and a pytest module that replays it.

Secrets go as in cassettes (keys named like secrets, the API-key variables' values, bearer
tokens) and so do the user's own patterns (personal data: ``--redact`` regexes, or a function from
code); what was redacted is reported, never printed.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from ..scrub import SCRUBBED, SECRET_ENV, SECRET_JSON_KEYS
from .recording import Recording

# A bearer token or an API key written into text (sk-..., Bearer ...).
_TOKENS = re.compile(r"(?:\bBearer\s+[A-Za-z0-9._\-]{8,}|\bsk-[A-Za-z0-9_\-]{8,})")


def redact(
    recording: Recording,
    patterns: Iterable[str] = (),
    function: Callable[[str], str] | None = None,
) -> tuple[Recording, Counter[str]]:
    """A copy of ``recording`` with secrets and the ``patterns`` (regular expressions) replaced
    by ``<scrubbed>`` in every text it holds, ``function`` applied last; and how many values each
    rule replaced."""
    compiled = [(p, _regex(i, p)) for i, p in enumerate(patterns)]
    values = [v for name in SECRET_ENV if len(v := os.environ.get(name, "")) > 3]
    counts: Counter[str] = Counter()

    def text(value: str) -> str:
        for secret in values:
            if secret in value:
                counts["an API key from the environment"] += value.count(secret)
                value = value.replace(secret, SCRUBBED)
        value, n = _TOKENS.subn(SCRUBBED, value)
        if n:
            counts["a bearer token or sk- key"] += n
        for pattern, regex in compiled:
            value, n = regex.subn(SCRUBBED, value)
            if n:
                counts[f"--redact {pattern}"] += n
        if function is not None:
            changed = function(value)
            if changed != value:
                counts["the redaction function"] += 1
            value = changed
        return value

    def walk(value: Any) -> Any:
        if isinstance(value, str):
            return text(value)
        if isinstance(value, dict):
            out = {}
            for key, inner in value.items():
                if isinstance(key, str) and key.lower() in SECRET_JSON_KEYS and inner:
                    counts[f"the key {key!r}"] += 1
                    out[key] = SCRUBBED
                else:
                    out[key] = walk(inner)
            return out
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value

    data = walk(dataclasses.asdict(recording))
    return Recording.from_json(
        json.dumps({"format": "qwenobs-replay/1", **data}), recording.source
    ), counts


def _regex(index: int, pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ValueError(
            f"patterns[{index}] {pattern!r} is not a regular expression: {exc}"
        ) from None


def write(recording: Recording, folder: Path, name: str) -> tuple[Path, Path]:
    """``<name>.replay.json`` and ``test_<name>.py`` in ``folder``; the module's entry point is a
    placeholder to fill in."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise ValueError(f"name must be a Python identifier (it names the test), got {name!r}")
    folder.mkdir(parents=True, exist_ok=True)
    data = folder / f"{name}.replay.json"
    data.write_text(recording.to_json() + "\n", encoding="utf-8")
    module = folder / f"test_{name}.py"
    module.write_text(_module(recording, data.name, name), encoding="utf-8")
    return data, module


def _first_user_text(recording: Recording) -> str:
    for message in recording.calls[0].messages if recording.calls else ():
        if message.get("role") == "user":
            for part in message.get("parts") or ():
                if part.get("type") == "text":
                    return part.get("content") or ""
    return ""


def _module(recording: Recording, data: str, name: str) -> str:
    calls = recording.calls
    models = sorted({c.model for c in calls})
    outline = "\n".join(f"#   {i}. {c.where}: {_outline(c)}" for i, c in enumerate(calls, 1))
    return f'''"""Replays trace {recording.trace_id or "(cassette)"} from {recording.source}.

Written by `qwenobs capture`. The fake answers each call with the recorded answer and fails the
test at the first call where the application now sends something else.
"""

import pytest

# The recorded calls ({len(calls)}, {", ".join(models)}):
{outline}


def run_application(question: str):
    # EDIT ME: call your application here, as production did (the agent, the request handler).
    raise NotImplementedError(
        "test_{name}.py: replace run_application with a call to your application's entry point"
    )


@pytest.mark.qwen_replay("{data}")
def test_{name}():
    run_application({json.dumps(_first_user_text(recording), ensure_ascii=False)})
'''


def _outline(call: Any) -> str:
    answer = call.answer
    if answer.failed:
        what = f"error {answer.status} {answer.code or ''}".strip()
        return what + (" mid-stream" if answer.mid_stream else "")
    if answer.tool_calls:
        return "asked for " + ", ".join(c["name"] for c in answer.tool_calls)
    return "answered" + (" (stream)" if call.stream else "")


def capture(
    source: str,
    trace_id: str | None,
    folder: Path,
    name: str,
    patterns: Iterable[str] = (),
    *,
    conversation_id: str | None = None,
) -> tuple[Path, Path, Counter[str], list[str]]:
    """Load, redact and write; the paths, what was redacted, and the recording's notes."""
    from .sources import load

    recording, counts = redact(load(source, trace_id, conversation_id), patterns)
    data, module = write(recording, folder, name)
    return data, module, counts, recording.notes
