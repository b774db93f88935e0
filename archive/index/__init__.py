"""The full-text index. The only package that touches Whoosh: a server engine replaces it.

The index is derived data: it holds what search needs (ids, analysed title, body and byline,
outlet, date, language, story) and nothing that cannot be rebuilt from the database.
Matching, ranking, filtering, counting and date ordering happen over arrays read straight
from Whoosh's files (posting lists and columns); Whoosh parses queries and stores the index.
"""

from archive.index import patches  # noqa: F401 - applied on import
from archive.index.bounds import DEFAULT_DEADLINE_SECONDS, SearchTimeout, deadline
from archive.index.highlight import Highlighter
from archive.index.merging import MERGE_FACTOR
from archive.index.parsing import MIN_WILDCARD_PREFIX
from archive.index.pgsearch import PostgresIndex
from archive.index.schema import SCHEMA_VERSION
from archive.index.searchindex import SearchIndex
from archive.index.types import (
    SORTS,
    UNKNOWN_YEAR,
    Clause,
    Explanation,
    Fragment,
    IndexDoc,
    IndexMissing,
    QueryError,
    SearchHits,
    SearchRequest,
    Sort,
)

__all__ = ["DEFAULT_DEADLINE_SECONDS", "MERGE_FACTOR", "MIN_WILDCARD_PREFIX", "SCHEMA_VERSION",
           "SORTS", "UNKNOWN_YEAR",
           "Clause", "Explanation", "Fragment", "Highlighter", "IndexDoc", "IndexMissing",
           "PostgresIndex", "QueryError", "SearchHits", "SearchIndex", "SearchRequest",
           "SearchTimeout", "Sort",
           "deadline"]
