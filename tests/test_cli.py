"""`qwenobs lint`: what a user sees, its exit codes, and no traceback on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qwenobs.cli import main

EXAMPLES = Path(__file__).parent.parent / "examples" / "requests"
ORPHAN = [
    {"role": "user", "content": "weather?"},
    {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
]


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_example_requests(capsys):
    code, out, _ = run(
        capsys,
        "lint",
        str(EXAMPLES / "weather_round.json"),
        str(EXAMPLES / "orphan_tool_result.json"),
    )
    assert code == 1
    assert "orphan_tool_result.json: request 1: messages[2]: error [orphan-tool-result]" in out
    assert "weather_round.json" not in out  # the clean one has nothing to say
    assert out.rstrip().endswith("1 error, 0 warnings in 2 files")


def test_warnings_only_exit_zero(tmp_path, capsys):
    path = tmp_path / "request.json"
    path.write_text(
        json.dumps({"model": "qwen-plus", "messages": [{"role": "user", "content": "hi"}]})
    )
    code, out, _ = run(capsys, "lint", str(path))
    assert code == 0
    assert "warning [max-tokens-unset]" in out


def test_a_bare_message_list_is_checked_as_messages_only(tmp_path, capsys):
    path = tmp_path / "messages.json"
    path.write_text(json.dumps([{"role": "user", "content": "hi"}]))
    code, out, _ = run(capsys, "lint", str(path))
    assert (code, out.strip()) == (0, "0 errors, 0 warnings in 1 file")
    path.write_text(json.dumps([{"role": "system", "content": "Today is 2025-06-01."}, *ORPHAN]))
    code, out, _ = run(capsys, "lint", str(path))
    assert code == 1
    assert "[orphan-tool-result]" in out and "[dynamic-system-prompt]" in out


def test_jsonl_numbers_each_request(tmp_path, capsys):
    path = tmp_path / "requests.jsonl"
    lines = [
        {"model": "qwen-plus", "max_tokens": 9, "messages": [{"role": "user", "content": "hi"}]},
        {"model": "qwen-plus", "max_tokens": 9, "messages": ORPHAN},
    ]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    code, out, _ = run(capsys, "lint", "--format", "json", str(path))
    assert code == 1
    (row,) = json.loads(out)
    assert row == {
        "file": str(path),
        "request": 2,
        "index": 1,
        "param": None,
        "rule": "orphan-tool-result",
        "severity": "error",
        "message": row["message"],
    }
    assert "call_1" in row["message"]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "cannot read"),
        ("{not json", "not JSON"),
        ('"a string"', "must be a JSON object with 'messages' or a list of messages"),
        ('{"model": "qwen-plus"}', "without 'messages'"),
        ('{"messages": []}\n{oops}\n', ":2: not a JSON line"),
    ],
)
def test_unreadable_input_exits_2_with_a_clear_message(tmp_path, capsys, content, expected):
    path = tmp_path / "input.json"
    if content is not None:
        path.write_text(content)
    code, out, err = run(capsys, "lint", str(path))
    assert code == 2 and out == ""
    assert expected in err and "Traceback" not in err


def test_version(capsys):
    from qwenobs import __version__

    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"qwenobs {__version__}\n"


def test_lint_reads_standard_input_for_a_dash(capsys, monkeypatch):
    import io

    monkeypatch.setattr(
        "sys.stdin", io.StringIO(json.dumps({"model": "qwen-plus", "messages": ORPHAN}))
    )
    code, out, _ = run(capsys, "lint", "-")
    assert code == 1
    assert "-: request 1: messages[1]: error [orphan-tool-result]" in out
