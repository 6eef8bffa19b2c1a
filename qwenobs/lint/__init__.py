"""``qwenobs lint``: chat requests and recorded traffic, checked for what DashScope would reject
and for what a recording should not hold.

Paths are request files (a JSON request, a bare message list, JSONL of either; ``-`` for standard
input), cassettes (``.yaml``/``.yml``, or vcrpy's JSON) and directories, searched for both (hidden
folders such as ``.venv`` and ``.git`` left out). Pure: no openai, no OpenTelemetry; PyYAML (the
``cassettes`` extra) only when a cassette is read.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..cassettes import Interaction, NotACassette, read
from ..scrub import SecretScan
from .findings import LintFinding
from .recorded import RULES as RECORDING_RULES
from .recorded import lint_cassette
from .requests import (
    STDIN,
    UnreadableInput,
    lint_request,
    look_like_a_cassette,
    look_like_requests,
    read_json,
    requests_in,
)

__all__ = [
    "DEFAULT_MAX_AGE_DAYS",
    "RECORDING_RULES",
    "LintFinding",
    "Report",
    "UnreadableInput",
    "lint_paths",
]

DEFAULT_MAX_AGE_DAYS = 180
CASSETTE_SUFFIXES = (".yaml", ".yml")
REQUEST_SUFFIXES = (".json", ".jsonl")


@dataclass
class Report:
    findings: list[LintFinding] = field(default_factory=list)
    files: int = 0
    # Directories searched in which nothing was lintable: no cassette, no request file.
    empty_directories: list[str] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return sum(f.is_error for f in self.findings)


@dataclass(frozen=True)
class _Input:
    """One file to lint: a cassette's interactions, or a request file's requests."""

    name: str
    interactions: list[Interaction] | None = None
    requests: list[dict[str, Any]] | None = None


def lint_paths(
    paths: Iterable[str | Path],
    *,
    scrub: Iterable[str] = (),
    max_age_days: int | None = DEFAULT_MAX_AGE_DAYS,
    today: datetime | None = None,
) -> Report:
    """Lint every file under ``paths``. ``scrub``: more secret header, parameter and JSON-key names
    (as for cassettes); ``max_age_days``: older cassettes are flagged (None: no age check).
    Raises ``UnreadableInput`` for the first file that cannot be read."""
    report = Report()
    secrets = SecretScan(scrub)
    now = today or datetime.now(timezone.utc)
    for found in _inputs(paths, report):
        report.files += 1
        if found.requests is not None:
            for number, request in enumerate(found.requests, 1):
                report.findings += [
                    LintFinding.of(found.name, f, request=number) for f in lint_request(request)
                ]
        else:
            report.findings += lint_cassette(
                found.name,
                found.interactions or [],
                secrets=secrets,
                max_age_days=max_age_days,
                today=now,
            )
    return report


def _inputs(paths: Iterable[str | Path], report: Report) -> Iterator[_Input]:
    """Each file to lint. A named file is a cassette by its suffix (or its JSON), else a request
    file; a directory yields the cassettes and request files under it, leaving alone YAML and JSON
    that are neither (a CI file, a config, a package.json) but not a file that cannot be parsed."""
    for given in paths:
        name = str(given)
        path = Path(name)
        if name != STDIN and path.is_dir():
            found = 0
            for candidate in _walk(path):
                item = _found(candidate)
                if item is not None:
                    found += 1
                    yield item
            if not found:
                report.empty_directories.append(name)
        elif name != STDIN and path.suffix.lower() in CASSETTE_SUFFIXES:
            yield _Input(name, interactions=_read(path, skip_other_yaml=False))
        else:
            values = read_json(path)
            if name != STDIN and look_like_a_cassette(values):
                yield _Input(name, interactions=_read(path, skip_other_yaml=False))
            else:
                yield _Input(name, requests=requests_in(values, path))


def _walk(directory: Path) -> list[Path]:
    """The candidate files under ``directory``, sorted, outside hidden folders (.venv, .git)."""
    found = []
    for candidate in directory.rglob("*"):
        hidden = any(part.startswith(".") for part in candidate.relative_to(directory).parts[:-1])
        suffix = candidate.suffix.lower()
        if not hidden and suffix in CASSETTE_SUFFIXES + REQUEST_SUFFIXES and candidate.is_file():
            found.append(candidate)
    return sorted(found)


def _found(path: Path) -> _Input | None:
    """A file met in a directory, if it is a cassette or a request file."""
    if path.suffix.lower() in CASSETTE_SUFFIXES:
        interactions = _read(path, skip_other_yaml=True)
        return None if interactions is None else _Input(str(path), interactions=interactions)
    values = read_json(path)
    if look_like_a_cassette(values):
        return _Input(str(path), interactions=_read(path, skip_other_yaml=False))
    if look_like_requests(values):
        return _Input(str(path), requests=requests_in(values, path))
    return None


def _read(path: Path, *, skip_other_yaml: bool) -> list[Interaction] | None:
    try:
        return read(path)
    except NotACassette as exc:
        if skip_other_yaml and not exc.unreadable:
            return None
        raise UnreadableInput(str(exc)) from None
