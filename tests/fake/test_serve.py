"""``qwenobs serve`` as a process, driven with the openai SDK: a script file with every fault, the
seeded rate, the echo without a script, the log, SIGTERM and SIGINT, and one-line errors."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import openai
import pytest

from qwenobs.cli import main
from qwenobs.openai_sdk import http

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

USER = [{"role": "user", "content": "What about Ningbo?"}]
SCRIPT = """\
fake: {chunk_size: 4}
routes:
  - model: qwen-max
    answers:
      - reply: {content: From qwen-max., repeat: true}
answers:
  - reply: Sunny, 24°C.
  - reply: {content: A slow start., first_byte_delay: 0.3}
  - fail: {status: 429, retry_after: 0.3, times: 1}
  - reply: After the wait.
  - drop: 2
  - drop: null
  - stall: {seconds: 30, after_chunks: 1}
"""


@dataclass
class Served:
    process: subprocess.Popen
    url: str

    def client(self, **options: object) -> openai.OpenAI:
        settings = {"api_key": "sk-test", "base_url": self.url, "max_retries": 0, **options}
        return openai.OpenAI(http_client=openai.DefaultHttpxClient(trust_env=False), **settings)

    def stop(self, signum: int = signal.SIGTERM) -> tuple[int, str, str]:
        self.process.send_signal(signum)
        out, err = self.process.communicate(timeout=10)
        return self.process.returncode, self.url + "\n" + out, err


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "qwenobs.cli", "serve", *args]


@contextmanager
def serving(*args: str) -> Iterator[Served]:
    process = subprocess.Popen(
        command(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        url = process.stdout.readline().strip()  # the first line, as soon as it accepts calls
        if not url:
            raise AssertionError(f"no URL; stderr: {process.communicate(timeout=10)[1]}")
        yield Served(process, url)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def stream_of(client: openai.OpenAI, **options: object) -> tuple[list[str], str | None]:
    """The content pieces of a stream, and the error that ended it (by name), if one did."""
    pieces: list[str] = []
    try:
        stream = client.chat.completions.create(
            model="qwen-plus", messages=USER, stream=True, **options
        )
        for chunk in stream:
            pieces.extend(choice.delta.content or "" for choice in chunk.choices)
    except (openai.APIError, http.TransportError) as exc:
        return pieces, type(exc).__name__
    return pieces, None


def test_a_script_file_with_every_fault(tmp_path) -> None:
    script = tmp_path / "fake.yaml"
    script.write_text(SCRIPT, encoding="utf-8")
    with serving("--script", str(script)) as served:
        assert served.url.startswith("http://127.0.0.1:")
        assert served.url.endswith("/compatible-mode/v1")
        client = served.client()
        ask = client.chat.completions.create

        assert ask(model="qwen-plus", messages=USER).choices[0].message.content == "Sunny, 24°C."

        started = _now()
        stream = ask(model="qwen-plus", messages=USER, stream=True)
        assert _now() - started >= 0.3  # the headers came after the slow first byte
        assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == (
            "A slow start."
        )

        started = _now()
        waited = client.with_options(max_retries=1).chat.completions.create(
            model="qwen-plus", messages=USER
        )
        assert waited.choices[0].message.content == "After the wait."
        assert _now() - started >= 0.3  # the SDK waited for Retry-After

        pieces, error = stream_of(client)
        assert len(pieces) == 2 and error in ("APIConnectionError", "RemoteProtocolError")

        with pytest.raises(openai.APIConnectionError):
            ask(model="qwen-plus", messages=USER)  # dropped before any response

        started = _now()
        pieces, error = stream_of(client.with_options(timeout=0.3))
        assert len(pieces) == 1 and error in ("APITimeoutError", "ReadTimeout")
        assert _now() - started < 5

        other = ask(model="qwen-max", messages=USER, stream=True)
        assert "".join(c.choices[0].delta.content or "" for c in other) == "From qwen-max."

        code, out, err = served.stop()
    assert code == 0, err
    assert out.splitlines() == [served.url]
    log = err.splitlines()
    assert log[0] == (
        f"qwenobs serve: the fake DashScope at {served.url} answers from {script} "
        f"(8 answers, 1 route); seed {log[0].rpartition('seed ')[2].split('.')[0]}. "
        "Ctrl+C or SIGTERM stops it."
    )
    calls = [line.split(" ", 1)[1] for line in log[1:-1]]  # without the time of day
    assert calls == [
        "#1 qwen-plus -> 200 reply('Sunny, 24°C.')",
        "#2 qwen-plus stream -> 200 reply('A slow start.')",
        "#3 qwen-plus -> 429 fail(429, times=1, retry_after=0.3)",
        "#4 qwen-plus retry 1 -> 200 reply('After the wait.')",
        "#5 qwen-plus stream -> 200, connection closed after 2 events: drop(after_chunks=2)",
        "#6 qwen-plus -> connection closed before the response: drop()",
        "#7 qwen-plus stream -> 200 stall(30, after_chunks=1)",
        "#8 qwen-max stream -> 200 reply('From qwen-max.')",
    ]
    assert log[-1] == "qwenobs serve: stopped after 8 calls"


def _now() -> float:
    return time.perf_counter()


RATED = {
    "answers": [
        {"fail": {"status": 500, "rate": 0.5}},
        {"reply": {"content": "ok", "repeat": True}},
    ]
}


def _run_with_seed(script: Path, seed: int) -> list[int]:
    with serving("--script", str(script), "--seed", str(seed)) as served:
        client, statuses = served.client(), []
        for _ in range(12):
            try:
                client.chat.completions.create(model="qwen-plus", messages=USER)
                statuses.append(200)
            except openai.APIStatusError as exc:
                statuses.append(exc.status_code)
        code, _, err = served.stop()
    assert code == 0, err
    assert f"; seed {seed}. " in err
    return statuses


def test_the_same_seed_repeats_a_run(tmp_path) -> None:
    script = tmp_path / "rated.json"
    script.write_text(json.dumps(RATED), encoding="utf-8")
    first = _run_with_seed(script, 7)
    assert first == _run_with_seed(script, 7)
    chance = random.Random(7)
    assert first == [500 if chance.random() < 0.5 else 200 for _ in range(12)]
    assert 0 < first.count(500) < 12


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_without_a_script_it_echoes_and_a_signal_stops_it(signum) -> None:
    with serving() as served:
        client = served.client()
        answer = client.chat.completions.create(model="qwen-plus", messages=USER)
        assert answer.choices[0].message.content == "You said: What about Ningbo?"
        assert answer.usage.completion_tokens > 0
        stream = client.chat.completions.create(model="qwen-plus", messages=USER, stream=True)
        next(iter(stream))  # a stream still open when the signal comes
        code, out, err = served.stop(signum)
    assert code == 0, err
    assert out.splitlines() == [served.url]
    assert "with an echo of each call" in err
    assert [line.split(" ", 1)[1] for line in err.splitlines()[1:-1]] == [
        "#1 qwen-plus -> 200 echo",
        "#2 qwen-plus stream -> 200 echo",
    ]
    assert err.splitlines()[-1] == "qwenobs serve: stopped after 2 calls"
    assert "Traceback" not in err


def test_the_log_names_the_model_of_a_call_refused_before_its_body_is_read() -> None:
    from qwenobs.fake import FakeDashScope, Request
    from qwenobs.serve import line

    fake = FakeDashScope()
    path = "/compatible-mode/v1/chat/completions"
    body = json.dumps({"model": "qwen-plus", "stream": True, "messages": USER}).encode()
    for sent in (body, b"{not json", b"[1]"):
        fake.handle(Request.of("POST", path, [], sent))  # no Authorization header
    said = [line(n, call).split(" ", 1)[1] for n, call in enumerate(fake.calls, 1)]
    assert [s.partition(": ")[0] for s in said] == [
        "#1 qwen-plus stream -> 401 invalid_api_key",
        "#2 -> 401 invalid_api_key",
        "#3 -> 401 invalid_api_key",
    ]


# Starts the command as its console script does, with its import of qwenobs.serve (about half a
# second of heavy imports) held up, and says so on stderr: the signal lands in that window.
SLOW_START = """
import sys, time
class Slow:
    def find_spec(self, name, path=None, target=None):
        if name == "qwenobs.serve":
            print("importing", file=sys.stderr, flush=True)
            time.sleep(10)
sys.meta_path.insert(0, Slow())
from qwenobs.cli import main
sys.exit(main(["serve"]))
"""


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_while_it_starts_stops_it_cleanly(signum) -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", SLOW_START],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr.readline() == "importing\n"
        process.send_signal(signum)
        out, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert (process.returncode, out) == (0, ""), err
    assert err == "qwenobs serve: stopped before it started\n"


def test_another_host_is_explicit_and_warns_in_one_line() -> None:
    with serving("--host", "0.0.0.0") as served:
        client = served.client(base_url=served.url.replace("0.0.0.0", "127.0.0.1"))
        answer = client.chat.completions.create(model="qwen-plus", messages=USER)
        assert answer.choices[0].message.content.startswith("You said: ")
        code, _, err = served.stop()
    assert code == 0
    warning = [line for line in err.splitlines() if "warning" in line]
    assert len(warning) == 1
    assert warning[0].startswith(
        "qwenobs serve: warning: the fake DashScope is listening on '0.0.0.0' (0.0.0.0), not on "
        "a loopback address"
    )


def test_a_bad_script_file_stops_the_process_with_one_line(tmp_path) -> None:
    script = tmp_path / "bad.json"
    script.write_text('{"answers": [{"fail": {"status": "429"}}]}', encoding="utf-8")
    done = subprocess.run(command("--script", str(script)), capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == (
        f"qwenobs serve: {script}: answers[0]: fake.fail(): status must be an HTTP error status, "
        "an int from 400 to 599, got str '429'\n"
    )


def test_yaml_without_pyyaml_names_the_extra(tmp_path) -> None:
    script = tmp_path / "fake.yaml"
    script.write_text("- reply: hi\n", encoding="utf-8")
    hide_yaml = (
        "import sys; sys.modules['yaml'] = None; from qwenobs.cli import main; "
        f"sys.exit(main(['serve', '--script', {str(script)!r}]))"
    )
    done = subprocess.run([sys.executable, "-c", hide_yaml], capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr == (
        f"qwenobs serve: {script}: a YAML script file needs yaml: pip install 'qwenobs[serve]'\n"
    )


# -- in this process: the arguments -----------------------------------------------------------


def test_a_taken_port_says_so_in_one_line(capsys) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        assert main(["serve", "--port", str(port)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == f"qwenobs serve: cannot listen on 127.0.0.1 port {port}: Address already in use\n"


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--port", "70000"], "--port takes 0 to 65535 (0: any free port), not 70000"),
        (["--seed", "-3"], "--seed takes a whole number, 0 or more, not -3"),
        (["--script", "nowhere.json"], "nowhere.json: cannot read it: No such file or directory"),
    ],
)
def test_bad_arguments_say_what_is_accepted(capsys, args, said) -> None:
    assert main(["serve", *args]) == 2
    out, err = capsys.readouterr()
    assert (out, err) == ("", f"qwenobs serve: {said}\n")


# -- the README's shell recipe, run with bash ---------------------------------------------------

APP = """\
import openai

client = openai.OpenAI(max_retries=0)  # OPENAI_BASE_URL and OPENAI_API_KEY from the recipe
answer = client.chat.completions.create(
    model="qwen-plus", messages=[{"role": "user", "content": "Weather in Hangzhou?"}]
)
print(answer.choices[0].message.content)
"""


def readme_recipe() -> str:
    """The README's bash block that starts ``qwenobs serve`` in a script."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    start = readme.index("\n### `qwenobs serve`\n")
    section = readme[start : readme.index("\n### ", start + 1)]
    assert "| head -1)" not in section.replace("`URL=$(qwenobs serve ... | head -1)`", "")
    (recipe,) = re.findall(r"^```bash\n(.*?)^```$", section, flags=re.DOTALL | re.MULTILINE)
    return recipe


def run_recipe(folder: Path, script: str, app: str = APP) -> subprocess.CompletedProcess[str]:
    """The recipe in ``folder`` next to ``fake.yaml`` and ``app.py``, with ``qwenobs`` and
    ``python`` those of this test run."""
    (folder / "fake.yaml").write_text(script, encoding="utf-8")
    (folder / "app.py").write_text(app, encoding="utf-8")
    (folder / "recipe.sh").write_text(readme_recipe(), encoding="utf-8")
    tools = folder / "bin"
    tools.mkdir()
    for name, run in (("qwenobs", f"{sys.executable} -m qwenobs.cli"), ("python", sys.executable)):
        (tools / name).write_text(f'#!/bin/sh\nexec {run} "$@"\n', encoding="utf-8")
        (tools / name).chmod(0o755)
    environment = {**os.environ, "PATH": f"{tools}{os.pathsep}{os.environ['PATH']}"}
    for name in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "NO_PROXY", "no_proxy"):
        environment.pop(name, None)
    environment["NO_PROXY"] = "127.0.0.1"
    return subprocess.run(
        ["bash", "recipe.sh"],
        cwd=folder,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_the_readme_shell_recipe_reads_the_url_and_stops_the_server(tmp_path) -> None:
    (tmp_path / "fake.url").write_text("http://127.0.0.1:1/of-an-earlier-run\n", encoding="utf-8")
    done = run_recipe(tmp_path, "answers:\n  - reply: Sunny, 24°C.\n")
    assert (done.returncode, done.stdout, done.stderr) == (0, "Sunny, 24°C.\n", "")
    log = (tmp_path / "fake.log").read_text(encoding="utf-8").splitlines()
    assert log[1].endswith("#1 qwen-plus -> 200 reply('Sunny, 24°C.')")
    assert log[-1] == "qwenobs serve: stopped after 1 call"  # killed, and waited for


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_the_readme_shell_recipe_says_why_the_server_did_not_start(tmp_path) -> None:
    done = run_recipe(tmp_path, "answers:\n  - fail: {status: '429'}\n")
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr == (
        "qwenobs serve: fake.yaml: answers[0]: fake.fail(): status must be an HTTP error "
        "status, an int from 400 to 599, got str '429'\n"
    )


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_the_readme_shell_recipe_keeps_the_apps_exit_status(tmp_path) -> None:
    done = run_recipe(tmp_path, "answers: []\n", app="raise SystemExit(3)\n")
    assert done.returncode == 3
    log = (tmp_path / "fake.log").read_text(encoding="utf-8").splitlines()
    assert log[-1] == "qwenobs serve: stopped after 0 calls"
