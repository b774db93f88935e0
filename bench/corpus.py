"""A seeded generator of news-like articles for benchmarks.

    python bench/corpus.py 100000 out/ --format jsonl [--text-from ../shared/corpus]
    python bench/corpus.py 10000 out/ --format mixed

Articles have a title, ~500 words of body, an outlet drawn from a skewed list of a few
hundred, a date over 15 years, a URL and a byline; a share of them are syndicated copies of
another (lightly edited, other outlet), as wire stories are. Text comes from JSON Lines files
of real news in the folder given with --text-from (records with "paras" or "text"), shuffled
into new articles; that text is for research use only and is never written into the
repository. Without it, a built-in generator makes English-like text.

Formats: "jsonl" (records, one file per 10,000), "txt" (whole-page text dumps with menus,
share buttons and "Most Read" lists), "html" (pages of about --html-kb KB with navigation,
scripts and footers), or "mixed" (all three, plus a few JSON Lines files).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import random
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

WORDS = (
    "the of and to in a is that for on was with he it as at by from his an were are which "
    "this be has had not but have they one their its also after new been first two who more "
    "other year government said people would there will can city council minister police "
    "report week month market price company workers union strike election vote party leader "
    "president court judge trial law plan project school hospital health water energy power "
    "oil gas bank rate inflation growth trade deal talks border war peace army troops attack "
    "region country state national local public private million billion percent official "
    "spokesman statement press agency news today yesterday morning evening night early late "
    "higher lower record rise fall increase cut budget tax spending debt investment business "
    "industry factory jobs staff pay contract farmers harvest rain drought storm flood fire "
    "road rail bridge port airport flights passengers residents village town district centre "
    "meeting decision proposal committee members support opposition critics warned expected "
    "announced confirmed denied agreed rejected approved launched opened closed began ended"
).split()
PLACES = ("Northport Eastfield Saltmere Brackley Hollins Marren Carrow Kinross Dunmore "
          "Westhaven Ashby Calder Fenwick Greyford Lowick Merton Oakridge Pelham Redcliff "
          "Stanmore Thornbury Upton Wexley Yarrow Ardley Belford Colby Dalton Elsworth").split()
NOUNS = ("Gazette Herald Chronicle Times Post Courier Journal Observer Telegraph Mirror "
         "Express Record Echo Star Advertiser Mercury Sentinel Tribune Standard News").split()
FIRST = "Anna Ben Chloe David Elena Farid Grace Hamid Ines James Kofi Lena Marta Niall".split()
LAST = "Ollerton Wierzbicki Okafor Fairbairn Gunn Rowlatt Adeyemi Doyle Pell Chowdhury".split()


@dataclass(frozen=True, slots=True)
class Article:
    number: int
    title: str
    paragraphs: tuple[str, ...]
    outlet: str
    date: dt.date
    byline: str
    url: str

    def record(self) -> dict[str, str]:
        return {"title": self.title, "text": "\n\n".join(self.paragraphs),
                "date": self.date.isoformat(), "outlet": self.outlet, "byline": self.byline,
                "url": self.url}


class TextSource:
    """Paragraphs to build bodies from: real ones from a folder, or generated ones."""

    def __init__(self, rng: random.Random, folder: Path | None) -> None:
        self.rng = rng
        self.paragraphs: list[str] = []
        self.titles: list[str] = []
        if folder:
            for path in sorted(folder.glob("*.jsonl*")):
                opener = gzip.open if path.suffix == ".gz" else open
                with opener(path, "rt", encoding="utf-8") as handle:
                    for line in handle:
                        item = json.loads(line)
                        paras = item.get("paras") or str(item.get("text", "")).split("\n\n")
                        self.paragraphs.extend(p.strip() for p in paras if len(p.split()) > 8)
                        if item.get("title"):
                            self.titles.append(item["title"].strip())
            if not self.paragraphs:
                sys.exit(f"no usable text in {folder} (JSON Lines with 'paras' or 'text')")

    def paragraph(self) -> str:
        if self.paragraphs:
            return self.rng.choice(self.paragraphs)
        sentences = []
        for _ in range(self.rng.randint(2, 4)):
            words = [self._word() for _ in range(self.rng.randint(10, 24))]
            sentences.append(" ".join(words).capitalize() + ".")
        return " ".join(sentences)

    def title(self) -> str:
        if self.titles:
            return self.rng.choice(self.titles)
        return " ".join(self._word() for _ in range(self.rng.randint(5, 10))).capitalize()

    def _word(self) -> str:
        # Zipf-like: common words far more often than rare ones, as in real text.
        index = min(int(self.rng.paretovariate(1.1)) - 1, len(WORDS) - 1)
        if self.rng.random() < 0.08:
            return self.rng.choice(PLACES)
        return WORDS[(index * 7 + self.rng.randrange(3)) % len(WORDS)]


def outlets(rng: random.Random, count: int = 300) -> list[str]:
    names = {f"The {place} {noun}" for place in PLACES for noun in NOUNS}
    return rng.sample(sorted(names), min(count, len(names)))


def articles(n: int, seed: int = 1, text_from: Path | None = None,
             syndicated: float = 0.05, words: int = 500) -> Iterator[Article]:
    """N articles; the same seed and text give the same articles."""
    rng = random.Random(seed)
    text = TextSource(rng, text_from)
    names = outlets(rng)
    weights = [1 / (rank + 1) ** 1.1 for rank in range(len(names))]
    start = dt.date(2010, 1, 1)
    recent: list[Article] = []
    for number in range(n):
        outlet = rng.choices(names, weights)[0]
        date = start + dt.timedelta(days=rng.randrange(15 * 365))
        slug = f"{date:%Y/%m/%d}/story-{number}"
        domain = outlet.lower().removeprefix("the ").replace(" ", "") + ".example"
        if recent and rng.random() < syndicated:
            original = rng.choice(recent)
            paragraphs = list(original.paragraphs)
            paragraphs[0] = f"{rng.choice(PLACES).upper()} - {paragraphs[0]}"
            if len(paragraphs) > 3:
                paragraphs.pop()  # copies are often cut at the end
            yield Article(number, original.title, tuple(paragraphs), outlet,
                          original.date + dt.timedelta(days=rng.randrange(2)),
                          original.byline, f"https://{domain}/{slug}")
            continue
        body: list[str] = []
        while sum(len(p.split()) for p in body) < words:
            body.append(text.paragraph())
        article = Article(number, f"{text.title()} ({number})", tuple(body), outlet, date,
                          f"{rng.choice(FIRST)} {rng.choice(LAST)}", f"https://{domain}/{slug}")
        recent = (recent + [article])[-200:]
        yield article


def text_dump(article: Article, rng: random.Random) -> str:
    """The article as a browser's "select all, copy" of its page would give it."""
    menu = ["Skip to content", "Menu", "Search", "Sign in", "Subscribe", article.outlet,
            "News", "Sport", "Business", "Opinion", "Weather"]
    head = [article.title, "", f"By {article.byline}", f"{article.date:%B %d, %Y}",
            "Share", "Facebook", "Twitter", "Email", ""]
    body = [line for paragraph in article.paragraphs for line in (paragraph, "")]
    tail = ["Advertisement", "", "Most Read"]
    for rank in range(1, 6):
        tail += [str(rank), f"{rng.choice(PLACES)} {' '.join(rng.sample(WORDS, 6))}"]
    tail += ["", "Sign up to our daily newsletter", "Enter your email address", "Subscribe",
             f"© {article.date.year} {article.outlet}. All rights reserved."]
    return "\n".join(menu + [""] + head + body + tail) + "\n"


def html_page(article: Article, rng: random.Random, kilobytes: int) -> str:
    """The article as a saved web page, padded with the scripts and menus real pages carry."""
    nav = "".join(f'<li><a href="/section/{w}">{w.title()}</a></li>'
                  for w in rng.sample(WORDS, 40))
    body = "".join(f"<p>{p}</p>" for p in article.paragraphs)
    related = "".join(f'<li><a href="/story/{n}">{" ".join(rng.sample(WORDS, 8))}</a></li>'
                      for n in range(12))
    page = (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{article.title} | {article.outlet}</title>"
        f'<meta property="og:title" content="{article.title}">'
        f'<meta property="og:site_name" content="{article.outlet}">'
        f'<meta property="article:published_time" content="{article.date.isoformat()}">'
        f'<meta name="author" content="{article.byline}">'
        f'<link rel="canonical" href="{article.url}">'
        f"<style>{'.c{margin:0 auto;padding:4px}' * 40}</style></head><body>"
        f'<header><a class="logo" href="/">{article.outlet}</a><nav><ul>{nav}</ul></nav></header>'
        f'<main><article><h1>{article.title}</h1><p class="byline">By {article.byline}</p>'
        f'<time datetime="{article.date.isoformat()}">{article.date:%d %B %Y}</time>'
        f"{body}</article><aside><h3>Most read</h3><ul>{related}</ul></aside></main>"
        f"<footer>© {article.date.year} {article.outlet}</footer>"
    )
    # Real pages are mostly scripts and markup: pad with inert script blocks to the size.
    filler_block = "<script>window.__data=" + json.dumps({"k": "x" * 900}) + ";</script>"
    while len(page) < kilobytes * 1024:
        page += filler_block
    return page + "</body></html>"


def write(articles_: Iterator[Article], out: Path, fmt: str, seed: int = 1,
          html_kb: int = 170, per_jsonl: int = 10_000) -> dict[str, int]:
    """Write articles to `out` in a format; returns how many files of each kind."""
    rng = random.Random(seed + 1)
    out.mkdir(parents=True, exist_ok=True)
    counts = {"txt": 0, "html": 0, "jsonl": 0}
    batch: list[str] = []

    def flush_jsonl() -> None:
        if batch:
            (out / f"feed-{counts['jsonl']:05d}.jsonl").write_text("\n".join(batch) + "\n",
                                                                    encoding="utf-8")
            counts["jsonl"] += 1
            batch.clear()

    for article in articles_:
        kind = fmt
        if fmt == "mixed":
            kind = rng.choices(["txt", "html", "jsonl"], [45, 45, 10])[0]
        folder = out / kind / f"{article.number // 1000:04d}"
        if kind == "txt":
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{article.number}.txt").write_text(text_dump(article, rng), "utf-8")
            counts["txt"] += 1
        elif kind == "html":
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{article.number}.html").write_text(html_page(article, rng, html_kb),
                                                           "utf-8")
            counts["html"] += 1
        else:
            batch.append(json.dumps(article.record(), ensure_ascii=False))
            if len(batch) >= (per_jsonl if fmt == "jsonl" else 25):
                flush_jsonl()
    flush_jsonl()
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("n", type=int, help="number of articles")
    parser.add_argument("out", type=Path, help="folder to write into")
    parser.add_argument("--format", choices=["jsonl", "txt", "html", "mixed"], default="jsonl")
    parser.add_argument("--text-from", type=Path, help="folder of real-text JSON Lines files")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--html-kb", type=int, default=170, help="size of each HTML page")
    args = parser.parse_args()
    counts = write(articles(args.n, args.seed, args.text_from), args.out, args.format,
                   args.seed, args.html_kb)
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
