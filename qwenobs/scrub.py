"""Keep secrets and machine noise out of cassettes; pure functions over vcrpy's request object and
response dict, so they run the same at record time and at match time."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

SCRUBBED = "<scrubbed>"

# Header, query-parameter and JSON-key names whose values never reach a cassette.
SECRET_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "api-key",
        "x-api-key",
        "x-dashscope-api-key",
        "cookie",
        "set-cookie",
        "openai-organization",
        "openai-project",
    }
)
SECRET_PARAMS = frozenset(
    {"key", "api_key", "api-key", "apikey", "access_token", "token", "signature", "secret"}
)
SECRET_JSON_KEYS = frozenset(
    {
        "api_key",
        "apikey",
        "api-key",
        "access_token",
        "refresh_token",
        "client_secret",
        "secret",
        "password",
    }
)
# Request headers that differ per machine or per run: dropped so cassettes diff cleanly.
VOLATILE_PREFIXES = ("x-stainless-",)
VOLATILE_HEADERS = frozenset({"user-agent", "idempotency-key"})
# Environment variables whose values are secrets wherever they turn up (an echoed key, a URL).
SECRET_ENV = ("DASHSCOPE_API_KEY", "OPENAI_API_KEY", "QWEN_API_KEY")

# Text shaped like an API key: DashScope's "sk-" and 32 hex digits, OpenAI's "sk-proj-...", and the
# like; or a bearer token. Placeholders ("sk-...", "sk-xxx") are too short to match.
_SK_KEY = re.compile(r"(?<![A-Za-z0-9_-])sk-[A-Za-z0-9][A-Za-z0-9_-]{19,}")
_BEARER = re.compile(r"(\bBearer\s+)(?!<scrubbed>)[A-Za-z0-9._~+/=-]{16,}")
_KEY_SHAPES = (("an API key (sk-...)", _SK_KEY), ("a bearer token", _BEARER))


class Scrubber:
    """Scrubs one cassette's requests and responses.

    ``names`` adds header, query-parameter and JSON-key names (case-insensitive) to the defaults.
    Every secret value seen in an auth header, plus the values of ``SECRET_ENV``, is also replaced
    wherever else it appears (URL, bodies, other headers).
    """

    def __init__(self, names: Iterable[str] = ()) -> None:
        extra = {name.strip().lower() for name in names if name.strip()}
        self.headers = SECRET_HEADERS | extra
        self.params = SECRET_PARAMS | extra
        self.json_keys = SECRET_JSON_KEYS | extra
        self.values: set[str] = {v for name in SECRET_ENV if len(v := os.environ.get(name, "")) > 3}

    # -- requests (vcr.request.Request) ------------------------------------------------------

    def request(self, request: Any) -> Any:
        names = list(request.headers)
        for name in names:  # first, so a key sent in another header too is known there
            if name.lower() in self.headers:
                self._remember(request.headers[name])
        for name in names:
            lower = name.lower()
            if lower.startswith(VOLATILE_PREFIXES) or lower in VOLATILE_HEADERS:
                del request.headers[name]
            elif lower in self.headers:
                request.headers[name] = SCRUBBED
            else:
                request.headers[name] = self._text(request.headers[name])
        request.uri = self._text(self._query(request.uri))
        body = request.body
        if body:
            request.body = self._body(body, request.headers.get("content-type", "json"))
            if "content-length" in request.headers:
                request.headers["content-length"] = str(len(request.body))
        return request

    # -- responses (vcr's dict: status, headers {name: [values]}, body {string}) -------------

    def response(self, response: dict[str, Any]) -> dict[str, Any]:
        headers = response.get("headers", {})
        content_type = ""
        for name, values in list(headers.items()):
            lower = name.lower()
            if lower in self.headers:
                headers[name] = [SCRUBBED for _ in values]
            else:
                headers[name] = [self._text(v) for v in values]
            if lower == "content-type":
                content_type = values[0] if values else ""
        body = response.get("body", {}).get("string")
        if body:
            new = self._body(body, content_type)
            response["body"]["string"] = new
            if new != body:
                _set_length(headers, len(new))
        return response

    # -- parts ---------------------------------------------------------------------------------

    def _remember(self, value: str) -> None:
        secret = value.partition(" ")[2] if value.lower().startswith("bearer ") else value
        if len(secret.strip()) > 3:  # too short to replace safely inside other text
            self.values.add(secret.strip())

    def _text(self, text: str) -> str:
        for value in self.values:
            text = text.replace(value, SCRUBBED)
        # What `qwenobs lint` reports as shaped like a key is never written in the first place.
        text = _SK_KEY.sub(SCRUBBED, text)
        return _BEARER.sub(lambda m: f"{m.group(1)}{SCRUBBED}", text)

    def _query(self, uri: str) -> str:
        parts = urlsplit(uri)
        if not parts.query:
            return uri
        pairs = [
            (k, SCRUBBED if k.lower() in self.params else v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
        ]
        return urlunsplit(parts._replace(query=urlencode(pairs, safe="<>")))

    def _body(self, body: bytes | str, content_type: str) -> bytes:
        raw = body.encode() if isinstance(body, str) else body
        try:
            text = raw.decode()
        except UnicodeDecodeError:
            return raw  # binary: nothing readable to scrub or format
        if "event-stream" in content_type.lower():
            text = _split_secrets(text, self.values)
        elif "json" in content_type.lower():
            try:
                data = json.loads(text)
            except ValueError:
                pass
            else:
                # Pretty-printed so a re-recorded cassette reviews as a readable diff.
                text = json.dumps(self._json(data), indent=2, ensure_ascii=False)
        return self._text(text).encode()

    def _json(self, data: Any) -> Any:
        if isinstance(data, dict):
            return {
                k: SCRUBBED if k.lower() in self.json_keys else self._json(v)
                for k, v in data.items()
            }
        if isinstance(data, list):
            return [self._json(v) for v in data]
        return data


def _split_secrets(text: str, secrets: set[str]) -> str:
    """An SSE body with every secret that only the joined deltas spell (a model echoing a key
    over several chunks) cut out of the chunks that carry it; ``<scrubbed>`` where it began."""
    events = _stream_events(text)
    for pieces in _delta_streams(events).values():
        joined = "".join(delta[key] for _, delta, key in pieces)
        cuts = sorted(
            (m.start(), m.end())
            for pattern in (*(re.escape(v) for v in secrets), _SK_KEY.pattern)
            for m in re.finditer(pattern, joined)
        )
        if not cuts:
            continue
        offset = 0
        for line, delta, key in pieces:
            piece, start = delta[key], offset
            offset += len(piece)
            kept = "".join(
                (SCRUBBED if any(a == start + i for a, _ in cuts) else "")
                + ("" if any(a <= start + i < b for a, b in cuts) else char)
                for i, char in enumerate(piece)
            )
            if kept != piece:
                delta[key] = kept
                events[line][1] = True
    lines = text.split("\n")
    for line, (data, changed) in events.items():
        if changed:
            lines[line] = "data: " + json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return "\n".join(lines)


def _stream_events(text: str) -> dict[int, list[Any]]:
    """Line number -> [the event's decoded JSON, changed?] for each ``data:`` line."""
    events: dict[int, list[Any]] = {}
    for number, line in enumerate(text.split("\n")):
        if line.startswith("data:"):
            try:
                events[number] = [json.loads(line[5:]), False]
            except ValueError:
                continue
    return events


def _delta_streams(events: dict[int, list[Any]]) -> dict[tuple[Any, str], list[Any]]:
    """(choice index, field) -> the (line, delta, field) of each chunk's text, in order."""
    streams: dict[tuple[Any, str], list[Any]] = {}
    for line, (data, _) in events.items():
        choices = data.get("choices") if isinstance(data, dict) else None
        for choice in choices if isinstance(choices, list) else ():
            delta = choice.get("delta") if isinstance(choice, dict) else None
            for key in ("content", "reasoning_content"):
                if isinstance(delta, dict) and isinstance(delta.get(key), str):
                    streams.setdefault((choice.get("index"), key), []).append((line, delta, key))
    return streams


def _set_length(headers: dict[str, list[str]], length: int) -> None:
    for name in headers:
        if name.lower() == "content-length":
            headers[name] = [str(length)]


# -- finding what scrubbing missed (``qwenobs lint``) ---------------------------------------------


class SecretScan:
    """Where a recorded request or response still holds a secret, as sentences that never
    contain the secret itself: ``request header 'authorization' is not scrubbed``, ``response
    body holds text shaped like an API key (sk-...)``.

    It looks where ``Scrubber`` scrubs (secret headers, query parameters and JSON keys, ``names``
    added), for the values of ``SECRET_ENV`` anywhere, and for text shaped like an API key.
    """

    def __init__(self, names: Iterable[str] = ()) -> None:
        scrubber = Scrubber(names)
        self.headers, self.params, self.json_keys = (
            scrubber.headers,
            scrubber.params,
            scrubber.json_keys,
        )
        self.known = {name: v for name in SECRET_ENV if len(v := os.environ.get(name, "")) > 3}

    def request(self, method: str, uri: str, headers: Any, body: str) -> list[str]:
        found = self._headers("request", headers)
        parts = urlsplit(uri)
        found += [
            f"query parameter {k!r} of the URL is not scrubbed"
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if k.lower() in self.params and _unscrubbed(v)
        ]
        found += self._text("the URL", uri)
        return found + self._body("request body", body)

    def response(self, headers: Any, body: str) -> list[str]:
        return self._headers("response", headers) + self._body("response body", body)

    def _headers(self, side: str, headers: Any) -> list[str]:
        found = []
        for name, values in headers.items() if isinstance(headers, dict) else ():
            values = values if isinstance(values, list) else [values]
            texts = [str(v) for v in values]
            if str(name).lower() in self.headers and any(_unscrubbed(v) for v in texts):
                found.append(f"{side} header {name!r} is not scrubbed")
            else:
                for text in texts:
                    found += self._text(f"{side} header {name!r}", text)
        return found

    def _body(self, where: str, body: str) -> list[str]:
        if not body:
            return []
        found = []
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        if isinstance(data, dict | list):
            found += [f"{where} key {path} is not scrubbed" for path in self._json_keys(data, "")]
        whole = self._text(where, body)
        seen = {line.partition(" holds ")[2] for line in whole}
        for (_, key), pieces in _delta_streams(_stream_events(body)).items():
            # A secret a stream spells over several chunks is in no single one of them.
            joined = "".join(delta[k] for _, delta, k in pieces)
            split = self._text(f"{where} ({key} joined over its chunks)", joined)
            whole += [line for line in split if line.partition(" holds ")[2] not in seen]
        return found + whole

    def _json_keys(self, data: Any, path: str) -> list[str]:
        found = []
        if isinstance(data, dict):
            for key, value in data.items():
                where = f"{path}.{key}" if path else str(key)
                if str(key).lower() in self.json_keys and _unscrubbed(value):
                    found.append(repr(where))
                else:
                    found += self._json_keys(value, where)
        elif isinstance(data, list):
            for i, value in enumerate(data):
                found += self._json_keys(value, f"{path}[{i}]")
        return found

    def _text(self, where: str, text: str) -> list[str]:
        found = [
            f"{where} holds the value of ${name}" for name, v in self.known.items() if v in text
        ]
        found += [
            f"{where} holds text shaped like {what}"
            for what, shape in _KEY_SHAPES
            if shape.search(text)
        ]
        return found


def _unscrubbed(value: Any) -> bool:
    if isinstance(value, str):  # "Bearer <scrubbed>" is as scrubbed as "<scrubbed>"
        value = value[7:] if value[:7].lower() == "bearer " else value
        return value.strip() not in ("", SCRUBBED)
    return value is not None and not (isinstance(value, list | dict) and not value)
