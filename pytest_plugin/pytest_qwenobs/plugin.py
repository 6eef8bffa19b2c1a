"""The pytest11 entry point: hooks and fixtures only. Loaded by every pytest run of every project
that installs qwenobs, so importing it stays cheap: the fake, vcrpy and OpenTelemetry are imported
inside the fixtures that need them."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from . import options

if TYPE_CHECKING:
    from qwenobs.fake import FakeDashScope

    from .costs import FakeWatch, Ledger
    from .fakes import QwenServer, Switchboard
    from .linting import Outcome, UsedCassettes
    from .spans import QwenSpans

_LEDGER = pytest.StashKey["Ledger"]()  # what the run's Qwen calls cost, per test
_WATCH = pytest.StashKey["FakeWatch"]()  # every call the run's fakes answer
_USED = pytest.StashKey["UsedCassettes"]()  # the cassettes the run used, for --qwen-lint-cassettes
_LINTED = pytest.StashKey["Outcome"]()

# Checks run right after the test body: each returns a failure message or None. Failing there
# (not in teardown) makes a broken expectation a test failure, not an error.
_CHECKS = pytest.StashKey[list[Callable[[bool], "str | None"]]]()
_SPANS_FILE = pytest.StashKey[Any]()  # the session's SpansFileExporter (--qwen-spans-file)


def pytest_addoption(parser: pytest.Parser) -> None:
    options.add_options(parser)
    options.add_cost_options(parser)
    options.add_lint_options(parser)


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from . import hooks

    pluginmanager.add_hookspecs(hooks)


def pytest_configure(config: pytest.Config) -> None:
    for line in options.MARKERS:
        config.addinivalue_line("markers", line)
    if not (config.getoption("help", False) or config.getoption("version", False)):
        options.check_settings(config)  # --help stays readable, to look up the right value


def pytest_unconfigure(config: pytest.Config) -> None:
    watch = config.stash.get(_WATCH, None)
    if watch is not None:
        watch.close()
    exporter = config.stash.get(_SPANS_FILE, None)
    if exporter is not None:
        exporter.shutdown()


def _spans_file(config: pytest.Config) -> Any:
    """The exporter behind --qwen-spans-file, opened on first use (None without the option)."""
    path = config.getoption("qwen_spans_file", None)
    if not path:
        return None
    exporter = config.stash.get(_SPANS_FILE, None)
    if exporter is None:
        from qwenobs.spans_file import SpansFileExporter

        exporter = SpansFileExporter(config.invocation_params.dir / path)
        config.stash[_SPANS_FILE] = exporter
    return exporter


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The marker alone turns the cassette on; no autouse fixture taxes tests that don't use it.
    for item in items:
        names = getattr(item, "fixturenames", None)
        if names is None:
            continue
        if "qwen_cassette" not in names and item.get_closest_marker("qwen_cassette") is not None:
            names.insert(0, "qwen_cassette")
        replay = item.get_closest_marker("qwen_replay") is not None
        if replay and "qwen_fake" not in names and "qwen_server" not in names:
            names.insert(0, "qwen_fake")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    checks = item.stash.get(_CHECKS, None)
    if not checks:
        return (yield)
    try:
        result = yield
    except pytest.skip.Exception:
        raise
    except BaseException:
        message = _failed_checks(checks, failed=True)
        if message:
            # The plugin's message says what happened and what to do; the SDK's wrapped
            # transport error underneath only repeats it less clearly.
            raise pytest.fail.Exception(message, pytrace=False) from None
        raise
    message = _failed_checks(checks, failed=False)
    if message:
        pytest.fail(message, pytrace=False)
    return result


# The fixtures a test asks for; a missing dependency of any of them names the plugin's extra.
_FIXTURES = frozenset({"qwen_fake", "qwen_server", "qwen_spans", "qwen_cassette"})


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef[Any], request: Any) -> Iterator[Any]:
    # A mistake in a marker or a *_config fixture, or an install without the extra a fixture
    # needs: the test's setup errors with one line, no traceback through the plugin.
    try:
        return (yield)
    except options.OptionMistake as exc:
        raise pytest.fail.Exception(str(exc), pytrace=False) from None
    except ImportError as exc:
        from qwenobs.errors import MissingExtra

        if not isinstance(exc, MissingExtra):
            raise
        name = fixturedef.argname
        # The plugin's own fixtures need its extra, whichever part (fake, cassettes) is missing;
        # a fixture of the suite's own that uses the library needs what the library says.
        line = f"{exc.what}: {options.INSTALL}" if name in _FIXTURES else str(exc)
        raise pytest.fail.Exception(f"{name}: {line}", pytrace=False) from None


# -- the cost summary ------------------------------------------------------------------------


def _ledger(config: pytest.Config) -> Ledger:
    ledger = config.stash.get(_LEDGER, None)
    if ledger is None:
        from .costs import Ledger

        ledger = config.stash[_LEDGER] = Ledger(options.cost_region(config))
    return ledger


def _fake_watch(config: pytest.Config) -> FakeWatch | None:
    """The watch on every fake's calls, from the first test that starts with qwenobs imported
    (or makes a fixture fake): a run that never imports qwenobs never imports the fake. None
    when the cost summary is off: nothing reads the calls then."""
    watch = config.stash.get(_WATCH, None)
    if watch is None and "qwenobs" in sys.modules and options.cost_summary(config):
        from .costs import FakeWatch

        watch = config.stash[_WATCH] = FakeWatch()
    return watch


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Iterator[Any]:
    # Every call a fake answers while the test runs (setup to teardown) is the test's: fakes
    # the test makes itself (FakeDashScope(), client(), intercept(), serve()), the fixtures'.
    watch = _fake_watch(item.config)
    if watch is not None:
        watch.take()  # answered between tests: nobody's
    try:
        return (yield)
    finally:
        watch = _fake_watch(item.config)
        calls = watch.take() if watch is not None else []
        if calls:
            _ledger(item.config).add_fake_calls(item.nodeid, calls)


def pytest_sessionfinish(session: pytest.Session) -> None:
    # A pytest-xdist worker hands its ledger and its cassettes to the controller, which merges.
    config = session.config
    output = getattr(config, "workeroutput", None)
    ledger = config.stash.get(_LEDGER, None)
    used = config.stash.get(_USED, None)
    if output is not None:
        if ledger is not None:
            output["qwenobs_costs"] = ledger.dump()
        if used is not None:
            output["qwenobs_cassettes"] = used.dump()
        return
    if used is not None and options.lint_cassettes(config):
        outcome = config.stash[_LINTED] = used.lint(
            options.cassette_max_age(config), config.rootpath
        )
        if outcome.errors and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    output = getattr(node, "workeroutput", {})
    if dumped := output.get("qwenobs_costs"):
        _ledger(node.config).merge(dumped)
    if cassettes := output.get("qwenobs_cassettes"):
        _used(node.config).merge(cassettes)


def _used(config: pytest.Config) -> UsedCassettes:
    used = config.stash.get(_USED, None)
    if used is None:
        from .linting import UsedCassettes

        used = config.stash[_USED] = UsedCassettes()
    return used


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    linted = config.stash.get(_LINTED, None)
    if linted is not None:
        _print_lint(terminalreporter, linted)
    ledger = config.stash.get(_LEDGER, None)
    if ledger is None or not options.cost_summary(config):
        return
    from .costs import report

    lines = report(ledger)
    if lines:
        terminalreporter.write_sep("-", "qwenobs: what each test's Qwen calls cost")
        for line in lines:
            terminalreporter.write_line(line)


def _print_lint(terminalreporter: Any, outcome: Outcome) -> None:
    terminalreporter.write_sep(
        "-", f"qwenobs lint: the {outcome.cassettes} cassette(s) this run used"
    )
    for line in outcome.lines:
        terminalreporter.write_line(line)
    terminalreporter.write_line(
        f"{outcome.errors} error(s), {outcome.warnings} warning(s)"
        + (": the run fails" if outcome.errors else "")
    )


def _failed_checks(checks: list[Callable[[bool], str | None]], *, failed: bool) -> str | None:
    return "\n\n".join(m for check in checks if (m := check(failed))) or None


def _add_check(request: pytest.FixtureRequest, check: Callable[[bool], str | None]) -> None:
    request.node.stash.setdefault(_CHECKS, []).append(check)


def _marker_kwargs(
    request: pytest.FixtureRequest, name: str, accepted: tuple[str, ...]
) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    # Closest last, so a test's marker wins over its class's and module's.
    for marker in reversed(list(request.node.iter_markers(name))):
        options.check_marker(name, marker.args, marker.kwargs, accepted)
        merged.update(marker.kwargs)
    return merged


# -- fakes ----------------------------------------------------------------------------------


@pytest.fixture
def qwen_fake_config() -> dict[str, Any]:
    """Override to configure every test's fake: ``FakeDashScope(...)`` keyword arguments plus
    ``hosts`` (more hosts to intercept) and ``allow_unused``; the ``qwen_fake`` marker wins."""
    return {}


def _new_fake(request: pytest.FixtureRequest, config: dict[str, Any]) -> tuple[Any, Any]:
    from qwenobs.fake import FakeDashScope

    from .fakes import PLUGIN_KEYS, FakeSettings

    _fake_watch(request.config)  # qwenobs is imported now: the fake's calls are seen
    accepted = (*PLUGIN_KEYS, *options.keyword_names(FakeDashScope.__init__))
    options.check_config("qwen_fake_config", config, accepted)
    settings = FakeSettings.merge(config, _marker_kwargs(request, "qwen_fake", accepted))
    replay = request.node.get_closest_marker("qwen_replay")
    try:
        if replay is None:
            fake = FakeDashScope(**settings.fake_kwargs)
        else:
            fake = _replaying_fake(request, replay, settings.fake_kwargs)
    except (TypeError, ValueError) as exc:
        mistake = settings.mistake(exc)
        if mistake is None:
            raise
        raise mistake from None
    _add_check(request, lambda failed: _internal_errors(fake))
    request.config.hook.pytest_qwen_fake_created(fake=fake, request=request)
    return fake, settings


def _replaying_fake(
    request: pytest.FixtureRequest, marker: Any, fake_kwargs: dict[str, Any]
) -> Any:
    """The fake of a ``qwen_replay`` test, and the check that fails it where the app differs."""
    from qwenobs.checks import flag
    from qwenobs.fake import FakeDashScope

    from .cassettes import resolve_path

    accepted = ("source", "trace_id", "allow_unplayed", "conversation_id", "json_as_data")
    accepted += ("ignore", "pace")
    options.check_marker(
        "qwen_replay", marker.args, marker.kwargs, accepted, ("source", "trace_id")
    )
    from qwenobs.replay import ReplayUnavailable

    kwargs = dict(marker.kwargs)
    source = marker.args[0] if marker.args else kwargs.pop("source", None)
    if source is None:
        raise options.OptionMistake(
            "@pytest.mark.qwen_replay needs the recording: @pytest.mark.qwen_replay(PATH)"
        )
    where = "@pytest.mark.qwen_replay"
    allow_unplayed = kwargs.pop("allow_unplayed", False)
    try:
        flag(where, "allow_unplayed", allow_unplayed)
    except TypeError as exc:
        raise options.OptionMistake(str(exc)) from None
    text = str(source)
    if "://" not in text:
        text = str(resolve_path(Path(str(request.node.path)), text))
    try:
        fake = FakeDashScope.from_trace(text, *marker.args[1:2], **kwargs, **fake_kwargs)
    except (TypeError, ValueError) as exc:
        # One of the marker's options, as from_trace checks them ("FakeDashScope.from_trace():
        # pace must be ..."), or the recording (missing, or not one a replay can use); the
        # fake's own options are named by the caller.
        mistake = options.reworded(exc, "FakeDashScope.from_trace()", lambda option: where)
        if mistake is not None:
            raise mistake from None
        if isinstance(exc, ReplayUnavailable) or str(exc).split(" ", 1)[0] in accepted:
            raise options.OptionMistake(f"{where}: {exc}") from None
        raise

    def check(failed: bool) -> str | None:
        from qwenobs.replay import ReplayMismatch

        try:
            fake.replay.check(allow_unplayed=allow_unplayed or failed)
        except ReplayMismatch as mismatch:
            return str(mismatch)
        return None

    _add_check(request, check)
    return fake


def _internal_errors(fake: Any) -> str | None:
    """The fake failing inside is a bug to see, not a 500 for the app to retry past."""
    if not fake.internal_errors:
        return None
    lines = "\n".join(f"  {error}" for error in fake.internal_errors)
    return (
        f"the fake DashScope failed inside on {len(fake.internal_errors)} request(s), each "
        f"answered a 500 fake_internal_error (tracebacks on the 'qwenobs.fake.engine' logger):\n"
        f"{lines}"
    )


def _check_unused(fixture: str, pending: Callable[[], list[str]]) -> Callable[[bool], str | None]:
    def check(failed: bool) -> str | None:
        if failed:  # the test's own failure says more than the answers it never reached
            return None
        from .fakes import unused_message

        lines = pending()
        return unused_message(lines, fixture) if lines else None

    return check


@pytest.fixture
def qwen_fake(
    request: pytest.FixtureRequest, qwen_fake_config: dict[str, Any]
) -> Iterator[FakeDashScope]:
    """A ``FakeDashScope`` that every OpenAI SDK client in the process reaches while the test
    runs (DashScope hosts, ``/compatible-mode/`` URLs and the configured ``hosts``). Scripted
    answers left unused fail the test."""
    from .fakes import unused_answers

    fake, settings = _new_fake(request, qwen_fake_config)
    if not settings.allow_unused:
        _add_check(request, _check_unused("qwen_fake", lambda: unused_answers(fake)))
    with fake.intercept(hosts=settings.hosts):
        yield fake


@pytest.fixture(scope="session")
def _qwen_loopback() -> Iterator[tuple[Any, Switchboard]]:
    from qwenobs.fake import FakeDashScope
    from qwenobs.fake.server import FakeServer

    from .fakes import Switchboard

    board = Switchboard(FakeDashScope())
    # The server only needs .handle and .max_body: the switchboard forwards to this test's fake.
    with FakeServer(board) as server:  # type: ignore[arg-type]
        yield server, board


@pytest.fixture
def qwen_server(
    request: pytest.FixtureRequest, qwen_fake_config: dict[str, Any]
) -> Iterator[QwenServer]:
    """The fake DashScope behind a real loopback HTTP server (one for the session; the script
    and call log are this test's): ``reply``, ``fail``, ``route``, ``calls``, ``base_url``,
    ``client()``, ``async_client()``, and ``play(cassette)`` to serve a recorded stream."""
    from qwenobs.extras import need

    # Checked here, per test: a session fixture's failure would be replayed with its traceback.
    need("aiohttp", options.EXTRA, "the loopback server")
    from .fakes import QwenServer, unused_answers

    fake, settings = _new_fake(request, qwen_fake_config)
    board: Switchboard
    server, board = request.getfixturevalue("_qwen_loopback")
    qwen = QwenServer(server, board, fake, Path(str(request.node.path)))
    if not settings.allow_unused:

        def pending() -> list[str]:
            left = qwen.pending_played
            played = [f"play: {left} recorded response(s) never served"] if left else []
            return unused_answers(fake) + played

        _add_check(request, _check_unused("qwen_server", pending))
    board.plug(fake)
    try:
        yield qwen
    finally:
        board.unplug()
        if options.lint_cassettes(request.config):
            for path in qwen.played_paths:
                _used(request.config).add(path, options.scrub_names(request.config))


# -- spans ----------------------------------------------------------------------------------


@pytest.fixture
def qwen_spans(request: pytest.FixtureRequest) -> Iterator[QwenSpans]:
    """qwenobs instrumentation on for this test, into in-memory span and metric pipelines:
    ``chat()``, ``one(name, **attributes)``, ``findings()``, ``metric(name)``. Options for
    ``qwenobs.instrument()`` come from the ``qwen_spans`` marker (``region`` defaults to the
    ``qwen_cost_region`` ini setting, as in the cost summary). Afterwards the instrumentation
    that ran before (the application's own, or none) is back, with its settings and providers."""
    import qwenobs
    from qwenobs.extras import need

    need("opentelemetry.sdk", options.EXTRA, "the in-memory span pipeline")
    from .spans import PROVIDERS, QwenSpans

    accepted = options.keyword_names(qwenobs.instrument, leave_out=PROVIDERS)
    settings = _marker_kwargs(request, "qwen_spans", accepted)
    # Hosts with no region of their own (qwen_server's loopback) are priced as the cost summary
    # prices them, so qwen_spans.cost() and the summary agree; the marker's region= wins.
    settings.setdefault("region", options.cost_region(request.config))
    spans_file = _spans_file(request.config)
    spans = QwenSpans(test=request.node.nodeid if spans_file else None)
    try:
        spans.instrument(**settings)
    except (TypeError, ValueError) as exc:
        spans.close()
        where = "@pytest.mark.qwen_spans"
        mistake = options.reworded(exc, "qwenobs.instrument()", lambda option: where)
        if mistake is None:
            raise
        raise mistake from None
    try:
        yield spans
    finally:
        _ledger(request.config).add_spans(request.node.nodeid, spans.all())
        if spans_file is not None:  # the whole test's spans in one write
            spans_file.export(spans.exporter.get_finished_spans())
        spans.close()


# -- cassettes ------------------------------------------------------------------------------


@pytest.fixture
def qwen_cassette_config() -> dict[str, Any]:
    """Override to pass more ``vcr.use_cassette`` arguments to every ``qwen_cassette``
    (``before_record_request``/``before_record_response`` run after the plugin's scrubbing)."""
    return {}


@pytest.fixture
def qwen_cassette(request: pytest.FixtureRequest, qwen_cassette_config: dict[str, Any]) -> Any:
    """The vcrpy cassette of a ``@pytest.mark.qwen_cassette`` test (``.play_count``,
    ``.requests``, ``.data``); requesting it without the marker uses the default path."""
    from qwenobs.extras import need

    need("vcr", options.EXTRA, "recording cassettes")
    from .cassettes import Recording, default_path, recording, resolve_path

    options.check_config("qwen_cassette_config", qwen_cassette_config, None)
    marker = request.node.get_closest_marker("qwen_cassette")
    args = marker.args if marker else ()
    kwargs = marker.kwargs if marker else {}
    options.check_marker("qwen_cassette", args, kwargs, ("path", "scrub"), positional=("path",))
    test_file = Path(str(request.node.path))
    given = args[0] if args else kwargs.get("path")
    if given is not None and not isinstance(given, str | os.PathLike):
        raise options.OptionMistake(
            "@pytest.mark.qwen_cassette: path must be a str or a path (relative to the test "
            f"module), got {type(given).__name__} {given!r}"
        )
    path = (
        resolve_path(test_file, given)
        if given
        else default_path(test_file, request.node.name, _class_name(request))
    )
    rec = Recording(path, options.record_mode(request.config), request.node.nodeid)
    scrub = [*options.scrub_names(request.config), *options.names("qwen_cassette", "scrub", kwargs)]
    if options.lint_cassettes(request.config):
        _used(request.config).add(path, scrub)
    with recording(rec, scrub, qwen_cassette_config):
        _add_check(request, lambda failed: rec.failure())
        yield rec.cassette


def _class_name(request: pytest.FixtureRequest) -> str | None:
    cls = getattr(request.node, "cls", None)
    return cls.__name__ if cls is not None else None
