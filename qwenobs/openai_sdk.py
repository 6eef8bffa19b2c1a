"""The few OpenAI SDK names qwenobs relies on, across openai 1.x, 2.x (httpx) and 3.x (httpx2)."""

from __future__ import annotations

import openai
from openai import _base_client, _legacy_response, _response

# The HTTP library the installed SDK is built on.
http = getattr(_base_client, "httpx2", None) or _base_client.httpx

SyncAPIClient = _base_client.SyncAPIClient
AsyncAPIClient = _base_client.AsyncAPIClient
Stream = openai.Stream
AsyncStream = openai.AsyncStream
BadRequestError = openai.BadRequestError
LegacyAPIResponse = _legacy_response.LegacyAPIResponse
APIResponse = _response.APIResponse
AsyncAPIResponse = _response.AsyncAPIResponse
