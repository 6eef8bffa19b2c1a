"""Argument checks for the public API, so a mistake fails at the call that made it.

Each check raises ``TypeError`` (wrong type) or ``ValueError`` (right type, wrong value) with one
message naming the call and the argument, what was given and what is accepted:
``fake.reply(): content must be a str or None, got int 123``. Pure: no imports beyond the standard
library, so every layer uses the same wording.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_SHOWN = 60  # characters of a given value shown in a message


def given(value: Any) -> str:
    """How a message shows what was passed: its type and (the start of) its repr."""
    text = repr(value)
    text = text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."
    return f"{type(value).__name__} {text}"


def wrong_type(where: str, name: str, value: Any, accepted: str) -> TypeError:
    return TypeError(f"{where}: {name} must be {accepted}, got {given(value)}")


def wrong_value(where: str, name: str, value: Any, accepted: str) -> ValueError:
    return ValueError(f"{where}: {name} must be {accepted}, got {value!r}")


def text(where: str, name: str, value: Any, *, optional: bool = True, empty: bool = True) -> None:
    """A str (None too when ``optional``; the empty string only when ``empty``) that can travel
    as UTF-8 (no lone surrogates)."""
    if value is None and optional:
        return
    if not isinstance(value, str):
        raise wrong_type(where, name, value, "a str or None" if optional else "a str")
    if not empty and not value:
        raise wrong_value(where, name, value, "a non-empty str")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValueError(
                f"{where}: {name} must be text that UTF-8 can encode; it has {exc.reason} at "
                f"index {exc.start} ({value[exc.start]!r})"
            ) from None


def flag(where: str, name: str, value: Any, *, optional: bool = False) -> None:
    """True or False (None too when ``optional``)."""
    if value is None and optional:
        return
    if not isinstance(value, bool):
        raise wrong_type(where, name, value, "True or False" + (" or None" if optional else ""))


def integer(
    where: str,
    name: str,
    value: Any,
    *,
    minimum: int,
    maximum: int | None = None,
    optional: bool = True,
) -> None:
    """An int (not a bool) in ``[minimum, maximum]`` (None too when ``optional``)."""
    if value is None and optional:
        return
    accepted = f"an int from {minimum}" + (f" to {maximum}" if maximum is not None else " up")
    if not isinstance(value, int) or isinstance(value, bool):
        raise wrong_type(where, name, value, accepted + (" or None" if optional else ""))
    if value < minimum or (maximum is not None and value > maximum):
        raise wrong_value(where, name, value, accepted)


def seconds(where: str, name: str, value: Any, *, optional: bool = True) -> None:
    """A number of seconds from 0 to an hour (None too when ``optional``): a fake's delay longer
    than that is a slip of the unit, not a test."""
    if value is None and optional:
        return
    accepted = f"a number of seconds from 0 to {MAX_SECONDS:g}" + (", or None" if optional else "")
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise wrong_type(where, name, value, accepted)
    if not 0 <= value <= MAX_SECONDS:  # NaN fails this too
        raise wrong_value(where, name, value, f"a number of seconds from 0 to {MAX_SECONDS:g}")


MAX_SECONDS = 3600.0


def mapping(where: str, name: str, value: Any, *, optional: bool = True) -> None:
    """A mapping (a dict), None too when ``optional``."""
    if value is None and optional:
        return
    if not isinstance(value, Mapping):
        raise wrong_type(where, name, value, "a mapping" + (" or None" if optional else ""))


def function(
    where: str, name: str, value: Any, *, optional: bool = True, what: str = "a function"
) -> None:
    """A callable, None too when ``optional``; ``what`` says which function is expected."""
    if value is None and optional:
        return
    if not callable(value):
        raise wrong_type(where, name, value, what + (" or None" if optional else ""))


def keys(where: str, name: str, value: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    """No keys in ``value`` beyond ``allowed``."""
    unknown = [key for key in value if key not in allowed]
    if unknown:
        raise ValueError(
            f"{where}: {name} has unknown key(s) {', '.join(repr(k) for k in unknown)}; "
            f"accepted: {', '.join(allowed)}"
        )
