"""Command-line options, ini settings and markers, all prefixed ``qwen``, in one group."""

from __future__ import annotations

from typing import Any

RECORD_MODES = ("none", "once", "new_episodes", "all", "rewrite")
DEFAULT_RECORD_MODE = "none"  # CI replays and never touches the network

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


def cost_summary(config: Any) -> bool:
    return bool(config.getini("qwen_cost_summary")) and not config.getoption("qwen_no_cost_summary")


def record_mode(config: Any) -> str:
    mode = config.getoption("qwen_record_mode") or config.getini("qwen_record_mode")
    if mode not in RECORD_MODES:
        import pytest

        raise pytest.UsageError(
            f"qwen_record_mode must be one of {', '.join(RECORD_MODES)}, got {mode!r}"
        )
    return mode


def scrub_names(config: Any) -> list[str]:
    return [*config.getini("qwen_scrub"), *config.getoption("qwen_scrub")]


# -- marker arguments: a mistake fails the test naming the option and what is accepted ------------


def check_marker(
    name: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
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
        raise TypeError(f"{where} takes {takes}, got positional {args!r}")
    unknown = [key for key in kwargs if key not in accepted]
    if unknown:
        raise TypeError(
            f"{where}: unknown option(s) {', '.join(unknown)}; accepted: {', '.join(accepted)}"
        )


def check_config(fixture: str, config: Any, accepted: tuple[str, ...]) -> None:
    """A ``*_config`` fixture's value: a mapping of options among ``accepted``."""
    from collections.abc import Mapping

    if not isinstance(config, Mapping):
        raise TypeError(
            f"the {fixture} fixture must return a dict of options, got {type(config).__name__}"
        )
    unknown = [key for key in config if key not in accepted]
    if unknown:
        raise TypeError(
            f"the {fixture} fixture: unknown option(s) {', '.join(map(str, unknown))}; "
            f"accepted: {', '.join(accepted)}"
        )


def keyword_names(function: Any, *, leave_out: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The keyword parameters of ``function``, in order."""
    import inspect

    return tuple(
        name
        for name, parameter in inspect.signature(function).parameters.items()
        if parameter.kind in (parameter.KEYWORD_ONLY, parameter.POSITIONAL_OR_KEYWORD)
        and name not in ("self", *leave_out)
    )


def names(marker: str, option: str, kwargs: dict[str, Any]) -> list[str]:
    """A marker option naming things: one str, or a list of str."""
    value = kwargs.get(option, ())
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise TypeError(
            f"@pytest.mark.{marker}: {option} must be a name or a list of names (str), "
            f"got {type(value).__name__} {value!r}"
        )
    return list(value)
