"""The fake's public calls check the names and number of their arguments before they run, so a
mistake reads like the rest of ``qwenobs.checks``: it names the call the user wrote
(``FakeDashScope()``, ``fake.reply()``), the argument, what was given and what is accepted, not
Python's ``Engine.__init__() got an unexpected keyword argument``.

``@arguments(where)`` keeps the function's signature (``inspect.signature`` follows
``__wrapped__``), so tools that list its keywords, such as the pytest plugin, still can.
"""

from __future__ import annotations

import difflib
import functools
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from ..checks import given

F = TypeVar("F", bound=Callable[..., Any])
Where = str | Callable[[Any], str]  # the call's name, or a function of ``self`` giving it


def arguments(where: Where, hints: Mapping[str, str] | None = None) -> Callable[[F], F]:
    """Check a method's arguments against its signature before it runs. ``hints``: a word for
    names people pass here that belong elsewhere (``hosts``: ``fake.intercept(hosts=...)``)."""

    def decorate(method: F) -> F:
        shape = Shape.of(method, dict(hints or {}))

        @functools.wraps(method)
        def checked(self: Any, *args: Any, **kwargs: Any) -> Any:
            if not shape.fits(args, kwargs):
                name = where if isinstance(where, str) else where(self)
                raise TypeError(shape.complaint(name, args, kwargs))
            return method(self, *args, **kwargs)

        return checked  # type: ignore[return-value]

    return decorate


@dataclass(frozen=True)
class Shape:
    """What a call accepts: names by position, names by keyword only, the required ones."""

    positional: tuple[str, ...]
    names: frozenset[str]
    ordered: tuple[str, ...]  # every name, in the signature's order
    required: tuple[str, ...]
    hints: dict[str, str]

    @classmethod
    def of(cls, method: Callable[..., Any], hints: dict[str, str]) -> Shape:
        parameters = list(inspect.signature(method).parameters.values())[1:]  # without self
        kinds = {p.kind for p in parameters}
        if inspect.Parameter.VAR_POSITIONAL in kinds or inspect.Parameter.VAR_KEYWORD in kinds:
            raise TypeError(f"{method.__qualname__}: *args and **kwargs are not checked by name")
        ordered = tuple(p.name for p in parameters)
        return cls(
            positional=tuple(
                p.name for p in parameters if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
            ),
            names=frozenset(ordered),
            ordered=ordered,
            required=tuple(p.name for p in parameters if p.default is inspect.Parameter.empty),
            hints=hints,
        )

    def fits(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
        """The fast path: every call that Python would bind without an error."""
        if len(args) > len(self.positional) or not self.names.issuperset(kwargs):
            return False
        taken = self.positional[: len(args)]
        return not any(name in kwargs for name in taken) and all(
            name in kwargs or name in taken for name in self.required
        )

    def complaint(self, where: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
        """One sentence for the first thing wrong with a call that does not fit."""
        accepted = f"accepted: {', '.join(self.ordered)}"
        unknown = [name for name in kwargs if name not in self.names]
        if unknown:
            listed = ", ".join(repr(name) for name in unknown)
            noun = "argument" if len(unknown) == 1 else "arguments"
            return f"{where}: unknown {noun} {listed}; {accepted}{self._hint(unknown)}"
        if len(args) > len(self.positional):
            extra = args[len(self.positional) :]
            shown = ", ".join(given(value) for value in extra)
            if not self.positional:
                return (
                    f"{where}: takes keyword arguments only, got {len(extra)} positional "
                    f"({shown}); {accepted}"
                )
            count = len(self.positional)
            return (
                f"{where}: takes {count} positional argument{'s' if count > 1 else ''} "
                f"({', '.join(self.positional)}), got {len(args)}; name the rest ({shown}); "
                f"{accepted}"
            )
        taken = self.positional[: len(args)]
        twice = [name for name in taken if name in kwargs]
        if twice:
            return f"{where}: {twice[0]} given twice, by position and by name"
        missing = [name for name in self.required if name not in kwargs and name not in taken]
        return f"{where}: missing argument {missing[0]!r}; {accepted}"

    def _hint(self, unknown: list[str]) -> str:
        for name in unknown:
            if name in self.hints:
                return f" ({self.hints[name]})"
        for name in unknown:
            close = difflib.get_close_matches(name, self.ordered, n=1, cutoff=0.75)
            if close:
                return f" (did you mean {close[0]}?)"
        return ""
