"""HTML pages: article text, metadata with provenance, and refusal of pages that cannot be read."""

from __future__ import annotations

from pathlib import Path

import pytest

from archive.document import ExtractionError, RawDocument
from archive.extract import extract
from archive.html.parse import MAX_ELEMENTS, MAX_HTML_CHARS
from archive.htmlpage import extract_html
from archive.outlets import reset_tables

PAGES = Path(__file__).resolve().parent / "data" / "html"
PARAGRAPH = ("<p>The harbour board met on Monday to discuss the new ferry timetable, which adds"
             " two evening sailings in summer and moves the first winter crossing to seven.</p>")


@pytest.fixture(autouse=True)
def _shipped_outlets_only(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("ARCHIVE_OUTLETS", raising=False)
    reset_tables()
    yield
    reset_tables()


def page(name: str, **hints: str):
    """The article `archive ingest` would store for one of the test pages."""
    path = PAGES / name
    return extract(RawDocument(str(path), path.read_bytes(), "html", hints))


def rule(article, field: str) -> str:
    return article.provenance["fields"][field]["rule"]


def simple_page(body: str, head: str = "<title>Ferry timetable</title>") -> str:
    return f"<!DOCTYPE html><html><head>{head}</head><body>{body}</body></html>"


# --- title -------------------------------------------------------------------------------

def test_title_is_the_headline_shown_not_the_logo_h1_nor_the_title_tag():
    article = page("harbour_strike.html")
    # the first <h1> is the site's logo linking home; <title> carries " | site" on the end
    assert article.title == "Dock workers end ten-day strike at Port Kessel"
    assert rule(article, "title") == "<h1> matching the og:title meta tag"


def test_site_name_is_cut_from_a_declared_title_when_there_is_no_h1():
    article = page("garden_blog.html")
    assert article.title == "Why my tomatoes split after the summer storms"
    assert rule(article, "title") == "<title>, site name removed"


def test_h1_is_preferred_to_a_shorter_social_title():
    html = simple_page(
        f"<h1>Ferry board adds two evening sailings for the summer</h1>{PARAGRAPH * 3}",
        head="<title>Evening ferries - Isle Gazette</title>"
             '<meta property="og:title" content="Ferry board adds two evening sailings">'
             '<meta property="og:site_name" content="Isle Gazette">')
    article = extract_html(html, {})
    assert article.title == "Ferry board adds two evening sailings for the summer"
    assert rule(article, "title") == "<h1> matching the og:title meta tag"


def test_a_sections_name_in_the_h1_gives_way_to_the_declared_headline():
    html = simple_page(f"<h1>Ferries Travel Center</h1>{PARAGRAPH * 3}",
                       head="<title>Ferry board adds two evening sailings for summer</title>")
    article = extract_html(html, {})
    assert article.title == "Ferry board adds two evening sailings for summer"
    assert rule(article, "title") == "<title>"
    # a headline in the <h1> with a short social title beside it stays the headline
    html = simple_page(f"<h1>Ferry board adds two evening sailings</h1>{PARAGRAPH * 3}",
                       head="<title>Evening ferries</title>")
    assert extract_html(html, {}).title == "Ferry board adds two evening sailings"


def test_site_name_before_the_headline_is_removed_too():
    html = simple_page(PARAGRAPH * 3, head="<title>Isle Gazette | Ferry board adds sailings</title>"
                                           '<meta property="og:site_name" content="Isle Gazette">')
    assert extract_html(html, {}).title == "Ferry board adds sailings"


def test_a_dash_inside_a_headline_is_not_taken_for_a_site_name():
    html = simple_page(PARAGRAPH * 3,
                       head="<title>Ferries - two more in summer - Isle Gazette</title>"
                            '<meta property="og:site_name" content="Isle Gazette">')
    assert extract_html(html, {}).title == "Ferries - two more in summer"


# --- dates -------------------------------------------------------------------------------

def test_date_comes_from_the_declared_publication_time_with_day_precision():
    article = page("harbour_strike.html")
    assert article.published.iso() == "2023-04-12"  # not the modified date, 2023-04-14
    assert article.published.precision == "day"
    assert rule(article, "date") == "JSON-LD datePublished"


@pytest.mark.parametrize(("before", "after"), [
    ("<![CDATA[", "]]>"), ("//<![CDATA[", "//]]>"), ("/*<![CDATA[*/", "/*]]>*/"),
    ("<!--", "-->"), ("", ""),
])
def test_json_ld_is_read_inside_cdata_and_comment_markers(before, after):
    ld = ('[{"@type": "NewsArticle", "headline": "Ferry board adds two evening sailings", '
          '"datePublished": "2020-07-10T14:15:42+00:00", '
          '"dateModified": "2025-01-07T09:08:22+00:00"}]')
    html = simple_page(
        f"<h1>Ferry board adds two evening sailings</h1>{PARAGRAPH * 3}",
        head='<meta property="article:modified_time" content="2025-01-07T09:08:22+00:00">'
             f'<script type="application/ld+json">\n  {before}\n  {ld}\n  {after}\n</script>')
    article = extract_html(html, {})
    assert article.published.iso() == "2020-07-10"
    assert rule(article, "date") == "JSON-LD datePublished"


def test_updated_dates_are_never_taken_for_the_publication_date():
    article = page("updated_not_published.html")
    # the page declares only its modification time in metadata, and shows "Updated" first
    assert article.published.iso() == "2024-02-09"
    assert rule(article, "date") == "'Published …' line on the page"


def test_time_element_marked_as_update_is_skipped():
    article = page("garden_blog.html")
    assert article.published.iso() == "2021-08-03"


def test_a_month_without_a_day_is_kept_as_a_month():
    article = page("split_body.html")
    assert (article.published.precision, article.published.iso()) == ("month", "2020-06")
    record = article.as_json()
    assert record["date"] is None and record["date_known"] == "2020-06"


def test_impossible_declared_dates_fall_through_to_the_next_rule():
    html = simple_page(
        f"<h1>Ferry board adds two evening sailings</h1>{PARAGRAPH * 3}",
        head='<meta property="article:published_time" content="0001-01-01T00:00:00Z">'
             '<meta name="pubdate" content="2019-05-06">')
    assert extract_html(html, {}).published.iso() == "2019-05-06"


@pytest.mark.parametrize(("line", "expected"), [
    ("Опубликовано 5 января 2022", "2022-01-05"),
    ("Veröffentlicht am 5. März 2023", "2023-03-05"),
    ("Publicado em 12 de março de 2023", "2023-03-12"),
    ("Publicado el 5 de marzo de 2023", "2023-03-05"),
    ("Publié le 1er mars 2023", "2023-03-01"),
    ("Pubblicato il 5 marzo 2023", "2023-03-05"),
])
def test_published_lines_in_other_languages_get_their_month(line: str, expected: str):
    html = simple_page(f"<h1>Ferry board adds two evening sailings</h1><p>{line}</p>"
                       f"{PARAGRAPH * 3}")
    article = extract_html(html, {})
    assert (article.published.iso(), article.published.precision) == (expected, "day")
    assert rule(article, "date") == "'Published …' line on the page"


def test_a_month_name_two_languages_read_differently_follows_the_page_language():
    body = ('<h1>Rada miasta zatwierdziła nowy rozkład promów</h1>'
            '<span itemprop="datePublished">5 listopada 2022</span>' + PARAGRAPH * 3)
    polish = f'<!DOCTYPE html><html lang="pl"><head></head><body>{body}</body></html>'
    croatian = polish.replace('lang="pl"', 'lang="hr"')
    assert extract_html(polish, {}).published.iso() == "2022-11-05"
    assert extract_html(croatian, {}).published.iso() == "2022-10-05"


def test_a_month_no_reader_knows_leaves_only_the_year():
    # Irish is not in the month table; htmldate, asked last, finds only the year and says
    # 1 January, which is no publication day
    html = simple_page(f"<h1>Ferry board adds two evening sailings</h1>"
                       f"<p>Published 12 Samhain 2022</p>{PARAGRAPH * 3}")
    article = extract_html(html, {})
    assert (article.published.iso(), article.published.precision) == ("2022", "year")
    assert article.as_json()["date"] is None


@pytest.mark.parametrize(("extra", "lang", "expected"), [
    ("", "en", ("2015", "year")),  # 3/09/15: 3 September or March 9, the page never says
    ("<p>Posted March 9, 2015</p>", "en", ("2015-03-09", "day")),
    ("", "pt", ("2015-09-03", "day")),
])
def test_a_date_either_order_could_read_is_settled_by_the_page(extra, lang, expected):
    html = simple_page(f"<h1>Ferry board adds two evening sailings</h1>"
                       f"<p><b>3/09/15 8:00am</b></p>{extra}{PARAGRAPH * 3}").replace(
        "<html>", f'<html lang="{lang}">')
    published = extract_html(html, {}).published
    assert (published.iso(), published.precision) == expected


# --- outlet ------------------------------------------------------------------------------

def test_a_headline_whose_comma_has_a_tag_of_its_own():
    html = simple_page("<h1>Ferry board adds<span>,</span> at last<br>two evening sailings</h1>"
                       + PARAGRAPH * 3)
    assert extract_html(html, {}).title == "Ferry board adds, at last two evening sailings"


def test_a_chinese_title_joins_headline_channel_and_site_with_underscores():
    html = simple_page("<h1>海港新增两班夜间渡轮</h1>" + PARAGRAPH * 3,
                       head="<title>海港新增两班夜间渡轮_航运频道_海港网</title>")
    article = extract_html(html, {})
    assert (article.title, article.outlet) == ("海港新增两班夜间渡轮", "海港网")


@pytest.mark.parametrize(("title_tag", "headline"), [
    # with no <h1> to match, the declared title minus the site and the section before it
    ("Ferry board adds two evening sailings | Travel | Isle Gazette",
     "Ferry board adds two evening sailings"),
    ("海港新增两班夜间渡轮今日起航_航运频道_海港网", "海港新增两班夜间渡轮今日起航"),
    ("Le conseil ajoute deux traversées du soir | Économie | Isle Gazette",
     "Le conseil ajoute deux traversées du soir"),
    # a number goes with the headline
    ("Ferry board adds two evening sailings | Part 2 | Isle Gazette",
     "Ferry board adds two evening sailings | Part 2"),
])
def test_a_section_between_the_headline_and_the_site_goes_with_the_site(title_tag, headline):
    html = simple_page(PARAGRAPH * 3, head=f'<title>{title_tag}</title>'
                       '<meta property="og:site_name" content="Isle Gazette">'
                       '<meta property="og:site_name" content="海港网">')
    assert extract_html(html, {}).title == headline


def test_a_site_name_without_its_companys_legal_form():
    html = simple_page("<h1>Ferry board adds two evening sailings</h1>" + PARAGRAPH * 3,
                       head='<meta property="og:site_name" content="Kessel Harbour Times, Inc.">')
    assert extract_html(html, {}).outlet == "Kessel Harbour Times"


def test_outlet_from_og_site_name():
    article = page("harbour_strike.html")
    assert article.outlet == "The Kessel Harbour Times"
    assert rule(article, "outlet") == "og:site_name meta tag"


def test_outlet_from_json_ld_publisher_when_there_is_no_site_name():
    html = simple_page(
        f"<h1>Ferry board adds two evening sailings</h1>{PARAGRAPH * 3}",
        head='<script type="application/ld+json">{"@type": "NewsArticle", "headline": "Ferry '
             'board adds two evening sailings", "publisher": {"@type": "Organization", '
             '"name": "Isle Gazette"}}</script>')
    article = extract_html(html, {})
    assert article.outlet == "Isle Gazette"
    assert rule(article, "outlet") == "JSON-LD publisher of the article"


def test_outlet_from_the_table_by_the_supplied_address():
    html = simple_page(f"<h1>Ferry board adds two evening sailings</h1>{PARAGRAPH * 3}")
    article = extract_html(html, {"url": "https://www.theguardian.com/uk-news/2023/ferries"})
    assert article.outlet == "The Guardian"
    assert rule(article, "outlet") == "outlet table, by the domain of the supplied url"


def test_syndicated_copy_is_credited_to_the_site_that_shows_it():
    article = page("syndicated.html")
    # canonical points at bbc.co.uk (in the outlet table), but the page names itself
    assert article.outlet == "PortalHub News"


def test_lower_case_handle_gives_way_to_the_name_the_title_uses():
    html = simple_page(
        f"<h1>Ferry board adds two evening sailings</h1>{PARAGRAPH * 3}",
        head="<title>Ferry board adds two evening sailings - islegazette.com</title>"
             '<meta property="og:site_name" content="islegazette">'
             '<link rel="canonical" href="https://www.islegazette.com/ferries">')
    assert extract_html(html, {}).outlet == "islegazette.com"


def test_outlet_from_the_copyright_line_when_nothing_else_names_the_site():
    html = simple_page(f"<h1>Ferry board adds two evening sailings</h1>{PARAGRAPH * 3}"
                       "<footer><p>© 2023 Isle Gazette. All rights reserved.</p></footer>")
    assert extract_html(html, {}).outlet == "Isle Gazette"


def test_the_title_naming_the_site_beats_the_copyright_holder_of_a_blog():
    # No <h1>: the headline is declared in og:title, and <title> prints the blog's name
    # before it with no space before the colon; the footer names the blog's author.
    html = simple_page(
        f"{PARAGRAPH * 3}<footer><p>© 2016 Andrea Vossberg</p></footer>",
        head="<title>Harbour Notes: Ferry board adds two evening sailings</title>"
             '<meta property="og:title" content="Ferry board adds two evening sailings">')
    article = extract_html(html, {})
    assert article.outlet == "Harbour Notes"
    assert rule(article, "outlet") == "<title> around the headline"


def test_a_name_written_as_an_identifier_gives_way_to_the_site_name():
    html = simple_page(
        f"<h1>Ferry board adds two evening sailings</h1>{PARAGRAPH * 3}",
        head="<title>Ferry board adds two evening sailings | islegazette</title>"
             '<meta property="og:site_name" content="islegazette">'
             '<meta name="application-name" content="islegazette-website">'
             '<meta name="apple-mobile-web-app-title" content="islegazette-website">'
             '<link rel="canonical" href="https://islegazette.com/ferries">')
    assert extract_html(html, {}).outlet == "islegazette"


# --- byline ------------------------------------------------------------------------------

def test_byline_lists_every_declared_author():
    assert page("harbour_strike.html").byline == "Mira Oosterhuis, Tomas Lind"


def test_byline_element_loses_its_by_and_date():
    html = simple_page('<h1>Ferry board adds two evening sailings</h1>'
                       '<p class="byline">By Ada Lindqvist | March 3, 2023</p>' + PARAGRAPH * 3)
    assert extract_html(html, {}).byline == "Ada Lindqvist"


# --- body --------------------------------------------------------------------------------

def test_body_drops_teasers_and_calls_to_follow_and_says_so():
    article = page("harbour_strike.html")
    assert "Read more" not in article.body
    assert "Follow us" not in article.body
    assert article.body.startswith("Dock workers at Port Kessel returned to the cranes")
    assert article.body.endswith("according to figures released by the union on Wednesday"
                                 " afternoon.")
    reasons = {item["reason"] for item in article.provenance["removed"]}
    assert {"link to another article", "furniture after the article"} <= reasons


def test_sentences_that_merely_start_like_furniture_are_kept():
    first = "<p>In 2019 there were 14 storms, and 3 of them flooded the quay.</p>"
    last = ("<p>Share prices of the ferry company rose after the announcement.</p>"
            "<p>Follow-up talks with the island councils are planned for May.</p>"
            "<p>Updated figures from the harbour board show traffic up by a fifth since 2015,"
            " with most of the growth in the summer months.</p>")
    html = simple_page(f"<h1>Ferry board adds two evening sailings</h1>{first}{PARAGRAPH * 3}"
                       f"{last}")
    body = extract_html(html, {}).body
    assert body.startswith("In 2019 there were 14 storms")
    assert body.endswith("with most of the growth in the summer months.")
    assert "Share prices" in body and "Follow-up talks" in body


def test_headline_repeated_at_the_top_of_the_body_is_removed():
    article = page("updated_not_published.html")
    assert not article.body.startswith("Council approves")
    assert {"text": "Council approves new cycle lanes on Mill Road",
            "reason": "the headline again"} in article.provenance["removed"]


def test_article_split_around_adverts_is_read_to_the_end():
    body = page("split_body.html").body
    assert body.startswith("When the last lighthouse")
    assert "The oldest of them, a former fisherman" in body
    assert body.endswith("just in case.")
    # the pull quote repeats a sentence of the article and is not read twice
    assert body.count("reach the tower in a winter storm") == 1


def test_script_written_as_text_stays_text_and_page_code_is_dropped():
    body = page("script_text.html").body
    assert "If someone types <script>alert(1)</script> into a comment box" in body
    assert "document.write" not in body and "tracking" not in body


# --- pages that cannot be read -------------------------------------------------------------

def test_deeply_nested_page_is_refused_with_a_reason():
    html = "<html><body>" + "<div>" * 10_000 + PARAGRAPH + "</div>" * 10_000 + "</body></html>"
    with pytest.raises(ExtractionError, match="nested too deeply"):
        extract_html(html, {})


def test_page_nested_a_few_hundred_levels_is_still_read():
    html = ("<html><head><title>Ferry timetable</title></head><body>" + "<div>" * 600
            + PARAGRAPH * 3 + "</div>" * 600 + "</body></html>")
    assert "two evening sailings" in extract_html(html, {}).body


def test_control_characters_inside_tags_and_text_do_not_break_reading():
    junk = "<p\x01\x02 cla\x03ss='x'>Binary \x0b junk\x1f here</p>"
    html = simple_page(f"<h1>Ferry board adds two evening sailings</h1>{junk}{PARAGRAPH * 3}")
    article = extract_html(html, {})
    assert "two evening sailings in summer" in article.body
    assert not any(ord(ch) < 32 and ch not in "\n\t" for ch in article.body)


def test_broken_entities_are_read_as_best_they_can():
    html = simple_page("<h1>Ferry board adds two evening sailings</h1>"
                       "<p>Fares &bogus; rise &#0; by &#xD800; ten &amp percent &#99999999999;"
                       " from May, the board said on Monday in its yearly report.</p>"
                       + PARAGRAPH * 3)
    assert "Fares &bogus; rise" in extract_html(html, {}).body


@pytest.mark.parametrize("html", ["", "   \n  ", "<html><body></body></html>",
                                  "<html><body><nav><a href='/'>Home</a></nav></body></html>"])
def test_pages_without_an_article_are_refused_with_a_reason(html: str):
    with pytest.raises(ExtractionError, match=r"empty|no article text|no HTML"):
        extract(RawDocument("page.html", html.encode(), "html"))


def test_too_many_elements_is_refused_without_reading_the_page():
    html = "<html><body>" + "<span>x</span>" * (MAX_ELEMENTS + 10) + "</body></html>"
    with pytest.raises(ExtractionError, match="HTML elements"):
        extract_html(html, {})


def test_gigantic_page_is_refused_before_parsing():
    html = "<html><body><p>" + "x" * MAX_HTML_CHARS + "</p></body></html>"
    with pytest.raises(ExtractionError, match="too large"):
        extract_html(html, {})


def test_hostile_title_and_attributes_cost_no_more_than_a_normal_page():
    html = ("<html><head><title>" + "a - " * 100_000 + "</title></head><body>"
            "<h1>Ferry board adds two evening sailings</h1>"
            "<div data-blob='" + "x" * 3_000_000 + "'>" + PARAGRAPH * 3 + "</div></body></html>")
    article = extract_html(html, {})
    assert article.title == "Ferry board adds two evening sailings"
    assert "two evening sailings in summer" in article.body


def test_the_page_keeps_its_article_where_the_table_drops_it(tmp_path, monkeypatch):
    """Reference data often files "The Republic" as "Republic": the page's own spelling wins."""
    table = tmp_path / "outlets.csv"
    table.write_text("domain,name\nrepublicherald.example,Republic Herald\n"
                     "therepublic.example,Republic\n", encoding="utf-8")
    monkeypatch.setenv("ARCHIVE_OUTLETS", str(table))
    reset_tables()
    html = simple_page(
        f"<h1>Ferry board adds two evening sailings</h1>{PARAGRAPH * 3}",
        head='<meta property="og:site_name" content="The Republic">'
             '<link rel="canonical" href="https://www.therepublic.example/ferries">')
    article = extract_html(html, {})
    assert article.outlet == "The Republic"
    assert "as the page spells it" in rule(article, "outlet")
