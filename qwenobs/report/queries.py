"""The report's aggregations, as SQL that runs on DuckDB (the embedded default) and on ClickHouse
(the Collector's ClickHouse exporter's ``otel_traces`` table) alike.

Every query reads three views with the same columns in both engines: ``chat_calls`` and
``agent_runs`` (a row per span; see ``load.COLUMNS``) and ``findings`` (a row per validation
finding). ``load.VIEWS`` defines them over DuckDB's table, ``CLICKHOUSE_VIEWS`` over
``otel_traces``. The queries keep to what both engines spell alike (``date_trunc``,
``count(*) FILTER (WHERE ...)``, ``GROUP BY ALL``, ``nullif``, ``coalesce``); the one function
spelled differently, an exact quantile, comes from the dialect. No output column takes the name of
a column it is computed from: ClickHouse would resolve that name to the alias (an aggregate inside
an aggregate).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .. import semconv as sc

Rows = list[dict[str, Any]]
Execute = Callable[[str], Rows]

LOOP_GUARD_ERROR = "AgentLoopError"
BUDGET_ERROR = "AgentBudgetError"
TOP = 10  # rows in the slowest, most expensive and conversation tables
SAMPLE = 2000  # points in the thinking scatter plot


@dataclass(frozen=True)
class Dialect:
    name: str
    quantile_template: str  # {p} and {x}

    def quantile(self, x: str, p: float) -> str:
        return self.quantile_template.format(p=p, x=x)


DUCKDB = Dialect("duckdb", "quantile_cont({x}, {p})")
CLICKHOUSE = Dialect("clickhouse", "quantileExactInclusive({p})({x})")
DIALECTS = {d.name: d for d in (DUCKDB, CLICKHOUSE)}

LATENCY_METRICS = {
    "duration_s": "duration",
    "time_to_first_chunk": "time to first chunk",
    "time_to_first_content": "time to first answer (after thinking)",
}
PERCENTILES = (0.01, 0.25, 0.5, 0.75, 0.95, 0.99)


def _hit_rate(cached: str = "cached_tokens", total: str = "input_tokens") -> str:
    return f"sum({cached}) / nullif(sum({total}), 0)"


def totals() -> str:
    return f"""
SELECT count(*) AS calls,
       count(*) FILTER (WHERE is_error) AS errors,
       sum(input_tokens) AS input,
       sum(cached_tokens) AS cached,
       sum(output_tokens) AS output,
       sum(reasoning_tokens) AS reasoning,
       {_hit_rate()} AS hit_rate,
       count(*) FILTER (WHERE cost_amount IS NULL AND NOT is_error) AS calls_without_cost,
       count(DISTINCT trace_id) AS traces,
       count(DISTINCT conversation_id) AS conversations,
       min(ts) AS first, max(ts) AS last
FROM chat_calls"""


def errors_by_type() -> str:
    return """
SELECT coalesce(error_type, 'unknown') AS error, model, count(*) AS calls
FROM chat_calls WHERE is_error OR error_type IS NOT NULL
GROUP BY ALL ORDER BY calls DESC, error, model"""


def cost_by_currency() -> str:
    return """
SELECT coalesce(cost_currency, '?') AS currency, sum(cost_amount) AS amount,
       sum(cache_savings) AS savings, count(*) AS calls,
       min(prices_as_of) AS prices_from, max(prices_as_of) AS prices_to
FROM chat_calls WHERE cost_amount IS NOT NULL
GROUP BY ALL ORDER BY currency"""


def cost_by_model() -> str:
    return """
SELECT model, coalesce(cost_currency, '?') AS currency, sum(cost_amount) AS amount,
       sum(cache_savings) AS savings, count(*) AS calls
FROM chat_calls WHERE cost_amount IS NOT NULL
GROUP BY ALL ORDER BY currency, amount DESC"""


def findings_by_rule() -> str:
    return """
SELECT rule, severity, count(*) AS findings, count(DISTINCT span_id) AS calls
FROM findings GROUP BY ALL ORDER BY findings DESC, rule"""


def over_time(unit: str) -> str:
    return f"""
SELECT date_trunc('{unit}', ts) AS bucket, model, count(*) AS calls,
       count(*) FILTER (WHERE is_error) AS errors
FROM chat_calls GROUP BY ALL ORDER BY bucket, model"""


def cost_over_time(unit: str) -> str:
    return f"""
SELECT date_trunc('{unit}', ts) AS bucket, model, coalesce(cost_currency, '?') AS currency,
       sum(cost_amount) AS amount
FROM chat_calls WHERE cost_amount IS NOT NULL GROUP BY ALL ORDER BY bucket, model"""


def cache_by_model() -> str:
    return f"""
SELECT model, count(*) AS calls, count(*) FILTER (WHERE cached_tokens > 0) AS calls_with_hits,
       sum(input_tokens) AS input, sum(cached_tokens) AS cached,
       {_hit_rate()} AS hit_rate
FROM chat_calls WHERE input_tokens IS NOT NULL GROUP BY ALL ORDER BY model"""


def cache_by_prompt() -> str:
    return f"""
SELECT coalesce(prompt_fingerprint, '') AS prompt, count(*) AS calls,
       count(DISTINCT model) AS models, avg(input_tokens) AS mean_input,
       sum(input_tokens) AS input, sum(cached_tokens) AS cached,
       {_hit_rate()} AS hit_rate
FROM chat_calls WHERE input_tokens IS NOT NULL GROUP BY ALL ORDER BY calls DESC, prompt"""


def savings_by_prompt() -> str:
    return """
SELECT coalesce(prompt_fingerprint, '') AS prompt, coalesce(cost_currency, '?') AS currency,
       sum(cache_savings) AS savings
FROM chat_calls WHERE cache_savings IS NOT NULL GROUP BY ALL ORDER BY prompt, currency"""


def latency(dialect: Dialect, column: str) -> str:
    qs = ", ".join(f"{dialect.quantile(column, p)} AS p{round(p * 100)}" for p in PERCENTILES)
    return f"""
SELECT model, count({column}) AS calls, min({column}) AS min, max({column}) AS max,
       avg({column}) AS mean, {qs}
FROM chat_calls WHERE {column} IS NOT NULL AND NOT is_error GROUP BY ALL ORDER BY model"""


def thinking_by_model() -> str:
    return """
SELECT model, count(*) AS calls, avg(reasoning_tokens) AS mean_reasoning,
       avg(output_tokens - reasoning_tokens) AS mean_answer,
       avg(reasoning_chars) AS mean_reasoning_chars,
       sum(reasoning_tokens) / nullif(sum(output_tokens), 0) AS reasoning_share
FROM chat_calls WHERE reasoning_tokens > 0 GROUP BY ALL ORDER BY model"""


def thinking_sample() -> str:
    # Span ids are random: the first N in their order are a uniform sample, in both engines.
    return f"""
SELECT model, reasoning_tokens, output_tokens - reasoning_tokens AS answer_tokens,
       reasoning_chars, trace_id
FROM chat_calls WHERE reasoning_tokens > 0 ORDER BY span_id LIMIT {SAMPLE}"""


def agents() -> str:
    return f"""
SELECT coalesce(agent_name, '') AS agent, count(*) AS runs,
       avg(agent_rounds) AS mean_rounds, max(agent_rounds) AS max_rounds,
       sum(agent_tool_calls) AS tool_calls, sum(agent_repeated) AS repeated_tool_calls,
       count(*) FILTER (WHERE agent_repeated > 0) AS runs_with_repeats,
       count(*) FILTER (WHERE agent_forced_answer) AS forced_answers,
       count(*) FILTER (WHERE error_type = '{LOOP_GUARD_ERROR}') AS loop_guard_stops,
       count(*) FILTER (WHERE error_type = '{BUDGET_ERROR}') AS budget_stops,
       count(*) FILTER (WHERE is_error) AS failed
FROM agent_runs GROUP BY ALL ORDER BY runs DESC, agent"""


def agent_rounds() -> str:
    return """
SELECT coalesce(agent_name, '') AS agent, coalesce(agent_rounds, 0) AS rounds, count(*) AS runs
FROM agent_runs GROUP BY ALL ORDER BY agent, rounds"""


def agent_cost() -> str:
    return """
SELECT coalesce(agent_name, '') AS agent, coalesce(agent_cost_currency, '?') AS currency,
       sum(agent_cost_amount) AS amount, count(*) AS runs
FROM agent_runs WHERE agent_cost_amount IS NOT NULL GROUP BY ALL ORDER BY agent, currency"""


def slowest() -> str:
    return f"""
SELECT trace_id, span_id, ts, model, duration_s, time_to_first_chunk, input_tokens,
       output_tokens, error_type
FROM chat_calls ORDER BY duration_s DESC, span_id LIMIT {TOP}"""


def most_expensive(currency: str) -> str:
    quoted = currency.replace("'", "''")
    return f"""
SELECT trace_id, span_id, ts, model, cost_amount, cost_currency, input_tokens, cached_tokens,
       output_tokens, duration_s
FROM chat_calls WHERE cost_currency = '{quoted}' AND cost_amount IS NOT NULL
ORDER BY cost_amount DESC, span_id LIMIT {TOP}"""


def conversations() -> str:
    return f"""
SELECT conversation_id, count(*) AS calls, count(DISTINCT trace_id) AS traces,
       min(ts) AS first, sum(input_tokens) AS input, sum(cached_tokens) AS cached,
       {_hit_rate()} AS hit_rate, count(*) FILTER (WHERE is_error) AS errors
FROM chat_calls WHERE conversation_id IS NOT NULL
GROUP BY ALL ORDER BY calls DESC, conversation_id LIMIT {TOP}"""


def conversation_cost() -> str:
    return f"""
SELECT conversation_id, coalesce(cost_currency, '?') AS currency, sum(cost_amount) AS amount
FROM chat_calls WHERE conversation_id IN (
    SELECT conversation_id FROM chat_calls WHERE conversation_id IS NOT NULL
    GROUP BY conversation_id ORDER BY count(*) DESC, conversation_id LIMIT {TOP})
  AND cost_amount IS NOT NULL
GROUP BY ALL ORDER BY conversation_id, currency"""


def time_range() -> str:
    return "SELECT date_diff('second', min(ts), max(ts)) AS seconds FROM chat_calls"


def bucket_unit(seconds: float) -> str:
    """The time axis: minutes for under three hours of data, hours for under three days, else days."""
    if seconds < 3 * 3600:
        return "minute"
    if seconds < 3 * 86400:
        return "hour"
    return "day"


@dataclass
class Results:
    """What the queries returned, by name; what the page is drawn from."""

    unit: str
    tables: dict[str, Rows] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Rows:
        return self.tables[name]


def run(execute: Execute, dialect: Dialect = DUCKDB) -> Results:
    """Every aggregation the report shows."""
    (span,) = execute(time_range())
    unit = bucket_unit(span["seconds"] or 0)
    results = Results(unit)
    named = {
        "totals": totals(),
        "errors_by_type": errors_by_type(),
        "cost_by_currency": cost_by_currency(),
        "cost_by_model": cost_by_model(),
        "findings_by_rule": findings_by_rule(),
        "over_time": over_time(unit),
        "cost_over_time": cost_over_time(unit),
        "cache_by_model": cache_by_model(),
        "cache_by_prompt": cache_by_prompt(),
        "savings_by_prompt": savings_by_prompt(),
        "thinking_by_model": thinking_by_model(),
        "thinking_sample": thinking_sample(),
        "agents": agents(),
        "agent_rounds": agent_rounds(),
        "agent_cost": agent_cost(),
        "slowest": slowest(),
        "conversations": conversations(),
        "conversation_cost": conversation_cost(),
    }
    for column in LATENCY_METRICS:
        named[f"latency_{column}"] = latency(dialect, column)
    for name, sql in named.items():
        results.tables[name] = execute(sql)
    for row in results["cost_by_currency"]:
        results.tables[f"most_expensive_{row['currency']}"] = execute(
            most_expensive(row["currency"])
        )
    return results


# The same views over the Collector's ClickHouse exporter's table (attribute values are strings
# there; a missing key reads as ''), so `run(execute, CLICKHOUSE)` works against it.
def _ch_str(key: str) -> str:
    return f"nullif(SpanAttributes['{key}'], '')"


def _ch_column(column: str, key: str, kind: str) -> str:
    value = _ch_str(key)
    expr = {
        "str": value,
        "int": f"toInt64OrNull({value})",
        "float": f"toFloat64OrNull({value})",
        "bool": f"if({value} IS NULL, NULL, {value} = 'true')",
    }[kind]
    return f"{expr} AS {column}"


def clickhouse_views(table: str = "otel_traces") -> str:
    from .load import COLUMNS

    columns = ",\n       ".join(_ch_column(c, k, t) for c, (k, t) in COLUMNS.items())
    return f"""
CREATE OR REPLACE VIEW spans AS
SELECT lower(TraceId) AS trace_id, lower(SpanId) AS span_id,
       lower(nullif(ParentSpanId, '')) AS parent_span_id, SpanName AS name,
       ServiceName AS service, Timestamp AS ts, Duration / 1e9 AS duration_s,
       StatusCode IN ('Error', 'STATUS_CODE_ERROR') AS is_error,
       {columns}
FROM {table};
CREATE OR REPLACE VIEW chat_calls AS
SELECT * FROM spans WHERE operation = '{sc.OPERATION_CHAT}' OR (operation IS NULL AND name LIKE 'chat %');
CREATE OR REPLACE VIEW agent_runs AS SELECT * FROM spans WHERE operation = '{sc.OPERATION_AGENT}';
CREATE OR REPLACE VIEW findings AS
SELECT lower(TraceId) AS trace_id, lower(SpanId) AS span_id,
       nullif(SpanAttributes['{sc.REQUEST_MODEL}'], '') AS model,
       e.Attributes['rule'] AS rule, e.Attributes['severity'] AS severity
FROM {table} ARRAY JOIN Events AS e WHERE e.Name = '{sc.VALIDATION_EVENT}';
"""
