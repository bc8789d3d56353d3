"""Undo the tricks people use to slip text past a filter, before any rule looks at it.

Two views come out, of equal length so a span found in one is valid in the other:
- `text`: NFKC, zero-width and other format characters dropped, look-alike letters from other
  scripts mapped to Latin inside mixed-script words, spaced-out letters rejoined
  ("j o h n  s m i t h" -> "john smith", "s.e.x.y" -> "sexy"), whitespace collapsed. Case is
  kept (names are recognised partly by case) and this is the text that gets redacted.
- `folded`: `text` lower-cased with accents stripped, for keyword rules.
Leetspeak is not rewritten here ("1" may stand for i or l): keyword rules accept digit
look-alikes letter by letter instead (see `rules.fuzzy`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Cyrillic and Greek letters that render like Latin ones.
CONFUSABLES: dict[str, str] = {
    "а": "a", "в": "b", "е": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p",
    "с": "c", "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ј": "j", "ԁ": "d",
    "ӏ": "l", "ԛ": "q", "ԝ": "w", "ү": "y", "һ": "h", "ɡ": "g",
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P",
    "С": "C", "Т": "T", "У": "Y", "Х": "X", "Ѕ": "S", "І": "I", "Ј": "J", "Ү": "Y",
    "ο": "o", "α": "a", "ρ": "p", "ν": "v", "ι": "i", "κ": "k", "τ": "t", "υ": "u",
    "ε": "e", "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K",
    "Μ": "M", "Ν": "N", "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X",
}  # fmt: skip

_WORD = re.compile(r"[^\W\d_]{2,}")
# A run of 3+ single letters/digits joined by one repeated separator: "s e x", "M.R.N", "1-2-3".
_SPACED = re.compile(r"(?<![^\W_])[^\W_](?P<sep>[ .\-_*])[^\W_](?:(?P=sep)[^\W_])+(?![^\W_])")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Normalized:
    text: str
    folded: str


def _char(c: str) -> str:
    """One raw character -> its NFKC form, '' for invisible format characters, ' ' for space."""
    cat = unicodedata.category(c)
    if cat == "Cf" or c == "\u00ad":  # zero-width space/joiners, BOM, bidi marks, soft hyphen
        return ""
    if c.isspace():
        return " "
    return unicodedata.normalize("NFKC", c)


def _unconfuse(match: re.Match[str]) -> str:
    word = match.group(0)
    suspects = [ch in CONFUSABLES for ch in word]
    if not any(suspects):
        return word
    has_latin = any("a" <= ch.lower() <= "z" for ch in word)
    if has_latin or all(suspects):
        return "".join(CONFUSABLES.get(ch, ch) for ch in word)
    return word


def _despace(match: re.Match[str]) -> str:
    run = match.group(0)
    if match.group("sep") == "." and run.replace(".", "").isdigit():
        return run  # "8.8.8.8" is an IP address, not spaced-out digits
    return run.replace(match.group("sep"), "")


def _fold_char(c: str) -> str:
    low = c.lower()
    if len(low) != 1:
        low = c
    base = unicodedata.normalize("NFKD", low)[:1] or low
    if c == "’":
        return "'"
    return base if base.isascii() or not unicodedata.combining(base) else low


def normalize(raw: str) -> Normalized:
    text = "".join(_char(c) for c in raw)
    text = unicodedata.normalize("NFKC", text)
    text = _WORD.sub(_unconfuse, text)
    # Two or more spaces separate spaced-out words, so mark them before joining letters.
    text = re.sub(r" {2,}", "\n", text)
    text = _SPACED.sub(_despace, text)
    text = _SPACES.sub(" ", text).strip()
    folded = "".join(_fold_char(c) for c in text)
    return Normalized(text=text, folded=folded)
