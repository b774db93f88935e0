"""Line classifier for text dumps: which lines are the article and which are page furniture."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Lines that are never article text: widget labels, prompts, navigation.
_FURNITURE = re.compile(
    r"""^(?:
        skip\ to\ (?:main\ )?content | edit\ post | go\ ?to\ ?top | back\ to\ top
      | (?:sign|log)\ ?(?:in|up|out)\b.{0,40} | subscribe\b.{0,60} | already\ a\ subscriber.*
      | .*\bnewsletter\b.{0,60} | enter\ your\ e-?mail.* | please,?\ enter\ .*e-?mail.*
      | \*\ indicates\ required | successfully?\ subscribed | thank\ you\ for\ signing\ up.*
      | share(?:\ this)?(?:\ (?:article|story|on\ \w+))? | tweet | email | print | copy\ link
      | advertisement | sponsored(?:\ content)? | (?:\d+\ )?min(?:ute)?s?\ read
      | previous\ (?:story|article|post) | next\ (?:story|article|post) | all\ news
      | this\ audio\ is\ created\ with\ ai\ assistance | listen\ to\ (?:this\ )?article.*
      | (?:read|see)\ (?:more|also)\b.{0,120} | also\ read\b.* | related(?:\ (?:articles|stories))?:?
      | accept(?:\ all)?\ cookies.* | .*\bcookies?\ (?:policy|settings)\b.{0,40}
      | comments? | \d+\ comments? | menu | search | home | close | open
      | \[\[\w+\]\] | -+ | \d{1,2}:\d{2}\s*(?:am|pm)? | page\ \d+\ of\ \d+
    )$""",
    re.I | re.X,
)
_ICON_LABEL = re.compile(r"\ban icon of\b", re.I)
# Headings after which a page lists other stories: the article is over.
_END_OF_ARTICLE = re.compile(
    r"""^(?:most\ (?:read|popular|commented|viewed|shared) | more\ from\b.* | latest\ from\b.*
      | editor'?s'?\ picks? | don'?t\ miss | recommended(?:\ for\ you)? | trending(?:\ now)?
      | more\ news | more\ stories | related\ (?:articles|stories|news) | you\ may\ also\ like
      | news\ feed | (?:today\W?s\ )?top\ stories | what\ to\ read\ next | latest\ news | in\ other\ news
    )\s*:?$""",
    re.I | re.X,
)
PHOTO_CREDIT = re.compile(r"(?:\([^()]*/[^()]*\)|\b(?:image|photo|picture|credit)s?:\s*\S.*)$", re.I)
_SENTENCE_END = re.compile(r"[.!?…。！？][\"'”’»)\]]*$")
_WORD = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class CleanedLines:
    """The verdict on each line of a dump."""

    kept: list[int]
    reasons: dict[int, str] = field(default_factory=dict)
    main_start: int = 0  # first line of the article's main block
    main_end: int = 0  # last line of it

    def removed_spans(self) -> list[dict[str, object]]:
        """Runs of removed lines with one reason each, for provenance."""
        spans: list[dict[str, object]] = []
        for index in sorted(self.reasons):
            reason = self.reasons[index]
            last = spans[-1] if spans else None
            if last and last["end"] == index - 1 and last["reason"] == reason:
                last["end"] = index
            else:
                spans.append({"start": index, "end": index, "reason": reason})
        return spans


def word_total(line: str) -> int:
    words = len(_WORD.findall(line))
    # Scripts without spaces (Chinese, Japanese) count by characters.
    cjk = sum(1 for ch in line if "\u3040" <= ch <= "\u9fff" or "\uac00" <= ch <= "\ud7af")
    return max(words, cjk // 2)


def is_prose(line: str) -> bool:
    """A line that reads like sentences: long enough, with sentence punctuation."""
    words = word_total(line)
    if words >= 20:
        return True
    return words >= 8 and bool(_SENTENCE_END.search(line))


def furniture_reason(line: str) -> str | None:
    if _ICON_LABEL.search(line):
        return "icon labels"
    if _FURNITURE.match(line):
        return "page furniture"
    return None


def clean_lines(lines: list[str]) -> CleanedLines:
    """Classify every line of a dump; the article is the densest run of prose."""
    stripped = [line.strip() for line in lines]
    scores: list[tuple[int, float]] = []
    for index, line in enumerate(stripped):
        if not line:
            continue
        if furniture_reason(line) or _END_OF_ARTICLE.match(line):
            score = -15.0
        elif is_prose(line):
            score = float(word_total(line))
        else:
            score = -2.0
        scores.append((index, score))
    start, end = _densest_run(scores)
    reasons: dict[int, str] = {}
    kept: list[int] = []
    for index, line in enumerate(stripped):
        if not line:
            continue
        if index < start or index > end:
            reasons[index] = "outside the article"
            continue
        if _END_OF_ARTICLE.match(line):
            for rest in range(index, end + 1):
                if stripped[rest]:
                    reasons[rest] = "list of other stories"
            end = index - 1
            break
        reason = furniture_reason(line) or _line_reason(stripped, index)
        if reason:
            reasons[index] = reason
        else:
            kept.append(index)
    for index in range(end + 1, len(stripped)):
        if stripped[index] and index not in reasons:
            reasons[index] = "outside the article"
    return CleanedLines(kept=kept, reasons=reasons, main_start=start, main_end=max(end, start))


def _densest_run(scores: list[tuple[int, float]]) -> tuple[int, int]:
    """Maximum-sum contiguous run of line scores (Kadane), as (first, last) line index."""
    best = (float("-inf"), 0, -1)
    total, run_start = 0.0, None
    for index, score in scores:
        if run_start is None or total <= 0:
            total, run_start = 0.0, index
        total += score
        if total > best[0]:
            best = (total, run_start, index)
    return best[1], best[2]


def _line_reason(stripped: list[str], index: int) -> str | None:
    line = stripped[index]
    neighbours = [s for s in (_nearest(stripped, index, -1), _nearest(stripped, index, 1)) if s]
    # Captions are often printed twice: once alone and once with the photo credit.
    if any(n != line and (n.startswith(line) or line.startswith(n)) for n in neighbours):
        return "caption printed twice"
    if PHOTO_CREDIT.search(line) and not _SENTENCE_END.search(line.rstrip(")")):
        return "photo caption"
    if is_prose(line):
        return None
    following = _nearest(stripped, index, 1)
    if following and is_prose(following) and word_total(line) <= 15:
        return None  # a heading inside the article
    return "short line between paragraphs"


def _nearest(stripped: list[str], index: int, step: int) -> str | None:
    index += step
    while 0 <= index < len(stripped):
        if stripped[index]:
            return stripped[index]
        index += step
    return None
