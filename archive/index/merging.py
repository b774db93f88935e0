"""How the index's segments are merged as it grows."""

from __future__ import annotations

import math

from whoosh import reading

# Segments are grouped in tiers by size (powers of MERGE_FACTOR documents); a tier holding
# MERGE_FACTOR segments is merged into one of the next tier. Each document is rewritten a
# few times over an archive's life, and merges stay proportionate: Whoosh's own policy
# (MERGE_SMALL) every so often rewrote most of the index in the middle of a bulk load.
MERGE_FACTOR = 8


def _tier(segment) -> int:  # noqa: ANN001 - a Whoosh segment
    return int(math.log(max(segment.doc_count(), 1), MERGE_FACTOR))


def _tiers_to_merge(segments: list) -> list[list]:
    tiers: dict[int, list] = {}
    for segment in segments:
        tiers.setdefault(_tier(segment), []).append(segment)
    return [group for group in tiers.values() if len(group) >= MERGE_FACTOR]


def _merge_full_tiers(writer, segments: list) -> list:  # noqa: ANN001 - Whoosh's merge policy
    merging = {id(segment) for group in _tiers_to_merge(segments) for segment in group}
    for segment in segments:
        if id(segment) in merging:
            reader = reading.SegmentReader(writer.storage, writer.schema, segment)
            writer.add_reader(reader)
            reader.close()
    return [segment for segment in segments if id(segment) not in merging]
