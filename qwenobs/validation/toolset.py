"""What the rules need from a ``tools`` list, computed once per set of tools.

Applications pass the same tools on every call, but the SDK copies them into each request body, so
identity cannot find them again. The summary is memoised by the tool names in order, which is cheap
to read; a tool whose schema changes under the same name keeps its first summary until the memo
is cleared (it holds at most 64 entries).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..fields import field, jsonable

_MEMO_SIZE = 64


@dataclass(frozen=True, slots=True)
class ToolSet:
    names: tuple[str, ...]
    nested: tuple[tuple[Any, str], ...]  # (tool name, parameter that nests an object)
    json_bytes: int  # ASCII-escaped JSON length: an upper bound on the UTF-8 bytes


_memo: dict[tuple[Any, ...], ToolSet] = {}


def toolset(tools: list[Any] | tuple[Any, ...]) -> ToolSet:
    key = tuple([_name(tool) for tool in tools])
    summary = _memo.get(key)
    if summary is None:
        summary = _summarise(tools)
        if len(_memo) >= _MEMO_SIZE:
            _memo.clear()
        _memo[key] = summary
    return summary


def _name(tool: Any) -> Any:
    function = tool.get("function") if type(tool) is dict else field(tool, "function")
    name = function.get("name") if type(function) is dict else field(function, "name")
    return name if isinstance(name, str) else None


def _summarise(tools: Any) -> ToolSet:
    names, nested = [], []
    for tool in tools:
        function = field(tool, "function")
        name = field(function, "name")
        if isinstance(name, str):
            names.append(name)
        prop = _nested_property(field(function, "parameters"))
        if prop is not None:
            nested.append((name, prop))
    return ToolSet(tuple(names), tuple(nested), len(json.dumps(tools, default=jsonable)))


def _nested_property(schema: Any) -> str | None:
    props = field(schema, "properties")
    if not isinstance(props, Mapping):
        return None
    for name, prop in props.items():
        if not isinstance(prop, Mapping):
            continue
        items = prop.get("items")
        if (
            prop.get("type") == "object"
            or "properties" in prop
            or (
                isinstance(items, Mapping)
                and (items.get("type") == "object" or "properties" in items)
            )
        ):
            return str(name)
    return None
