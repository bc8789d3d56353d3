"""Shared pieces of the rule tables: the hit record and the keyword-phrase compiler.

Keyword phrases are written in a small notation so the tables stay readable:
- a letter matches itself or its leetspeak stand-ins (e -> e/3, a -> a/4/@, s -> s/5/$, ...);
- a space matches any run of separators, including none ("sick note", "sick-note", "sicknote");
- `~` at the end of a word matches any word ending ("forge~" -> forged, forgery);
- `_` matches a gap of up to three words ("remove _ watermark" -> "remove the faint watermark");
- `( | )` and `?` are regex grouping, alternation and optional, as usual.
Phrases match whole words only, on the folded (lower-case, accent-free) text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Decision = Literal["allow", "hold", "block"]
SEVERITY: dict[str, int] = {"allow": 0, "hold": 1, "block": 2}

LEET: dict[str, str] = {
    "a": "a4@", "b": "b8", "e": "e3", "g": "g9", "i": "i1!|", "l": "l1|", "o": "o0",
    "s": "s5$", "t": "t7", "z": "z2",
}  # fmt: skip
_SEP = r"[\s\-_.*]*"
_GAP = r"(?:[\s\-.,]+[\w@$!|'’]+){0,3}[\s\-.,]+"
_REGEX_CHARS = set("()|?")


@dataclass(frozen=True)
class Hit:
    """One rule firing. Holds a span into the normalised text, never the matched text itself,
    so a Hit can be logged without leaking what it found."""

    rule_id: str
    kind: str
    start: int
    end: int
    decision: Decision


def fuzzy(phrase: str, *, digits_after: bool = False) -> str:
    """Compile one phrase of the notation above to a regex source string. With `digits_after`
    a digit may follow the phrase directly (labels: "MRN00123456")."""
    out: list[str] = []
    for ch in phrase:
        if ch in LEET:
            out.append("[" + re.escape(LEET[ch]) + "]")
        elif ch == " ":
            out.append(_SEP)
        elif ch == "~":
            out.append(r"[\w'’]*")
        elif ch == "_":
            out.append(_GAP)
        elif ch in _REGEX_CHARS:
            out.append(ch)
        else:
            out.append(re.escape(ch))
    end = r"(?![a-z])" if digits_after else r"(?![a-z0-9])"
    return r"(?<![a-z0-9@$|])(?:" + "".join(out) + ")" + end


def compile_phrases(phrases: Iterable[str]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{fuzzy(p)})" for p in phrases))
