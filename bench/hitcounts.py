"""Why the archive's search and FTS5 count different matches for a query.

For a query whose counts differ, both engines' matches are listed in full (`archive search
--export jsonl`, and the FTS5 query bench/run.py times); in each article only one of them
found, every place a query word occurs is analysed both ways: FTS5's unicode61 tokenizer
(runs of letters and digits) and Porter stemmer, and the index's own analyser (Whoosh's
tokenizer, which joins words across a single dot or underscore, drops words longer than 40
characters, then the same stemmer). A place analysed differently is the reason, said in
words; a byline is searched by FTS5 but by the index only when asked (`byline:`).

    python bench/hitcounts.py INSTANCE 'query' [--outlet NAME] [--from DATE --to DATE]
"""

from __future__ import annotations

import argparse
import json
import re
import sqlite3
import subprocess
import sys
import unicodedata
from collections import Counter
from functools import lru_cache
from pathlib import Path

from archive.index.schema import _analyzer
from archive.stemming import stem

ARCHIVE = [sys.executable, "-m", "archive.cli"]
# FTS5's unicode61 tokenizer: letters and digits make words, everything else separates them.
FTS5_TOKEN = re.compile(r"[^\W_]+")
# Whoosh's default tokenizer (RegexTokenizer), which the index's analyser starts with.
INDEX_TOKEN = re.compile(r"\w+(\.?\w+)*")
# Index words longer than this are left out (Whoosh's StemmingAnalyzer maxsize).
INDEX_MAX_WORD = 40
# Articles read per side of a difference: enough to name every reason seen at 100,000.
SAMPLE = 200
_QUERY_WORD = re.compile(r"\w+")
_OPERATORS = {"AND", "OR", "NOT"}


def fts5_ids(db: sqlite3.Connection, query: dict) -> set[int]:
    where, params = ["articles_fts MATCH ?"], [query["q"]]
    if "outlet" in query:
        where.append("a.outlet_id = (SELECT id FROM outlets WHERE name = ?)")
        params.append(query["outlet"])
    if "from" in query:
        where.append("a.published_date BETWEEN ? AND ?")
        params += [query["from"], query["to"]]
    return {row[0] for row in db.execute(
        "SELECT a.id FROM articles_fts JOIN articles a ON a.id = articles_fts.rowid WHERE "
        + " AND ".join(where), params)}


def index_ids(instance: Path, query: dict) -> set[int]:
    command = [*ARCHIVE, "--instance", str(instance), "search", query["q"], "--export", "jsonl"]
    if "outlet" in query:
        command += ["--outlet", query["outlet"]]
    if "from" in query:
        command += ["--from", query["from"], "--to", query["to"]]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    return {json.loads(line)["id"] for line in result.stdout.splitlines() if line.strip()}


_ANALYZER = _analyzer()  # the index's, for title and body


def _index_terms(word: str) -> list[str]:
    return [token.text for token in _ANALYZER(word)]


@lru_cache(maxsize=100_000)
def _fts5_term(word: str) -> str:
    """FTS5's term for one of its words: lower case, accents removed
    (remove_diacritics 2), Porter stem."""
    folded = "".join(c for c in unicodedata.normalize("NFKD", word.lower())
                     if not unicodedata.combining(c))
    return stem(folded)


def _describe(word: str, wanted: str) -> str:
    """Why the index does not make `wanted` of the text it reads as `word`."""
    if len(word) > INDEX_MAX_WORD:
        return f"a word longer than {INDEX_MAX_WORD} characters, which the index leaves out"
    if "." in word or "_" in word:
        return (f'"{word}" is one word to the index (a dot or an underscore between letters '
                "or digits joins them, as in U.S or 3.5), several to FTS5")
    return f'"{word}" is "{" ".join(_index_terms(word))}" to the index, "{wanted}" to FTS5'


def _fts5_only(text: str, wanted: set[str]) -> list[str]:
    """Where FTS5 reads a query word in `text` and the index does not."""
    found = []
    for match in FTS5_TOKEN.finditer(text):
        term = _fts5_term(match.group())
        if term not in wanted:
            continue
        around = next((m for m in INDEX_TOKEN.finditer(text)
                       if m.start() <= match.start() < m.end()), None)
        word = around.group() if around else match.group()
        if term not in _index_terms(word):
            found.append(_describe(word, term))
    return found


def _index_only(text: str, wanted: set[str]) -> list[str]:
    """Where the index reads a query word in `text` and FTS5 does not."""
    found = []
    for match in INDEX_TOKEN.finditer(text):
        terms = set(_index_terms(match.group())) & wanted
        fts5 = {_fts5_term(part) for part in FTS5_TOKEN.findall(match.group())}
        if terms and not terms <= fts5:
            found.append(f'"{match.group()}" is "{" ".join(sorted(terms))}" to the index, '
                         f'"{" ".join(sorted(fts5))}" to FTS5')
    return found


def reasons(db: sqlite3.Connection, query: dict, only: set[int], side: str) -> Counter[str]:
    """How many of these articles (found by `side` alone) each reason explains."""
    wanted = {_fts5_term(word) for word in _QUERY_WORD.findall(query["q"])
              if word not in _OPERATORS}
    counted: Counter[str] = Counter()
    for article_id in sorted(only)[:SAMPLE]:
        title, byline, body = db.execute(
            "SELECT coalesce(title, ''), coalesce(byline, ''), body FROM articles WHERE id = ?",
            (article_id,)).fetchone()
        text = f"{title}\n{body}"
        if side == "FTS5":
            why = _fts5_only(text, wanted)
            if not why and any(_fts5_term(w) in wanted for w in FTS5_TOKEN.findall(byline)):
                why = ["the word is in the byline, which FTS5 searches and the index only "
                       "with byline:"]
        else:
            why = _index_only(text, wanted)
        counted.update(set(why) or {"not explained by how either engine reads the words"})
    return counted


def explain(instance: Path, query: dict) -> dict:
    """Both engines' matches for one query of bench/run.py's mix, and why they differ."""
    with sqlite3.connect(instance / "archive.db") as db:
        fts5 = fts5_ids(db, query)
        index = index_ids(instance, query)
        result: dict = {"q": query["q"], "index": len(index), "fts5": len(fts5)}
        for side, only in (("FTS5", fts5 - index), ("index", index - fts5)):
            if only:
                counted = reasons(db, query, only, side)
                result[f"{side} only"] = {
                    "articles": len(only), "read": min(len(only), SAMPLE),
                    "reasons": [{"articles": n, "reason": why} for why, n in counted.most_common()]}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("instance", type=Path)
    parser.add_argument("q")
    parser.add_argument("--outlet")
    parser.add_argument("--from", dest="start")
    parser.add_argument("--to", dest="end")
    args = parser.parse_args()
    query = {"q": args.q}
    if args.outlet:
        query["outlet"] = args.outlet
    if args.start:
        query["from"], query["to"] = args.start, args.end
    print(json.dumps(explain(args.instance, query), indent=2))


if __name__ == "__main__":
    main()
