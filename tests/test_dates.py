"""Publication dates written in many languages: the right month, or no date at all."""

from __future__ import annotations

import datetime as dt

import pytest

from archive import months
from archive.dates import parse_date


@pytest.mark.parametrize(("text", "expected"), [
    ("5 января 2022", dt.date(2022, 1, 5)),  # ru, genitive
    ("5-го марта 2022 года", dt.date(2022, 3, 5)),  # ru, ordinal and "года"
    ("5 січня 2022", dt.date(2022, 1, 5)),  # uk
    ("12 de março de 2023", dt.date(2023, 3, 12)),  # pt
    ("5 de marzo del 2023", dt.date(2023, 3, 5)),  # es
    ("1er mars 2023", dt.date(2023, 3, 1)),  # fr
    ("Publié le 7 juin 2021", dt.date(2021, 6, 7)),  # fr
    ("5. März 2023", dt.date(2023, 3, 5)),  # de
    ("5 marzo 2023", dt.date(2023, 3, 5)),  # it
    ("5 stycznia 2022 r.", dt.date(2022, 1, 5)),  # pl
    ("5. ledna 2022", dt.date(2022, 1, 5)),  # cs
    ("5 maart 2023", dt.date(2023, 3, 5)),  # nl
    ("5 Mart 2023", dt.date(2023, 3, 5)),  # tr
    ("8 EKİM 2023", dt.date(2023, 10, 8)),  # tr, upper case with a dotted İ
    ("2023. március 5.", dt.date(2023, 3, 5)),  # hu, year first
    ("5 Μαρτίου 2023", dt.date(2023, 3, 5)),  # el
    ("5 martie 2023", dt.date(2023, 3, 5)),  # ro
    ("12 d'abril de 2023", dt.date(2023, 4, 12)),  # ca
    ("2023 m. kovo 5 d.", dt.date(2023, 3, 5)),  # lt
    ("2022年3月5日", dt.date(2022, 3, 5)),  # zh, ja
    ("2022년 3월 5일", dt.date(2022, 3, 5)),  # ko
    ("05.03.2022", dt.date(2022, 3, 5)),  # dotted dates put the day first
    ("Thursday 19 November 2019 06.00 GMT", dt.date(2019, 11, 19)),
    ("Tue Nov 19 10:00:00 2019", dt.date(2019, 11, 19)),
])
def test_day_month_and_year_in_many_languages(text: str, expected: dt.date):
    parsed = parse_date(text)
    assert parsed is not None and (parsed.value, parsed.precision) == (expected, "day")


def test_a_month_name_with_a_year_only_keeps_month_precision():
    parsed = parse_date("январь 2022")
    assert parsed is not None and (parsed.value, parsed.precision) == (dt.date(2022, 1, 1),
                                                                       "month")


@pytest.mark.parametrize("text", [
    "12 Samhain 2022",  # Irish, a language the month table does not have
    "12 মার্চ 2022",  # Bengali month name, Latin digits
    "12 Xyzember 2022",
    "5 2022",  # a lone number beside the year would become the month
    "Published 12 2019",
    "31 февраля 2022",  # no such day
])
def test_a_month_that_cannot_be_read_for_certain_gives_no_date(text: str):
    assert parse_date(text) is None


def test_a_month_name_two_languages_read_differently_needs_the_language():
    assert parse_date("5 listopada 2022") is None  # Polish November, Croatian October
    assert parse_date("5 listopada 2022", "pl").value == dt.date(2022, 11, 5)
    assert parse_date("5. listopada 2022.", "hr").value == dt.date(2022, 10, 5)
    assert parse_date("5 listopada 2022", lambda: "pl-PL").value == dt.date(2022, 11, 5)


def test_the_language_is_only_worked_out_when_a_name_needs_it():
    def never() -> str:
        raise AssertionError("asked for the language of an unambiguous date")

    assert parse_date("5 stycznia 2022", never).value == dt.date(2022, 1, 5)


def test_the_month_table_gives_each_form_one_month_unless_marked_ambiguous():
    # A form with two meanings must be one that languages really write differently; any
    # other is a typing error in the table.
    ambiguous = {form.form for form in months.forms()
                 if months.month_of(form.form) == months.AMBIGUOUS}
    assert ambiguous == {"listopad", "listopada", "كانون", "تشرين"}
    by_language: dict[str, set[int]] = {}
    for form in months.forms():
        by_language.setdefault(form.language, set()).add(form.month)
    assert all(found == set(range(1, 13)) for language, found in by_language.items()
               if language not in {"lb"}), "every language lists all twelve months"
