"""Rules about the project itself: layering, lint, migrations, and the README's promises."""

from __future__ import annotations

import ast
import importlib.util
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import inspect

from archive.config import InstancePaths
from archive.db import alembic_config, open_database
from tests.conftest import PATIENCE

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


# The repository's web/ and migrations/ folders install as these packages (pyproject.toml).
INSTALLED_AS = {"web": "archive_web", "migrations": "archive_migrations"}


def test_nothing_imports_web_or_migrations_by_the_folder_name():
    # From the repository root `import web` happens to work; installed, only archive_web does.
    for folder in ("archive", "web", "migrations", "tests", "bench", "tools"):
        for path in (ROOT / folder).rglob("*.py"):
            assert not _imported_modules(path) & set(INSTALLED_AS), path


def test_the_core_imports_no_posix_only_module():
    # So that the command loads and reads on Windows too; the writer lock goes through filelock.
    for path in (ROOT / "archive").rglob("*.py"):
        assert not _imported_modules(path) & {"fcntl", "termios", "pwd", "grp", "resource"}, path


def test_the_command_searches_an_archive_without_fcntl(tmp_path):
    from click.testing import CliRunner

    from archive.cli import main

    instance = tmp_path / "instance"
    ingested = CliRunner().invoke(main, ["--instance", str(instance), "ingest",
                                         str(ROOT / "examples")])
    assert ingested.exit_code == 0, ingested.output
    # As on Windows, where `import fcntl` fails.
    script = ("import sys; sys.modules['fcntl'] = None\n"
              "from archive.cli import main\n"
              "main(sys.argv[1:])")
    outputs = {}
    for command in ("search", "stats", "--help"):
        arguments = ["search", "tram", "--json"] if command == "search" else [command]
        result = subprocess.run([sys.executable, "-c", script, "--instance", str(instance),
                                 *arguments], capture_output=True, text=True, timeout=PATIENCE)
        assert result.returncode == 0, result.stderr
        outputs[command] = result.stdout
    assert '"total": 3' in outputs["search"]


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


def test_mypy_is_clean():
    if importlib.util.find_spec("mypy") is None:
        pytest.skip("mypy is not installed")
    # Files, settings and the cache folder come from [tool.mypy] in pyproject.toml.
    result = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True,
                            text=True, timeout=PATIENCE)
    assert result.returncode == 0, result.stdout + result.stderr


def _source_files(folder: str) -> set[str]:
    return {path.relative_to(ROOT / folder).as_posix()
            for path in (ROOT / folder).rglob("*")
            if path.is_file() and "__pycache__" not in path.parts}


def test_the_wheel_installs_web_and_migrations_under_the_projects_names(tmp_path):
    source = tmp_path / "source"  # building writes build/ and egg-info beside the sources
    for folder in ("archive", "web", "migrations"):
        shutil.copytree(ROOT / folder, source / folder,
                        ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps",
                            "--no-build-isolation", "-q", "-w", str(tmp_path / "out")],
                           capture_output=True, text=True, timeout=PATIENCE)
    assert built.returncode == 0, built.stdout + built.stderr
    [wheel] = (tmp_path / "out").glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata = next(archive.read(name).decode() for name in names
                        if name.endswith(".dist-info/METADATA"))
        entry_points = next(archive.read(name).decode() for name in names
                            if name.endswith(".dist-info/entry_points.txt"))
    top_level = {name.split("/")[0] for name in names if ".dist-info/" not in name}
    assert top_level == {"archive", "archive_web", "archive_migrations"}
    for folder, package in {"archive": "archive", **INSTALLED_AS}.items():
        missing = {f"{package}/{name}" for name in _source_files(folder)} - names
        assert not missing, f"not in the wheel: {sorted(missing)}"
    assert "Name: newsarchive-search" in metadata and "License-Expression: MIT" in metadata
    assert "serve = archive_web.cli:serve" in entry_points


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
