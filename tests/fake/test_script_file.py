"""The script file of ``qwenobs serve``: the Python API's vocabulary in JSON or YAML, and one line
naming the file, the entry and what is accepted for anything wrong in it."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from qwenobs.errors import MissingExtra
from qwenobs.fake import FakeDashScope
from qwenobs.fake.script import describe
from qwenobs.fake.script_file import ScriptFileError, load

YAML = """\
fake: {first_chunk_delay: 0.25, chunk_size: 4}
routes:
  - model: qwen-max
    answers:
      - reply: From max.
  - last_message: {pattern: "Ning(bo|po)"}
    answers:
      - reply: {content: About Ningbo., repeat: true}
answers:
  - fail: {status: 429, times: 1}
  - reply: Sunny, 24°C.
  - reply:
      tool_calls: [{name: get_weather, arguments: {city: Hangzhou}}]
  - fail: {status: 500, rate: 0.1}
  - drop: 3
  - drop: null
  - stall: {seconds: 5, after_chunks: 2}
  - fail: {status: 429, retry_after: 2}
  - reply: {content: Slow., first_byte_delay: 1.5}
"""


def scripted_in_python() -> FakeDashScope:
    fake = FakeDashScope(first_chunk_delay=0.25, chunk_size=4)
    fake.route(model="qwen-max").reply("From max.")
    fake.route(last_message=re.compile("Ning(bo|po)")).reply("About Ningbo.", repeat=True)
    fake.fail(429, times=1)
    fake.reply("Sunny, 24°C.")
    fake.reply(tool_calls=[{"name": "get_weather", "arguments": {"city": "Hangzhou"}}])
    fake.fail(500, rate=0.1)
    fake.drop(after_chunks=3)
    fake.drop()
    fake.stall(5, after_chunks=2)
    fake.fail(429, retry_after=2)
    fake.reply("Slow.", first_byte_delay=1.5)
    return fake


def script_of(fake: FakeDashScope) -> list:
    """Everything a script holds, comparable: routes, their queues (answers with every field,
    tool-call ids aside) and their rate= faults; and the fake's timing."""
    routes = [(route, str(route)) for route in fake.script.routes]
    routes.append((fake.script.default, "fake"))
    return [fake.timing] + [
        (name, [(repr(a), describe(a), repeat) for a, repeat in route.queued], route.rated)
        for route, name in routes
    ]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_yaml_file_scripts_what_the_python_api_does(tmp_path) -> None:
    fake = load(write(tmp_path, "fake.yaml", YAML), seed=5)
    assert script_of(fake) == script_of(scripted_in_python())
    assert fake.seed == 5


def test_a_json_file_and_a_bare_list(tmp_path) -> None:
    yaml = pytest.importorskip("yaml")
    data = yaml.safe_load(YAML)
    fake = load(write(tmp_path, "fake.json", json.dumps(data)))
    assert script_of(fake) == script_of(scripted_in_python())
    bare = load(write(tmp_path, "answers.json", json.dumps(data["answers"])))
    assert [describe(a) for a, _ in bare.script.default.queued] == [
        describe(a) for a, _ in scripted_in_python().script.default.queued
    ]


BAD = [
    ("missing.json", None, "cannot read it: No such file or directory"),
    ("s.json", '{"answers": [', "not JSON (Expecting value at line 1, column 14); a .yaml or"),
    ("s.yaml", "answers: [reply: x", "not YAML ("),  # the words are PyYAML's (C or Python)
    (
        "s.json",
        '"reply"',
        "a script file is a mapping with fake, routes or answers (or a bare list",
    ),
    ("s.json", '{"answer": []}', 'unknown key "answer"; a script file has fake, routes or answers'),
    ("s.json", '{"answers": {"reply": "x"}}', 'answers takes a list, not {"reply": "x"}'),
    (
        "s.json",
        '[{"replay": "x"}]',
        "answers[0]: an answer is one of reply, fail, drop or stall with its arguments (reply: "
        '"Sunny.", fail: {status: 429, times: 1}, drop: 3, stall: 5), not {"replay": "x"}',
    ),
    ("s.json", '[{"reply": "x", "fail": 500}]', "answers[0]: an answer is one of reply"),
    ("s.json", '[{"fail": {"statuss": 429}}]', "answers[0]: fail takes status, code, message"),
    ("s.json", '[{"fail": {"code": "x"}}]', "answers[0]: fail needs status (fail: <status>)"),
    (
        "s.json",
        '[{"fail": "429"}]',
        "answers[0]: fake.fail(): status must be an HTTP error status, an int from 400 to 599, "
        "got str '429'",
    ),
    ("s.yaml", "- reply: no", "answers[0]: fake.reply(): content must be a str or None, got bool"),
    (
        "s.json",
        '[{"fail": {"status": 500, "rate": 2}}]',
        "answers[0]: fake.fail(): rate must be a number from 0 to 1, got 2",
    ),
    (
        "s.json",
        '[{"fail": {"status": 500, "rate": true}}]',
        "fake.fail(): rate must be a number from 0 to 1 (the share of attempts it strikes) or None, "
        "got bool True",
    ),
    (
        "s.json",
        '[{"stall": 0}]',
        "answers[0]: fake.stall(): seconds must be a number of seconds above 0, got 0",
    ),
    (
        "s.json",
        '[{"stall": {"after_chunks": 2}}]',
        "answers[0]: stall needs seconds (stall: <seconds>)",
    ),
    (
        "s.json",
        '[{"drop": "3"}]',
        "answers[0]: fake.drop(): after_chunks must be an int from 0 up or None, got str '3'",
    ),
    (
        "s.json",
        '[{"reply": {"tool_calls": ["get_weather"]}}]',
        "answers[0]: fake.reply(): tool_calls[0] must be a mapping with 'name'",
    ),
    (
        "s.json",
        '[{"reply": {"tool_calls": [{"arguments": {}}]}}]',
        "answers[0]: fake.reply(): tool_calls[0] has no 'name'",
    ),
    (
        "s.json",
        '{"routes": [{"model": "m", "answers": [{"fail": {}}]}]}',
        "routes[0].answers[0]: fail needs status",
    ),
    (
        "s.json",
        '{"routes": [{"modle": "m"}]}',
        'routes[0]: unknown key "modle"; a route has model, last_message or answers',
    ),
    (
        "s.json",
        '{"routes": ["m"]}',
        'routes[0]: a route is a mapping with model, last_message or answers, not "m"',
    ),
    (
        "s.json",
        '{"routes": [{"model": 7}]}',
        "routes[0]: fake.route(): model must be a str or None, got int 7",
    ),
    (
        "s.json",
        '{"routes": [{"last_message": {"pattern": "("}}]}',
        'routes[0]: last_message: the pattern "(" is not a regular expression',
    ),
    (
        "s.json",
        '{"routes": [{"last_message": 3}]}',
        "last_message takes a substring (a string) or {pattern: <regular expression>}, not 3",
    ),
    (
        "s.json",
        '{"fake": {"chunk_delay": "fast"}}',
        "fake: FakeDashScope(): chunk_delay must be a number of seconds from 0 to 3600, got str",
    ),
    (
        "s.json",
        '{"fake": {"chunk_size": 0}}',
        "fake: FakeDashScope(): chunk_size must be an int from 1 up, got 0",
    ),
    (
        "s.json",
        '{"fake": {"api_key": "x"}}',
        'fake: unknown key "api_key"; it takes first_chunk_delay, chunk_delay or chunk_size',
    ),
]


@pytest.mark.parametrize(("name", "text", "message"), BAD)
def test_a_wrong_file_says_where_and_what_is_accepted(tmp_path, name, text, message) -> None:
    path = tmp_path / name if text is None else write(tmp_path, name, text)
    with pytest.raises(ScriptFileError) as caught:
        load(path)
    said = str(caught.value)
    assert said.startswith(f"{path}: ")
    assert said.count(str(path)) == 1  # the file and the entry named once
    assert message in said
    assert "\n" not in said


def test_yaml_without_pyyaml_names_the_extra(tmp_path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "yaml", None)  # import yaml fails as if not installed
    path = write(tmp_path, "fake.yml", "- reply: hi\n")
    with pytest.raises(MissingExtra) as caught:
        load(path)
    assert str(caught.value) == (
        f"{path}: a YAML script file needs yaml: pip install 'qwenobs[serve]'"
    )
