"""Dates written the way people type them when a form is not asking: spaced ("03 03 1961"),
spelled ("3rd of March 1961" is in `phi.py`; "third march sixty one", "the twenty-first of May
1949", "January twentieth 2023", "March the fifth", "June twelve, 2021", years in words such as
"nineteen ninety-nine", "two thousand and three", "twenty twenty-two" here), birth years that
make an age over 89 ("1933-born", "born in '32", "a man of 94"), and ages over 89 in words or
after a person ("she is ninety-eight", "a hundred and two", "ninety-six yo", "he's 97").

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
_TEENS = {"ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
          "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19}
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
_TEENS_ALT = "|".join(_TEENS)
_TWO_DIGITS = (
    rf"(?:(?:{_TENS_ALT})(?:[\s\-]?(?:{_UNITS_ALT}))?|{_TEENS_ALT}|(?:oh|o)[\s\-](?:{_UNITS_ALT}))"
)
# "sixty one" (with a month: 1961), "nineteen ninety-nine", "two thousand and three",
# "twenty twenty-two", "twenty oh five"
_YEAR_WORDS = (
    rf"(?:(?:nineteen|eighteen)\s+{_TWO_DIGITS}|two\s+thousand(?:\s+and)?(?:\s+{_TWO_DIGITS}"
    rf"|\s+(?:{_UNITS_ALT}))?|twenty\s+{_TWO_DIGITS}|(?:{_TENS_ALT})(?:[\s\-]?(?:{_UNITS_ALT}))?)"
)
_CARD_DAY = (
    rf"(?:(?:twenty)[\s\-]?(?:{_UNITS_ALT})|thirty[\s\-]?one|{_TEENS_ALT}|twenty|thirty"
    rf"|{_UNITS_ALT})"
)
_SPELLED = re.compile(
    rf"(?<![\w])(?:the\s+)?(?P<day>{_ORD_WORD})(?:\s+of)?\s+(?P<month>{_MONTH})\.?"
    rf"(?:,?\s+(?P<year>(?:19|20)\d\d|'\d\d|{_YEAR_WORDS}))?(?![\w])",
    re.IGNORECASE,
)
# The month first: "January twentieth 2023", "March the fifth", "June twelve, 2021" (a cardinal
# day needs a year: "may two" and "march one" are words).
_MONTH_FIRST = re.compile(
    rf"(?<![\w])(?P<month>{_MONTH})\.?,?\s+(?:the\s+)?(?:(?P<day>{_ORD_WORD})|(?P<card>{_CARD_DAY}))"
    rf"(?![\w\-])(?:,?\s+(?:of\s+|in\s+)?(?P<year>(?:19|20)\d\d|'\d\d|{_YEAR_WORDS}))?(?![\w\-])",
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

# An age over 89 in words: "ninety", "ninety-eight", "a hundred", "one hundred and two",
# "a hundred and twenty-one".
_AGE_WORDS = (
    rf"(?:ninety(?:[\s\-]?(?:{_UNITS_ALT}))?|(?:a|one)[\s\-]+hundred(?:\s+and)?"
    rf"(?:[\s\-]+(?:(?:{_TENS_ALT})(?:[\s\-]?(?:{_UNITS_ALT}))?|{_TEENS_ALT}|{_UNITS_ALT}))?)"
)
_AGE_VALUE = rf"(?:{_AGE_WORDS}|9\d|1[01]\d)"
# ... that is not a measurement: "is 92 %", "ninety degrees", "a hundred and ten bpm", "90+"
_NOT_A_MEASURE = (
    r"(?![\w\-%°+]|\.\d)(?!\s*(?:%|percent|per\s*cent|degrees?|°|kg|kilos?|g\b|mg|mcg|ml|l\b|mm|cm"
    r"|m\b|lbs?|pounds?|bpm|beats|breaths|mmhg|mmol|units?|cells|ms|hz|hu|minutes?|mins?"
    r"|seconds?|secs?|hours?|days?|weeks?|months?|times|x\b|/|or\s+(?:older|over|more|above)"
    r"|and\s+(?:older|over|above)|plus))"
)
_PERSON = (
    r"(?:he|she|they|patient|pt|mum|mom|mother|dad|father|gran|granny|grandma|grandmother|grandpa"
    r"|grandfather|nan|nana|husband|wife|aunt|auntie|uncle|neighbou?r|friend|man|woman|lady"
    r"|gentleman|resident|client|who)"
)
_OLD_AGE_SAID = re.compile(
    # "she is ninety-eight", "he's 97", "mum turned ninety-four", "who is now a hundred and two"
    rf"(?<![\w])(?:{_PERSON}(?:['’]s|\s+(?:is|was|turned|turns|has\s+turned|will\s+be))"
    rf"(?:\s+(?:now|just|nearly|almost|about|over))?"
    # "my grandmother, a hundred and two, ...", "at the age of ninety-one", "age of 93"
    rf"|{_PERSON}\s*,(?:\s*aged)?(?=\s+(?:{_AGE_WORDS})\s*(?:,|;|\.|\)|$))"
    rf"|(?:at\s+)?(?:the\s+)?age\s+of|aged?)"
    rf"\s+(?P<v>{_AGE_VALUE}){_NOT_A_MEASURE}",
    re.IGNORECASE,
)
# "ninety-six yo", "a hundred and one y/o", "ninety-two-year-old"
_OLD_AGE_UNIT = re.compile(
    rf"(?<![\w])(?P<v>{_AGE_WORDS})[\s\-]*(?:yo|y/o|y\.o\.?|yrs?(?:[\s\-]+old)?"
    rf"|years?[\s\-]+old)(?![\w])",
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
        elif p in _TEENS:
            total += _TEENS[p]
        elif p == "nineteen":
            continue
        else:
            return None
    return total or None


def _year_in_words(text: str) -> int | None:
    """"nineteen ninety-nine" 1999, "two thousand and three" 2003, "twenty twenty-two" 2022,
    "twenty oh five" 2005, "sixty one" 1961 (a bare two-digit year is taken as 19xx)."""
    parts = [p for p in re.split(r"[\s\-]+", text.lower().strip()) if p and p != "and"]
    if parts[:2] == ["two", "thousand"]:
        return 2000 + (_number(" ".join(parts[2:]), {}) or 0 if parts[2:] else 0)
    if parts and parts[0] in ("nineteen", "eighteen") and len(parts) > 1:
        century = 1900 if parts[0] == "nineteen" else 1800
        return century + (_number(" ".join(p for p in parts[1:] if p not in ("oh", "o")), {})
                          or 0)
    if len(parts) > 1 and parts[0] == "twenty" and (parts[1] in _TENS or parts[1] in _TEENS
                                                    or parts[1] in ("oh", "o")):
        return 2000 + (_number(" ".join(p for p in parts[1:] if p not in ("oh", "o")), {}) or 0)
    value = _number(text, {})
    return None if value is None else 1900 + value


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
    return _year_in_words(text) or 1900


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
    for m in _MONTH_FIRST.finditer(text):
        month, year = m.group("month"), m.group("year")
        if m.group("card") and not year:
            continue  # "may two", "march one": a cardinal day needs a year
        if month.lower() in ("may", "mar", "march") and month.islower() and not year:
            continue  # "may first", "march second": ordinary words in lower case
        day = _number(m.group("day") or m.group("card"), _ORDINALS)
        if day is not None and day <= 31 and _real(day, month[:3], _year(year)):
            yield m.span()


def find_old_ages(text: str, today: date) -> Iterator[tuple[int, int]]:
    """Spans of birth years and ages that put someone over 89 ("1933-born", "a man of 94")."""
    for m in _BORN_YEAR.finditer(text):
        year = int(m.group("y")) if m.group("y") else 1900 + int(m.group("yy"))
        if today.year - year > 89:
            yield m.span()
    for pattern in (_OLD_AGE, _OLD_AGE_SAID, _OLD_AGE_UNIT):
        for m in pattern.finditer(text):
            yield m.span("v")
