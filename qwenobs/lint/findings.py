"""One thing ``qwenobs lint`` found, and where: the file, the request (request files) or the
interaction (cassettes), the message or the parameter."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from ..validation import Finding


@dataclass(frozen=True, slots=True)
class LintFinding:
    file: str
    rule: str
    severity: str  # "error" or "warning"
    message: str
    request: int | None = None  # the request's number in a request file, from 1
    interaction: int | None = None  # the interaction's number in a cassette, from 1
    index: int | None = None  # the message index
    param: str | None = None  # the request parameter

    @classmethod
    def of(cls, file: str, found: Finding, **where: Any) -> LintFinding:
        """A request rule's finding, placed in a file."""
        return cls(
            file,
            found.rule,
            found.severity,
            found.message,
            index=found.index,
            param=found.param,
            **where,
        )

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    @property
    def where(self) -> str:
        """``request 2: messages[1]``, ``interaction 3: max_tokens``, or the file alone."""
        parts = []
        if self.request is not None:
            parts.append(f"request {self.request}")
        if self.interaction is not None:
            parts.append(f"interaction {self.interaction}")
        if self.index is not None:
            parts.append(f"messages[{self.index}]")
        elif self.param is not None:
            parts.append(self.param)
        return ": ".join([self.file, *parts])

    def row(self) -> dict[str, Any]:
        """The JSON output's row: every key, always."""
        return asdict(self)
