"""The index's fields, analyser and storage; the version that tells an old index apart."""

from __future__ import annotations

from pathlib import Path

from whoosh import columns
from whoosh.analysis import StandardAnalyzer, StemmingAnalyzer
from whoosh.fields import ID, NUMERIC, TEXT, Schema
from whoosh.filedb.filestore import FileStorage

from archive.facets import day_key
from archive.index.codec import PackedCodec
from archive.index.fieldformat import PackedPositions
from archive.index.types import IndexDoc
from archive.stemming import stem

# Bump when the fields or their storage change: an index of another version is rebuilt
# from the database. 5: positions and posting blocks packed (archive.index.codec). 6: words
# stemmed by archive.stemming (Porter's algorithm as FTS5 has it), not Whoosh's stemmer.
SCHEMA_VERSION = 6
_VERSION_FILE = "archive-schema-version"


def _analyzer() -> StemmingAnalyzer:
    # Stop words are kept: news searches depend on phrases like "no limits" or "the west".
    # Whoosh's own Porter stemmer leaves "stopped" as "stopp" (archive.stemming says why).
    return StemmingAnalyzer(stemfn=stem, stoplist=None, minsize=1, cachesize=100_000)


def _text(analyzer: object, field_boost: float = 1.0) -> TEXT:
    """A text field with positions for phrases, written as packed integers."""
    field = TEXT(analyzer=analyzer, field_boost=field_boost)
    field.format = PackedPositions(field_boost=field_boost)
    return field


def _schema() -> Schema:
    analyzer = _analyzer()
    return Schema(
        id=ID(stored=True, unique=True),
        title=_text(analyzer, field_boost=2.0),
        # No spelling=True: it cost 40% of indexing speed and half again the size; "did
        # you mean" works from the stems instead (see suggest).
        body=_text(analyzer),
        byline=_text(StandardAnalyzer(stoplist=None)),
        # Columns of references into a list of distinct values: read straight into arrays.
        outlet=ID(sortable=columns.RefBytesColumn()),
        outlet_text=_text(StandardAnalyzer(stoplist=None)),
        date=NUMERIC(int, bits=32, sortable=True, signed=False),  # YYYYMMDD, 0 when unknown
        language=ID(sortable=columns.RefBytesColumn()),
        story=NUMERIC(int, bits=64, sortable=True, signed=False),
    )


_SCHEMA = _schema()  # the same for every index of this SCHEMA_VERSION; parsed queries use it


def _codec() -> PackedCodec:
    """How every writer of this version writes its segments."""
    return PackedCodec()


def _storage(path: Path) -> FileStorage:
    # Plain reads, not mmap: a mapped index counts, page by page as queries touch it, in the
    # web process's resident memory (1.3 GB measured at 100,000 articles).
    return FileStorage(str(path), supports_mmap=False)


def _version(path: Path) -> int | None:
    try:
        return int((path / _VERSION_FILE).read_text().strip())
    except (OSError, ValueError):
        return None


def _fields(doc: IndexDoc) -> dict[str, object]:
    return {
        "id": str(doc.id),
        "title": doc.title or "",
        "body": doc.body,
        "byline": doc.byline or "",
        "outlet": doc.outlet or "",
        "outlet_text": doc.outlet or "",
        "date": day_key(doc.published) if doc.published else 0,
        "language": doc.language or "",
        "story": doc.story or doc.id,
    }
