"""Per-request values in a system prompt: the dates, times and ids that defeat the prefix cache.

DashScope caches exact prompt prefixes, so a value that changes per request (today's date, a user
id) in the system prompt makes every request a cache miss from that point on. What counts:

- dates with a year (ISO, 06/01/2025, "June 1 2025", "2025年6月1日"), anywhere;
- dates without a year ("June 1", "6月1日") and weekdays only after "today", "now", "今天" and the
  like: alone they are usually a fixed event ("Singles' Day, November 11") or a schedule
  ("Monday to Friday");
- times with seconds anywhere, times without seconds only after "now" or "current time";
- UUIDs and Unix timestamps, anywhere;
- ids ("user id 48213", "用户ID：48213") and counters ("turn 7", "第3轮") only in the first 256
  tokens, DashScope's minimum cached prefix: further in, the prefix before them still caches.

A value introduced as an example or a fixed date ("e.g.", "format", "cutoff", "version", "例如",
"截止") is left alone.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass

_MIN_CACHED_TOKENS = 256  # DashScope's implicit cache needs a shared prefix this long
_CUE_WINDOW = 40  # characters before a value searched for what introduces it


@dataclass(frozen=True, slots=True)
class _Marker:
    kind: str  # how the finding names it
    branches: tuple[tuple[str, str], ...]  # (the characters a match starts with, the pattern)
    cued: bool = False  # only after a "today"/"now" cue
    early: bool = False  # only inside the first 256 tokens


_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
    r"|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
)
_MONTH_INITIALS = "JFMASOND"
_WEEKDAY = r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
_DAY = r"(?:3[01]|[12]\d|0?[1-9])"
_DAY_TH = _DAY + r"(?:st|nd|rd|th)?"
_MON = r"(?:1[0-2]|0?[1-9])"
_YEAR = r"(?:19|20)\d\d"
_CN_NUMBERS = "一二三四五六七八九十"
_TIME = r"(?:2[0-3]|[01]?\d)[:：][0-5]\d(?:[:：][0-5]\d)?(?!\d)"
_NOT_A_RANGE = r"(?!\s*(?:-|–|—|~|～|to\b|until\b|至|到)\s*\d)"  # "9:00-18:00" is a schedule
_ID_VALUE = r"(?=[A-Za-z0-9_-]*\d)[A-Za-z0-9][A-Za-z0-9_-]{2,}"  # 3+ characters, a digit
_ID_OWNER = (
    r"(?i:user|customer|client|member|account|session|order|ticket|conversation|chat|thread"
    r"|tenant|device|trace)"
)
# The characters branches start with: branches that share them share one lookahead.
_DIGITS = "0-9"
_ID_OWNER_INITIALS = "uUcCmMaAsSoOtTdD"
_COUNTER_INITIALS = "tTrRvVaAmMcC"
_CUE_INITIALS = "tTiIcCnNlL"  # today, it is, current, now, local
_CUE_CHINESE = "今现当此目"

_MARKERS = (
    _Marker(
        "a UUID",
        (
            (
                "0-9a-fA-F",
                r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b",
            ),
        ),
    ),
    _Marker(
        "a date",
        (
            (
                _DIGITS,
                rf"(?<![\d.]){_YEAR}(?:-{_MON}-{_DAY}|/{_MON}/{_DAY}|\.{_MON}\.{_DAY})(?!\d)",
            ),
            (_DIGITS, rf"(?<![\d/]){_DAY}/{_DAY}/{_YEAR}(?!\d)"),
            (_MONTH_INITIALS, rf"\b{_MONTH}\.?\s+{_DAY_TH}(?:,\s*|\s+){_YEAR}\b"),
            (_DIGITS, rf"\b{_DAY_TH}\s+(?:of\s+)?{_MONTH}\b,?\s+{_YEAR}\b"),
            (_DIGITS, rf"{_YEAR}\s*年\s*{_MON}\s*月\s*{_DAY}\s*[日号]"),
        ),
    ),
    _Marker(
        "a date",
        (
            (_MONTH_INITIALS, rf"\b{_MONTH}\.?\s+{_DAY_TH}\b"),
            (_DIGITS, rf"\b{_DAY_TH}\s+(?:of\s+)?{_MONTH}\b"),
            (_DIGITS, rf"(?<!\d){_MON}\s*月\s*{_DAY}\s*[日号]"),
            (_CN_NUMBERS, rf"[{_CN_NUMBERS}]{{1,2}}月[{_CN_NUMBERS}]{{1,3}}[日号]"),
        ),
        cued=True,
    ),
    _Marker(
        "a weekday",
        (
            (
                _CUE_INITIALS,
                r"(?i:\btoday(?:'s\s+date)?|\btonight|\bit(?:'s|\s+is)"
                rf"|\bcurrent\s+(?:date|day|weekday))(?:\s+is)?\s*[:,]?\s*(?:a\s+)?{_WEEKDAY}\b",
            ),
            (
                _CUE_CHINESE,
                r"(?:今天|今日|现在|当前|目前)(?:是|为)?[\s，,:：]*(?:星期|周|礼拜)[一二三四五六日天]",
            ),
        ),
    ),
    _Marker(
        "a time of day",
        (
            (_DIGITS, r"(?<![\d:])(?:2[0-3]|[01]?\d):[0-5]\d:[0-5]\d(?![\d:])"),
            (
                _CUE_INITIALS,
                r"(?i:\bnow|\b(?:current(?:\s+local)?|local)\s+time|\btime\s+(?:is|now)"
                rf"|\bit(?:'s|\s+is))[\s:,]*{_TIME}{_NOT_A_RANGE}",
            ),
            (
                _CUE_CHINESE,
                rf"(?:现在|当前|此刻|目前)(?:时间)?(?:是|为)?[\s:：，,]*{_TIME}{_NOT_A_RANGE}",
            ),
        ),
    ),
    _Marker("a Unix timestamp", ((_DIGITS, r"(?<![\d.])1[4-9]\d{8}(?:\d{3})?(?!\d|\.\d)"),)),
    _Marker(
        "an id",
        (
            (
                _ID_OWNER_INITIALS,
                rf"\b{_ID_OWNER}(?:[ _-]?(?i:id)\b|[ _-]?(?i:no)\.|\s+(?i:number)\b|\s*#)"
                rf"\s*(?:(?i:is)\s+|[:=：]\s*)?{_ID_VALUE}",
            ),
            (_ID_OWNER_INITIALS, rf"\b{_ID_OWNER}\s+\d{{4,}}\b"),
            (_ID_OWNER_INITIALS, rf"\b(?i:uid)\s*[:=：]?\s*{_ID_VALUE}"),
            (
                "用客会账订工设",
                r"(?:用户|客户|会员|账号|账户|订单|会话|工单|设备)(?:ID|id|Id|编号|号码|号)?"
                rf"\s*(?:是|为)?\s*[:：]?\s*{_ID_VALUE}",
            ),
        ),
        early=True,
    ),
    _Marker(
        "a counter",
        (
            (
                _COUNTER_INITIALS,
                r"\b(?i:turn|round|visit|attempt|retry)\s+(?:#|(?i:no)\.?\s*|(?i:number)\s+)?\d+\b",
            ),
            (_COUNTER_INITIALS, r"\b(?i:message|turn|visit|call)\s+count\s*[:=]?\s*\d+"),
            (
                _DIGITS,
                r"\b\d+(?:st|nd|rd|th)\s+(?i:visit|turn|round|attempt|conversation|session)\b",
            ),
            ("第", r"第\s*\d+\s*(?:轮|次|回合)"),
            ("已累", r"(?:已|累计)(?:对话|咨询|访问)?\s*\d+\s*(?:轮|次)"),
        ),
        early=True,
    ),
)


def _scanner(markers: tuple[_Marker, ...]) -> tuple[re.Pattern[str], dict[str, _Marker]]:
    """One regex for ``markers``, and which marker each of its named groups belongs to.

    re tries every alternative at every position of the prompt, so the branches are grouped by
    the characters they start with, each group behind one lookahead: at most positions a handful
    of one-character tests fail and the search moves on."""
    groups: dict[str, list[str]] = {}
    owners: dict[str, _Marker] = {}
    for marker in markers:
        for first, body in marker.branches:
            name = f"b{len(owners)}"
            owners[name] = marker
            groups.setdefault(first, []).append(f"(?P<{name}>{body})")
    pattern = "|".join(f"(?=[{first}])(?:{'|'.join(bodies)})" for first, bodies in groups.items())
    return re.compile(pattern), owners


_ANYWHERE = _scanner(tuple(m for m in _MARKERS if not m.early))
_EARLY = _scanner(tuple(m for m in _MARKERS if m.early))
# Every id and counter holds one of these words, lowercase: a span without any is not searched.
_EARLY_WORDS = (
    *("user", "customer", "client", "member", "account", "session", "order", "ticket", "uid"),
    *("conversation", "chat", "thread", "tenant", "device", "trace"),
    *("turn", "round", "visit", "attempt", "retry", "count"),
    *("用户", "客户", "会员", "账号", "账户", "订单", "会话", "工单", "设备", "第", "已", "累计"),
)
# Every marker holds an anchor (a digit, a weekday, 星期, 周, 礼拜, 月) and starts at most
# _BEFORE characters before it ("current local time: 14:32", "order id: ORD-XYZ-0042") and ends
# at most _AFTER after it ("5th conversation"): the prompt is searched only there. One match of
# _ANCHORS_RE is a run of anchors close enough for their spans to overlap, merged in C.
_BEFORE, _AFTER = 32, 20
_ANCHOR = r"(?:[0-9星礼周月]|[MTWFS][a-z]{2,5}day\b)"
_ANCHORS_RE = re.compile(rf"{_ANCHOR}(?:.{{0,{_BEFORE + _AFTER}}}?{_ANCHOR})*", re.DOTALL)

# What introduces a value: the nearest cue before it decides.
_CUES = re.compile(
    r"(?P<stable>\b(?:e\.g\.|for (?:example|instance)|such as|format(?:ted)?|version"
    r"|(?:cut-?off|effective|release|last updated|updated)(?:\s+date)?)"
    r"|例如|比如|譬如|格式|版本|(?:截止|生效|更新|发布)(?:日期|时间)?)"
    r"|(?P<dynamic>\b(?:today|tonight|now|current(?:ly)?)\b|今天|今日|现在|当前|目前)",
    re.IGNORECASE,
)


@functools.lru_cache(maxsize=256)
def dynamic_marker(text: str) -> str | None:
    """A description of the first per-request value in ``text`` (cached: system prompts repeat)."""
    early_end = _uncacheable_length(text)
    found = [
        _first_marker(text, _EARLY, min(len(text), early_end + _AFTER), early_end, _EARLY_WORDS),
        _first_marker(text, _ANYWHERE, len(text), len(text)),
    ]
    hits = [hit for hit in found if hit is not None]
    return min(hits)[1] if hits else None


def _first_marker(
    text: str,
    scanner: tuple[re.Pattern[str], dict[str, _Marker]],
    end: int,
    before: int,
    words: tuple[str, ...] = (),
) -> tuple[int, str] | None:
    """(where, what) of the first match in ``text[:end]`` starting before ``before`` that is not
    introduced as fixed, and for a cued marker is introduced as current. With ``words``, only
    spans holding one of them are searched (a substring test is far cheaper than the regex)."""
    regex, owners = scanner
    for start, stop in _anchored_spans(text, end):
        if words and not _mentions(text[start:stop].lower(), words):
            continue
        for match in regex.finditer(text, start, stop):
            if match.start() >= before:
                return None
            marker = owners[match.lastgroup]
            cue = _cue_before(text, match.start())
            if cue == "stable" or (marker.cued and cue != "dynamic"):
                continue
            return match.start(), f"{marker.kind} ({match.group(0).strip()!r})"
    return None


def _mentions(text: str, words: tuple[str, ...]) -> bool:
    return any(word in text for word in words)


def _anchored_spans(text: str, end: int) -> Iterator[tuple[int, int]]:
    """The spans of ``text[:end]`` around anchors, overlapping ones merged."""
    span_start = span_end = -1
    for anchors in _ANCHORS_RE.finditer(text, 0, end):
        lo, hi = max(0, anchors.start() - _BEFORE), min(end, anchors.end() + _AFTER)
        if lo > span_end >= 0:
            yield span_start, span_end
            span_start = lo
        elif span_start < 0:
            span_start = lo
        span_end = hi
    if span_start >= 0:
        yield span_start, span_end


def _cue_before(text: str, start: int) -> str | None:
    """What the nearest cue shortly before ``start`` says: "stable", "dynamic" or None."""
    cues = list(_CUES.finditer(text, max(0, start - _CUE_WINDOW), start))
    return cues[-1].lastgroup if cues else None


def _uncacheable_length(text: str) -> int:
    """How many leading characters of ``text`` fit in the minimum cached prefix.

    Estimated as the guide counts Qwen tokens: about 4 ASCII characters a token, 1.5 tokens a
    Chinese character (UTF-8: 3 bytes, 2 more than its 1 character)."""
    head = text[: 4 * _MIN_CACHED_TOKENS]
    wide = (len(head.encode()) - len(head)) // 2
    tokens = (len(head) - wide) / 4 + 1.5 * wide
    if tokens <= _MIN_CACHED_TOKENS:
        return len(head)
    return int(len(head) * _MIN_CACHED_TOKENS / tokens)
