"""Search results and articles as plain JSON-ready data: one shape for the CLI and the API."""

from __future__ import annotations

import dataclasses
from typing import Any

from archive.facets import Histogram
from archive.index import Explanation, Fragment
from archive.search import Hit, SearchPage


def fragment_json(fragment: Fragment) -> dict[str, Any]:
    return {"pieces": [{"text": text, "match": match} for text, match in fragment],
            "cut_start": fragment.cut_start, "cut_end": fragment.cut_end}


def hit_json(hit: Hit) -> dict[str, Any]:
    return {
        "id": hit.id,
        "title": hit.plain_title,
        "title_marked": fragment_json(hit.title),
        "outlet": hit.outlet,
        "date": hit.date_label if hit.published else None,
        "date_precision": hit.date_precision,
        "language": hit.language,
        "url": hit.url,
        "word_count": hit.word_count,
        "snippet": [fragment_json(fragment) for fragment in hit.snippet],
        "story": {
            "id": hit.story_id,
            "copies": len(hit.copies) + 1,
            "other_outlets": hit.other_outlets,
            "other_articles": [{"id": c.id, "outlet": c.outlet,
                                "date": c.published.isoformat() if c.published else None}
                               for c in hit.copies],
        },
    }


def histogram_json(histogram: Histogram | None) -> dict[str, Any] | None:
    if histogram is None:
        return None
    return {
        "granularity": histogram.granularity,
        "undated": histogram.undated,
        "buckets": [{"start": start.isoformat(), "count": count, "archive_total": total,
                     "share": round(count / total, 6) if total else 0.0}
                    for start, count, total in zip(histogram.starts, histogram.counts,
                                                   histogram.totals, strict=True)],
    }


def page_json(page: SearchPage) -> dict[str, Any]:
    request = page.request
    return {
        "query": request.text,
        "total": page.total,
        "offset": request.offset,
        "limit": request.limit,
        "sort": request.sort,
        "one_per_story": request.one_per_story,
        "hits": [hit_json(hit) for hit in page.hits],
        "facets": {
            "outlet": [{"value": name or None, "count": n} for name, n in page.outlet_counts],
            "year": [{"value": year or None, "count": n} for year, n in page.year_counts],
            "month": [{"value": f"{m // 100:04d}-{m % 100:02d}", "count": n}
                      for m, n in page.month_counts],
            "language": [{"value": code or None, "count": n}
                         for code, n in page.language_counts],
        },
        "histogram": histogram_json(page.histogram),
        "suggestion": page.suggestion,
        "notes": page.notes,
    }


def explanation_json(explanation: Explanation) -> dict[str, Any]:
    return {"parsed": explanation.query, "total": explanation.total,
            "clauses": [dataclasses.asdict(clause) for clause in explanation.clauses],
            "notes": explanation.notes}
