"""Command-line options, ini settings and markers, all prefixed ``qwen``, in one group; the
start-up check of every setting, and the checks of marker and ``*_config`` fixture options."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

# The plugin's extra: every line about a missing dependency names it, whichever part is missing.
EXTRA = "testing"
INSTALL = f"pip install 'qwenobs[{EXTRA}]'"

RECORD_MODES = ("none", "once", "new_episodes", "all", "rewrite")
DEFAULT_RECORD_MODE = "none"  # CI replays and never touches the network
# qwenobs.cost.REGIONS, spelled out so that start-up never imports qwenobs (a test keeps them equal).
COST_REGIONS = ("cn", "intl")

MARKERS = (
    "qwen_fake(allow_unused=False, hosts=(), **fake_options): configure this test's fake "
    "DashScope (qwen_fake and qwen_server); fake_options go to FakeDashScope(...)",
    "qwen_cassette(path=None, *, scrub=()): record and replay this test's DashScope traffic in "
    "a cassette (default cassettes/<test module>/<test name>.yaml)",
    "qwen_spans(**instrument_options): options for qwenobs.instrument() in the qwen_spans fixture "
    "(validate, capture_content, hosts, ...)",
    "qwen_replay(source, trace_id=None, *, json_as_data=False, ignore=(), pace=None, "
    "allow_unplayed=False): answer this test's calls with a captured conversation (OTLP/JSON "
    "lines, phoenix://..., a cassette or a .replay.json, relative to the test module) and fail "
    "the test where the application's calls differ from it",
)


def add_options(parser: Any) -> None:
    group = parser.getgroup("qwenobs", "qwenobs: fake DashScope, cassettes, span assertions")
    group.addoption(
        "--qwen-record-mode",
        choices=RECORD_MODES,
        default=None,
        help=f"qwen_cassette record mode (default {DEFAULT_RECORD_MODE}: replay only, no network).",
    )
    group.addoption(
        "--qwen-scrub",
        action="append",
        default=[],
        metavar="NAME",
        help="another header, query parameter or JSON key whose value is scrubbed from cassettes.",
    )
    group.addoption(
        "--qwen-spans-file",
        default=None,
        metavar="PATH",
        help="append every span the qwen_spans fixture records to PATH as OTLP/JSON lines "
        "(for `qwenobs report`; safe under pytest-xdist).",
    )
    parser.addini(
        "qwen_scrub",
        type="linelist",
        default=[],
        help="qwenobs: header, query parameter and JSON key names scrubbed from cassettes.",
    )
    parser.addini(
        "qwen_record_mode",
        default=DEFAULT_RECORD_MODE,
        help="qwenobs: the default --qwen-record-mode.",
    )


def add_cost_options(parser: Any) -> None:
    group = parser.getgroup("qwenobs")
    group.addoption(
        "--qwen-no-cost-summary",
        action="store_true",
        default=False,
        help="no summary of what each test's Qwen calls cost at the end of the run.",
    )
    parser.addini(
        "qwen_cost_summary",
        type="bool",
        default=True,
        help="qwenobs: print what each test's Qwen calls cost at the end of the run.",
    )
    parser.addini(
        "qwen_cost_region",
        default="intl",
        help="qwenobs: the billing region (cn or intl) of calls to the loopback fake server, "
        "which has none of its own (default intl, like the fake's own base URL).",
    )


def add_lint_options(parser: Any) -> None:
    group = parser.getgroup("qwenobs")
    group.addoption(
        "--qwen-lint-cassettes",
        action="store_true",
        default=False,
        help="after the run, lint the cassettes it used (as qwenobs lint does); errors fail "
        "the run.",
    )
    parser.addini(
        "qwen_lint_cassettes",
        type="bool",
        default=False,
        help="qwenobs: the default of --qwen-lint-cassettes.",
    )
    parser.addini(
        "qwen_cassette_max_age",
        default="180",
        help="qwenobs: days after which the cassette lint flags a recording as old.",
    )


def lint_cassettes(config: Any) -> bool:
    return bool(config.getoption("qwen_lint_cassettes") or config.getini("qwen_lint_cassettes"))


def cassette_max_age(config: Any) -> int:
    value = config.getini("qwen_cassette_max_age")
    try:
        days = int(value)
    except (TypeError, ValueError):
        days = -1
    if days < 0:
        raise _usage(
            f"ini option qwen_cassette_max_age must be a number of days, 0 or more, got {value!r}"
        )
    return days


def cost_summary(config: Any) -> bool:
    return bool(config.getini("qwen_cost_summary")) and not config.getoption("qwen_no_cost_summary")


def cost_region(config: Any) -> str:
    region = config.getini("qwen_cost_region")
    if region not in COST_REGIONS:
        raise _usage(
            "ini option qwen_cost_region must be cn (the China endpoint, CNY) or intl (the "
            f"international endpoint, USD), got {region!r}"
        )
    return region


def record_mode(config: Any) -> str:
    given = config.getoption("qwen_record_mode")  # argparse checked it against RECORD_MODES
    mode = given or config.getini("qwen_record_mode")
    if mode not in RECORD_MODES:
        raise _usage(
            f"ini option qwen_record_mode must be one of {', '.join(RECORD_MODES)}, got {mode!r}"
        )
    return mode


def scrub_names(config: Any) -> list[str]:
    return [*config.getini("qwen_scrub"), *config.getoption("qwen_scrub")]


def check_settings(config: Any) -> None:
    """Every qwen ini option and command-line option, checked before any test runs: a mistake
    stops the run with one line (``pytest.UsageError``) naming the option, the value given and
    what is accepted, instead of surfacing mid-run inside a traceback. Imports nothing heavy."""
    import pytest

    record_mode(config)
    cost_region(config)
    cassette_max_age(config)
    for name in ("qwen_cost_summary", "qwen_lint_cassettes"):
        try:
            config.getini(name)
        except (ValueError, pytest.UsageError) as exc:  # "invalid truth value 'maybe'"
            shown = str(exc).removeprefix("invalid truth value ")
            raise _usage(
                f"ini option {name} must be true or false (also yes/no, on/off, 1/0), got {shown}"
            ) from None
    if any(not name.strip() for name in config.getoption("qwen_scrub")):
        raise _usage("--qwen-scrub needs a header, query parameter or JSON key name, got ''")
    spans_file = config.getoption("qwen_spans_file")
    if spans_file:
        path = config.invocation_params.dir / spans_file
        if path.is_dir():
            raise _usage(
                f"--qwen-spans-file {spans_file!r} is a directory; give a file to append "
                "OTLP/JSON lines to"
            )
        _needs("--qwen-spans-file", "opentelemetry.sdk", "opentelemetry-sdk")
    if lint_cassettes(config):
        option = (
            "--qwen-lint-cassettes"
            if config.getoption("qwen_lint_cassettes")
            else "ini option qwen_lint_cassettes"
        )
        _needs(option, "yaml", "pyyaml")


def _needs(option: str, module: str, distribution: str) -> None:
    import importlib.util

    try:
        found = importlib.util.find_spec(module) is not None
    except ImportError:  # a parent package is missing
        found = False
    if not found:
        raise _usage(f"{option} needs {distribution}: {INSTALL}")


def _usage(message: str) -> Exception:
    import pytest

    return pytest.UsageError(message)


# -- marker arguments: a mistake fails the test naming the option and what is accepted ------------


class OptionMistake(Exception):
    """A marker or a ``*_config`` fixture was given an option it does not take. The mistake is in
    the test, not in the plugin: the test fails (its setup errors) with this message alone."""


MARKER_FAKE = "@pytest.mark.qwen_fake"
CONFIG_FAKE = "the qwen_fake_config fixture"


def check_marker(
    name: str,
    args: tuple[Any, ...],
    kwargs: Mapping[str, Any],
    accepted: tuple[str, ...],
    positional: tuple[str, ...] = (),
) -> None:
    """``@pytest.mark.<name>(*args, **kwargs)`` takes keyword options among ``accepted`` only,
    and as many positional arguments as ``positional`` names (``qwen_cassette``'s path)."""
    where = f"@pytest.mark.{name}"
    if len(args) > len(positional):
        takes = (
            f"at most {len(positional)} positional argument(s): {', '.join(positional)}"
            if positional
            else "keyword options"
        )
        raise OptionMistake(f"{where} takes {takes}, got positional {args!r}")
    unknown = [key for key in kwargs if key not in accepted]
    if unknown:
        raise OptionMistake(
            f"{where}: unknown option(s) {', '.join(unknown)}; accepted: {', '.join(accepted)}"
        )


def check_config(fixture: str, config: Any, accepted: tuple[str, ...] | None) -> None:
    """A ``*_config`` fixture's value: a mapping of options (among ``accepted``, unless None)."""
    if not isinstance(config, Mapping):
        raise OptionMistake(
            f"the {fixture} fixture must return a dict of options, got {type(config).__name__}"
        )
    unknown = [key for key in config if accepted is not None and key not in accepted]
    if unknown:
        raise OptionMistake(
            f"the {fixture} fixture: unknown option(s) {', '.join(map(str, unknown))}; "
            f"accepted: {', '.join(accepted or ())}"
        )


def reworded(error: Exception, call: str, where: Callable[[str], str]) -> OptionMistake | None:
    """A library call's argument error (``FakeDashScope(): chunk_delay must be ...``) as the
    marker or fixture where the user wrote that option names it (``@pytest.mark.qwen_fake:
    chunk_delay must be ...``); ``where(option)`` says which. None for an error that is not about
    an argument: that is a bug, to show with its traceback."""
    text = str(error)
    if not isinstance(error, TypeError | ValueError) or not text.startswith(f"{call}: "):
        return None
    text = text.removeprefix(f"{call}: ")
    option = text.split(" ", 1)[0]
    return OptionMistake(f"{where(option)}: {text}")


def keyword_names(function: Any, *, leave_out: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The keyword parameters of ``function``, in order."""
    import inspect

    return tuple(
        name
        for name, parameter in inspect.signature(function).parameters.items()
        if parameter.kind in (parameter.KEYWORD_ONLY, parameter.POSITIONAL_OR_KEYWORD)
        and name not in ("self", *leave_out)
    )


def names(marker: str, option: str, kwargs: Mapping[str, Any]) -> list[str]:
    """A marker option naming things: one str, or a list of str."""
    value = kwargs.get(option, ())
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise OptionMistake(
            f"@pytest.mark.{marker}: {option} must be a name or a list of names (str), "
            f"got {type(value).__name__} {value!r}"
        )
    return list(value)
