"""Undo the tricks people use to slip text past a filter, before any rule looks at it.

The starting point is the parser's own text (`imagine_med.prompt.text.normalise`: NFKC, control
and format characters as spaces), so moderation never screens less than the parser reads: every
token the parser sees is a token here too (property-tested). On top of it, for rules only:
look-alike letters from other scripts mapped to Latin inside mixed-script words (one for one),
spaced-out letters rejoined ("j o h n  s m i t h" -> "john smith", "s.e.x.y" -> "sexy"),
whitespace collapsed. Case is kept (names are recognised partly by case); `folded` is `text`
lower-cased with accents stripped (same length), for keyword rules.

A format character inside a word ("Jo\u200bhn", "s\u200bexy") splits it for the parser, but a
reader sees one word. So when the prompt holds format characters, a second view, `joined`, is
built with them deleted instead, and screened as well; `joined_to_text` maps its positions back
to `text` so its findings are redacted in the one text that is stored.
Leetspeak is not rewritten here ("1" may stand for i or l): keyword rules accept digit
look-alikes letter by letter instead (see `rules.fuzzy`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from imagine_med.prompt.text import format_characters, normalise

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
CONFUSABLE_TABLE = str.maketrans(CONFUSABLES)

_WORD = re.compile(r"[^\W\d_]+")  # one letter too: "y/\u043e" is "y/o" with a Cyrillic o
# A run of 3+ single letters/digits joined by one repeated separator: "s e x", "M.R.N", "1-2-3".
# Never next to a number's decimal part ("1.5 2 3" keeps the parser's token "1.5").
_SPACED = re.compile(
    r"(?<![^\W_])(?<![^\W_][.,])[^\W_](?P<sep>[ .\-_*])[^\W_](?:(?P=sep)[^\W_])+"
    r"(?![^\W_]|[.,][^\W_])"
)
_SPACES = re.compile(r"\s+")
_GAPS = re.compile(r" {2,}")


@dataclass(frozen=True)
class Normalized:
    text: str
    folded: str
    joined: Normalized | None = None  # format characters deleted, when that reads differently
    joined_to_text: tuple[int, ...] = ()  # joined.text index -> text index
    length: int = -1  # length of `text` before any `limit` cut it; -1: not cut

    def splits(self) -> frozenset[int]:
        """Positions of `text` holding a space that `joined` lacks: a format character was
        there."""
        if self.joined is None:
            return frozenset()
        mapped = set(self.joined_to_text)
        return frozenset(i for i, c in enumerate(self.text) if c == " " and i not in mapped)


def _unconfuse(match: re.Match[str]) -> str:
    word = match.group(0)
    suspects = [ch in CONFUSABLES for ch in word]
    if not any(suspects):
        return word
    has_latin = any("a" <= ch.lower() <= "z" for ch in word)
    if has_latin or all(suspects):
        return word.translate(CONFUSABLE_TABLE)
    return word


def _despace(match: re.Match[str]) -> str:
    run = match.group(0)
    sep = match.group("sep")
    if sep == "." and any(ch.isdigit() for ch in run):
        return run  # "8.8.8.8" is an IP address and "1.2" a number, not spaced-out characters
    return run.replace(sep, "")


def _fold_char(c: str) -> str:
    low = c.lower()
    if len(low) != 1:
        low = c
    base = unicodedata.normalize("NFKD", low)[:1] or low
    if c == "’":
        return "'"
    return base if base.isascii() or not unicodedata.combining(base) else low


@lru_cache(maxsize=1)
def _delete_format() -> dict[int, None]:
    return dict.fromkeys(format_characters())


def _view(base: str, limit: int | None) -> Normalized:
    # Two or more spaces separate spaced-out words, so mark them before joining letters.
    text = _GAPS.sub("\n", base.strip())
    cut = limit is not None and len(text) > 2 * limit + 2
    if cut:
        # Rejoining spaced letters at most halves a text, so what lies past 2 * limit + 2
        # characters here is past `limit` at the end: don't spend time on it.
        text = text[: 2 * limit + 2]
    text = _WORD.sub(_unconfuse, text)
    text = _SPACED.sub(_despace, text)
    text = _WORD.sub(_unconfuse, text)  # again: "d.о.b." is a word only once rejoined
    text = _SPACES.sub(" ", text).strip()
    length = max(len(text), limit + 1) if cut and limit is not None else len(text)
    if limit is not None:
        text = text[:limit]
    folded = "".join(_fold_char(c) for c in text)
    return Normalized(text=text, folded=folded, length=length)


def align(text: str, other: str) -> tuple[int, ...]:
    """For each index of `other`, the index of the same character in `text`.

    `other` is `text` with some spaces missing (format characters deleted rather than spaced)
    and, rarely, letters joined differently; one greedy pass, linear, skipping spaces of `text`
    that `other` lacks."""
    out: list[int] = []
    i, n = 0, len(text)
    for ch in other:
        while i < n and text[i] != ch and text[i] == " ":
            i += 1
        out.append(min(i, n - 1) if n else 0)
        if i < n and text[i] == ch:
            i += 1
    return tuple(out)


def normalize(raw: str, limit: int | None = None) -> Normalized:
    """The screened views of a raw prompt (see the module docstring), each cut to `limit`
    characters after normalisation; `length` tells how long the main view was before."""
    main = _view(normalise(raw), limit)
    nfkc = unicodedata.normalize("NFKC", raw)
    stripped = nfkc.translate(_delete_format())
    if len(stripped) == len(nfkc):
        return main
    joined = _view(normalise(stripped), limit)
    if joined.text == main.text:
        return main
    return Normalized(main.text, main.folded, joined, align(main.text, joined.text), main.length)
