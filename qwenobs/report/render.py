"""The report page: one self-contained HTML file (plotly.js embedded once, no network) drawn from
the query results.

Charts are Plotly figures written as plain JSON (data + layout) beside an empty ``<div>``; one
script at the end draws them all. A section with nothing to show says so in words instead of
drawing an empty chart. Money is always shown per currency, never summed across currencies.
"""

from __future__ import annotations

import datetime
import html
import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .. import __version__
from .queries import LATENCY_METRICS, TOP, Results, Rows

PALETTE = (
    "#4C78A8", "#F58518", "#54A24B", "#E45756", "#72B7B2",
    "#B279A2", "#FF9DA6", "#9D755D", "#EECA3B", "#BAB0AC",
)  # fmt: skip
_SEVERITY_COLORS = {"error": "#E45756", "warning": "#F58518"}


@dataclass
class Page:
    """Sections of HTML and the figures they place."""

    title: str
    sources: Sequence[str]
    trace_url: str | None = None
    sections: list[tuple[str, str, str]] = field(default_factory=list)  # (anchor, heading, html)
    figures: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def figure(self, data: list[dict], layout: dict[str, Any], height: int = 360) -> str:
        """A chart's placeholder; the figure is drawn by the script at the end of the page."""
        chart_id = f"chart-{len(self.figures) + 1}"
        base = {
            "height": height,
            "margin": {"l": 60, "r": 20, "t": 40, "b": 50},
            "font": {"family": "system-ui, sans-serif", "size": 12},
            "paper_bgcolor": "white",
            "plot_bgcolor": "#fafafa",
        }
        self.figures.append((chart_id, {"data": data, "layout": {**base, **layout}}))
        return f'<div class="chart" id="{chart_id}"></div>'

    def add(self, anchor: str, heading: str, *parts: str) -> None:
        self.sections.append((anchor, heading, "\n".join(p for p in parts if p)))


# --- formatting ------------------------------------------------------------------------------


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def number(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}"
    return f"{int(value):,}"


def money(amount: Any, currency: str) -> str:
    """An amount with enough digits to tell small calls apart: 12.35 CNY, 0.00213 USD."""
    if amount is None:
        return "–"
    if amount == 0:
        return f"0 {currency}"
    digits = max(2, 3 - math.floor(math.log10(abs(amount))))
    return f"{amount:,.{min(digits, 8)}f} {currency}"


def percent(value: Any) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def seconds(value: Any) -> str:
    if value is None:
        return "–"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def when(value: Any) -> str:
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return "–" if value is None else str(value)


def _jsonable(value: Any) -> Any:
    """Figure data as JSON: dates as ISO strings, NaN and infinities as null."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    if isinstance(value, str | int | bool) or value is None:
        return value
    return float(value) if hasattr(value, "__float__") else str(value)  # Decimal


Column = tuple[str, str, Callable[[Any], str]]  # key, heading, format


def table(rows: Rows, columns: Sequence[Column], classes: str = "") -> str:
    head = "".join(f"<th>{esc(h)}</th>" for _, h, _ in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{fmt(row.get(key))}</td>" for key, _, fmt in columns) + "</tr>"
        for row in rows
    )
    return f'<table class="{classes}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def text(value: Any) -> str:
    return esc("–" if value is None or value == "" else value)


def cards(items: Iterable[tuple[str, str]]) -> str:
    inner = "".join(
        f'<div class="card"><div class="value">{value}</div><div class="label">{esc(label)}</div></div>'
        for label, value in items
    )
    return f'<div class="cards">{inner}</div>'


def note(message: str) -> str:
    return f'<p class="note">{message}</p>'


# --- the page --------------------------------------------------------------------------------


class Report:
    def __init__(self, results: Results, page: Page) -> None:
        self.r = results
        self.page = page
        models = sorted(
            {row["model"] or "unknown" for row in results["over_time"]}
            | {row["model"] or "unknown" for row in results["cache_by_model"]}
        )
        self.colors = {m: PALETTE[i % len(PALETTE)] for i, m in enumerate(models)}
        self.totals = results["totals"][0]

    def color(self, model: Any) -> str:
        return self.colors.get(model or "unknown", "#888888")

    def trace(self, trace_id: Any) -> str:
        shown = esc(trace_id)
        url = self.page.trace_url
        if not url or not trace_id:
            return f"<code>{shown}</code>"
        return f'<a href="{esc(url.replace("{trace_id}", str(trace_id)))}"><code>{shown}</code></a>'

    def build(self) -> None:
        self.summary()
        self.over_time()
        self.cache()
        self.latency()
        self.thinking()
        self.agents()
        self.conversations()
        self.outliers()

    # -- totals -----------------------------------------------------------------------------

    def summary(self) -> None:
        t, page = self.totals, self.page
        if not t["calls"]:
            page.add("summary", "Summary", note("These spans hold no chat calls."))
            return
        costs = self.r["cost_by_currency"]
        items = [
            ("chat calls", number(t["calls"])),
            ("errors", f"{number(t['errors'])} ({percent(t['errors'] / t['calls'])})"),
            ("input tokens", number(t["input"])),
            ("cached input tokens", f"{number(t['cached'])} ({percent(t['hit_rate'])})"),
            ("output tokens", number(t["output"])),
            ("reasoning tokens", number(t["reasoning"])),
            *((f"cost in {c['currency']}", esc(money(c["amount"], c["currency"]))) for c in costs),
            ("conversations", number(t["conversations"])),
            ("traces", number(t["traces"])),
        ]
        runs = self.r["agents"]
        if runs:
            stops = sum(r["loop_guard_stops"] + r["budget_stops"] for r in runs)
            items += [
                ("agent runs", number(sum(r["runs"] for r in runs))),
                ("agent runs stopped by a guard", number(stops)),
            ]
        parts = [cards(items), self._cost_note()]
        errors = self.r["errors_by_type"]
        if errors:
            kinds = sorted({e["error"] for e in errors})
            data = [
                {
                    "type": "bar",
                    "orientation": "h",
                    "name": model,
                    "y": [e["error"] for e in errors if e["model"] == model],
                    "x": [e["calls"] for e in errors if e["model"] == model],
                    "marker": {"color": self.color(model)},
                }
                for model in sorted({e["model"] or "unknown" for e in errors})
            ]
            parts.append("<h3>Errors by type</h3>")
            parts.append(
                page.figure(
                    data,
                    {"barmode": "stack", "xaxis": {"title": {"text": "calls"}},
                     "yaxis": {"categoryorder": "total ascending", "automargin": True},
                     "margin": {"l": 160, "r": 20, "t": 20, "b": 50}},
                    height=120 + 28 * len(kinds),
                )
            )  # fmt: skip
        else:
            parts.append(note("No call failed."))
        findings = self.r["findings_by_rule"]
        parts.append("<h3>Validation findings</h3>")
        if findings:
            parts.append(
                page.figure(
                    [
                        {
                            "type": "bar",
                            "orientation": "h",
                            "name": severity,
                            "y": [f["rule"] for f in findings if f["severity"] == severity],
                            "x": [f["findings"] for f in findings if f["severity"] == severity],
                            "marker": {"color": _SEVERITY_COLORS.get(severity, "#888888")},
                        }
                        for severity in sorted({f["severity"] or "?" for f in findings})
                    ],
                    {"barmode": "stack", "xaxis": {"title": {"text": "findings"}},
                     "yaxis": {"categoryorder": "total ascending", "automargin": True},
                     "margin": {"l": 200, "r": 20, "t": 20, "b": 50}},
                    height=120 + 28 * len(findings),
                )
            )  # fmt: skip
        else:
            parts.append(note("No validation findings (<code>dashscope.validation</code> events)."))
        page.add("summary", "Summary", *parts)

    def _cost_note(self) -> str:
        t, costs = self.totals, self.r["cost_by_currency"]
        if not costs:
            return note(
                "These spans carry no cost (<code>dashscope.cost.*</code>): they come from a "
                "qwenobs without prices, or from models without a price."
            )
        dates = sorted({d for c in costs for d in (c["prices_from"], c["prices_to"]) if d})
        parts = []
        if dates:
            parts.append(f"Prices as of {esc(', '.join(dates))}.")
        if len(costs) > 1:
            parts.append("Costs are shown per currency and never added across currencies.")
        if t["calls_without_cost"]:
            parts.append(
                f"{number(t['calls_without_cost'])} successful calls carry no cost (no price "
                "for their model, or a stream without its usage chunk)."
            )
        return note(" ".join(parts)) if parts else ""

    # -- over time --------------------------------------------------------------------------

    def over_time(self) -> None:
        page, unit = self.page, self.r.unit
        rows = self.r["over_time"]
        if not rows:
            return
        parts = [
            f"<p>Per {unit} (UTC).</p>",
            page.figure(
                self._stacked(rows, "calls"),
                {"barmode": "stack", "title": {"text": f"Chat calls per {unit}"},
                 "yaxis": {"title": {"text": "calls"}}},
            ),
        ]  # fmt: skip
        cost = self.r["cost_over_time"]
        for currency in sorted({row["currency"] for row in cost}):
            in_currency = [row for row in cost if row["currency"] == currency]
            parts.append(
                page.figure(
                    self._stacked(in_currency, "amount"),
                    {"barmode": "stack", "title": {"text": f"Cost per {unit} ({currency})"},
                     "yaxis": {"title": {"text": currency}}},
                )
            )  # fmt: skip
        if not cost:
            parts.append(note("No cost over time: the spans carry no cost."))
        page.add("time", "Over time", *parts)

    def _stacked(self, rows: Rows, value: str) -> list[dict]:
        return [
            {
                "type": "bar",
                "name": model,
                "x": [row["bucket"] for row in rows if (row["model"] or "unknown") == model],
                "y": [row[value] for row in rows if (row["model"] or "unknown") == model],
                "marker": {"color": self.color(model)},
            }
            for model in sorted({row["model"] or "unknown" for row in rows})
        ]

    # -- cache ------------------------------------------------------------------------------

    def cache(self) -> None:
        page = self.page
        by_model, by_prompt = self.r["cache_by_model"], self.r["cache_by_prompt"]
        if not by_model:
            page.add("cache", "Prefix cache", note("No call reported its usage."))
            return
        parts = [
            page.figure(
                [
                    {
                        "type": "bar",
                        "x": [row["model"] for row in by_model],
                        "y": [row["hit_rate"] or 0 for row in by_model],
                        "marker": {"color": [self.color(row["model"]) for row in by_model]},
                        "text": [percent(row["hit_rate"]) for row in by_model],
                        "textposition": "auto",
                        "name": "hit rate",
                    }
                ],
                {"title": {"text": "Cached share of input tokens, per model"},
                 "yaxis": {"tickformat": ".0%", "rangemode": "tozero"}, "showlegend": False},
                height=320,
            )
        ]  # fmt: skip
        savings = self.r["cost_by_model"]
        for currency in sorted({row["currency"] for row in savings if row["savings"]}):
            rows = [row for row in savings if row["currency"] == currency and row["savings"]]
            parts.append(
                page.figure(
                    [
                        {
                            "type": "bar",
                            "x": [row["model"] for row in rows],
                            "y": [row["savings"] for row in rows],
                            "marker": {"color": [self.color(row["model"]) for row in rows]},
                            "name": f"saved ({currency})",
                        }
                    ],
                    {"title": {"text": f"What the prefix cache saved ({currency})"},
                     "yaxis": {"title": {"text": currency}}, "showlegend": False},
                    height=320,
                )
            )  # fmt: skip
        saved = {
            (row["prompt"], row["currency"]): row["savings"] for row in self.r["savings_by_prompt"]
        }
        rows = []
        for row in by_prompt:
            shares = [
                money(amount, currency)
                for (prompt, currency), amount in sorted(saved.items())
                if prompt == row["prompt"] and amount
            ]
            rows.append({**row, "saved": ", ".join(shares) or "–"})
        zero = [r for r in rows if r["prompt"] and not r["cached"] and r["calls"] > 1]
        parts.append("<h3>By system prompt</h3>")
        parts.append(
            "<p>Prompts are shown by fingerprint (<code>dashscope.system_prompt.fingerprint</code>), "
            "never by content. DashScope caches a prefix from 256 tokens on; keep the system "
            "prompt the same from call to call (no date, user name or counter in it).</p>"
        )
        if zero:
            parts.append(
                '<div class="warning"><strong>'
                f"{len(zero)} system prompt{'s' * (len(zero) != 1)} never hit the cache</strong> "
                "over several calls: "
                + ", ".join(f"<code>{esc(r['prompt'])}</code> ({number(r['calls'])} calls)" for r in zero)
                + ".</div>"
            )  # fmt: skip
        parts.append(
            table(
                rows[: 5 * TOP],
                [
                    ("prompt", "system prompt", lambda v: f"<code>{esc(v)}</code>" if v else "(none)"),
                    ("calls", "calls", number),
                    ("models", "models", number),
                    ("mean_input", "mean input tokens", number),
                    ("cached", "cached tokens", number),
                    ("hit_rate", "hit rate", percent),
                    ("saved", "saved", esc),
                ],
            )
        )  # fmt: skip
        page.add("cache", "Prefix cache", *parts)

    # -- latency ----------------------------------------------------------------------------

    def latency(self) -> None:
        page, parts = self.page, []
        parts.append(
            "<p>Boxes span p25 to p75 with the median; whiskers reach p1 and p99; the dashed "
            "line is the mean. Failed calls are left out.</p>"
        )
        for column, label in LATENCY_METRICS.items():
            rows = self.r[f"latency_{column}"]
            if not rows:
                parts.append(note(f"No call recorded its {esc(label)}."))
                continue
            data = [
                {
                    "type": "box",
                    "name": row["model"] or "unknown",
                    "x": [row["model"] or "unknown"],
                    "q1": [row["p25"]],
                    "median": [row["p50"]],
                    "q3": [row["p75"]],
                    "lowerfence": [row["p1"]],
                    "upperfence": [row["p99"]],
                    "mean": [row["mean"]],
                    "marker": {"color": self.color(row["model"])},
                }
                for row in rows
            ]
            parts.append(
                page.figure(
                    data,
                    {"title": {"text": label.capitalize() + " per model"},
                     "yaxis": {"title": {"text": "seconds"}, "rangemode": "tozero"}, "showlegend": False},
                    height=340,
                )
            )  # fmt: skip
            parts.append(
                table(
                    rows,
                    [
                        ("model", "model", text),
                        ("calls", "calls", number),
                        ("p50", "p50", seconds),
                        ("p95", "p95", seconds),
                        ("p99", "p99", seconds),
                        ("max", "max", seconds),
                    ],
                    "compact",
                )
            )
        page.add("latency", "Latency", *parts)

    # -- thinking ---------------------------------------------------------------------------

    def thinking(self) -> None:
        page = self.page
        by_model, sample = self.r["thinking_by_model"], self.r["thinking_sample"]
        if not by_model:
            page.add("thinking", "Thinking", note("No call reported reasoning tokens."))
            return
        data = [
            {
                "type": "scattergl" if len(sample) > 1000 else "scatter",
                "mode": "markers",
                "name": model,
                "x": [s["reasoning_tokens"] for s in sample if s["model"] == model],
                "y": [s["answer_tokens"] for s in sample if s["model"] == model],
                "marker": {"color": self.color(model), "size": 6, "opacity": 0.6},
            }
            for model in sorted({s["model"] for s in sample})
        ]
        sampled = (
            f" (a sample of {len(sample):,} calls)"
            if len(sample) < sum(r["calls"] for r in by_model)
            else ""
        )
        page.add(
            "thinking",
            "Thinking",
            page.figure(
                data,
                {"title": {"text": f"Reasoning tokens against answer tokens{sampled}"},
                 "xaxis": {"title": {"text": "reasoning tokens"}},
                 "yaxis": {"title": {"text": "answer tokens"}}},
                height=400,
            ),
            table(
                by_model,
                [
                    ("model", "model", text),
                    ("calls", "calls with thinking", number),
                    ("mean_reasoning", "mean reasoning tokens", number),
                    ("mean_reasoning_chars", "mean thinking chars", number),
                    ("mean_answer", "mean answer tokens", number),
                    ("reasoning_share", "reasoning share of output", percent),
                ],
            ),
        )  # fmt: skip

    # -- agents -----------------------------------------------------------------------------

    def agents(self) -> None:
        page, runs = self.page, self.r["agents"]
        if not runs:
            page.add(
                "agents",
                "Agents",
                note(
                    "No agent runs (<code>invoke_agent</code> spans from <code>qwenobs.agent</code>)."
                ),
            )
            return
        rounds = self.r["agent_rounds"]
        data = [
            {
                "type": "bar",
                "name": agent or "(unnamed)",
                "x": [r["rounds"] for r in rounds if r["agent"] == agent],
                "y": [r["runs"] for r in rounds if r["agent"] == agent],
                "marker": {"color": PALETTE[i % len(PALETTE)]},
            }
            for i, agent in enumerate(sorted({r["agent"] for r in rounds}))
        ]
        costs: dict[str, list[str]] = {}
        for row in self.r["agent_cost"]:
            costs.setdefault(row["agent"], []).append(money(row["amount"], row["currency"]))
        rows = [{**row, "cost": ", ".join(costs.get(row["agent"], [])) or "–"} for row in runs]
        page.add(
            "agents",
            "Agents",
            page.figure(
                data,
                {"barmode": "group", "title": {"text": "Tool rounds per run"},
                 "xaxis": {"title": {"text": "rounds (responses that asked for tools)"}, "dtick": 1},
                 "yaxis": {"title": {"text": "runs"}}},
                height=340,
            ),
            table(
                rows,
                [
                    ("agent", "agent", lambda v: esc(v or "(unnamed)")),
                    ("runs", "runs", number),
                    ("mean_rounds", "mean rounds", number),
                    ("max_rounds", "max rounds", number),
                    ("repeated_tool_calls", "repeated tool calls", number),
                    ("runs_with_repeats", "runs with repeats", number),
                    ("forced_answers", "forced answers", number),
                    ("loop_guard_stops", "loop-guard stops", number),
                    ("budget_stops", "budget stops", number),
                    ("cost", "cost", esc),
                ],
            ),
        )  # fmt: skip

    # -- conversations ----------------------------------------------------------------------

    def conversations(self) -> None:
        rows = self.r["conversations"]
        if not rows:
            return
        costs: dict[str, list[str]] = {}
        for row in self.r["conversation_cost"]:
            costs.setdefault(row["conversation_id"], []).append(
                money(row["amount"], row["currency"])
            )
        shown = [{**r, "cost": ", ".join(costs.get(r["conversation_id"], [])) or "–"} for r in rows]
        self.page.add(
            "conversations",
            "Conversations",
            f"<p>The {len(rows)} conversations with the most calls "
            f"(of {number(self.totals['conversations'])}; <code>gen_ai.conversation.id</code>).</p>",
            table(
                shown,
                [
                    ("conversation_id", "conversation", lambda v: f"<code>{esc(v)}</code>"),
                    ("calls", "calls", number),
                    ("traces", "traces", number),
                    ("first", "first call (UTC)", when),
                    ("input", "input tokens", number),
                    ("hit_rate", "cache hit rate", percent),
                    ("errors", "errors", number),
                    ("cost", "cost", esc),
                ],
            ),
        )

    # -- outliers ---------------------------------------------------------------------------

    def outliers(self) -> None:
        parts = ["<h3>Slowest calls</h3>"]
        parts.append(
            table(
                self.r["slowest"],
                [
                    ("trace_id", "trace", self.trace),
                    ("ts", "start (UTC)", when),
                    ("model", "model", text),
                    ("duration_s", "duration", seconds),
                    ("time_to_first_chunk", "first chunk", seconds),
                    ("input_tokens", "input tokens", number),
                    ("output_tokens", "output tokens", number),
                    ("error_type", "error", text),
                ],
            )
        )
        for row in self.r["cost_by_currency"]:
            currency = row["currency"]
            parts.append(f"<h3>Most expensive calls ({esc(currency)})</h3>")
            parts.append(
                table(
                    self.r[f"most_expensive_{currency}"],
                    [
                        ("trace_id", "trace", self.trace),
                        ("ts", "start (UTC)", when),
                        ("model", "model", text),
                        ("cost_amount", "cost", lambda v, c=currency: esc(money(v, c))),
                        ("input_tokens", "input tokens", number),
                        ("cached_tokens", "cached", number),
                        ("output_tokens", "output tokens", number),
                        ("duration_s", "duration", seconds),
                    ],
                )
            )
        self.page.add("outliers", "Slowest and most expensive calls", *parts)


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#222;background:#fff}
header{background:#1f2937;color:#fff;padding:18px 32px}
header h1{margin:0 0 4px;font-size:22px}
header p{margin:2px 0;color:#d1d5db;font-size:13px}
nav{padding:8px 32px;border-bottom:1px solid #e5e7eb;font-size:14px;position:sticky;top:0;background:#fff;z-index:2}
nav a{margin-right:16px;color:#2563eb;text-decoration:none}
main{max-width:1180px;margin:0 auto;padding:8px 32px 48px}
section{margin-top:28px}
h2{border-bottom:2px solid #e5e7eb;padding-bottom:4px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:12px}
.card{border:1px solid #e5e7eb;border-radius:8px;padding:12px;background:#f9fafb}
.card .value{font-size:20px;font-weight:600}
.card .label{font-size:12px;color:#6b7280;margin-top:4px}
.chart{margin:16px 0;min-height:120px}
table{border-collapse:collapse;margin:12px 0;font-size:13px;width:100%}
th,td{border-bottom:1px solid #e5e7eb;padding:5px 8px;text-align:right}
th:first-child,td:first-child{text-align:left}
th{background:#f3f4f6;font-weight:600}
table.compact{width:auto}
code{font-size:12px}
.note{color:#4b5563}
.warning{background:#fff7ed;border:1px solid #fdba74;border-radius:6px;padding:10px 12px;margin:12px 0}
footer{color:#6b7280;font-size:12px;padding:16px 32px;border-top:1px solid #e5e7eb}
"""

_DRAW = """
for (const el of document.querySelectorAll('script.figure')) {
  const figure = JSON.parse(el.textContent);
  Plotly.newPlot(el.dataset.target, figure.data, figure.layout,
                 {displaylogo: false, responsive: true});
}
"""


def html_page(page: Page, plotly_js: str, generated: datetime.datetime) -> str:
    nav = "".join(f'<a href="#{a}">{esc(h)}</a>' for a, h, _ in page.sections)
    sections = "\n".join(
        f'<section id="{a}"><h2>{esc(h)}</h2>\n{body}\n</section>' for a, h, body in page.sections
    )
    figures = "\n".join(
        f'<script type="application/json" class="figure" data-target="{chart_id}">'
        + json.dumps(_jsonable(fig), separators=(",", ":"), allow_nan=False).replace("</", "<\\/")
        + "</script>"
        for chart_id, fig in page.figures
    )
    sources = ", ".join(page.sources)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(page.title)}</title>
<style>{_CSS}</style>
<script>{plotly_js}</script>
</head>
<body>
<header><h1>{esc(page.title)}</h1>
<p>From {esc(sources)}</p>
<p>Generated {generated:%Y-%m-%d %H:%M} UTC by qwenobs {esc(__version__)}</p></header>
<nav>{nav}</nav>
<main>
{sections}
</main>
<footer>Everything on this page is in this one file; it needs no network.</footer>
{figures}
<script>{_DRAW}</script>
</body>
</html>
"""


def render(
    results: Results,
    *,
    title: str,
    sources: Sequence[str],
    trace_url: str | None = None,
    plotly_js: str | None = None,
) -> str:
    """The report page for these results."""
    if plotly_js is None:
        from ..extras import need

        plotly_js = need("plotly.offline", "report", "qwenobs report").get_plotlyjs()
    page = Page(title, sources, trace_url)
    Report(results, page).build()
    return html_page(page, plotly_js, datetime.datetime.now(datetime.timezone.utc))
