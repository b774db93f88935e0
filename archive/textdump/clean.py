"""Line classifier for text dumps: which lines are the article and which are page furniture."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from archive.textdump.features import _INDEX, line_matrix, word_count
from archive.textdump.lexicon import (
    COMMENT_FORM,
    CREDIT,
    LIST_HEADING,
    SENTENCE_END,
    WIDGET_LINE,
    is_timestamp,
    poster_and_time,
)
from archive.textdump.model import LineModel, shipped_model

__all__ = ["CleanedLines", "clean_lines", "furniture_reason", "is_prose", "word_total"]

# Below this many characters a repeated line is a label ("Share", "1"), not a printed-twice caption.
_MIN_DUPLICATE_CHARS = 15
# Doubtful lines (probability at least _DOUBT) count as article when article text lies within
# _GAP lines on both sides; furniture-looking lines go unless the model is _SURE.
_DOUBT = 0.35
_GAP = 3
_PROSE_GAP = 8
_HEADING_DOUBT = 0.15
_PROSE_DOUBT = 0.25
_SURE = 0.9
# A run of doubtful rows with article on both sides (two rows before it, three after) is kept
# when it is at most this long and its rows look at least this much like article text.
_SANDWICH_ROWS = 40
_SANDWICH_FLOOR = 0.03
_SANDWICH_MEAN = 0.12
_ICON_LABELS = re.compile(r"(?i)\ban icon\b.*\ban icon\b|\bicon of\b.*\bicon of\b")
# Reader comments: at least _THREAD_POSTS posting times, each within _THREAD_GAP rows of the
# last, most of them beside a short line (the commenter's name).
_THREAD_POSTS = 3
_THREAD_GAP = 12
_NAME_WORDS = 4
_THREAD_HEADINGS = 2
# A kept text shorter than this is not an article: the classifier missed it.
_MIN_ARTICLE_WORDS = 25
# A list item's bullet: the classifier's BULLET, and the "+" of changelogs.
_LIST_ITEM = re.compile(r"^(?:[-–—•·*▪►»›+]\s|\d{1,2}[.)]\s)")
_SITE_NOTICE = re.compile(r"(?i)\ball rights? reserved\b|todos os direitos reservados|"
                          r"tous droits réservés|alle rechte vorbehalten|版权所有|版權所有")


@dataclass(frozen=True, slots=True)
class CleanedLines:
    """The verdict on each line of a dump."""

    kept: list[int]
    reasons: dict[int, str] = field(default_factory=dict)
    main_start: int = 0  # first line of the article's main block
    main_end: int = 0  # last line of it
    # Probability of being article text, for each non-empty line (by line index).
    scores: dict[int, float] = field(default_factory=dict)
    # The classifier's features of each non-empty line, and the line index of each row: the
    # metadata finders reuse them instead of matching the same patterns again.
    features: np.ndarray | None = None
    rows: dict[int, int] = field(default_factory=dict)

    _columns: dict[str, list[float]] = field(default_factory=dict, repr=False)

    def feature(self, index: int, name: str) -> float:
        """One line feature (see features.LINE_FEATURES) of line `index`; 0 for blank lines."""
        row = self.rows.get(index)
        if row is None or self.features is None:
            return 0.0
        column = self._columns.get(name)
        if column is None:
            column = self._columns[name] = self.features[:, _INDEX[name]].tolist()
        return column[row]

    def is_furniture(self, index: int) -> bool:
        """Whether furniture_reason() would name a reason for the line."""
        return bool(self.feature(index, "widget") or self.feature(index, "list_heading"))

    def removed_spans(self) -> list[dict[str, object]]:
        """Runs of removed lines with one reason each, for provenance.

        Blank lines between two removed lines with the same reason join the run, so a menu
        separated by empty lines is one span.
        """
        spans: list[dict[str, object]] = []
        kept = set(self.kept)
        for index in sorted(self.reasons):
            reason = self.reasons[index]
            last = spans[-1] if spans else None
            if last and last["reason"] == reason and not any(
                    i in kept for i in range(int(last["end"]) + 1, index)):  # type: ignore[call-overload]
                last["end"] = index
            else:
                spans.append({"start": index, "end": index, "reason": reason})
        return spans


def word_total(line: str) -> int:
    """Words in a line (scripts without spaces count by characters)."""
    return word_count(line)


def is_prose(line: str) -> bool:
    """A line that reads like sentences: long enough, with sentence punctuation."""
    words = word_total(line)
    if words >= 20:
        return True
    return words >= 8 and bool(SENTENCE_END.search(line))


def furniture_reason(line: str) -> str | None:
    """Why a line is page furniture whatever its surroundings, or None."""
    if len(line) <= 160 and WIDGET_LINE.match(line):
        return "page furniture"
    if len(line) <= 80 and LIST_HEADING.match(line):
        return "list of other stories"
    return None


def clean_lines(lines: list[str], is_boilerplate: Callable[[str], bool] | None = None,
                *, model: LineModel | None = None) -> CleanedLines:
    """Classify every line of a dump as article text or furniture.

    `is_boilerplate` names lines known to recur across an outlet's pages; they are furniture.
    """
    model = model or shipped_model()
    stripped = [line.strip() for line in lines]
    x, rows, aside = line_matrix(lines)
    if not rows:
        return CleanedLines(kept=[])
    p = model.probabilities(x)
    keep = p >= model.threshold
    reasons: dict[int, str] = {}
    prose = x[:, _INDEX["prose"]] > 0
    heading = (x[:, _INDEX["words_le12"]] > 0) & (x[:, _INDEX["sentence_end"]] == 0) & \
        (x[:, _INDEX["widget"]] == 0) & (x[:, _INDEX["list_heading"]] == 0) & \
        (x[:, _INDEX["words_le1"]] == 0)
    barrier = x[:, _INDEX["list_heading"]] > 0
    lead_in = np.array([stripped[index].endswith(":") for index in rows]) & \
        (x[:, _INDEX["widget"]] == 0)
    _bridge(p, keep, prose, heading, barrier, lead_in, aside)
    for k, index in enumerate(rows):
        line = stripped[index]
        if is_boilerplate is not None and is_boilerplate(line):
            keep[k] = False
            reasons[index] = "recurs across the outlet's pages"
        elif _ICON_LABELS.search(line):
            keep[k] = False
            reasons[index] = "icon labels"
        elif keep[k] and p[k] < _SURE and (reason := furniture_reason(line)):
            keep[k] = False
            reasons[index] = reason
    _drop_printed_twice(stripped, rows, keep, reasons)
    words = np.expm1(x[:, _INDEX["log_words"]])
    _drop_comment_threads(stripped, rows, keep, words, prose, reasons)
    _drop_after_comment_form(stripped, rows, keep, words, reasons)
    _drop_after_site_notice(stripped, rows, keep, words, reasons)
    if words[keep].sum() < _MIN_ARTICLE_WORDS:
        _keep_best_run(p, keep, model.threshold)
    _keep_whole_lists([_bullet(stripped[index]) for index in rows], keep,
                      barrier | np.array([index in reasons for index in rows]))
    kept = [index for k, index in enumerate(rows) if keep[k]]
    first = kept[0] if kept else rows[0]
    last = kept[-1] if kept else rows[0]
    for k, index in enumerate(rows):
        if not keep[k] and index not in reasons:
            reasons[index] = _reason(x[k], index, first, last)
    return CleanedLines(kept=kept, reasons=reasons, main_start=first, main_end=last,
                        scores={index: float(p[k]) for k, index in enumerate(rows)},
                        features=x, rows={index: k for k, index in enumerate(rows)})


def _bridge(p: np.ndarray, keep: np.ndarray, prose: np.ndarray, heading: np.ndarray,
            barrier: np.ndarray, lead_in: np.ndarray, aside: np.ndarray) -> None:
    """Keep doubtful lines that sit inside the article, and prose that continues it.

    A live blog's headings, a section heading, a paragraph after a newsletter box look
    doubtful on their own; with article text close on both sides, or prose running on from
    it, they are article.
    """
    n = len(p)
    if not keep.any():
        return
    _fill_gaps(p, keep, prose, barrier)
    _keep_introduced_lists(p, keep, prose, barrier, lead_in)
    changed = True
    while changed:
        changed = False
        for k in range(n):
            if keep[k] or not prose[k] or p[k] < _PROSE_DOUBT or barrier[k]:
                continue
            if _kept_near(keep, barrier, aside, k, -1) or \
                    _kept_near(keep, barrier, aside, k, 1):
                keep[k] = changed = True
    for k in range(1, n - 1):
        if not keep[k] and heading[k] and keep[k + 1] and p[k] >= _HEADING_DOUBT and \
                keep[max(0, k - _PROSE_GAP):k].any():
            keep[k] = True
    _fill_gaps(p, keep, prose, barrier)
    _keep_sandwiched_runs(p, keep, barrier)


def _keep_whole_lists(markers: list[str], keep: np.ndarray, barrier: np.ndarray) -> None:
    """A list's items go together: when two or more items of a run with the same bullet
    are article text, so are the others (a changelog's "+ Added …" lines look like
    furniture one by one, and a few pass). A run with a list heading or a line dropped for
    a reason of its own stays as it is."""
    n = len(markers)
    start = 0
    while start < n:
        end = start
        while end + 1 < n and markers[start] and markers[end + 1] == markers[start]:
            end += 1
        run = slice(start, end + 1)
        if markers[start] and end > start and keep[run].sum() >= 2 and not barrier[run].any():
            keep[run] = True
        start = end + 1


def _keep_introduced_lists(p: np.ndarray, keep: np.ndarray, prose: np.ndarray,
                           barrier: np.ndarray, lead_in: np.ndarray) -> None:
    """"The ties are:" after article text announces a list, and the prose after the list
    goes on with the article: keep all three, though the list's short rows look like
    furniture and the prose after them like the page's tail."""
    n = len(p)
    for k in np.flatnonzero(keep):
        intro = k + 1
        if intro >= n or keep[intro] or not lead_in[intro] or barrier[intro]:
            continue
        end = intro + 1
        while end < n and end - intro <= _SANDWICH_ROWS and not prose[end] and \
                not barrier[end] and not keep[end]:
            end += 1
        if end - intro < 2 or end >= n or barrier[end] or not prose[end] or \
                p[end] < _PROSE_DOUBT:
            continue
        keep[intro:end + 1] = True


def _keep_sandwiched_runs(p: np.ndarray, keep: np.ndarray, barrier: np.ndarray) -> None:
    """A list, a table or a code block between two stretches of article text is article too:
    its short lines look like furniture one by one, but furniture does not interrupt a text
    and carry on. Runs with a list heading, or too long, or too unlike text, stay out."""
    kept_rows = np.flatnonzero(keep)
    for before, after in zip(kept_rows[:-1], kept_rows[1:], strict=True):
        run = slice(before + 1, after)
        if after - before - 1 < 2 or after - before - 1 > _SANDWICH_ROWS or barrier[run].any():
            continue
        if p[run].min() >= _SANDWICH_FLOOR and p[run].mean() >= _SANDWICH_MEAN and \
                keep[max(0, before - 2):before + 1].all() and keep[after:after + 3].all():
            keep[run] = True


def _kept_near(keep: np.ndarray, barrier: np.ndarray, aside: np.ndarray, k: int,
               step: int) -> bool:
    """Whether a kept row lies within _GAP rows of k in one direction, with no list heading
    in between; asides (an advertisement's label, a code listing) do not count as rows."""
    j, counted = k + step, 0
    while 0 <= j < len(keep):
        if not aside[j]:
            counted += 1
            if counted > _GAP:
                return False
        if keep[j]:
            return True
        if barrier[j]:
            return False
        j += step
    return False


def _fill_gaps(p: np.ndarray, keep: np.ndarray, prose: np.ndarray, barrier: np.ndarray) -> None:
    kept_rows = np.flatnonzero(keep)
    for k in range(len(p)):
        if keep[k] or p[k] < _DOUBT or barrier[k]:
            continue
        before = kept_rows[kept_rows < k]
        after = kept_rows[kept_rows > k]
        if not len(before) or not len(after):
            continue
        reach = _PROSE_GAP if prose[k] else _GAP
        if k - before[-1] <= reach and after[0] - k <= reach and \
                not barrier[before[-1] + 1:after[0]].any():
            keep[k] = True


def _drop_comment_threads(stripped: list[str], rows: list[int], keep: np.ndarray,
                          words: np.ndarray, prose: np.ndarray,
                          reasons: dict[int, str]) -> None:
    """Reader comments after the article read like article text, line by line; what gives
    them away is their rhythm: a name and a posting time every few lines."""
    stamps, signed = [], set()
    for k, index in enumerate(rows):
        if is_timestamp(stripped[index]):
            stamps.append(k)
        elif poster_and_time(stripped[index]):
            stamps.append(k)
            signed.add(k)
    runs: list[list[int]] = []
    for k in stamps:
        if runs and k - runs[-1][-1] <= _THREAD_GAP:
            runs[-1].append(k)
        else:
            runs.append([k])
    for run in runs:
        # The article comes first: a posting time with no article above it is the article's
        # own date line.
        kept_before = np.cumsum(np.where(keep, words, 0.0)) - np.where(keep, words, 0.0)
        run = [k for k in run if kept_before[k] >= _MIN_ARTICLE_WORDS]
        if len(run) < _THREAD_POSTS:
            continue
        named = sum(k in signed or _is_name_line(stripped, rows, k - 1) or
                    _is_name_line(stripped, rows, k + 1) for k in run)
        if named * 3 < len(run) * 2:
            continue
        spacing = int(np.median(np.diff(run)))
        if spacing < 2:  # a list of times with nothing between them is a schedule
            continue
        start = run[0] if run[0] in signed else run[0] - 1
        for _ in range(_THREAD_HEADINGS):  # "34 responses to …", "Top Rated Comments"
            if start == 0 or not keep[start - 1] or prose[start - 1]:
                break
            start -= 1
        end = min(len(rows) - 1, run[-1] + spacing)
        for k in range(start, end + 1):
            if keep[k]:
                keep[k] = False
                reasons[rows[k]] = "reader comments"


def _drop_after_comment_form(stripped: list[str], rows: list[int], keep: np.ndarray,
                             words: np.ndarray, reasons: dict[int, str]) -> None:
    """"Leave a Reply" opens the readers' part of the page: its consent notes and comments
    are not the article, however much they read like it. The article must come first and
    stay the larger part."""
    for k, index in enumerate(rows):
        if not COMMENT_FORM.match(stripped[index]):
            continue
        before = words[:k][keep[:k]].sum()
        after = words[k:][keep[k:]].sum()
        if before >= _MIN_ARTICLE_WORDS and after < before:
            for j in np.flatnonzero(keep[k:]) + k:
                keep[j] = False
                reasons[rows[j]] = "reader comments"
        return


def _drop_after_site_notice(stripped: list[str], rows: list[int], keep: np.ndarray,
                            words: np.ndarray, reasons: dict[int, str]) -> None:
    """"© 2019 Example Inc. All Rights Reserved." closes the site's page: what reads like
    text after it is other stories' teasers or the next article of an endless page. The
    article must come first and stay the larger part."""
    for k, index in enumerate(rows):
        line = stripped[index]
        if len(line) > 300 or not _SITE_NOTICE.search(line):
            continue
        before = words[:k][keep[:k]].sum()
        if before < _MIN_ARTICLE_WORDS:
            continue  # a notice above the article
        if words[k + 1:][keep[k + 1:]].sum() < before:
            for j in np.flatnonzero(keep[k + 1:]) + k + 1:
                keep[j] = False
                reasons[rows[j]] = "after the site's copyright notice"
        return


def _is_name_line(stripped: list[str], rows: list[int], k: int) -> bool:
    if not 0 <= k < len(rows):
        return False
    line = stripped[rows[k]]
    return 0 < len(line) <= 40 and len(line.split()) <= _NAME_WORDS and \
        not SENTENCE_END.search(line) and not is_timestamp(line)


def _keep_best_run(p: np.ndarray, keep: np.ndarray, threshold: float) -> None:
    """When almost nothing passed, the page's most article-like run is still its article."""
    best = int(np.argmax(p))
    keep[best] = True
    floor = min(threshold, p[best]) / 2
    for step in (-1, 1):
        k = best + step
        while 0 <= k < len(p) and p[k] >= floor:
            keep[k] = True
            k += step


def _drop_printed_twice(stripped: list[str], rows: list[int], keep: np.ndarray,
                        reasons: dict[int, str]) -> None:
    """Captions are often printed twice in a row, the second time with the photo credit."""
    for k in range(len(rows) - 1):
        a, b = stripped[rows[k]], stripped[rows[k + 1]]
        if len(a) < _MIN_DUPLICATE_CHARS or len(b) < _MIN_DUPLICATE_CHARS:
            continue
        if a == b or b.startswith(a) or a.startswith(b):
            for j in (k, k + 1):
                keep[j] = False
                reasons[rows[j]] = "caption printed twice"


def _reason(row: np.ndarray, index: int, first: int, last: int) -> str:
    col = _INDEX
    if row[col["widget"]]:
        return "page furniture"
    if row[col["list_heading"]]:
        return "list of other stories"
    if row[col["credit"]]:
        return "photo caption"
    if row[col["copyright"]]:
        return "copyright notice"
    if index < first:
        return "before the article"
    if index > last:
        return "after the article"
    return "not article text"


def is_credit(line: str) -> bool:
    return len(line) <= 300 and bool(CREDIT.search(line))


def _bullet(line: str) -> str:
    """The bullet a list item starts with ("+", "•", "1." counts as "1"), or ""."""
    found = _LIST_ITEM.match(line)
    if not found:
        return ""
    mark = found.group().strip()
    return "1" if mark[:1].isdigit() else mark
