"""Dates written the way people type them when a form is not asking: spaced ("03 03 1961"),
spelled ("3rd of March 1961" is in `phi.py`; "third march sixty one", "the twenty-first of May
1949" here), and birth years that make an age over 89 ("1933-born", "born in '32", "a man of 94").

Candidates are found by bounded patterns (linear) and confirmed by python-dateutil, which must
read them as a real calendar date: "31 02 1961" is not one, and neither is "2 cm" or "T4".
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date

from dateutil import parser as dateparser

_ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
    "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13,
    "fourteenth": 14, "fifteenth": 15, "sixteenth": 16, "seventeenth": 17, "eighteenth": 18,
    "nineteenth": 19, "twentieth": 20, "thirtieth": 30,
}  # fmt: skip
_UNITS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
          "eight": 8, "nine": 9}
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
         "eighty": 80, "ninety": 90}
_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_ORD_WORD = (
    r"(?:(?:twenty|thirty)[\s\-]?(?:first|second|third|fourth|fifth|sixth|seventh|eighth"
    r"|ninth)|" + "|".join(sorted(_ORDINALS, key=len, reverse=True)) + ")"
)
_TENS_ALT = "|".join(_TENS)
_UNITS_ALT = "|".join(_UNITS)
_YEAR_WORDS = rf"(?:nineteen\s+)?(?:{_TENS_ALT})(?:[\s\-]?(?:{_UNITS_ALT}))?"
_SPELLED = re.compile(
    rf"(?<![\w])(?:the\s+)?(?P<day>{_ORD_WORD})(?:\s+of)?\s+(?P<month>{_MONTH})\.?"
    rf"(?:,?\s+(?P<year>(?:19|20)\d\d|'\d\d|{_YEAR_WORDS}))?(?![\w])",
    re.IGNORECASE,
)
_SPACED = re.compile(r"(?<![\w.:/\-])(\d{1,2})\s(\d{1,2})\s((?:19|20)\d\d)(?![\w.:/\-])")
_BORN_YEAR = re.compile(
    r"(?<![\w])(?P<y>1[89]\d\d|20\d\d)[\s\-]?born(?![\w])"
    r"|(?<![\w])born\s+(?:in\s+)?(?:the\s+year\s+)?'(?P<yy>\d\d)(?![\w])",
    re.IGNORECASE,
)
_OLD_AGE = re.compile(
    r"(?<![\w])(?:man|woman|lady|gentleman|patient|person|male|female|grandmother|grandfather)"
    r"\s+of\s+(?P<v>9\d|1[01]\d)(?![\w.%])",
    re.IGNORECASE,
)


def _number(words: str, table: dict[str, int]) -> int | None:
    parts = re.split(r"[\s\-]+", words.lower().strip())
    total = 0
    for p in parts:
        if p in table:
            total += table[p]
        elif p in _TENS:
            total += _TENS[p]
        elif p in _UNITS:
            total += _UNITS[p]
        elif p == "nineteen":
            continue
        else:
            return None
    return total or None


def _real(day: int, month: str | int, year: int) -> bool:
    """python-dateutil reads it as a calendar date (day first)."""
    try:
        dateparser.parse(f"{day} {month} {year}", dayfirst=True)
    except (ValueError, OverflowError):
        return False
    return True


def _year(text: str | None) -> int:
    if not text:
        return 2000  # a leap year, so "29th of February" with no year is still a date
    if text.isdigit():
        return int(text)
    if text.startswith("'"):
        return 1900 + int(text[1:])
    return 1900 + (_number(text, {}) or 0)


def find_written_dates(text: str) -> Iterator[tuple[int, int]]:
    """Spans of spaced numeric and spelled dates."""
    for m in _SPACED.finditer(text):
        d, mo, y = int(m.group(1)), int(m.group(2)), int(m.group(3))
        if _real(d, mo, y) or _real(mo, d, y):
            yield m.span()
    for m in _SPELLED.finditer(text):
        month = m.group("month")
        if month in ("may", "mar", "march") and not m.group("year"):
            continue  # "the second march fracture", "first may": ordinary words in lower case
        day = _number(m.group("day"), _ORDINALS)
        if day is not None and _real(day, m.group("month")[:3], _year(m.group("year"))):
            yield m.span()


def find_old_ages(text: str, today: date) -> Iterator[tuple[int, int]]:
    """Spans of birth years and ages that put someone over 89 ("1933-born", "a man of 94")."""
    for m in _BORN_YEAR.finditer(text):
        year = int(m.group("y")) if m.group("y") else 1900 + int(m.group("yy"))
        if today.year - year > 89:
            yield m.span()
    for m in _OLD_AGE.finditer(text):
        yield m.span("v")
