"""The package's layering, read from the source, so it cannot erode unnoticed (README: How it is built).

- Pure modules load neither the openai SDK nor OpenTelemetry (nor wrapt, an HTTP library or
  pytest) when imported: they run in the fake, in ``qwenobs lint`` and before every traced call.
- Only the demo (and its printer), the spans file exporter and the report use OpenTelemetry's
  SDK; the instrumentation itself speaks the OpenTelemetry API.
- The core never imports the pytest plugin (or pytest); the plugin imports the core.
- No import cycles, lazy imports inside functions included.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {
    "qwenobs": ROOT / "qwenobs",
    "pytest_qwenobs": ROOT / "pytest_plugin" / "pytest_qwenobs",
}

PURE = {
    "qwenobs",
    "qwenobs.attributes",
    "qwenobs.cassettes",
    "qwenobs.catalog",
    "qwenobs.checks",
    "qwenobs.config",
    "qwenobs.conversations",
    "qwenobs.errors",
    "qwenobs.extras",
    "qwenobs.fields",
    "qwenobs.lint",
    "qwenobs.lint.findings",
    "qwenobs.lint.recorded",
    "qwenobs.lint.requests",
    "qwenobs.otlp_json",
    "qwenobs.raw_sse",
    "qwenobs.scrub",
    "qwenobs.semconv",
    "qwenobs.streaming",
    "qwenobs.tokens",
    "qwenobs.validation",
    "qwenobs.validation.conversation",
    "qwenobs.validation.findings",
    "qwenobs.validation.rules",
    "qwenobs.validation.toolset",
    "qwenobs.version",
    "qwenobs.fake.cache",
    "qwenobs.fake.engine",
    "qwenobs.fake.error_bodies",
    "qwenobs.fake.faults",
    "qwenobs.fake.playback",
    "qwenobs.fake.render",
    "qwenobs.fake.retries",
    "qwenobs.fake.samples",
    "qwenobs.fake.script",
    "qwenobs.fake.script_file",
    "qwenobs.fake.sse",
    "qwenobs.replay",
    "qwenobs.replay.capture",
    "qwenobs.replay.compare",
    "qwenobs.replay.player",
    "qwenobs.replay.recording",
    "qwenobs.replay.sources",
}
IMPURE_LIBRARIES = ("openai", "opentelemetry", "wrapt", "httpx", "httpx2", "respx", "pytest")
# the demo and its span printer, the spans file exporter, the report
OTEL_SDK_ALLOWED = {"qwenobs.demo", "qwenobs.spantree", "qwenobs.spans_file"}
OTEL_SDK_ALLOWED_PACKAGES = ("qwenobs.report",)


def modules() -> dict[str, Path]:
    found = {}
    for package, folder in PACKAGES.items():
        for path in folder.rglob("*.py"):
            parts = path.relative_to(folder).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join((package, *parts))] = path
    return found


MODULES = modules()


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports(module: str) -> Iterator[tuple[str, bool]]:
    """(imported module, at import time?) for every import outside ``if TYPE_CHECKING:``."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]

    def visit(node: ast.AST, top: bool) -> Iterator[tuple[str, bool]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                yield from (i for stmt in child.orelse for i in visit_stmt(stmt, top))
                continue
            yield from visit_stmt(child, top)

    def visit_stmt(node: ast.AST, top: bool) -> Iterator[tuple[str, bool]]:
        if isinstance(node, ast.Import):
            yield from ((alias.name, top) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                yield (sub if sub in MODULES else base), top
        else:
            inner = top and not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            yield from visit(node, inner)

    yield from visit(ast.parse(path.read_text(encoding="utf-8")), True)


def loaded_on_import(module: str) -> set[str]:
    """Every module (ours and others) that importing ``module`` loads, by the source."""
    seen, todo = set(), [module]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        parents = [".".join(current.split(".")[:i]) for i in range(1, current.count(".") + 1)]
        for name in [*parents, *(name for name, top in imports(current) if top)]:
            if name in MODULES:
                todo.append(name)
            else:
                seen.add(name)
    return seen


def test_pure_modules_load_no_sdk_when_imported():
    offenders = {}
    for module in sorted(PURE):
        bad = sorted(
            name
            for name in loaded_on_import(module)
            if name.split(".")[0] in IMPURE_LIBRARIES or name.startswith("pytest_qwenobs")
        )
        if bad:
            offenders[module] = bad
    assert offenders == {}


def test_every_pure_module_exists():
    assert set(MODULES) >= PURE, PURE - set(MODULES)


def test_only_the_demo_the_spans_file_and_the_report_use_the_opentelemetry_sdk():
    users = {
        module
        for module in MODULES
        if module.startswith("qwenobs") and not module.startswith(OTEL_SDK_ALLOWED_PACKAGES)
        for name, _ in imports(module)
        if name.startswith("opentelemetry.sdk")
    }
    assert users <= OTEL_SDK_ALLOWED


def test_the_core_never_imports_the_plugin_or_pytest():
    offenders = {
        (module, name)
        for module in MODULES
        if module.startswith("qwenobs")
        for name, _ in imports(module)
        if name.split(".")[0] in ("pytest", "pytest_qwenobs", "_pytest")
    }
    assert offenders == set()


def test_no_import_cycles():
    graph = {m: sorted({n for n, _ in imports(m) if n in MODULES and n != m}) for m in MODULES}
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    cycles = []

    def walk(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in graph[node]:
            if state.get(nxt) == 1:
                cycles.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                walk(nxt, [*path, nxt])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            walk(module, [module])
    assert cycles == []


def test_importing_qwenobs_loads_neither_openai_nor_opentelemetry():
    # The same property, observed in a fresh interpreter rather than read from the source.
    code = (
        "import sys, qwenobs, qwenobs.validation, qwenobs.fake.engine;"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'openai', 'opentelemetry', 'wrapt'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_every_public_exception_is_exported_once():
    import qwenobs
    from qwenobs import errors

    defined = {
        name
        for name, value in vars(errors).items()
        if isinstance(value, type)
        and issubclass(value, Exception)
        and value.__module__ == errors.__name__
    }
    assert defined <= set(errors.__all__) <= set(qwenobs.__all__)
    for name in qwenobs.__all__:
        assert getattr(qwenobs, name) is not None
    assert qwenobs.QwenValidationError is errors.QwenValidationError  # built once
