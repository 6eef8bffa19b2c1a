"""What differs between a recorded call and the call the application makes now, said so a person
can see it: the first few differences, each with its place (``messages[3].parts[0].response``),
what was recorded and what was sent."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..attributes import input_parts
from ..fields import field
from .recording import RecordedCall

# Parameters qwenobs itself may add to a request: never a difference of the application's.
_OURS = frozenset({"stream_options"})
_SHOWN = 3  # differences listed per call; the first one is what matters


@dataclass(frozen=True)
class Options:
    """How strictly a call must repeat its recording.

    ``json_as_data``: JSON text (tool results, tool arguments, JSON answers) compared as data,
    so key order and spacing do not matter. ``ignore``: places never compared, as glob patterns
    over the places the differences name (``"temperature"``, ``"messages[*].parts[*].response"``,
    ``"tools"``).
    """

    json_as_data: bool = False
    ignore: tuple[str, ...] = ()


@dataclass(frozen=True)
class Now:
    """The request the application makes now, in the recording's shape."""

    model: str
    system: list[dict[str, Any]]
    messages: list[dict[str, Any]]
    tools: list[Any] | None
    parameters: dict[str, Any]
    # Where each of ``messages`` stands in the request (the system messages are apart): the
    # places a difference names are the request's own.
    indexes: tuple[int, ...] = ()

    @classmethod
    def of(cls, body: Mapping[str, Any]) -> Now:
        sent = list(body.get("messages") or ())
        system, messages = input_parts(sent)
        indexes = tuple(i for i, m in enumerate(sent) if field(m, "role") != "system")
        parameters = {
            k: v for k, v in body.items() if k not in ("messages", "tools") and k not in _OURS
        }
        # Round-trip through JSON, as the recording did: tuples become lists, and so on.
        tools = (
            json.loads(json.dumps(body.get("tools"), default=str)) if body.get("tools") else None
        )
        return cls(str(body.get("model")), system, messages, tools, parameters, indexes)


def differences(recorded: RecordedCall, now: Now, options: Options) -> list[str]:
    """Each difference as one line; empty when the application sent what it sent then."""
    found: list[str] = []
    _compare("model", recorded.model, now.model, found, options)
    _compare("system", recorded.system, now.system, found, options)
    _compare_messages(recorded.messages, now.messages, now.indexes, found, options)
    _compare("tools", recorded.tools, now.tools, found, options)
    recorded_parameters = {k: v for k, v in recorded.parameters.items() if k not in _OURS}
    keys = sorted((set(recorded_parameters) | set(now.parameters)) - {"model"})
    for key in keys:
        _compare(key, recorded_parameters.get(key), now.parameters.get(key), found, options)
    return found


def common_prefix(recorded: RecordedCall, now: Now, options: Options) -> int:
    """How many leading messages agree: to find the recorded call the application meant."""
    n = 0
    for old, new in zip(recorded.messages, now.messages, strict=False):
        lines: list[str] = []
        _compare("m", old, new, lines, options)
        if lines:
            break
        n += 1
    return n


def _compare_messages(
    old: list[dict[str, Any]],
    new: list[dict[str, Any]],
    indexes: tuple[int, ...],
    found: list[str],
    options: Options,
) -> None:
    for i, (a, b) in enumerate(zip(old, new, strict=False)):
        place = indexes[i] if i < len(indexes) else i
        _compare(f"messages[{place}]", a, b, found, options, context=_describe(b))
    if len(old) != len(new):
        more, which = (old, "recorded") if len(old) > len(new) else (new, "sent now")
        extra = ", ".join(_describe(m) for m in more[min(len(old), len(new)) :][:3])
        found.append(
            f"messages: {len(old)} recorded, {len(new)} sent now (the {which} ones go on: {extra})"
        )


def _describe(message: Mapping[str, Any]) -> str:
    role = message.get("role")
    kinds = [p.get("type") for p in message.get("parts") or ()]
    return f"{role} message" + (f" with {', '.join(k for k in kinds if k)}" if kinds else "")


def _ignored(place: str, patterns: tuple[str, ...]) -> bool:
    return any(_glob(pattern).fullmatch(place) for pattern in patterns)


@functools.cache
def _glob(pattern: str) -> re.Pattern[str]:
    """``*`` any part of a name, ``[*]`` any index: ``messages[*].parts[*].response``."""
    regex = re.escape(pattern).replace(r"\[\*\]", r"\[\d+\]").replace(r"\*", r"[^.\[\]]*")
    return re.compile(regex)


def _compare(
    place: str, old: Any, new: Any, found: list[str], options: Options, context: str = ""
) -> None:
    if options.ignore and _ignored(place, options.ignore):
        return
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new), key=str):
            _compare(f"{place}.{key}", old.get(key), new.get(key), found, options, context)
        return
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            _compare(f"{place}[{i}]", a, b, found, options, context)
        return
    if _same(old, new, options):
        return
    where = f"{place} ({context})" if context else place
    found.append(f"{where}: recorded {_show(old)}, sent now {_show(new)}")


def _same(old: Any, new: Any, options: Options) -> bool:
    if old == new:
        return True
    if options.json_as_data and isinstance(old, str) and isinstance(new, str):
        try:
            return json.loads(old) == json.loads(new)
        except ValueError:
            return False
    return False


def _show(value: Any) -> str:
    text = (
        repr(value)
        if isinstance(value, str)
        else json.dumps(value, ensure_ascii=False, default=str)
    )
    return text if len(text) <= 160 else text[:157] + "..."


def report(differences_: Iterable[str]) -> str:
    lines = list(differences_)
    shown = [f"  - {line}" for line in lines[:_SHOWN]]
    if len(lines) > _SHOWN:
        shown.append(f"  (and {len(lines) - _SHOWN} more)")
    return "\n".join(shown)
