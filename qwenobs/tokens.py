"""Qwen token counting with the real Qwen BPE, offline.

The vocabulary ships inside the ``dashscope`` package (``resources/qwen.tiktoken``); tiktoken loads it
from disk. We locate it with ``find_spec`` so the heavy ``dashscope`` package is never imported.
A response's ``usage`` is authoritative; these counts are estimates for planning and checks.
"""

from __future__ import annotations

import functools
import importlib.util
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .checks import wrong_type
from .errors import TokenizerUnavailable
from .fields import field, jsonable, message_text

__all__ = ["count_tokens", "decode", "encode", "estimate_prompt_tokens"]

# Qwen's pre-tokenizer split (the same expression the Qwen models and dashscope use).
_SPLIT = (
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"""
    r"""| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
)
IM_START, IM_END = 151644, 151645  # the ChatML markers around every message
_SPECIAL = {"<|endoftext|>": 151643, "<|im_start|>": IM_START, "<|im_end|>": IM_END}

# tiktoken's Rust BPE can overflow its stack on one enormous piece; encode long text in slices.
_SLICE = 100_000

# Qwen's chat template, in tokens: the rules' context check and the fake's usage agree on these.
PER_MESSAGE = 5  # ChatML framing per message: <|im_start|>{role}\n ... <|im_end|>\n
REPLY_PRIMER = 3  # <|im_start|>assistant\n
TOOLS_PREAMBLE = 120  # the fixed instruction block that wraps tool definitions in the system turn
PER_TOOL_CALL = 6  # <tool_call>\n ... \n</tool_call>


def _vocab_path() -> Path:
    spec = importlib.util.find_spec("dashscope")
    if spec is None or not spec.submodule_search_locations:
        raise TokenizerUnavailable(
            "tokens", "Qwen token counting needs the Qwen vocabulary from the dashscope package"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "resources" / "qwen.tiktoken"
    if not path.is_file():
        raise TokenizerUnavailable(
            "tokens", f"the dashscope package has no Qwen vocabulary at {path}"
        )
    return path


@functools.lru_cache(maxsize=1)
def _encoding() -> Any:
    try:
        import tiktoken
        from tiktoken.load import load_tiktoken_bpe
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise TokenizerUnavailable("tokens", "Qwen token counting needs tiktoken") from exc
    ranks = load_tiktoken_bpe(str(_vocab_path()))
    return tiktoken.Encoding(
        name="qwen", pat_str=_SPLIT, mergeable_ranks=ranks, special_tokens=_SPECIAL
    )


def count_tokens(text: str) -> int:
    """Number of Qwen tokens in ``text`` (special-token look-alikes count as plain text)."""
    if not isinstance(text, str):
        raise wrong_type("qwenobs.count_tokens()", "text", text, "a str")
    if not text:
        return 0
    encode = _encoding().encode_ordinary
    if len(text) <= _SLICE:
        return len(encode(text))
    return sum(len(encode(piece)) for piece in _slices(text))


def encode(text: str) -> list[int]:
    """Qwen token ids of ``text`` (special-token look-alikes as plain text)."""
    if not text:
        return []
    encode_ordinary = _encoding().encode_ordinary
    if len(text) <= _SLICE:
        return encode_ordinary(text)
    return [token for piece in _slices(text) for token in encode_ordinary(piece)]


def decode(ids: list[int]) -> str:
    """The text of Qwen token ids."""
    return _encoding().decode(ids)


def _slices(text: str) -> Iterable[str]:
    # Cut at whitespace when one is near, so a cut rarely splits a word.
    start = 0
    while start < len(text):
        end = min(start + _SLICE, len(text))
        if end < len(text):
            space = text.rfind(" ", end - 1000, end)
            if space > start:
                end = space
        yield text[start:end]
        start = end


def estimate_prompt_tokens(messages: Iterable[Any], tools: Iterable[Any] | None = None) -> int:
    """Estimated prompt tokens of a chat request, with Qwen's chat-template overhead.

    Messages may be dicts or SDK message objects. Images and audio parts are not counted.
    """
    where = "qwenobs.estimate_prompt_tokens()"
    if not _a_list(messages):
        raise wrong_type(where, "messages", messages, "a list of messages")
    if tools is not None and not _a_list(tools):
        raise wrong_type(where, "tools", tools, "a list of tool definitions or None")
    total = REPLY_PRIMER
    for message in messages:
        total += PER_MESSAGE + count_tokens(message_text(field(message, "content")))
        for call in field(message, "tool_calls") or ():
            function = field(call, "function")
            total += PER_TOOL_CALL + count_tokens(
                f'{{"name": "{field(function, "name")}", "arguments": {field(function, "arguments")}}}'
            )
    tools = list(tools or ())
    if tools:
        total += TOOLS_PREAMBLE + count_tokens(
            "\n".join(json.dumps(t, ensure_ascii=False, default=jsonable) for t in tools)
        )
    return total


def _a_list(value: Any) -> bool:
    """A list, tuple or other iterable of items; not one string or one mapping."""
    return isinstance(value, Iterable) and not isinstance(value, str | bytes | Mapping)
