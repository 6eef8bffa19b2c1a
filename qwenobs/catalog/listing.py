"""``qwenobs catalog``: the model table as a person or a script reads it, with its age."""

from __future__ import annotations

import json
import os
import sys
from datetime import date
from typing import Any

from ..cost import BATCH, EXPLICIT_CREATION, EXPLICIT_HIT, IMPLICIT_HIT
from . import active_catalog
from .model import Catalog, ModelInfo
from .prices import PRICE_SOURCES, Prices
from .table import SOURCES

STALE_AFTER_DAYS = 90  # prices and limits change every few months


def rows(catalog: Catalog, names: list[str]) -> list[ModelInfo]:
    """The entries for ``names`` (all when empty); raises ``LookupError`` for an unknown name."""
    if not names:
        return sorted(catalog.models.values(), key=lambda m: m.name)
    found = []
    for name in names:
        info = catalog.lookup(name)
        if info is None:
            close = ", ".join(catalog.closest(name)) or "none"
            raise LookupError(f"{name!r} is not in the model table (closest: {close})")
        found.append(info)
    return found


def as_json(info: ModelInfo) -> dict[str, Any]:
    url, title, _ = SOURCES.get(info.source, (info.source, "", ""))
    return {
        "name": info.name,
        "context_window": info.context_window,
        "max_input": info.input_limit(False),
        "max_input_thinking": info.input_limit(True),
        "max_output": info.output_limit(False),
        "max_output_thinking": info.output_limit(True),
        "max_thinking_budget": info.max_thinking_budget,
        "thinking": info.thinking,
        "vocabulary": info.vocabulary,
        "vocabulary_published": info.vocabulary_published,
        "modalities": sorted(info.modalities),
        "stream_only": info.stream_only,
        "source": url,
        "source_title": title,
        "as_of": info.as_of,
        "prices": {region: _prices_json(p) for region, p in (info.prices or {}).items()},
    }


def _money(amount: float) -> float:
    return round(amount, 9)  # 0.8 * 0.2 is 0.16000000000000003


def _prices_json(prices: Prices) -> dict[str, Any]:
    url, title, _ = PRICE_SOURCES.get(prices.source, (prices.source, "", ""))
    bands = []
    for band, label in prices.tiers:
        bands.append(
            {
                "tier": label,
                "up_to": band.up_to,
                "input": band.input,
                "cached_input": _money(band.input * IMPLICIT_HIT),
                "output": band.output,
                "output_thinking": band.thinking_output,
            }
        )
    return {
        "currency": prices.currency,
        "per_tokens": 1_000_000,
        "bands": bands,
        "source": url,
        "source_title": title,
        "as_of": prices.as_of,
    }


def _limit(info: ModelInfo, kind: str) -> str:
    plain = getattr(info, f"{kind}_limit")(False)
    thinking = getattr(info, f"{kind}_limit")(True)
    text = f"{plain:,}"
    return text if thinking == plain or info.thinking == "never" else f"{text} ({thinking:,})"


def header(catalog: Catalog, today: date | None = None) -> str:
    age = catalog.age_days(today)
    line = f"Model table checked {catalog.checked}"
    if age is not None:
        line += f" ({age} days ago)"
        if age > STALE_AFTER_DAYS:
            line += (
                f": older than {STALE_AFTER_DAYS} days; prices and limits may have changed. "
                "Update qwenobs, or correct entries in QWENOBS_CATALOG"
            )
    extra = os.environ.get("QWENOBS_CATALOG")
    if extra:
        line += f"; with corrections from {extra}"
    return line


def text(infos: list[ModelInfo], catalog: Catalog) -> str:
    columns = [
        ("model", lambda m: m.name),
        ("context", lambda m: f"{m.context_window:,}"),
        ("max input (thinking)", lambda m: _limit(m, "input")),
        ("max output (thinking)", lambda m: _limit(m, "output")),
        ("thinking", lambda m: m.thinking),
        ("vocabulary", lambda m: m.vocabulary + ("" if m.vocabulary_published else "*")),
        (
            "inputs",
            lambda m: "+".join(sorted(m.modalities)) + (", stream" if m.stream_only else ""),
        ),
        ("as of", lambda m: m.as_of),
        ("source", lambda m: SOURCES.get(m.source, (m.source,))[0]),
    ]
    table = [[name for name, _ in columns]] + [[str(get(m)) for _, get in columns] for m in infos]
    widths = [max(len(row[i]) for row in table) for i in range(len(columns) - 1)]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)) + "  " + row[-1]
        for row in table
    ]
    lines.insert(1, "  ".join("-" * w for w in widths) + "  " + "-" * 6)
    return "\n".join(
        [
            header(catalog),
            "",
            *lines,
            "",
            "* vocabulary inferred from the model's family. Thinking: never / off (thinks when "
            "asked) / on (thinks unless enable_thinking is false) / always.",
        ]
    )


def _band_text(label: str, input: float, output: float, thinking: float) -> str:
    cached = _money(input * IMPLICIT_HIT)
    text = f"{label} {input:g}/{cached:g}/{output:g}"
    return text if thinking == output else f"{text} ({thinking:g})"


def prices_text(infos: list[ModelInfo]) -> str:
    """Each model's prices per region, a line each, and the sources they come from."""
    table = [["model", "region", "currency", "as of", "source", "bands"]]
    used: dict[str, None] = {}
    for info in infos:
        for region, prices in sorted((info.prices or {}).items()):
            bands = "; ".join(
                _band_text(label, band.input, band.output, band.thinking_output)
                for band, label in prices.tiers
            )
            table.append([info.name, region, prices.currency, prices.as_of, prices.source, bands])
            used.setdefault(prices.source, None)
    unpriced = [info.name for info in infos if not info.prices]
    no_price = (
        [f"No published price (cost unknown, never 0): {', '.join(unpriced)}."] if unpriced else []
    )
    if len(table) == 1:
        return no_price[0]
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]) - 1)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)) + "  " + row[-1]
             for row in table]  # fmt: skip
    lines.insert(1, "  ".join("-" * w for w in widths) + "  " + "-" * 5)
    sources = [
        f"{key}: {url} ({title}; {when})"
        for key in used
        if key in PRICE_SOURCES
        for url, title, when in [PRICE_SOURCES[key]]
    ]
    return "\n".join(
        [
            "Prices per million tokens, input/cached input/output (output while thinking); a "
            "request is billed whole at the band its input size falls in (K = 1,000 tokens).",
            "",
            *lines,
            "",
            f"Cached input: implicit cache hits, {IMPLICIT_HIT:.0%} of input. Explicit cache "
            f"(cache_control): creation {EXPLICIT_CREATION:.0%} of input, hits "
            f"{EXPLICIT_HIT:.0%}. Batch API: {BATCH:.0%} of input and output.",
            *no_price,
            *sources,
        ]
    )


def run(names: list[str], as_json_output: bool) -> int:
    catalog = active_catalog()
    try:
        infos = rows(catalog, names)
    except LookupError as exc:
        print(f"qwenobs catalog: {exc}", file=sys.stderr)
        return 1
    if as_json_output:
        data = {
            "checked": catalog.checked,
            "age_days": catalog.age_days(),
            "models": [as_json(m) for m in infos],
        }
        print(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        print(text(infos, catalog))
        print()
        print(prices_text(infos))
    return 0
