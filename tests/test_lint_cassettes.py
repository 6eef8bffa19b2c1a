"""``qwenobs lint`` on recorded traffic: a fixture directory of cassettes, each with one planted
problem, and a clean one. Every problem is found where it sits; no secret is ever printed."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from qwenobs.cassettes import QwenYamlSerializer
from qwenobs.cli import main
from qwenobs.lint import lint_paths

NOW = datetime.now(timezone.utc)
URI = "https://dashscope.aliyuncs.com/compatible-mode/v1/chat/completions"
# Built at run time, so no key-shaped text sits in the repository for scanners to trip on.
HEADER_KEY = "sk-" + "5f0c" * 8
BODY_KEY = "sk-" + "a1b2" * 8
USER = [{"role": "user", "content": "Weather in Hangzhou?"}]
ORPHAN = [*USER, {"role": "tool", "tool_call_id": "call_1", "content": '{"rain": true}'}]


def chunk(**delta: object) -> str:
    choice = {"index": 0, "delta": delta, "finish_reason": None}
    return "data: " + json.dumps({"object": "chat.completion.chunk", "choices": [choice]}) + "\n\n"


USAGE = 'data: {"choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 2}}\n\n'
DONE = "data: [DONE]\n\n"
STREAM = chunk(role="assistant", content="Rain.") + USAGE + DONE
COMPLETION = json.dumps(
    {"choices": [{"index": 0, "message": {"role": "assistant", "content": "Rain."}}]}, indent=2
)


def request(stream: bool = False, **extra: object) -> dict:
    body = {"model": "qwen-plus", "messages": USER, "max_tokens": 64, **extra}
    if stream:
        body |= {"stream": True, "stream_options": {"include_usage": True}}
    return body


def interaction(
    body: dict,
    answer: str,
    *,
    stream: bool = False,
    headers: dict | None = None,
    recorded: datetime | None = NOW,
) -> dict:
    kind = "text/event-stream;charset=UTF-8" if stream else "application/json"
    response = {
        "status": {"code": 200, "message": "OK"},
        "headers": {"content-type": [kind], "x-request-id": ["7c1e"]},
        "body": {"string": answer},
    }
    if recorded is not None:
        response["qwenobs"] = {
            "recorded": recorded.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "version": "0.1.0",
        }
    return {
        "request": {
            "body": json.dumps(body, indent=2),
            "headers": {"content-type": ["application/json"], **(headers or {})},
            "method": "POST",
            "uri": URI,
        },
        "response": response,
    }


def write(path: Path, *interactions: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"interactions": list(interactions), "version": 1}
    path.write_text(QwenYamlSerializer.serialize(data), "utf-8")
    return path


CLEAN = (
    interaction(request(), COMPLETION, headers={"authorization": ["<scrubbed>"]}),
    interaction(request(stream=True), STREAM, stream=True),
)
PLANTED = {
    "orphan_tool_result.yaml": (interaction(request(messages=ORPHAN), COMPLETION),),
    "key_in_header.yaml": (
        interaction(request(), COMPLETION, headers={"authorization": [f"Bearer {HEADER_KEY}"]}),
    ),
    "key_in_body.yaml": (
        interaction(
            request(messages=[{"role": "user", "content": f"my key is {BODY_KEY}, keep it"}]),
            COMPLETION,
        ),
    ),
    "empty_stream.yaml": (interaction(request(stream=True), "", stream=True),),
    "cut_stream.yaml": (
        interaction(request(stream=True), chunk(role="assistant", content="Ra"), stream=True),
    ),
    "stream_without_usage.yaml": (
        interaction(request(stream=True), chunk(content="Rain.") + DONE, stream=True),
    ),
    "old.yaml": (interaction(request(), COMPLETION, recorded=NOW - timedelta(days=400)),),
    "retired_model.yaml": (interaction(request(model="qwen-vintage-2023"), COMPLETION),),
}
EXPECTED = {
    "orphan_tool_result.yaml": [("interaction 1: messages[1]", "error", "orphan-tool-result")],
    "key_in_header.yaml": [("interaction 1", "error", "secret-in-recording")],
    "key_in_body.yaml": [("interaction 1", "error", "secret-in-recording")],
    "empty_stream.yaml": [("interaction 1", "error", "empty-stream")],
    "cut_stream.yaml": [("interaction 1", "error", "stream-cut")],
    "stream_without_usage.yaml": [("interaction 1", "error", "stream-without-usage")],
    "old.yaml": [("", "warning", "recording-too-old")],
    "retired_model.yaml": [("interaction 1: model", "warning", "unknown-model")],
}


@pytest.fixture
def cassettes(tmp_path: Path) -> Path:
    root = tmp_path / "cassettes"
    write(root / "clean" / "test_answer.yaml", *CLEAN)
    for name, interactions in PLANTED.items():
        write(root / "planted" / name, *interactions)
    (root / "planted" / "ci-config.yaml").write_text("jobs: [lint]\n")  # YAML, not a cassette
    return root


def test_each_planted_problem_is_found_where_it_sits(cassettes) -> None:
    report = lint_paths([cassettes / "planted"])
    found: dict[str, list[tuple[str, str, str]]] = {}
    for f in report.findings:
        name = Path(f.file).name
        where = f.where.removeprefix(f.file).removeprefix(": ")
        found.setdefault(name, []).append((where, f.severity, f.rule))
    assert found == EXPECTED
    assert report.files == len(PLANTED)  # ci-config.yaml is left alone


def test_a_clean_directory_passes(cassettes, capsys) -> None:
    code = main(["lint", str(cassettes / "clean")])
    out = capsys.readouterr().out
    assert (code, out) == (0, "0 errors, 0 warnings in 1 file\n")


def test_the_text_report_and_exit_code_never_show_a_secret(cassettes, capsys) -> None:
    code = main(["lint", str(cassettes)])
    out, err = capsys.readouterr()
    assert code == 1
    assert (
        f"{cassettes}/planted/key_in_header.yaml: interaction 1: error [secret-in-recording]" in out
    )
    assert "    request header 'authorization' is not scrubbed. Scrub it" in out
    assert "    request body holds text shaped like an API key (sk-...). Scrub it" in out
    assert "orphan_tool_result.yaml: interaction 1: messages[1]: error [orphan-tool-result]" in out
    assert out.rstrip().endswith("6 errors, 2 warnings in 9 files")
    for secret in (HEADER_KEY, BODY_KEY, HEADER_KEY[3:11], BODY_KEY[3:11]):
        assert secret not in out + err


def test_json_rows_name_the_cassette_interaction_and_message(cassettes, capsys) -> None:
    code = main(
        ["lint", "--format", "json", str(cassettes / "planted" / "orphan_tool_result.yaml")]
    )
    rows = json.loads(capsys.readouterr().out)
    assert code == 1
    [row] = rows
    assert row == {
        "file": str(cassettes / "planted" / "orphan_tool_result.yaml"),
        "rule": "orphan-tool-result",
        "severity": "error",
        "message": row["message"],
        "request": None,
        "interaction": 1,
        "index": 1,
        "param": None,
    }


def test_cassettes_and_request_files_together(cassettes, tmp_path, capsys) -> None:
    request_file = tmp_path / "request.json"
    request_file.write_text(json.dumps(request(messages=ORPHAN)))
    code = main(["lint", str(cassettes / "clean"), str(request_file)])
    out = capsys.readouterr().out
    assert code == 1
    assert f"{request_file}: request 1: messages[1]: error [orphan-tool-result]" in out
    assert out.rstrip().endswith("1 error, 0 warnings in 2 files")


def test_age_is_measured_from_the_stamp_and_set_by_max_age(cassettes, capsys) -> None:
    old = cassettes / "planted" / "old.yaml"
    assert main(["lint", "--max-age", "500", str(old)]) == 0
    assert "recording-too-old" not in capsys.readouterr().out
    assert main(["lint", "--max-age", "30", str(old)]) == 0  # a warning: the exit stays 0
    out = capsys.readouterr().out
    assert "older than 30 days" in out and "by qwenobs 0.1.0" in out
    unstamped = write(cassettes / "vcrpy.yaml", interaction(request(), COMPLETION, recorded=None))
    assert main(["lint", "--max-age", "0", str(unstamped)]) == 0  # undated: age unknown
    assert "recording-too-old" not in capsys.readouterr().out


def test_the_scrub_list_adds_secret_names(cassettes, capsys) -> None:
    path = write(
        cassettes / "session.yaml",
        interaction(request(metadata={"session_token": "tok-93f1e0"}), COMPLETION),
    )
    assert main(["lint", str(path)]) == 0
    assert main(["lint", "--scrub", "session_token", str(path)]) == 1
    out = capsys.readouterr().out
    assert "request body key 'metadata.session_token' is not scrubbed" in out
    assert "tok-93f1e0" not in out


def test_an_error_event_ends_a_stream_as_dashscope_does(cassettes) -> None:
    moderated = chunk(content="Part") + 'data: {"error": {"code": "data_inspection_failed"}}\n\n'
    path = write(
        cassettes / "moderated.yaml", interaction(request(stream=True), moderated, stream=True)
    )
    assert lint_paths([path]).findings == []


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("interactions: [", "cannot read it as YAML"),
        ("jobs: [lint]\n", "not a cassette (no 'interactions' list)"),
        ("interactions: [1]\n", "interaction 1 has no request and response"),
    ],
)
def test_an_unreadable_cassette_exits_2(tmp_path, capsys, content, says) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(content)
    code = main(["lint", str(path)])
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert says in err and "Traceback" not in err


NOTHING = "no cassettes (*.yaml, *.yml) or request files (*.json, *.jsonl) under"


@pytest.mark.parametrize("output", ["text", "json"])
def test_nothing_lintable_at_all_exits_2_with_one_line(tmp_path, capsys, output) -> None:
    # A CI step that lints nothing (a wrong path, cassettes moved) must not pass.
    (tmp_path / "ci.yaml").write_text("jobs: [lint]\n")  # YAML that is no cassette
    (tmp_path / "package.json").write_text('{"name": "app"}')  # JSON that is no request
    hidden = tmp_path / ".venv" / "cassettes"
    write(hidden / "theirs.yaml", interaction(request(messages=ORPHAN), COMPLETION))
    assert main(["lint", "--format", output, str(tmp_path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [f"qwenobs lint: nothing to lint: {NOTHING} {tmp_path}"]


def test_a_directory_yields_its_request_files_and_json_cassettes_too(tmp_path, capsys) -> None:
    (tmp_path / "requests").mkdir()
    (tmp_path / "requests" / "orphan.json").write_text(
        json.dumps({"model": "qwen-plus", "max_tokens": 9, "messages": ORPHAN})
    )
    (tmp_path / "requests" / "history.jsonl").write_text(
        json.dumps(USER) + "\n" + json.dumps(ORPHAN) + "\n"
    )
    (tmp_path / "requests" / "incident.replay.json").write_text('{"calls": []}')
    data = {"interactions": [interaction(request(stream=True), "", stream=True)], "version": 1}
    (tmp_path / "vcr_json.json").write_text(json.dumps(data, indent=4))  # vcrpy's JSON serializer
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["lint", str(tmp_path), str(empty)]) == 1
    out, err = capsys.readouterr()
    assert (
        f"{tmp_path}/requests/orphan.json: request 1: messages[1]: error [orphan-tool-result]"
        in out
    )
    assert f"{tmp_path}/requests/history.jsonl: request 2: messages[1]: error" in out
    assert f"{tmp_path}/vcr_json.json: interaction 1: error [empty-stream]" in out
    assert out.rstrip().endswith("in 3 files")
    assert err.splitlines() == [f"qwenobs lint: {NOTHING} {empty}"]


def test_a_json_cassette_named_on_the_command_line_is_linted_as_one(tmp_path, capsys) -> None:
    path = tmp_path / "recorded.json"
    data = {"interactions": [interaction(request(messages=ORPHAN), COMPLETION)], "version": 1}
    path.write_text(json.dumps(data))
    assert main(["lint", str(path)]) == 1
    assert (
        f"{path}: interaction 1: messages[1]: error [orphan-tool-result]" in capsys.readouterr().out
    )


def test_unparseable_json_in_a_directory_is_not_passed_over(tmp_path, capsys) -> None:
    (tmp_path / "request.json").write_text('{"messages": [')
    assert main(["lint", str(tmp_path)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "request.json: not JSON" in err


def test_max_age_must_be_days(capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["lint", "--max-age", "soon", "x.yaml"])
    assert exited.value.code == 2
    assert "expected a number of days, 0 or more, got 'soon'" in capsys.readouterr().err
