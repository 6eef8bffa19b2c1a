"""The README's section on the fake, as a new user meets it: its Python snippets, pasted one after
the other into a file, run as written."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def code_blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```$", text, flags=re.DOTALL | re.MULTILINE)


def test_the_python_snippets_run_as_written(tmp_path, monkeypatch) -> None:
    snippets = code_blocks(section("The fake DashScope"), "python")
    assert len(snippets) >= 8
    monkeypatch.chdir(tmp_path)
    scratch = tmp_path / "snippets.py"
    scratch.write_text("\n".join(snippets), encoding="utf-8")
    exec(compile(scratch.read_text(encoding="utf-8"), str(scratch), "exec"), {})
