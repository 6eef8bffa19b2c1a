"""Reading chat data whether it is decoded JSON (dicts) or the SDK's pydantic objects.

Pure: no openai, no OpenTelemetry. The rules, the token estimate, the span attributes and the
fake all read messages, tool calls and responses through these.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def field(obj: Any, key: str) -> Any:
    """``obj[key]`` for a dict, ``obj.key`` otherwise; None when absent."""
    # dict first and no Mapping ABC check: this runs on the traced call's hot path.
    if isinstance(obj, dict):
        return obj.get(key)
    return getattr(obj, key, None)


def fields_of(obj: Any) -> Mapping[str, Any]:
    """Every field of ``obj`` by name, to read with ``.get``, those the SDK does not declare
    (DashScope's own, such as ``cache_type``) included: a dict as it is; a pydantic 2 model's
    fields with its extras; else its attributes. Reading an absent name this way costs a dict
    lookup, where ``getattr`` on a pydantic model raises inside its ``__getattr__``."""
    if isinstance(obj, dict):
        return obj
    extras = getattr(obj, "__pydantic_extra__", None)
    declared = getattr(obj, "__dict__", None)
    if type(declared) is not dict:
        return extras if type(extras) is dict else {}
    return {**declared, **extras} if type(extras) is dict and extras else declared


def message_text(content: Any) -> str:
    """The text of a message ``content``: a string, or the text parts of a list of typed parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(text for part in content if isinstance(text := field(part, "text"), str))
    return str(content)


def jsonable(obj: Any) -> Any:
    """``json.dumps(default=...)`` for SDK objects: their fields, else their text."""
    dump = getattr(obj, "model_dump", None)
    return dump(exclude_none=True) if callable(dump) else str(obj)
