"""A case set's plan: which finding, patient and seed each case gets, before anything renders.

Why a separate step: balance and reproducibility are properties of the plan alone (counts per
finding within one, sex and age bands spread evenly within each finding and over the set), so
they are decided here from the set's seed, and the renderer only draws the images. The same
request and seed always give the same plan, hence the same set.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from imagine_med.errors import UserError
from imagine_med.prompt import PromptError, parse_one
from imagine_med.prompt.spec import SEED_MAX, CaseSpec

NORMAL = "normal"
SEXES = ("female", "male")
# Adult age bands a set is balanced over (years, inclusive): the three bands teaching sets and
# chest-film data sets usually stratify by (young adult, middle age, older adult).
AGE_BANDS: tuple[tuple[int, int], ...] = ((20, 39), (40, 59), (60, 85))
# The worked example (25 chest findings for a residency's 500 films), as a teaching
# team would type them; the bench and the tests use it.
EXAMPLE_CHEST_FINDINGS = (
    "RUL consolidation", "RML consolidation", "LLL consolidation", "right pleural effusion",
    "left pleural effusion", "right pneumothorax", "left pneumothorax", "tension pneumothorax",
    "nodule", "mass", "cavity", "cardiomegaly", "pulmonary edema", "RUL collapse",
    "LLL collapse", "emphysema", "fibrosis", "miliary nodules", "pneumoperitoneum",
    "rib fracture", "hiatus hernia", "mediastinal widening", "et tube", "central line",
    "pacemaker")
MAX_CASES = 2000  # one job's limit: 2000 films at 512 px are about 1 GB of PNG
MAX_FINDINGS = 60


class CaseSetError(UserError):
    """A case-set request that cannot be planned; `message` says why."""


@dataclass(frozen=True)
class CaseSetRequest:
    """`prompt` names the study ("PA chest x-ray"); each of `findings` is a phrase the prompt
    language knows ("pneumothorax", "right pleural effusion", "RUL consolidation"); `normal` is
    the fraction of the whole set that shows no finding."""

    prompt: str
    findings: tuple[str, ...]
    per_finding: int
    normal: float = 0.0
    seed: int = 0
    size: int | None = None  # image width and height; None: the prompt's (default 512)

    def to_json(self) -> dict[str, Any]:
        return {"prompt": self.prompt, "findings": list(self.findings),
                "per_finding": self.per_finding, "normal": self.normal, "seed": self.seed,
                "size": self.size}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> CaseSetRequest:
        return cls(doc["prompt"], tuple(doc["findings"]), int(doc["per_finding"]),
                   float(doc.get("normal", 0.0)), int(doc.get("seed", 0)), doc.get("size"))


@dataclass(frozen=True)
class PlannedCase:
    """One case of the set: `finding` is the set's name for what it shows (NORMAL for none)."""

    case_id: str
    index: int
    finding: str
    spec: CaseSpec
    seed: int
    sex: str | None
    age: int | None
    age_band: str | None
    attempts: tuple[int, ...] = field(default=())  # fallback seeds when a finding is not seen


def finding_spec(base: str, phrase: str) -> CaseSpec:
    """The spec of `base` showing `phrase`, refusing a phrase the parser does not read as a
    finding (an unknown word would otherwise give a silently normal case)."""
    words, dashes, flags = base.partition(" --")  # the finding before any flags
    try:
        spec = parse_one(f"{words} with {phrase}{dashes}{flags}")
    except PromptError as exc:
        raise CaseSetError(f"Finding '{phrase}': {exc.message}") from None
    if not spec.findings or spec.unparsed:
        left = ", ".join(spec.unparsed) or phrase
        raise CaseSetError(f"'{phrase}' is not a finding the prompt language knows ({left}).")
    return spec


def finding_name(spec: CaseSpec) -> str:
    """The set's name of a finding spec: its findings in canonical words."""
    return "; ".join(f.describe() for f in spec.findings)


def counts(per_finding: int, n_findings: int, normal: float) -> tuple[int, int]:
    """(cases per finding, normal cases): normal is a fraction of the whole set."""
    if not 0.0 <= normal < 1.0:
        raise CaseSetError("--normal is the fraction of normal cases: from 0 up to (not) 1.")
    abnormal = per_finding * n_findings
    return per_finding, round(abnormal * normal / (1.0 - normal)) if n_findings else 0


def _seed(set_seed: int, *parts: int) -> int:
    return int(np.random.default_rng([set_seed, *parts]).integers(0, SEED_MAX + 1))


def _cell(base: CaseSpec, k: int) -> tuple[str | None, tuple[int, int] | None]:
    """The k-th case's sex and age band, among those the prompt leaves open. Sex cycles with
    period 2 and band with period 3, so any run of consecutive cases (one finding's) has each
    sex and each band within one of the others, and (2 and 3 being coprime) every six cases
    hold every sex-band pair once."""
    sexes: tuple[str | None, ...] = (base.sex,) if base.sex else SEXES
    open_age = base.age is None and base.age_group in (None, "adult")
    bands: tuple[tuple[int, int] | None, ...] = AGE_BANDS if open_age else (None,)
    return sexes[k % len(sexes)], bands[k % len(bands)]


def _check(request: CaseSetRequest) -> None:
    if not request.findings and request.normal <= 0:
        raise CaseSetError("Name at least one finding (--findings), or ask for normals.")
    if len(request.findings) > MAX_FINDINGS:
        raise CaseSetError(f"At most {MAX_FINDINGS} findings in one set.")
    if request.per_finding < 1:
        raise CaseSetError("--per-finding must be at least 1.")
    if len(set(request.findings)) != len(request.findings):
        raise CaseSetError("A finding is named twice; name each once.")


def plan_caseset(request: CaseSetRequest) -> list[PlannedCase]:
    """Every case of the set, in a seeded shuffled order (ids do not cluster by finding)."""
    _check(request)
    try:
        base = parse_one(request.prompt)
    except PromptError as exc:
        raise CaseSetError(exc.message) from None
    if base.findings:
        raise CaseSetError("Name the study only in the prompt (e.g. 'PA chest x-ray'); the "
                           "findings go in --findings.")
    specs = [(finding_name(s), s) for s in (finding_spec(base.prompt, p)
                                             for p in request.findings)]
    if request.size:
        size = {"width": request.size, "height": request.size}
        base = base.model_copy(update=size)
        specs = [(name, s.model_copy(update=size)) for name, s in specs]
    if len({name for name, _ in specs}) != len(specs):
        raise CaseSetError("Two findings read as the same finding; name each once.")
    per, n_normal = counts(request.per_finding, len(specs), request.normal
                           if request.findings else 0.0)
    if not request.findings:
        n_normal = request.per_finding
    groups = [*((name, s, per) for name, s in specs), (NORMAL, base, n_normal)]
    total = sum(n for _, _, n in groups)
    if total > MAX_CASES:
        raise CaseSetError(f"This set has {total} cases; one set is at most {MAX_CASES}.")
    rng = np.random.default_rng([request.seed, 0xCA5E])
    drafts: list[tuple[str, CaseSpec, str | None, int | None, str | None]] = []
    k = 0  # one running index over the whole set: balanced per finding and overall
    for name, spec, n in groups:
        for _ in range(n):
            sex, band = _cell(base, k)
            k += 1
            age = int(rng.integers(band[0], band[1] + 1)) if band else None
            drafts.append((name, spec, sex, age, f"{band[0]}-{band[1]}" if band else None))
    order = rng.permutation(len(drafts))
    out = []
    for index, j in enumerate(order):
        name, spec, sex, age, band = drafts[j]
        seed = _seed(request.seed, index)
        update: dict[str, Any] = {"seed": seed, "prompt": _prompt(spec, sex, age)}
        if sex:
            update["sex"] = sex
        if age is not None:
            update["age"] = age
        out.append(PlannedCase(
            case_id=f"case-{index + 1:04d}", index=index, finding=name,
            spec=spec.model_copy(update=update), seed=seed, sex=sex or spec.sex, age=age,
            age_band=band, attempts=tuple(_seed(request.seed, index, a) for a in (1, 2, 3))))
    return out


def _prompt(spec: CaseSpec, sex: str | None, age: int | None) -> str:
    """The prompt a user would type for this case (shown in the metadata and the band)."""
    who = " ".join(w for w in (f"{age}-year-old" if age is not None else "", sex or "") if w)
    return f"{spec.prompt}, {who}" if who else spec.prompt
