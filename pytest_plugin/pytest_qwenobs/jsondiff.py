"""Where two JSON documents differ, one line per difference, paths as a reader writes them
(``messages[1].content``), for the failure of a request a cassette does not hold."""

from __future__ import annotations

from typing import Any

_SHOWN = 60  # characters of a value shown in a difference


def differences(recorded: Any, sent: Any, path: str = "") -> list[str]:
    """Each place ``sent`` differs from ``recorded``, in document order."""
    if isinstance(recorded, dict) and isinstance(sent, dict):
        lines = []
        for key in [*recorded, *(k for k in sent if k not in recorded)]:
            where = f"{path}.{key}" if path else str(key)
            if key not in sent:
                lines.append(f"{where}: recorded {_shown(recorded[key])}, not sent")
            elif key not in recorded:
                lines.append(f"{where}: sent {_shown(sent[key])}, not recorded")
            else:
                lines += differences(recorded[key], sent[key], where)
        return lines
    if isinstance(recorded, list) and isinstance(sent, list):
        lines = []
        for index, (old, new) in enumerate(zip(recorded, sent, strict=False)):
            lines += differences(old, new, f"{path}[{index}]")
        if len(recorded) != len(sent):
            extra = sent[len(recorded) :] if len(sent) > len(recorded) else recorded[len(sent) :]
            what = "sent" if len(sent) > len(recorded) else "recorded"
            lines.append(
                f"{path or 'body'}: {len(recorded)} item(s) recorded, {len(sent)} sent; only "
                f"{what}: {_shown(extra)}"
            )
        return lines
    if recorded == sent:  # as the cassette matcher compares
        return []
    return [f"{path or 'body'}: recorded {_shown(recorded)}, sent {_shown(sent)}"]


def distance(recorded: Any, sent: Any) -> int:
    """How far ``sent`` is from ``recorded``: one for each differing value and for each key or
    list item only one side has (a list six items short is six away, not one)."""
    if isinstance(recorded, dict) and isinstance(sent, dict):
        return sum(
            distance(recorded[key], sent[key]) if key in recorded and key in sent else 1
            for key in recorded.keys() | sent.keys()
        )
    if isinstance(recorded, list) and isinstance(sent, list):
        shared = sum(distance(a, b) for a, b in zip(recorded, sent, strict=False))
        return shared + abs(len(recorded) - len(sent))
    return 0 if recorded == sent else 1


def common_messages(recorded: Any, sent: Any) -> int:
    """How many leading messages two chat request bodies share: a later round of an agent
    repeats the conversation of the earlier ones."""
    if not (isinstance(recorded, dict) and isinstance(sent, dict)):
        return 0
    old, new = recorded.get("messages"), sent.get("messages")
    if not (isinstance(old, list) and isinstance(new, list)):
        return 0
    count = 0
    for a, b in zip(old, new, strict=False):
        if a != b:
            break
        count += 1
    return count


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."
