"""Issue 13's identifier corpora: the regression set (written before the detectors changed)
must meet the goals for every identifier kind, and the holdout written afterwards must not
fall below the score it got on its one honest first run."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

from imagine_med.moderation import ScreenContext, screen
from imagine_med.moderation.evaluate import CORPUS_DATE, load

DATA = Path(__file__).parent / "data"
REGRESSION = load(DATA / "moderation_regression.jsonl")
HOLDOUT4 = load(DATA / "moderation_holdout4.jsonl")
CTX = ScreenContext(today=CORPUS_DATE)


def _by_kind(rows: list[dict]) -> tuple[dict[str, list[int]], list[dict], int, int]:
    kinds: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    misses, clean, flagged = [], 0, 0
    for row in rows:
        v = screen(row["prompt"], CTX)
        if row["label"] == "phi":
            ok = v.decision == "block" and v.phi
            kinds[row["kind"]][0] += ok
            kinds[row["kind"]][1] += 1
        else:
            ok = v.decision == "allow"
            clean += 1
            flagged += not ok
        if not ok:
            misses.append({"prompt": row["prompt"], "kind": row["kind"], "rules": v.rule_ids})
    return kinds, misses, clean, flagged


def test_regression_set_is_the_size_the_issue_asks_for() -> None:
    assert sum(r["label"] == "phi" for r in REGRESSION) >= 150
    assert sum(r["label"] == "clean" for r in REGRESSION) >= 150
    assert len(HOLDOUT4) >= 100


def test_regression_set_meets_the_goals_for_every_identifier_kind() -> None:
    kinds, misses, clean, flagged = _by_kind(REGRESSION)
    detail = json.dumps(misses, indent=1, ensure_ascii=False)
    caught = sum(k[0] for k in kinds.values())
    total = sum(k[1] for k in kinds.values())
    assert caught / total >= 0.97, detail
    for kind, (ok, n) in kinds.items():
        assert ok / n >= 0.9, (kind, detail)
    assert flagged / clean <= 0.01, detail


def test_holdout_does_not_fall_below_its_first_run() -> None:
    """First run (docs/moderation.md): 58/64 identifiers, 0/52 clinical prompts flagged."""
    kinds, misses, _clean, flagged = _by_kind(HOLDOUT4)
    caught = sum(k[0] for k in kinds.values())
    assert caught >= 58 and flagged == 0, json.dumps(misses, indent=1, ensure_ascii=False)


@pytest.mark.parametrize("prompt", [
    "(415) 555-0132", "+44 20 7946 0958", "0412 345 678", "+33 6 12 34 56 78",
    "four one five five five five zero one three two",
])
def test_phone_numbers_in_any_format(prompt: str) -> None:
    assert "phi.phone" in screen(f"call {prompt} about the CT", CTX).rule_ids


@pytest.mark.parametrize("prompt", [
    "TR 4000 ms TE 90 ms", "BP 120/80", "C5-C6", "Gleason 4+3=7", "12.5-15 mm", "T2N1M0",
    "3 days ago", "Weber B", "HER2 3+", "Fitzpatrick IV", "cup-to-disc ratio 0.8", "45M",
    "60%", "2 cm", "T4", "GCS 8", "-600/1500", "1.5 T", "250 mAs",
])
def test_clinical_numbers_are_not_identifiers(prompt: str) -> None:
    v = screen(f"{prompt}, chest x-ray teaching image", CTX)
    assert v.decision == "allow", (prompt, v.rule_ids, v.redacted_prompt)


@pytest.mark.parametrize("prompt,rule", [
    ("dob 03 03 1961", "phi.dob"), ("born 3rd of March 1961", "phi.dob"),
    ("scan on the fifth of june 2020", "phi.date"), ("31 12 2021", "phi.date"),
    ("1933-born woman", "phi.age"), ("a man of 94", "phi.age"),
])
def test_spaced_and_spelled_dates_and_birth_years(prompt: str, rule: str) -> None:
    assert rule in screen(f"{prompt}, hip x-ray", CTX).rule_ids


def test_an_impossible_date_is_not_a_date() -> None:
    assert screen("31 02 1961 hip x-ray", CTX).decision == "allow"


@pytest.mark.parametrize("mention", ["@everyone", "@here", "<@U999>", "<!channel>"])
def test_chat_mentions_are_not_handles_but_handles_still_are(mention: str) -> None:
    """Mentions are defused by the adapters, so moderation holds or allows them on their merits;
    a handle one letter away from a broadcast word is still an identifier."""
    assert screen(f"PA chest x-ray, left pleural effusion {mention}").decision == "allow"
    assert "phi.handle" in screen("PA chest x-ray of @everyone_jroe").rule_ids


@pytest.mark.parametrize("prompt", [
    "ultrasound on February twentieth 2021", "CT on March the fifth, 2022",
    "MRI on august thirty-first 2021", "x-ray from December first nineteen ninety-nine",
    "echo on June twelve, 2021", "scan on the second of May two thousand and three",
    "CT on april twelve twenty twenty-two",
])
def test_dates_with_a_spelled_day_or_year(prompt: str) -> None:
    assert "phi.date" in screen(f"{prompt}, hip x-ray", CTX).rule_ids


@pytest.mark.parametrize("prompt", [
    "he is ninety-three", "she's 97", "my grandfather, a hundred and one,",
    "ninety-two yo woman", "aged one hundred and four", "mum turned ninety-five last week",
    "at the age of ninety-one",
])
def test_ages_over_89_in_words_or_after_a_person(prompt: str) -> None:
    assert "phi.age" in screen(f"{prompt} hip x-ray", CTX).rule_ids


@pytest.mark.parametrize("prompt", [
    "case file 2019/0871", "case ref 22/01934", "file no 2020-55120", "chart 71-30-448",
    "accession RAD 23 4471 09", "episode 44 1902-7", "admission number 7731 2209",
])
def test_case_file_and_chart_numbers_with_separators(prompt: str) -> None:
    assert "phi.record" in screen(f"{prompt}, abdominal CT", CTX).rule_ids


@pytest.mark.parametrize("prompt", [
    "teaching case 3 of 10", "case 2/5", "flexion to ninety degrees", "SpO2 is 92",
    "heart rate a hundred and twenty", "ninety percent stenosis", "patient aged 90 or older",
    "he is 95 kg", "study 12345 mm slab", "may two lesions", "the first of three views",
    "2 march fractures", "grade 2/4 murmur",
])
def test_numbers_and_words_near_the_new_rules_stay_allowed(prompt: str) -> None:
    v = screen(f"{prompt}, chest x-ray teaching image", CTX)
    assert v.decision == "allow", (prompt, v.rule_ids, v.redacted_prompt)


@pytest.mark.parametrize("prompt", [
    "x-ray for K Ashgrove", "CT belonging to W Ormerod", "F Dunsmore's knee MRI",
    "hip film - P Wetherby, 81", "his name's Barnaby Quist", "she goes by Dot Fenwick",
    "known as Rory Blackwood", "aka Lottie Fairbairn", "surname Penhaligon",
    "her name is petronella ashby", "nigel thistlewood", "gregory fairclough",
    "echo for cuthbert ashdown",
])
def test_names_with_initials_cues_or_lower_case_unlisted_surnames(prompt: str) -> None:
    assert "phi.name" in screen(f"{prompt}, chest x-ray", CTX).rule_ids


@pytest.mark.parametrize("prompt", [
    "for E Coli pyelonephritis", "C Diff colitis", "for T Cell lymphoma", "A Fib",
    "also known as Wilms tumour", "a finding known as the Kerley B lines",
    "a tumour called a Pancoast tumour", "aka Chilaiditi sign", "sometimes called Ewing sarcoma",
    "known as Hashimoto thyroiditis", "L Knee", "C Spine", "Weber B",
    "the skeleton and cotton wool", "will render the valley sign",
])
def test_clinical_words_near_the_new_name_rules_stay_allowed(prompt: str) -> None:
    v = screen(f"{prompt}, teaching image", CTX)
    assert v.decision == "allow", (prompt, v.rule_ids, v.redacted_prompt)
