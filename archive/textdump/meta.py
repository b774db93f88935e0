"""Title, date, outlet and byline from the lines of a text dump."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np

from archive.dates import parse_date
from archive.document import PublishedDate
from archive.language import detect_language
from archive.outlets import outlet_for_url
from archive.textdump.clean import CleanedLines, furniture_reason, is_credit, word_total
from archive.textdump.lexicon import (
    BYLINE,
    DATE_NO_YEAR,
    DATE_TEXT,
    MONTH_ALT,
    PUBLISHED,
    UPDATED,
    find_date,
)
from archive.textdump.model import (
    ACCEPT_CONTEXT,
    Acceptor,
    LineModel,
    Ranker,
    rivals,
    shipped_model,
)
from archive.textdump.outlet import (
    CUE_NAMES,
    OUTLET_FEATURES,
    OutletContext,
    feature_matrix,
    outlet_candidates,
    outlet_key,
)
from archive.textdump.title import (
    ROLE_BYLINE,
    TITLE_FEATURES,
    LineFlags,
    candidate_lines,
    restore_case,
    strip_trail,
    title_features,
)

# How far above the article's first line the headline block may start, in non-empty lines.
_HEAD_WINDOW = 14
# Text glued together by the copy ("NOV 15, 20195:45 AM"): a year followed by a clock time.
_GLUED_YEAR = re.compile(r"\b((?:19|20)\d\d)(\d{1,2}:\d\d)")
_MONTH_YEAR = re.compile(rf"(?i)(?<!\w)(?:{MONTH_ALT})\.?,?\s+(?:19|20)\d\d(?!\d)")
_NUMERIC_DATE = re.compile(r"^(\d{1,4})[./-](\d{1,2})[./-](\d{2,4})$")
_ASIAN_DATE = re.compile(r"((?:19|20)\d\d)\s*[년年]\s*(\d{1,2})\s*[월月]\s*(\d{1,2})")
# Lines below the article's first kept line where a "Published ..." line still dates it.
_PUBLISHED_REACH = 15
# A paragraph opening with its date (after a place name, perhaps) and a dash.
_DATELINE_DATE = re.compile(
    r"^(?:[A-ZÀ-Ý][\w.'\x20-]{1,30},\s+)?(?P<date>" + DATE_TEXT.pattern.removeprefix("(?ix)") +
    r")\s*(?:--|—|–|-)\s", re.I | re.X)
_SEGMENT_SPLIT = re.compile(r"\s[|;·•]\s?|;|\s/\s")

_BYLINE_TAIL = re.compile(
    rf"(?:\s*[-–—|·,]\s*|\s+(?:on|am|publiziert|el|le|em)\s+|\s+)(?:\d|(?:{MONTH_ALT})\b\.?|"
    r"(?:mon|tues?|wed(?:nes)?|thu(?:rs)?|fri|sat(?:ur)?|sun)(?:day)?\b|updated|published|posted|"
    r"\d+\s+min).*$",
    re.I,
)
# "Headline | Site", "Headline - Site": where a site's name may follow the headline.
_TITLE_TAIL = re.compile(r"\s+[|–—-]\s+|\s*::\s*|\s+:\s+")

_SENTENCE = TITLE_FEATURES.index("sentence")
_WIRE = OUTLET_FEATURES.index("wire")
# Candidates listed in provenance, best first.
_SHOWN_CANDIDATES = 5


def _hand_ranker(features: tuple[str, ...], weights: dict[str, float]) -> Ranker:
    unknown = set(weights) - set(features)
    if unknown:
        raise ValueError(f"hand weights for unknown features: {sorted(unknown)}")
    return Ranker(features, np.zeros(len(features)), np.ones(len(features)),
                  np.array([weights.get(f, 0.0) for f in features]))


# Until a model file carries trained rankers: hand weights (roughly the trained ones).
DEFAULT_TITLE_RANKER = _hand_ranker(TITLE_FEATURES, {
    "overlap": 2.5, "log_rank": -0.3, "words_4_25": 0.6, "words_le3": -0.4, "sentence": -1.5,
    "in_body": -1.0, "next_meta": 2.0, "meta_soon": 1.0, "below_meta": -1.0, "caption": -1.5,
    "prev_same": 0.3, "prev_ends_with": 0.5})
DEFAULT_OUTLET_RANKER = _hand_ranker(OUTLET_FEATURES, {
    "copyright": 2.0, "corporate_word": -1.5, "lead_phrase": 1.5, "trail_phrase": 1.0,
    "standalone": 0.5, "standalone_known": 0.5, "top_line": 1.0, "domain": 1.5,
    "known_domain": 0.5, "byline_tail": 1.0, "staff": 1.0, "self_declared": 1.0,
    "parent": -1.0, "known": 1.0, "wire": -0.5, "furniture_mentions": 0.5, "dateline": 1.0,
    "outlet_list": -0.5})


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

    def headline_line(self) -> int | None:
        """Where the headline stands, stored or refused: bylines and dates sit by it."""
        source = self.sources.get("title", {})
        line = source.get("line")
        return line if line is not None else source.get("candidate_line")

    def weighed(self, name: str, confidence: float, candidates: list[tuple[str, float]]) -> None:
        """Note how sure the choice of `name` was and what else was considered."""
        self.sources[name].update(
            confidence=round(confidence, 3),
            candidates=[{"value": value, "share": round(share, 3)}
                        for value, share in candidates[:_SHOWN_CANDIDATES]])

    def refused(self, name: str, best: str, line: int | None, confidence: float,
                candidates: list[tuple[str, float]], why: str = "is too uncertain") -> None:
        """Store nothing for `name`: its best candidate is more likely wrong than right."""
        self.sources[name] = {
            "rule": f"left unknown: the best candidate, {best!r}, {why}",
            "line": None, "refused": True, "candidate_line": line}
        self.weighed(name, confidence, candidates)


def find_metadata(lines: list[str], cleaned: CleanedLines, hints: Mapping[str, str],
                  model: LineModel | None = None,
                  trace: dict[str, Any] | None = None) -> DumpMetadata:
    """Look around the article's first lines for its headline, byline and date, and over the
    whole page for the outlet's name.

    `model` supplies the headline and outlet rankers (the shipped ones by default); `trace`,
    if given, receives each ranker's candidates and features (for training).
    """
    meta = DumpMetadata()
    stripped = [line.strip() for line in lines]
    first = cleaned.kept[0] if cleaned.kept else cleaned.main_start
    head = _head_lines(stripped, first)
    model = model or shipped_model()
    _find_title(stripped, first, cleaned, meta, model.title_ranker or DEFAULT_TITLE_RANKER,
                model.title_accept, trace)
    anchor = meta.headline_line()
    _find_byline(stripped, head, first, anchor, meta)
    _find_date(stripped, head, first, anchor, cleaned, meta, _day_first(stripped, cleaned),
               _page_language(stripped, cleaned, hints))
    site = _find_outlet(stripped, cleaned, meta, hints,
                        model.outlet_ranker or DEFAULT_OUTLET_RANKER, model.outlet_accept, trace)
    _strip_site_tail(meta, site)
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

def _weigh(scores: np.ndarray, row: np.ndarray, values: list[str], features: tuple[str, ...],
           acceptor: Acceptor | None) -> tuple[float, list[tuple[str, float]]]:
    """The acceptor's confidence in the best candidate (the ranker's share of it where there
    is no acceptor), and every candidate with its share, best first."""
    shares = np.exp(scores - scores.max())
    shares /= shares.sum()
    order = np.argsort(-scores, kind="stable")
    considered: list[tuple[str, float]] = []
    for k in order:
        if all(values[k] != seen for seen, _ in considered):
            considered.append((values[k], float(shares[k])))
    if acceptor is None:
        return float(shares[order[0]]), considered
    subset = [features.index(name) for name in acceptor.features[len(ACCEPT_CONTEXT):]]
    return acceptor.confidence(scores[rivals(values, int(order[0]))], row[subset]), considered


def _find_title(stripped: list[str], first: int, cleaned: CleanedLines, meta: DumpMetadata,
                ranker: Ranker, acceptor: Acceptor | None,
                trace: dict[str, Any] | None) -> None:
    flags = LineFlags(stripped, cleaned)
    candidates = candidate_lines(flags, first)
    if not candidates:
        return
    page = "\n".join(stripped)
    page_lower = page.lower()
    x = title_features(flags, candidates, first, page_lower)
    texts = [restore_case(" ".join(strip_trail(stripped[i]).split()), page, page_lower)
             for i in candidates]
    if trace is not None:
        trace["title"] = (texts, x)
    scores = ranker.scores(x)
    best = int(np.argmax(scores))
    index = candidates[best]
    if index in cleaned.kept and x[best, _SENTENCE]:
        return  # the article's first sentence: this page printed no headline
    confidence, considered = _weigh(scores, x[best], texts, TITLE_FEATURES, acceptor)
    if acceptor is not None and confidence < acceptor.threshold:
        meta.refused("title", texts[best], index, confidence, considered)
        return
    meta.found("title", texts[best], index, "headline-like line above the article")
    meta.weighed("title", confidence, considered)
    if index in cleaned.kept and index == first:
        meta.consumed.add(index)


# --- byline ------------------------------------------------------------------------------

def _find_byline(stripped: list[str], head: list[int], first: int, anchor: int | None,
                 meta: DumpMetadata) -> None:
    near = set(head)
    if anchor is not None:  # a headline far above the text still has its byline beside it
        near.update(i for i in range(max(0, anchor - 4), min(len(stripped), anchor + 6))
                    if stripped[i])
    order = sorted(near, key=lambda i: (abs(i - anchor) if anchor is not None else 0, i))
    for index in order:
        line = stripped[index]
        if word_total(line) > 30:
            continue
        if match := BYLINE.match(line):
            name, rule = _clean_person(match["name"]), "'By …' line near the headline"
        elif anchor is not None and abs(index - anchor) <= 3 and ROLE_BYLINE.match(line):
            name, rule = _clean_person(line.split(",")[0]), "'Name, … Writer' line"
        else:
            continue
        if name:
            meta.found("byline", name, index, rule)
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
               cleaned: CleanedLines, meta: DumpMetadata, day_first: bool,
               language: Callable[[], str | None]) -> None:
    centre = anchor if anchor is not None else first
    near = set(head)
    if anchor is not None:
        near.update(i for i in range(max(0, anchor - 4), min(len(stripped), anchor + 6))
                    if stripped[i])
    # "Published Thursday 27 July 2017" under a headline further down than the first kept line.
    near.update(i for i in range(first, min(len(stripped), first + _PUBLISHED_REACH))
                if stripped[i] and PUBLISHED.match(stripped[i]))
    best: tuple[float, int, PublishedDate] | None = None
    for index in near:
        line = stripped[index]
        published = _publication_date(line, day_first, language)
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
    # "First published on …" at the foot of the article: among its last lines, or between
    # them where the classifier dropped it, or just after them.
    start = cleaned.kept[-12:][0] if cleaned.kept else cleaned.main_end + 1
    for index in range(start, min(len(stripped), cleaned.main_end + 20)):
        line = stripped[index]
        if PUBLISHED.search(line) and (published := _publication_date(line, day_first,
                                                                       language)):
            meta.found("published", published, index, "'published' line in the article")
            if word_total(line) <= 14:
                meta.consumed.add(index)
            return


def _publication_date(line: str, day_first: bool, language: Callable[[], str | None]
                      ) -> PublishedDate | None:
    """The first date in the line that is not an 'updated' date; None if it has no year."""
    if len(line) > 200:
        # "April 17, 2015 -- Imagine ...": a dateline opening the first paragraph.
        dateline = _DATELINE_DATE.match(line)
        return _date_from_text(dateline["date"], day_first, language) if dateline else None
    line = _GLUED_YEAR.sub(r"\1 \2", line)
    for segment in _segments(line):
        text = segment
        if updated := UPDATED.search(segment):  # "Nov 18, 2019 - Updated Nov 18": first part
            text = segment[: updated.start()]
        match = find_date(text)
        if match:
            return _date_from_text(match.group(0), day_first, language)
        if word_total(text) <= 6 and (month := _MONTH_YEAR.search(text)):
            # "October 2022": month precision
            return _date_from_text(month.group(0), day_first, language)
        if DATE_NO_YEAR.search(text):
            return None  # a stated date without its year: unknown, never guessed
    return None


def _segments(line: str) -> list[str]:
    parts = [p for p in _SEGMENT_SPLIT.split(line) if p.strip()]
    return parts or [line]


def _date_from_text(text: str, day_first: bool, language: Callable[[], str | None]
                    ) -> PublishedDate | None:
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
    return parse_date(text, language)  # month names of every language in the table


def _page_language(stripped: list[str], cleaned: CleanedLines, hints: Mapping[str, str]
                   ) -> Callable[[], str | None]:
    """The page's language, worked out on first call: only a month name that two languages
    read differently needs it ("listopada": November in Polish, October in Croatian)."""
    @cache
    def language() -> str | None:
        return hints.get("language") or detect_language(
            " ".join(stripped[i] for i in cleaned.kept))

    return language


def _day_first(stripped: list[str], cleaned: CleanedLines) -> bool:
    """Whether numeric dates read day first: everywhere but in English-language pages."""
    sample = " ".join(stripped[i] for i in cleaned.kept[:8]).casefold().split()
    english = sum(1 for w in sample if w in {"the", "and", "of", "to", "is", "was", "in"})
    return english < max(3, len(sample) // 20)


# --- outlet ------------------------------------------------------------------------------

def _find_outlet(stripped: list[str], cleaned: CleanedLines, meta: DumpMetadata,
                 hints: Mapping[str, str], ranker: Ranker, acceptor: Acceptor | None,
                 trace: dict[str, Any] | None) -> str | None:
    """Find the outlet; return the site's best-supported name even when too uncertain to
    store (it still tells a "Headline | Site" tail from the headline)."""
    url = hints.get("url")
    if url and (name := outlet_for_url(url)):
        meta.found("outlet", name, None, "outlet table, by domain of the supplied url")
        return name
    near = tuple(meta.sources[k]["line"] for k in ("byline", "date")
                 if k in meta.sources and meta.sources[k]["line"] is not None)
    ctx = OutletContext(stripped, frozenset(cleaned.kept),
                        cleaned.kept[0] if cleaned.kept else cleaned.main_start, near,
                        meta.headline_line(), meta.byline)
    candidates = outlet_candidates(ctx)
    if not candidates:
        return None
    x = feature_matrix(candidates)
    if len(candidates) == 1:
        # A wire service named by a page that names no other site is the agency's own page
        # ("MOSCOW, March 3. /TASS/"); a syndicated copy names its host site too.
        x[:, _WIRE] = 0.0
    names = [c.name() for c in candidates]
    if trace is not None:
        trace["outlet"] = (names, x)
    scores = ranker.scores(x)
    best = int(np.argmax(scores))
    chosen = candidates[best]
    line = min(chosen.lines) if chosen.lines else None
    confidence, considered = _weigh(scores, x[best], names, OUTLET_FEATURES, acceptor)
    if chosen.cues.get("common_word") and " " not in names[best] and \
            names[best] != names[best].lower() and not chosen.canonical():
        # "Task", "Topics": a word the page also writes in its text is a label, unless the
        # outlet table knows it as a name ("Salon"). Without case (光明网) the ranker and the
        # acceptor decide alone. This rule is named first, whatever the confidence: it is
        # the reason that holds however the weights move.
        meta.refused("outlet", names[best], line, confidence, considered,
                     why="a word the page also uses in lower case, and no outlet the table "
                         "knows")
        return names[best]
    if acceptor is not None and confidence < acceptor.threshold:
        meta.refused("outlet", names[best], line, confidence, considered)
        return names[best]
    present = dict(zip(ranker.features, x[best].tolist(), strict=True))
    support = sorted(((v, f) for f, v in ranker.contributions(x[best]).items()
                      if v > 0 and present[f] > 0 and f in CUE_NAMES), reverse=True)
    cues = ", ".join(CUE_NAMES[f] for _, f in support[:3]) or "best of the names it uses"
    meta.found("outlet", names[best], line, f"site names itself: {cues}")
    meta.weighed("outlet", confidence, considered)
    return names[best]


def _strip_site_tail(meta: DumpMetadata, site: str | None) -> None:
    """"Headline | Site": the site's name is not part of the headline."""
    if not meta.title or not site:
        return
    key = outlet_key(site)
    for match in _TITLE_TAIL.finditer(meta.title):
        if outlet_key(meta.title[match.end():]) == key:
            meta.title = meta.title[: match.start()].rstrip()
            return
