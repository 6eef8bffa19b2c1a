"""A recorded conversation: the chat calls of one trace (or cassette), each with what the
application sent and what came back, in the shape replay compares and answers with.

Requests are kept in the GenAI conventions' message shape (what ``gen_ai.input.messages`` holds),
so a request the application makes now is compared with a recorded one after the same
normalisation qwenobs applies when it records. Pure: no SDK, no OpenTelemetry.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .. import semconv as sc
from ..attributes import input_parts
from ..fake import sse

FORMAT = "qwenobs-replay/1"


class ReplayUnavailable(ValueError):
    """The source cannot be replayed: it lacks what a replay needs, and the message says what."""


class SeveralTraces(ReplayUnavailable):
    """The source holds several traces of several conversations and none was chosen."""

    def __init__(self, source: str, traces: list[str]) -> None:
        self.source, self.traces = source, traces
        super().__init__(self.saying("trace_id=", "conversation_id="))

    def saying(self, trace_id: str, conversation_id: str) -> str:
        """The message, naming the two ways to choose as the caller spells them (keyword
        arguments from code, flags on the command line)."""
        listed = ", ".join(self.traces[:5]) + (", ..." if len(self.traces) > 5 else "")
        return (
            f"{self.source} holds {len(self.traces)} traces ({listed}) of several "
            f"conversations; pass {trace_id} (or {conversation_id}) to choose one"
        )


@dataclass
class Answer:
    """What a call got back: an answer, an HTTP error, or an answer cut by an error event."""

    content: str | None = None
    reasoning: str | None = None
    tool_calls: list[dict[str, Any]] = field(default_factory=list)  # id, name, arguments (JSON)
    finish_reason: str | None = None
    usage: dict[str, Any] | None = None
    status: int | None = None  # an HTTP error's status (or 400 for an error event mid-stream)
    code: str | None = None
    message: str | None = None
    mid_stream: bool = False  # the content streamed, then an error event cut it

    @property
    def failed(self) -> bool:
        return self.status is not None


@dataclass
class RecordedCall:
    """One chat call of the recording, in the order it started."""

    where: str  # how a person finds it: "span 5f3e9a2c (chat qwen-plus)", "interaction 3"
    model: str
    system: list[dict[str, Any]]  # gen_ai.system_instructions
    messages: list[dict[str, Any]]  # gen_ai.input.messages
    tools: list[Any] | None
    parameters: dict[str, Any]  # everything else the application sent
    stream: bool
    answer: Answer
    first_chunk: float | None = None  # seconds to the first chunk, when known
    duration: float | None = None


@dataclass
class Recording:
    source: str
    trace_id: str | None
    calls: list[RecordedCall]
    notes: list[str] = field(default_factory=list)  # what the recording could not hold

    def to_json(self) -> str:
        data = {"format": FORMAT, **dataclasses.asdict(self)}
        return json.dumps(data, ensure_ascii=False, indent=2)

    @classmethod
    def from_json(cls, text: str, source: str) -> Recording:
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ReplayUnavailable(f"{source}: not a qwenobs replay file ({FORMAT})")
        calls = [
            RecordedCall(**{**c, "answer": Answer(**c["answer"])}) for c in data.get("calls", [])
        ]
        captured_from = data.get("source")
        if captured_from and captured_from != source:
            source = f"{source} (captured from {captured_from})"
        return cls(source, data.get("trace_id"), calls, data.get("notes", []))


# -- from spans -----------------------------------------------------------------------------


def from_spans(
    spans: Iterable[Any], source: str, trace_id: str | None, conversation: str | None = None
) -> Recording:
    """The chat spans of one trace, or of one conversation (``gen_ai.conversation.id``: an app
    without a parent span makes a trace per call), in start order. OTLP/JSON spans, see
    ``qwenobs.otlp_json``."""
    chats = sorted(
        (
            s
            for s in spans
            if s.attributes.get(sc.OPERATION) == sc.OPERATION_CHAT
            and (conversation is None or s.attributes.get(sc.CONVERSATION_ID) == conversation)
        ),
        key=lambda s: s.start_unix_nano,
    )
    if not chats:
        wanted = _in(trace_id) + (f" in conversation {conversation}" if conversation else "")
        raise ReplayUnavailable(f"{source}: no chat spans{wanted}")
    traces = {s.trace_id for s in chats}
    conversations = {s.attributes.get(sc.CONVERSATION_ID) for s in chats}
    if trace_id is None and len(traces) > 1 and (len(conversations) > 1 or None in conversations):
        raise SeveralTraces(source, sorted(traces))
    notes: list[str] = []
    calls = [_call(span, notes) for span in chats]
    return Recording(source, trace_id or sorted(traces)[0], calls, notes)


def _in(trace_id: str | None) -> str:
    return f" in trace {trace_id}" if trace_id else ""


def _call(span: Any, notes: list[str]) -> RecordedCall:
    a = span.attributes
    where = f"span {span.span_id[:8]} ({span.name})"
    if sc.INPUT_MESSAGES not in a:
        raise ReplayUnavailable(
            f"{where} has no {sc.INPUT_MESSAGES}: the trace was taken without content capture. "
            "Record with OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true (and "
            "QWENOBS_CAPTURE_REASONING=true to replay the thinking too)."
        )
    messages = _json(where, a, sc.INPUT_MESSAGES)
    system = _json(where, a, sc.SYSTEM_INSTRUCTIONS, default=[])
    tools = _json(where, a, sc.TOOL_DEFINITIONS, default=None)
    parameters = _json(where, a, sc.REQUEST_PARAMETERS, default=None)
    if parameters is None:
        parameters = _parameters_from_attributes(a)
        _note(notes, f"{where}: no {sc.REQUEST_PARAMETERS}; only model and sampling are checked")
    stream = bool(a.get(sc.REQUEST_STREAM))
    answer = _answer(span, where, a, notes)
    return RecordedCall(
        where,
        str(a.get(sc.REQUEST_MODEL)),
        system,
        messages,
        tools,
        parameters,
        stream,
        answer,
        a.get(sc.RESPONSE_TTFC),
        span.duration,
    )


def _json(where: str, attributes: Mapping[str, Any], name: str, default: Any = ...) -> Any:
    value = attributes.get(name)
    if value is None:
        if default is ...:
            raise ReplayUnavailable(f"{where} has no {name}")
        return default
    try:
        return json.loads(value)
    except (TypeError, ValueError):
        # Backends cut long attribute values (an attribute length limit) without a marker.
        raise ReplayUnavailable(
            f"{where}: {name} is not valid JSON ({len(str(value)):,} characters, ending "
            f"{str(value)[-40:]!r}): the backend or the SDK cut it. Raise the attribute length "
            "limit (OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT, the backend's own) and record again."
        ) from None


def _parameters_from_attributes(a: Mapping[str, Any]) -> dict[str, Any]:
    names = {
        sc.REQUEST_MODEL: "model",
        sc.REQUEST_MAX_TOKENS: "max_tokens",
        sc.REQUEST_TEMPERATURE: "temperature",
        sc.REQUEST_TOP_P: "top_p",
        sc.REQUEST_SEED: "seed",
        sc.REQUEST_STREAM: "stream",
        sc.THINKING: "enable_thinking",
        sc.THINKING_BUDGET: "thinking_budget",
    }
    return {param: a[attr] for attr, param in names.items() if attr in a}


def _note(notes: list[str], note: str) -> None:
    if note not in notes:
        notes.append(note)


def _answer(span: Any, where: str, a: Mapping[str, Any], notes: list[str]) -> Answer:
    outputs = _json(where, a, sc.OUTPUT_MESSAGES, default=[])
    answer = _from_output(outputs[0] if outputs else {})
    answer.usage = _usage(a)
    if a.get(sc.REASONING_CHARS) and not answer.reasoning:
        _note(notes, f"{where}: its reasoning was not captured (QWENOBS_CAPTURE_REASONING)")
    if span.status_code == 2:  # ERROR
        status = a.get(sc.HTTP_STATUS)
        mid_stream = status is None and a.get(sc.STREAM_END) == "error"
        answer.status = status if isinstance(status, int) else 400
        answer.code = a.get(sc.ERROR_CODE)
        answer.message = _exception_message(span) or span.status_message or None
        answer.mid_stream = mid_stream
        if status is None and not mid_stream:
            raise ReplayUnavailable(
                f"{where} failed without an HTTP status ({a.get(sc.ERROR_TYPE)}): a connection "
                "error or a timeout cannot be replayed as an answer"
            )
    return answer


def _from_output(message: Mapping[str, Any]) -> Answer:
    answer = Answer(finish_reason=message.get("finish_reason"))
    texts, thoughts = [], []
    for part in message.get("parts") or ():
        kind = part.get("type")
        if kind == "text":
            texts.append(part.get("content") or "")
        elif kind == "reasoning":
            thoughts.append(part.get("content") or "")
        elif kind == "tool_call":
            arguments = part.get("arguments")
            if not isinstance(arguments, str):
                arguments = json.dumps(arguments, ensure_ascii=False)
            answer.tool_calls.append(
                {"id": part.get("id"), "name": part.get("name"), "arguments": arguments}
            )
    answer.content = "".join(texts) if texts else None
    answer.reasoning = "".join(thoughts) or None
    return answer


def _usage(a: Mapping[str, Any]) -> dict[str, Any] | None:
    if sc.USAGE_INPUT not in a:
        return None
    return {
        "prompt_tokens": a.get(sc.USAGE_INPUT, 0),
        "completion_tokens": a.get(sc.USAGE_OUTPUT, 0),
        "prompt_tokens_details": {"cached_tokens": a.get(sc.USAGE_CACHE_READ, 0)},
        "completion_tokens_details": {"reasoning_tokens": a.get(sc.USAGE_REASONING, 0)},
    }


def _exception_message(span: Any) -> str | None:
    for event in span.events:
        if event.name == "exception":
            return event.attributes.get("exception.message")
    return None


# -- from a cassette ------------------------------------------------------------------------


def from_interactions(
    interactions: Iterable[tuple[Any, Mapping[str, Any]]], source: str
) -> Recording:
    """The chat calls of a cassette (``qwenobs.cassettes.load_interactions``), in recorded order."""
    calls = []
    for number, (request, response) in enumerate(interactions, 1):
        body = _body_json(request.body)
        if not isinstance(body, dict) or "messages" not in body:
            continue
        system, messages = input_parts(body.get("messages") or [])
        parameters = {k: v for k, v in body.items() if k not in ("messages", "tools")}
        calls.append(
            RecordedCall(
                f"interaction {number}",
                str(body.get("model")),
                system,
                messages,
                body.get("tools"),
                parameters,
                body.get("stream") is True,
                _answer_from_response(response),
            )
        )
    if not calls:
        raise ReplayUnavailable(f"{source}: no chat completions in this cassette")
    return Recording(source, None, calls)


def _body_json(body: Any) -> Any:
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None


def _answer_from_response(response: Mapping[str, Any]) -> Answer:
    status = int(response.get("status", {}).get("code", 200))
    raw = response.get("body", {}).get("string") or b""
    raw = raw.encode() if isinstance(raw, str) else raw
    headers = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
    kind = " ".join(headers.get("content-type", []))
    if "event-stream" in kind:
        return _answer_from_events(sse.decode_json(raw), status)
    data = _body_json(raw) or {}
    if status >= 400:
        error = data.get("error") or {}
        return Answer(status=status, code=error.get("code"), message=error.get("message"))
    choice = (data.get("choices") or [{}])[0]
    message = choice.get("message") or {}
    return Answer(
        content=message.get("content"),
        reasoning=message.get("reasoning_content"),
        tool_calls=[
            {
                "id": c.get("id"),
                "name": (c.get("function") or {}).get("name"),
                "arguments": (c.get("function") or {}).get("arguments", ""),
            }
            for c in message.get("tool_calls") or ()
        ],
        finish_reason=choice.get("finish_reason"),
        usage=data.get("usage"),
    )


def _answer_from_events(events: list[Any], status: int) -> Answer:
    answer = Answer()
    content, reasoning = [], []
    calls: dict[int, dict[str, Any]] = {}
    for event in events:
        if "error" in event:
            error = event["error"] or {}
            answer.status = status if status >= 400 else 400
            answer.code, answer.message = error.get("code"), error.get("message")
            answer.mid_stream = status < 400
            break
        if event.get("usage"):
            answer.usage = event["usage"]
        for choice in event.get("choices") or ():
            delta = choice.get("delta") or {}
            content.append(delta.get("content") or "")
            reasoning.append(delta.get("reasoning_content") or "")
            for call in delta.get("tool_calls") or ():
                slot = calls.setdefault(
                    call.get("index", 0), {"id": None, "name": "", "arguments": ""}
                )
                slot["id"] = slot["id"] or call.get("id") or None
                function = call.get("function") or {}
                slot["name"] += function.get("name") or ""
                slot["arguments"] += function.get("arguments") or ""
            if choice.get("finish_reason"):
                answer.finish_reason = choice["finish_reason"]
    answer.content = "".join(content) or None
    answer.reasoning = "".join(reasoning) or None
    answer.tool_calls = [calls[i] for i in sorted(calls)]
    return answer
