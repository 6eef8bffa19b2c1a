from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]

# rule id -> (severity, one-line description). The ids are stable: users filter on them.
RULES: dict[str, tuple[Severity, str]] = {
    "orphan-tool-result": (
        "error",
        "a tool message that no preceding assistant tool_calls asked for",
    ),
    "missing-tool-result": ("error", "an assistant tool call with no tool message answering it"),
    "duplicate-tool-result": ("error", "two tool messages answer the same tool_call_id"),
    "thinking-requires-stream": ("error", "thinking is on but stream is not True"),
    "omni-requires-stream": ("error", "an Omni model (*-omni-*) called without stream=True"),
    "json-mode-needs-json-word": ("error", "JSON mode but no message mentions 'json'"),
    "json-mode-with-thinking": ("error", "JSON mode is not supported while thinking"),
    "parameter-range": ("error", "a sampling or length parameter outside the accepted range"),
    "unknown-tool-choice": ("error", "tool_choice names no tool in tools, or there are no tools"),
    "thinking-forced-tool": ("error", "a thinking request forces a tool; only auto/none work"),
    "invalid-message": (
        "error",
        "an empty message list, a non-message entry, an unknown role, missing or malformed content",
    ),
    "unsupported-modality": (
        "error",
        "image, video or audio content sent to a model that does not take it",
    ),
    "context-overflow": ("error", "the prompt is longer than the model's input limit"),
    "unknown-model": (
        "warning",
        "a model the model table does not list: no limits are checked and no cost is known",
    ),
    "max-tokens-unset": ("warning", "no max_tokens, so a runaway generation is uncapped"),
    "temperature-and-top-p": ("warning", "temperature and top_p both changed"),
    "nested-tool-schema": (
        "warning",
        "a tool's parameters nest objects or are not all required",
    ),
    "thinking-with-tools": ("warning", "thinking on in a tool-calling request"),
    "thinking-high-temperature": (
        "warning",
        "thinking on with temperature above 0.7, where reasoning flattens the style",
    ),
    "dynamic-system-prompt": (
        "warning",
        "a per-request value in the system prompt defeats the cache",
    ),
}


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem with a request: what is wrong, where, and how to fix it."""

    rule: str
    severity: Severity
    message: str
    index: int | None = None  # the message index, when the problem sits in one message
    param: str | None = None  # the request parameter, when the problem is a parameter

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    @property
    def where(self) -> str:
        """Where the problem is: ``messages[i]``, the parameter, or ``request``."""
        if self.index is not None:
            return f"messages[{self.index}]"
        return self.param or "request"

    def __str__(self) -> str:
        return f"{self.rule} ({self.severity}): {self.message}"


def finding(rule: str, message: str, index: int | None = None, param: str | None = None) -> Finding:
    return Finding(rule, RULES[rule][0], message, index, param)
