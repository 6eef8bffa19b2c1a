"""`qwenobs demo` runs end to end on the fake and prints what a person needs to see."""

from __future__ import annotations

from qwenobs.cli import main


def test_the_demo_prints_answers_the_caught_orphan_and_the_span_tree(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "bring an umbrella" in out
    assert "orphan-tool-result (error): messages[1]" in out
    assert "the orphan was never sent" in out
    assert "Trace (8 spans)" in out
    assert "invoke_agent travel-weather" in out and "execute_tool get_weather" in out
    assert "rounds 1" in out and "tool calls 2" in out and "thinking chars 67" in out
    second_call = next(
        line for line in out.splitlines() if "chat qwen-plus" in line and "tool rounds 1" in line
    )
    assert "cached 0" not in second_call  # the long system prompt hit the prefix cache
    assert "! error orphan-tool-result at messages[1]" in out
    report = tmp_path / "demo-report.html"
    assert f"Report of these spans (5 chat calls): {report}" in out
    assert "travel-weather" in report.read_text()
