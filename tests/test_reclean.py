"""Boilerplate learned from the archive, and `archive reclean` applying it to stored articles."""

from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import select

from archive import boilerplate
from archive.cli import main
from archive.extract import CLEANER_VERSION
from archive.models import Article
from tests.conftest import archive_options

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


def test_recurring_lines_are_learned_and_reclean_removes_them(tmp_path, any_paths):
    runner = CliRunner()
    folder = tmp_path / "dumps"
    folder.mkdir()
    for number, topic in enumerate(TOPICS):
        (folder / f"{number}.txt").write_text(_dump(topic, number), encoding="utf-8")
    result = runner.invoke(main, [*archive_options(any_paths), "ingest", str(folder)],
                           catch_exceptions=False)
    assert result.exit_code == 0, result.output

    from archive.instance import Archive

    with Archive(any_paths) as archive, archive.sessions() as session:
        assert boilerplate.line_hash(TAGLINE) in boilerplate.learned(session)
        bodies = list(session.scalars(select(Article.body)))
    carrying = sum(TAGLINE in body for body in bodies)
    assert carrying, "the cleaner alone kept the tagline, so there is something to learn"

    dry = runner.invoke(main, [*archive_options(any_paths), "reclean", "--dry-run"],
                        catch_exceptions=False)
    assert f"{carrying} of {len(TOPICS)} article(s) would change (body: {carrying})" in dry.output
    done = runner.invoke(main, [*archive_options(any_paths), "reclean"], catch_exceptions=False)
    assert f"{carrying} of {len(TOPICS)} article(s) changed" in done.output

    with Archive(any_paths) as archive, archive.sessions() as session:
        assert not any(TAGLINE in body for body in session.scalars(select(Article.body)))
    found = runner.invoke(main, [*archive_options(any_paths), "search", '"weekend edition"'])
    assert "0 articles found" in found.output
    assert runner.invoke(main, [*archive_options(any_paths), "check"]).exit_code == 0
    again = runner.invoke(main, [*archive_options(any_paths), "reclean"], catch_exceptions=False)
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


_RUSSIAN_DUMP = ("Городской совет утвердил новое расписание паромов\n\n5 января 2022\n\n"
                 "Депутаты проголосовали во вторник за план, который добавляет два вечерних "
                 "рейса летом и переносит первый зимний рейс на семь часов утра.\n\n"
                 "Жители говорили, что перемены были нужны давно, а перевозчик пообещал новые "
                 "суда ещё до конца года.\n\n"
                 "Мэр сказал, что город оплатит ремонт причала из собственного бюджета.\n")


def test_reclean_repairs_dates_and_outlets_an_older_version_stored(tmp_path):
    """An archive stored by the version that read "5 января 2022" as May and filed
    news.bbc.co.uk under news.sky.com (both keyed "news"), and kept edition.cnn.com apart
    from CNN: `archive db upgrade` says a reclean is due, and reclean puts it right."""
    import datetime as dt
    import json

    from archive.config import InstancePaths
    from archive.instance import Archive
    from archive.models import Outlet

    runner = CliRunner()
    instance = str(tmp_path / "instance")
    folder = tmp_path / "inputs"
    folder.mkdir()
    (folder / "ferry.txt").write_text(_RUSSIAN_DUMP, encoding="utf-8")
    text = "The harbour board met on Monday to discuss the new ferry timetable in detail."
    records = [("Sky story", "news.sky.com"), ("BBC story", "news.bbc.co.uk"),
               ("CNN story", "CNN"), ("CNN edition story", "edition.cnn.com")]
    (folder / "feed.jsonl").write_text("\n".join(
        json.dumps({"title": title, "maintext": f"{text} ({title})", "source_domain": domain})
        for title, domain in records) + "\n", encoding="utf-8")
    result = runner.invoke(main, ["--instance", instance, "ingest", str(folder)],
                           catch_exceptions=False)
    assert result.exit_code == 0, result.output

    with Archive(InstancePaths(tmp_path / "instance")) as archive, \
            archive.sessions() as session, session.begin():
        articles = {a.title: a for a in session.scalars(select(Article))}
        outlets = {o.name: o for o in session.scalars(select(Outlet))}
        assert set(outlets) == {"news.sky.com", "news.bbc.co.uk", "CNN"}
        ferry = articles["Городской совет утвердил новое расписание паромов"]
        assert ferry.published_date == dt.date(2022, 1, 5)
        ferry.published_date, ferry.date_precision = dt.date(2022, 5, 1), "month"
        articles["BBC story"].outlet_id = outlets["news.sky.com"].id
        session.delete(outlets["news.bbc.co.uk"])
        edition = Outlet(name="edition.cnn.com")
        session.add(edition)
        session.flush()
        articles["CNN edition story"].outlet_id = edition.id
        for article in articles.values():
            article.cleaner_version = "4"

    upgrade = runner.invoke(main, ["--instance", instance, "db", "upgrade"],
                            catch_exceptions=False)
    assert "5 article(s) were cleaned by an older version" in upgrade.output
    assert "run `archive reclean`" in upgrade.output

    dry = runner.invoke(main, ["--instance", instance, "reclean", "--dry-run"],
                        catch_exceptions=False)
    assert "Dates: 1 would change. Outlets: 2 article(s) would move to another outlet; " \
           "1 outlet(s) would be added." in dry.output
    done = runner.invoke(main, ["--instance", instance, "reclean"], catch_exceptions=False)
    assert "3 of 5 article(s) changed" in done.output
    assert "Dates: 1 changed. Outlets: 2 article(s) moved to another outlet; " \
           "1 outlet(s) added, 1 merged into another, 0 removed." in done.output
    assert "Added: news.bbc.co.uk." in done.output
    assert "Merged: edition.cnn.com into CNN." in done.output

    with Archive(InstancePaths(tmp_path / "instance")) as archive, archive.sessions() as session:
        stored = dict(session.execute(select(Article.title, Outlet.name)
                                      .outerjoin(Outlet, Article.outlet_id == Outlet.id)).all())
        dates = dict(session.execute(select(Article.title, Article.published_date)).all())
        versions = set(session.scalars(select(Article.cleaner_version)))
    assert stored["Sky story"] == "news.sky.com" and stored["BBC story"] == "news.bbc.co.uk"
    assert stored["CNN story"] == stored["CNN edition story"] == "CNN"
    assert dates["Городской совет утвердил новое расписание паромов"] == dt.date(2022, 1, 5)
    assert versions == {CLEANER_VERSION}
    again = runner.invoke(main, ["--instance", instance, "db", "upgrade"],
                          catch_exceptions=False)
    assert "older version" not in again.output
    assert runner.invoke(main, ["--instance", instance, "check"]).exit_code == 0
