"""The zero-code path exactly as the README gives it: ``opentelemetry-instrument python app.py`` with
the ``otlp`` extra and its environment, against the fake server, read back by an OTLP receiver."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from qwenobs.fake import FakeDashScope

APP = textwrap.dedent(
    """
    import os
    import openai

    client = openai.OpenAI(api_key="sk-zero-code", base_url=os.environ["APP_BASE_URL"])
    answer = client.chat.completions.create(
        model="qwen-plus",
        messages=[{"role": "user", "content": "Which lake is in Hangzhou?"}],
        max_tokens=32,
    )
    print(answer.choices[0].message.content)
    """
)


class Receiver(BaseHTTPRequestHandler):
    """An OTLP/HTTP endpoint that keeps every span it is sent."""

    spans: ClassVar[list] = []  # each test makes a subclass with its own list

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        if self.path == "/v1/traces":
            request = ExportTraceServiceRequest.FromString(body)
            for resource in request.resource_spans:
                for scope in resource.scope_spans:
                    self.spans.extend(scope.spans)
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, list]]:
    spans: ClassVar[list] = []  # each test makes a subclass with its own list
    handler = type("Handler", (Receiver,), {"spans": spans})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", spans
    finally:
        server.shutdown()


def test_opentelemetry_instrument_exports_the_chat_span(tmp_path: Path, receiver) -> None:
    endpoint, spans = receiver
    app = tmp_path / "app.py"
    app.write_text(APP)
    fake = FakeDashScope()
    fake.reply("West Lake.")
    launcher = Path(sys.executable).parent / "opentelemetry-instrument"
    with fake.serve() as server:
        env = {
            **os.environ,
            "APP_BASE_URL": server.base_url,
            # The README's variables, and no metrics or logs exporter to set up.
            "OTEL_SERVICE_NAME": "zero-code-app",
            "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            "OTEL_METRICS_EXPORTER": "none",
            "OTEL_LOGS_EXPORTER": "none",
        }
        run = subprocess.run(
            [str(launcher), sys.executable, str(app)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "West Lake."
    chat = [s for s in spans if s.name == "chat qwen-plus"]
    assert len(chat) == 1, [s.name for s in spans]
    attributes = {a.key: a.value for a in chat[0].attributes}
    assert attributes["gen_ai.provider.name"].string_value == "dashscope"
    assert attributes["gen_ai.usage.input_tokens"].int_value > 0
    assert attributes["gen_ai.response.finish_reasons"].array_value.values[0].string_value == "stop"
