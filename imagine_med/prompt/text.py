"""The one text normalisation every reader of a prompt shares: the parser, moderation, the bot
and the CLI (issue 13).

When two readers normalise differently, an identifier can hide in the difference: moderation
once deleted zero-width characters ("Jane\u200bRoe" -> "JaneRoe", no name) while the parser
turned them into spaces and read "Jane Roe". So there is one function, `normalise`, and
moderation screens its output (plus extra views of its own, never fewer characters).

- `normalise(raw)`: NFKC (full-width letters and digits become ASCII), then every control,
  format (zero-width, bidi, soft hyphen, BOM) and line/paragraph separator character becomes a
  space. Pure `str.translate`, linear in the input.
- `clean_prompt(raw)`: `normalise`, whitespace runs collapsed to one space, ends stripped. This
  is the text to length-check and to store: zero-width padding disappears, and the parser reads
  `clean_prompt(raw)` exactly as it reads `raw`.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from functools import lru_cache

# Categories turned into spaces: controls, format characters, line and paragraph separators.
SPACE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})
MAX_PROMPT_CHARS = 4000
_WHITESPACE = re.compile(r"\s+")


@lru_cache(maxsize=1)
def _to_space() -> dict[int, str]:
    """Code point -> " " for every character in SPACE_CATEGORIES (built once, ~0.2 s)."""
    return {
        cp: " "
        for cp in range(sys.maxunicode + 1)
        if unicodedata.category(chr(cp)) in SPACE_CATEGORIES
    }


def format_characters() -> frozenset[int]:
    """Code points of the format (Cf) characters, the invisible ones that glue words."""
    return frozenset(cp for cp in _to_space() if unicodedata.category(chr(cp)) == "Cf")


def normalise(text: str) -> str:
    """NFKC, and control / format / separator characters turned into spaces."""
    return unicodedata.normalize("NFKC", text).translate(_to_space())


def clean_prompt(text: str) -> str:
    """The prompt as stored and length-checked: `normalise`, whitespace collapsed, stripped."""
    return _WHITESPACE.sub(" ", normalise(text)).strip()
