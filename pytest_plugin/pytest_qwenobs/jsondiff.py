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


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."
