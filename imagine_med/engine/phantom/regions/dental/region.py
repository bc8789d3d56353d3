"""Build one patient's jaws and teeth from a spec and a seed: age -> dentition (eruption
tables), teeth placed along the unrolled arch, findings chosen and placed on named teeth."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from imagine_med.engine.base import EngineError
from imagine_med.engine.phantom.regions.dental.dentition import (
    ERUPT_PERMANENT,
    Tooth,
    dentition,
)
from imagine_med.engine.phantom.regions.dental.jaw import JawShape, occlusal
from imagine_med.engine.phantom.regions.dental.teeth import Placed
from imagine_med.prompt.spec import CaseSpec

AGE_OF_GROUP = {"neonate": 1, "infant": 2, "child": 7, "adolescent": 14, "adult": 35,
                "elderly": 72}
DEFAULT_AGE = 35
# findings this region draws (the parser's canonical names)
FINDINGS = ("caries", "periapical_lesion", "impacted_tooth", "restoration", "implant",
            "periodontal_bone_loss", "mandibular_fracture")
# where a finding goes when the prompt names no tooth (teeth it commonly affects)
DEFAULT_TEETH = {"caries": (36, 46, 26, 16, 35, 45, 25, 15), "periapical_lesion": (36, 46, 31, 41),
                 "impacted_tooth": (38, 48), "restoration": (16, 26, 36, 46, 37, 47),
                 "implant": (36, 46, 25, 15), "mandibular_fracture": (33, 43, 37, 47)}
BONE_LOSS_MM = {"mild": 2.5, "moderate": 4.5, "severe": 7.5}  # crest drop beyond normal


@dataclass
class DentalFinding:
    """One finding as built: on tooth `fdi` (None: generalised), with its build numbers."""

    name: str
    fdi: int | None
    side: str | None
    params: dict[str, float] = field(default_factory=dict)
    modifiers: tuple[str, ...] = ()


@dataclass
class DentalBody:
    age: float
    sex: str
    shape: JawShape
    teeth: list[Placed]
    findings: list[DentalFinding]
    removed: dict[int, Placed] = field(default_factory=dict)  # teeth an implant replaced

    def placed(self, fdi: int) -> Placed | None:
        return next((p for p in self.teeth if p.tooth.fdi == fdi), None)


def _age(spec: CaseSpec, rng: np.random.Generator) -> float:
    if spec.age is not None:
        return float(spec.age)
    if spec.age_group is not None:
        return float(AGE_OF_GROUP[spec.age_group])
    return float(DEFAULT_AGE + rng.integers(-8, 9))


def jaw_size(age: float) -> float:
    """Jaw scale relative to an adult: ~0.78 at 5 years, 1 from ~16 (mandibular length grows
    ~30% between 5 years and adulthood)."""
    return float(np.clip(0.72 + 0.28 * (age - 3) / 13, 0.72, 1.0))


def _arch(teeth: list[Tooth], k: float) -> dict[int, float]:
    """|s| (mm) of each tooth's centre along the arch: erupted teeth side by side from the
    midline; a germ under its predecessor, permanent molars behind the last erupted tooth."""
    pos: dict[int, float] = {}
    for q in (1, 2, 3, 4):
        row = sorted((t for t in teeth if t.quadrant in (q, q + 4)),
                     key=lambda t: (t.position if not t.primary else t.position - 0.5))
        # teeth in the arch: erupted ones (primary before its successor erupts)
        arch = [t for t in row if t.erupted]
        # primary and permanent of the same place: keep the erupted one in the arch
        edge = 0.0
        for t in sorted(arch, key=lambda t: _slot(t)):
            pos[t.fdi] = edge + t.size.md / 2
            edge += t.size.md
        for t in row:
            if t.fdi in pos:
                continue
            pred = _predecessor(t)
            if pred is not None and pred in pos:
                pos[t.fdi] = pos[pred]
            else:  # a molar germ: behind what is there
                pos[t.fdi] = edge + t.size.md / 2 + 1.0
                edge += t.size.md + 1.0
    return pos


def _slot(t: Tooth) -> float:
    """Order along the arch: primary molars stand where premolars will."""
    return t.position + (0.1 if t.primary else 0.0)


def _predecessor(t: Tooth) -> int | None:
    """The primary tooth a permanent one replaces (1-5 -> 1-5), None for molars."""
    if t.primary or t.position > 5:
        return None
    return (t.quadrant + 4) * 10 + t.position


def place_teeth(teeth: list[Tooth], age: float, shape: JawShape,
                rng: np.random.Generator) -> list[Placed]:
    k = shape.size
    pos = _arch(teeth, k)
    out = []
    for t in teeth:
        side = -1.0 if t.side == "right" else 1.0
        s = side * pos[t.fdi]
        occ = float(occlusal(s, shape))
        up = 1 if t.jaw == "lower" else -1
        if t.erupted:
            z_cej = occ - up * t.size.crown
        else:  # in the crypt: deeper while young, rising toward eruption
            erupt = ERUPT_PERMANENT[t.position][0 if t.jaw == "upper" else 1]
            p = float(np.clip(1 - (erupt - age) / 6.0, 0.0, 1.0))
            depth = (shape.crest_below_occ * k + 3.0) + (1 - p) * 9.0 * k
            z_cej = occ - up * (depth + t.size.crown)
        angle = float(rng.normal(0, 0.03)) - side * 0.05 * (t.position >= 6)
        out.append(Placed(t, s, z_cej, angle, up))
    return out


def _scaled(teeth: list[Tooth], k: float) -> list[Tooth]:
    """One patient's teeth a few percent larger or smaller than Wheeler's averages."""
    from dataclasses import replace

    return [replace(t, size=replace(t.size, crown=t.size.crown * k, root=t.size.root * k,
                                    md=t.size.md * k, md_cervix=t.size.md_cervix * k,
                                    bl=t.size.bl * k)) for t in teeth]


def _pick_tooth(name: str, location: str | None, teeth: list[Placed],
                rng: np.random.Generator, used: set[int]) -> int | None:
    have = {p.tooth.fdi for p in teeth}
    if location and location.startswith("tooth_"):
        fdi = int(location.split("_")[1])
        if fdi not in have and name != "implant":
            raise EngineError(f"Tooth {fdi} is not present at this age; the film would not "
                              "show it.")
        return fdi
    if name == "implant":
        choices = [f for f in DEFAULT_TEETH[name] if f in have and f not in used]
    else:
        choices = [f for f in DEFAULT_TEETH.get(name, ()) if f in have and f not in used]
    if not choices:
        choices = [f for f in have if f < 50 and f not in used] or sorted(have)
    return int(choices[int(rng.integers(len(choices)))])


class DentalRegion:
    name = "teeth"

    def build(self, spec: CaseSpec, seed: int) -> DentalBody:
        rng = np.random.default_rng([seed, 1919])
        age = _age(spec, rng)
        sex = spec.sex or ("female" if rng.random() < 0.5 else "male")
        wants = {f.name for f in spec.findings}
        third = True if ("impacted_tooth" in wants or age < 30) else bool(rng.random() < 0.8)
        teeth = _scaled(dentition(age, third_molars=third), float(rng.uniform(0.94, 1.06)))
        bone = spec.finding("periodontal_bone_loss")
        # jaw shape varies by patient among a few steps (so the per-shape bone maps stay cached):
        # body height 28-34 mm, the film's occlusal curve flatter or deeper
        shape = JawShape(size=jaw_size(age),
                         body_height=float(rng.choice((28.0, 31.0, 34.0))),
                         smile=float(rng.choice((0.0018, 0.0022, 0.0026))),
                         bone_loss_mm=BONE_LOSS_MM[bone.severity or "moderate"] if bone else 0.0)
        findings: list[DentalFinding] = []
        used: set[int] = set()
        for f in spec.findings:
            if f.name not in FINDINGS:
                raise EngineError(f"The dental phantom does not draw "
                                  f"{f.name.replace('_', ' ')}; it draws "
                                  f"{', '.join(n.replace('_', ' ') for n in FINDINGS)}.")
            if f.name == "periodontal_bone_loss":
                findings.append(DentalFinding(f.name, None, None,
                                              {"crest_drop_mm": shape.bone_loss_mm}))
                continue
            if f.name == "impacted_tooth" and age < 16:
                raise EngineError("Third molars are not yet formed enough to call impacted "
                                  "before about 16 years; ask for an older patient.")
            loc = f.location if f.location != "third_molar" else None
            if f.name == "impacted_tooth" and f.laterality in ("left", "right") and loc is None:
                loc = "tooth_38" if f.laterality == "left" else "tooth_48"
            fdi = self._placed_for(f.name, loc, teeth, rng, used)
            used.add(fdi)
            side = "left" if fdi // 10 in (2, 3, 6, 7) else "right"
            findings.append(DentalFinding(f.name, fdi, side, self._params(f, rng),
                                          f.modifiers))
            if f.name == "impacted_tooth" and f.laterality == "bilateral":
                other = 48 if fdi == 38 else 38
                findings.append(DentalFinding(f.name, other, "right" if other == 48 else "left",
                                              self._params(f, rng), f.modifiers))
        placed = place_teeth(teeth, age, shape, rng)
        body = DentalBody(age, sex, shape, placed, findings)
        for f in findings:
            if f.name == "implant" and f.fdi is not None:  # the implant replaces the tooth
                gone = body.placed(f.fdi)
                if gone is not None:
                    body.removed[f.fdi] = gone
                body.teeth = [p for p in body.teeth if p.tooth.fdi != f.fdi]
        from imagine_med.engine.phantom.regions.dental.findings import impact

        impact(body)
        return body

    @staticmethod
    def _placed_for(name, loc, teeth, rng, used) -> int:
        fake = [Placed(t, 0, 0, 0, 1) for t in teeth if t.erupted or name == "impacted_tooth"]
        fdi = _pick_tooth(name, loc, fake, rng, used)
        assert fdi is not None
        return fdi

    @staticmethod
    def _params(f, rng: np.random.Generator) -> dict[str, float]:
        sev = f.severity or "moderate"
        if f.name == "caries":
            depth = {"mild": 1.4, "moderate": 2.6, "severe": 4.2}[sev]
            return {"depth_mm": depth, "surface": float(rng.integers(0, 3)),
                    "width_mm": 1.6 + depth * 0.5}
        if f.name == "periapical_lesion":
            d = f.size_mm or {"mild": 3.5, "moderate": 6.0, "severe": 10.0}[sev]
            return {"diameter_mm": d}
        if f.name == "impacted_tooth":
            return {"angle_deg": float(rng.uniform(35, 60)) if "horizontal" not in f.modifiers
                    else 88.0, "depth_mm": float(rng.uniform(4, 8))}
        if f.name == "restoration":
            return {"material": 1.0 if "composite" in f.modifiers else 0.0,
                    "root_filled": 1.0 if "root_filled" in f.modifiers else 0.0}
        if f.name == "mandibular_fracture":
            return {"step_mm": {"mild": 1.5, "moderate": 3.5, "severe": 6.0}[sev],
                    "gap_mm": 1.2, "tilt_deg": float(rng.uniform(-25, 25))}
        return {}
