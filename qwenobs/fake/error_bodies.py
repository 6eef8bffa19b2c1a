"""DashScope's error bodies: status, code, type and message text, as the real service sends them.

Texts come from Alibaba Cloud Model Studio's error-code page and public bug reports quoting whole
bodies (QwenLM/qwen-code #2360 and #315, alibaba/spring-ai-alibaba #914 and #867,
infiniflow/ragflow #8972, agentscope-ai/agentscope #1354). Where the real wording is not on record
(marked "approximate"), the text follows the style of its neighbours, so a client sees the same
status, code and type as on the real service.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..catalog import Catalog
from ..validation import Finding
from ..validation.rules import Request

_ALGO = "<400> InternalError.Algo.InvalidParameter: "
_INVALID = ("invalid_parameter_error", "invalid_request_error")


@dataclass(frozen=True, slots=True)
class ErrorSpec:
    """One error answer before it gets a request id."""

    status: int
    code: str
    type: str
    message: str

    def body(self, request_id: str) -> dict[str, Any]:
        error = {"code": self.code, "param": None, "message": self.message, "type": self.type}
        if self.status == 401:  # the gateway answers before a completion id exists
            return {"error": error, "request_id": request_id}
        return {"error": error, "id": f"chatcmpl-{request_id}", "request_id": request_id}


def invalid(message: str, status: int = 400) -> ErrorSpec:
    return ErrorSpec(status, *_INVALID, message)


ORPHAN_TOOL_RESULT = invalid(
    f'{_ALGO}messages with role "tool" must be a response to a preceeding message with '
    '"tool_calls".'
)
THINKING_NEEDS_STREAM = invalid(
    "parameter.enable_thinking must be set to false for non-streaming calls"
)
JSON_WORD = invalid(
    f"{_ALGO}'messages' must contain the word 'json' in some form, to use 'response_format' "
    "of type 'json_object'."
)
JSON_WITH_THINKING = invalid("Json mode response is not supported when enable_thinking is true")
# DashScope's answer to its stream-only models called without a stream, as quoted for qwq-plus
# (infiniflow/ragflow #5912; the trailing space is theirs). Approximate for Omni: the same wording.
STREAM_ONLY = invalid(
    "This model only support stream mode, please enable the stream parameter to access the model. "
)
UNEXPECTED_CONTENT = invalid("Unexpected item type in content.")
THINKING_FORCED_TOOL = invalid(  # approximate
    f'{_ALGO}The tool_choice parameter only supports "auto" and "none" in thinking mode.'
)

# HTTP failures a script can ask for with fake.fail(status): (code, type, message) per status.
_BY_STATUS: dict[int, tuple[str, str, str]] = {
    400: (*_INVALID, f"{_ALGO}The request is invalid."),
    401: (
        "invalid_api_key",
        "invalid_request_error",
        "Incorrect API key provided. For details, see: "
        "https://help.aliyun.com/zh/model-studio/error-code#apikey-error",
    ),
    429: (
        "limit_requests",
        "limit_requests",
        "You have exceeded your current request limit. For details, see: "
        "https://help.aliyun.com/zh/model-studio/error-code#rate-limit",
    ),
    500: (
        "internal_error",
        "internal_error",
        "An internal error has occured, please try again later or contact service support.",
    ),
}
_BY_CODE: dict[str, tuple[str, str]] = {
    "limit_burst_rate": (
        "limit_burst_rate",
        "Request rate increased too quickly. To ensure system stability, please adjust your "
        "client logic to scale requests more smoothly over time.",
    ),
    "insufficient_quota": (
        "insufficient_quota",
        "You exceeded your current quota, please check your plan and billing details.",
    ),
    "data_inspection_failed": (
        "data_inspection_failed",
        "Input data may contain inappropriate content.",
    ),
}
OUTPUT_INSPECTION = "Output data may contain inappropriate content."


def for_status(status: int, code: str | None = None, message: str | None = None) -> ErrorSpec:
    """The body DashScope sends for ``status`` (and ``code``), with ``message`` if given."""
    default_code, kind, text = _BY_STATUS.get(
        status, ("internal_error" if status >= 500 else "invalid_request_error", "", "")
    )
    if code is not None and code in _BY_CODE:
        kind, text = _BY_CODE[code]
    code = code or default_code
    return ErrorSpec(status, code, kind or code, message or text or f"HTTP {status}")


def for_finding(found: Finding, request: Mapping[str, Any], catalog: Catalog) -> ErrorSpec:
    """The 400 DashScope answers to a request that breaks the rule ``found`` reports."""
    rule = found.rule
    if rule in ("orphan-tool-result", "duplicate-tool-result"):
        return ORPHAN_TOOL_RESULT
    if rule == "missing-tool-result":
        # DashScope names the message that should have been a tool result.
        where = 0 if found.index is None else found.index + 1
        return invalid(
            f'{_ALGO}An assistant message with "tool_calls" must be followed by tool messages '
            'responding to each "tool_call_id". The following tool_call_ids did not have '
            f"response messages: message[{where}].role"
        )
    if rule == "thinking-requires-stream":
        return THINKING_NEEDS_STREAM
    if rule == "omni-requires-stream":
        return STREAM_ONLY
    if rule == "json-mode-needs-json-word":
        return JSON_WORD
    if rule == "json-mode-with-thinking":
        return JSON_WITH_THINKING
    if rule == "thinking-forced-tool":
        return THINKING_FORCED_TOOL
    if rule == "parameter-range":
        return _range_error(found.param, request, catalog)
    if rule == "context-overflow":
        return _length_error(request, catalog)
    if rule == "unsupported-modality":  # the text of Model Studio's FAQ
        return UNEXPECTED_CONTENT
    if rule == "unknown-tool-choice":  # approximate
        return invalid(f"{_ALGO}tool_choice names a function that is not in tools.")
    # invalid-message and any rule added later: approximate, with the rule's own explanation.
    return invalid(f"{_ALGO}{found.message}")


def _range_error(param: str | None, request: Mapping[str, Any], catalog: Catalog) -> ErrorSpec:
    if param == "temperature":
        return invalid("Temperature should be in [0.0, 2.0)")
    if param == "top_p":
        return invalid("Range of top_p should be (0.0, 1.0]")
    r = Request.of(request, catalog)
    upper: Any = "inf"
    if r.info is not None and param in _OUTPUT_CAPS:
        upper = r.info.output_limit(r.thinking)
    elif r.info is not None and param == "thinking_budget" and r.info.max_thinking_budget:
        upper = r.info.max_thinking_budget
    return invalid(f"{_ALGO}Range of {param} should be [1, {upper}]")


_OUTPUT_CAPS = frozenset({"max_tokens", "max_completion_tokens"})


def _length_error(request: Mapping[str, Any], catalog: Catalog) -> ErrorSpec:
    # The same figure the context rule checked, with thinking on or off as the request has it.
    r = Request.of(request, catalog)
    upper: Any = "inf" if r.info is None else r.info.input_limit(r.thinking)
    return invalid(f"{_ALGO}Range of input length should be [1, {upper}]")


# Requests that never reach the model: the gateway's own answers.
def bad_json(detail: str) -> ErrorSpec:
    return invalid(f"{_ALGO}The request body is not valid JSON: {detail}")


def missing_field(name: str) -> ErrorSpec:
    return invalid(f"{_ALGO}Field required: {name}")


def not_found(method: str, path: str) -> ErrorSpec:
    return ErrorSpec(
        404,
        "NotFound",
        "invalid_request_error",
        f"{method} {path} is not an API of the DashScope OpenAI-compatible mode; chat calls go "
        "to POST .../compatible-mode/v1/chat/completions.",
    )


def internal_error(exc: BaseException, logger: str) -> ErrorSpec:
    """The fake's own failure on a request, as a DashScope-shaped 500 that names the cause."""
    return for_status(
        500,
        "fake_internal_error",
        f"qwenobs FakeDashScope failed on this request: {type(exc).__name__}: {exc} "
        f"(the traceback is logged by {logger!r})",
    )


def too_large(limit: int) -> ErrorSpec:
    return invalid(
        f"{_ALGO}The request body exceeds the limit of {limit} bytes ({limit / 2**20:g} MiB).",
        status=413,
    )
