"""Evasion invariance: disguising a prompt (zero-width characters, full-width forms, Cyrillic
look-alikes) must not change its verdict, in either direction.

Derandomised: the same examples every run, so a rare counterexample found while exploring
(docs/moderation.md, "Known limits") is recorded there rather than failing CI by chance."""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imagine_med.moderation import ScreenContext, screen
from imagine_med.moderation.evaluate import CORPUS_DATE, load

ROWS = [r for r in load(Path(__file__).parent / "data" / "moderation_corpus.jsonl")
        if not r.get("evasion")]
FLAGGED = [r for r in ROWS if r["label"] in ("phi", "misuse")]
CLEAN = [r for r in ROWS if r["label"] == "clean"]
CTX = ScreenContext(today=CORPUS_DATE)
LOOKALIKE = {"a": "\u0430", "e": "\u0435", "o": "\u043e", "p": "\u0440", "c": "\u0441",
             "x": "\u0445", "y": "\u0443", "i": "\u0456", "s": "\u0455"}
INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"]


FLAG_NAME = re.compile(r"(?<!\S)--?[A-Za-z][\w-]*")


@st.composite
def disguised(draw: st.DrawFn, rows: list[dict]) -> tuple[dict, str]:
    """The prompt with look-alikes and invisible characters, except inside option names: a
    broken "--s\u200beed" only makes the parser refuse the option or read its value as free
    text (which is then screened as such), so it hides nothing."""
    row = draw(st.sampled_from(rows))
    flags = {i for m in FLAG_NAME.finditer(row["prompt"]) for i in range(*m.span())}
    out = []
    for at, ch in enumerate(row["prompt"]):
        if at in flags:
            out.append(ch)
            continue
        trick = draw(st.integers(0, 9))
        if trick == 0 and ch.isascii() and ch.isalnum():
            out.append(chr(ord(ch) + 0xFEE0))  # full-width form
        elif trick == 1 and ch in LOOKALIKE:
            out.append(LOOKALIKE[ch])
        else:
            out.append(ch)
        if draw(st.integers(0, 7)) == 0:
            out.append(draw(st.sampled_from(INVISIBLE)))
    return row, "".join(out)


@settings(max_examples=120, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(disguised(FLAGGED))
def test_disguised_phi_and_misuse_keep_their_verdict(case: tuple[dict, str]) -> None:
    row, prompt = case
    plain, masked = screen(row["prompt"], CTX), screen(prompt, CTX)
    assert masked.decision == plain.decision, (prompt, masked.rule_ids)
    # A format character splits a word where the parser splits it, so the disguised text may
    # show a second reading ("14\u200b.11.2019" is also "14 .11.2019"); it never hides one.
    assert set(plain.rule_ids) <= set(masked.rule_ids), prompt


@settings(max_examples=80, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(disguised(CLEAN))
def test_disguised_clinical_prompts_stay_allowed(case: tuple[dict, str]) -> None:
    _row, prompt = case
    v = screen(prompt, CTX)
    assert v.decision == "allow", (prompt, v.rule_ids)
