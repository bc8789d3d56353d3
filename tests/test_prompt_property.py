"""Any text at all gives specs or a PromptError: every other exception is a parser bug."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imagine_med.prompt import PromptError, parse, vocab
from imagine_med.prompt.spec import CaseSpec

WORDS = sorted({p for table in (vocab.MODALITIES, vocab.REGIONS, vocab.SEQUENCES, vocab.VIEWS,
                                vocab.LOCATIONS, vocab.LATERALITY, vocab.SEVERITY)
                for phrases in table.values() for p in phrases}
               | {p for _, phrases in vocab.FINDINGS.values() for p in phrases}
               | {f"--{f}" for f in vocab.FLAGS} | {"{", "}", ",", "-m", "—", "%", "cm", "7",
                                                     "4294967296", "3:4", "-600/1500", "t4"})

prompt_like = st.lists(st.one_of(st.sampled_from(WORDS), st.text(max_size=8)),
                       max_size=40).map(" ".join)
anything = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=300),
    st.text(alphabet=st.characters(categories=["Cc", "Cf", "Zs", "Zl", "Zp", "Mn"]),
            max_size=100),
    prompt_like,
)


def _check(text: str) -> None:
    try:
        specs = parse(text)
    except PromptError as exc:
        assert exc.message and "\n" not in exc.message.strip()
        return
    assert 1 <= len(specs) <= 12
    for spec in specs:
        assert isinstance(spec, CaseSpec)
        CaseSpec.model_validate_json(spec.model_dump_json())
        spec.describe()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(anything)
def test_any_text_gives_spec_or_prompt_error(text: str) -> None:
    _check(text)


@settings(max_examples=150, deadline=None)
@given(prompt_like)
def test_vocabulary_soup_gives_spec_or_prompt_error(text: str) -> None:
    _check(text)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(min_size=1, max_size=64), st.integers(min_value=160, max_value=10_240))
def test_ten_kilobyte_strings(chunk: str, length: int) -> None:
    _check((chunk * (length // len(chunk) + 1))[:length])


def test_ten_kilobytes_of_vocabulary_under_the_cap() -> None:
    _check(("chest x-ray right upper lobe consolidation " * 95)[:3990])
