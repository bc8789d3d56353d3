"""The retina region: from a CaseSpec and a seed to one eye with its findings built in."""

from __future__ import annotations

import numpy as np

from imagine_med.engine.base import EngineError
from imagine_med.engine.phantom.model import AGE_OF_GROUP
from imagine_med.engine.phantom.regions.base import PlacedFinding
from imagine_med.engine.phantom.regions.retina.areas import (
    QUADRANT_DIRECTION,
    artery_attenuation,
    detachment,
    geographic_atrophy,
    neovascular_amd,
    place_laser_scars,
    retinal_whitening,
    vitreous_haemorrhage,
)
from imagine_med.engine.phantom.regions.retina.eye import EyeModel, build_eye, make_disc
from imagine_med.engine.phantom.regions.retina.lesions import (
    QUADRANTS,
    dilate_veins,
    disc_haemorrhage,
    place_dr,
    place_drusen,
    place_hypertensive,
    place_macular_oedema,
    place_peripapillary,
    place_vein_occlusion,
)
from imagine_med.engine.phantom.regions.retina.vessels import grow_vessels
from imagine_med.prompt.spec import CaseSpec, Finding

REGION_NAMES = ("retina",)
SUPPORTED = ("diabetic_retinopathy", "glaucomatous_cupping", "papilloedema",
             "macular_degeneration", "retinal_vein_occlusion", "hypertensive_retinopathy",
             "retinal_artery_occlusion", "retinal_detachment", "optic_atrophy", "laser_scars",
             "vitreous_haemorrhage")
BRAO_WORDS = ("brao", "branch")
OPTIC_ATROPHY_PALLOR = 0.85  # the rim nearly the cup's colour: pale, chalky disc
CRAO_ARTERY_CALIBRE = 0.55  # the blood column of an occluded artery, of its normal width
# a branch occlusion's quadrant from the prompt's location words (default superotemporal,
# the commonest site); "crvo" or "central" (or no location) makes it central
BRVO_WORDS = ("brvo", "branch")
# words of the prompt that set the fundus pigment (no spec field carries it)
ETHNICITY_WORDS = {
    "light": ("blond", "blonde", "caucasian", "white", "european", "scandinavian", "albino"),
    "medium": ("asian", "hispanic", "latino", "latina", "middle eastern", "south asian",
               "indian", "chinese", "japanese"),
    "dark": ("african", "black", "caribbean", "heavily pigmented", "darkly pigmented"),
}
GLAUCOMA_CDR = {"mild": 0.6, "moderate": 0.75, "severe": 0.9, None: 0.8}


def dr_grade(f: Finding) -> int:
    """ICDR grade asked for: proliferative 4, severe 3, moderate 2, mild 1 (default 2)."""
    if "proliferative" in f.modifiers:
        return 4
    return {"severe": 3, "moderate": 2, "mild": 1}.get(f.severity or "", 2)


def _ethnicity(spec: CaseSpec, rng: np.random.Generator) -> str:
    text = f" {(spec.prompt or '').lower()} "
    if "tigroid" in text or "blond fundus" in text:
        return "light"
    for name, words in ETHNICITY_WORDS.items():
        if any(f" {w} " in text or f" {w}," in text for w in words):
            return name
    return ("light", "medium", "medium", "dark")[int(rng.integers(4))]


def eye_side(spec: CaseSpec, seed: int) -> str:
    sides = [spec.laterality, *(f.laterality for f in spec.findings)]
    for s in sides:
        if s in ("right", "left"):
            return s
    return "right" if seed % 2 == 0 else "left"


class RetinaRegion:
    """Region interface (regions/base.py) for the fundus: a 2D eye, built in steps:
    eye (disc, cup, fovea, pigment) -> vessel trees -> findings."""

    name = "retina"

    def build(self, spec: CaseSpec, seed: int) -> EyeModel:
        for f in spec.findings:
            if f.name not in SUPPORTED:
                raise EngineError(
                    f"The phantom fundus has no model of {f.name.replace('_', ' ')} yet; it "
                    f"draws: {', '.join(s.replace('_', ' ') for s in SUPPORTED)}.")
        rng = np.random.default_rng([seed, 17])
        lo, hi = AGE_OF_GROUP.get(spec.age_group or "adult", (25, 64))
        age = spec.age if spec.age is not None else round(rng.uniform(lo, hi + 0.999))
        sex = spec.sex or ("female" if rng.uniform() < 0.5 else "male")
        ethnicity = _ethnicity(spec, rng)
        cdr = float(np.clip(rng.normal(0.3, 0.07), 0.15, 0.45))
        eye = build_eye(rng, eye_side(spec, seed), age, sex, ethnicity, cdr)
        eye.seed = seed
        frng = np.random.default_rng([seed, 18])
        for f in spec.findings:  # disc changes first: vessels leave the disc as it is
            if f.name == "glaucomatous_cupping":
                cdr = float(np.clip(f.extent if f.extent is not None
                                    else GLAUCOMA_CDR.get(f.severity, 0.8), 0.1, 0.95))
                d = eye.disc
                eye.disc = make_disc(d.cu, d.cv, d.height, d.width, cdr, cdr >= 0.55)
                eye.disc.pallor = 0.5 * max(0.0, cdr - 0.6)
                eye.disc.notch = "notched" in f.modifiers
                if "disc_haemorrhage" in f.modifiers:
                    eye.lesions.append(disc_haemorrhage(eye.disc))
            elif f.name == "papilloedema" or (f.name == "hypertensive_retinopathy"
                                              and f.severity == "severe"):
                grade = {"mild": 2, "moderate": 3, "severe": 4}.get(f.severity or "", 3)
                d = eye.disc
                eye.disc = make_disc(d.cu, d.cv, d.height, d.width, 0.12, False)
                eye.disc.swelling = float(grade)
        eye.vessels = grow_vessels(eye, rng)
        for f in spec.findings:
            params: dict[str, float] = {}
            if f.name == "diabetic_retinopathy":
                eye.grade = dr_grade(f)
                eye.lesions += place_dr(eye, frng, eye.grade)
                if "macular_oedema" in f.modifiers and eye.grade >= 2:  # exudates need >= 2
                    eye.lesions += place_macular_oedema(eye, frng, eye.lesions)
                params["grade"] = eye.grade
            elif f.name == "macular_degeneration":
                eye.lesions += place_drusen(eye, frng, f.severity)
                if "geographic_atrophy" in f.modifiers:
                    eye.areas.append(geographic_atrophy(eye, frng))
                if "neovascular" in f.modifiers:
                    eye.areas += neovascular_amd(eye, frng)
            elif f.name == "glaucomatous_cupping":
                params["cdr"] = eye.disc.cdr
            elif f.name == "retinal_vein_occlusion":
                q = _brvo_quadrant(spec, f)
                dilate_veins(eye, frng, q, 1.3)
                eye.lesions += place_vein_occlusion(eye, frng, q, f.severity)
                params["branch"] = float(q is not None)
            elif f.name == "hypertensive_retinopathy":
                eye.hypertensive = {"mild": 1, "moderate": 2, "severe": 3}.get(f.severity or "",
                                                                               2)
                for b in eye.vessels:  # generalised arteriolar narrowing
                    if b.kind == "artery":
                        b.radius = b.radius * np.float32(0.72)
                eye.lesions += place_hypertensive(eye, frng, f.severity)
            elif f.name == "papilloedema":
                params["frisen_grade"] = eye.disc.swelling
                if eye.disc.swelling >= 3:  # splinter haemorrhages at the disc margin
                    eye.lesions += place_peripapillary(eye, frng, int(eye.disc.swelling) + 1)
            elif f.name == "optic_atrophy":
                eye.disc.pallor = max(eye.disc.pallor, OPTIC_ATROPHY_PALLOR)
            elif f.name == "retinal_artery_occlusion":
                q = _named_quadrant(spec, BRAO_WORDS, "superotemporal", branch_only=True)
                artery_attenuation(eye, q, CRAO_ARTERY_CALIBRE)
                eye.areas.append(retinal_whitening(eye, q))
                params["branch"] = float(q is not None)
            elif f.name == "retinal_detachment":
                q = _named_quadrant(spec, (), "superotemporal") or "superotemporal"
                eye.areas.append(detachment(eye, frng, q, "macula_off" in f.modifiers))
            elif f.name == "laser_scars":
                eye.lesions += place_laser_scars(eye, frng)
            elif f.name == "vitreous_haemorrhage":
                eye.areas.append(vitreous_haemorrhage(eye, frng, f.severity))
            fu, fv = eye.fovea
            eye.findings.append(PlacedFinding(f.name, eye.eye, f.location, f.modifiers,
                                              (fu, fv, 0.0), params))
        return eye


def _brvo_quadrant(spec: CaseSpec, f: Finding) -> str | None:
    return _named_quadrant(spec, BRVO_WORDS, "superotemporal", branch_only=True)


def _named_quadrant(spec: CaseSpec, branch_words: tuple[str, ...], default: str,
                    branch_only: bool = False) -> str | None:
    """The quadrant the prompt names ("superotemporal", "supero temporal", "inferior"...),
    else `default`; with `branch_only`, None (central) unless a branch word is there."""
    text = f" {(spec.prompt or '').lower()} "
    if branch_only and not any(f" {w} " in text or f" {w}," in text for w in branch_words):
        return None
    for q in QUADRANTS:
        if q in text or q.replace("o", "o ", 1) in text:
            return q
    for q in ("superior", "inferior", "temporal", "nasal"):
        if f" {q} " in text or f" {q}," in text:
            return q if q in QUADRANT_DIRECTION and not branch_only else (
                "inferotemporal" if q == "inferior" else default)
    return default
