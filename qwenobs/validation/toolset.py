"""What the rules need from a ``tools`` list, computed once per set of tools.

Applications pass the same tools on every call, but the SDK copies them into each request body, so
identity cannot find them again. The memo is looked up by the tool names in order and keeps a deep
copy of the tools it summarised: a hit counts only if the tools still equal that copy, so a schema
that changes under the same name (or is edited in place) gets a fresh summary. The comparison is
cheap because the SDK's copies share their strings with the caller's tools, and so does the deep
copy: equal strings are found equal by identity. The memo holds at most 64 tool sets.
"""

from __future__ import annotations

import copy
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
    optional: tuple[tuple[Any, tuple[str, ...]], ...]  # (tool name, parameters not required)
    json_bytes: int  # ASCII-escaped JSON length: an upper bound on the UTF-8 bytes


# tool names in order -> (a deep copy of the tools summarised, their summary)
_memo: dict[tuple[Any, ...], tuple[list[Any], ToolSet]] = {}


def toolset(tools: list[Any] | tuple[Any, ...]) -> ToolSet:
    key = tuple([_name(tool) for tool in tools])
    entry = _memo.get(key)
    if entry is not None and _unchanged(entry[0], tools):
        return entry[1]
    summary = _summarise(tools)
    snapshot = _snapshot(tools)
    if snapshot is not None:
        if len(_memo) >= _MEMO_SIZE:
            _memo.clear()
        _memo[key] = (snapshot, summary)
    return summary


def _snapshot(tools: list[Any] | tuple[Any, ...]) -> list[Any] | None:
    """A copy no later edit of ``tools`` reaches; None if some object in them cannot be copied."""
    try:
        return copy.deepcopy(list(tools))
    except Exception:  # an exotic object in the tools: summarise it afresh on every call
        return None


def _unchanged(snapshot: list[Any], tools: list[Any] | tuple[Any, ...]) -> bool:
    return snapshot == (tools if type(tools) is list else list(tools))


def _name(tool: Any) -> Any:
    function = tool.get("function") if type(tool) is dict else field(tool, "function")
    name = function.get("name") if type(function) is dict else field(function, "name")
    return name if isinstance(name, str) else None


def _summarise(tools: Any) -> ToolSet:
    names, nested, optional = [], [], []
    for tool in tools:
        function = field(tool, "function")
        name = field(function, "name")
        if isinstance(name, str):
            names.append(name)
        schema = field(function, "parameters")
        prop = _nested_property(schema)
        if prop is not None:
            nested.append((name, prop))
        loose = _optional_properties(schema)
        if loose:
            optional.append((name, loose))
    return ToolSet(
        tuple(names), tuple(nested), tuple(optional), len(json.dumps(tools, default=jsonable))
    )


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


def _optional_properties(schema: Any) -> tuple[str, ...]:
    """The top-level parameters ``required`` leaves out (all of them when it is missing)."""
    props = field(schema, "properties")
    if not isinstance(props, Mapping) or not props:
        return ()
    required = field(schema, "required")
    if not isinstance(required, list | tuple):
        required = ()
    listed = {name for name in required if isinstance(name, str)}
    return tuple(str(name) for name in props if name not in listed)
