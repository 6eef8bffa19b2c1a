"""What a user of the SDK can observe from one call, reduced to plain data so front ends compare.

The sync and async runners only collect; ``summarize`` is shared.
"""

from __future__ import annotations

import json
import time
from typing import Any

import openai


async def observe(harness: Any, **request: Any) -> dict[str, Any]:
    """Make one call through ``harness`` and summarize what the SDK shows."""
    client = harness.client
    started = time.perf_counter()
    arrivals: list[float] = []
    items: list[Any] = []
    try:
        if harness.is_async:
            result = await client.chat.completions.create(**request)
            if request.get("stream"):
                async for chunk in result:
                    arrivals.append(time.perf_counter() - started)
                    items.append(chunk)
                result = None
        else:
            result = client.chat.completions.create(**request)
            if request.get("stream"):
                for chunk in result:
                    arrivals.append(time.perf_counter() - started)
                    items.append(chunk)
                result = None
    except openai.APIError as exc:
        summary = summarize(result=None, chunks=items, error=exc)
    else:
        summary = summarize(result=result, chunks=items, error=None)
    summary["arrivals"] = arrivals
    summary["elapsed"] = time.perf_counter() - started
    return summary


def summarize(*, result: Any, chunks: list[Any], error: openai.APIError | None) -> dict:
    out: dict[str, Any] = {}
    if result is not None:
        message = result.choices[0].message
        out.update(
            kind="completion",
            content=message.content,
            reasoning=getattr(message, "reasoning_content", None),
            tool_calls=[
                (call.function.name, _arguments(call.function.arguments))
                for call in message.tool_calls or ()
            ],
            finish_reason=result.choices[0].finish_reason,
            usage=result.usage.model_dump(exclude_none=True) if result.usage else None,
            id_matches_request=result.id == f"chatcmpl-{result._request_id}",
        )
    if chunks or (result is None and error is None):
        out.update(kind="stream", **_reassemble(chunks))
    if error is not None:
        out["error"] = {
            "type": type(error).__name__,
            "status": getattr(error, "status_code", None),
            "code": error.code,
            "body": error.body,
            "has_request_id": bool(getattr(error, "request_id", None)),
        }
        out.setdefault("kind", "error")
    return out


def _reassemble(chunks: list[Any]) -> dict[str, Any]:
    reasoning, content, order, calls = [], [], [], {}
    finish, usage, first_role = None, None, None
    for i, chunk in enumerate(chunks):
        if chunk.usage is not None:
            usage = chunk.usage.model_dump(exclude_none=True)
        for choice in chunk.choices:
            delta = choice.delta
            if i == 0:
                first_role = delta.role
            if getattr(delta, "reasoning_content", None):
                reasoning.append(delta.reasoning_content)
                _mark(order, "reasoning")
            if delta.content:
                content.append(delta.content)
                _mark(order, "content")
            for call in delta.tool_calls or ():
                slot = calls.setdefault(call.index, {"id": call.id, "name": "", "args": ""})
                if call.function.name:
                    slot["name"] += call.function.name
                slot["args"] += call.function.arguments or ""
                if call.id and call.id != slot["id"]:
                    slot["id_changed"] = True
            finish = choice.finish_reason or finish
    return {
        "content": "".join(content),
        "reasoning": "".join(reasoning) or None,
        "order": order,
        "tool_calls": [(c["name"], _arguments(c["args"])) for _, c in sorted(calls.items())],
        "tool_call_ids": [c["id"] for _, c in sorted(calls.items())],
        "finish_reason": finish,
        "usage": usage,
        "first_role": first_role,
        "chunks": len(chunks),
        "ids": {chunk.id for chunk in chunks},
    }


def _arguments(text: str) -> Any:
    """Tool-call arguments parsed, or as sent when they are not JSON (a model can send that)."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _mark(order: list[str], kind: str) -> None:
    if order[-1:] != [kind]:
        order.append(kind)
