"""The outlet table: lookups by address and by name, user additions, and the shipped data."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from importlib import resources
from pathlib import Path

import pytest

from archive.outlets import (
    OutletTableError,
    known_outlet,
    load_user_table,
    matching_key,
    outlet_for_url,
    reset_tables,
)


@pytest.fixture(autouse=True)
def _fresh_tables(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("ARCHIVE_OUTLETS", raising=False)
    reset_tables()
    yield
    reset_tables()


def shipped_rows() -> list[dict[str, str]]:
    text = (resources.files("archive") / "data" / "outlets.csv").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    return list(csv.DictReader(lines))


def test_outlet_by_address_falls_back_from_subdomains_to_the_domain():
    assert outlet_for_url("https://www.nytimes.com/2023/01/01/world/x.html") == \
        "The New York Times"
    assert outlet_for_url("https://hosted.ap.org/berkshireeagle/article/x") == \
        "The Associated Press"
    assert outlet_for_url("edition.cnn.com/2023/politics") == "CNN"


def test_a_more_specific_domain_wins_over_its_parent():
    assert outlet_for_url("https://timesofindia.indiatimes.com/india/x") == "The Times of India"
    assert outlet_for_url("https://www.indiatimes.com/x") == "Indiatimes"


@pytest.mark.parametrize("url", ["https://unknown-outlet.example/x", "", "http://[::1", "nytimes"])
def test_unknown_or_broken_addresses_give_none(url: str):
    assert outlet_for_url(url) is None


@pytest.mark.parametrize("name", ["The New York Times", "new york times", "NYT", "nytimes.com",
                                  "  The   New York  Times "])
def test_known_outlet_accepts_names_aliases_and_domains_in_any_case(name: str):
    assert known_outlet(name) == "The New York Times"


def test_known_outlet_needs_no_leading_article():
    assert known_outlet("Detroit News") == "The Detroit News"
    assert known_outlet("Hollywood Reporter") == "The Hollywood Reporter"


@pytest.mark.parametrize("name", ["", "Weather", "The", "Harbour Council"])
def test_names_that_are_not_outlets_give_none(name: str):
    assert known_outlet(name) is None


def test_user_table_adds_outlets_and_overrides_shipped_names(tmp_path: Path):
    table = tmp_path / "outlets.csv"
    table.write_text("domain,name,aliases\n"
                     "# our local papers\n"
                     "kesselharbourtimes.example,The Kessel Harbour Times,KHT|Harbour Times\n"
                     "https://www.bbc.co.uk/,BBC\n", encoding="utf-8")
    assert load_user_table(table) == 2
    assert outlet_for_url("https://news.kesselharbourtimes.example/x") == \
        "The Kessel Harbour Times"
    assert known_outlet("kht") == "The Kessel Harbour Times"
    assert outlet_for_url("https://www.bbc.co.uk/news") == "BBC"
    assert outlet_for_url("https://www.bbc.com/news") == "BBC News"  # other rows untouched


def test_user_table_with_two_columns_is_accepted(tmp_path: Path):
    table = tmp_path / "outlets.csv"
    table.write_text("domain,name\nislegazette.example,Isle Gazette\n", encoding="utf-8")
    load_user_table(table)
    assert known_outlet("ISLE GAZETTE") == "Isle Gazette"


def test_missing_user_table_adds_nothing(tmp_path: Path):
    assert load_user_table(tmp_path / "outlets.csv") == 0
    assert outlet_for_url("https://www.nytimes.com/") == "The New York Times"


@pytest.mark.parametrize(("content", "message"), [
    ("site,title\nx.example,X\n", "line 1: the first row must be the header"),
    ("domain,name\nx.example,X\n,Nameless\n", "line 3: each row needs a domain and a name"),
])
def test_broken_user_table_is_refused_with_the_line(tmp_path: Path, content: str, message: str):
    table = tmp_path / "outlets.csv"
    table.write_text(content, encoding="utf-8")
    with pytest.raises(OutletTableError, match=message):
        load_user_table(table)
    assert outlet_for_url("https://x.example/") is None  # nothing half-loaded


def test_environment_variable_names_a_user_table(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch):
    table = tmp_path / "mine.csv"
    table.write_text("domain,name\nislegazette.example,Isle Gazette\n", encoding="utf-8")
    monkeypatch.setenv("ARCHIVE_OUTLETS", str(table))
    reset_tables()
    assert outlet_for_url("https://islegazette.example/a") == "Isle Gazette"


def test_environment_variable_naming_no_file_is_an_error(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("ARCHIVE_OUTLETS", str(tmp_path / "missing.csv"))
    reset_tables()
    with pytest.raises(OutletTableError, match="ARCHIVE_OUTLETS"):
        outlet_for_url("https://www.nytimes.com/")


def test_shipped_table_covers_hundreds_of_outlets_in_many_countries():
    rows = shipped_rows()
    assert len({row["name"] for row in rows}) >= 500
    tlds = {row["domain"].rsplit(".", 1)[-1] for row in rows}
    assert {"uk", "de", "fr", "jp", "br", "in", "za", "au", "ru", "kr"} <= tlds


def test_shipped_domains_are_bare_lower_case_and_unique():
    domains = [row["domain"] for row in shipped_rows()]
    assert len(domains) == len(set(domains))
    for domain in domains:
        assert domain == domain.strip().lower() and "/" not in domain
        assert not domain.startswith("www.") and "." in domain


def test_no_shipped_name_or_alias_points_at_two_outlets():
    owners: dict[str, set[str]] = defaultdict(set)
    for row in shipped_rows():
        for alias in [row["name"], *(row.get("aliases") or "").split("|")]:
            if alias.strip():
                owners[alias.strip().casefold()].add(row["name"])
    assert {alias: names for alias, names in owners.items() if len(names) > 1} == {}


@pytest.mark.parametrize(("one", "other"), [
    ("The Northport Gazette", "northportgazette.example"),
    ("NORTHPORT GAZETTE", "The Northport  Gazette"),
    ("The Hill", "www.thehill.com"),
    ("BBC", "bbc.co.uk"),
])
def test_spellings_of_one_outlet_share_a_matching_key(one: str, other: str):
    assert matching_key(one) == matching_key(other)


@pytest.mark.parametrize(("one", "other"), [
    ("The Northport Gazette", "The Northport Herald"),
    ("Northport Gazette", "northport.example"),
    ("Daily News", "dailymail.co.uk"),
])
def test_different_outlets_keep_different_matching_keys(one: str, other: str):
    assert matching_key(one) != matching_key(other)


# --- which site a host belongs to -------------------------------------------------------

@pytest.mark.parametrize(("host", "domain"), [
    ("example.kiev.ua", "example.kiev.ua"),
    ("example.msk.ru", "example.msk.ru"),
    ("example.me.uk", "example.me.uk"),
    ("www.example.in.ua", "example.in.ua"),
    ("foo.blogspot.com", "foo.blogspot.com"),  # private-section suffixes count
    ("x.github.io", "x.github.io"),
    ("news.bbc.co.uk", "bbc.co.uk"),
    ("www.nytimes.com", "nytimes.com"),
    ("g1.globo.com", "globo.com"),
])
def test_registered_domain_follows_the_public_suffix_list(host: str, domain: str):
    from archive.html.names import site_domain, site_label

    assert site_domain(host) == domain
    assert site_label(host) == domain.split(".")[0]


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "co.uk", "", None])
def test_hosts_that_register_nothing_have_no_domain(host: str | None):
    from archive.domains import registered_domain

    assert registered_domain(host) is None


def test_the_public_suffix_list_is_read_without_the_network(monkeypatch: pytest.MonkeyPatch):
    import socket

    from archive import domains

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the public suffix list tried to reach the network")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    domains._suffixes.cache_clear()
    domains.registered_domain.cache_clear()
    try:
        assert domains.registered_domain("news.example.kiev.ua") == "example.kiev.ua"
    finally:
        domains.registered_domain.cache_clear()


def test_a_row_for_a_public_suffix_does_not_name_the_sites_under_it(tmp_path: Path):
    table = tmp_path / "outlets.csv"
    table.write_text("domain,name\nblogspot.com,Blogger\n", encoding="utf-8")
    load_user_table(table)
    assert outlet_for_url("https://blogspot.com/") == "Blogger"
    assert outlet_for_url("https://foo.blogspot.com/2023/01/post.html") is None


@pytest.mark.parametrize(("one", "other"), [
    ("news.bbc.co.uk", "BBC"),
    ("edition.cnn.com", "CNN"),
    ("amp.theguardian.com", "The Guardian"),
    ("m.bbc.co.uk", "www.bbc.co.uk"),
    ("chicago.suntimes.com", "Chicago Sun-Times"),
])
def test_generic_subdomains_never_become_the_key(one: str, other: str):
    assert matching_key(one) == matching_key(other)


@pytest.mark.parametrize(("one", "other"), [
    ("news.bbc.co.uk", "news.sky.com"),
    ("foo.blogspot.com", "bar.blogspot.com"),
    ("g1.globo.com", "oglobo.globo.com"),  # two outlets of one group
    ("news.com.au", "News"),
])
def test_different_sites_keep_different_keys(one: str, other: str):
    assert matching_key(one) != matching_key(other)


def test_articles_of_two_sites_with_a_news_subdomain_stay_under_their_own_outlets(
        archive, ingest_paths, write_file):
    from sqlalchemy import select

    from archive.models import Article, Outlet

    body = "The harbour board met on Monday to discuss the new ferry timetable in detail."
    records = [{"title": "Sky story", "maintext": body, "source_domain": "news.sky.com"},
               {"title": "BBC story", "maintext": body + " A second paragraph.",
                "source_domain": "news.bbc.co.uk"}]
    feed = write_file("feed.jsonl", "\n".join(json.dumps(r) for r in records) + "\n")
    summary = ingest_paths(feed)
    assert summary.added == 2
    with archive.sessions() as session:
        stored = dict(session.execute(select(Article.title, Outlet.name)
                                      .join(Outlet, Article.outlet_id == Outlet.id)).all())
    assert stored == {"Sky story": "news.sky.com", "BBC story": "news.bbc.co.uk"}


def test_reference_rows_never_name_a_site_by_a_call_sign_its_address_does_not_carry():
    import csv
    import re
    from importlib import resources

    call_sign = re.compile(r"^[KW][A-Z]{2,3}(?:-(?:TV|DT|FM|AM))?$")
    table = resources.files("archive") / "data" / "outlets_reference.csv"
    with table.open(encoding="utf-8") as lines:
        rows = list(csv.reader(line for line in lines if not line.startswith("#")))
    odd = [row for row in rows[1:] if call_sign.match(row[1])
           and row[1].split("-")[0].lower() not in row[0].replace("-", "")]
    assert not odd


def test_a_section_label_is_not_an_outlet_whose_name_it_is_with_an_article():
    from archive.outlets import known_outlet

    assert known_outlet("News") is None  # "The News" is an outlet; "News" is a menu label
    assert known_outlet("The News") == "The News International"
    assert known_outlet("Detroit News") == "The Detroit News"
