"""Build one abdomen for a plain film from a spec and a seed: the bowel's course, calibre and gas
by finding, free gas, calculi and foreign bodies.

Calibres (upper limits of normal, the "3-6-9 rule": small bowel 3 cm, colon 6 cm, caecum 9 cm;
Gore & Levine, Textbook of Gastrointestinal Radiology): obstruction builds loops beyond them,
sigmoid volvulus a loop of ~10-15 cm."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from imagine_med.engine.base import EngineError
from imagine_med.engine.phantom.regions.abdomen_xr.bowel import Tube
from imagine_med.prompt.spec import CaseSpec

FINDINGS = ("small_bowel_obstruction", "large_bowel_obstruction", "sigmoid_volvulus",
            "pneumoperitoneum", "renal_stone", "ureteric_stone", "gallstones", "foreign_body")
AGE_OF_GROUP = {"neonate": 1, "infant": 2, "child": 8, "adolescent": 15, "adult": 45,
                "elderly": 75}
# colon centreline (x to the patient's left, z up; mm), segment by segment
COLON = {
    "caecum": [(-85, -100), (-92, -70)],
    "ascending_colon": [(-92, -70), (-102, -10), (-104, 60), (-96, 112)],
    "transverse_colon": [(-96, 112), (-70, 95), (-30, 62), (10, 55), (50, 72), (92, 128)],
    "descending_colon": [(92, 128), (108, 112), (110, 40), (106, -30), (98, -72)],
    "sigmoid_colon": [(98, -72), (70, -105), (35, -92), (10, -112), (2, -140)],
    "rectum": [(2, -140), (0, -170), (0, -198)],
}
NORMAL_R = {"caecum": 28.0, "ascending_colon": 22.0, "transverse_colon": 22.0,
            "descending_colon": 18.0, "sigmoid_colon": 17.0, "rectum": 20.0}


@dataclass
class Stone:
    """A calculus or foreign body: label, centre (x, z) mm, radii (mm), material, shape."""

    label: str
    x: float
    z: float
    rx: float
    rz: float
    material: str
    kind: str = "solid"  # 'solid', 'laminated' (ring and core), 'disc', 'battery'


@dataclass
class Abdomen:
    age: float
    sex: str
    size: float
    erect: bool
    tubes: list[Tube]
    stones: list[Stone]
    free_air: float  # mm of free gas anterior (0: none)
    findings: list[tuple[str, str | None]] = field(default_factory=list)


def _small_bowel(rng: np.random.Generator, k: float, r: float) -> np.ndarray:
    """A serpentine from the duodenojejunal flexure (left upper) to the terminal ileum (right
    lower), in rows across the central abdomen, rows at least a loop's width apart."""
    pts = [(25.0, 70.0)]
    n = max(3, min(7, int(135 / (2 * r / k + 6)) + 1))
    rows = np.linspace(55, -80, n)
    for i, z in enumerate(rows):
        xs = (70, -65) if i % 2 == 0 else (-65, 70)
        for x in xs:
            pts.append((x + rng.uniform(-8, 8), z + rng.uniform(-6, 6)))
    pts.append((-85.0, -95.0))
    return np.array(pts) * k


def build(spec: CaseSpec, seed: int) -> Abdomen:
    rng = np.random.default_rng([seed, 2019])
    age = float(spec.age if spec.age is not None else AGE_OF_GROUP.get(spec.age_group or "",
                                                                        rng.integers(30, 80)))
    if age < 16:
        raise EngineError("The abdominal radiograph phantom is an adult abdomen; ask for a "
                          "patient of 16 or older.")
    sex = spec.sex or ("female" if rng.random() < 0.5 else "male")
    k = float(rng.uniform(0.95, 1.05))
    erect = spec.view in ("erect", "pa")
    names = [f.name for f in spec.findings]
    for n in names:
        if n not in FINDINGS:
            raise EngineError(f"The abdominal radiograph phantom does not draw "
                              f"{n.replace('_', ' ')}; it draws "
                              f"{', '.join(f.replace('_', ' ') for f in FINDINGS)}.")
    sbo, lbo, vol = ("small_bowel_obstruction" in names, "large_bowel_obstruction" in names,
                     "sigmoid_volvulus" in names)
    # calibres and gas per segment
    colon_r = {s: r * k for s, r in NORMAL_R.items()}
    colon_g = {s: float(rng.uniform(0.3, 0.7)) for s in COLON}  # gas and faeces
    sb_r, sb_g, sb_folds = 11.0 * k, float(rng.uniform(0.03, 0.1)), "none"
    if sbo:
        sb_r, sb_g, sb_folds = float(rng.uniform(18, 23)) * k, 0.55, "valvulae"
        colon_r = {s: 9.0 * k for s in COLON}
        colon_g = {s: 0.02 for s in COLON}
        colon_g["rectum"] = 0.1
    if lbo or vol:
        cut = "sigmoid_colon"
        proximal = ("caecum", "ascending_colon", "transverse_colon", "descending_colon")
        for s in proximal:
            colon_r[s] = (48.0 if s == "caecum" else 36.0) * k * (0.85 if vol else 1.0)
            colon_g[s] = 0.75
        if lbo:
            colon_r[cut], colon_g[cut] = 9.0 * k, 0.02
        colon_r["rectum"], colon_g["rectum"] = 9.0 * k, 0.0
        sb_r, sb_g = 14.0 * k, 0.3
    tubes: list[Tube] = []
    for seg, pts in COLON.items():
        p = np.array(pts, float) * k
        r, g = colon_r[seg], colon_g[seg]
        if vol and seg == "sigmoid_colon":
            # an inverted U rising from the left pelvis to the right upper quadrant: two limbs
            # ~8-9 cm across with their walls apposed in the middle (the coffee bean)
            rv = float(rng.uniform(40, 46)) * k
            apex = np.array([-38.0, 92.0]) * k
            base = np.array([30.0, -112.0]) * k
            axis = (apex - base) / np.linalg.norm(apex - base)
            nrm = np.array([-axis[1], axis[0]])
            half = rv + 1.5 * k
            limb_a = [base + nrm * half, apex + nrm * half]
            limb_b = [apex - nrm * half, base - nrm * half]
            arc = [apex + nrm * half * np.cos(t) + axis * half * np.sin(t) * 1.1
                   for t in np.linspace(0, np.pi, 9)]
            p = np.array([p[0], *limb_a, *arc[1:-1], *limb_b, p[-1]], float)
            tubes.append(Tube(seg, p, np.array([r, rv, rv, rv, r]), np.array([0.9]),
                              "none", level_every_mm=400.0))
            continue
        folds = "haustra" if seg not in ("rectum", "sigmoid_colon") or r > 25 else "none"
        # a normal colon holds a few short levels at most; a dilated one a level per stretch
        tubes.append(Tube(seg, p, np.array([r]), np.array([g]), folds,
                          level_every_mm=120.0 if r > 25 else 400.0))
    tubes.append(Tube("small_bowel", _small_bowel(rng, k, sb_r), np.array([sb_r]), np.array([sb_g]),
                      sb_folds, level_every_mm=float(rng.uniform(55, 75))))
    # stomach: gas in the fundus when erect, in the body and antrum when supine
    st = np.array([(62, 150), (98, 128), (100, 92), (78, 66), (40, 58), (12, 70)], float) * k
    tubes.append(Tube("stomach", st, np.array([36.0, 32.0, 24.0, 16.0]) * k,
                      np.array([float(rng.uniform(0.3, 0.55))]), "none", level_every_mm=300.0))
    stones = _stones(spec, rng, k)
    free = float(rng.uniform(25, 40)) * k if "pneumoperitoneum" in names else 0.0
    return Abdomen(age, sex, k, erect, tubes, stones, free,
                   [(f.name, f.laterality) for f in spec.findings])


def _stones(spec: CaseSpec, rng: np.random.Generator, k: float) -> list[Stone]:
    out: list[Stone] = []
    for f in spec.findings:
        side = -1.0 if (f.laterality or "right") == "right" else 1.0
        if f.name == "renal_stone":
            size = f.size_mm or {"mild": 5.0, "moderate": 9.0, "severe": 16.0}[
                f.severity or "moderate"]
            cz = (95.0 if side < 0 else 110.0) + rng.uniform(-25, 25)
            out.append(Stone("renal_stone", side * (68 + rng.uniform(-6, 6)) * k, cz * k,
                             size / 2, size / 2 * 0.8, "calculus"))
        elif f.name == "ureteric_stone":
            size = f.size_mm or 5.0
            # along the ureter: over the transverse processes, the sacroiliac joint or at the
            # vesicoureteric junction (the narrowings where stones lodge)
            where = {"upper": (50, 40), "middle": (42, -75), None: (28, -160)}
            key = f.location if f.location in where else None
            x, z = where[key]
            out.append(Stone("ureteric_stone", side * x * k, z * k, size / 2, size / 2 * 1.3,
                             "calculus"))
        elif f.name == "gallstones":
            n = int(rng.integers(2, 6)) if f.severity != "mild" else 1
            for i in range(n):
                r = float(rng.uniform(4, 8))
                step = 2 * r + 3  # stones side by side, apart
                out.append(Stone("gallstone", (-70 + (i % 3) * step + rng.uniform(-1, 1)) * k,
                                 (48 - (i // 3) * step + rng.uniform(-1, 1)) * k, r, r,
                                 "calculus", "laminated"))
        elif f.name == "foreign_body":
            battery = "battery" in f.modifiers
            r = 10.0 if battery else 12.0  # a 20 mm button cell; a 24 mm coin
            out.append(Stone("foreign_body", 62 * k, 100 * k, r, r, "metal",
                             "battery" if battery else "disc"))
    return out
