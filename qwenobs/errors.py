"""The one exception qwenobs raises on purpose."""

from __future__ import annotations

from collections.abc import Sequence

from . import sdk
from .validation import Finding


class QwenValidationError(sdk.BadRequestError):
    """DashScope would reject this request with a 400; qwenobs stopped it before anything was sent.

    It is an ``openai.BadRequestError`` (status 400, code ``invalid_parameter_error``), so existing
    ``except openai.BadRequestError`` handlers keep working. ``.findings`` lists every problem.
    """

    def __init__(
        self, findings: Sequence[Finding], url: str = "https://dashscope.aliyuncs.com/"
    ) -> None:
        self.findings = list(findings)
        lines = [
            "qwenobs stopped this request before sending; DashScope would reject it with HTTP 400:"
        ]
        lines += [f"  - {f}" for f in self.findings]
        lines.append("(validate='warn' or QWENOBS_VALIDATE=warn sends it anyway)")
        message = "\n".join(lines)
        body = {
            "code": "invalid_parameter_error",
            "param": self.findings[0].param if self.findings else None,
            "message": message,
            "type": "invalid_request_error",
        }
        request = sdk.http.Request("POST", url)
        response = sdk.http.Response(400, request=request, json={"error": body})
        super().__init__(message, response=response, body=body)
