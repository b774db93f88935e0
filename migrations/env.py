"""Alembic environment: runs inside `archive` (connection passed in) or from the alembic CLI."""

from __future__ import annotations

from alembic import context

from archive.config import resolve_instance
from archive.db import make_engine
from archive.models import Base

config = context.config
target_metadata = Base.metadata


def include_name(name: str | None, type_: str, _parents: object) -> bool:
    """Leave the full text out of model comparisons (SQLite's FTS5 table and its shadow
    tables, PostgreSQL's tsvector column and its indexes, its vocabulary `search_words` and
    the search generation `search_state`, the index of phrase pairs): migrations 0002, 0007,
    0010 and 0012 make them by hand, not from the models."""
    if name is None:
        return True
    return not ((type_ == "table" and name.startswith("articles_fts"))
                or (type_ == "column" and name == "search_vector")
                or (type_ == "index" and name in ("ix_articles_search_vector",
                                                  "ix_articles_search_text",
                                                  "ix_articles_search_title",
                                                  "ix_articles_phrase_pairs"))
                or (type_ == "table" and name in ("search_words", "search_state")))


def run_migrations(connection) -> None:  # noqa: ANN001 - a SQLAlchemy Connection
    # Batch mode lets SQLite alter tables by copying them, which plain ALTER cannot.
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=True, compare_type=True, include_name=include_name)
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run_migrations(connection)
else:
    # The alembic command line: `-x url=sqlite:///...`, or else the current archive instance.
    url = context.get_x_argument(as_dictionary=True).get("url") or resolve_instance().database_url
    engine = make_engine(url)
    with engine.connect() as cli_connection:
        run_migrations(cli_connection)
        cli_connection.commit()
    engine.dispose()
