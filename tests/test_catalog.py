"""The model table drives the rules, the fake and the token counts alike: thinking defaults, input
limits, input kinds, vocabularies; users correct and extend it from code or one file."""

from __future__ import annotations

import json
import logging

import openai
import pytest

import qwenobs
from qwenobs import DEFAULT_CATALOG, ModelInfo, count_tokens, validate
from qwenobs.catalog import active_catalog
from qwenobs.cli import main
from qwenobs.fake import FakeDashScope

USER = {"role": "user", "content": "Summarise the plot of Journey to the West in one line."}


def rules(request: dict) -> list[str]:
    return [f.rule for f in validate({"max_tokens": 64, **request})]


# -- thinking modes: validate and the fake agree, stream or not, the switch on, off or absent ----

# model -> thinks when enable_thinking is absent
MODES = {"qwen3.5-plus": True, "qwen-plus": False, "qwq-plus": True, "qwen-max": False}
FLAGS = {"absent": {}, "on": {"enable_thinking": True}, "off": {"enable_thinking": False}}


def thinks(model: str, flag: str) -> bool:
    if model == "qwq-plus":  # always thinks
        return True
    if model == "qwen-max":  # never: the switch is ignored
        return False
    return {"absent": MODES[model], "on": True, "off": False}[flag]


@pytest.mark.parametrize("stream", [False, True], ids=["non-stream", "stream"])
@pytest.mark.parametrize("flag", list(FLAGS))
@pytest.mark.parametrize("model", list(MODES))
def test_thinking_needs_a_stream_exactly_when_the_model_thinks(model, flag, stream):
    rejected = thinks(model, flag) and not stream
    request = {"model": model, "messages": [USER], "stream": stream, **FLAGS[flag]}
    assert ("thinking-requires-stream" in rules(request)) is rejected

    fake = FakeDashScope()
    fake.reply("A monk, a monkey and a journey west.", repeat=True)
    client = fake.client()
    kwargs = {"model": model, "messages": [USER], "max_tokens": 64, "stream": stream}
    if FLAGS[flag]:
        kwargs["extra_body"] = FLAGS[flag]
    if rejected:
        with pytest.raises(openai.BadRequestError) as caught:
            client.chat.completions.create(**kwargs)
        assert "enable_thinking must be set to false for non-streaming calls" in str(caught.value)
    else:
        result = client.chat.completions.create(**kwargs)
        if stream:
            list(result)
    assert fake.calls.last.status == (400 if rejected else 200)


def test_a_model_that_thinks_by_default_says_how_to_fix_it_either_way():
    (found,) = [
        f
        for f in validate({"model": "qwen3.5-plus", "messages": [USER], "max_tokens": 64})
        if f.rule == "thinking-requires-stream"
    ]
    assert "thinks unless told not to" in found.message
    assert "stream=True" in found.message and '"enable_thinking": False' in found.message


def test_snapshots_and_aliases_resolve_to_their_family_with_exceptions():
    assert DEFAULT_CATALOG.lookup("qwen3.5-plus-2026-02-15").name == "qwen3.5-plus"
    assert DEFAULT_CATALOG.lookup("qwen-plus-latest").name == "qwen-plus"
    assert DEFAULT_CATALOG.lookup("qwen-flash-us").name == "qwen-flash"
    assert DEFAULT_CATALOG.lookup("qwen-plus-2025-07-14").context_window == 131_072  # differs
    assert DEFAULT_CATALOG.lookup("qwen3-max-2025-09-23").thinking == "never"
    assert DEFAULT_CATALOG.lookup("qwen3-vl-plus").thinking == "off"
    assert DEFAULT_CATALOG.lookup("no-such-model") is None


# -- one context limit everywhere --------------------------------------------------------------


def test_the_input_limit_is_one_figure_for_the_rule_the_fake_and_its_error_text():
    limit = DEFAULT_CATALOG.lookup("qwen-max").input_limit()  # 30,720
    overhead = 3 + 5  # the reply primer and one message's framing
    words = limit - overhead - 1  # "word " * n is n tokens and the trailing space
    fits = {"role": "user", "content": "word " * words}
    over = {"role": "user", "content": "word " * (words + 50)}
    assert count_tokens(fits["content"]) + overhead == limit

    request = {"model": "qwen-max", "max_tokens": 8_000}
    assert "context-overflow" not in rules({**request, "messages": [fits]})
    assert "context-overflow" in rules({**request, "messages": [over]})

    fake = FakeDashScope()
    fake.reply("ok", repeat=True)
    client = fake.client()
    answer = client.chat.completions.create(**request, messages=[fits])
    assert answer.usage.prompt_tokens == limit  # accepted at the limit, counted the same way
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(**request, messages=[over])
    assert f"Range of input length should be [1, {limit}]" in str(caught.value)


def test_thinking_lowers_the_input_limit_of_a_hybrid_model_in_the_rule_and_the_text():
    info = DEFAULT_CATALOG.lookup("qwen-plus-2025-04-28")
    assert (info.input_limit(False), info.input_limit(True)) == (129_024, 98_304)
    prompt = {"role": "user", "content": "word " * 100_000}
    base = {"model": "qwen-plus-2025-04-28", "messages": [prompt], "stream": True}
    assert "context-overflow" not in rules(base)
    found = validate({**base, "max_tokens": 64, "enable_thinking": True})
    (overflow,) = [f for f in found if f.rule == "context-overflow"]
    assert "98,304" in overflow.message and "with thinking on" in overflow.message


def test_max_tokens_is_checked_against_the_output_cap_of_the_mode():
    # qwen3-max answers up to 65,536 tokens, or 32,768 while thinking.
    base = {"model": "qwen3-max", "messages": [USER], "stream": True, "max_tokens": 40_000}
    assert "parameter-range" not in rules(base)
    assert "parameter-range" in rules({**base, "enable_thinking": True})


# -- input kinds ------------------------------------------------------------------------------

IMAGE = {"type": "image_url", "image_url": {"url": "https://example.test/west-lake.jpg"}}
LOOK = {"role": "user", "content": [IMAGE, {"type": "text", "text": "Where is this?"}]}


def test_image_parts_to_a_text_only_model_are_an_error_the_fake_answers_like_dashscope():
    (found,) = [f for f in validate({"model": "qwen-plus", "messages": [LOOK]}) if f.is_error]
    assert found.rule == "unsupported-modality" and found.index == 0
    assert "qwen-plus takes text only" in found.message
    assert "unsupported-modality" not in rules({"model": "qwen3-vl-plus", "messages": [LOOK]})

    fake = FakeDashScope()
    fake.reply("West Lake, Hangzhou.", repeat=True)
    client = fake.client()
    with pytest.raises(openai.BadRequestError, match="Unexpected item type in content"):
        client.chat.completions.create(model="qwen-plus", messages=[LOOK], max_tokens=64)
    answer = client.chat.completions.create(model="qwen3-vl-plus", messages=[LOOK], max_tokens=64)
    assert answer.choices[0].message.content == "West Lake, Hangzhou."


def test_image_parts_count_toward_the_prompt_as_their_minimum():
    text_only = {"role": "user", "content": [{"type": "text", "text": "Where is this?"}]}
    assert qwenobs.estimate_prompt_tokens([LOOK]) == qwenobs.estimate_prompt_tokens([text_only]) + 4


# -- vocabularies -----------------------------------------------------------------------------


def test_the_fake_counts_usage_with_the_models_own_vocabulary():
    text = "阿里云百炼支持 Qwen3.5 与 Qwen3.6：思考模式默认开启。" * 20
    fake = FakeDashScope()
    fake.reply("好。", repeat=True)
    client = fake.client()
    usage = {}
    for model in ("qwen-plus", "qwen3.5-plus"):
        answer = client.chat.completions.create(
            model=model,
            messages=[{"role": "user", "content": text}],
            max_tokens=64,
            extra_body={"enable_thinking": False},
        )
        usage[model] = answer.usage.prompt_tokens
        expected = qwenobs.estimate_prompt_tokens([{"role": "user", "content": text}], model=model)
        assert usage[model] == expected
    assert usage["qwen-plus"] != usage["qwen3.5-plus"]


# -- the user's corrections -------------------------------------------------------------------

MY_MODEL_TOML = """
[models."acme-qwen-ft"]
based_on = "qwen-plus"
context_window = 131072
max_input = 120000
source = "our fine-tune, deployed 2026-11"

[models."qwen-max"]
max_input = 20000
"""


def test_a_user_file_adds_a_model_and_corrects_another(tmp_path, monkeypatch):
    path = tmp_path / "models.toml"
    path.write_text(MY_MODEL_TOML)
    monkeypatch.setenv("QWENOBS_CATALOG", str(path))
    catalog = active_catalog()
    mine = catalog.lookup("acme-qwen-ft")
    assert (mine.context_window, mine.input_limit(), mine.max_output) == (131_072, 120_000, 32_768)
    # Its own window: the base's longer thinking limits do not carry over.
    assert mine.input_limit(thinking=True) == 120_000
    assert mine.output_limit(thinking=True) <= 131_072
    assert mine.source == "our fine-tune, deployed 2026-11"
    assert catalog.lookup("qwen-max").input_limit() == 20_000
    assert catalog.lookup("qwen-max").max_output == 8_192  # the rest of the entry kept
    # validate, the fake and the tokens all read the active table.
    big = {"role": "user", "content": "word " * 25_000}
    assert "context-overflow" in rules({"model": "qwen-max", "messages": [big]})
    huge = {"role": "user", "content": "word " * 130_000}
    for thinking in (False, True):
        request = {"model": "acme-qwen-ft", "messages": [huge], "stream": True}
        assert "context-overflow" in rules({**request, "enable_thinking": thinking})
    assert DEFAULT_CATALOG.lookup("qwen-max").input_limit() == 30_720  # the built-in is unchanged
    assert repr(catalog).startswith("<Catalog of ") and len(repr(catalog)) < 80


def test_a_json_file_works_too_and_code_can_extend_the_table(tmp_path):
    path = tmp_path / "models.json"
    path.write_text(
        json.dumps(
            {
                "models": {
                    "acme-vl": {
                        "context_window": 32768,
                        "max_output": 2048,
                        "modalities": ["text", "image"],
                        "vocabulary": "qwen3.5",
                    }
                }
            }
        )
    )
    catalog = DEFAULT_CATALOG.with_file(path)
    assert catalog.lookup("acme-vl").modalities == {"text", "image"}
    assert catalog.vocabulary("acme-vl") == "qwen3.5"
    mine = DEFAULT_CATALOG.extend(ModelInfo("tiny-qwen", 2_000, 100, max_input=1_000))
    request = {"model": "tiny-qwen", "messages": [{"role": "user", "content": "word " * 995}]}
    assert "context-overflow" in [f.rule for f in validate(request, catalog=mine)]


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (
            '[models.x]\ncontext_window = "big"\nmax_output = 10',
            "context_window must be a positive",
        ),
        ("[models.x]\nmax_output = 10", "context_window is required"),
        ('[models.x]\nbased_on = "qwen-plusplus"', "based_on='qwen-plusplus' is not a listed"),
        ('[models.x]\nbased_on = "qwen-plus"\nthinking = "maybe"', "thinking must be one of"),
        ('[models.x]\nbased_on = "qwen-plus"\ncontxt = 5', "unknown field(s) ['contxt']"),
        ("models = 3", "expected a 'models' table"),
        ("[models.x\n", "not valid TOML"),
    ],
)
def test_a_bad_file_says_which_model_and_field(tmp_path, monkeypatch, caplog, content, says):
    path = tmp_path / "models.toml"
    path.write_text(content)
    with pytest.raises(ValueError, match=None) as caught:
        DEFAULT_CATALOG.with_file(path)
    assert says in str(caught.value) and str(path) in str(caught.value)
    # From the environment it never stops the application: one warning, the built-in table.
    monkeypatch.setenv("QWENOBS_CATALOG", str(path))
    with caplog.at_level(logging.WARNING, logger="qwenobs"):
        assert active_catalog().models == DEFAULT_CATALOG.models
        assert active_catalog().models == DEFAULT_CATALOG.models
    assert len([r for r in caplog.records if "QWENOBS_CATALOG ignored" in r.getMessage()]) == 1


# -- qwenobs catalog --------------------------------------------------------------------------


def test_qwenobs_catalog_prints_the_table_with_sources_and_age(capsys):
    assert main(["catalog"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"Model table checked {DEFAULT_CATALOG.checked}")
    line = next(row for row in out.splitlines() if row.startswith("qwen3.5-plus "))
    for expected in ("1,000,000", "991,808 (983,616)", "on", "qwen3.5*", "image+text+video"):
        assert expected in line
    assert "https://www.alibabacloud.com/help/en/model-studio/models" in line


def test_qwenobs_catalog_one_model_as_json_and_an_unknown_one(capsys):
    assert main(["catalog", "qwen3-vl-flash-2026-01-22", "--json"]) == 0
    (model,) = json.loads(capsys.readouterr().out)["models"]
    assert (model["name"], model["thinking"], model["max_input_thinking"]) == (
        "qwen3-vl-flash",
        "off",
        258_048,
    )
    assert main(["catalog", "qwen-plusplus"]) == 1
    assert "closest: qwen-plus" in capsys.readouterr().err


def test_a_stale_table_says_so(capsys):
    from datetime import date, timedelta

    from qwenobs.catalog.listing import header

    later = date.fromisoformat(DEFAULT_CATALOG.checked) + timedelta(days=200)
    assert "older than 90 days" in header(DEFAULT_CATALOG, later)
    assert "older than" not in header(DEFAULT_CATALOG, date.fromisoformat(DEFAULT_CATALOG.checked))


def test_qwenobs_catalog_shows_the_prices_with_their_source_and_date(capsys):
    # A user checks a span's cost by hand from this: every band, per region, and where from.
    assert main(["catalog", "qwen-plus", "qwen-max"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    cn = next(row for row in lines if row.startswith("qwen-plus ") and " cn " in row)
    for expected in (
        "CNY",
        "2026-08",
        "pricing-zh",
        "0-128K 0.8/0.16/2 (8)",
        "256K-1M 4.8/0.96/48 (64)",
    ):
        assert expected in cn, cn
    intl = next(row for row in lines if row.startswith("qwen-plus ") and " intl " in row)
    for expected in ("USD", "2026-03", "models-en", "0-256K 0.4/0.08/1.2 (4)"):
        assert expected in intl, intl
    flat = next(row for row in lines if row.startswith("qwen-max ") and " cn " in row)
    assert "flat 2.4/0.48/9.6" in flat and "(" not in flat.split("flat")[1]
    assert "https://help.aliyun.com/zh/model-studio/model-pricing" in out
    assert "explicit cache" in out.lower() and "125%" in out and "10%" in out


def test_qwenobs_catalog_json_carries_the_prices(capsys):
    assert main(["catalog", "qwen-plus", "qwen3-omni-flash", "--json"]) == 0
    plus, omni = json.loads(capsys.readouterr().out)["models"]
    cn = plus["prices"]["cn"]
    assert (cn["currency"], cn["as_of"], cn["per_tokens"]) == ("CNY", "2026-08", 1_000_000)
    assert cn["source"] == "https://help.aliyun.com/zh/model-studio/model-pricing"
    assert cn["bands"][0] == {
        "tier": "0-128K", "up_to": 128_000, "input": 0.8, "cached_input": 0.16,
        "output": 2, "output_thinking": 8,
    }  # fmt: skip
    assert cn["bands"][-1]["tier"] == "256K-1M" and cn["bands"][-1]["up_to"] == 1_000_000
    assert plus["prices"]["intl"]["currency"] == "USD"
    assert omni["prices"] == {}  # billed per modality: no price, never a made-up one


def test_a_user_files_open_top_band_is_labelled_and_an_unpriced_model_said(
    tmp_path, monkeypatch, capsys
):
    path = tmp_path / "models.toml"
    path.write_text(
        '[models."acme-qwen-ft"]\nbased_on = "qwen-plus"\n'
        '[models."acme-qwen-ft".prices.cn]\n'
        "bands = [{up_to = 128000, input = 1.2, output = 3.0}, {input = 3.6, output = 30.0}]\n"
        'source = "our contract"\nas_of = "2026-11"\n'
    )
    monkeypatch.setenv("QWENOBS_CATALOG", str(path))
    assert main(["catalog", "acme-qwen-ft", "qwen3-omni-flash"]) == 0
    out = capsys.readouterr().out
    row = next(r for r in out.splitlines() if r.startswith("acme-qwen-ft ") and " cn " in r)
    assert "our contract" in row and "0-128K 1.2/0.24/3; 128K-up 3.6/0.72/30" in row, row
    assert "No published price (cost unknown, never 0): qwen3-omni-flash." in out
