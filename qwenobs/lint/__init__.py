"""``qwenobs lint``: chat requests and recorded traffic, checked for what DashScope would reject
and for what a recording should not hold.

Paths are request files (a JSON request, a bare message list, JSONL of either; ``-`` for standard
input), cassettes (``.yaml``/``.yml``) and directories, searched for cassettes. Pure: no openai, no
OpenTelemetry; PyYAML (the ``cassettes`` extra) only when a cassette is read.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from ..cassettes import Interaction, NotACassette, read
from ..scrub import SecretScan
from .findings import LintFinding
from .recorded import RULES as RECORDING_RULES
from .recorded import lint_cassette
from .requests import STDIN, UnreadableInput, lint_request, load_requests

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


@dataclass
class Report:
    findings: list[LintFinding] = field(default_factory=list)
    files: int = 0
    empty_directories: list[str] = field(default_factory=list)  # searched, no cassette found

    @property
    def errors(self) -> int:
        return sum(f.is_error for f in self.findings)


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
    for name, interactions in _files(paths, report):
        report.files += 1
        if interactions is None:
            for number, request in enumerate(load_requests(Path(name)), 1):
                report.findings += [
                    LintFinding.of(name, f, request=number) for f in lint_request(request)
                ]
        else:
            report.findings += lint_cassette(
                name, interactions, secrets=secrets, max_age_days=max_age_days, today=now
            )
    return report


def _files(
    paths: Iterable[str | Path], report: Report
) -> Iterator[tuple[str, list[Interaction] | None]]:
    """Each file with its interactions (None: a request file); a directory yields the cassettes
    under it, leaving alone YAML that is not a cassette (a CI file, a config)."""
    for given in paths:
        name = str(given)
        path = Path(name)
        if name != STDIN and path.is_dir():
            found = 0
            for candidate in sorted(path.rglob("*")):
                if candidate.suffix.lower() in CASSETTE_SUFFIXES and candidate.is_file():
                    interactions = _read(candidate, skip_other_yaml=True)
                    if interactions is not None:
                        found += 1
                        yield str(candidate), interactions
            if not found:
                report.empty_directories.append(name)
        elif name != STDIN and path.suffix.lower() in CASSETTE_SUFFIXES:
            yield name, _read(path, skip_other_yaml=False)
        else:
            yield name, None


def _read(path: Path, *, skip_other_yaml: bool) -> list[Interaction] | None:
    try:
        return read(path)
    except NotACassette as exc:
        if skip_other_yaml and not exc.unreadable:
            return None
        raise UnreadableInput(str(exc)) from None
