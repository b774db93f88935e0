"""Archives on several PostgreSQL servers, searched through one (`archive shards`).

Each shard is a whole archive of its own on its own server, ingested on its own (by year,
by desk, by team). The archive that attaches them, the coordinator, reaches their tables
through PostgreSQL's `postgres_fdw`: one foreign server and one schema of foreign tables
per shard (`shard_NAME.articles`, `shard_NAME.outlets`), and the view `shards.articles`
puts its own articles and every shard's together, with the shard's name in a column. A
search through the coordinator runs on every shard at once (foreign scans under one Append
run asynchronously), each shard matching its own rows with its own GIN index: the query
is turned into a tsquery value here first, so that the match itself, not the shard's
rows, is what travels to the shard. Nothing is copied, and a shard detached loses nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError

from archive import dburl, sql_role

# A shard's name becomes part of a schema's and a server's name.
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,29}$")
LOCAL = "local"
VIEW_SCHEMA = "shards"
# The tables a shard lends: articles, and the outlets their outlet ids point at.
_FOREIGN_TABLES = ("articles", "outlets")
# The text search configuration the archive's vectors are made with (migration 0007:
# English stems, stop words kept, so that a phrase with "the" matches as it is written).
SEARCH_CONFIG = "archive_english"
_ROW_COLUMNS = ("id, outlet_id, published_date, date_precision, title, byline, language, "
                "word_count, url, body, search_vector")


class ShardError(Exception):
    """A shard cannot be attached, detached or searched; says why."""


@dataclass(frozen=True, slots=True)
class Shard:
    name: str
    shown_url: str
    articles: int | None  # None: the shard did not answer


@dataclass(frozen=True, slots=True)
class ShardHit:
    shard: str
    id: int
    published_date: object
    outlet: str | None
    title: str | None
    rank: float


@dataclass(frozen=True, slots=True)
class ShardSearch:
    total: int
    per_shard: dict[str, int]
    hits: list[ShardHit]


def check_name(name: str) -> str:
    if name == LOCAL or not _NAME.match(name):
        raise ShardError(f"shard name {name!r}: use 1-30 lower-case letters, digits or _, "
                         f"starting with a letter (and not {LOCAL!r}, the archive's own "
                         "articles)")
    return name


def _server(name: str) -> str:
    return f"archive_shard_{name}"


def _schema(name: str) -> str:
    return f"shard_{name}"


def _require_postgres(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        raise ShardError("shards are PostgreSQL archives attached to a PostgreSQL archive: "
                         "this archive's database is SQLite (see `archive migrate-to`)")


def attached(connection: Connection) -> list[str]:
    """The names of the shards attached, in order."""
    rows = connection.execute(text(
        "SELECT srvname FROM pg_foreign_server WHERE srvname LIKE 'archive\\_shard\\_%' "
        "ORDER BY srvname")).scalars()
    return [name.removeprefix("archive_shard_") for name in rows]


def attach(engine: Engine, name: str, url: str) -> None:
    """Attach the archive at `url` as shard `name` and rebuild the view over all shards."""
    _require_postgres(engine)
    check_name(name)
    try:
        parsed = dburl.parse(url)
    except ValueError as exc:
        raise ShardError(str(exc)) from None
    if parsed.get_backend_name() != "postgresql":
        raise ShardError(f"shard {name}: {dburl.shown(parsed)} is not a PostgreSQL database")
    if _same_database(engine, parsed):
        raise ShardError(f"shard {name}: {dburl.shown(parsed)} is this archive's own database")
    options = {"host": parsed.host or "localhost", "port": str(parsed.port or 5432),
               "dbname": parsed.database or "postgres",
               # Foreign scans under one Append run side by side, one per shard.
               "async_capable": "true", "fetch_size": "1000"}
    mapping = {"user": parsed.username or ""}
    if parsed.password:
        mapping["password"] = str(parsed.password)
    try:
        with engine.begin() as connection:
            if name in attached(connection):
                raise ShardError(f"shard {name} is already attached (detach it first)")
            connection.execute(text("CREATE EXTENSION IF NOT EXISTS postgres_fdw"))
            connection.execute(text(
                f"CREATE SERVER {_server(name)} FOREIGN DATA WRAPPER postgres_fdw "
                f"OPTIONS ({_option_list(options)})"))
            connection.execute(text(
                f"CREATE USER MAPPING FOR CURRENT_USER SERVER {_server(name)} "
                f"OPTIONS ({_option_list(mapping)})"))
            connection.execute(text(f"CREATE SCHEMA {_schema(name)}"))
            # The first statement that reaches the shard: if it fails, nothing is kept.
            connection.execute(text(
                f"IMPORT FOREIGN SCHEMA public LIMIT TO ({', '.join(_FOREIGN_TABLES)}) "
                f"FROM SERVER {_server(name)} INTO {_schema(name)}"))
            missing = set(_FOREIGN_TABLES) - set(connection.execute(text(
                "SELECT foreign_table_name FROM information_schema.foreign_tables "
                "WHERE foreign_table_schema = :s"), {"s": _schema(name)}).scalars())
            if missing:
                raise ShardError(f"shard {name}: {dburl.shown(parsed)} is not an archive (it "
                                 f"has no table {', '.join(sorted(missing))})")
            _rebuild_view(connection)
    except DBAPIError as exc:
        raise ShardError(f"shard {name}: {dburl.shown(parsed)} did not answer: "
                         f"{_first_line(exc)}") from None


def detach(engine: Engine, name: str) -> None:
    """Forget shard `name` (its own database is untouched) and rebuild the view."""
    _require_postgres(engine)
    check_name(name)
    with engine.begin() as connection:
        if name not in attached(connection):
            raise ShardError(f"no shard {name} is attached")
        _drop_views(connection)
        connection.execute(text(f"DROP SCHEMA IF EXISTS {_schema(name)} CASCADE"))
        connection.execute(text(f"DROP SERVER {_server(name)} CASCADE"))
        _rebuild_view(connection)


def listing(engine: Engine) -> list[Shard]:
    """Every shard with its article count, the archive's own articles first."""
    _require_postgres(engine)
    out: list[Shard] = []
    with engine.connect() as connection:
        names = attached(connection)
        local = connection.execute(text("SELECT count(*) FROM articles")).scalar_one()
        here = engine.url
        out.append(Shard(LOCAL, f"{here.host}:{here.port or 5432}/{here.database}", int(local)))
        for name in names:
            options = dict(option.split("=", 1) for option in connection.execute(text(
                "SELECT srvoptions FROM pg_foreign_server WHERE srvname = :s"),
                {"s": _server(name)}).scalar_one() or [])
            shown = f"{options.get('host')}:{options.get('port')}/{options.get('dbname')}"
            try:
                with connection.begin_nested():
                    count = int(connection.execute(text(
                        f"SELECT count(*) FROM {_schema(name)}.articles")).scalar_one())
            except Exception:
                count = None
            out.append(Shard(name, shown, count))
    return out


def search(engine: Engine, query: str, *, limit: int = 20,
           deadline_seconds: float = 20.0) -> ShardSearch:
    """Articles matching `query` (web search syntax: words, "phrases", -not, or) on every
    shard, best first, with the count per shard, within the deadline."""
    _require_postgres(engine)
    if not query.strip():
        raise ShardError("an empty query matches nothing: give at least one word")
    with engine.connect() as connection:
        connection.execute(text("SELECT set_config('statement_timeout', :ms, true)"),
                           {"ms": f"{int(deadline_seconds * 1000)}ms"})
        if not attached(connection) or not _view_exists(connection):
            raise ShardError("no shard is attached to this archive (archive shards attach "
                             "NAME URL); `archive search` searches its own articles")
        tsquery = connection.execute(text(
            f"SELECT websearch_to_tsquery('{SEARCH_CONFIG}', :q)::text"),
            {"q": query}).scalar_one()
        if not tsquery:
            raise ShardError(f"the query {query!r} has no searchable word")
        try:
            counts = {row[0]: int(row[1]) for row in connection.execute(text(
                f"SELECT shard, count(*) FROM {VIEW_SCHEMA}.articles "
                "WHERE search_vector @@ CAST(:tsq AS tsquery) GROUP BY shard"),
                {"tsq": tsquery})}
            rows = connection.execute(text(
                f"SELECT shard, id, published_date, outlet, title, "
                f"ts_rank(search_vector, CAST(:tsq AS tsquery)) AS rank "
                f"FROM {VIEW_SCHEMA}.articles WHERE search_vector @@ CAST(:tsq AS tsquery) "
                "ORDER BY rank DESC, published_date DESC NULLS LAST, shard, id LIMIT :limit"),
                {"tsq": tsquery, "limit": limit}).all()
        except Exception as exc:
            if "statement timeout" in str(exc):
                raise ShardError(f"the search over all shards took longer than "
                                 f"{deadline_seconds:g} s and was stopped") from None
            raise ShardError(f"a shard did not answer: {_first_line(exc)}") from None
    hits = [ShardHit(row[0], int(row[1]), row[2], row[3], row[4], float(row[5])) for row in rows]
    return ShardSearch(sum(counts.values()), counts, hits)


def _view_exists(connection: Connection) -> bool:
    return bool(connection.execute(text(
        "SELECT 1 FROM pg_views WHERE schemaname = :s AND viewname = 'articles'"),
        {"s": VIEW_SCHEMA}).first())


def _rebuild_view(connection: Connection) -> None:
    """`shards.articles`: the archive's own articles and every shard's, named by shard.

    The outlets are joined above the union, not inside each part: PostgreSQL runs a union's
    parts as one Append, with the shards' scans side by side, only when each part reads one
    table."""
    sources = [(LOCAL, "public"), *((name, _schema(name)) for name in attached(connection))]
    rows = " UNION ALL ".join(f"SELECT '{name}'::text AS shard, {_ROW_COLUMNS} "
                              f"FROM {schema}.articles" for name, schema in sources)
    outlets = " UNION ALL ".join(f"SELECT '{name}'::text AS shard, id, name "
                                 f"FROM {schema}.outlets" for name, schema in sources)
    connection.execute(text(f"CREATE SCHEMA IF NOT EXISTS {VIEW_SCHEMA}"))
    _drop_views(connection)
    connection.execute(text(f"CREATE VIEW {VIEW_SCHEMA}.article_rows AS {rows}"))
    connection.execute(text(f"CREATE VIEW {VIEW_SCHEMA}.outlets AS {outlets}"))
    connection.execute(text(
        f"CREATE VIEW {VIEW_SCHEMA}.articles AS SELECT a.shard, a.id, a.published_date, "
        "a.date_precision, o.name AS outlet, a.title, a.byline, a.language, a.word_count, "
        f"a.url, a.body, a.search_vector FROM {VIEW_SCHEMA}.article_rows a "
        f"LEFT JOIN {VIEW_SCHEMA}.outlets o ON o.shard = a.shard AND o.id = a.outlet_id"))
    # Views made anew have no grants: `archive sql`'s reader role reads them again.
    sql_role.grant(connection)


def _drop_views(connection: Connection) -> None:
    for view in ("articles", "article_rows", "outlets"):
        connection.execute(text(f"DROP VIEW IF EXISTS {VIEW_SCHEMA}.{view}"))


def _option_list(options: dict[str, str]) -> str:
    return ", ".join(f"{key} '{value.replace(chr(39), chr(39) * 2)}'"
                     for key, value in options.items())


def _same_database(engine: Engine, there: URL) -> bool:
    here = engine.url
    return (here.host or "localhost", here.port or 5432, here.database) == \
        (there.host or "localhost", there.port or 5432, there.database)


def _first_line(exc: BaseException) -> str:
    message = str(getattr(exc, "orig", None) or exc).strip()
    return message.splitlines()[0] if message else type(exc).__name__
