"""``--qwen-lint-cassettes``: ``qwenobs lint`` over the cassettes this run used (``qwen_cassette``
and ``qwen_server.play``), once every test is done and every cassette saved. Under pytest-xdist
each worker hands its list to the controller, which lints once."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Outcome:
    lines: list[str] = field(default_factory=list)
    errors: int = 0
    warnings: int = 0
    cassettes: int = 0


class UsedCassettes:
    """The cassettes a run used, each with the scrub names its test added."""

    def __init__(self) -> None:
        self.scrub: dict[str, set[str]] = {}

    def add(self, path: Path, scrub: list[str] | tuple[str, ...] = ()) -> None:
        self.scrub.setdefault(str(path.resolve()), set()).update(scrub)

    def dump(self) -> dict[str, list[str]]:
        return {path: sorted(names) for path, names in self.scrub.items()}

    def merge(self, dumped: dict[str, list[str]]) -> None:
        for path, names in dumped.items():
            self.scrub.setdefault(path, set()).update(names)

    def lint(self, max_age_days: int, shown: Path) -> Outcome:
        from qwenobs.lint import UnreadableInput, lint_paths

        outcome = Outcome()
        for path in sorted(self.scrub):
            if not Path(path).exists():  # never recorded: the test said so already
                continue
            outcome.cassettes += 1
            name = _relative(Path(path), shown)
            try:
                report = lint_paths([path], scrub=self.scrub[path], max_age_days=max_age_days)
            except UnreadableInput as exc:
                outcome.errors += 1
                outcome.lines.append(f"{name}: error [unreadable] {exc}")
                continue
            for f in report.findings:
                outcome.errors += f.is_error
                outcome.warnings += not f.is_error
                where = f.where.replace(path, name, 1)
                outcome.lines += [f"{where}: {f.severity} [{f.rule}]", f"    {f.message}"]
        return outcome


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)
