"""Names with no context cue: "Hamish Cartwright chest CT", "Roe, Jane", "J Roe", "jane roe".

`phi.find_names` handles names after a cue ("patient X", "Mr X", "named X"); this module adds
the shapes people write when they paste a name into a prompt with nothing around it. Evidence
comes from the census name list (`names.ANY_FIRST`, `names.ANY_LAST`) and from probablepeople,
a CRF model trained to label the parts of a person's name, which confirms the shape of a
candidate ("Hampton's hump" and "Glasgow Coma" are not labelled as people). A word that the
prompt vocabulary, the eponym list or the clinical word lists know is never a name here, and a
pair followed by an eponym's head noun ("Ann Arbor stage", "Spetzler Martin grade") is an
eponym. One pass over the words: linear, with at most one probablepeople call per candidate.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

import probablepeople

from imagine_med.moderation.eponyms import EPONYMS, HEAD_NOUNS
from imagine_med.moderation.names import (
    AMBIGUOUS,
    ANY_FIRST,
    ANY_LAST,
    CLINICAL_CAPS,
    NOT_NAMES,
    STOPWORDS,
    VOCABULARY_WORDS,
)
from imagine_med.moderation.rules import Hit

_WORDS = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*")
_TITLE = re.compile(r"[A-Z][a-z]*(?:['’\-]?[A-Z][a-z]+)+|[A-Z][a-z]+(?:-[a-z]+)?")
_CAPS = re.compile(r"[A-Z]{2,}(?:['’\-][A-Z]+)?")
_PERSON_LABELS = frozenset({"GivenName", "Surname", "MiddleName", "Nickname", "FirstInitial",
                            "MiddleInitial", "LastInitial", "SuffixGenerational"})
# Endings of medical terms that look capitalised in a title-case prompt, never of names here.
_MEDICAL_END = re.compile(
    r"(?:itis|oma|omas|osis|oses|emia|aemia|pathy|plasia|trophy|ectomy|otomy|ostomy|scopy|"
    r"graphy|gram|algia|uria|ism|ase|ine|ide|ic|al|ary|ous|ive|ular|form|cele|rrhage|lysis)$"
)
_HEADS = frozenset(HEAD_NOUNS)
# Endings of surnames that no census list holds ("haverford", "thistlethwaite", "fairclough",
# "ashdown", "brackenbury"), and the everyday words that share them.
_SURNAME_END = re.compile(
    r"..(?:ford|ton|ley|leigh|worth|wood|well|field|ham|hurst|bury|borough|thwaite|shaw"
    r"|cliffe|croft|bridge|combe|moor|dale|stead|wick|brook|holt|clough|down|by|sson|berg"
    r"|stein|mann|ski|wicz|czyk|enko|chuk|ovic|ovich|opoulos|escu|oglu|ez)$"
)
_WORDS_WITH_SURNAME_ENDS = frozenset("""
skeleton cotton button photon proton piston carton baton crouton wanton bottom valley
trolley alley barley medley volley galley afford hardwood wormwood driftwood farewell
baby ruby nearby lobby hobby standby derby rugby abby breakdown lockdown countdown
meltdown slowdown shutdown touchdown download markdown sundown iceberg unwell indwell
therapeutic outstead instead homestead bedstead sideways
""".split())
# Words after a single capital that are not surnames ("E Coli", "C Diff", "V Tach", "D Dimer").
_NOT_AFTER_INITIAL = frozenset("""
coli diff difficile pylori aureus tach fib flutter dimer fever wave waves tube tubes score
scores section spine cell cells lymphocyte lymphocytes shaped line lines point arm graft
protein ring sign symptoms test tests level segment stripe zone lead leads loop pouch
""".split())
_INITIAL_CUES = frozenset({"patient", "pt", "of", "for", "to", "by", "from", "as", "re", "and",
                           "belonging", "mrs", "mr", "ms", "dr"})
# Cues that name a person: "her name's X", "goes by X", "aka X", "known as X", "surname X".
_NAME_CUE = re.compile(
    r"(?<![\w])(?:name(?:['’]s|\s+(?:is|was))|named|called|nicknamed|goes\s+by|went\s+by"
    r"|known\s+as|aka|a\.k\.a\.?|by\s+the\s+name\s+of|answers\s+to|christened"
    r"|(?:sur|fore|first\s+|last\s+|full\s+|maiden\s+|given\s+)name(?:\s+is)?)"
    r"(?:\s+the\s+name(?:\s+of)?)?\s*[:\-]?\s*(?=[^\W\d_])",
    re.IGNORECASE,
)
_GAPS_PAIR = frozenset({" "})
_GAPS_INITIAL = frozenset({" ", ".", ". ", ""})
_GAPS_INVERTED = frozenset({",", ", "})


def _key(word: str) -> str:
    """A word as the lists hold it: lower case, no possessive, no apostrophe."""
    w = word.lower()
    for suffix in ("'s", "’s"):
        if w.endswith(suffix):
            w = w[: -len(suffix)]
    return w.replace("’", "").replace("'", "")


def _plain(word: str, *, eponym_ok: bool = False) -> bool:
    """Not a clinical, vocabulary or everyday word, nor (unless `eponym_ok`: the other half of
    the pair is a listed name) an eponym."""
    k = _key(word)
    banned = NOT_NAMES if eponym_ok else NOT_NAMES | EPONYMS
    return len(k) >= 2 and k not in banned and not any(part in banned for part in k.split("-"))


# probablepeople costs ~0.2 ms a call: a text gets at most this many, and a candidate past the
# budget counts as a name (fail closed), so a wall of capitalised pairs stays fast.
MODEL_CALLS = 12


class Budget:
    """Model calls left for one text (one per screen, so screens in threads don't share)."""

    def __init__(self, calls: int = MODEL_CALLS) -> None:
        self.left = calls


def _shaped(budget: Budget, *words: str, order: str) -> bool:
    """probablepeople labels the words as one person's name (`order` "first last" or
    "last, first")."""
    if budget.left <= 0:
        return True
    budget.left -= 1
    return _model_says_person(tuple(words), order)


@lru_cache(maxsize=4096)
def _model_says_person(words: tuple[str, ...], order: str) -> bool:
    text = ", ".join(words) if order == "last, first" else " ".join(words)
    labels = [label for _tok, label in probablepeople.parse(text)]
    if not labels or any(label not in _PERSON_LABELS for label in labels):
        return False
    return labels[0] == "Surname" if order == "last, first" else labels[-1] != "GivenName"


class _Words:
    def __init__(self, text: str, skip: list[tuple[int, int]]) -> None:
        self.text = text
        self.items = [m for m in _WORDS.finditer(text)
                      if not any(m.start() < b and a < m.end() for a, b in skip)]

    def gap(self, i: int) -> str:
        return self.text[self.items[i - 1].end() : self.items[i].start()]

    def word(self, i: int) -> str:
        return self.items[i].group(0) if 0 <= i < len(self.items) else ""


def _eponym_next(words: _Words, j: int) -> bool:
    """The word after position j is an eponym head noun ("Ann Arbor stage")."""
    return j + 1 < len(words.items) and words.gap(j + 1) == " " and (
        _key(words.word(j + 1)) in _HEADS
    )


def _title_pair(a: str, b: str, budget: Budget) -> bool:
    """"Hamish Cartwright", "Zebedee Quince", "JANE ROE"."""
    if _CAPS.fullmatch(a) and _CAPS.fullmatch(b):
        return _key(a) in ANY_FIRST and _key(b) in ANY_LAST and _plain(a) and _plain(b)
    if not (_TITLE.fullmatch(_bare(a)) and _TITLE.fullmatch(_bare(b))):
        return False
    first = _key(a) in ANY_FIRST and _plain(a)
    if not (_plain(a) and _plain(b, eponym_ok=first)):
        return False
    known = (_key(a) in ANY_FIRST) + (_key(b) in ANY_LAST)
    if known == 2:
        return True
    if known == 0 and (_MEDICAL_END.search(_key(a)) or _MEDICAL_END.search(_key(b))):
        return False
    return _shaped(budget, _bare(a), _bare(b), order="first last")


def _inverted(a: str, b: str, budget: Budget) -> bool:
    """"Roe, Jane", "ROE, JANE", "Nakashima, Rei"."""
    shape = (_TITLE.fullmatch(a) and _TITLE.fullmatch(b)) or (_CAPS.fullmatch(a)
                                                              and _CAPS.fullmatch(b))
    if not shape or not _plain(b):
        return False
    known = (_key(a) in ANY_LAST) + (_key(b) in ANY_FIRST)
    if not _plain(a, eponym_ok=_key(b) in ANY_FIRST) or known == 0:
        return False
    return known == 2 or _shaped(budget, a.title(), b.title(), order="last, first")


def _initial(words: _Words, i: int) -> bool:
    """"J Roe", "J. Roe", "T.Nguyen": a capital initial, then a listed surname; or, after a cue
    ("for N Haverford", "belonging to W Ormerod"), at the start, before a possessive or an age
    ("T Okereke's", "H Brackenbury, 34"), any plain capitalised word read as a surname."""
    a, b = words.word(i), _bare(words.word(i + 1))
    gap = words.gap(i + 1)
    if len(a) != 1 or not a.isupper() or gap not in _GAPS_INITIAL:
        return False
    if a in "AI" and not gap.startswith("."):
        return False  # "A Smith fracture", "I"
    prev = _key(words.word(i - 1)) if i > 0 else ""
    if gap == "" or (i > 0 and words.gap(i) == " " and prev not in _INITIAL_CUES
                     and words.word(i - 1)[:1].isupper()):
        return gap == "." and _key(b) in ANY_LAST and _plain(b)  # "Kerley B Lines"; "T.Nguyen"
    if not (_TITLE.fullmatch(b) and _plain(b)):
        return False
    if _key(b) in ANY_LAST:
        return True
    k = _key(b)
    if len(k) < 4 or k in _NOT_AFTER_INITIAL or _MEDICAL_END.search(k) or k in EPONYMS:
        return False
    at = words.items[i + 1].end() - (len(words.word(i + 1)) - len(b))
    after = words.text[at : at + 6]
    cued = (
        i == 0 or prev in _INITIAL_CUES
        or (bool(words.gap(i).strip(" ")) and words.gap(i).strip(" ")[-1] in ",;:-—–([")
        or words.word(i + 1).endswith(("'s", "’s")) or re.match(r"[’']s\b|,\s*\d", after)
    )
    return bool(cued)


def _surname_shaped(word: str) -> bool:
    """A lower-case word no list holds that ends like a surname ("haverford")."""
    k = _key(word)
    return (
        word.islower() and len(k) >= 5 and k not in _WORDS_WITH_SURNAME_ENDS
        and k not in NOT_NAMES and k not in EPONYMS and not _MEDICAL_END.search(k)
        and _SURNAME_END.search(k) is not None
    )


def _lower_pair(a: str, b: str) -> bool:
    """"jane roe", "helen bradshaw's": both listed, neither ambiguous nor a clinical word;
    "nigel haverford", "oswald pemberton": a listed first name (or a listed surname) and a word
    that ends like a surname."""
    ka, kb = _key(a), _key(b)
    if not (a.islower() and b.islower() and len(ka) >= 3 and len(kb) >= 3
            and ka not in AMBIGUOUS and kb not in AMBIGUOUS
            and _plain(a, eponym_ok=True)):
        return False
    if ka in ANY_FIRST and kb in ANY_LAST and _plain(b):
        return True
    if not _surname_shaped(b):
        return False
    return ka in ANY_FIRST or (ka in ANY_LAST and kb in ANY_LAST)


def _cued_names(text: str, words: _Words) -> Iterator[Hit]:
    """"her name's Imogen Pryce", "goes by Dot Fenwick", "aka Lottie Fairbairn", "her name is
    petronella ashby": one or two name words after a cue."""
    starts = {m.start(): k for k, m in enumerate(words.items)}
    for cue in _NAME_CUE.finditer(text):
        j = starts.get(cue.end())
        if j is None:
            continue
        end = j
        if not _cue_word(words.word(j)):
            # "name is petronella ashby": an unlisted lower-case word, then a surname
            nxt = words.word(j + 1)
            first = words.word(j)
            if not (first.islower() and _plain(first) and not _MEDICAL_END.search(_key(first))
                    and j + 1 < len(words.items) and words.gap(j + 1) == " " and nxt.islower()
                    and ((_key(nxt) in ANY_LAST and _plain(nxt)) or _surname_shaped(nxt))):
                continue
        if j + 1 < len(words.items) and words.gap(j + 1) == " " and _cue_word(
            words.word(j + 1), second=True
        ):
            end = j + 1
        last = words.word(end)
        cut = 2 if last.endswith(("'s", "’s")) else 0
        yield Hit("phi.name", "name", words.items[j].start(), words.items[end].end() - cut,
                  "block")


def _cue_word(word: str, *, second: bool = False) -> bool:
    """A word after a name cue that can be (part of) a name: capitalised and not a clinical,
    vocabulary or eponym word, or in lower case and listed in the census."""
    k = _key(word)
    if len(k) < 2 or k in STOPWORDS or k in CLINICAL_CAPS or k in EPONYMS:
        return False
    if _TITLE.fullmatch(_bare(word)) or _CAPS.fullmatch(_bare(word)):
        return k not in VOCABULARY_WORDS and not (second and k in NOT_NAMES)
    listed = k in ANY_FIRST or k in ANY_LAST or (second and _surname_shaped(word))
    return word.islower() and listed and k not in NOT_NAMES


def _after_cue(words: _Words, i: int, budget: Budget) -> bool:
    """"x-ray for dorothy pembroke": after "for"/"of"/"belonging to", a listed first name in
    lower case and any plain word that probablepeople reads as its surname."""
    if i == 0 or words.gap(i) != " " or _key(words.word(i - 1)) not in ("for", "of", "to"):
        return False
    a, b = words.word(i), _bare(words.word(i + 1))
    ka = _key(a)
    return (
        a.islower() and b.islower() and len(b) >= 3
        and (ka in ANY_FIRST or (ka in ANY_LAST and _surname_shaped(b)))
        and ka not in AMBIGUOUS and _plain(a) and _plain(b)
        and _shaped(budget, a.title(), b.title(), order="first last")
    )


def _bare(word: str) -> str:
    return word[:-2] if word.endswith(("'s", "’s")) else word


def find_uncued_names(text: str, skip: list[tuple[int, int]]) -> Iterator[Hit]:
    """PHI name hits for names written with no cue (spans index `text`)."""
    words = _Words(text, skip)
    budget = Budget()
    n = len(words.items)
    i = 0
    while i + 1 < n:
        a, b = words.word(i), words.word(i + 1)
        gap = words.gap(i + 1)
        found = (
            (gap in _GAPS_PAIR and not _eponym_next(words, i + 1)
             and (_title_pair(a, b, budget) or _lower_pair(a, b) or _after_cue(words, i, budget)))
            or (gap in _GAPS_INVERTED and _inverted(a, _bare(b), budget))
            or _initial(words, i)
        )
        if found:
            end = words.items[i + 1].end() - (2 if b.endswith(("'s", "’s")) else 0)
            yield Hit("phi.name", "name", words.items[i].start(), end, "block")
            i += 2
            continue
        i += 1
    yield from _cued_names(text, words)


def split_word(glued: str) -> bool:
    """A word that format characters split into name-like fragments ("ute\u200brine" is
    "uterine"): a clinical, vocabulary or eponym word, or one with a medical ending."""
    k = _key(glued)
    return k in NOT_NAMES or k in EPONYMS or _MEDICAL_END.search(k) is not None
