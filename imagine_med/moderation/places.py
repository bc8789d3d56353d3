"""Street addresses written with no cue ("1420 n maple ave, chicago", "5/22 Harbour Parade").

`phi.py` finds the common shapes by pattern ("12 Baker Street", "lives at ..."). Here a bounded
candidate (a house number and up to four words) is parsed by usaddress, a CRF model trained to
label the parts of an address; it counts only when usaddress reads a house number, a street
name and a street type that is a real one. "2 cm nodule in the right upper lobe" parses as a
street name with no type, so clinical text with numbers does not become an address.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import usaddress

from imagine_med.moderation.names import VOCABULARY_WORDS

# USPS street suffixes and the common British / Australian ones, with their abbreviations.
STREET_TYPES: frozenset[str] = frozenset("""
alley aly avenue ave av boulevard blvd bvd circle cir close cl court ct crescent cres cr drive dr
expressway expy freeway fwy gardens gdns grove gr gro heights hts highway hwy lane ln loop mews
parade pde park parkway pkwy path pike place pl plaza plz road rd row square sq street st
terrace ter tce trail trl walk way wy esplanade esp promenade prom rise quay wharf
""".split())
_OCCUPANCY = r"(?:unit|flat|apt|apartment|suite|ste)\.?\s*#?\s*\d{1,5}[A-Za-z]?\s*[,/]?\s*"
_CANDIDATE = re.compile(
    rf"(?<![\w./\-])(?:{_OCCUPANCY})?(?:\d{{1,5}}/)?(?P<n>\d{{1,5}}[A-Za-z]?),?\s+"
    r"(?P<words>(?:[A-Za-z][\w'’\-]{0,30}\.?\s+){0,3}[A-Za-z][\w'’\-]{0,30})\.?(?![\w])",
    re.IGNORECASE,
)
# usaddress reads British street types ("Grove", "Parade") as part of the name or the place.
_STREET_LABELS = frozenset({"StreetNamePreDirectional", "StreetNamePreModifier", "StreetName",
                            "StreetNamePreType", "StreetNamePostType", "PlaceName",
                            "StreetNamePostDirectional"})
_NOT_STREET = frozenset("""
a an the of in on at to for from with and or by per mm cm ml mg kg x year years yo month months
week weeks day days hour hours minute minutes times cases views slices images lesions degree
degrees units unit percent beats bpm mmhg lobe segment rib ribs vertebra weeks' ago old
""".split())


def _is_address(number: str, words: str) -> bool:
    tokens = words.lower().replace(".", "").split()
    if not tokens or tokens[0] in _NOT_STREET or tokens[-1] not in STREET_TYPES:
        return False
    if any(t in VOCABULARY_WORDS or t in _NOT_STREET for t in tokens[:-1] if len(t) > 1):
        return False  # "3 level walk", "2 small nodules ... park": clinical words
    labels = [label for _t, label in usaddress.parse(f"{number} {words}")]
    return (
        len(labels) >= 3 and labels[0] == "AddressNumber"
        and all(label in _STREET_LABELS for label in labels[1:])
    )


def find_addresses(text: str) -> Iterator[tuple[int, int]]:
    """Spans of street addresses; the house number and street, to the street type."""
    for m in _CANDIDATE.finditer(text):
        words = m.group("words")
        # try the longest prefix of the words that ends in a street type
        parts = words.split()
        for k in range(len(parts), 0, -1):
            if _is_address(m.group("n"), " ".join(parts[:k])):
                end = m.start("words") + len(" ".join(parts[:k]))
                yield m.start(), end
                break
