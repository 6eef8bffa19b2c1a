"""The report's fixed trace file, and its figures computed the slow, obvious way (json and loops,
no DuckDB, no qwenobs reader) to check the report's numbers against."""

from __future__ import annotations

import gzip
import json
import statistics
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest

DATA = Path(__file__).parent / "data"
FIXTURE = DATA / "spans.jsonl.gz"  # qwenobs.report.synthetic.write(..., 240, seed=18, days=2)


def _value(v: dict[str, Any]) -> Any:
    if "intValue" in v:
        return int(v["intValue"])
    if "arrayValue" in v:
        return [_value(x) for x in v["arrayValue"]["values"]]
    for key in ("stringValue", "doubleValue", "boolValue"):
        if key in v:
            return v[key]
    raise AssertionError(v)


def raw_spans(path: Path = FIXTURE) -> list[dict[str, Any]]:
    spans = []
    with gzip.open(path, "rt") as lines:
        for line in lines:
            for rs in json.loads(line)["resourceSpans"]:
                for ss in rs["scopeSpans"]:
                    for s in ss["spans"]:
                        s["attrs"] = {a["key"]: _value(a["value"]) for a in s["attributes"]}
                        s["seconds"] = (
                            int(s["endTimeUnixNano"]) - int(s["startTimeUnixNano"])
                        ) / 1e9
                        spans.append(s)
    return spans


def expected_figures(spans: list[dict[str, Any]]) -> dict[str, Any]:
    chats = [s for s in spans if s["attrs"].get("gen_ai.operation.name") == "chat"]
    agents = [s for s in spans if s["attrs"].get("gen_ai.operation.name") == "invoke_agent"]
    total = lambda key, rows=chats: sum(s["attrs"].get(key, 0) for s in rows)  # noqa: E731
    cost: dict[str, float] = defaultdict(float)
    savings: dict[str, float] = defaultdict(float)
    for s in chats:
        if "dashscope.cost.amount" in s["attrs"]:
            cost[s["attrs"]["dashscope.cost.currency"]] += s["attrs"]["dashscope.cost.amount"]
            savings[s["attrs"]["dashscope.cost.currency"]] += s["attrs"][
                "dashscope.cost.cache_savings"
            ]
    by_model: dict[str, list[dict]] = defaultdict(list)
    for s in chats:
        by_model[s["attrs"]["gen_ai.request.model"]].append(s)
    findings = Counter(
        next(a["value"]["stringValue"] for a in e["attributes"] if a["key"] == "rule")
        for s in chats
        for e in s.get("events", [])
        if e["name"] == "dashscope.validation"
    )
    by_prompt: dict[str, list[dict]] = defaultdict(list)
    for s in chats:
        if "gen_ai.usage.input_tokens" in s["attrs"]:
            by_prompt[s["attrs"]["dashscope.system_prompt.fingerprint"]].append(s)
    return {
        "calls": len(chats),
        "errors": sum(s["status"].get("code") == 2 for s in chats),
        "input_tokens": total("gen_ai.usage.input_tokens"),
        "cached_tokens": total("gen_ai.usage.cache_read.input_tokens"),
        "output_tokens": total("gen_ai.usage.output_tokens"),
        "reasoning_tokens": total("gen_ai.usage.reasoning.output_tokens"),
        "cost": dict(cost),
        "savings": dict(savings),
        "findings": dict(findings),
        "agent_runs": len(agents),
        "loop_guard_stops": sum(s["attrs"].get("error.type") == "AgentLoopError" for s in agents),
        "forced_answers": sum(s["attrs"]["dashscope.agent.forced_answer"] for s in agents),
        "repeated_tool_calls": total("dashscope.agent.repeated_tool_calls", agents),
        "hit_rate": {
            m: total("gen_ai.usage.cache_read.input_tokens", rows)
            / total("gen_ai.usage.input_tokens", rows)
            for m, rows in by_model.items()
        },
        "median_duration": {
            m: statistics.median(s["seconds"] for s in rows if s["status"].get("code") != 2)
            for m, rows in by_model.items()
        },
        "p95_duration": {
            m: statistics.quantiles(
                [s["seconds"] for s in rows if s["status"].get("code") != 2],
                n=20,
                method="inclusive",
            )[18]
            for m, rows in by_model.items()
        },
        "zero_hit_prompts": sorted(
            p
            for p, rows in by_prompt.items()
            if len(rows) > 1 and total("gen_ai.usage.cache_read.input_tokens", rows) == 0
        ),
        "slowest": max(chats, key=lambda s: s["seconds"])["traceId"],
    }


@pytest.fixture(scope="session")
def expected() -> dict[str, Any]:
    return expected_figures(raw_spans())
