"""A script for the fake in a file (``qwenobs serve --script``): the Python API's vocabulary in
JSON, or in YAML for a ``.yaml``/``.yml`` file (with PyYAML)::

    fake: {first_chunk_delay: 0.2, chunk_delay: 0.02}   # FakeDashScope(...) timing, optional
    routes:                                             # fake.route(...), tried in order
      - model: qwen-max
        answers:
          - reply: From qwen-max.
      - last_message: {pattern: "Ning(bo|po)"}          # a substring, or a regular expression
        answers:
          - reply: {content: About Ningbo., repeat: true}
    answers:                                            # the catch-all queue
      - fail: {status: 429, times: 1}
      - reply: Sunny, 24°C.
      - fail: {status: 500, rate: 0.1}

Each answer is one method with its keyword arguments (``reply``, ``fail``, ``drop``, ``stall``),
or with a bare value for its first one: ``reply: text``, ``fail: 429``, ``drop: 3``, ``stall: 5``.
A file that is a bare list is the catch-all queue. Anything wrong stops with one line naming the
file, the entry and what is accepted (``ScriptFileError``).
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..extras import need
from .dashscope import FakeDashScope
from .script import Route

YAML_SUFFIXES = (".yaml", ".yml")
EXTRA = "serve"  # the extra of `qwenobs serve`, PyYAML included

ANSWERS: dict[str, Callable[..., Route]] = {
    "reply": Route.reply,
    "fail": Route.fail,
    "drop": Route.drop,
    "stall": Route.stall,
}
ROUTE_KEYS = ("model", "last_message", "answers")
TOP_KEYS = ("fake", "routes", "answers")
FAKE_KEYS = ("first_chunk_delay", "chunk_delay", "chunk_size")


class ScriptFileError(ValueError):
    """A script file that cannot be read or does not say something the fake can do."""


def load(path: Path, **options: Any) -> FakeDashScope:
    """A fake scripted by the file at ``path``; ``options`` go to ``FakeDashScope`` (``seed``)."""
    data = read(path)
    settings = _fake_options(data.get("fake"), path)
    try:
        fake = FakeDashScope(**settings, **options)
    except (TypeError, ValueError) as exc:
        raise ScriptFileError(f"{path}: fake: {exc}") from None
    apply(data, fake, path)
    return fake


def read(path: Path) -> dict[str, Any]:
    """The file's top-level mapping (a bare list becomes its ``answers``)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScriptFileError(f"{path}: cannot read it: {_reason(exc)}") from None
    data = (
        _parse_yaml(text, path) if path.suffix.lower() in YAML_SUFFIXES else _parse_json(text, path)
    )
    if isinstance(data, list):
        data = {"answers": data}
    if not isinstance(data, dict):
        raise ScriptFileError(
            f"{path}: a script file is a mapping with {_listed(TOP_KEYS)} (or a bare list of "
            f"answers), not {_shown(data)}"
        )
    unknown = [key for key in data if key not in TOP_KEYS]
    if unknown:
        raise ScriptFileError(
            f"{path}: unknown key {_shown(unknown[0])}; a script file has {_listed(TOP_KEYS)}"
        )
    return data


def apply(data: Mapping[str, Any], fake: FakeDashScope, path: Path) -> None:
    """Add the routes and answers of ``data`` to ``fake``'s script."""
    routes = _list(data.get("routes"), path, "routes")
    for number, spec in enumerate(routes):
        where = f"routes[{number}]"
        conditions = _conditions(spec, path, where)  # its errors name the file and the entry
        try:
            route = fake.route(**conditions)
        except (TypeError, ValueError) as exc:
            raise ScriptFileError(f"{path}: {where}: {exc}") from None
        _answers(route, spec.get("answers"), path, f"{where}.answers")
    _answers(fake.script.default, data.get("answers"), path, "answers")


def _parse_json(text: str, path: Path) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ScriptFileError(
            f"{path}: not JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}); a .yaml or "
            ".yml file is read as YAML"
        ) from None


def _parse_yaml(text: str, path: Path) -> Any:
    yaml = need("yaml", EXTRA, f"{path}: a YAML script file")
    try:
        return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise ScriptFileError(f"{path}: not YAML ({problem}{at})") from None


def _fake_options(spec: Any, path: Path) -> dict[str, Any]:
    if spec is None:
        return {}
    if not isinstance(spec, dict):
        raise ScriptFileError(
            f"{path}: fake: takes a mapping of {_listed(FAKE_KEYS)}, not {_shown(spec)}"
        )
    for key in spec:
        if key not in FAKE_KEYS:
            raise ScriptFileError(
                f"{path}: fake: unknown key {_shown(key)}; it takes {_listed(FAKE_KEYS)}"
            )
    return dict(spec)


def _conditions(spec: Any, path: Path, where: str) -> dict[str, Any]:
    if not isinstance(spec, dict):
        raise ScriptFileError(
            f"{path}: {where}: a route is a mapping with {_listed(ROUTE_KEYS)}, not {_shown(spec)}"
        )
    unknown = [key for key in spec if key not in ROUTE_KEYS]
    if unknown:
        raise ScriptFileError(
            f"{path}: {where}: unknown key {_shown(unknown[0])}; a route has {_listed(ROUTE_KEYS)}"
        )
    conditions: dict[str, Any] = {"model": spec.get("model")}
    if "last_message" in spec:
        conditions["last_message"] = _last_message(spec["last_message"], path, where)
    return conditions


def _last_message(value: Any, path: Path, where: str) -> str | re.Pattern[str]:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and list(value) == ["pattern"] and isinstance(value["pattern"], str):
        try:
            return re.compile(value["pattern"])
        except re.error as exc:
            raise ScriptFileError(
                f"{path}: {where}: last_message: the pattern {_shown(value['pattern'])} is not a "
                f"regular expression ({exc})"
            ) from None
    raise ScriptFileError(
        f"{path}: {where}: last_message takes a substring (a string) or {{pattern: <regular "
        f"expression>}}, not {_shown(value)}"
    )


def _answers(route: Route, entries: Any, path: Path, where: str) -> None:
    for number, entry in enumerate(_list(entries, path, where)):
        _answer(route, entry, path, f"{where}[{number}]")


def _answer(route: Route, entry: Any, path: Path, where: str) -> None:
    if not (isinstance(entry, dict) and len(entry) == 1 and next(iter(entry)) in ANSWERS):
        raise ScriptFileError(
            f"{path}: {where}: an answer is one of {_listed(tuple(ANSWERS))} with its arguments "
            f'(reply: "Sunny.", fail: {{status: 429, times: 1}}, drop: 3, stall: 5), not '
            f"{_shown(entry)}"
        )
    ((kind, given),) = entry.items()
    method = ANSWERS[kind]
    parameters = list(inspect.signature(method).parameters.values())[1:]  # without self
    if not isinstance(given, dict):
        given = {} if given is None and kind == "drop" else {parameters[0].name: given}
    accepted = [p.name for p in parameters]
    for name in given:
        if name not in accepted:
            raise ScriptFileError(
                f"{path}: {where}: {kind} takes {_listed(tuple(accepted))}; not {_shown(name)}"
            )
    missing = [
        p.name for p in parameters if p.default is inspect.Parameter.empty and p.name not in given
    ]
    if missing:
        raise ScriptFileError(
            f"{path}: {where}: {kind} needs {missing[0]} ({kind}: <{missing[0]}>)"
        )
    try:
        method(route, **given)  # the Python API checks every value, naming it
    except (TypeError, ValueError) as exc:
        raise ScriptFileError(f"{path}: {where}: {exc}") from None


def _list(value: Any, path: Path, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ScriptFileError(f"{path}: {where} takes a list, not {_shown(value)}")
    return value


def _listed(names: tuple[str, ...]) -> str:
    return ", ".join(names[:-1]) + f" or {names[-1]}" if len(names) > 1 else names[0]


def _shown(value: Any) -> str:
    """A value as the file has it, short: JSON's spelling (``true``, ``null``, quotes)."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _reason(exc: Exception) -> str:
    return exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
