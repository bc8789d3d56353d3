"""Text -> tokens -> matched phrases, driven entirely by the tables in `vocab.py`.

Kept apart from the grammar so the phrase index is built once per process and the parser reads
as the rules it applies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from imagine_med.prompt import vocab
from imagine_med.prompt.text import normalise

__all__ = ["Lexed", "Match", "Token", "clause_ids", "lex", "normalise", "tokenize"]

TOKEN_RE = re.compile(r"\d+(?:\.\d+)?%?|[^\W\d_]+\d*|[^\W_]+|[,;.!?()]", re.UNICODE)
SEPARATORS = frozenset(",;.!?()")
CONJUNCTIONS = frozenset({"and", "with", "plus", "also", "but", "without"})
VERTEBRA_RE = re.compile(r"^(c[1-7]|t(?:[1-9]|1[0-2])|l[1-5]|s1)$")
LEVEL_CUES = frozenset({"at", "level", "through", "of"})
ORDINALS = {w: i for i, w in enumerate(
    "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth".split(), 1
)}
UNITS_MM = {"mm": 1.0, "cm": 10.0, "millimetre": 1.0, "millimeter": 1.0, "centimetre": 10.0,
            "centimeter": 10.0, "millimetres": 1.0, "millimeters": 1.0, "centimetres": 10.0,
            "centimeters": 10.0}
AGE_UNITS = {"year": 1.0, "years": 1.0, "yr": 1.0, "yrs": 1.0, "y": 1.0, "yo": 1.0,
             "month": 1 / 12, "months": 1 / 12, "mo": 1 / 12, "week": 1 / 52, "weeks": 1 / 52,
             "day": 1 / 365, "days": 1 / 365}
GESTATION_UNITS = frozenset({"week", "weeks"})


@dataclass
class Token:
    norm: str
    orig: str
    start: int
    end: int


@dataclass
class Match:
    """A run of tokens [i, j) meaning one or more (field, value) facts."""

    i: int
    j: int
    facts: list[tuple[str, object]]
    text: str


@dataclass
class Lexed:
    tokens: list[Token]
    matches: list[Match] = field(default_factory=list)
    unknown: list[int] = field(default_factory=list)  # token indexes nobody understood


def tokenize(text: str) -> list[Token]:
    return [Token(m.group().lower(), m.group(), m.start(), m.end())
            for m in TOKEN_RE.finditer(text)]


def _phrase_key(phrase: str) -> tuple[str, ...]:
    return tuple(t.norm for t in tokenize(phrase))


@lru_cache(maxsize=1)
def phrase_index() -> tuple[dict[tuple[str, ...], list[tuple[str, object]]], int]:
    """Every vocabulary phrase -> the facts it states; and the longest phrase length."""
    index: dict[tuple[str, ...], list[tuple[str, object]]] = {}

    def add(phrase: str, fact: tuple[str, object]) -> None:
        key = _phrase_key(phrase)
        if key and fact not in index.setdefault(key, []):
            index[key].append(fact)

    tables: list[tuple[str, dict[str, list[str]]]] = [
        ("modality", vocab.MODALITIES), ("region", vocab.REGIONS), ("view", vocab.VIEWS),
        ("plane", vocab.PLANES), ("sequence", vocab.SEQUENCES), ("stain", vocab.STAINS),
        ("level", vocab.LEVELS), ("laterality", vocab.LATERALITY),
        ("location", vocab.LOCATIONS), ("severity", vocab.SEVERITY),
        ("modifier", vocab.MODIFIERS), ("age_group", vocab.AGE_GROUPS), ("sex", vocab.SEXES),
        ("magnification", vocab.MAGNIFICATIONS), ("antibody", vocab.ANTIBODIES),
    ]
    for name, table in tables:
        for canonical, phrases in table.items():
            for phrase in [*phrases, canonical.replace("_", " ")]:
                add(phrase, (name, canonical))
    for canonical, phrases in vocab.WINDOWS.items():
        for phrase in phrases:
            if vocab.WINDOW_TEXT_REQUIRES in phrase.split():
                add(phrase, ("window", canonical))
    for canonical, (_regions, phrases) in vocab.FINDINGS.items():
        for phrase in [*phrases, canonical.replace("_", " ")]:
            add(phrase, ("finding", canonical))
    for phrase, facts in vocab.COMPOUNDS.items():
        for fact in facts.items():
            add(phrase, fact)
    for phrase in vocab.NORMAL:
        add(phrase, ("normal", True))
    for phrase in vocab.CINE:
        add(phrase, ("us_frames", 0.0))  # the usual length (prompt/scan.py)
    for phrase in vocab.ALIASING:
        add(phrase, ("us_scale_cm_s", 0.0))  # a low scale
    longest = max(len(k) for k in index)
    return index, longest


def _number(tok: Token) -> float | None:
    try:
        return float(tok.norm.rstrip("%"))
    except ValueError:
        return None


def _after_ratio(tokens: list[Token], i: int) -> bool:
    """A bare fraction after a ratio's name ("cup-to-disc ratio 0.8", "CDR of 0.7")."""
    j = i - 1
    if j >= 0 and tokens[j].norm in ("of", "is", "="):
        j -= 1
    return j >= 0 and tokens[j].norm in getattr(vocab, "RATIO_CUES", ())


def _requested(tokens: list[Token], i: int, value: float) -> Match | None:
    """A fracture's requested deformity: "30 degrees (of dorsal angulation)", "displaced 5
    mm", "1 cm of shortening" -> a modifier `angulation_deg_30`, `displacement_mm_5`,
    `shortening_mm_10` (the cue words are vocab.DEFORMITY_CUES, the limb region's)."""
    nxt = tokens[i + 1].norm if i + 1 < len(tokens) else None
    if nxt in vocab.ANGLE_UNITS:
        return Match(i, i + 2, [("modifier", f"angulation_deg_{value:g}")],
                     f"{tokens[i].orig} {nxt}")
    if nxt not in UNITS_MM:
        return None
    near = {t.norm for t in tokens[max(0, i - 2):i]} | \
        {t.norm for t in tokens[i + 2:i + 4]}
    for kind, cues in vocab.DEFORMITY_CUES.items():
        if near & set(cues):
            mm = value * UNITS_MM[nxt]
            return Match(i, i + 2, [("modifier", f"{kind}_{mm:g}")], f"{tokens[i].orig} {nxt}")
    return None
def _disc_below(level: str, nxt: str | None) -> bool:
    """Whether `nxt` names the vertebra just below `level` (a disc level written as a pair:
    "l5 s1", "l4 5", "c5 6", "t12 l1")."""
    if nxt is None:
        return False
    order = [*(f"c{i}" for i in range(1, 8)), *(f"t{i}" for i in range(1, 13)),
             *(f"l{i}" for i in range(1, 6)), "s1"]
    if level not in order or level == "s1":
        return False
    below = order[order.index(level) + 1]
    return nxt == below or (nxt.isdigit() and below[0] == level[0] and nxt == below[1:])


def _pattern_at(tokens: list[Token], i: int, prev_word: str | None) -> Match | None:
    """Numbers, ages, sizes, extents, vertebral levels and rib numbers."""
    tok = tokens[i]
    nxt = tokens[i + 1].norm if i + 1 < len(tokens) else None
    nxt2 = tokens[i + 2].norm if i + 2 < len(tokens) else None
    if tok.norm.endswith("%") and (value := _number(tok)) is not None and 0 <= value <= 100:
        return Match(i, i + 1, [("extent", value / 100.0)], tok.orig)
    scan = _scan_setting(tokens, i)
    if scan is not None:
        return scan
    value = _number(tok)
    if value is not None:
        asked = _requested(tokens, i, value)
        if asked is not None:
            return asked
        if nxt in UNITS_MM:
            return Match(i, i + 2, [("size_mm", value * UNITS_MM[nxt])], f"{tok.orig} {nxt}")
        if nxt in AGE_UNITS:
            j = i + 2 + (nxt2 in ("old", "o"))
            if nxt in GESTATION_UNITS and j == i + 2:
                # "20 weeks" without "old" is a pregnancy's age (the renderers read it from
                # the prompt), not the patient's: "6 week old infant" stays an age
                return Match(i, j, [], " ".join(t.orig for t in tokens[i:j]))
            years = value * AGE_UNITS[nxt]
            facts: list[tuple[str, object]] = [("age", years)]
            return Match(i, j, facts, " ".join(t.orig for t in tokens[i:j]))
        if nxt in ("m", "f") and i + 1 < len(tokens) and tokens[i + 1].start == tok.end:
            sex = "male" if nxt == "m" else "female"
            return Match(i, i + 2, [("age", value), ("sex", sex)], tok.orig + nxt)
        if 0 < value < 1 and _after_ratio(tokens, i):
            return Match(i, i + 1, [("extent", value)], tok.orig)
        if prev_word in ("aged", "age") and value.is_integer():
            return Match(i, i + 1, [("age", value)], tok.orig)
        if nxt in ("st", "nd", "rd", "th") and nxt2 in ("rib", "ribs") and 1 <= value <= 12:
            return Match(i, i + 3, [("location", f"rib_{int(value)}")], f"{tok.orig} rib")
        return None
    if tok.norm in ORDINALS and nxt in ("rib", "ribs"):
        return Match(i, i + 2, [("location", f"rib_{ORDINALS[tok.norm]}")], f"{tok.orig} rib")
    if tok.norm in ("rib", "ribs") and nxt is not None and nxt.isdigit() and 1 <= int(nxt) <= 12:
        return Match(i, i + 2, [("location", f"rib_{int(nxt)}")], f"rib {nxt}")
    if VERTEBRA_RE.match(tok.norm):
        is_sequence = tok.norm in ("t1", "t2") and prev_word not in LEVEL_CUES
        if not is_sequence and _disc_below(tok.norm, nxt):  # "L5/S1", "L4/5", "C5-6": the
            return Match(i, i + 2, [("level", tok.norm)], f"{tok.orig}/{nxt}")  # upper level
        if not is_sequence:
            return Match(i, i + 1, [("level", tok.norm)], tok.orig)
    return None


# ultrasound settings (prompt/scan.py): a cue word before the number, or a unit after it
SCAN_CUES = {"depth": "depth_cm", "focus": "focus_cm", "focal": "focus_cm", "gain": "gain_db"}
SCAN_AFTER = {"deep": "depth_cm", "depth": "depth_cm", "focus": "focus_cm", "gain": "gain_db"}


def _scan_setting(tokens: list[Token], i: int) -> Match | None:
    """'5 MHz', 'depth 12 cm', '12 cm deep', 'focus 6 cm', 'gain 6 dB', '6 dB gain',
    'dynamic range 50 dB', '50 dB dynamic range', '16 frames' -> an ultrasound setting."""
    def norm(k: int) -> str | None:
        return tokens[k].norm if k < len(tokens) else None

    def fact(name: str, value: float, j: int) -> Match:
        return Match(i, j, [(f"us_{name}", value)], " ".join(t.orig for t in tokens[i:j]))

    def amount(k: int, name: str) -> tuple[float, int] | None:
        """The number at k and its unit (cm/mm for lengths, dB for gains), if any."""
        v = _number(tokens[k]) if k < len(tokens) else None
        if v is None:
            return None
        unit = norm(k + 1)
        if name in ("depth_cm", "focus_cm") and unit in UNITS_MM:
            return v * UNITS_MM[unit] / 10.0, k + 2
        if name.endswith("_db") and unit == "db":
            return v, k + 2
        return (v, k + 1) if name.endswith("_db") else None

    w = tokens[i].norm
    if w in SCAN_CUES and (got := amount(i + 1, SCAN_CUES[w])):
        return fact(SCAN_CUES[w], *got)
    if w == "scale" and (v := _number(tokens[i + 1]) if i + 1 < len(tokens) else None):
        j = i + 2 + (norm(i + 2) == "cm") + (norm(i + 2) == "cm" and norm(i + 3) == "s")
        return fact("scale_cm_s", v, j)
    if w == "dynamic" and norm(i + 1) == "range" and (got := amount(i + 2, "dynamic_range_db")):
        return fact("dynamic_range_db", *got)
    v = _number(tokens[i])
    if v is None:
        return None
    if norm(i + 1) == "mhz":
        return fact("freq_mhz", v, i + 2)
    if norm(i + 1) in ("frames", "frame") and v.is_integer():
        return fact("frames", v, i + 2)
    for name in ("depth_cm", "focus_cm", "gain_db"):
        got = amount(i, name)
        if got and got[1] > i + 1 and SCAN_AFTER.get(str(norm(got[1]))) == name:
            return fact(name, got[0], got[1] + 1)
    if norm(i + 1) == "db" and norm(i + 2) == "dynamic" and norm(i + 3) == "range":
        return fact("dynamic_range_db", v, i + 4)
    return None


def lex(text: str) -> Lexed:
    """Greedy longest-match of vocabulary phrases over the tokens of `text`."""
    index, longest = phrase_index()
    tokens = tokenize(text)
    out = Lexed(tokens)
    i = 0
    prev_word: str | None = None
    while i < len(tokens):
        tok = tokens[i]
        if tok.norm in SEPARATORS:
            i += 1
            prev_word = None
            continue
        match = _pattern_at(tokens, i, prev_word)
        if match is None:
            for n in range(min(longest, len(tokens) - i), 0, -1):
                key = tuple(t.norm for t in tokens[i:i + n])
                facts = index.get(key)
                if not facts:
                    continue
                if n == 1 and key[0] in vocab.UPPERCASE_ONLY and not tok.orig.isupper():
                    continue
                match = Match(i, i + n, list(facts), " ".join(t.orig for t in tokens[i:i + n]))
                break
        if match is not None:
            out.matches.append(match)
            prev_word = tokens[match.j - 1].norm
            i = match.j
            continue
        if tok.norm not in vocab.STOPWORDS and tok.norm not in CONJUNCTIONS:
            out.unknown.append(i)
        prev_word = tok.norm
        i += 1
    return out


def clause_ids(lexed: Lexed) -> list[int]:
    """Clause number of every token: commas, full stops and conjunctions start a new one."""
    ids, clause = [], 0
    for tok in lexed.tokens:
        if tok.norm in SEPARATORS or tok.norm in CONJUNCTIONS:
            clause += 1
        ids.append(clause)
    return ids
