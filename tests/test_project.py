"""Rules about the project itself: layering, lint, migrations, and the README's promises."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import inspect

from archive.config import InstancePaths
from archive.db import alembic_config, open_database

ROOT = Path(__file__).resolve().parent.parent


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module.split(".")[0])
    return found


def test_the_core_never_imports_the_web_layer():
    for path in (ROOT / "archive").rglob("*.py"):
        assert not _imported_modules(path) & {"flask", "web", "werkzeug", "jinja2"}, path


def test_only_the_index_package_touches_whoosh():
    users = {path.relative_to(ROOT).as_posix() for path in ROOT.glob("[aw]*/**/*.py")
             if "whoosh" in _imported_modules(path)}
    assert users and all(user.startswith("archive/index/") for user in users), users


def test_ruff_is_clean():
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed")
    result = subprocess.run([ruff, "check", str(ROOT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_ci_runs_exactly_the_readme_test_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = re.findall(r"```(?:sh|bash)\n(.+?)\n```", readme)
    assert len(commands) >= 2, "the README must start with the run and the test command"
    assert commands[1] in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_every_command_is_documented_in_the_readme():
    from archive.cli import main

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in main.list_commands(None):  # type: ignore[arg-type]
        assert f"archive {name}" in readme, f"`archive {name}` is not in the README"


def test_a_fresh_database_is_upgraded_to_the_models(tmp_path):
    from alembic import command

    engine = open_database(InstancePaths(tmp_path))
    try:
        tables = set(inspect(engine).get_table_names())
        assert {"outlets", "sources", "articles", "ingest_runs", "ingest_errors"} <= tables
        config = alembic_config(str(engine.url))
        with engine.connect() as connection:
            config.attributes["connection"] = connection
            command.check(config)  # raises when the models and the migrations disagree
    finally:
        engine.dispose()


def test_migrations_downgrade_and_upgrade_again(tmp_path):
    from alembic import command

    engine = open_database(InstancePaths(tmp_path))
    try:
        config = alembic_config(str(engine.url))
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "base")
        assert "articles" not in inspect(engine).get_table_names()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
        assert "articles" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_the_schema_head_constant_is_the_newest_migration():
    from alembic.script import ScriptDirectory

    from archive.db import SCHEMA_HEAD

    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert script.get_current_head() == SCHEMA_HEAD
