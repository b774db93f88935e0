"""Numeric features of each line of a text dump, for the article/furniture classifier.

Per-line features describe the text itself (length, punctuation, function words, widget
vocabulary); context features describe the neighbourhood (blank lines around it, how long and
prose-like the lines nearby are, whether the same text is printed elsewhere on the page).
"""

from __future__ import annotations

import math
import re
from collections import Counter

import numpy as np

from archive.textdump.lexicon import (
    AD_SLOT,
    BULLET,
    BYLINE,
    CODE_LINE,
    COPYRIGHT,
    CREDIT,
    KOREAN_PARTICLES,
    LIST_HEADING,
    QUOTE_START,
    RELATIVE_TIME,
    SENTENCE_BREAK,
    SEPARATORS,
    STOP_WORDS,
    TIME_TEXT,
    URLISH,
    WIDGET_LINE,
    WORD,
    find_date,
)

LINE_FEATURES = (
    "log_words", "log_chars", "words_le1", "words_le3", "words_le6", "words_le12", "words_ge25",
    "sentence_end", "ends_colon", "ends_question", "log_sentences", "commas_per_word",
    "stop_ratio", "stop_ge2", "capitalised_ratio", "all_caps", "digit_ratio", "letter_ratio",
    "separators", "bullet", "urlish", "hashtag", "time", "date", "relative_time", "widget",
    "list_heading", "copyright", "credit", "byline", "quote_start", "ellipsis_end",
    "cjk_ratio", "hiragana_ratio", "korean_particles", "paren_end", "dup_count", "dup_adjacent",
    "dup_prefix", "blank_before", "blank_after", "position", "prose", "tabs",
)
CONTEXT_FEATURES = (
    "win1_prose", "win3_prose", "win8_prose", "win3_log_words", "prev_prose", "next_prose",
    "prev_widget", "next_widget", "prev_log_words", "next_log_words", "blank_ratio_win4",
    "in_block", "dist_block_start", "dist_block_end", "after_list_heading", "block_share",
    "prose_before", "prose_after",
)
FEATURES = LINE_FEATURES + CONTEXT_FEATURES
_INDEX = {name: i for i, name in enumerate(LINE_FEATURES)}
# Cheap substring tests that must pass before the costlier patterns are tried.
_CLOSERS = "\"'”’»)]"
_ENDERS = frozenset(".!?…。！？")
_SEPARATOR_CHARS = "|›»•·"
_COPYRIGHT_CUES = ("©", "ⓒ", "(c)", "copyright", "rights", "direitos")
_CREDIT_CUES = ("photo", "image", "picture", "foto", "фото", "credit", "source", "illustration",
                "graphic", "video", "caption", "getty", "press", "reuters", "afp", "epa",
                "shutterstock", "istock", "(ap", "ap)", "pa)")


# Each alternative of URLISH contains one of these (lower-cased); lines without them skip it.
_URL_CUES = ("http", "www.", ".com", ".org", ".net", ".co", ".ru", ".br", ".kr", ".de", ".info")
# The cue lists as one pattern each: a single scan of the line instead of one per cue.
_CREDIT_CUE = re.compile("|".join(map(re.escape, _CREDIT_CUES)))
_COPYRIGHT_CUE = re.compile("|".join(map(re.escape, _COPYRIGHT_CUES)))
_URL_CUE = re.compile("|".join(map(re.escape, _URL_CUES)))
_NOT_LETTER = bytes(b for b in range(128) if not chr(b).isalpha())
_NOT_DIGIT = bytes(b for b in range(128) if not chr(b).isdigit())


def word_count(line: str) -> int:
    """Words in a line; scripts written without spaces count two characters as a word."""
    words = len(WORD.findall(line))
    han_kana = sum(1 for ch in line if "\u3040" <= ch <= "\u9fff")
    return max(words, han_kana // 2)


def line_vector(line: str) -> list[float]:
    """Features of one stripped, non-empty line on its own (no context)."""
    tokens = WORD.findall(line)
    n_tokens = len(tokens)
    cjk = hira = han = 0
    if not line.isascii() and max(line) >= "\u3040":
        for ch in line:
            if ch >= "\u3040":
                if ch <= "\u30ff":
                    hira += 1
                elif "\u4e00" <= ch <= "\u9fff":
                    han += 1
                elif "\uac00" <= ch <= "\ud7af":
                    cjk += 1
        cjk += hira + han
    words = max(n_tokens, (hira + han) // 2)
    chars = len(line)
    if line.isascii():  # count in C: delete what is not a letter (a digit), measure the rest
        data = line.encode("ascii")
        letters = len(data.translate(None, _NOT_LETTER))
        digits = len(data.translate(None, _NOT_DIGIT)) if n_tokens else 0
    else:
        letters = sum(map(str.isalpha, line))
        digits = sum(map(str.isdigit, line)) if n_tokens else 0
    nonspace = max(1, chars - line.count(" "))
    lower = line.lower()
    stops = sum(map(STOP_WORDS.__contains__, map(str.lower, tokens))) if n_tokens else 0
    firsts = [t[0] for t in tokens]
    n_alpha = sum(map(str.isalpha, firsts))
    capitalised = sum(map(str.isupper, firsts))
    korean = particles = 0
    if cjk:
        for t in tokens:
            if "\uac00" <= t[-1] <= "\ud7af":
                korean += 1
                particles += t[-1] in KOREAN_PARTICLES and len(t) > 1
    short = chars <= 160
    tail = line.rstrip(_CLOSERS)
    ends = bool(tail) and tail[-1] in _ENDERS
    dated = short and digits > 0
    credit = chars <= 300 and _CREDIT_CUE.search(lower) is not None and \
        bool(CREDIT.search(line))
    return [
        math.log1p(words),
        math.log1p(chars),
        float(words <= 1),
        float(words <= 3),
        float(words <= 6),
        float(words <= 12),
        float(words >= 25),
        float(ends),
        float(line.endswith(":")),
        float(line.endswith("?")),
        math.log1p(len(SENTENCE_BREAK.findall(line)) + ends),
        line.count(",") / max(1, words),
        stops / max(1, n_tokens),
        float(stops >= 2),
        capitalised / n_alpha if n_alpha else 0.0,
        float(letters >= 4 and line.upper() == line and line.lower() != line),
        digits / nonspace,
        letters / nonspace,
        float(any(c in line for c in _SEPARATOR_CHARS) or
              (("/" in line or ">" in line) and bool(SEPARATORS.search(line)))),
        float(bool(BULLET.match(line))),
        float(("@" in line or ("." in line and _URL_CUE.search(lower) is not None)) and
              bool(URLISH.search(line))),
        float("#" in line),
        float(dated and bool(TIME_TEXT.search(line))),
        float(dated and bool(find_date(line))),
        float(short and words <= 8 and bool(RELATIVE_TIME.search(line))),
        float(short and bool(WIDGET_LINE.match(line))),
        float(chars <= 80 and bool(LIST_HEADING.match(line))),
        float(_COPYRIGHT_CUE.search(lower) is not None and bool(COPYRIGHT.search(line))),
        float(credit),
        float(short and bool(BYLINE.match(line))),
        float(bool(QUOTE_START.match(line))),
        float(line.endswith(("…", "..."))),
        cjk / nonspace,
        hira / nonspace,
        particles / korean if korean else 0.0,
        float(line.endswith(")") and "(" in line and words <= 40),
        0.0, 0.0, 0.0, 0.0, 0.0, 0.0,  # context-dependent: filled by line_matrix
        float(words >= 20 or (words >= 8 and ends) or (cjk >= 30 and ends)),
        float("\t" in line),
    ]


def line_matrix(lines: list[str]) -> tuple[np.ndarray, list[int], np.ndarray]:
    """Feature rows for the non-empty lines of a dump, the line index of each row, and
    which rows are asides (see is_aside)."""
    stripped = [line.strip() for line in lines]
    rows = [i for i, s in enumerate(stripped) if s]
    if not rows:
        return np.zeros((0, len(FEATURES))), rows, np.zeros(0, dtype=bool)
    texts = [stripped[i] for i in rows]
    vectors: dict[str, list[float]] = {}  # menus and captions repeat: compute each text once
    for t in texts:
        if t not in vectors:
            vectors[t] = line_vector(t)
    base = np.array([vectors[t] for t in texts], dtype=float)
    n = len(rows)
    counts = Counter(texts)
    total = len(stripped)
    dup_count = np.array([math.log(counts[t]) for t in texts])
    dup_adjacent = np.zeros(n)
    dup_prefix = np.zeros(n)
    for k in range(n):
        for j in (k - 1, k + 1):
            if 0 <= j < n:
                a, b = texts[k], texts[j]
                if a == b:
                    dup_adjacent[k] = 1.0
                elif len(a) >= 20 and len(b) >= 20 and (a.startswith(b) or b.startswith(a)):
                    dup_prefix[k] = 1.0
    blank_before = np.array([float(i == 0 or not stripped[i - 1]) for i in rows])
    blank_after = np.array([float(i + 1 >= total or not stripped[i + 1]) for i in rows])
    position = np.array([i / max(1, total - 1) for i in rows])
    col = _INDEX
    base[:, col["dup_count"]] = dup_count
    base[:, col["dup_adjacent"]] = dup_adjacent
    base[:, col["dup_prefix"]] = dup_prefix
    base[:, col["blank_before"]] = blank_before
    base[:, col["blank_after"]] = blank_after
    base[:, col["position"]] = position
    context = _context(base, n)
    # An advertisement's label or a code listing between two paragraphs is not the
    # paragraphs' neighbour: sites print a label every few paragraphs, developers' posts a
    # listing, and the article around them must look like one text. The other lines'
    # context is worked out as if these asides were not there.
    aside = np.array([is_aside(t, bool(base[k, col["prose"]])) for k, t in enumerate(texts)])
    if aside.any() and not aside.all():
        others = ~aside
        context[others] = _context(base[others], int(others.sum()))
    return np.hstack([base, context]), rows, aside


def is_aside(line: str, prose: bool) -> bool:
    """An advertisement's label or a line of quoted program code: something set into the
    article between its paragraphs, which does not make them any less one text."""
    if len(line) <= 60 and AD_SLOT.fullmatch(line) is not None:
        return True
    return not prose and CODE_LINE.search(line) is not None


def _window_mean(values: np.ndarray, radius: int) -> np.ndarray:
    """Mean of values over the rows within `radius` of each row, the row itself excluded."""
    n = len(values)
    padded = np.concatenate([[0.0], np.cumsum(values)])
    idx = np.arange(n)
    lo = np.maximum(0, idx - radius)
    hi = np.minimum(n, idx + radius + 1)
    sums = padded[hi] - padded[lo] - values
    return sums / np.maximum(1, hi - lo - 1)


def _shift(values: np.ndarray, step: int, fill: float = 0.0) -> np.ndarray:
    out = np.full_like(values, fill)
    if step > 0:
        out[step:] = values[:-step]
    elif step < 0:
        out[:step] = values[-step:]
    else:
        out[:] = values
    return out


def densest_block(scores: np.ndarray) -> tuple[int, int]:
    """Maximum-sum run of row scores (Kadane), as (first, last) row."""
    best, best_start, best_end = -math.inf, 0, -1
    total, start = 0.0, 0
    for k, score in enumerate(scores.tolist()):
        if total <= 0:
            total, start = 0.0, k
        total += score
        if total > best:
            best, best_start, best_end = total, start, k
    return best_start, best_end


def _context(base: np.ndarray, n: int) -> np.ndarray:
    col = _INDEX
    prose = base[:, col["prose"]]
    words = base[:, col["log_words"]]
    widget = base[:, col["widget"]]
    blank = base[:, col["blank_before"]]
    heading = base[:, col["list_heading"]]
    # A first guess at the article: the densest run of prose, where short lines cost a little.
    block_scores = np.where(prose > 0, np.expm1(words), -2.0) - 12.0 * widget - 12.0 * heading
    start, end = densest_block(block_scores)
    idx = np.arange(n)
    in_block = ((idx >= start) & (idx <= end)).astype(float)
    dist_start = np.log1p(np.maximum(0, start - idx))
    dist_end = np.log1p(np.maximum(0, idx - end))
    after_heading = np.zeros(n)
    seen = -100
    for k in range(n):
        if heading[k]:
            seen = k
        after_heading[k] = 1.0 / (1 + k - seen) if k - seen < 40 else 0.0
    prose_cum = np.cumsum(prose)
    prose_total = prose_cum[-1] if n else 0.0
    prose_before = (prose_cum - prose) / max(1.0, prose_total)
    prose_after = (prose_total - prose_cum) / max(1.0, prose_total)
    share = np.full(n, (end - start + 1) / max(1, n))
    return np.column_stack([
        _window_mean(prose, 1),
        _window_mean(prose, 3),
        _window_mean(prose, 8),
        _window_mean(words, 3),
        _shift(prose, 1),
        _shift(prose, -1),
        _shift(widget, 1),
        _shift(widget, -1),
        _shift(words, 1),
        _shift(words, -1),
        _window_mean(blank, 4),
        in_block,
        dist_start,
        dist_end,
        after_heading,
        share,
        prose_before,
        prose_after,
    ])
