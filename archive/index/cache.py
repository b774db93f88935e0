"""What is kept between requests is kept per index generation: a commit makes a new one, so
nothing read before it can answer a request after it."""

from __future__ import annotations

from whoosh.searching import Searcher

# The table of contents' number and the segments it lists. The number alone is not enough:
# `archive reindex` in another process starts a new index whose numbers count from 0 again.
Generation = tuple[int, tuple[str, ...]]


def generation_of(searcher: Searcher) -> Generation:
    """The index generation a searcher reads."""
    number = searcher.reader().generation()
    parts = [sub for sub, _ in searcher.subsearchers] if searcher.subsearchers else [searcher]
    segments = tuple(segment.segment_id() for segment in
                     (sub.reader().segment() for sub in parts) if segment is not None)
    return (-1 if number is None else number, segments)
