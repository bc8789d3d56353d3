"""The same patient again: another modality or view ("CT of this patient" after a chest film),
or later ("follow-up at 6 weeks", "after treatment") with the findings evolved.

Why it works: the phantom builds a patient from the seed (anatomy and pathology from separate
seeded streams, `engine.phantom.model.build`), so the same seed, sex and age give the same
body in every modality. What a seed alone does not fix is pinned from what the first image
*showed* (its measured findings): each finding's side and lobe, so the CT puts the film's
right-lower-lobe consolidation in the right lower lobe. A series has one id (the first case's
provenance id) that every later step carries in its case.json's `series` block.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from imagine_med.errors import UserError
from imagine_med.prompt import PromptError, parse_one
from imagine_med.prompt.spec import CaseSpec, Finding

THIS_PATIENT = re.compile(r"\b(?:of|for|in)\s+(?:this|the\s+same)\s+patient\b", re.I)
FOLLOW_UP = re.compile(
    r"\b(?:follow[- ]?up|f/u|repeat|after)\b(?:\s+(?:at|in|after))?\s*(\d+(?:\.\d+)?)\s*"
    r"(day|days|week|weeks|wk|wks|month|months|mo)\b", re.I)
AFTER_TREATMENT = re.compile(r"\b(?:after|post)[- ]?(?:treatment|therapy|chemo(?:therapy)?|"
                             r"antibiotics)\b", re.I)
WEEKS_PER = {"day": 1 / 7, "week": 1.0, "wk": 1.0, "month": 4.345, "mo": 4.345}
TREATMENT_WEEKS = 12.0  # "after treatment" without a time: a 3-month restaging interval

# Consolidation clears slowly on films: about half of community-acquired pneumonias are clear
# at 2 weeks, two thirds at 4 and three quarters at 6 (Mittl et al., AJR 1994;163:1043).
# The share of the opacity left at t weeks is modelled as exp(-t / 4), below 0.1 of the
# first extent it has resolved.
CONSOLIDATION_TAU_WEEKS = 4.0
RESOLVED_FRACTION = 0.1
LOBAR_EXTENT = 0.8  # a moderate or severe consolidation is built lobar (pathology.py)
# A responding tumour after a course of treatment: RECIST 1.1 calls a fall of >= 30% in the
# longest diameter a partial response; 40% is used so the change is plain on a film.
TREATED_DIAMETER_FACTOR = 0.6
# Untreated lung cancer: a volume doubling time of about 180 days (median of solid cancers,
# Henschke et al., Radiology 2012;263:578); diameter grows as the cube root of volume.
DOUBLING_DAYS = 180.0
LESION_DEFAULT_MM = {"nodule": 16.0, "mass": 42.0}
# Pneumothorax air is absorbed at about 1.25-2.2% of the hemithorax a day (Kircher & Swartzel,
# JAMA 1954); effusions under treatment step down a grade over about three weeks.
GRADE_WEEKS = {"pneumothorax": 1.5, "pleural_effusion": 3.0, "pulmonary_edema": 0.5}
GRADES = ("mild", "moderate", "severe")
TREATED_ONLY = {"pulmonary_edema", "collapse"}  # improve only when treated


class SeriesError(UserError):
    """A series step that cannot be made; `message` says why."""


@dataclass(frozen=True)
class Timepoint:
    weeks: float
    treated: bool
    label: str


@dataclass
class Step:
    """The next image of the series: its spec and seed, and what changed."""

    spec: CaseSpec
    seed: int
    relation: str  # "same patient" or "follow-up"
    timepoint: Timepoint | None = None
    changes: list[str] = field(default_factory=list)

    def series_block(self, series_id: str, step: int) -> dict[str, Any]:
        doc: dict[str, Any] = {"series_id": series_id, "step": step, "relation": self.relation,
                               "seed": self.seed, "changes": self.changes}
        if self.timepoint is not None:
            doc.update({"weeks": round(self.timepoint.weeks, 2),
                        "treated": self.timepoint.treated, "timepoint": self.timepoint.label})
        return doc


def parse_timepoint(text: str) -> Timepoint | None:
    """"follow-up at 6 weeks" -> 6 weeks; "after treatment" -> 12 weeks, treated; else None."""
    treated = bool(AFTER_TREATMENT.search(text))
    m = FOLLOW_UP.search(text)
    if m:
        unit = m.group(2).lower().rstrip("s") if m.group(2).lower() not in ("wks",) else "wk"
        weeks = float(m.group(1)) * WEEKS_PER[unit]
        return Timepoint(weeks, treated, f"{m.group(1)} {m.group(2)}")
    if treated:
        return Timepoint(TREATMENT_WEEKS, True, "after treatment")
    if re.search(r"\bfollow[- ]?up\b", text, re.I):
        raise SeriesError("Say when: e.g. 'follow-up at 6 weeks' or 'after treatment'.")
    return None


def pinned_findings(spec: CaseSpec, shown: list[dict[str, Any]]) -> tuple[Finding, ...]:
    """The spec's findings with side and lobe taken from what the image showed (first of each
    name), so a re-render in any modality puts them in the same place."""
    seen = {f["name"]: f for f in shown}
    out = []
    for f in spec.findings:
        s = seen.get(f.name)
        if s is None:
            out.append(f)
            continue
        update: dict[str, Any] = {}
        if s.get("laterality") in ("left", "right") and f.laterality != "bilateral":
            update["laterality"] = s["laterality"]
        if s.get("location"):
            update["location"] = s["location"]
        out.append(f.model_copy(update=update))
    return tuple(out)


def _patient(spec: CaseSpec, tags: dict[str, str]) -> dict[str, Any]:
    """Sex and age as the first image drew them (its tags), so every step is that patient."""
    out: dict[str, Any] = {}
    if tags.get("sex") in ("male", "female"):
        out["sex"] = tags["sex"]
    if str(tags.get("age", "")).isdigit():
        out["age"] = int(tags["age"])
    return out


def other_modality(prev: CaseSpec, seed: int, shown: list[dict[str, Any]],
                   tags: dict[str, str], text: str) -> Step:
    """"CT of this patient", "lateral of this patient", "T1c of this patient": the parsed
    study words replace the previous study's; the patient and findings stay."""
    words = THIS_PATIENT.sub("", text).strip(" ,.")
    if not words:
        raise SeriesError("Name the study, e.g. 'CT of this patient'.")
    try:
        asked = parse_one(words)
    except PromptError as exc:
        raise SeriesError(exc.message) from None
    if asked.findings:
        raise SeriesError("Only the study changes for the same patient; findings come along.")
    same_modality = asked.modality == prev.modality
    update: dict[str, Any] = {
        "modality": asked.modality, "region": asked.region or prev.region,
        "view": asked.view if asked.view or not same_modality else prev.view,
        "plane": asked.plane if asked.plane or not same_modality else prev.plane,
        "sequence": asked.sequence if asked.sequence or not same_modality else prev.sequence,
        "window": asked.window, "level": asked.level, "seed": seed,
        # the canonical study, not the user's words: nothing typed is stored unscreened
        "findings": pinned_findings(prev, shown),
        "prompt": study_words(asked, asked.region or prev.region) + " of the same patient",
        **_patient(prev, tags),
    }
    if asked.modality == "xray" and prev.modality != "xray" and not asked.view:
        update["view"] = "pa"
    return Step(prev.model_copy(update=update), seed, "same patient")


def study_words(spec: CaseSpec, region: str | None) -> str:
    """"axial CT chest", "PA X-ray chest", "T1c MRI brain": the study in canonical words."""
    from imagine_med.engine.registry import MODALITY_NAMES

    view = spec.view.upper() if spec.view in ("pa", "ap") else spec.view
    seq = spec.sequence.upper() if spec.sequence else None
    bits = (view, spec.plane, seq, MODALITY_NAMES.get(spec.modality, spec.modality), region)
    return " ".join(b for b in bits if b)


def _grade(f: Finding, steps: float) -> Finding | None:
    level = GRADES.index(f.severity or "moderate") - math.floor(steps)
    return None if level < 0 else f.model_copy(update={"severity": GRADES[level]})


def evolve(f: Finding, t: Timepoint, measured: dict[str, Any] | None = None
           ) -> tuple[Finding | None, str]:
    """The finding t.weeks later (None: resolved), and one line saying what changed."""
    name = f.name.replace("_", " ")
    if f.name == "consolidation":
        first = f.extent if f.extent is not None else (
            0.4 if f.severity == "mild" else LOBAR_EXTENT)
        left = math.exp(-t.weeks / CONSOLIDATION_TAU_WEEKS)
        if left < RESOLVED_FRACTION:
            return None, f"{name}: resolved"
        ext = round(max(0.05, first * left), 2)
        return (f.model_copy(update={"extent": ext, "severity": "mild"}),
                f"{name}: resolving, {round(100 * left)}% of the first opacity left")
    if f.name in ("mass", "nodule"):
        d0 = f.size_mm or float((measured or {}).get("diameter_mm") or 0) or \
            LESION_DEFAULT_MM[f.name] * (0.7, 1.0, 1.5)[GRADES.index(f.severity or "moderate")]
        if t.treated:
            factor = TREATED_DIAMETER_FACTOR
            word = "smaller after treatment"
        else:
            factor = 2 ** (t.weeks * 7 / (3 * DOUBLING_DAYS))
            word = "grown"
        d1 = round(d0 * factor, 1)
        return f.model_copy(update={"size_mm": d1}), f"{name}: {word}, {d0:g} -> {d1:g} mm"
    if f.name in GRADE_WEEKS and (t.treated or f.name not in TREATED_ONLY):
        g = _grade(f, t.weeks / GRADE_WEEKS[f.name])
        return g, f"{name}: " + ("resolved" if g is None else f"now {g.severity}")
    if f.name in TREATED_ONLY and t.treated:
        return None, f"{name}: resolved after treatment"
    return f, f"{name}: unchanged"


def follow_up(prev: CaseSpec, seed: int, shown: list[dict[str, Any]], tags: dict[str, str],
              t: Timepoint) -> Step:
    """The same patient and study t.weeks later, each finding evolved (`evolve`)."""
    measured = {f["name"]: f.get("measurements") or {} for f in shown}
    findings, changes = [], []
    for f in pinned_findings(prev, shown):
        g, line = evolve(f, t, measured.get(f.name))
        changes.append(line)
        if g is not None:
            findings.append(g)
    spec = prev.model_copy(update={"findings": tuple(findings), "seed": seed,
                                   "prompt": f"{prev.prompt} ({t.label} later)".strip(),
                                   **_patient(prev, tags)})
    return Step(spec, seed, "follow-up", t, changes)


def next_step(prev: CaseSpec, seed: int, shown: list[dict[str, Any]], tags: dict[str, str],
              text: str) -> Step:
    """One series request in words: a timepoint ("follow-up at 6 weeks", "after treatment")
    or another study of the same patient ("CT of this patient")."""
    t = parse_timepoint(text)
    if t is not None:
        return follow_up(prev, seed, shown, tags, t)
    if THIS_PATIENT.search(text):
        return other_modality(prev, seed, shown, tags, text)
    raise SeriesError("Ask for e.g. 'CT of this patient', 'follow-up at 6 weeks' or "
                      "'after treatment'.")


def render_step(spec: CaseSpec, seed: int) -> Any:
    """One image (variant 1 of `seed`) of a series step."""
    from imagine_med.case import render_case

    return render_case(spec, seeds=[seed])


def _shown(result: Any) -> list[dict[str, Any]]:
    from imagine_med.case import case_document

    return list(case_document(result)["variants"][0]["findings"])


def render_series(first_prompt: str, requests: list[str], out_dir: Any, seed: int
                  ) -> list[dict[str, Any]]:
    """The first prompt, then each request in turn (each from the step before), written as
    out_dir/step-N with a `series` block in each case.json. Returns the blocks."""
    import json
    from pathlib import Path

    from imagine_med.case import write_case
    from imagine_med.provenance.stamp import case_job_id

    try:
        spec = parse_one(first_prompt).model_copy(update={"seed": seed})
    except PromptError as exc:
        raise SeriesError(exc.message) from None
    steps = [Step(spec, seed, "first")]
    out = Path(out_dir)
    blocks: list[dict[str, Any]] = []
    series_id = ""
    for k in range(len(requests) + 1):
        step = steps[-1]
        result = render_step(step.spec, step.seed)
        folder = out / f"step-{k + 1}"
        write_case(result, folder)
        series_id = series_id or case_job_id(result)
        block = step.series_block(series_id, k + 1)
        doc = json.loads((folder / "case.json").read_text())
        doc["series"] = block
        (folder / "case.json").write_text(json.dumps(doc, indent=2) + "\n")
        blocks.append(block)
        if k < len(requests):
            steps.append(next_step(step.spec, seed, _shown(result),
                                   result.variants[0].tags, requests[k]))
    (out / "series.json").write_text(json.dumps({"series_id": series_id, "steps": blocks},
                                                indent=2) + "\n")
    return blocks


def step_from_case(doc: dict[str, Any], variant: int, text: str) -> tuple[Step, dict[str, Any]]:
    """The next step after a written case (its case.json, one variant) and the `series`
    block it will carry: the series id and step number continue the case's own series, or
    start one at this case (its provenance id)."""
    from imagine_med.prompt.spec import CaseSpec

    entries = {int(e["index"]): e for e in doc.get("variants") or []}
    if variant not in entries:
        raise SeriesError(f"This job has no variant {variant}.")
    e = entries[variant]
    prev = CaseSpec.model_validate(doc["spec"])
    step = next_step(prev, int(e["seed"]), list(e.get("findings") or []),
                     dict(e.get("tags") or {}), text)
    before = doc.get("series") or {}
    series_id = before.get("series_id") or (doc.get("provenance") or {}).get("job_id") or ""
    return step, step.series_block(series_id, int(before.get("step") or 1) + 1)
