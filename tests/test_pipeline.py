"""Decoding, dates, records and supplied metadata: the stages between a file and an article."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from archive.dates import parse_date
from archive.decode import decode
from archive.document import ExtractionError, RawDocument
from archive.extract import extract

RUSSIAN = ("Министр иностранных дел России заявил в понедельник, что отношения с Китаем "
           "переживают лучший период в своей истории.")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "windows-1251", "koi8-r"])
def test_encodings_come_out_as_the_right_text(encoding):
    text, _ = decode((RUSSIAN * 3).encode(encoding))
    assert RUSSIAN in text


def test_latin1_and_shift_jis():
    german = "Die Behörden begrüßten die Öffnung des Hafens am Montag ausdrücklich. " * 3
    assert decode(german.encode("iso-8859-1"))[0] == german
    japanese = "東京の港は月曜日に再開されました。労働者たちは決定を歓迎しました。" * 3
    assert decode(japanese.encode("shift_jis"))[0] == japanese


def test_html_meta_charset_is_honoured():
    page = f'<html><head><meta charset="windows-1251"></head><body>{RUSSIAN}</body></html>'
    assert RUSSIAN in decode(page.encode("windows-1251"))[0]


@pytest.mark.parametrize("data, message", [
    (b"", "empty file"), (b"   \n\t\n", "empty file"),
    (bytes(range(256)) * 10, "binary data"), (b"\x89PNG\r\n\x1a\n" + b"\x00" * 500, "binary data"),
])
def test_empty_and_binary_input_is_refused(data, message):
    with pytest.raises(ExtractionError, match=message):
        decode(data)


@pytest.mark.parametrize("text, expected", [
    ("March 20, 2022", (dt.date(2022, 3, 20), "day")),
    ("April 7, 2024 11:01 AM", (dt.date(2024, 4, 7), "day")),
    ("2019-11-19T10:00:00Z", (dt.date(2019, 11, 19), "day")),
    ("March 2022", (dt.date(2022, 3, 1), "month")),
    ("2022-03", (dt.date(2022, 3, 1), "month")),
    ("2022", (dt.date(2022, 1, 1), "year")),
    ("MOSCOW, January 18", None),  # no year: unknown, never guessed
    ("1 min read", None),
    ("3024-01-01", None),
])
def test_dates_keep_their_precision(text, expected):
    parsed = parse_date(text)
    assert (parsed.value, parsed.precision) == expected if expected else parsed is None


def test_news_please_records_map_to_articles():
    record = {"title": "Ferry adds winter sailings", "maintext": "First paragraph here.\n\n"
              "Second paragraph follows with more words.", "date_publish": "2023-10-18 08:15:00",
              "source_domain": "islandsherald.example", "authors": ["Mairi Gunn", "Ian Bell"],
              "url": "https://islandsherald.example/ferry"}
    article = extract(RawDocument("feed.jsonl#L1", json.dumps(record).encode(), "record"))
    assert article.title == "Ferry adds winter sailings"
    assert article.published.value == dt.date(2023, 10, 18)
    assert article.byline == "Mairi Gunn, Ian Bell"
    assert article.outlet == "islandsherald.example"
    assert article.body == "First paragraph here.\n\nSecond paragraph follows with more words."
    assert article.provenance["fields"]["title"] == {"rule": "record field 'title'"}


def test_record_without_text_names_the_fields_it_looked_for():
    raw = RawDocument("feed.jsonl#L3", b'{"title": "Only a title"}', "record")
    with pytest.raises(ExtractionError, match="no article text.*maintext"):
        extract(raw)


def test_supplied_values_win_and_are_recorded():
    raw = RawDocument("page.txt", b"A headline here\n\n" + b"The council met on Monday to "
                      b"discuss the budget for the coming year in detail. " * 3, "txt",
                      {"outlet": "The Supplied Times", "date": "2021-05-04"})
    article = extract(raw)
    assert article.outlet == "The Supplied Times"
    assert article.published.value == dt.date(2021, 5, 4)
    assert article.provenance["fields"]["outlet"]["rule"] == "supplied"
