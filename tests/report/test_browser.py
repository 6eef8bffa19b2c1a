"""The report as a person sees it: opened in a real headless Chromium (Debian's, driven by
Playwright) with the network cut off, every chart drawn with data, no console error, and a
screenshot saved (QWENOBS_REPORT_SCREENSHOT=path keeps one)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from qwenobs.report import build

from .conftest import FIXTURE

CHROMIUM = ("/usr/lib/chromium/chromium", "/usr/lib/chromium-browser/chromium-browser")


def _chromium() -> str | None:
    configured = os.environ.get("QWENOBS_CHROMIUM")
    found = [c for c in ([configured] if configured else CHROMIUM) if c and Path(c).exists()]
    return found[0] if found else shutil.which("chromium")


@pytest.fixture(scope="module")
def browser():
    playwright = pytest.importorskip("playwright.sync_api")
    executable = _chromium()
    if executable is None:
        message = "Chromium is not installed: `make chromium` (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable)
        yield browser
        browser.close()


def open_offline(browser, path: Path):
    """The page at ``path`` with every request but file: ones refused; (page, problems)."""
    context = browser.new_context(offline=True, viewport={"width": 1280, "height": 900})
    problems: list[str] = []

    def route(r):
        if r.request.url.startswith(("file:", "data:", "blob:")):
            return r.continue_()
        problems.append(f"request to {r.request.url}")
        return r.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.on(
        "console",
        lambda m: (
            problems.append(f"console.{m.type}: {m.text}")
            if m.type in ("error", "warning")
            else None
        ),
    )
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.goto(path.as_uri())
    return page, problems


def test_every_chart_renders_with_data_offline(browser, tmp_path):
    path = tmp_path / "report.html"
    build([FIXTURE], path)
    page, problems = open_offline(browser, path)
    page.wait_for_function(
        "[...document.querySelectorAll('.chart')].every(d => d._fullData !== undefined)",
        timeout=20_000,
    )
    charts = page.evaluate(
        """[...document.querySelectorAll('.chart')].map(d => ({
             id: d.id,
             svg: d.querySelectorAll('.main-svg').length,
             points: d._fullData.map(t => (t.x || t.y || t.q1 || []).length)}))"""
    )
    assert len(charts) >= 12  # summary, time, cache, latency, thinking, agents
    empty = [c["id"] for c in charts if not c["svg"] or not c["points"] or 0 in c["points"]]
    assert empty == []
    headings = page.eval_on_selector_all("section h2", "hs => hs.map(h => h.textContent)")
    assert headings == [
        "Summary", "Over time", "Prefix cache", "Latency", "Thinking", "Agents",
        "Conversations", "Slowest and most expensive calls",
    ]  # fmt: skip
    screenshot = Path(os.environ.get("QWENOBS_REPORT_SCREENSHOT") or tmp_path / "report.png")
    page.screenshot(path=str(screenshot), full_page=True)
    assert screenshot.stat().st_size > 50_000
    assert problems == []


def test_a_broken_page_is_caught(browser, tmp_path):
    # The check above can fail: a chart script that throws is reported.
    path = tmp_path / "broken.html"
    build([FIXTURE], path)
    path.write_text(path.read_text().replace("Plotly.newPlot(", "Plotly.notAFunction("))
    page, problems = open_offline(browser, path)
    page.wait_for_load_state("load")
    assert any("notAFunction" in p for p in problems)
