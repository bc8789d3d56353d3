"""What a quiz asks: the answer measured from a variant's labels, distractors, free-text matching.

The answer is never taken from the prompt: a finding counts only where the variant's label map
has pixels of its label (a renderer may drop a finding that does not fit the anatomy). The
distractors are findings of the same region in the prompt vocabulary that the engine draws for
the same modality, so a chest film never offers "infarct"; a free-text answer is read with the
vocabulary's own phrases ("pneumonia" is consolidation), longest phrase first, as the parser
reads prompts.
"""

from __future__ import annotations

import importlib
import random
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from imagine_med.prompt import vocab
from imagine_med.prompt.text import normalise

NORMAL = "normal"  # the finding-free study, as a choice and as a free-text answer
CHOICES = 4
# Findings the phantom engine draws, per (modality, region): "module:attribute" of the
# renderer's own list, imported only when a quiz of that kind is built. Where no row applies
# (another engine, a region without a list) the vocabulary's region alone decides.
ENGINE_FINDINGS: dict[tuple[str, str], str] = {
    ("xray", "chest"): "imagine_med.engine.phantom.labels:SUPPORTED_FINDINGS",
    ("ct", "chest"): "imagine_med.engine.phantom.labels:SUPPORTED_FINDINGS",
    ("ct", "brain"): "imagine_med.engine.phantom.regions.head.findings:SUPPORTED",
    ("mri", "brain"): "imagine_med.engine.phantom.regions.head.findings:SUPPORTED",
    ("fundus", "retina"): "imagine_med.engine.phantom.regions.retina.region:SUPPORTED",
    **{("us", r): "imagine_med.engine.phantom.regions.abdomen_us.findings:SUPPORTED"
       for r in ("gallbladder", "liver", "kidney", "abdomen")},
}
# Lines and tubes are not what a "which finding?" question is about.
NOT_QUESTIONS = frozenset({"et_tube", "central_line", "pacemaker"})


@dataclass(frozen=True)
class Answer:
    """One finding of the quizzed variant: its vocabulary name, the key's words for it, and
    the label pixels that prove it was drawn."""

    name: str
    description: str
    pixels: int


def display(name: str) -> str:
    """`pleural_effusion` -> "pleural effusion" (button labels, messages)."""
    return "normal study (no finding)" if name == NORMAL else name.replace("_", " ")


def measured_answers(doc: dict[str, Any], files: dict[str, Path], variant: int
                     ) -> list[Answer]:
    """The findings of `variant` whose label has pixels in its label map; [] is a normal
    study. A finding without a label id (none drawn) does not count."""
    entry = next((v for v in doc.get("variants") or [] if v.get("index") == variant), None)
    if entry is None:
        raise ValueError(f"case has no variant {variant}")
    labels_path = files.get(f"variant-{variant}.labels.png")
    if labels_path is None:
        raise ValueError(f"variant {variant} has no label map to measure the answer from")
    labels = np.asarray(Image.open(labels_path))
    out: list[Answer] = []
    for f in entry.get("findings") or []:
        lid = f.get("label_id")
        if not lid:
            continue
        n = int(np.count_nonzero(labels == int(lid)))
        if n and f["name"] not in {a.name for a in out}:
            out.append(Answer(f["name"], f.get("description") or display(f["name"]), n))
    return out


@lru_cache(maxsize=32)
def distractor_pool(modality: str, region: str | None) -> tuple[str, ...]:
    """Findings plausible for this modality and region, in vocabulary order."""
    in_region = [name for name, (regions, _) in vocab.FINDINGS.items()
                 if region is None or region in regions]
    target = ENGINE_FINDINGS.get((modality, region or ""))
    if target is not None:
        module, attr = target.split(":")
        drawn = set(getattr(importlib.import_module(module), attr))
        in_region = [n for n in in_region if n in drawn] or in_region
    return tuple(n for n in in_region if n not in NOT_QUESTIONS)


def build_choices(answers: list[Answer], modality: str, region: str | None,
                  rng: random.Random, n: int = CHOICES) -> list[str]:
    """`n` shuffled choices: one right answer (the finding with most label pixels, or
    `normal`) and wrong ones from the pool ("normal" among them when the case is abnormal)."""
    right = max(answers, key=lambda a: a.pixels).name if answers else NORMAL
    wrong_set = {a.name for a in answers}
    pool = [p for p in distractor_pool(modality, region) if p not in wrong_set and p != right]
    if right != NORMAL:
        pool.append(NORMAL)
    picks = rng.sample(pool, min(n - 1, len(pool)))
    choices = [right, *picks]
    rng.shuffle(choices)
    return choices


def is_right(name: str | None, answers: list[str]) -> bool:
    """A chosen or typed finding is right when it is one of the measured findings (or
    `normal` for a study without any)."""
    if name is None:
        return False
    return name in answers if answers else name == NORMAL


@lru_cache(maxsize=1)
def _phrases() -> list[tuple[str, str]]:
    """(normalised phrase, finding) pairs, longest first; NORMAL's phrases included."""
    pairs = [(p, name) for name, (_, phrases) in vocab.FINDINGS.items() for p in phrases]
    pairs += [(name.replace("_", " "), name) for name in vocab.FINDINGS]
    pairs += [(p, NORMAL) for p in [*vocab.NORMAL, "no finding", "no findings", "nothing"]]
    return sorted(set(pairs), key=lambda pn: (-len(pn[0]), pn[0]))


_WORDS = re.compile(r"[^a-z0-9]+")


def _words(text: str) -> str:
    return " " + _WORDS.sub(" ", normalise(text).lower()).strip() + " "


def match_free_text(text: str, region: str | None = None) -> str | None:
    """The finding a typed answer names (the longest vocabulary phrase in it), mapped as the
    parser maps it in `region` ("effusion" in a knee); None when it names none."""
    words = _words(text)
    for phrase, name in _phrases():
        if f" {phrase} " in words:
            if region is not None:
                return vocab.FINDING_IN_REGION.get((name, region), name)
            return name
    return None


def finding_words(names: Iterable[str]) -> set[str]:
    """Every vocabulary word that could give these findings away (their names and phrases),
    for tests and for checking that nothing leaks before a reveal."""
    out: set[str] = set()
    for name in names:
        if name == NORMAL:
            continue
        out.add(name.replace("_", " "))
        out.update(vocab.FINDINGS.get(name, ((), []))[1])
    return {w for w in out if len(w) > 3}
