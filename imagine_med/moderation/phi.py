"""PHI detectors for the HIPAA Safe Harbor identifiers that can appear in a prompt's free text.

Each detector is a row in a table (rule id, kind, pattern), compiled once at import. Spans of
command flags ("--seed 20240101", "--ar 3:4") and eponym phrases are excluded first, so seeds are
not dates and "Parkinson disease" is not a person. Patterns run on the normalised text
(`normalize.py`), so zero-width characters, full-width digits and look-alike letters are gone.
Names are handled by `find_names` (context and word lists, no statistical model).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date

from imagine_med.moderation.contact import find_handles, find_phones, find_webmail
from imagine_med.moderation.dates import find_old_ages, find_written_dates
from imagine_med.moderation.eponyms import EPONYMS, protected_spans
from imagine_med.moderation.names import (
    AMBIGUOUS,
    CLINICAL_CAPS,
    FIRST_NAMES,
    STOPWORDS,
    SURNAMES,
)
from imagine_med.moderation.person import find_uncued_names
from imagine_med.moderation.photos import find_face_photos
from imagine_med.moderation.places import find_addresses
from imagine_med.moderation.rules import Hit, fuzzy

# Tag written in place of each kind in the redacted prompt.
TAGS: dict[str, str] = {
    "name": "[NAME]", "ssn": "[SSN]", "phone": "[PHONE]", "fax": "[FAX]", "email": "[EMAIL]",
    "url": "[URL]", "ip": "[IP]", "date": "[DATE]", "dob": "[DOB]", "age": "[AGE>89]",
    "record": "[ID]", "account": "[ACCOUNT]", "licence": "[LICENCE]", "vehicle": "[VEHICLE]",
    "device": "[DEVICE]", "address": "[ADDRESS]", "zip": "[ZIP]", "handle": "[HANDLE]",
    "photo": "[FACE PHOTO]",
}  # fmt: skip

LABELS: dict[str, str] = {
    "name": "a person's name", "ssn": "a social security number", "phone": "a phone number",
    "fax": "a fax number", "email": "an email address", "url": "a web address",
    "ip": "an IP address", "date": "a full date", "dob": "a date of birth",
    "age": "an age over 89", "record": "a record or ID number", "account": "an account number",
    "licence": "a licence or certificate number", "vehicle": "a vehicle identifier",
    "device": "a device serial number", "address": "an address", "zip": "a ZIP or postcode",
    "handle": "a social media handle", "photo": "a full-face photograph of a real person",
}  # fmt: skip

# ---------------------------------------------------------------- flags (never PHI)
_FLAGS = re.compile(
    r"(?:--|[—–])\s*(?:seed|sd)\s*[=:]?\s*\d{1,12}"
    r"|(?:--|[—–])\s*(?:ar|aspect)\s*[=:]?\s*\d{1,4}\s*[:x/]\s*\d{1,4}"
    r"|(?:--|[—–])\s*(?:size|width|height|w|h|n|count|steps|chaos|c|q|quality|s|stylize|v"
    r"|version|iw|level|ww|wc|window|cfg|guidance)\s*[=:]?\s*[\d.]+(?:\s*[x:]\s*\d+)?"
    r"|(?<![\w-])seed\s*[=:#]?\s*\d{1,12}",
    re.IGNORECASE,
)

# ---------------------------------------------------------------- building blocks
_NUMWORD = r"(?:zero|oh|one|two|three|four|five|six|seven|eight|nine)"
_NUMWORDS = rf"{_NUMWORD}(?:[\s,\-]+{_NUMWORD}){{3,}}"
_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_DAY = r"(?:0?[1-9]|[12]\d|3[01])(?:st|nd|rd|th)?"
_YEAR4 = r"(?:1[89]\d\d|20\d\d)"
_DM = r"(?:0?[1-9]|[12]\d|3[01])"
_B = r"(?<![\w./\-:])"  # no word, dot, slash, dash or colon just before
_E = r"(?![\w/\-:]|\.\d)"  # nor just after (a final full stop is fine)

_VALUE = (
    r"[A-Z]{1,3}\s?\d{2,6}(?:\s\d{2,6}){1,4}(?!\w)|"  # "RX 88 12 44": letters, spaced digit groups
    r"(?:\(\d{2}\))?"  # GS1 application identifier, e.g. (01)
    r"(?=(?:[A-Za-z()\-./]*\d){3})"  # at least 3 digits before any space
    r"[A-Za-z0-9](?:[A-Za-z0-9]|[\-./](?=[A-Za-z0-9])|\s(?=\d{2,}))*"
)
_LABEL_GAP = r"[\s:#=.\-]*(?:(?:no|nr|number|num|is|was|id)\b[\s:#=.\-]*)*"


def _labels(*phrases: str) -> str:
    """Label words, leet-tolerant; a digit may follow directly ("MRN00123456" once despaced).
    A phrase may end in a raw lookahead after '@', e.g. "sn@(?=\\s*[:#])"."""
    out = []
    for p in phrases:
        word, _, tail = p.partition("@")
        out.append(fuzzy(word, digits_after=True) + tail)
    return "|".join(out)


_ID_LABELS: dict[str, str] = {
    "vehicle": _labels(
        "licen(c|s)e plate", "number plate", "registration plate", "plate number", "vin",
        "vehicle (id|identification)",
    ),
    "device": _labels(
        "serial (number|no|num|#)?", "s/n", "sn", "device (id|identifier|serial)",
        "udi", "imei", "implant (id|serial)", "lot (number|no)",
    ),
    "licence": _labels(
        "driver'?s? licen(c|s)e", "licen(c|s)e", "passport", "certificate", "dea",
        "npi", "registration (number|no)", "dl@(?=\\s*[:#])",
    ),
    "account": _labels(
        "account", "acct", "a/c", "member (id|number|no)", "insurance (id|number|no)",
        "policy", "group (number|no)", "medicare", "medicaid", "beneficiary (number|no|id)",
        "credit card", "card (number|no)", "bank account", "iban", "sort code", "subscriber id",
    ),
    "record": _labels(
        "mrn", "medical rec(ord)?", "med rec", "record", "rec ?(#|no)", "mr ?(#|no|number)",
        "(hospital|hosp|unit|clinic|ward|case|file) (number|no|nr|id|#)", "chart",
        "patient (id|identifier|number|no|#)", "pt (id|#|no|number)", "nhs", "chi number",
        "health card", "accession", "encounter", "visit (number|id|no)", "case (number|id)",
        "(subject|study|participant) id", "id@(?=\\s*[:#])", "identifier",
    ),
}
_PLATE = r"(?=[A-Za-z ]*\d)[A-Za-z0-9]{2,8}(?:[\s\-][A-Za-z0-9]{1,4})?(?![\w])"
_LABELLED_ID = re.compile(
    "|".join(
        rf"(?P<{kind}>(?:{alts}){_LABEL_GAP})"
        rf"(?P<{kind}_v>{_VALUE}|{_PLATE if kind == 'vehicle' else _NUMWORDS}|{_NUMWORDS})"
        for kind, alts in _ID_LABELS.items()
    ),
    re.IGNORECASE,
)

_SSN_LABEL = _labels(
    "ssn", "ss ?#", "ss no", "social security( number| no)?", "soc sec( no| number| #)?",
    "social", "sin",
)
_NANP = r"(?:\+?1[\s.\-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.\-])\d{3}[\s.\-]\d{4}"
_INTL = r"\+\d{1,3}[\s.\-]?\(?\d{1,4}\)?(?:[\s.\-]?\d{2,4}){2,4}"
_UK = r"0\d{2,4}[\s\-]?\d{3,4}[\s\-]?\d{3,4}"
_PHONE_LABEL = _labels(
    "phone", "telephone", "tel", "ph", "mobile", "mob", "cell", "cellphone", "call", "contact",
    "whatsapp", "text", "sms", "number", "reach",
)
_FAX_LABEL = _labels("fax", "facsimile")
_TLD = (
    r"(?:com|org|net|edu|gov|mil|int|io|co|uk|us|de|fr|nl|ca|au|info|biz|me|ly|health|nhs"
    r"|ai|app|dev|ch|es|jp|cn|ru|br|eu|se|dk|fi|pl|ie|nz|za|mx)"
)
_TLD_STRONG = r"(?:com|org|net|edu|gov|io|nhs|uk|info|biz|health)"
_SDOT = r"(?:\s?\.\s?|\s*\[\s*(?:\.|dot)\s*\]\s*|\s*\(\s*(?:\.|dot)\s*\)\s*|\s+dot\s+)"
_DOT = r"(?:\.|\s*\[\s*(?:\.|dot)\s*\]\s*|\s*\(\s*(?:\.|dot)\s*\)\s*|\s+dot\s+)"
_AT = r"(?:\s*\[\s*at\s*\]\s*|\s*\(\s*at\s*\)\s*|\s*\{\s*at\s*\}\s*|\s+at\s+|\s+@\s*|\s*@\s+)"
_US_STATES = (
    "AL|AK|AZ|AR|CA|CO|CT|DE|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ"
    "|NM|NY|NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|DC"
)
_STREET_FULL = (
    r"street|avenue|road|lane|boulevard|terrace|crescent|drive|parkway|highway|place|court"
    r"|parkway|mews"
)
_STREET_TITLE = r"Drive|Place|Court|Close|Way|Square|Row|Walk|Grove|Gardens|Hill|Park|View"
_STREET_ABBR = r"St|Ave|Rd|Ln|Blvd|Dr|Ct|Pl|Hwy|Pkwy|Sq|Ter|Cres"
_ADDRESS_STOP = (
    r"a|an|the|of|in|on|at|to|for|from|with|and|or|after|before|by|per|mm|cm|ml|mg|kg|cases?"
    r"|views?|slices?|images?|lesions?|weeks?|days?|months?|years?|hours?|minutes?|times?|x"
    r"|injury|injuries|trauma|traffic|accident|fractures?|ulcers?|wounds?|cysts?|nodules?"
    r"|mass|masses|stones?|levels?|grade|stage|type|segments?|vertebrae?|ribs?|cars?"
)
_STREET_WORD = rf"(?!(?:{_ADDRESS_STOP})\b)[A-Za-z][A-Za-z'’\-]+"

# "a 100-year-old style x-ray", "a 95-year-old building": an object's age, not a person's
_NOT_AN_OBJECT = (
    r"(?![\s\-]*(?:old[\s\-]+)?(?:style|technique|film|machine|equipment|building|house|photo\w*|"
    r"radiograph\w*|x-?rays?|tradition|method|book|atlas|painting|drawing|specimen|collection))"
)

# (rule id, kind, pattern); a named group "v" marks the part to redact, else the whole match.
_TABLE: list[tuple[str, str, re.Pattern[str]]] = [
    ("phi.ssn", "ssn", re.compile(
        rf"(?:{_SSN_LABEL})[\s:#=.\-]*(?:(?:no|number|is)\b[\s:#=.\-]*)?"
        rf"(?P<v>\d{{3}}[\s.\-]?\d{{2}}[\s.\-]?\d{{4}}|{_NUMWORDS})", re.IGNORECASE)),
    ("phi.ssn", "ssn", re.compile(rf"{_B}\d{{3}}-\d{{2}}-\d{{4}}{_E}")),
    # a case, file, chart, reference or episode number with separators ("case file 2023/0441",
    # "case ref 19/00452", "episode 44 1902-7"): the label alone is a weak cue ("case 3 of 10",
    # "file 2/5"), so the value needs five digits or more and is not a measurement.
    ("phi.record", "record", re.compile(
        r"(?<![\w])(?:case|file|chart|folder|ref|reference|episode|admission|specimen|sample"
        r"|lab|requisition|order|exam|study|encounter|accession)"
        r"(?:\s+(?:file|ref|reference|folder|record))?\.?\s*[:#=]?\s*"
        r"(?:(?:no|nr|number|num)\.?\s*[:#=]?\s*)?"
        r"(?P<v>(?=(?:[A-Z]{1,4}[\s\-]?)?(?:[/\-\s]?\d){5})(?:[A-Z]{1,4}[\s\-]?)?\d+"
        r"(?:[/\-\s]\d+)*)(?![\w/\-.]|\s*(?:mm|cm|ml|mg|kg|hu|%|x\b|°))", re.IGNORECASE)),
    ("phi.device", "device", re.compile(
        r"(?<![\w:])(?:[0-9a-f]{2}[:\-]){5}[0-9a-f]{2}(?![\w:])", re.IGNORECASE)),
    ("phi.vehicle", "vehicle", re.compile(  # "plate AB12 CDE": a registration's shape after "plate"
        r"(?i:\bplate)\s+(?P<v>[A-Z]{2}\d{2}\s?[A-Z]{3}"
        r"|(?=[A-Z0-9\-]{0,7}\d)(?=[A-Z0-9\-]{0,7}[A-Z])[A-Z0-9][A-Z0-9\-]{4,7})(?![\w\-])")),
    ("phi.fax", "fax", re.compile(
        rf"(?:{_FAX_LABEL})(?:[\s:#=.\-]|\b(?:no|number|to|at|it|results?|the|me)\b){{0,12}}"
        rf"(?P<v>{_INTL}|{_NANP}|{_UK}|\d{{7,12}})", re.IGNORECASE)),
    ("phi.phone", "phone", re.compile(rf"{_B}(?:{_INTL}|{_NANP}){_E}")),
    ("phi.phone", "phone", re.compile(rf"{_B}{_UK}{_E}")),
    ("phi.phone", "phone", re.compile(
        rf"(?:{_PHONE_LABEL})[\s:#=.\-]*(?:(?:is|no|number|me|at|on)\b[\s:#=.\-]*)*"
        rf"(?P<v>(?=(?:[\s().\-]*\d){{7}})[+(]?\d[\d\s().\-]{{5,}}\d|{_NUMWORDS})",
        re.IGNORECASE)),
    ("phi.email", "email", re.compile(
        r"(?<![\w.+\-])[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+", re.IGNORECASE)),
    ("phi.email", "email", re.compile(
        rf"(?<![\w.+\-])[\w.+\-]+{_AT}[\w\-]+(?:{_SDOT}[\w\-]+)*{_SDOT}{_TLD_STRONG}\b",
        re.IGNORECASE)),
    ("phi.url", "url", re.compile(r"\b(?:https?|hxxps?|ftp|sftp)://\S+", re.IGNORECASE)),
    ("phi.url", "url", re.compile(r"\bwww\d?\.\S+", re.IGNORECASE)),
    ("phi.url", "url", re.compile(
        rf"(?<![\w@.\-])(?:[a-z0-9][a-z0-9\-]*{_DOT})+{_TLD}(?:/\S*)?(?![\w\-])",
        re.IGNORECASE)),
    ("phi.ip", "ip", re.compile(
        r"(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?![\d.])")),
    ("phi.ip", "ip", re.compile(
        r"(?<![\w:])(?:(?:[0-9a-f]{1,4}:){4,7}[0-9a-f]{1,4}"
        r"|(?:[0-9a-f]{1,4}:){1,6}:(?:[0-9a-f]{1,4}:?){1,6})(?![\w:])", re.IGNORECASE)),
    # dates: numeric day-month-year, ISO, month/year, written day+month (with or without year)
    ("phi.date", "date", re.compile(
        rf"{_B}(?:{_DM}(?P<s1>[/.\-]){_DM}(?P=s1)(?:{_YEAR4}|\d\d)"
        rf"|{_YEAR4}(?P<s2>[/.\-])(?:0?[1-9]|1[0-2])(?P=s2){_DM}"
        rf"|(?:0?[1-9]|1[0-2])[/\-]{_YEAR4}){_E}")),
    ("phi.date", "date", re.compile(
        rf"(?<![\w])(?:{_DAY}(?:\s+of)?[\s\-]+{_MONTH}(?:[\s,\-]+(?:{_YEAR4}|'?\d\d(?!\d)))?"
        rf"|{_MONTH}[\s\-]+{_DAY}(?:,?\s+{_YEAR4})?"
        rf"|{_MONTH}[\s,]+{_YEAR4})(?![\w])", re.IGNORECASE)),
    ("phi.dob", "dob", re.compile(
        rf"(?:{_labels('dob', 'date of birth', 'birth ?date', 'birthday', 'born( on)?')})"
        r"[\s:#=.\-]*(?P<v>\d{8}|\d{6})(?!\d)", re.IGNORECASE)),
    # ages over 89 (Safe Harbor allows "90 or older" as one category)
    ("phi.age", "age", re.compile(
        r"(?<![\d.,])(?P<v>9\d|1[01]\d|120)(?!\d)\s*-?\s*(?:years?|yrs?|yo|y/o|y\.o\.?)"
        r"(?:[\s\-]*old)?(?![a-z])" + _NOT_AN_OBJECT, re.IGNORECASE)),
    ("phi.age", "age", re.compile(
        r"\b(?:aged?|age[\s:=]+)\s*[:=]?\s*(?P<v>9\d|1[01]\d|120|ninety(?:[\s\-]+\w+)?)(?![\d\w])"
        r"(?!\s*(?:\+|or\s+(?:older|over|above|more)|and\s+(?:older|over|above)))", re.IGNORECASE)),
    ("phi.age", "age", re.compile(
        r"(?<!fever )(?<!temp )(?<!temperature )(?<![\w.])(?P<v>9\d|1[01]\d)\s?[MF](?![\w])")),
    ("phi.age", "age", re.compile(
        r"\b(?P<v>ninety(?:[\s\-]+(?:one|two|three|four|five|six|seven|eight|nine))?"
        r"|(?:a|one)\s+hundred(?:\s+and)?(?:[\s\-]+\w+)?)[\s\-]+(?:years?|yrs?)[\s\-]+old"
        + _NOT_AN_OBJECT, re.IGNORECASE)),
    ("phi.address", "address", re.compile(
        rf"(?<![\w.])\d{{1,5}}[A-Za-z]?\s+(?:{_STREET_WORD}\s+){{1,3}}"
        rf"(?:{_STREET_FULL})(?![\w])", re.IGNORECASE)),
    ("phi.address", "address", re.compile(
        rf"(?<![\w.])\d{{1,5}}[A-Za-z]?\s+(?:[A-Z][A-Za-z'’\-]+\s+){{1,3}}"
        rf"(?:{_STREET_ABBR}|{_STREET_TITLE})\b")),
    ("phi.address", "address", re.compile(
        r"(?<![\w.])\d{1,5}[A-Za-z]?,?\s+(?:rue|calle|via|avenida|rua|strasse|straße|ulica)"
        r"\s+[\w'’\- ]{2,30}", re.IGNORECASE)),
    ("phi.address", "address", re.compile(
        r"\b(?:apt|apartment|suite)\.?\s*#?\s*\d+[A-Za-z]?\b"
        r"|\bp\.?\s?o\.?\s+box\s+\d+", re.IGNORECASE)),
    ("phi.address", "address", re.compile(
        r"\b(?:(?:home\s+)?address(?:\s+is)?\s*[:=]?|(?:lives?|living|resides?|residing)\s+"
        r"(?:at|in|on))\s+(?P<v>(?:\d+[A-Za-z]?\s+)?[A-Z][\w'’\-]*"
        r"(?:[\s,]+(?:[A-Z][a-z][\w'’\-]*|\d+[A-Za-z]?)){0,4})"
    )),
    ("phi.zip", "zip", re.compile(
        rf"(?:{_labels('zip( code)?', 'zipcode', 'post ?code', 'postal code')})[\s:#=.\-]*"
        r"(?P<v>\d{5}(?:-\d{4})?|[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}|[A-Z]\d[A-Z]\s?\d[A-Z]\d)",
        re.IGNORECASE)),
    ("phi.zip", "zip", re.compile(rf"(?<=[\s,])(?:{_US_STATES})\s+(?P<v>\d{{5}}(?:-\d{{4}})?)\b")),
    ("phi.zip", "zip", re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s\d[A-Z]{2}\b")),
]

_BORN_YEAR = re.compile(
    rf"(?:{_labels('born', 'b', 'dob', 'year of birth', 'birth year')})[\s:.]*(?:in\s+)?"
    rf"(?P<v>{_YEAR4})(?!\d)", re.IGNORECASE)
_DOB_LABEL = _labels("dob", "date of birth", "birth ?date", "birthday", "born( on)?")
_DOB_CONTEXT = re.compile(rf"(?:{_DOB_LABEL})[^\n]{{0,12}}$", re.IGNORECASE)


_AMBIGUOUS_MONTH = re.compile(r"(?<![A-Za-z])(?:may|mar|march)(?![A-Za-z])")
_HAS_YEAR_OR_ORDINAL = re.compile(rf"{_YEAR4}|\d(?:st|nd|rd|th)\b|'\d\d", re.IGNORECASE)


def _ambiguous_month(found: str) -> bool:
    """"the lesion may 2 cm", "2 march fractures": lower-case may/mar/march with a bare number
    is ordinary English; a year, an ordinal or a capital ("May 2") makes it a date."""
    return bool(_AMBIGUOUS_MONTH.search(found)) and not _HAS_YEAR_OR_ORDINAL.search(found)


def _overlaps(span: tuple[int, int], spans: list[tuple[int, int]]) -> bool:
    return any(span[0] < b and a < span[1] for a, b in spans)


# A pattern runs only if the text holds what it cannot match without (speed on long input).
_NEEDS: dict[str, re.Pattern[str]] = {
    "email": re.compile(r"@|\bat\b|[\[({]\s*at\s*[\])}]", re.IGNORECASE),
    "url": re.compile(r"[./]|\bdot\b", re.IGNORECASE),
    "ip": re.compile(r"[.:]"),
}


def _pattern_hits(text: str, skip: list[tuple[int, int]], today: date) -> Iterator[Hit]:
    present = {kind: bool(p.search(text)) for kind, p in _NEEDS.items()}
    for rule_id, kind, pattern in _TABLE:
        if not present.get(kind, True):
            continue
        for m in pattern.finditer(text):
            span = m.span("v") if "v" in pattern.groupindex and m.group("v") else m.span()
            if _overlaps(span, skip):
                continue
            if kind == "date" and _ambiguous_month(m.group(0)):
                continue
            if kind == "date" and _DOB_CONTEXT.search(text, max(0, span[0] - 24), span[0]):
                yield Hit("phi.dob", "dob", *span, "block")
                continue
            yield Hit(rule_id, kind, *span, "block")
    for m in _LABELLED_ID.finditer(text):
        kind = next(k for k in _ID_LABELS if m.group(k))
        span = m.span(f"{kind}_v")
        if not _overlaps(span, skip):
            yield Hit(f"phi.{kind}", kind, *span, "block")
    for m in _BORN_YEAR.finditer(text):
        if today.year - int(m.group("v")) > 89 and not _overlaps(m.span("v"), skip):
            yield Hit("phi.age", "age", *m.span("v"), "block")


# ---------------------------------------------------------------- names
_TOKEN = re.compile(r"[A-Z]\.(?:\s?[A-Z]\.)+|[^\W\d_](?:[^\W\d_]|['’\-](?=[^\W\d_]))*")
_CAPITALISED = re.compile(r"[A-ZÀ-Þ][a-zß-ÿ]+(?:['’\-][A-ZÀ-Þ]?[a-zß-ÿ]+)*")
_TITLES_CASED = {
    "Mr", "Mrs", "Ms", "Miss", "Mx", "Mister", "Madam", "Madame", "Mme", "Mlle", "Monsieur",
    "Sr", "Sra", "Srta", "Señor", "Señora", "Señorita", "Senor", "Senora", "Frau", "Herr",
    "Signor", "Signora", "Fr", "Father", "Rev", "Reverend", "Prof", "Professor", "Dona",
}  # fmt: skip
_TITLES_ANYCASE = {"mr", "mrs", "mister", "mrs."}
_TRIGGERS = {"patient", "pt", "client", "resident", "named", "called", "initials", "kin", "name",
             "husband", "wife", "son", "daughter", "mother", "father", "baby", "brother",
             "sister", "spouse", "partner", "guardian"}  # fmt: skip
_STRONG_TRIGGERS = {"named", "called", "initials", "kin", "name"}
_FILLERS = {"is", "was", "name", "named", "called", "initials", "girl", "boy"}
_STRONG_FILLERS = {"name", "named", "called", "initials", "girl", "boy"}


def _bare(tok: str) -> str:
    for suffix in ("'s", "’s"):
        if tok.endswith(suffix):
            return tok[: -len(suffix)]
    return tok


def _is_initials(tok: str, *, bare_ok: bool) -> bool:
    """"J.S." anywhere; "JS" only after "initials" (else "patient CT" would be a name)."""
    if re.fullmatch(r"[A-Z]\.(?:\s?[A-Z]\.)+", tok):
        return True
    return bare_ok and re.fullmatch(r"[A-Z]{2,3}", tok) is not None


class _Tokens:
    def __init__(self, text: str, skip: list[tuple[int, int]]) -> None:
        self.items = [
            (m.start(), m.end(), m.group(0))
            for m in _TOKEN.finditer(text)
            if not _overlaps(m.span(), skip)
        ]
        self.text = text

    def gap(self, i: int) -> str:
        """Characters between token i-1 and token i."""
        return self.text[self.items[i - 1][1] : self.items[i][0]]


def _known(word: str) -> bool:
    """In the name lists (a hyphenated name when one of its parts is)."""
    return any(p in FIRST_NAMES or p in SURNAMES for p in word.lower().split("-") if p)


def _namelike(tok: str, *, lower_ok: bool) -> bool:
    """Could this token be part of a person's name?"""
    word = _bare(tok)
    low = word.lower()
    if len(word) < 2 or low in STOPWORDS or low in CLINICAL_CAPS:
        return False
    if _known(word) and (word[0].isupper() or (lower_ok and low not in AMBIGUOUS)):
        return True
    if low in EPONYMS:
        return False
    return _CAPITALISED.fullmatch(word) is not None


def _extend(toks: _Tokens, j: int) -> int:
    """Index of the last token of a name starting at j (a first name may take a surname)."""
    end = j
    for k in (j + 1, j + 2):
        if k >= len(toks.items) or toks.gap(k).strip() not in ("",):
            break
        nxt = _bare(toks.items[k][2])
        if (_known(nxt) and nxt.lower() not in AMBIGUOUS) or (
            nxt[0].isupper() and _namelike(nxt, lower_ok=False)
        ):
            end = k
        else:
            break
    return end


def find_names(text: str, skip: list[tuple[int, int]]) -> Iterator[Hit]:
    toks = _Tokens(text, skip)
    items = toks.items
    n = len(items)
    i = 0
    while i < n:
        tok = items[i][2]
        low = tok.lower().rstrip(".")
        hit: tuple[int, int] | None = None
        # "Mr Nguyen", "Mrs. Patel", "mrs garcia"
        is_title = tok.rstrip(".") in _TITLES_CASED or (
            low in _TITLES_ANYCASE and (tok.islower() or tok.istitle())
        )
        is_soft_title = low in {"ms", "miss", "mx"} and not is_title
        if (is_title or is_soft_title) and i + 1 < n and toks.gap(i + 1).strip() in ("", "."):
            nxt = items[i + 1][2]
            bare = _bare(nxt)
            if not is_title:
                ok = _known(bare)
            elif tok.islower() and low != "mr":  # "mrs o'sullivan", "mister hughes"
                ok = bare.isalpha() or _SURNAME_SHAPE.fullmatch(bare.lower()) is not None
                ok = ok and bare.lower() not in CLINICAL_CAPS
            elif tok.islower():  # "mr angiography" is magnetic resonance
                ok = _known(bare) or _SURNAME_SHAPE.fullmatch(bare.lower()) is not None
            else:
                ok = _namelike(nxt, lower_ok=True) or bare.lower() in EPONYMS
            if ok and _bare(nxt).lower() not in STOPWORDS:
                hit = (i + 1, _extend(toks, i + 1))
        # "patient John Smith", "named Olivia", "pt: smith, john", "initials J.S."
        elif low in _TRIGGERS and i + 1 < n:
            j = i + 1
            skipped: set[str] = set()
            while j < n and j <= i + 2 and items[j][2].lower() in _FILLERS:
                skipped.add(items[j][2].lower())  # "patient name is X", "baby girl X"
                j += 1
            if j < n and toks.gap(j).strip() in ("", ":", ",", "-", "—", ":-", "#", "="):
                cand = items[j][2]
                strong = low in _STRONG_TRIGGERS or bool(skipped & _STRONG_FILLERS)
                if _is_initials(cand, bare_ok=low == "initials") and (
                    strong or low in {"patient", "pt"}
                ):
                    hit = (j, j)
                elif (
                    cand.isalpha() and cand.lower() not in STOPWORDS
                    and j + 1 < n and toks.gap(j + 1).strip() == ","
                    and _bare(items[j + 1][2]).lower() in FIRST_NAMES
                ):
                    hit = (j, j + 1)
                elif _namelike(cand, lower_ok=True) and (
                    strong
                    or _known(_bare(cand))
                    or (
                        j + 1 < n
                        and toks.gap(j + 1).strip() == ""
                        and _namelike(items[j + 1][2], lower_ok=False)
                    )
                ):
                    end = _extend(toks, j)
                    # "smith, john": surname, comma, first name
                    if (
                        end == j
                        and j + 1 < n
                        and toks.gap(j + 1).strip() == ","
                        and _known(_bare(items[j + 1][2]))
                    ):
                        end = j + 1
                    hit = (j, end)
        # "Maria Garcia", "john smith", "MICHAEL BROWN", "J. Smith"
        if hit is None and i + 1 < n and toks.gap(i + 1).strip() == "":
            word, nxt = _bare(tok), _bare(items[i + 1][2])
            wl, nl = word.lower(), nxt.lower()
            first_known = wl in FIRST_NAMES and wl not in AMBIGUOUS
            surname_known = (nl in SURNAMES or _SURNAME_SHAPE.fullmatch(nl) is not None) and (
                nl not in AMBIGUOUS
            )
            if (
                # "Maria Garcia", "David Miller's"
                (first_known and word[0].isupper() and nxt[0].isupper()
                 and (_namelike(nxt, lower_ok=False) or nl in SURNAMES))
                # "john smith", "sarah o'neill", "MARIA GARCIA"
                or (first_known and surname_known and word.islower() == nxt.islower())
                # "Harriet Tubman-Jones": unknown given name, known (part of a) surname
                or (_namelike(word, lower_ok=False) and wl not in EPONYMS
                    and nxt[0].isupper() and _namelike(nxt, lower_ok=False)
                    and any(part in SURNAMES and part not in AMBIGUOUS
                            for part in nl.split("-")))
            ):
                hit = (i, i + 1)
        if hit is not None:
            a, b = hit
            yield Hit("phi.name", "name", items[a][0], items[b][1] - _possessive(items[b][2]),
                      "block")
            i = b + 1
            continue
        i += 1
    for m in _CAP_PAIR.finditer(text):
        first, last = m.group("a"), m.group("b")
        if _overlaps(m.span(), skip) or not (
            _namelike(first, lower_ok=False) and _namelike(last, lower_ok=False)
        ):
            continue
        if first.lower() in EPONYMS or last.lower() in EPONYMS:
            continue
        if m.group("pre") or m.group("poss") or m.group("age"):
            yield Hit("phi.name", "name", m.start("a"), m.end("b"), "block")
    for m in _INITIAL_SURNAME.finditer(text):
        if _bare(m.group("s")).lower() in SURNAMES and not _overlaps(m.span(), skip):
            yield Hit("phi.name", "name", m.start(), m.end(), "block")


# Two capitalised words read as a person when "for" or "of" comes before them ("x-ray for
# Benedikt Krause"; not "from", which names hospitals and vendors), or when a possessive
# ("Tomás Herrera's knee") or an age ("Okeke, 41") follows.
_CAPWORD = r"[A-ZÀ-Þ][a-zß-ÿ]+(?:['’\-][A-ZÀ-Þ]?[a-zß-ÿ]+)*"
_CAP_PAIR = re.compile(
    rf"(?:(?P<pre>\b(?:for|of)\s+)|(?<![\w'’\-]))"
    rf"(?P<a>{_CAPWORD})\s+(?P<b>{_CAPWORD})"
    rf"(?:(?P<poss>['’]s\b)|(?P<age>,\s*\d{{1,3}}\b(?![.%]))|(?=[\s,.;:)]|$))"
)
_SURNAME_SHAPE = re.compile(r"(?:o['’]|mc|mac|fitz)[a-z]{3,}")
_INITIAL_SURNAME = re.compile(r"(?<![\w.])[A-Z]\.\s?(?P<s>[A-Z][a-z'’\-]+)")


def _possessive(tok: str) -> int:
    return 2 if tok.endswith(("'s", "’s")) else 0


def _library_hits(text: str, folded: str, flags: list[tuple[int, int]], today: date,
                  found: list[Hit]) -> Iterator[Hit]:
    """Hits of the library-backed detectors (phonenumbers, python-dateutil) and of the shapes
    the table does not know; a span another rule already found is not reported twice."""
    taken = flags + [(h.start, h.end) for h in found]
    for span in find_written_dates(text):
        if not _overlaps(span, taken):
            dob = _DOB_CONTEXT.search(text, max(0, span[0] - 24), span[0]) is not None
            yield Hit("phi.dob" if dob else "phi.date", "dob" if dob else "date", *span, "block")
            taken.append(span)
    for kind, spans in (("age", find_old_ages(text, today)), ("phone", find_phones(text)),
                        ("email", find_webmail(text)), ("handle", find_handles(text)),
                        ("photo", find_face_photos(folded)), ("address", find_addresses(text))):
        for span in spans:
            if not _overlaps(span, taken):
                yield Hit(f"phi.{kind}", kind, *span, "block")
                taken.append(span)


def find_phi(text: str, folded: str, today: date) -> list[Hit]:
    """All PHI hits in the normalised text (spans index `text`)."""
    flags = [m.span() for m in _FLAGS.finditer(text)]
    skip = flags + protected_spans(folded)
    hits = list(_pattern_hits(text, flags, today))
    hits.extend(_library_hits(text, folded, flags, today, hits))
    hits.extend(find_names(text, skip))
    hits.extend(find_uncued_names(text, skip))
    return hits
