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
from dataclasses import dataclass

_MIN_CACHED_TOKENS = 256  # DashScope's implicit cache needs a shared prefix this long
_CUE_WINDOW = 40  # characters before a value searched for what introduces it


@dataclass(frozen=True, slots=True)
class _Marker:
    kind: str  # how the finding names it
    pattern: str
    cued: bool = False  # only after a "today"/"now" cue
    early: bool = False  # only inside the first 256 tokens


_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
    r"|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
)
_WEEKDAY = r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
_DAY = r"(?:3[01]|[12]\d|0?[1-9])"
_DAY_TH = _DAY + r"(?:st|nd|rd|th)?"
_MON = r"(?:1[0-2]|0?[1-9])"
_YEAR = r"(?:19|20)\d\d"
_CN_NUMBER = "[一二三四五六七八九十]"
_TIME = r"(?:2[0-3]|[01]?\d)[:：][0-5]\d(?:[:：][0-5]\d)?(?!\d)"
_NOT_A_RANGE = r"(?!\s*(?:-|–|—|~|～|to\b|until\b|至|到)\s*\d)"  # "9:00-18:00" is a schedule
_ID_VALUE = r"(?=[A-Za-z0-9_-]*\d)[A-Za-z0-9][A-Za-z0-9_-]{2,}"  # 3+ characters, a digit
_ID_OWNER = (
    r"(?i:user|customer|client|member|account|session|order|ticket|conversation|chat|thread"
    r"|tenant|device|trace)"
)

_MARKERS = (
    _Marker(
        "a UUID",
        r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b",
    ),
    _Marker(
        "a date",
        rf"(?<![\d.]){_YEAR}(?:-{_MON}-{_DAY}|/{_MON}/{_DAY}|\.{_MON}\.{_DAY})(?!\d)"
        rf"|(?<![\d/]){_DAY}/{_DAY}/{_YEAR}(?!\d)"
        rf"|\b{_MONTH}\.?\s+{_DAY_TH}(?:,\s*|\s+){_YEAR}\b"
        rf"|\b{_DAY_TH}\s+(?:of\s+)?{_MONTH}\b,?\s+{_YEAR}\b"
        rf"|{_YEAR}\s*年\s*{_MON}\s*月\s*{_DAY}\s*[日号]",
    ),
    _Marker(
        "a date",
        rf"\b{_MONTH}\.?\s+{_DAY_TH}\b|\b{_DAY_TH}\s+(?:of\s+)?{_MONTH}\b"
        rf"|(?<!\d){_MON}\s*月\s*{_DAY}\s*[日号]|{_CN_NUMBER}{{1,2}}月{_CN_NUMBER}{{1,3}}[日号]",
        cued=True,
    ),
    _Marker(
        "a weekday",
        r"(?i:\btoday(?:'s\s+date)?|\btonight|\bit(?:'s|\s+is)|\bcurrent\s+(?:date|day|weekday))"
        rf"(?:\s+is)?\s*[:,]?\s*(?:a\s+)?{_WEEKDAY}\b"
        r"|(?:今天|今日|现在|当前|目前)(?:是|为)?[\s，,:：]*(?:星期|周|礼拜)[一二三四五六日天]",
    ),
    _Marker(
        "a time of day",
        r"(?<![\d:])(?:2[0-3]|[01]?\d):[0-5]\d:[0-5]\d(?![\d:])"
        r"|(?i:\bnow|\b(?:current(?:\s+local)?|local)\s+time|\btime\s+(?:is|now)|\bit(?:'s|\s+is))"
        rf"[\s:,]*{_TIME}{_NOT_A_RANGE}"
        rf"|(?:现在|当前|此刻|目前)(?:时间)?(?:是|为)?[\s:：，,]*{_TIME}{_NOT_A_RANGE}",
    ),
    _Marker("a Unix timestamp", r"(?<![\d.])1[4-9]\d{8}(?:\d{3})?(?!\d|\.\d)"),
    _Marker(
        "an id",
        rf"\b{_ID_OWNER}(?:[ _-]?(?i:id)\b|[ _-]?(?i:no)\.|\s+(?i:number)\b|\s*#)"
        rf"\s*(?:(?i:is)\s+|[:=：]\s*)?{_ID_VALUE}"
        rf"|\b{_ID_OWNER}\s+\d{{4,}}\b"
        rf"|\b(?i:uid)\s*[:=：]?\s*{_ID_VALUE}"
        rf"|(?:用户|客户|会员|账号|账户|订单|会话|工单|设备)(?:ID|id|Id|编号|号码|号)?\s*(?:是|为)?"
        rf"\s*[:：]?\s*{_ID_VALUE}",
        early=True,
    ),
    _Marker(
        "a counter",
        r"\b(?i:turn|round|visit|attempt|retry)\s+(?:#|(?i:no)\.?\s*|(?i:number)\s+)?\d+\b"
        r"|\b(?i:message|turn|visit|call)\s+count\s*[:=]?\s*\d+"
        r"|\b\d+(?:st|nd|rd|th)\s+(?i:visit|turn|round|attempt|conversation|session)\b"
        r"|第\s*\d+\s*(?:轮|次|回合)|(?:已|累计)(?:对话|咨询|访问)?\s*\d+\s*(?:轮|次)",
        early=True,
    ),
)
_MARKERS_RE = re.compile("|".join(f"(?P<m{i}>{m.pattern})" for i, m in enumerate(_MARKERS)))

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
    for match in _MARKERS_RE.finditer(text):
        marker = _MARKERS[int(match.lastgroup[1:])]
        if marker.early and match.start() >= early_end:
            continue
        cue = _cue_before(text, match.start())
        if cue == "stable" or (marker.cued and cue != "dynamic"):
            continue
        return f"{marker.kind} ({match.group(0).strip()!r})"
    return None


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
