"""Evasion invariance: disguising a prompt (zero-width characters, full-width forms, Cyrillic
look-alikes) must not change its verdict, in either direction."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from imagine_med.moderation import ScreenContext, screen
from imagine_med.moderation.evaluate import CORPUS_DATE, load
from imagine_med.prompt import PromptError, parse

ROWS = [r for r in load(Path(__file__).parent / "data" / "moderation_corpus.jsonl")
        if not r.get("evasion")]
FLAGGED = [r for r in ROWS if r["label"] in ("phi", "misuse")]
CLEAN = [r for r in ROWS if r["label"] == "clean"]
CTX = ScreenContext(today=CORPUS_DATE)
LOOKALIKE = {"a": "\u0430", "e": "\u0435", "o": "\u043e", "p": "\u0440", "c": "\u0441",
             "x": "\u0445", "y": "\u0443", "i": "\u0456", "s": "\u0455"}
INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"]


@st.composite
def disguised(draw: st.DrawFn, rows: list[dict]) -> tuple[dict, str]:
    row = draw(st.sampled_from(rows))
    out = []
    for ch in row["prompt"]:
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


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(disguised(FLAGGED))
def test_disguised_phi_and_misuse_keep_their_verdict(case: tuple[dict, str]) -> None:
    row, prompt = case
    plain, masked = screen(row["prompt"], CTX), screen(prompt, CTX)
    assert masked.decision == plain.decision, (prompt, masked.rule_ids)
    # A format character splits a word where the parser splits it, so the disguised text may
    # show a second reading ("14\u200b.11.2019" is also "14 .11.2019"); it never hides one.
    assert set(plain.rule_ids) <= set(masked.rule_ids), prompt


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(disguised(CLEAN))
def test_disguised_clinical_prompts_stay_allowed(case: tuple[dict, str]) -> None:
    """Where the parser still reads the disguised prompt. A format character inside a flag
    ("--s\u200beed 12345678") splits it where the parser splits it: the parser refuses the
    unknown option and nothing is queued, while moderation reads "12345678" as free text."""
    _row, prompt = case
    try:
        parse(prompt)
    except PromptError:
        assume(False)
    v = screen(prompt, CTX)
    assert v.decision == "allow", (prompt, v.rule_ids)
