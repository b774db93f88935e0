"""Title, date, outlet and byline from the lines of a text dump."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from archive.dates import parse_date
from archive.document import PublishedDate
from archive.outlets import outlet_for_url
from archive.textdump.clean import CleanedLines, furniture_reason, is_credit, word_total
from archive.textdump.lexicon import (
    BYLINE,
    DATE_NO_YEAR,
    MONTH_ALT,
    MONTHS,
    PUBLISHED,
    RELATIVE_TIME,
    STOP_WORDS,
    TIME_TEXT,
    UPDATED,
    WORD,
    find_date,
)

# How far above the article's first line the headline block may start, in non-empty lines.
_HEAD_WINDOW = 14
# Text glued together by the copy ("NOV 15, 20195:45 AM"): a year followed by a clock time.
_GLUED_YEAR = re.compile(r"\b((?:19|20)\d\d)(\d{1,2}:\d\d)")
_MONTH_YEAR = re.compile(rf"(?i)(?<!\w)(?:{MONTH_ALT})\.?,?\s+(?:19|20)\d\d(?!\d)")
_NUMERIC_DATE = re.compile(r"^(\d{1,4})[./-](\d{1,2})[./-](\d{2,4})$")
_ASIAN_DATE = re.compile(r"((?:19|20)\d\d)\s*[년年]\s*(\d{1,2})\s*[월月]\s*(\d{1,2})")
_WORD_DATE_PARTS = re.compile(r"[^\W\d_]+|\d+")
_SEGMENT_SPLIT = re.compile(r"\s[|;·•]\s?|;|\s/\s")

_DATELINE_OUTLET = re.compile(
    r"^[A-ZА-Я][A-ZА-Я .,'-]+,\s*[A-Za-zА-Яа-я]+\.?\s+\d{1,2}\.?\s*/\s*"
    r"([A-Za-z][\w .&-]{1,40}?)\s*/"
)
_WIRE_CREDIT = re.compile(
    r"^[A-Z][A-Z .,'-]{2,40}\(([A-Z][\w .&-]{1,30})\)\s*[-—–]|^\(([A-Z][A-Za-z]{1,20})\)"
)
_REPORTS = re.compile(
    r"(?:reports|reported by|writes|says)\s+"
    r"((?:the\s+)?[A-Z][\w&.'-]*(?:\s+[A-Z][\w&.'-]*){0,5})\s*$"
)
_NAME = r"((?:[Tt]he\s+)?[A-Z0-9][\w&.'’-]*(?:\s+(?:[A-Z0-9][\w&.'’-]*|of|de|du|and|&|for)){0,5})"
# Phrases in which a site names itself; each gives a candidate and a weight for the vote.
_SELF_NAMING = [
    (re.compile(rf"^(?i:more|latest|other stories)\s+(?i:from|on)\s+{_NAME}\s*$"), 2.0),
    (re.compile(rf"^(?i:popular|trending|elsewhere|only|exclusive)\s+(?i:on)\s+(?i:the\s+)?"
                rf"{_NAME}\s*$"), 2.0),
    (re.compile(rf"^(?i:search|subscribe to|follow|sign up to|support|about|contact|explore|"
                rf"advertise (?:on|with)|continue to|why you can trust|welcome to)\s+"
                rf"{_NAME}(?:['’]s)?\b"), 1.0),
    (re.compile(rf"^{_NAME}\s+(?i:needs your help|reserves the right|store|shop|apps?|archives|"
                rf"newsletters?|navigation|homepage|main menu|podcasts?)\b"), 1.0),
    (re.compile(rf"\b(?:told|tells|according to)\s+{_NAME}\b"), 0.5),
]
# First words and later words of the self-naming phrases; other lines skip those patterns.
_LEADING_CUES = frozenset(
    "more latest other popular trending elsewhere only exclusive search subscribe follow sign "
    "support about contact explore advertise continue why welcome".split()
)
_TRAILING_CUES = frozenset(
    "needs reserves store shop app apps archives newsletter newsletters navigation homepage "
    "menu podcast podcasts".split()
)
_COPYRIGHT_NAME = re.compile(
    r"(?:©|ⓒ|\(c\)|copyright)\s*(?:©|ⓒ|\(c\))?\s*(?:(?:19|20)\d\d\s*(?:[-–]\s*(?:(?:19|20)\d\d)?)?)?"
    r"\s*[.,]?\s*([^\W\d_][^|©\n]{0,60}?)\s*(?:(?:19|20)\d\d(?:\s*[-–]\s*(?:19|20)\d\d)?)?\s*"
    r"(?:\.(?:\s|$)|[,|]|all rights|todos os|tous droits|alle rechte|unless|$|\s-\s)",
    re.I,
)
_LEGAL_TAIL = re.compile(
    r"(?:,?\s+(?:LLC|L\.L\.C\.|Inc\.?|Incorporated|Ltd\.?|Limited|Pty|PLC|GmbH|AG|S\.A\.|"
    r"Corp\.?|Corporation|Company|Co\.|Media|Media Group|Group|Holdings|a\s.*|an\s.*))+\s*$",
    re.I,
)
_BYLINE_OUTLET = re.compile(
    r"(?:\s[|/—-]\s*|,\s*(?=[\w-]+\.(?:com|net|org|co|info)\b))([A-Z][\w.&' -]{1,40}?)\s*$"
)
_COMPACT = re.compile(r"\W+")
# Words that make up widget labels and section names, never an outlet's name on their own.
_GENERIC = frozenset(
    "back toggle get top daily home news more menu search sections section latest live video "
    "videos photos watch listen share follow subscribe sign log account newsletter newsletters "
    "reviews review kit all world local sports business opinion politics tech science health "
    "entertainment lifestyle travel music books contact about help privacy terms advertise "
    "shop store apps app podcast podcasts today now go open close edition digital print "
    "network media group company staff editors editor team".split()
)
_DESK = re.compile(
    r"\s+(?:news\s+desk|staff(?:\s+(?:writer|reports?))?|reporters?|correspondent|editorial\s+team|"
    r"wire\s+services)$",
    re.I,
)
_NOT_A_NAME = re.compile(
    r"(?i)^(?:the\s+)?(?:top news|news|home|us|our team|more|all|this|the|page|site|main menu|"
    r"menu|navigation|search|sections?|account|profile|"
    r"story|article|editors?|staff|comments?|newsletters?|privacy|terms|facebook|twitter|"
    r"instagram|youtube|linkedin|google|apple|amazon|reuters|ap|afp|getty images?|\w)$"
)
_BYLINE_TAIL = re.compile(
    rf"(?:\s*[-–—|·,]\s*|\s+(?:on|am|publiziert|el|le|em)\s+|\s+)(?:\d|(?:{MONTH_ALT})\b\.?|"
    r"(?:mon|tues?|wed(?:nes)?|thu(?:rs)?|fri|sat(?:ur)?|sun)(?:day)?\b|updated|published|posted|"
    r"\d+\s+min).*$",
    re.I,
)


@dataclass(slots=True)
class DumpMetadata:
    title: str | None = None
    published: PublishedDate | None = None
    outlet: str | None = None
    byline: str | None = None
    # Lines that carried metadata and so are not article text (a byline, a date line).
    consumed: set[int] = field(default_factory=set)
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)

    def found(self, name: str, value: Any, line: int | None, rule: str) -> None:
        setattr(self, name, value)
        self.sources["date" if name == "published" else name] = {"rule": rule, "line": line}


def find_metadata(lines: list[str], cleaned: CleanedLines,
                  hints: Mapping[str, str]) -> DumpMetadata:
    """Look around the article's first lines for its headline, byline and date."""
    meta = DumpMetadata()
    stripped = [line.strip() for line in lines]
    first = cleaned.kept[0] if cleaned.kept else cleaned.main_start
    head = _head_lines(stripped, first)
    _find_title(stripped, head, first, cleaned, meta)
    anchor = meta.sources.get("title", {}).get("line")
    _find_byline(stripped, head, first, anchor, meta)
    _find_date(stripped, head, first, anchor, cleaned, meta, _day_first(stripped, cleaned))
    _find_outlet(stripped, cleaned, meta, hints)
    return meta


def _head_lines(stripped: list[str], first: int) -> list[int]:
    """Non-empty lines just above the article, nearest first, and its first two lines."""
    above: list[int] = []
    index = first - 1
    counted = 0
    # Share buttons and other widget labels between headline and text do not use up the window.
    while index >= 0 and counted < _HEAD_WINDOW and first - index <= 80:
        if stripped[index]:
            above.append(index)
            counted += not furniture_reason(stripped[index])
        index -= 1
    below = [i for i in range(first, min(len(stripped), first + 6)) if stripped[i]][:3]
    return above + below


# --- title -------------------------------------------------------------------------------

def _find_title(stripped: list[str], head: list[int], first: int, cleaned: CleanedLines,
                meta: DumpMetadata) -> None:
    lead = " ".join(stripped[i] for i in cleaned.kept[:6]).casefold()
    lead_words = set(WORD.findall(lead))
    dated = [i for i in head if i < first and _is_meta_line(stripped[i])]
    below_meta = min(dated) if dated else len(stripped)
    best: tuple[float, int] | None = None
    for rank, index in enumerate(head):
        score = _title_score(stripped, index, rank, index >= first, lead_words)
        if score is not None and index > below_meta:
            score -= 1.0  # between the byline or date and the text: a caption or standfirst
        if score is not None and (best is None or score > best[0]):
            best = (score, index)
    if best is not None and best[0] > 0:
        index = best[1]
        title = " ".join(stripped[index].split())
        meta.found("title", title, index, "headline-like line above the article")
        if index in cleaned.kept and index == first:
            meta.consumed.add(index)


def _title_score(stripped: list[str], index: int, rank: int, in_body: bool,
                 lead_words: set[str]) -> float | None:
    line = stripped[index]
    words = word_total(line)
    if words < 2 or words > 40 or len(line) > 300:
        return None
    if furniture_reason(line) or is_credit(line) or BYLINE.match(line) or find_date(line):
        return None
    if RELATIVE_TIME.search(line) or line.isupper() and words <= 2:
        return None
    tokens = [t.casefold() for t in WORD.findall(line)]
    content = [t for t in tokens if t not in STOP_WORDS and not t.isdigit()]
    overlap = sum(1 for t in content if t in lead_words) / len(content) if content else 0.0
    score = 2.5 * overlap - 0.12 * rank
    score += 0.6 if 4 <= words <= 25 else 0.0
    if line[-1] == "." and words >= 5 and not line.endswith(".."):
        score -= 1.5  # a sentence: standfirst, teaser or caption
    if in_body:
        score -= 1.0
    nxt = _next_nonempty(stripped, index)
    if nxt is not None and (_is_meta_line(stripped[nxt]) or (
            words >= 4 and (after := _next_nonempty(stripped, nxt)) is not None
            and word_total(stripped[nxt]) <= 4 and _is_meta_line(stripped[after]))):
        score += 2.0
    if words <= 3:
        score -= 0.4  # a name, a section label
    if line.endswith(")") and words >= 12:
        score -= 1.5  # a caption with its credit
    prev = _prev_nonempty(stripped, index)
    if prev is not None and stripped[prev] == line:
        score += 0.3  # headlines are often printed twice (breadcrumb, then heading)
    if prev is not None and stripped[prev].endswith(line) and stripped[prev] != line:
        score += 0.5  # breadcrumb trail ending in the headline
    return score


def _is_meta_line(line: str) -> bool:
    """A byline or dateline: what follows a headline."""
    if len(line) > 200:
        return False
    if BYLINE.match(line) or find_date(line) or RELATIVE_TIME.search(line):
        return True
    return word_total(line) <= 12 and bool(DATE_NO_YEAR.search(line) and TIME_TEXT.search(line))


def _next_nonempty(stripped: list[str], index: int) -> int | None:
    for k in range(index + 1, min(len(stripped), index + 4)):
        if stripped[k]:
            return k
    return None


def _prev_nonempty(stripped: list[str], index: int) -> int | None:
    for k in range(index - 1, max(-1, index - 4), -1):
        if stripped[k]:
            return k
    return None


# --- byline ------------------------------------------------------------------------------

def _find_byline(stripped: list[str], head: list[int], first: int, anchor: int | None,
                 meta: DumpMetadata) -> None:
    order = sorted(head, key=lambda i: (abs(i - anchor) if anchor is not None else 0, i))
    for index in order:
        line = stripped[index]
        match = BYLINE.match(line)
        if not match or word_total(line) > 30:
            continue
        name = _clean_person(match["name"])
        if name:
            meta.found("byline", name, index, "'By …' line near the headline")
            meta.consumed.add(index)
            return


def _clean_person(text: str) -> str | None:
    name = _BYLINE_TAIL.sub("", text).strip(" ,|-–—·")
    name = re.sub(r"\s+", " ", name)
    if not name or len(name) > 80 or word_total(name) > 10:
        return None
    return name


# --- date --------------------------------------------------------------------------------

def _find_date(stripped: list[str], head: list[int], first: int, anchor: int | None,
               cleaned: CleanedLines, meta: DumpMetadata, day_first: bool) -> None:
    centre = anchor if anchor is not None else first
    near = set(head)
    if anchor is not None:
        near.update(i for i in range(max(0, anchor - 4), min(len(stripped), anchor + 6))
                    if stripped[i])
    best: tuple[float, int, PublishedDate] | None = None
    for index in near:
        line = stripped[index]
        published = _publication_date(line, day_first)
        if not published:
            continue
        score = -0.25 * abs(index - centre) - (0.5 if index < centre else 0.0)
        score += 3.0 if PUBLISHED.search(line) else 0.0
        score += 1.5 if word_total(line) <= 14 else 0.0
        score -= 3.0 if is_credit(line) or (line.endswith(")") and word_total(line) > 14) else 0.0
        if best is None or score > best[0]:
            best = (score, index, published)
    if best is not None:
        _, index, published = best
        meta.found("published", published, index, "date line near the headline")
        if word_total(stripped[index]) <= 14 or index in meta.consumed:
            meta.consumed.add(index)
        return
    # "First published on …" at the foot of the article.
    tail = range(cleaned.main_end + 1, min(len(stripped), cleaned.main_end + 20))
    for index in [*cleaned.kept[-12:], *tail]:
        line = stripped[index]
        if PUBLISHED.search(line) and (published := _publication_date(line, day_first)):
            meta.found("published", published, index, "'published' line in the article")
            if word_total(line) <= 14:
                meta.consumed.add(index)
            return


def _publication_date(line: str, day_first: bool) -> PublishedDate | None:
    """The first date in the line that is not an 'updated' date; None if it has no year."""
    if len(line) > 200:
        return None
    line = _GLUED_YEAR.sub(r"\1 \2", line)
    for segment in _segments(line):
        text = segment
        if updated := UPDATED.search(segment):  # "Nov 18, 2019 - Updated Nov 18": first part
            text = segment[: updated.start()]
        match = find_date(text)
        if match:
            return _date_from_text(match.group(0), day_first)
        if word_total(text) <= 6 and (month := _MONTH_YEAR.search(text)):
            return _date_from_text(month.group(0), day_first)  # "October 2022": month precision
        if DATE_NO_YEAR.search(text):
            return None  # a stated date without its year: unknown, never guessed
    return None


def _segments(line: str) -> list[str]:
    parts = [p for p in _SEGMENT_SPLIT.split(line) if p.strip()]
    return parts or [line]


def _date_from_text(text: str, day_first: bool) -> PublishedDate | None:
    if match := _ASIAN_DATE.search(text):
        return parse_date(f"{match[1]}-{int(match[2]):02d}-{int(match[3]):02d}")
    compact = text.strip().replace(" ", "")
    if match := _NUMERIC_DATE.match(compact):
        a, b, c = match[1], match[2], match[3]
        if len(a) == 4:
            year, month, day = int(a), int(b), int(c)
        else:
            year = int(c) + (2000 if len(c) == 2 else 0)
            first_n, second_n = int(a), int(b)
            if first_n > 12 or (day_first and second_n <= 12):
                day, month = first_n, second_n
            else:
                month, day = first_n, second_n
        return parse_date(f"{year:04d}-{month:02d}-{day:02d}")
    year = month = day = None
    for part in _WORD_DATE_PARTS.findall(text):
        low = part.casefold()
        if low in MONTHS and month is None:
            month = MONTHS[low]
        elif part.isdigit():
            if len(part) == 4 and year is None:
                year = int(part)
            elif len(part) <= 2 and day is None:
                day = int(part)
    if year is None or month is None:
        return None
    if day is None:
        return parse_date(f"{year:04d}-{month:02d}")
    return parse_date(f"{year:04d}-{month:02d}-{day:02d}")


def _day_first(stripped: list[str], cleaned: CleanedLines) -> bool:
    """Whether numeric dates read day first: everywhere but in English-language pages."""
    sample = " ".join(stripped[i] for i in cleaned.kept[:8]).casefold().split()
    english = sum(1 for w in sample if w in {"the", "and", "of", "to", "is", "was", "in"})
    return english < max(3, len(sample) // 20)


# --- outlet ------------------------------------------------------------------------------

def _find_outlet(stripped: list[str], cleaned: CleanedLines, meta: DumpMetadata,
                 hints: Mapping[str, str]) -> None:
    url = hints.get("url")
    if url and (name := outlet_for_url(url)):
        meta.found("outlet", name, None, "outlet table, by domain of the supplied url")
        return
    votes: dict[str, list[tuple[float, str, int, str]]] = {}

    def vote(name: str | None, weight: float, index: int, rule: str) -> None:
        name = _clean_outlet(name)
        if name:
            votes.setdefault(_outlet_key(name), []).append((weight, name, index, rule))

    start = cleaned.kept[0] if cleaned.kept else 0
    for index in cleaned.kept[:3]:
        line = stripped[index]
        if match := _DATELINE_OUTLET.match(line):
            vote(match[1], 6.0, index, "agency dateline /OUTLET/")
    for index in range(max(0, start - _HEAD_WINDOW), min(len(stripped), start + 3)):
        if match := _REPORTS.search(stripped[index]):
            vote(match[1], 6.0, index, "'… reports OUTLET'")
    for index in cleaned.kept[:2]:
        if match := _WIRE_CREDIT.match(stripped[index]):
            vote(match[1] or match[2], 2.0, index, "dateline credit (OUTLET)")
    if meta.byline and (desk := _DESK.search(meta.byline)):
        vote(meta.byline[: desk.start()], 5.0, meta.sources["byline"]["line"], "newsroom byline")
    for index, line in enumerate(stripped):
        if not line or len(line) > 400:
            continue
        if len(line) <= 120:
            words = line.lower().split()
            if words[0] in _LEADING_CUES or not _TRAILING_CUES.isdisjoint(words):
                for pattern, weight in _SELF_NAMING[:-1]:
                    for match in pattern.finditer(line):
                        vote(match[1], weight, index, "site names itself")
        if "©" in line or "ⓒ" in line or "opyright" in line or "(c)" in line.casefold():
            for match in _COPYRIGHT_NAME.finditer(line):
                vote(match[1], 2.0, index, "copyright line")
    told, weight = _SELF_NAMING[-1]
    for index in cleaned.kept:
        line = stripped[index]
        if "told" in line or "tells" in line or "according" in line:
            for match in told.finditer(line):
                vote(match[1], weight, index, "site names itself")
    byline_line = meta.sources.get("byline", {}).get("line")
    date_line = meta.sources.get("date", {}).get("line")
    for index in {byline_line, date_line} - {None}:
        if match := _BYLINE_OUTLET.search(stripped[index]):  # type: ignore[index]
            vote(match[1], 2.0, index, "outlet after the byline")  # type: ignore[arg-type]
    first_line = next((i for i, s in enumerate(stripped) if s), None)
    if first_line is not None and 1 <= word_total(stripped[first_line]) <= 4 and \
            not furniture_reason(stripped[first_line]):
        vote(stripped[first_line], 1.0, first_line, "site name at the top of the page")
    if not votes:
        return
    text = _COMPACT.sub("", "\n".join(stripped).casefold())
    best_key = max(votes, key=lambda k: (_tally(votes[k], text), -min(v[2] for v in votes[k])))
    if _tally(votes[best_key], text) < 2.0:
        return
    entries = votes[best_key]
    top = max(entries, key=lambda v: v[0])
    name = _best_spelling([v[1] for v in entries])
    meta.found("outlet", name, top[2], top[3])


def _tally(entries: list[tuple[float, str, int, str]], text: str) -> float:
    rules = {e[3] for e in entries}
    total = sum(max(e[0] for e in entries if e[3] == rule) for rule in rules)
    extra = sum(e[0] for e in entries) - total
    mentions = text.count(_COMPACT.sub("", entries[0][1].casefold()))
    return total + 0.3 * min(extra, 4.0) + 0.4 * min(mentions, 8)


def _best_spelling(names: list[str]) -> str:
    counts: dict[str, int] = {}
    for name in names:
        counts[name] = counts.get(name, 0) + 1
    # Prefer the form the site uses most; among equals, the one with "The" and mixed case.
    return max(counts, key=lambda n: (counts[n], n.lower().startswith("the "),
                                      not n.isupper(), -len(n)))


def _clean_outlet(name: str | None) -> str | None:
    if not name:
        return None
    name = re.sub(r"\s+", " ", name).strip(" .,:;|-–—'’\"")
    name = re.sub(r"(?i)^(?:©|ⓒ|\(c\)|copyright)\s*", "", name)
    name = re.sub(r"(?:['’]s)$", "", name)
    name = re.sub(r"^the\s+", "", name)  # "the BBC": lower-case "the" is not part of a name
    name = _LEGAL_TAIL.sub("", name).strip(" .,:;|-–—")
    if not name or len(name) < 2 or len(name) > 50 or word_total(name) > 6:
        return None
    if _NOT_A_NAME.match(name) or name[0].isdigit() and not re.match(r"^\d+\w*[A-Za-z]", name):
        return None
    if all(t in STOP_WORDS or t in _GENERIC for t in WORD.findall(name.casefold())):
        return None
    if name.isupper() and word_total(name) >= 3:
        return None  # a shouted headline or a list of names
    return name


def _outlet_key(name: str) -> str:
    key = name.casefold()
    key = re.sub(r"^the\s+", "", key)
    return re.sub(r"\W+", "", key)
