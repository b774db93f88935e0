"""Boilerplate learned from the archive, and `archive reclean` applying it to stored articles."""

from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import select

from archive import boilerplate
from archive.cli import main
from archive.models import Article

TAGLINE = "Riverside Bugle Weekend Edition"
TOPICS = ["the new bridge", "the school budget", "the flood defences", "the library hours",
          "the bus timetable", "the market square", "the harbour dredging"]


PARAGRAPHS = (
    "Councillors spent the evening arguing about {topic}, with residents filling the public "
    "gallery and several speakers asking for the decision to be delayed until the summer.",
    "The leader of the council said a final vote on {topic} would take place next month, "
    "after officials publish a report on the costs and the timetable for the work.",
    "Opposition members said the plan for {topic} had been rushed and that the town could "
    "not afford another overspend like the one on the swimming pool last year.",
)


def _dump(topic: str, number: int) -> str:
    first, second, third = (p.format(topic=topic) for p in PARAGRAPHS)
    return (f"Riverside Bugle\nHome\nNews\n\nCouncil debates {topic}\n\nBy Staff Reporter\n"
            f"March {number + 1}, 2024\n\n{first}\n\n{TAGLINE}\n\n{second}\n\n{third}\n\n"
            "© 2024 Riverside Bugle\n")


def test_recurring_lines_are_learned_and_reclean_removes_them(tmp_path):
    runner = CliRunner()
    instance = str(tmp_path / "instance")
    folder = tmp_path / "dumps"
    folder.mkdir()
    for number, topic in enumerate(TOPICS):
        (folder / f"{number}.txt").write_text(_dump(topic, number), encoding="utf-8")
    result = runner.invoke(main, ["--instance", instance, "ingest", str(folder)],
                           catch_exceptions=False)
    assert result.exit_code == 0, result.output

    from archive.config import InstancePaths
    from archive.instance import Archive

    with Archive(InstancePaths(tmp_path / "instance")) as archive, archive.sessions() as session:
        assert boilerplate.line_hash(TAGLINE) in boilerplate.learned(session)
        bodies = list(session.scalars(select(Article.body)))
    carrying = sum(TAGLINE in body for body in bodies)
    assert carrying, "the cleaner alone kept the tagline, so there is something to learn"

    dry = runner.invoke(main, ["--instance", instance, "reclean", "--dry-run"],
                        catch_exceptions=False)
    assert f"{carrying} of {len(TOPICS)} article(s) would change (body: {carrying})" in dry.output
    done = runner.invoke(main, ["--instance", instance, "reclean"], catch_exceptions=False)
    assert f"{carrying} of {len(TOPICS)} article(s) changed" in done.output

    with Archive(InstancePaths(tmp_path / "instance")) as archive, archive.sessions() as session:
        assert not any(TAGLINE in body for body in session.scalars(select(Article.body)))
    found = runner.invoke(main, ["--instance", instance, "search", '"weekend edition"'])
    assert "0 articles found" in found.output
    assert runner.invoke(main, ["--instance", instance, "check"]).exit_code == 0
    again = runner.invoke(main, ["--instance", instance, "reclean"], catch_exceptions=False)
    assert f"0 of {len(TOPICS)} article(s) changed." in again.output


def test_an_input_the_cleaner_now_rejects_keeps_its_article(tmp_path, monkeypatch):
    from archive import reclean

    runner = CliRunner()
    instance = str(tmp_path / "instance")
    path = tmp_path / "one.txt"
    path.write_text(_dump("the old mill", 1), encoding="utf-8")
    runner.invoke(main, ["--instance", instance, "ingest", str(path)], catch_exceptions=False)

    def rejecting(raws, jobs, learned, outlet_table=None):  # a cleaner regression, simulated
        return ((raw, "no article text found") for raw in raws)

    monkeypatch.setattr(reclean, "extract_all", rejecting)
    result = runner.invoke(main, ["--instance", instance, "reclean"], catch_exceptions=False)
    assert "0 of 1 article(s) changed." in result.output
    assert "#1 kept as stored: the current cleaner says no article text found" in result.output
    found = runner.invoke(main, ["--instance", instance, "search", "mill"])
    assert "1 articles found" not in found.output and "1 article found" in found.output


def test_reclean_replaces_a_junk_outlet_and_drops_it_from_the_facet(tmp_path):
    """An archive made by an older extractor holds outlets like "Topics": reclean puts each
    article under what the current extractor finds and removes outlets no article names."""
    from archive.config import InstancePaths
    from archive.instance import Archive
    from archive.models import Outlet

    runner = CliRunner()
    instance = str(tmp_path / "instance")
    folder = tmp_path / "dumps"
    folder.mkdir()
    for number, topic in enumerate(TOPICS[:3]):
        (folder / f"{number}.txt").write_text(_dump(topic, number), encoding="utf-8")
    result = runner.invoke(main, ["--instance", instance, "ingest", str(folder)],
                           catch_exceptions=False)
    assert result.exit_code == 0, result.output
    with Archive(InstancePaths(tmp_path / "instance")) as archive, \
            archive.sessions() as session, session.begin():
        junk = Outlet(name="Topics")
        session.add(junk)
        session.flush()
        first = session.scalars(select(Article).order_by(Article.id)).first()
        first.outlet_id = junk.id
    done = runner.invoke(main, ["--instance", instance, "reclean"], catch_exceptions=False)
    assert "outlet: 1" in done.output
    assert "1 outlet(s) no article names any more, removed: Topics." in done.output
    with Archive(InstancePaths(tmp_path / "instance")) as archive, archive.sessions() as session:
        names = set(session.scalars(select(Outlet.name)))
    assert "Topics" not in names
    facets = runner.invoke(main, ["--instance", instance, "stats"], catch_exceptions=False)
    assert "Topics" not in facets.output
    assert runner.invoke(main, ["--instance", instance, "check"]).exit_code == 0
