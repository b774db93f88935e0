"""The headline of a text dump: which line above the article is its title.

Every plausible line near the article's start is a candidate; a linear ranker
(tools/train_textdump.py) weighs what a reader uses: the headline shares the article's
words, sits just above the byline or date, is not a sentence, and is often printed again
elsewhere on the page (breadcrumb trail, share text, "Headline | Site" lines).
"""

from __future__ import annotations

import math
import re
from collections import Counter

import numpy as np

from archive.textdump.clean import CleanedLines, word_total
from archive.textdump.lexicon import DATE_NO_YEAR, STOP_WORDS, WORD

TITLE_FEATURES = (
    "overlap", "log_rank", "log_gap", "words_4_25", "words_le3", "log_words", "sentence",
    "in_body", "first_kept", "next_meta", "meta_soon", "prev_meta", "below_meta", "caption",
    "prev_same", "prev_ends_with", "under_shorter", "exact_repeat", "within_longer", "repeat_tail",
    "wraps_other", "all_caps", "capitalised", "question", "colon_end", "separator",
    "article_p", "breadcrumb", "page_top_short",
)
# What the acceptor weighs of the winning line besides the ranker's certainty.
TITLE_ACCEPT = ("overlap", "next_meta", "meta_soon", "in_body", "below_meta", "caption",
                "exact_repeat", "repeat_tail", "words_le3", "separator", "breadcrumb",
                "article_p")
_F = {name: i for i, name in enumerate(TITLE_FEATURES)}
# Non-furniture lines looked at above the article's first line, and lines at most.
_WINDOW = 30
_MAX_REACH = 120
# Lines of the article itself that may be its headline (a dump where the title was kept).
_BELOW = 3
# A headline with its byline or date under it may sit below a few kept lines (a sign-in
# prompt, a menu's descriptions the classifier kept): up to this many kept lines down, with
# fewer than this many kept words above it (more, and it is a related story's box).
_BELOW_ANCHORED = 8
LEAD_IN_WORDS = 100
# The article lines whose words a headline shares.
_LEAD_LINES = 6
# "Ann Lee, AP Business Writer": a byline without "By".
ROLE_BYLINE = re.compile(
    r"^[A-ZÀ-Ý][\w.'’-]+(?:\s+[A-ZÀ-Ý][\w.'’-]+){1,3}\s*[,|/–—-]\s*.{0,40}\b(?i:writer|"
    r"reporter|editor|correspondent|columnist|contributor|staff|producer|journalist|critic|"
    r"editor-at-large|analyst)s?\b.{0,20}$"
)
# "Jane Doe/Example Photo Agency": a photo credit.
_SLASH_CREDIT = re.compile(r"^[A-ZÀ-Ý][\w.'’ -]{1,40}[^\s/]/[A-ZÀ-Ý][\w.'’ &-]{1,40}$")
# How a photo caption ends: a credit in brackets after its sentence, or a photographer and
# agency after a dash; a count in brackets ends a linked teaser ("... 46 or 47 (129)").
# Brackets alone do not make a caption: headlines explain themselves in brackets too.
_CAPTION_END = re.compile(
    r"(?:[.!?]\s*\([^()]{1,80}\)|\((?i:photos?|fotos?|credit|source|image|picture|bild)\b[^()]*\)"
    r"|\([^()]*\w/\w[^()]*\)|\(\d+\)|\s[-–—|]\s+[A-ZÀ-Ý][\w.'’ -]{1,40}[^\s/]/"
    r"[A-ZÀ-Ý][\w.'’ &-]{1,40})$")
_TAILS = (" | ", " - ", " – ", " — ", " : ", ": ")
_SEPARATOR = re.compile(r"\s[|–—-]\s|\s\|\s?|::")
# "Home > Music > News", "BLOG » Weight Loss": a trail of sections, not a headline.
_CRUMB_MARK = re.compile(r"\s?[>»›/]\s")
_MENU_BAR = re.compile(r"\s?\|\s?")
# A list item ("+ Added new blocks", "• Item"): headlines are never bulleted.
_BULLET = re.compile(r"^[+•*·▪►‣◦-]\s")
# Calls to action: a prompt to subscribe or sign in is page furniture, whatever it says.
_CALL_TO_ACTION = re.compile(r"(?i)\b(?:subscribe|newsletters?|sign[ -]?up|sign[ -]?in|log[ -]?in|"
                             r"create an account)\b")
_CRUMB_START = re.compile(r"(?i)^(?:home|start|startseite|accueil|inicio|início|главная|"
                          r"головна|strona główna|úvod|首页|ホーム|홈)\b")


class LineFlags:
    """What the line classifier's features already say about each line, looked up by index."""

    def __init__(self, stripped: list[str], cleaned: CleanedLines) -> None:
        self.stripped = stripped
        self.cleaned = cleaned
        self._meta: dict[int, bool] = {}

    def words(self, index: int) -> int:
        return round(math.expm1(self.cleaned.feature(index, "log_words")))

    def is_meta(self, index: int) -> bool:
        """A byline or dateline: what follows a headline."""
        if index not in self._meta:
            self._meta[index] = self._is_meta(index)
        return self._meta[index]

    def _is_meta(self, index: int) -> bool:
        line = self.stripped[index]
        if not line or len(line) > 200:
            return False
        feature = self.cleaned.feature
        if feature(index, "byline") or feature(index, "date") or feature(index, "relative_time"):
            return True
        words = self.words(index)
        if words <= 14 and ROLE_BYLINE.match(line):
            return True
        return words <= 12 and bool(feature(index, "time")) and bool(DATE_NO_YEAR.search(line))

    def plausible(self, index: int) -> bool:
        """Whether the line could be a headline at all."""
        line = self.stripped[index]
        words = self.words(index)
        if words < 2 or words > 40 or len(line) > 300 or self.cleaned.is_furniture(index):
            return False
        feature = self.cleaned.feature
        if feature(index, "credit") or feature(index, "byline") or feature(index, "date") or \
                feature(index, "relative_time") or (words <= 2 and line.isupper()) or \
                _SLASH_CREDIT.match(line):
            return False
        if len(_MENU_BAR.findall(line)) >= 3 or (
                len(_CRUMB_MARK.findall(line)) >= 2 and word_total(strip_trail(line)) < 4):
            return False  # "A| B| C| D": a menu bar; "Home > News > 2015": a bare trail
        if _is_menu(line) or _BULLET.match(line) or _CALL_TO_ACTION.search(line):
            return False
        return not self.is_meta(index)


def _is_menu(line: str) -> bool:
    """"Symptoms| Doctors| Health Care Reform": three or more short labels between bars."""
    parts = [part.strip() for part in line.split("|")]
    return len(parts) >= 3 and all(0 < word_total(part) <= 3 for part in parts)


def strip_trail(line: str) -> str:
    """"Site > News > 2015 > Headline": the headline at the end of a breadcrumb trail."""
    parts = _CRUMB_MARK.split(line)
    return parts[-1].strip() if len(parts) >= 3 else line


def candidate_lines(flags: LineFlags, first: int) -> list[int]:
    """Non-empty lines near the article's start, nearest first, that could be a headline."""
    stripped, cleaned = flags.stripped, flags.cleaned
    out = _lines_above(flags, first, _WINDOW)
    # The article's first lines, and lines the classifier dropped among them (a headline under
    # a breadcrumb trail the classifier kept).
    kept = cleaned.kept
    if not kept:
        return out
    last = kept[min(_BELOW_ANCHORED, len(kept)) - 1]
    leading = set(kept[:_BELOW])
    lead_end = _lead_end(kept)
    kept_set = set(kept[:_BELOW_ANCHORED])
    below = []
    words_above = 0
    for i in range(first, last + 1):
        if stripped[i] and flags.plausible(i) and (i in leading or (
                (i <= lead_end or words_above < LEAD_IN_WORDS) and
                any(flags.is_meta(k) for k in _nonempty(stripped, i, 1, 2)))):
            below.append(i)
        if i in kept_set:
            words_above += flags.words(i)
    return out + below


def _lines_above(flags: LineFlags, start: int, window: int) -> list[int]:
    """Plausible headlines above line `start`, nearest first, within `window` counted lines."""
    stripped, cleaned = flags.stripped, flags.cleaned
    out: list[int] = []
    counted = 0
    index = start - 1
    while index >= 0 and counted < window and start - index <= _MAX_REACH:
        if stripped[index]:
            counted += not cleaned.is_furniture(index)
            if flags.plausible(index):
                out.append(index)
        index -= 1
    return out


def restore_case(text: str, page: str, page_lower: str) -> str:
    """A headline printed in capitals, with the casing of its other printing on the page.

    `page_lower` is `page.lower()`; where lower-casing changed the page's length, offsets
    do not line up and the text is returned as it is.
    """
    if not (text.isupper() and any(c.isalpha() for c in text)) or len(page) != len(page_lower):
        return text
    needle = text.lower()
    at = page_lower.find(needle)
    while at >= 0:
        piece = page[at:at + len(text)]
        if not piece.isupper():
            return piece
        at = page_lower.find(needle, at + 1)
    return text


def title_features(flags: LineFlags, candidates: list[int], first: int,
                   page_lower: str) -> np.ndarray:
    """The ranker's view of each candidate line."""
    stripped, cleaned = flags.stripped, flags.cleaned
    kept, scores = cleaned.kept, cleaned.scores
    lead_lines = kept[:_LEAD_LINES]
    kept_set = set(kept)
    lead_words = _words_of(lead_lines, stripped)
    lead_end = _lead_end(kept) if kept else first
    is_meta = flags.is_meta
    lowered = {i: stripped[i].lower() for i in candidates}
    line_counts = Counter(s.lower() for s in stripped if s)
    longish = [lowered[j] for j in candidates if len(lowered[j]) >= 20]
    candidate_set = set(candidates)
    top = min(candidates)
    page_top = next((i for i, line in enumerate(stripped) if line), -1)
    meta_lines = [k for k in range(top, first) if stripped[k] and is_meta(k)]
    rows = np.zeros((len(candidates), len(TITLE_FEATURES)))
    gap = 0
    previous = first
    for rank, index in enumerate(candidates):
        line = stripped[index]
        row = rows[rank]
        if index < first:
            gap += sum(1 for k in range(index + 1, previous) if stripped[k] and
                       not cleaned.is_furniture(k))
            previous = index
        words = flags.words(index)
        tokens = {t.casefold() for t in WORD.findall(line)}
        content = [t for t in tokens if t not in STOP_WORDS and not t.isdigit()]
        if index > lead_end:
            # A headline below kept lines (a sign-in prompt the classifier kept) shares the
            # words of the lines after it.
            words_of, own = _words_of([i for i in kept if i > index][:_LEAD_LINES], stripped), 0
        else:
            words_of = lead_words
            own = 1 if index in lead_lines else 0  # the lead's words, this line's own left out
        row[_F["overlap"]] = sum(1 for t in content if words_of[t] > own) / len(content) \
            if content else 0.0
        row[_F["log_rank"]] = math.log1p(rank)
        row[_F["log_gap"]] = math.log1p(gap) if index < first else 0.0
        row[_F["words_4_25"]] = float(4 <= words <= 25)
        row[_F["words_le3"]] = float(words <= 3)
        row[_F["log_words"]] = math.log1p(words)
        row[_F["sentence"]] = float(line[-1] == "." and words >= 5 and not line.endswith(".."))
        row[_F["in_body"]] = float(index in kept_set)
        row[_F["first_kept"]] = float(index == first)
        below = _nonempty(stripped, index, 1, 4)
        above = _nonempty(stripped, index, -1, 4)
        if below:
            row[_F["next_meta"]] = float(is_meta(below[0]))
            row[_F["meta_soon"]] = float(not row[_F["next_meta"]] and
                                         any(is_meta(k) for k in below[1:]))
        if above:
            prev = above[0]
            row[_F["prev_meta"]] = float(is_meta(prev))
            row[_F["prev_same"]] = float(stripped[prev] == line)
            row[_F["prev_ends_with"]] = float(stripped[prev] != line and
                                              stripped[prev].endswith(line))
            # A standfirst sits right under its headline and says more in more words.
            row[_F["under_shorter"]] = float(prev in candidate_set and
                                             4 <= flags.words(prev) < words)
        # Between a byline or date above and the text below: a standfirst or a caption.
        row[_F["below_meta"]] = float(index < first and any(is_meta(k) for k in above) and
                                      not (meta_lines and meta_lines[-1] > index))
        row[_F["caption"]] = float(words >= 12 and bool(_CAPTION_END.search(line)))
        low = lowered[index]
        total = page_lower.count(low)
        exact = line_counts[low] - 1
        row[_F["exact_repeat"]] = math.log1p(exact)
        row[_F["within_longer"]] = math.log1p(max(0, total - 1 - exact))
        row[_F["repeat_tail"]] = float(total > 1 and _has_tailed_copy(low, page_lower))
        row[_F["wraps_other"]] = float(len(low) > 20 and any(
            len(other) < len(low) and low.endswith(other) for other in longish))
        row[_F["all_caps"]] = float(line.isupper())
        firsts = [t[0] for t in WORD.findall(line) if t[0].isalpha()]
        row[_F["capitalised"]] = sum(map(str.isupper, firsts)) / len(firsts) if firsts else 0.0
        row[_F["question"]] = float(line.endswith(("?", "!")))
        row[_F["colon_end"]] = float(line.endswith(":"))
        row[_F["separator"]] = float(bool(_SEPARATOR.search(line)))
        row[_F["article_p"]] = scores.get(index, 0.0)
        # A dump's first line is the site's name or menu far more often than a headline.
        row[_F["page_top_short"]] = float(index == page_top and words <= 3)
        row[_F["breadcrumb"]] = float(len(_CRUMB_MARK.findall(line)) >= 2 or
                                      bool(_CRUMB_START.match(line)))
    return rows


def _lead_end(kept: list[int]) -> int:
    """The last of the kept lines that may be the headline however far down it stands."""
    return kept[min(_BELOW, len(kept)) - 1]


def _words_of(lines: list[int], stripped: list[str]) -> Counter[str]:
    """In how many of `lines` each word occurs."""
    counts: Counter[str] = Counter()
    for i in lines:
        counts.update(set(WORD.findall(stripped[i].casefold())))
    return counts


def _nonempty(stripped: list[str], index: int, step: int, count: int) -> list[int]:
    """The next `count` non-empty lines after (step 1) or before (step -1) `index`."""
    out: list[int] = []
    k = index + step
    while 0 <= k < len(stripped) and len(out) < count and abs(k - index) <= 3 * count:
        if stripped[k]:
            out.append(k)
        k += step
    return out


def _has_tailed_copy(low: str, page_lower: str) -> bool:
    """Whether the page also prints the line with a site's name after it ("X | Site")."""
    at = page_lower.find(low)
    while at >= 0:
        if page_lower.startswith(_TAILS, at + len(low)):
            return True
        at = page_lower.find(low, at + 1)
    return False
