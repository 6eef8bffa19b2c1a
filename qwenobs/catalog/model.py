"""A model's facts (``ModelInfo``) and a table of them (``Catalog``): lookup with snapshot and alias
resolution, name conventions for unlisted models, and the user's TOML or JSON file of corrections."""

from __future__ import annotations

import dataclasses
import difflib
import json
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, get_args

from .prices import CURRENCIES, Band, Prices

# "never": no thinking mode; "off": hybrid, thinks only when enable_thinking is true;
# "on": hybrid, thinks unless enable_thinking is false; "always": cannot turn thinking off.
Thinking = Literal["never", "off", "on", "always"]
# "qwen": the classic Qwen BPE (Qwen2.5, Qwen3, the commercial qwen-plus/max/flash/turbo);
# "qwen3.5": the 248K-token vocabulary of the Qwen3.5 and Qwen3.6 models.
Vocabulary = Literal["qwen", "qwen3.5"]
Modality = Literal["text", "image", "video", "audio"]
TEXT: frozenset[str] = frozenset({"text"})


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """One model as DashScope documents it. Token limits are DashScope's own figures: a prompt is
    accepted up to ``max_input`` tokens ("Range of input length should be [1, max_input]") and
    ``max_tokens`` up to ``max_output``; hybrid models have other limits while thinking."""

    name: str
    context_window: int
    max_output: int
    _: dataclasses.KW_ONLY
    max_input: int | None = None  # None: context_window - max_output
    thinking: Thinking = "never"
    max_input_thinking: int | None = None  # None: as without thinking
    max_output_thinking: int | None = None
    max_thinking_budget: int | None = None  # the longest chain of thought (thinking_budget)
    vocabulary: Vocabulary = "qwen"
    vocabulary_published: bool = False  # False: inferred from the model's family
    modalities: frozenset[str] = TEXT  # what its messages may contain
    stream_only: bool = False  # DashScope rejects non-streaming calls (Qwen-Omni)
    source: str = ""  # where these facts were read: a URL, or a key of model_table.SOURCES
    as_of: str = ""  # the date (or month) the source states
    prices: Any = None  # per region, added by the price table (cost.py reads them)

    def input_limit(self, thinking: bool = False) -> int:
        """The longest prompt DashScope accepts, in tokens, with thinking on or off."""
        if thinking and self.max_input_thinking is not None:
            return self.max_input_thinking
        if self.max_input is not None:
            return self.max_input
        return self.context_window - self.max_output

    def output_limit(self, thinking: bool = False) -> int:
        if thinking and self.max_output_thinking is not None:
            return self.max_output_thinking
        return self.max_output


# Dated snapshots, aliases and deployment ids share their family's entry.
_SUFFIX = re.compile(r"-(latest|\d{4}-\d{2}-\d{2}|\d{4}|us)$")


@dataclass(frozen=True)
class Catalog:
    models: Mapping[str, ModelInfo]
    checked: str = ""  # when the table was last compared with its sources (ISO date)
    _closest: dict[str, list[str]] = dataclasses.field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @classmethod
    def of(cls, *models: ModelInfo, checked: str = "") -> Catalog:
        return cls(MappingProxyType({m.name: m for m in models}), checked)

    def __repr__(self) -> str:  # the whole table would bury whatever prints it (settings, logs)
        return f"<Catalog of {len(self.models)} models, checked {self.checked or 'never'}>"

    def extend(self, *models: ModelInfo) -> Catalog:
        """A new catalog with these entries added or replaced."""
        for model in models:
            if not isinstance(model, ModelInfo):
                raise TypeError(f"Catalog.extend takes ModelInfo entries, got {model!r}")
        return Catalog.of(*self.models.values(), *models, checked=self.checked)

    def lookup(self, model: str | None) -> ModelInfo | None:
        """The entry for ``model``, its snapshot's family, or None."""
        if not model:
            return None
        found = self.models.get(model)
        while found is None:
            family = _SUFFIX.sub("", model)
            if family == model:
                return None
            model = family
            found = self.models.get(model)
        return found

    def thinking(self, model: str | None) -> Thinking | None:
        """How a model thinks; name conventions cover models the table does not list."""
        info = self.lookup(model)
        if info is not None:
            return info.thinking
        if not model:
            return None
        name = model.lower()
        if name.startswith("qwq") or "-thinking" in name:
            return "always"
        if "-instruct" in name:
            return "never"
        return None

    def vocabulary(self, model: str | None) -> Vocabulary:
        """The vocabulary a model counts tokens with: the table's, else by the model's name."""
        info = self.lookup(model)
        if info is not None:
            return info.vocabulary
        name = (model or "").lower()
        return "qwen3.5" if name.startswith(("qwen3.5", "qwen3.6")) else "qwen"

    def stream_only(self, model: str | None) -> bool:
        """Whether DashScope serves ``model`` only as a stream: the table's, else Qwen-Omni by
        name (qwen2.5-omni-7b, ...)."""
        info = self.lookup(model)
        if info is not None:
            return info.stream_only
        name = (model or "").lower()
        return "omni" in name and "omni" in name.split("-")[1:]

    def closest(self, model: str) -> list[str]:
        """Up to three listed names that look like ``model`` (for an unknown model's warning);
        remembered per name, since an application repeats its model on every call."""
        found = self._closest.get(model)
        if found is None:
            family = _SUFFIX.sub("", model.lower())
            found = difflib.get_close_matches(family, list(self.models), n=3, cutoff=0.6)
            if len(self._closest) < 256:
                self._closest[model] = found
        return found

    def age_days(self, today: date | None = None) -> int | None:
        """Days since the table was last compared with its sources."""
        if not self.checked:
            return None
        return ((today or date.today()) - date.fromisoformat(self.checked)).days

    # -- the user's file ------------------------------------------------------------------------

    def with_file(self, path: str | os.PathLike[str]) -> Catalog:
        """This catalog with the entries of a TOML or JSON file added or corrected.

        The file has a ``models`` table keyed by model name; each entry takes ``ModelInfo``'s
        fields, and ``based_on = "qwen-plus"`` starts from a listed model (a fine-tuned model,
        a corrected limit). Raises ``ValueError`` naming the file, the model and the field.
        """
        path = Path(path)
        data = _read(path)
        models = data.get("models") if isinstance(data, dict) else None
        if not isinstance(models, dict):
            raise ValueError(f"{path}: expected a 'models' table keyed by model name")
        entries = [_entry(self, path, name, fields) for name, fields in models.items()]
        return self.extend(*entries)


_FIELDS = {f.name: f for f in dataclasses.fields(ModelInfo) if f.name not in ("_", "prices")}
_INT_FIELDS = {
    "context_window",
    "max_output",
    "max_input",
    "max_input_thinking",
    "max_output_thinking",
    "max_thinking_budget",
}


def _read(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"{path}: cannot read the catalog file: {exc.strerror or exc}") from None
    try:
        if path.suffix.lower() == ".json":
            return json.loads(text)
        if sys.version_info >= (3, 11):
            import tomllib
        else:  # pragma: no cover - Python 3.10
            import tomli as tomllib
        return tomllib.loads(text)
    except ValueError as exc:  # JSONDecodeError and TOMLDecodeError are ValueErrors
        kind = "JSON" if path.suffix.lower() == ".json" else "TOML"
        raise ValueError(f"{path}: not valid {kind}: {exc}") from None


def _entry(catalog: Catalog, path: Path, name: str, fields: Any) -> ModelInfo:
    where = f"{path}: models.{name}"
    if not isinstance(fields, dict):
        raise ValueError(f"{where}: expected a table of fields, got {fields!r}")
    fields = dict(fields)
    given_prices = fields.pop("prices", None)
    base_name = fields.pop("based_on", None)
    base = catalog.lookup(base_name) if base_name is not None else catalog.models.get(name)
    if base_name is not None and base is None:
        raise ValueError(f"{where}: based_on={base_name!r} is not a listed model")
    unknown = sorted(set(fields) - set(_FIELDS) - {"name"})
    if unknown:
        accepted = sorted([*_FIELDS, "based_on", "prices"])
        raise ValueError(f"{where}: unknown field(s) {unknown}; accepted: {accepted}")
    values: dict[str, Any] = dataclasses.asdict(base) if base is not None else {}
    values.pop("prices", None)
    values.update(fields)
    values["name"] = name
    values.setdefault("source", str(path))
    if base is not None and "source" not in fields:
        values["source"] = f"{path} (based on {base.name})"
    for key in ("context_window", "max_output"):
        if key not in values:
            raise ValueError(f"{where}: {key} is required for a model not based on a listed one")
    if base is not None and values["context_window"] != base.context_window:
        _fit_inherited_limits(values, fields)
    for key in _INT_FIELDS & values.keys():
        value = values[key]
        if value is not None and (type(value) is not int or value < 1):
            raise ValueError(f"{where}: {key} must be a positive integer, got {value!r}")
    _check_choice(where, "thinking", values.get("thinking", "never"), Thinking)
    _check_choice(where, "vocabulary", values.get("vocabulary", "qwen"), Vocabulary)
    modalities = values.get("modalities", TEXT)
    if isinstance(modalities, str) or not all(m in get_args(Modality) for m in modalities):
        raise ValueError(
            f"{where}: modalities must be a list of {list(get_args(Modality))}, got {modalities!r}"
        )
    values["modalities"] = frozenset(modalities)
    prices = dict(base.prices or {}) if base is not None else {}
    if given_prices is not None:
        prices.update(_prices(where, path, given_prices))
    return ModelInfo(**values, prices=prices or None)


def _fit_inherited_limits(values: dict[str, Any], given: dict[str, Any]) -> None:
    """A model based on another with its own context window keeps none of the base's limits
    that only fit the base's window: input limits it does not set follow from its own window,
    output limits are capped by it."""
    window = values["context_window"]
    for key in ("max_input", "max_input_thinking"):
        if key not in given:
            values[key] = None  # context_window - max_output; as without thinking
    for key in ("max_output", "max_output_thinking", "max_thinking_budget"):
        if key not in given and values.get(key) is not None:
            values[key] = min(values[key], window)


def _prices(where: str, path: Path, given: Any) -> dict[str, Prices]:
    """``prices.<region>`` tables: ``bands`` (``up_to``, ``input``, ``output``,
    ``output_thinking``, per million tokens; the last band without ``up_to``), ``source``,
    ``as_of``. The currency is the region's."""
    if not isinstance(given, dict):
        raise ValueError(f"{where}.prices: expected a table per region ({list(CURRENCIES)})")
    found = {}
    for region, table in given.items():
        at = f"{where}.prices.{region}"
        if region not in CURRENCIES:
            raise ValueError(f"{at}: the region must be one of {list(CURRENCIES)}")
        bands = table.get("bands") if isinstance(table, dict) else None
        if not isinstance(bands, list) or not bands:
            raise ValueError(f"{at}: expected bands = [{{up_to = ..., input = ..., output = ...}}]")
        parsed = tuple(_band(f"{at}.bands[{i}]", band) for i, band in enumerate(bands))
        edges = [b.up_to for b in parsed[:-1]]
        if None in edges or edges != sorted(edges):
            raise ValueError(f"{at}: bands need up_to in increasing order (the last may omit it)")
        source = str(table.get("source", path))
        found[region] = Prices(CURRENCIES[region], parsed, source, str(table.get("as_of", "")))
    return found


def _band(where: str, band: Any) -> Band:
    if not isinstance(band, dict) or set(band) - {"up_to", "input", "output", "output_thinking"}:
        raise ValueError(
            f"{where}: a band has up_to, input, output and output_thinking, got {band!r}"
        )
    for key in ("input", "output", "output_thinking"):
        value = band.get(key)
        if value is None and key == "output_thinking":
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ValueError(f"{where}: {key} must be a price per million tokens, got {value!r}")
    up_to = band.get("up_to")
    if up_to is not None and (type(up_to) is not int or up_to < 1):
        raise ValueError(f"{where}: up_to must be a positive number of tokens, got {up_to!r}")
    return Band(up_to, band["input"], band["output"], band.get("output_thinking"))


def _check_choice(where: str, key: str, value: Any, kind: Any) -> None:
    if value not in get_args(kind):
        raise ValueError(f"{where}: {key} must be one of {list(get_args(kind))}, got {value!r}")
