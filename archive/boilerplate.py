"""Boilerplate learned from the archive itself: short lines that recur across an outlet's pages.

Menus, newsletter prompts, "Follow us" lines and section labels repeat on every page an
outlet publishes, while article text does not. Ingest counts, per outlet, how many stored
text dumps contain each short line; a line found in at least MIN_ARTICLES of an outlet's
dumps and in at least MIN_SHARE of them is furniture, and later cleaning drops it
(`archive reclean` applies it to articles stored before it was learned).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from archive.models import Article, BoilerplateLine, Source

MIN_ARTICLES = 5
MIN_SHARE = 0.25
# Long lines and sentences are article text (quotes, bios); only labels and prompts recur.
MAX_WORDS = 12
_SENTENCE_END = re.compile(r"[.!?…。！？][\"'”’»)\]]*$")
_SPACE = re.compile(r"\s+")


def normalise(line: str) -> str:
    return _SPACE.sub(" ", line).strip().lower()


def line_hash(line: str) -> int:
    digest = hashlib.blake2b(normalise(line).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def candidate_lines(text: str) -> dict[int, str]:
    """The lines of a dump that could be boilerplate, by hash."""
    found: dict[int, str] = {}
    for line in text.split("\n"):
        clean = normalise(line)
        if clean and len(clean.split()) <= MAX_WORDS and not _SENTENCE_END.search(clean):
            found.setdefault(line_hash(clean), clean[:200])
    return found


def record(session: Session, outlet_id: int | None, lines: dict[int, str]) -> None:
    """Count one more stored dump of this outlet containing each of these lines."""
    if outlet_id is None or not lines:
        return
    # An upsert; SQLite and PostgreSQL spell it the same way in SQLAlchemy.
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(BoilerplateLine).values(
        [{"outlet_id": outlet_id, "line_hash": h, "line": text, "articles": 1}
         for h, text in lines.items()])
    session.execute(statement.on_conflict_do_update(
        index_elements=["outlet_id", "line_hash"],
        set_={"articles": BoilerplateLine.articles + 1}))


def learned(session: Session) -> frozenset[int]:
    """Hashes of the lines that are boilerplate for some outlet."""
    dumps = (select(Article.outlet_id, func.count().label("total"))
             .join(Source, Source.id == Article.source_id).where(Source.format == "txt")
             .group_by(Article.outlet_id).subquery())
    rows = session.scalars(
        select(BoilerplateLine.line_hash)
        .join(dumps, dumps.c.outlet_id == BoilerplateLine.outlet_id)
        .where(BoilerplateLine.articles >= MIN_ARTICLES,
               BoilerplateLine.articles >= MIN_SHARE * dumps.c.total))
    return frozenset(rows)


def prune(session: Session, outlet_ids: Iterable[int], *, min_dumps: int = 100) -> None:
    """Forget lines seen once for outlets with many dumps: their boilerplate has long shown
    itself, and the singletons (teaser headlines, mostly) would only grow the table."""
    for outlet_id in outlet_ids:
        total = session.scalar(select(func.count()).select_from(Article)
                               .join(Source, Source.id == Article.source_id)
                               .where(Article.outlet_id == outlet_id, Source.format == "txt"))
        if (total or 0) >= min_dumps:
            session.execute(delete(BoilerplateLine).where(
                BoilerplateLine.outlet_id == outlet_id, BoilerplateLine.articles == 1))


class Predicate:
    """`is_boilerplate(line)` for the cleaner, over a set of learned line hashes."""

    def __init__(self, hashes: frozenset[int]) -> None:
        self.hashes = hashes

    def __call__(self, line: str) -> bool:
        return bool(self.hashes) and line_hash(line) in self.hashes
