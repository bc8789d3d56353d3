"""Ways to reach a person that the pattern table in `phi.py` does not know by shape: phone
numbers in any national format (confirmed by Google's libphonenumber metadata, via
`phonenumbers`), phone numbers spelled out in words, webmail addresses written without a
domain ("jroe1961 at gmail"), and social media handles ("@jroe_1961", "snapchat: janeyroe",
"u/jane_roe", "jroe#4821").

Candidates come from bounded patterns (linear in the text); `phonenumbers` then decides whether
a run of digits can be a phone number in one of the regions a teaching hospital's users write
from, so "TR 4000 ms", "120/80", "C5-C6" and "Gleason 4+3" never reach it as candidates.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import phonenumbers

# Regions tried for numbers written without a country code.
REGIONS = ("US", "GB", "AU", "CA", "IE", "IN", "DE", "FR", "NZ", "ZA", "NG", "SG")
_CANDIDATE = re.compile(r"(?<![\w+.,/:\-])\+?\(?\d[\d \-.()]{5,20}\d(?![\w/:%]|[.,\-]\d)")
_DIGIT_WORD = r"(?:zero|oh|o|one|two|three|four|five|six|seven|eight|nine|double\s+\w+)"
_SPELLED = re.compile(rf"(?<![\w])(?:{_DIGIT_WORD}[\s,\-]{{1,3}}){{6,15}}{_DIGIT_WORD}(?![\w])",
                      re.IGNORECASE)
_WEBMAIL = re.compile(
    r"(?<![\w.+\-])[\w.+\-]{2,64}\s*(?:\bat\b|@|\[at\]|\(at\))\s*(?:gmail|googlemail|yahoo|hotmail"
    r"|outlook|icloud|protonmail|proton|aol|live|msn|gmx|yandex|web\.de|btinternet)(?![\w])",
    re.IGNORECASE,
)
_PLATFORM = (
    r"(?:instagram|insta|ig|twitter|tiktok|tik tok|snapchat|snap|facebook|fb|linkedin|discord"
    r"|reddit|telegram|threads|mastodon|youtube|bluesky|bsky|twitch|kik|wechat|x)"
)
_HANDLES = re.compile(
    r"(?<![\w.@])@[A-Za-z_][\w.]{1,29}(?<!\.)"
    r"|(?<![\w/])u/[A-Za-z0-9_\-]{3,20}(?![\w])"
    r"|(?<![\w#])[A-Za-z][\w.]{1,31}#\d{4}(?![\w])"
    rf"|(?<![\w])(?P<p>{_PLATFORM})(?:\s+(?:handle|user(?:name)?|account|name|id|is|as))*"
    r"(?:\s*[:=]\s*|\s+)(?P<v>@?[A-Za-z][\w.]{2,29}[\w](?:#\d{4})?)(?![\w@#])",
    re.IGNORECASE,
)
# After a platform word, a plain lower-case word is only a handle if it could not be English
# in a prompt ("insta photo", "fb post"): it needs a digit, an underscore or dot, an "@", or a
# colon before it.
_PLAIN = re.compile(r"[a-z]+")
_PROSE = frozenset("""
photo photos picture pictures post posts story stories page profile video videos reel reels
image images the a an my his her their our to of on for and or with from by message dm chat
group account handle user username name filter style like friend friends
""".split())
# Chat mentions are not identifiers of a patient: "@everyone"/"@here"/"@channel" broadcast, and
# "<@U123>"/"<@!123>"/"<@&123>" point at a member or role of the workspace. The adapters defuse
# them (docs/bots.md); blocking them here would only hide that path from its tests.
_BROADCAST = frozenset({"@everyone", "@here", "@channel"})


def _chat_mention(text: str, start: int, end: int) -> bool:
    return text[start:end].lower() in _BROADCAST or (start > 0 and text[start - 1] == "<")


_DATE_SHAPE = re.compile(r"\d{1,4}([./\- ])\d{1,2}\1\d{1,4}")


def _phone(candidate: str) -> bool:
    if _DATE_SHAPE.fullmatch(candidate):
        return False  # "12.06.2021" is a date (phi.py), not a phone number
    digits = re.sub(r"\D", "", candidate)
    if not 7 <= len(digits) <= 15:
        return False
    try:
        if candidate.startswith("+"):
            return phonenumbers.is_possible_number(phonenumbers.parse(candidate, None))
        for region in REGIONS:
            number = phonenumbers.parse(candidate, region)
            if phonenumbers.is_valid_number(number):
                return True
        return len(digits) == 10 and phonenumbers.is_possible_number(
            phonenumbers.parse(candidate, "US"))
    except phonenumbers.NumberParseException:
        return False


# Checking a candidate in every region costs up to ~0.5 ms: a text gets this many checks, and
# candidates past them count as phone numbers (fail closed; 7+ digit runs are rare in clinical
# text).
PHONE_CHECKS = 24


def find_phones(text: str) -> Iterator[tuple[int, int]]:
    """Spans of phone numbers, in digits or spelled out."""
    checks = PHONE_CHECKS
    for m in _CANDIDATE.finditer(text):
        candidate = m.group(0).strip()
        if not 7 <= sum(c.isdigit() for c in candidate) <= 15:
            continue
        checks -= 1
        if checks < 0 or _phone(candidate):
            yield m.span()
    for m in _SPELLED.finditer(text):
        yield m.span()


def find_webmail(text: str) -> Iterator[tuple[int, int]]:
    for m in _WEBMAIL.finditer(text):
        yield m.span()


def find_handles(text: str) -> Iterator[tuple[int, int]]:
    """Spans of social media handles."""
    for m in _HANDLES.finditer(text):
        if m.group("p") is None:
            if not _chat_mention(text, *m.span()):
                yield m.span()
            continue
        value = m.group("v")
        sep = text[m.end("p") : m.start("v")]
        plain = _PLAIN.fullmatch(value) is not None
        if value.lower() in _PROSE or (plain and ":" not in sep and "=" not in sep
                                       and not re.search(r"handle|user|account", sep)):
            continue
        yield m.span("v")
