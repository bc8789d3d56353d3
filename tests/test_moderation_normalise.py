"""One normalisation (issue 13): moderation screens what the parser reads, in linear time.

The parser and moderation share `imagine_med.prompt.text.normalise`; these tests pin the
contract between them (every parser token is in the screened text), the storage form
(`clean_prompt`), the length cap inside `screen()`, and the cost of hostile input.
"""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imagine_med.moderation import screen
from imagine_med.moderation.normalize import CONFUSABLE_TABLE, normalize
from imagine_med.moderation.screen import MAX_SCREEN_CHARS, TOO_LONG
from imagine_med.prompt import PromptError, clean_prompt, parse
from imagine_med.prompt.lexer import tokenize
from imagine_med.prompt.text import normalise

ZW = "\u200b"
anything = st.one_of(
    st.text(max_size=200),
    st.text(alphabet=st.characters(categories=["Cc", "Cf", "Zs", "Zl", "Zp", "Lu", "Ll", "Nd",
                                               "Po", "Pd"]), max_size=120),
    st.lists(st.sampled_from(["Jane", "Roe", "MRN", "12345678", ZW, "\u00ad", " ", "  ", ".",
                              "j", "o", "1", "2.5", "\u043e", "\uff11", "-", "\ufeff"]),
             max_size=40).map("".join),
)


def _key(token: str) -> str:
    return token.translate(CONFUSABLE_TABLE)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(anything)
def test_every_token_the_parser_sees_is_in_the_screened_text(raw: str) -> None:
    """In order; a word of two or more characters is a whole token of the screened text (only
    single characters may be rejoined, as in "j o h n")."""
    parser_tokens = [t.orig for t in tokenize(normalise(raw))]
    screened = normalize(raw).text
    screened_tokens = [_key(t.orig) for t in tokenize(screened)]
    pos = 0
    for tok in parser_tokens:
        key = _key(tok)
        if len(key) >= 2:
            assert key in screened_tokens[pos:], (raw, tok, screened)
            pos = screened_tokens.index(key, pos) + 1
        else:
            assert key in _key(screened), (raw, tok, screened)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(anything)
def test_the_parser_reads_the_stored_text_as_it_reads_the_raw_text(raw: str) -> None:
    def outcome(text: str) -> object:
        try:
            return [s.model_dump() for s in parse(text)]
        except PromptError as exc:
            return exc.message

    stored = clean_prompt(raw)
    assert outcome(stored) == outcome(raw)
    assert ZW not in stored and "  " not in stored and stored == stored.strip()


def test_the_reported_bypass_is_blocked() -> None:
    v = screen(f"Jane{ZW}Roe{ZW}MRN{ZW}12345678 PA chest x-ray, left pleural effusion")
    assert v.decision == "block" and {"phi.name", "phi.record"} <= set(v.rule_ids)
    assert "Jane" not in v.redacted_prompt and "12345678" not in v.redacted_prompt


@pytest.mark.parametrize("prompt", [
    f"patient Jo{ZW}hn Sm\u00adith, chest x-ray",          # zero-width and soft hyphen inside words
    f"J{ZW}a{ZW}n{ZW}e{ZW} R{ZW}o{ZW}e chest x-ray",        # every letter split
    "patient J\u043ehn Sm\u0456th, chest x-ray",           # Cyrillic look-alikes
    "patient \uff2a\uff4f\uff48\uff4e \uff33\uff4d\uff49\uff54\uff48",  # full-width
    "j a n e  r o e, chest x-ray",                          # spaced letters
    "M R N 1 2 3 4 5 6 7 8, knee MRI",
    f"MRN{ZW}{ZW}1234{ZW}5678 knee MRI",
    "call 4\u200c1\u200d5 555 0132 about the CT",
    "s.s.n 123-45-6789",
])
def test_disguised_identifiers_are_blocked(prompt: str) -> None:
    v = screen(prompt)
    assert v.decision == "block" and v.phi, (prompt, v.rule_ids, v.redacted_prompt)


@pytest.mark.parametrize("prompt", [
    f"ute{ZW}rine fibroids on pelvic MRI, largest 6 cm",
    f"Ker{ZW}ley B lines, PA chest x-ray",
    f"chest{ZW}x-ray, right upper lobe consolidation",
    f"{ZW * 40}Hashimoto thyroiditis, ultrasound{ZW * 40}",
])
def test_zero_width_characters_in_clinical_text_stay_allowed(prompt: str) -> None:
    assert screen(prompt).decision == "allow", screen(prompt).rule_ids


def test_the_cap_counts_normalised_characters_and_keeps_none_of_a_long_prompt() -> None:
    padded = "PA chest x-ray, left pleural effusion" + ZW * 500_000
    v = screen(padded)
    assert v.decision == "allow"  # the padding is not text: it is stripped before storage
    assert clean_prompt(padded) == "PA chest x-ray, left pleural effusion"

    hidden = "PA chest x-ray " + ZW * 500_000 + " patient Jane Roe MRN 12345678"
    assert screen(hidden).decision == "block" and screen(hidden).phi

    long = "chest x-ray " * (MAX_SCREEN_CHARS // 12 + 1) + "patient Jane Roe"
    v = screen(long)
    assert v.decision == "block" and v.rule_ids == (TOO_LONG,)
    assert "Jane" not in v.redacted_prompt and "chest" not in v.redacted_prompt
    assert "4000" in v.reason

    just_under = ("chest x-ray " * 400)[:MAX_SCREEN_CHARS]
    assert screen(just_under).decision == "allow"


def _fill(unit: str, n: int) -> str:
    return (unit * (n // len(unit) + 1))[:n]


HOSTILE_UNITS = [
    "a. ", "a.", "1", "1 ", "1.", "ab-", "a", "Abc ", "a at ", "a@", "a.b@c.", "a.com/", "1:",
    "ab:", "a b ", "Jane Roe ", "jane roe ", "Roe, Jane, ", "J. ", "one two ", "12/12/",
    "third of ", "12 Elm ", "+1 ", "a#1", "(1)", "O'", "Kerley B lines ", "a" + ZW, "@a ",
]


def _best_ms(text: str, runs: int = 5) -> float:
    """The best of a few runs in this process's CPU time: on a machine shared with other jobs,
    wall time also counts the time spent waiting for a core."""
    best = float("inf")
    for _ in range(runs):
        t0 = time.process_time()
        screen(text)
        best = min(best, time.process_time() - t0)
    return best * 1000


@pytest.mark.parametrize("unit", HOSTILE_UNITS)
def test_fifty_kilobytes_of_hostile_input_screen_in_under_50_ms(unit: str) -> None:
    assert _best_ms(_fill(unit, 50_000)) < 50


@pytest.mark.parametrize("unit", HOSTILE_UNITS)
def test_detectors_are_linear_up_to_the_cap(unit: str) -> None:
    """Ten times the text (under the cap, so every detector runs) costs about ten times as
    much; a quadratic detector would cost a hundred times."""
    short, long = _best_ms(_fill(unit, 390)), _best_ms(_fill(unit, 3_900))
    assert long < 30 * max(short, 0.2), (unit, short, long)
