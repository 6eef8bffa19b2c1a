"""dynamic-system-prompt on realistic system prompts: what changes per request, and what does not.

STABLE holds prompts a production app sends unchanged on every call, chosen to be hard: schedules,
format examples, policy dates, a knowledge cutoff, versions, hotlines, SQL column names, numbered
steps. DYNAMIC holds prompts with a value that changes per request or per user. The rule must flag
every DYNAMIC prompt and, of the STABLE ones, only the two known false positives.
"""

from __future__ import annotations

import pytest

from qwenobs import validate

STABLE = [
    "You are a helpful assistant. Answer concisely and cite sources when you can.",
    "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.",
    "You are the support assistant for Acme Cloud. Our support hours are Monday to Friday, "
    "9:00-18:00 (UTC+08:00). Outside those hours, ask users to open a ticket.",
    'Extract the fields as JSON: {"name": str, "date": "YYYY-MM-DD"}. Dates must be ISO 8601, '
    "e.g. 2024-03-15. Use null for a missing field.",
    "You are a senior Python reviewer. Target Python 3.11 and PEP 8, lines under 100 "
    "characters. Point out bugs first, then style.",
    "Classify the user's message as one of: billing, shipping, returns, other. "
    "Reply with the label only.",
    "Answer using only the documents below. If the answer is not in them, say you don't know. "
    "Keep answers under 200 words.",
    "Refunds are accepted within 30 days of delivery. Orders over $50 ship free. "
    "Prices effective from 2024-01-01.",
    "You are Qwen, created by Alibaba Cloud. Knowledge cutoff: 2024-06-01.",
    "You can call tools. Call get_weather at most 3 times per question, then answer. "
    "Never invent tool results.",
    "Explain step by step. Step 1: restate the problem. Step 2: solve it. Step 3: check the "
    "answer. Round numbers to 2 decimal places.",
    "You plan trips in China. The train from Shanghai to Hangzhou takes about 1 hour. "
    "Mention that most museums close on Mondays.",
    "In an emergency tell users to call 110. The customer service hotline is 400-820-8820, "
    "open daily 08:00 to 22:00.",
    "Order numbers look like ORD-123456; ask the user for theirs before looking anything up.",
    "You book meeting rooms from 8:30 to 20:00 on weekdays, in 30-minute slots. Confirm the "
    "date and time with the user before booking.",
    "You answer questions about our REST API. API version: 2024-10-21. Link to the reference "
    "for every endpoint you mention.",
    "You are a shopping assistant for the Singles' Day sale (November 11). Mention the "
    "free-shipping threshold of 99 yuan.",
    "Greet users warmly on holidays such as Christmas (December 25) and the Spring Festival.",
    "You write SQL for PostgreSQL 16. Tables: users(id, name, created_at), "
    "orders(id, user_id, total). Never write DELETE statements.",
    "You are Xiaoyun, a 25-year-old tour guide from Hangzhou. Speak casually and keep it short.",
    "Today you are a French tutor: correct the user's French and explain each correction.",
    "你是一个乐于助人的助手。请用简洁的中文回答用户的问题。",
    "你是某电商平台的客服。工作时间为周一至周五 9:00-18:00，非工作时间请引导用户留言。"
    "7天无理由退货，满99元包邮。",
    '请从用户输入中抽取字段，以 JSON 返回：{"姓名": 字符串, "日期": "YYYY-MM-DD"}。'
    "日期格式例如 2024-03-15，缺失的字段填 null。",
    "你是资深的 Python 代码审查员。先指出 bug，再给出风格建议，每条建议不超过 50 字。",
    "你是旅行规划助手。博物馆每周一闭馆；高铁从上海到杭州约 1 小时。回答时请给出大致预算。",
    "客服热线：400-820-8820（每天 8:00 至 22:00）。紧急情况请拨打 110。",
    "将用户消息分类为：账单、物流、退货、其他。只输出类别名称。",
    "你是通义千问，由阿里云开发。知识截止日期：2024年6月1日。",
    "回答要分步骤：第1步复述问题，第2步求解，第3步检验。金额保留两位小数。",
    "订单号格式为 ORD-123456，查询前请先向用户确认订单号。",
    "会员享受95折优惠，每月1日发放优惠券。",
    "你是一名数学老师。每道题最多提示3次，之后给出完整答案。",
    "双11（11月11日）期间满300减50，请提醒用户领取优惠券。",
    # Written after the rule, to try it on prompts it was not tuned to.
    "You are an airline assistant. Check-in closes 45 minutes before departure and boarding "
    "starts 30 minutes before. Baggage allowance: 23 kg.",
    "You are a bank's FAQ bot. Branches open 9am-5pm Monday through Saturday. Never ask for a "
    "full card number or a PIN.",
    "If symptoms started within the last 24 hours and include chest pain, tell the user to call "
    "120 immediately.",
    'Use this schema: {"order_id": string, "items": [{"sku": string, "qty": int}]}. '
    "Only output JSON.",
    "You answer questions about the 2025 Shanghai Marathon on April 20: the route, bag drop and "
    "start times (7:00 for the full marathon).",
    "Session rules: each session lasts 50 minutes; a user may book up to 4 sessions a month.",
    "Answer as of the Q3 2024 earnings report. You help users fill in form W-2 for tax year 2024.",
    "你是一名健身教练。每周训练3次，每次不超过60分钟。第1周以适应为主。",
    "你是法律咨询助手，依据《民法典》（2020年5月28日通过）回答问题。",
    "我们的门店营业时间是每天10:00-22:00，周二店休。",
    "回复时使用“您”称呼用户，第1次回复需要自我介绍。",
]
# The stable prompts the rule flags, with why: it cannot tell them from per-request values.
KNOWN_FALSE_POSITIVES = {
    "你是法律咨询助手，依据《民法典》（2020年5月28日通过）回答问题。",  # a dated fixed event
    "回复时使用“您”称呼用户，第1次回复需要自我介绍。",  # "the 1st reply" reads as a counter
}

DYNAMIC = [
    "Today is Monday, June 1 2025. You are a helpful assistant.",
    "You are a helpful assistant. Today's date is June 1, 2025.",
    "Current date: 1 June 2025. Answer questions about upcoming events.",
    "Today: Jun 1st. Suggest what to wear.",
    "Today is a Sunday. The store closes early.",
    "It is Friday. Remind the user about the weekend opening hours.",
    "You are assisting user id 48213. Be polite.",
    "Customer #48213 (Gold member). Offer the loyalty discount.",
    "user_id=u_48213; plan=pro. Answer support questions.",
    "session 3f2b8c1e-9d4a-4b7e-8f00-1234567890ab. You are a helpful assistant.",
    "Current time: 14:32. Greet the user for the time of day.",
    "Request received at 2025-06-01T14:32:07Z.",
    "Last login 09:15:30. Welcome the user back.",
    "Generated at 1748764800. You are a helpful assistant.",
    "Date: 06/01/2025. Summarise the day's news.",
    "This is turn 7 of the conversation. Keep answers short.",
    "今天是6月1日，你是一个乐于助人的助手。",
    "今天是六月一日，请推荐适合的活动。",
    "现在是2025年6月1日 14:32，请根据时间问候用户。",
    "今天是星期一。请提醒用户本周的待办事项。",
    "今天周五，提醒用户周末营业时间。",
    "当前时间：14:32。",
    "用户ID：48213。请礼貌地回答。",
    "你正在为会员 48213 服务。",
    "订单号：ORD-20250601-0042，用户询问物流状态。",
    "当前会话为第3轮，请简短回答。",
    # Written after the rule, to try it on prompts it was not tuned to.
    "The user's name is Zhang Wei and their account number is 6222-0012-3456.",
    "Right now it is 3:45 PM in Shanghai.",
    "The date today is 2025/06/01.",
    "Conversation #1043. Be concise.",
    "今天是2025年6月1日星期日，天气晴。",
    "User: Li Na (VIP since 2019-03-02).",
    "现在时间 14:32:07",
    "It's Sat, 1 Jun 2025.",
    "Local time 2:15 pm.",
    "You are talking to customer 48213.",
    "This is the user's 5th visit.",
    "第5次咨询的用户，请优先处理。",
]


def flagged(prompt: str) -> bool:
    request = {
        "model": "qwen-plus",
        "max_tokens": 256,
        "messages": [{"role": "system", "content": prompt}, {"role": "user", "content": "Hi"}],
    }
    return any(f.rule == "dynamic-system-prompt" for f in validate(request))


def test_the_false_positives_are_the_known_ones():
    false_positives = {p for p in STABLE if flagged(p)}
    assert false_positives == KNOWN_FALSE_POSITIVES
    assert len(false_positives) == 2 and len(STABLE) == 45


def test_every_dynamic_prompt_is_flagged():
    missed = [p for p in DYNAMIC if not flagged(p)]
    assert missed == [], f"{len(missed)}/{len(DYNAMIC)} missed: {missed}"


@pytest.mark.parametrize(
    ("prompt", "kind"),
    [
        ("Today is Monday, June 1 2025.", "a weekday ('Today is Monday')"),
        ("Be brief. Today's date is June 1, 2025.", "a date ('June 1, 2025')"),
        ("今天是6月1日。", "a date ('6月1日')"),
        ("You serve user id 48213.", "an id ('user id 48213')"),
        ("当前会话为第3轮。", "a counter ('第3轮')"),
        ("当前时间：14:32。", "a time of day ('当前时间：14:32')"),
    ],
)
def test_the_finding_names_the_value(prompt, kind):
    request = {
        "model": "qwen-plus",
        "max_tokens": 9,
        "messages": [{"role": "system", "content": prompt}],
    }
    (found,) = [f for f in validate(request) if f.rule == "dynamic-system-prompt"]
    assert f"contains {kind}," in found.message


def test_an_id_past_the_minimum_cached_prefix_is_left_alone():
    """Past DashScope's 256-token minimum, the prefix before the id is shared and still caches."""
    persona = "You are the support assistant of a large online bookshop. Be friendly. " * 20
    assert not flagged(persona + "You are assisting user id 48213.")
    assert flagged("You are assisting user id 48213. " + persona)
    chinese = "你是一家大型网上书店的客服助手，请友好、耐心地回答。" * 12
    assert not flagged(chinese + "用户ID：48213。")
    assert flagged("用户ID：48213。" + chinese)


def test_a_date_is_flagged_anywhere_in_the_prompt():
    persona = "You are the support assistant of a large online bookshop. Be friendly. " * 20
    assert flagged(persona + "Today is June 1 2025.")


PLAIN_FILLER = "You are the support assistant of a large online bookshop. Be friendly. " * 30
DIGIT_FILLER = "Item 1234 costs 99.50 yuan, 532 in stock, ships in 3 days. " * 30


@pytest.mark.parametrize("filler", [PLAIN_FILLER, DIGIT_FILLER], ids=["plain", "digits"])
@pytest.mark.parametrize(
    "value",
    [
        "Today is Monday, June 1 2025.",
        "Today: Jun 1st.",
        "It is Friday.",
        "Current time: 14:32.",
        "Last login 09:15:30.",
        "session 3f2b8c1e-9d4a-4b7e-8f00-1234567890ab.",
        "abcdefab-cdef-4abc-8def-abcdefabcdef",
        "Generated at 1748764800.",
        "今天是六月一日。",
        "今天周五。",
    ],
)
def test_a_value_deep_in_a_long_prompt_is_found(filler, value):
    """The prompt is searched only near digits and weekday words: nothing may slip between."""
    assert flagged(filler + value + " " + filler)


@pytest.mark.parametrize("filler", [PLAIN_FILLER, DIGIT_FILLER], ids=["plain", "digits"])
def test_stable_prompts_stay_stable_deep_in_a_long_prompt(filler):
    false_positives = {p for p in STABLE if flagged(filler + p + " " + filler)}
    assert false_positives <= KNOWN_FALSE_POSITIVES
