"""`archive sql` on PostgreSQL runs a statement as a role that may only read the archive
(archive/sql_role.py, archive/sql_postgres.py): a superuser's statement cannot reach the
server's files, other sessions or its own superuser powers, and an archive that has no such
role runs statements as the connected role only if that is an ordinary one. On a real
server, as superusers, owners with and without CREATEROLE, and members of the predefined
roles that reach past the database."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner

from archive.cli import main
from archive.sql import SQLError
from archive.sql_postgres import names
from archive.sql_role import role_name
from tests.conftest import EXAMPLES
from tests.pg_cluster import PostgresCluster


def _run(root: Path, url: str, *arguments: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--instance", str(root), "--database", url,
                                       *arguments])
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.output


def _admin(cluster: PostgresCluster, database: str, *statements: str) -> list[Any]:
    """Run statements as the superuser, outside the archive; the last one's rows."""
    rows: list[Any] = []
    with psycopg.connect(host="127.0.0.1", port=cluster.port, user="postgres",
                         dbname=database, autocommit=True) as connection:
        for statement in statements:
            cursor = connection.execute(statement.encode())
            rows = cursor.fetchall() if cursor.description else []
    return rows


def _url(cluster: PostgresCluster, user: str, database: str) -> str:
    return f"postgresql+psycopg://{user}@127.0.0.1:{cluster.port}/{database}"


def _sql(root: Path, url: str, statement: str, *options: str) -> tuple[int, str]:
    return _run(root, url, "sql", statement, *options)


def _runs_as(root: Path, url: str) -> str:
    code, output = _sql(root, url, "SELECT current_user AS who", "--format", "json")
    assert code == 0, output
    return str(json.loads(output)[0]["who"])


@pytest.fixture(scope="module")
def superuser_archive(postgres_cluster: PostgresCluster, tmp_path_factory
                      ) -> tuple[Path, str, str]:
    """The examples/ archive, made and read by the superuser: (instance, url, database)."""
    database = postgres_cluster.create_database()
    root = tmp_path_factory.mktemp("superuser-archive") / "instance"
    url = postgres_cluster.url(database)
    code, output = _run(root, url, "ingest", str(EXAMPLES))
    assert code == 0, output
    # Extensions whose functions run SQL of their own, or reach other servers.
    _admin(postgres_cluster, database, "CREATE EXTENSION tablefunc",
           "CREATE EXTENSION dblink")
    return root, url, database


def test_a_superusers_statement_runs_as_the_reader_role(superuser_archive):
    root, url, database = superuser_archive
    assert _runs_as(root, url) == role_name(database) == f"archive_sql_reader_{database}"
    code, output = _sql(root, url, "SELECT session_user, current_setting('is_superuser') "
                                   "AS superuser", "--format", "csv")
    assert code == 0 and output.splitlines()[1] == "postgres,off", output


@pytest.mark.parametrize("statement", [
    "SELECT pg_read_file('/etc/hostname')",
    "SELECT PG_READ_FILE('/etc/hostname')",
    "SELECT * FROM pg_ls_dir('.')",
    "SELECT lo_import('/etc/hostname')",
    "SELECT pg_read_binary_file('/etc/hostname')",
    "SELECT pg_reload_conf()",
    "SELECT pg_rotate_logfile()",
])
def test_a_superuser_cannot_reach_the_servers_files(superuser_archive, statement):
    root, url, database = superuser_archive
    code, output = _sql(root, url, statement)
    assert code == 1, output
    assert "permission denied for function" in output
    assert f"archive sql runs statements as the role {role_name(database)}" in output


@pytest.mark.parametrize(("statement", "refused"), [
    ("SELECT set_config('role', 'postgres', true)", "set_config"),
    ("SELECT set_config('session_authorization', 'postgres', true)", "set_config"),
    ("SELECT pg_catalog.\"set_config\"('role', 'postgres', true), pg_read_file('/etc/hostname')",
     "set_config"),
    ("SELECT Set_Config('role', 'postgres', false)", "set_config"),
    ("SELECT /* a comment */ set_config/**/('role', 'postgres', true)", "set_config"),
    ("SELECT 1 -- a comment that a carriage return ends\r, set_config('role', 'postgres', "
     "true)", "set_config"),
    ("SELECT query_to_xml('select pg_read_file(''/etc/hostname'')', true, false, '')",
     "query_to_xml"),
    ("SELECT * FROM ts_stat('select set_config(''role'', ''postgres'', true)::tsvector')",
     "ts_stat"),
    ("SELECT ts_rewrite('a'::tsquery, 'select ''a''::tsquery, ''b''::tsquery')", "ts_rewrite"),
    ("SELECT pg_terminate_backend(pid) FROM pg_stat_activity", "pg_terminate_backend"),
    ("SELECT pg_cancel_backend(pid) FROM pg_stat_activity", "pg_cancel_backend"),
    # Extensions' functions: crosstab runs the SQL it is given, dblink reaches a server.
    ("SELECT * FROM crosstab('select set_config(''role'', ''postgres'', true), ''a'', ''b''') "
     "AS t(a text, b text)", "crosstab"),
    ("SELECT * FROM dblink('dbname=postgres', 'select 1') AS t(x int)", "dblink"),
])
def test_a_function_that_could_undo_the_role_is_refused_by_name(superuser_archive, statement,
                                                                refused):
    root, url, _ = superuser_archive
    code, output = _sql(root, url, statement)
    assert code == 1, output
    assert f"archive sql does not allow the function {refused}" in output


@pytest.mark.parametrize(("statement", "words"), [
    ("RESET ROLE", "RESET is not allowed"),
    ("SET ROLE postgres", "SET is not allowed"),
    ("SET SESSION AUTHORIZATION postgres", "SET is not allowed"),
    ("SELECT 1; RESET ROLE", "one statement at a time"),
    ("SELECT 1; SET ROLE postgres; SELECT pg_read_file('/etc/hostname')",
     "one statement at a time"),
    ('SELECT U&"set_config"(\'role\', \'postgres\', true)', 'U&"..." names'),
])
def test_the_role_cannot_be_reset_within_a_statement(superuser_archive, statement, words):
    root, url, _ = superuser_archive
    code, output = _sql(root, url, statement)
    assert code == 1 and words in output, output


def test_a_superuser_cannot_stop_another_session(superuser_archive, postgres_cluster):
    root, url, database = superuser_archive
    with psycopg.connect(host="127.0.0.1", port=postgres_cluster.port, user="postgres",
                         dbname=database, autocommit=True) as other:
        pid = other.info.backend_pid
        code, output = _sql(root, url, f"SELECT pg_terminate_backend({pid})")
        assert code == 1 and "pg_terminate_backend" in output, output
        assert other.execute("SELECT 1").fetchone() == (1,)


def test_names_in_strings_and_comments_are_data(superuser_archive):
    root, url, _ = superuser_archive
    code, output = _sql(root, url, "SELECT 'set_config(' AS a, $q$ pg_read_file $q$ AS b, "
                                   "E'\\' query_to_xml' AS c /* set_config /* nested */ */ "
                                   "-- ts_stat", "--format", "json")
    assert code == 0, output
    assert json.loads(output) == [{"a": "set_config(", "b": " pg_read_file ",
                                   "c": "' query_to_xml"}]


def test_the_names_a_statement_mentions():
    """What the server would read as a name, and nothing it reads as a string or a
    comment; when unsure, text counts as a name (a false refusal, never a miss)."""
    assert names("SELECT Title, \"MixedCase\", \"a\"\"b\" FROM articles") == {
        "select", "title", "MixedCase", 'a"b', "from", "articles"}
    assert names("SELECT 'set_config' || 'it''s', E'\\'set_config', $$set_config$$, "
                 "$tag$ $not$ set_config $tag$") == {"select"}
    assert names("SELECT 1 /* a /* nested */ set_config */ , x") == {"select", "x"}
    # A line comment ends at a carriage return as at a newline.
    assert "set_config" in names("SELECT 1 -- note\rset_config('role', 'x', true)")
    # A string's prefix counts only where a token starts: xe'...' is a name and a string.
    assert names("SELECT xe'set_config', e'a''b', N'set_config', B'01', U&'x'") == {
        "select", "xe"}
    # Names keep `$` after their first character and are cut to 63 bytes.
    assert names("SELECT a$b$c, " + "n" * 70) == {"select", "a$b$c", "n" * 63}
    with pytest.raises(SQLError, match="U&"):
        names('SELECT U&"\\0073et_config"(1)')


def test_documented_shapes_of_output_and_the_time_limit_hold_as_the_reader(superuser_archive):
    root, url, _ = superuser_archive
    code, output = _sql(root, url, "SELECT outlet, articles FROM articles_per_outlet_month "
                                   "ORDER BY month, outlet LIMIT 2", "--format", "csv")
    assert code == 0 and output.splitlines()[0] == "outlet,articles", output
    code, output = _sql(root, url, "SELECT id FROM article_overview ORDER BY id LIMIT 2")
    assert code == 0 and output.split() == ["id", "--", "1", "2"], output
    forever = ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
               "SELECT count(*) FROM c")
    code, output = _sql(root, url, forever, "--timeout", "1")
    assert code == 1 and "ran longer than 1 s" in output, output


def test_without_its_reader_role_a_superuser_is_refused_until_db_upgrade(postgres_cluster,
                                                                         tmp_path):
    database = postgres_cluster.create_database()
    root, url = tmp_path / "instance", postgres_cluster.url(database)
    assert _run(root, url, "ingest", str(EXAMPLES))[0] == 0
    reader = role_name(database)
    # As after restoring the database into another server, whose roles are its own.
    _admin(postgres_cluster, database, f'DROP OWNED BY "{reader}"', f'DROP ROLE "{reader}"')
    code, output = _sql(root, url, "SELECT pg_read_file('/etc/hostname')")
    assert code == 1, output
    assert ("archive sql will not run a statement as postgres, a superuser: its statements "
            "could reach the server's files or other sessions. This database has no role "
            f"{reader}") in output
    assert "run `archive db upgrade`" in output and "connect as a role that may only read" \
        in output
    code, output = _run(root, url, "db", "upgrade")
    assert code == 0, output
    assert f"`archive sql` runs statements as the role {reader}, which may only read." \
        in output
    assert _runs_as(root, url) == reader
    assert _sql(root, url, "SELECT count(*) FROM articles")[0] == 0


def _owned_archive(cluster: PostgresCluster, root: Path, attributes: str
                   ) -> tuple[str, str, str]:
    """An archive in a database of its own, owned by a new login role (the one docs/deploy.md
    creates, plus `attributes`) and ingested as that role: (url, owner, database)."""
    database = cluster.create_database()
    owner = f"owner_{database}"
    # As docs/deploy.md has it: the database's owner (who, from PostgreSQL 15 on, alone
    # may create tables in `public`).
    _admin(cluster, "postgres", f"CREATE ROLE {owner} LOGIN {attributes}",
           f"ALTER DATABASE {database} OWNER TO {owner}")
    url = _url(cluster, owner, database)
    code, output = _run(root, url, "ingest", str(EXAMPLES))
    assert code == 0, output
    return url, owner, database


def test_an_ordinary_owner_runs_statements_as_itself(postgres_cluster, tmp_path):
    """Without CREATEROLE there is no reader role, and an ordinary role needs none."""
    url, owner, database = _owned_archive(postgres_cluster, tmp_path, "")
    code, output = _run(tmp_path, url, "db", "upgrade")
    assert code == 0, output
    assert f"No role {role_name(database)} for `archive sql` to run statements as ({owner} " \
           "may not create roles)" in output
    assert _runs_as(tmp_path, url) == owner
    code, output = _sql(tmp_path, url, "SELECT id, title FROM article_overview ORDER BY id "
                                       "LIMIT 1", "--format", "json")
    assert code == 0 and json.loads(output)[0]["id"] == 1, output
    code, output = _sql(tmp_path, url, "SELECT pg_read_file('/etc/hostname')")
    assert code == 1 and "permission denied for function pg_read_file" in output, output
    code, output = _sql(tmp_path, url, "SELECT set_config('role', 'none', true)")
    assert code == 1 and "does not allow the function set_config" in output, output


def test_an_owner_that_may_create_roles_gets_a_reader_role(postgres_cluster, tmp_path):
    url, owner, database = _owned_archive(postgres_cluster, tmp_path, "CREATEROLE")
    reader = role_name(database)
    assert _runs_as(tmp_path, url) == reader
    assert _admin(postgres_cluster, database,
                  f"SELECT rolcanlogin, rolsuper, pg_has_role('{owner}', '{reader}', "
                  f"'MEMBER') FROM pg_roles WHERE rolname = '{reader}'"
                  ) == [(False, False, True)]
    code, output = _sql(tmp_path, url, "SELECT count(*) AS n FROM articles", "--format", "json")
    assert code == 0 and json.loads(output) == [{"n": 8}], output


def test_a_member_of_pg_read_server_files_runs_statements_only_as_the_reader(
        superuser_archive, postgres_cluster, tmp_path):
    root, _, database = superuser_archive
    reader = role_name(database)
    member = f"files_{database}"
    _admin(postgres_cluster, "postgres", f"CREATE ROLE {member} LOGIN",
           f"GRANT pg_read_server_files, pg_read_all_data TO {member}")
    url = _url(postgres_cluster, member, database)
    code, output = _sql(root, url, "SELECT pg_read_file('/etc/hostname')")
    assert code == 1, output
    assert (f"archive sql will not run a statement as {member}, a member of "
            "pg_read_server_files: its statements could reach the server's files") in output
    assert f"`GRANT {reader} TO {member}`" in output
    _admin(postgres_cluster, "postgres", f"GRANT {reader} TO {member}")
    assert _runs_as(root, url) == reader
    code, output = _sql(root, url, "SELECT pg_read_file('/etc/hostname')")
    assert code == 1 and "permission denied for function pg_read_file" in output, output


def test_a_reader_role_given_more_than_reading_is_not_used(postgres_cluster, tmp_path):
    database = postgres_cluster.create_database()
    root, url = tmp_path / "instance", postgres_cluster.url(database)
    assert _run(root, url, "db", "upgrade")[0] == 0
    reader = role_name(database)
    _admin(postgres_cluster, "postgres", f'GRANT pg_execute_server_program TO "{reader}"')
    code, output = _sql(root, url, "SELECT 1")
    assert code == 1, output
    assert (f"archive sql will not run a statement as the role {reader}, which should only "
            "read but is a member of pg_execute_server_program") in output


def test_the_migration_goes_down_and_up_with_its_role(postgres_cluster, tmp_path):
    from alembic import command

    from archive.db import alembic_config, make_engine

    database = postgres_cluster.create_database()
    root, url = tmp_path / "instance", postgres_cluster.url(database)
    assert _run(root, url, "ingest", str(EXAMPLES))[0] == 0
    reader = role_name(database)
    exists = f"SELECT count(*) FROM pg_roles WHERE rolname = '{reader}'"
    engine = make_engine(url)
    config = alembic_config(url)
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0008")
        assert _admin(postgres_cluster, database, exists) == [(0,)]
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    finally:
        engine.dispose()
    assert _admin(postgres_cluster, database, exists) == [(1,)]
    assert _runs_as(root, url) == reader
