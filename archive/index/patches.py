"""Two fixes to Whoosh 2.7's behaviour, applied when the index package is imported."""

from __future__ import annotations

from whoosh import index, reading
from whoosh.codec import whoosh3


def _remember_columns() -> None:
    """Whoosh 2.7 asks the file system whether a segment has a column file once per posting
    while committing (millions of stat calls per batch; a third of commit time). A segment's
    files never change once written, so each reader can remember the answer."""
    original = whoosh3.W3PerDocReader.has_column
    if getattr(original, "remembers", False):
        return

    def has_column(self: whoosh3.W3PerDocReader, fieldname: str) -> bool:
        known = self.__dict__.setdefault("_archive_columns", {})
        if fieldname not in known:
            known[fieldname] = original(self, fieldname)
        return known[fieldname]

    has_column.remembers = True  # type: ignore[attr-defined]
    whoosh3.W3PerDocReader.has_column = has_column


_remember_columns()


def _open_readers_safely() -> None:
    """Whoosh 2.7 opens a reader per segment in a list comprehension: when a writer in
    another process deletes a segment half-way (it retries then), the readers already
    opened are never closed, and the old searcher's readers are closed even though the new
    one failed. This opens all or nothing and leaves the old readers alone on failure."""
    if getattr(index.FileIndex._reader, "safe", False):
        return

    def _reader(cls, storage, schema, segments, generation, reuse=None):  # noqa: ANN001, ANN202
        if not segments:
            return reading.EmptyReader(schema)
        opened = []
        try:
            for segment in segments:
                opened.append(reading.SegmentReader(storage, schema, segment,
                                                    generation=generation))
        except BaseException:
            for reader in opened:
                reader.close()
            raise
        if reuse is not None:
            for old, _ in reuse.leaf_readers():  # nothing is shared with the new reader
                old.close()
        return opened[0] if len(opened) == 1 else reading.MultiReader(opened,
                                                                       generation=generation)

    _reader.safe = True  # type: ignore[attr-defined]
    index.FileIndex._reader = classmethod(_reader)


_open_readers_safely()
