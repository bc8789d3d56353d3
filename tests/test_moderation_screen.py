"""The screening engine: corpus goals, eponyms, PHI kinds, evasions, redaction, hashing."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imagine_med.moderation import ScreenContext, screen
from imagine_med.moderation.evaluate import CORPUS_DATE, load, score
from imagine_med.moderation.normalize import normalize

DATA = Path(__file__).parent / "data"
CORPUS = load(DATA / "moderation_corpus.jsonl")
HOLDOUT = load(DATA / "moderation_holdout.jsonl")
HOLDOUT2 = load(DATA / "moderation_holdout2.jsonl")
HOLDOUT3 = load(DATA / "moderation_holdout3.jsonl")
CTX = ScreenContext(today=CORPUS_DATE)
PHI_KINDS = {
    "name", "ssn", "phone", "fax", "email", "url", "ip", "date", "dob", "age90", "mrn",
    "account", "licence", "vehicle", "device", "address", "zip",
}  # fmt: skip


def test_corpus_is_large_and_covers_every_category() -> None:
    assert len(CORPUS) >= 300
    labels = {r["label"] for r in CORPUS}
    assert {"clean", "phi", "misuse", "sensitive"} <= labels
    assert {r["kind"] for r in CORPUS if r["label"] == "phi"} >= PHI_KINDS
    evasions = [r for r in CORPUS if r.get("evasion")]
    assert len(evasions) >= 40
    raw = "".join(r["prompt"] for r in evasions)
    # zero-width, full-width and Cyrillic look-alike characters all occur
    assert "\u200b" in raw and "\uff11" in raw and "\u043e" in raw
    assert sum("eponym" in r["kind"] or r["kind"] in {"histo", "ct", "mri", "xray"}
               for r in CORPUS if r["label"] == "clean") >= 100


@pytest.mark.parametrize("name,rows", [("corpus", CORPUS), ("holdout", HOLDOUT),
                                       ("holdout2", HOLDOUT2), ("holdout3", HOLDOUT3)])
def test_goals(name: str, rows: list[dict]) -> None:
    s = score(rows)
    detail = json.dumps(s.misses, indent=1, ensure_ascii=False)
    assert s.phi_recall >= 0.98, detail
    assert s.misuse_recall >= 0.95, detail
    assert s.false_positive_rate <= 0.01, detail


def test_every_corpus_decision_matches_its_label() -> None:
    s = score(CORPUS)
    assert s.exact_rate >= 0.97, json.dumps(s.misses, indent=1, ensure_ascii=False)


@pytest.mark.parametrize("row", [r for r in CORPUS + HOLDOUT + HOLDOUT2 + HOLDOUT3
                                 if r["label"] == "phi"],
                         ids=lambda r: r["kind"])
def test_phi_is_redacted_and_the_raw_prompt_is_not_in_the_verdict(row: dict) -> None:
    v = screen(row["prompt"], CTX)
    assert v.decision == "block" and v.phi
    doc = {k: val for k, val in v.to_dict().items() if k != "prompt_sha256"}  # hex may hold "95"
    public = json.dumps(doc, ensure_ascii=False) + repr(v).replace(v.prompt_sha256, "")
    for secret in row.get("secret", []):
        folded = normalize(secret).folded
        assert folded not in v.redacted_prompt.lower()
        assert secret not in public
    assert re.search(r"\[[A-Z>0-9]+\]", v.redacted_prompt)
    assert v.prompt_sha256 == hashlib.sha256(row["prompt"].encode()).hexdigest()


EPONYM_PROMPTS = [
    "Parkinson disease, DaTscan", "Parkinson's disease with Lewy bodies", "Hodgkin lymphoma",
    "Wilms tumour in a 4-year-old", "Colles fracture", "Barrett oesophagus", "Crohn disease",
    "Crohn's disease of the terminal ileum", "Smith fracture", "Jones fracture",
    "Wilson disease", "Graves disease", "Addison disease", "Cushing syndrome", "Paget disease",
    "Baker cyst", "Murphy sign", "Turner syndrome", "Down syndrome", "Gilbert syndrome",
    "pouch of Douglas", "circle of Willis", "tetralogy of Fallot", "vein of Galen malformation",
    "Sister Mary Joseph nodule", "Austin Flint murmur", "Marcus Gunn pupil",
    "Homer Wright rosettes", "Pierre Robin sequence", "Charcot-Marie-Tooth disease",
    "Wolff-Parkinson-White pattern", "Kimmelstiel-Wilson nodules", "Hill-Sachs lesion",
    "Salter-Harris type II fracture", "Osgood-Schlatter disease", "Legg-Calvé-Perthes disease",
    "Guillain-Barré syndrome", "Reed-Sternberg cells", "Kerley B lines", "Treacher Collins",
    "Ramsay Hunt syndrome", "Stevens-Johnson syndrome", "Budd-Chiari syndrome",
    "Alzheimer disease", "Huntington disease", "Kaposi sarcoma", "Ewing sarcoma",
    "Burkitt lymphoma", "Hashimoto thyroiditis", "Meckel diverticulum", "Zenker diverticulum",
    "Vincent angina", "Todd paralysis", "Claude Bernard Horner syndrome", "Louis Bar syndrome",
    "Stevens Johnson syndrome", "Lou Gehrig's disease", "Kennedy disease", "Ringer lactate",
    "Hand-Schüller-Christian disease", "Creutzfeldt-Jakob disease", "Kellgren-Lawrence grade 3",
]


@pytest.mark.parametrize("prompt", EPONYM_PROMPTS)
def test_eponyms_are_not_phi(prompt: str) -> None:
    v = screen(f"{prompt}, teaching image --seed 3", CTX)
    assert v.decision == "allow", (prompt, v.rule_ids)


@pytest.mark.parametrize("prompt", [
    "Mr Parkinson, tremor, DaTscan", "patient Wilson, Wilson disease", "Mrs. Graves, MRI",
    "Mr. Crohn's colonoscopy photo",
])
def test_an_eponym_used_as_a_person_is_a_name(prompt: str) -> None:
    v = screen(prompt, CTX)
    assert "phi.name" in v.rule_ids


@pytest.mark.parametrize("prompt", [
    "--seed 20240101 chest x-ray", "--seed 31122023", "--seed 4155551234", "seed: 123456789",
    "T12 vertebra", "C5-C6 disc", "L4-L5 and L5-S1", "60% steatosis", "2 cm nodule",
    "--ar 3:4", "120/80 mmHg", "20/40 vision", "4/5 power", "Gleason 4+3=7", "12.5-15 mm",
    "TE 90 ms TR 4000 ms", "a 45-year-old", "an 89-year-old woman", "aged 90 or older",
    "a 1918 influenza case", "2024 screening round", "born in 1950", "92% stenosis",
    "the lesion may 2 cm", "2 march fractures", "MS plaques", "MR angiography", "H&E 400x",
    "BI-RADS 4", "SpO2 88%", "fracture of the 5th metacarpal", "3rd ventricle",
])
def test_clinical_numbers_and_words_are_not_phi(prompt: str) -> None:
    v = screen(prompt, CTX)
    assert v.decision == "allow", (prompt, v.rule_ids, v.redacted_prompt)


@pytest.mark.parametrize("prompt,rule", [
    ("a 90-year-old man", "phi.age"), ("92 yo", "phi.age"), ("aged 104", "phi.age"),
    ("ninety-one year old", "phi.age"), ("born in 1930", "phi.age"),
    ("DOB 1962-07-04", "phi.dob"), ("on 3/4/22", "phi.date"), ("admitted May 4", "phi.date"),
    ("SSN 123 45 6789", "phi.ssn"), ("555-123-4567", "phi.phone"), ("fax 555 123 4567", "phi.fax"),
    ("a@b.org", "phi.email"), ("jo at clinic dot com", "phi.email"), ("www.x.org", "phi.url"),
    ("10.0.0.1", "phi.ip"), ("MRN 123456", "phi.record"), ("account 44-332211", "phi.account"),
    ("passport 533380006", "phi.licence"), ("VIN 1HGCM82633A004352", "phi.vehicle"),
    ("serial no. PJN123456", "phi.device"), ("12 Baker Street", "phi.address"),
    ("zip 02139", "phi.zip"), ("patient John Smith", "phi.name"),
])
def test_each_safe_harbor_kind(prompt: str, rule: str) -> None:
    v = screen(prompt, ScreenContext(today=date(2026, 11, 28)))
    assert v.decision == "block" and rule in v.rule_ids, (prompt, v.rule_ids)


def test_age_from_birth_year_uses_the_context_date() -> None:
    assert screen("born in 1940", ScreenContext(today=date(2026, 1, 1))).decision == "allow"
    assert screen("born in 1940", ScreenContext(today=date(2035, 1, 1))).decision == "block"


@pytest.mark.parametrize("raw,expected", [
    ("\uff11\uff12\uff13", "123"), ("J\u043ehn", "John"),
    ("j o h n  s m i t h", "john smith"), ("s.e.x.y", "sexy"), ("8.8.8.8", "8.8.8.8"),
    ("\u0434\u0430", "\u0434\u0430"),  # a Cyrillic word with a non-look-alike letter stays
    ("a   b", "a b"),
])
def test_normalize(raw: str, expected: str) -> None:
    assert normalize(raw).text == expected


def test_a_format_character_splits_the_screened_text_as_it_splits_the_parsers() -> None:
    """The parser reads "J\u200bohn" as two words; moderation screens that text, and the
    word a reader sees ("John") as a second view mapped back onto it."""
    norm = normalize("J\u200bohn Smith")
    assert norm.text == "J ohn Smith"
    assert norm.joined is not None and norm.joined.text == "John Smith"
    assert [norm.text[i] for i in norm.joined_to_text] == list("John Smith")


@pytest.mark.parametrize("prompt,decision,rule", [
    ("clinical photograph of genital herpes on the penile shaft", "allow", None),
    ("vulvar lichen sclerosus, dermatology photo", "allow", None),
    ("gunshot wound to the chest, trauma teaching photo", "allow", None),
    ("nude adult torso with psoriasis, dermatology atlas", "allow", None),
    ("sexy nurse", "block", "sexual.explicit"),
    ("teen girl, erotic", "block", "sexual.minor"),
    ("nude child", "block", "sensitive.minor_nudity"),
    ("hypospadias in an infant, clinical photo of the penis", "hold", "sensitive.minor_intimate"),
    ("baby boy, hypospadias photo", "hold", "sensitive.minor_intimate"),
    ("testicular torsion ultrasound in a 12-year-old boy", "allow", None),
    ("naked woman in a field", "hold", "nudity.nonclinical"),
    ("x-ray of a broken wrist for my insurance claim", "block", "misuse.claim"),
    ("remove the watermark", "block", "misuse.watermark"),
    ("undetectable fake CT", "block", "misuse.undetectable"),
    ("brain MRI of Taylor Swift", "block", "misuse.public_figure"),
    ("a celebrity's knee MRI", "hold", "misuse.celebrity"),
])
def test_policy(prompt: str, decision: str, rule: str | None) -> None:
    v = screen(prompt, CTX)
    assert v.decision == decision, (prompt, v.rule_ids)
    if rule:
        assert rule in v.rule_ids
    assert (v.reason == "OK") == (decision == "allow")


def test_hold_reason_says_a_moderator_will_look() -> None:
    v = screen("a famous actress's mammogram", CTX)
    assert v.decision == "hold" and "moderator" in v.reason


def test_hits_carry_spans_not_text() -> None:
    v = screen("patient John Smith, SSN 123-45-6789", CTX)
    for h in v.hits:
        assert set(vars(h)) == {"rule_id", "kind", "start", "end", "decision"}
    assert "John" not in repr(v) and "6789" not in repr(v)
    assert v.redacted == v.redacted_prompt == "patient [NAME], SSN [SSN]"


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300))
def test_screen_never_raises_and_is_deterministic(text: str) -> None:
    a, b = screen(text, CTX), screen(text, CTX)
    assert a == b
    assert a.decision in ("allow", "hold", "block")
    assert (a.decision == "block") or not a.phi
