"""Cassettes of DashScope traffic for ``@pytest.mark.qwen_cassette``: where they live, how vcrpy is
configured (matching, scrubbing, format), and a clear failure for a request the cassette lacks."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qwenobs.cassettes import asks_for_usage, comparable, without_usage_chunk

from .jsondiff import common_messages, differences, distance

_UNSAFE = re.compile(r'[\\/:*?"<>|\s]+')  # characters some file systems refuse


def default_path(test_file: Path, test_name: str, class_name: str | None = None) -> Path:
    """``cassettes/<test module>/<test name>.yaml`` next to the test module."""
    name = f"{class_name}.{test_name}" if class_name else test_name
    return test_file.parent / "cassettes" / test_file.stem / f"{_UNSAFE.sub('-', name)}.yaml"


def resolve_path(test_file: Path, given: str | Path) -> Path:
    """A marker's path: relative to the test module's folder unless absolute."""
    path = Path(given)
    return path if path.is_absolute() else test_file.parent / path


def body_matcher(r1: Any, r2: Any) -> None:
    """vcrpy matcher: equal JSON bodies (key order and formatting ignored, and the
    ``stream_options`` qwenobs adds to a stream), else equal bytes."""
    a, b = comparable(_parsed(r1.body)), comparable(_parsed(r2.body))
    assert a == b, "the JSON bodies differ" if isinstance(a, dict | list) else "the bodies differ"


def _parsed(body: bytes | str | None) -> Any:
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return body


MATCH_ON = ("method", "path", "qwen_json_body")


@dataclass
class Recording:
    """One test's cassette, and the requests it could not answer."""

    path: Path
    record_mode: str
    nodeid: str
    cassette: Any = None  # vcr.cassette.Cassette once entered
    unmatched: list[Any] = field(default_factory=list)

    def failure(self) -> str | None:
        """The message for requests the cassette had no answer for, or None."""
        if not self.unmatched:
            return None
        exists = self.path.exists()
        lines = [
            f"qwen_cassette: {len(self.unmatched)} request(s) have no recorded response "
            f"(record mode {self.record_mode!r})",
            f"  cassette: {shown(self.path)}"
            + ("" if exists else " (does not exist yet)")
            + (f", {len(self.cassette)} recorded interaction(s)" if self.cassette else ""),
        ]
        for request in self.unmatched:
            lines.append(f"  unmatched: {describe_request(request)}")
            lines += [f"    {line}" for line in self._closest(request)]
        return "\n".join(lines + self._rerecord(exists))

    def _rerecord(self, exists: bool) -> list[str]:
        """The commands that record what is missing. ``once`` records only a cassette that does
        not exist yet (it never adds to one), so an existing cassette needs another mode."""
        command = f"pytest {shlex.quote(self.nodeid)} --qwen-record-mode="
        if not exists:
            return ["Record it against the real service with:", f"  {command}once"]
        return [
            "Re-record it against the real service with one of:",
            f"  {command}new_episodes    (keeps the recorded interactions, adds the missing ones)",
            f"  {command}rewrite         (deletes the cassette and records the test from scratch)",
        ]

    def _closest(self, request: Any) -> list[str]:
        """The recorded request nearest to ``request`` and how the two differ."""
        recorded = list(self.cassette.requests) if self.cassette is not None else []
        same_route = [
            (number, r)
            for number, r in enumerate(recorded, 1)
            if r.method == request.method and r.path == request.path
        ]
        if not same_route:
            return []
        sent = comparable(_parsed(request.body))
        bodies = [(comparable(_parsed(r.body)), number, r) for number, r in same_route]
        # The recording the request most likely repeats: the longest shared conversation, then
        # the fewest differences, then the earliest.
        body, number, nearest = min(
            bodies, key=lambda b: (-common_messages(b[0], sent), distance(b[0], sent), b[1])
        )
        found = differences(body, sent)
        head = f"closest recorded: interaction {number}: {describe_request(nearest)}"
        if not found:
            return [
                f"{head} (identical, already played: each recording answers once; record the "
                "repeated call too, or pass allow_playback_repeats=True in qwen_cassette_config)"
            ]
        shown = found[:_MAX_DIFFS]
        more = len(found) - len(shown)
        return [
            head,
            "differs in:",
            *(f"  {line}" for line in shown),
            *([f"  ... and {more} more"] if more else []),
        ]


_MAX_DIFFS = 12


def shown(path: Path) -> str:
    """``path`` from the working directory when it is under it, as failure messages show it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def describe_request(request: Any) -> str:
    text = f"{request.method} {request.path}"
    data = _parsed(request.body)
    if isinstance(data, dict):
        text += f" model={data.get('model')!r}"
        messages = data.get("messages")
        if isinstance(messages, list) and messages and isinstance(messages[-1], dict):
            last = messages[-1]
            content = str(last.get("content"))
            content = content if len(content) <= 60 else content[:57] + "..."
            text += f" last message {last.get('role')}: {content!r}"
    return text


@contextmanager
def recording(
    rec: Recording,
    scrub_names: Iterable[str],
    extra: Mapping[str, Any],
) -> Iterator[Recording]:
    """Run the test inside vcrpy's cassette for ``rec``; ``extra`` are more ``use_cassette``
    arguments (from the ``qwen_cassette_config`` fixture)."""
    import vcr

    from qwenobs.cassettes import QwenYamlSerializer
    from qwenobs.scrub import Scrubber

    mode = rec.record_mode
    if mode == "rewrite":
        rec.path.unlink(missing_ok=True)
        mode = "all"
    scrubber = Scrubber(scrub_names)
    dated = _Dated()
    options = dict(extra)
    user_request = options.pop("before_record_request", None)
    user_response = options.pop("before_record_response", None)
    recorder = vcr.VCR(
        serializer="qwen-yaml",
        record_mode=mode,
        match_on=MATCH_ON,
        decode_compressed_response=True,  # gzip decoded before saving: readable, diffable
        before_record_request=_chain(scrubber.request, user_request),
        before_record_response=_chain(_chain(scrubber.response, user_response), dated),
    )
    recorder.register_serializer("qwen-yaml", QwenYamlSerializer)
    recorder.register_matcher("qwen_json_body", body_matcher)
    rec.path.parent.mkdir(parents=True, exist_ok=True)
    with recorder.use_cassette(str(rec.path), **options) as cassette:
        dated.live = True  # loaded: from here on, responses are recorded now
        rec.cassette = cassette
        _track_unmatched(cassette, rec.unmatched)
        _answer_as_asked(cassette)
        yield rec


class _Dated:
    """The last step before a response is kept: the recording date and qwenobs version
    (``qwenobs.cassettes.stamp``). vcrpy runs the same step over the interactions it loads; those
    keep the date they have, or stay undated, rather than get today's."""

    live = False

    def __call__(self, response: dict[str, Any]) -> dict[str, Any]:
        from qwenobs.cassettes import STAMP, stamp

        if self.live and STAMP not in response:
            response[STAMP] = stamp()
        return response


def _chain(first: Callable[[Any], Any], then: Callable[[Any], Any] | None) -> Callable:
    if then is None:
        return first

    def both(item: Any) -> Any:
        item = first(item)
        return None if item is None else then(item)

    return both


def _track_unmatched(cassette: Any, unmatched: list[Any]) -> None:
    # vcrpy raises CannotOverwriteExistingCassetteException inside the transport, where the SDK
    # turns it into an APIConnectionError after retries; remember the request to say which.
    can_play = cassette.can_play_response_for

    def can_play_response_for(request: Any) -> Any:
        playable = can_play(request)
        if not playable and cassette.write_protected:
            unmatched.append(request)
        return playable

    cassette.can_play_response_for = can_play_response_for


def _answer_as_asked(cassette: Any) -> None:
    # A stream recorded with qwenobs on carries the usage chunk qwenobs asked for; a request
    # that did not ask for it gets the stream DashScope would send it, without that chunk.
    play = cassette.play_response

    def play_response(request: Any) -> Any:
        response = play(request)
        body = response.get("body", {}).get("string")
        sent = _parsed(request.body)
        if not body or not isinstance(sent, dict) or sent.get("stream") is not True:
            return response
        if asks_for_usage(sent):
            return response
        raw = body.encode() if isinstance(body, str) else body
        stripped = without_usage_chunk(raw)
        if stripped == raw:
            return response
        headers = {
            name: [str(len(stripped))] if name.lower() == "content-length" else values
            for name, values in response.get("headers", {}).items()
        }
        return {**response, "headers": headers, "body": {**response["body"], "string": stripped}}

    cassette.play_response = play_response
