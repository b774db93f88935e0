"""The archive as evidence: a dump that names no outlet gets its site's, from the lines it
shares with that site's stored pages, and only then."""

from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import select

from archive.cli import main
from archive.index import SearchRequest
from archive.models import Article, Outlet, Source
from archive.reclean import reclean
from archive_web import close_app, create_app

MENU = ["Local news", "Council and planning", "Harbour and shipping", "Schools",
        "Letters to the editor", "Weather and tides", "Obituaries", "Classifieds",
        "Photo galleries", "Events this week"]
FOOTER = ["Contact the newsroom", "Advertise with us", "Delivery and subscriptions",
          "Terms of use", "Privacy notice"]
OTHER_MENU = ["Market data", "Commodities", "Currencies", "Bonds and rates", "Earnings diary",
              "Fund ratings", "Pensions", "Property", "Tax guides", "Personal finance"]
TOPICS = ["ferry timetable", "lifeboat crew", "fish market", "harbour wall", "sea pool",
          "quay cranes", "tidal barrage", "sailing club", "coastal path", "lighthouse"]


def _body(topic: str, n: int) -> str:
    return "\n\n".join(
        f"The {topic} was discussed again on day {n} of the inquiry, when residents told the "
        f"panel that paragraph {p} of the plan for the {topic} left too many questions open "
        f"and that the town deserved a clear answer before the summer season began."
        for p in range(1, 5))


def _page(n: int, *, named: bool, menu: list[str] = MENU, footer: list[str] = FOOTER) -> str:
    topic = TOPICS[n % len(TOPICS)]
    head = "\n".join((["Harbour Gazette"] if named else []) + menu)
    tail = "\n".join(footer)
    notice = ("\nMore from Harbour Gazette\nwww.harbourgazette.co.uk\n"
              "© 2024 Harbour Gazette. All rights reserved.") if named else ""
    return (f"{head}\n\nQuestions remain over the {topic} plan, part {n}\n\nBy Ann Lee\n\n"
            f"{_body(topic, n)}\n\n{tail}{notice}\n")


def _outlets(archive) -> dict[str, str | None]:
    with archive.sessions() as session:
        rows = session.execute(
            select(Source.uri, Outlet.name)
            .join(Article, Article.source_id == Source.id)
            .outerjoin(Outlet, Outlet.id == Article.outlet_id)).all()
    return {uri.rsplit("/", 1)[-1]: name for uri, name in rows}


def test_dumps_without_an_outlet_get_their_sites_from_the_pages_stored_beside_them(
        archive, ingest_paths, write_file):
    # The unnamed pages sort first: they are stored before the site's lines are learned.
    paths = [write_file(f"a{n}.txt", _page(n, named=False)) for n in range(2)]
    paths += [write_file(f"b{n}.txt", _page(n, named=True)) for n in range(2, 8)]
    paths.append(write_file("c.txt", _page(9, named=False, menu=OTHER_MENU,
                                           footer=["About this site"])))
    summary = ingest_paths(*paths)

    outlets = _outlets(archive)
    assert {outlets[f"b{n}.txt"] for n in range(2, 8)} == {"Harbour Gazette"}
    assert outlets["a0.txt"] == outlets["a1.txt"] == "Harbour Gazette"
    assert outlets["c.txt"] is None  # another site's page: nothing in common, nothing guessed
    assert summary.site_outlets == 2
    with archive.sessions() as session:
        article = session.scalars(select(Article).join(Source).where(
            Source.uri.endswith("a0.txt"))).one()
        source = article.provenance["fields"]["outlet"]
        assert "Harbour Gazette's pages" in source["rule"]
        assert source["shared_lines"] >= len(MENU)
        assert "local news" in source["site_lines"]
    hits = archive.index.search(SearchRequest("inquiry", outlets=("Harbour Gazette",)))
    assert hits.total == 8  # the search index was told too

    app = create_app({"ARCHIVE_INSTANCE": archive.paths, "TESTING": True})
    try:
        page = app.test_client().get(f"/articles/{article.id}/extraction").get_data(as_text=True)
    finally:
        close_app(app)
    assert "Harbour Gazette&#39;s pages in this archive" in page
    assert "Lines shared with the site's stored pages" in page
    assert "<li>council and planning</li>" in page
    assert "refused</span>" in page  # what the page's own cues proposed, and why not


def test_a_later_run_files_an_unnamed_page_at_once_and_reclean_keeps_it(
        archive, ingest_paths, write_file, instance_dir):
    ingest_paths(*[write_file(f"b{n}.txt", _page(n, named=True)) for n in range(6)])
    late = write_file("late.txt", _page(7, named=False))
    archive.close()
    result = CliRunner().invoke(main, ["--instance", str(instance_dir), "ingest", str(late)])
    assert result.exit_code == 0, result.output
    assert "Filed 1 text dump that named no outlet under their site's" in result.output
    assert _outlets(archive)["late.txt"] == "Harbour Gazette"

    with archive.writing():
        report = reclean(archive)
    assert report.field_changes["outlet"] == 0
    assert _outlets(archive)["late.txt"] == "Harbour Gazette"


def test_a_page_sharing_too_few_lines_or_two_sites_lines_is_left_unknown(
        archive, ingest_paths, write_file):
    ingest_paths(*[write_file(f"b{n}.txt", _page(n, named=True)) for n in range(6)])
    few = write_file("few.txt", _page(7, named=False, menu=MENU[:3] + OTHER_MENU, footer=[]))
    summary = ingest_paths(few)
    assert summary.site_outlets == 0
    assert _outlets(archive)["few.txt"] is None
