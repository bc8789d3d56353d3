"""One eye's posterior pole as photographed: numbers, the model, and its build steps.

Frame: millimetres on the photograph, origin at the image centre, u to the image's right,
v down (image rows). The model is built as a RIGHT eye (disc on the image right of the
fovea, as photographed, not the radiological convention); a left eye is the same build
mirrored (`EyeModel.mirror` = -1 flips u when it is drawn), so the two always mirror.
Numbers: ../shared/reference/physics.md "Fundus" and "Fundus additions".
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# name: (value, unit, source)
RETINA = {
    "field_diameter": (13.0, "mm", "45-degree field ~13 mm"),
    "disc_vertical": (1.86, "mm", "disc ~1.86 x 1.75 mm (vertical x horizontal)"),
    "disc_horizontal": (1.75, "mm", "as above"),
    "disc_fovea_dd": (2.65, "disc diameters", "4.8 +- 0.3 mm = 2.65 +- 0.3 DD"),
    "fovea_below_deg": (5.5, "degrees", "fovea ~5-6 degrees below the disc centre"),
    "cra_diameter": (0.150, "mm", "central retinal artery equivalent ~150 um"),
    "crv_diameter": (0.230, "mm", "central retinal vein equivalent ~230 um"),
    "murray_artery": (2.6, "", "Murray exponent ~2.6 (arteries)"),
    "murray_vein": (2.0, "", "~2.0 (veins)"),
    "bifurcation_deg": (77.0, "degrees", "bifurcation angle ~75-80 degrees"),
    "faz_radius": (0.25, "mm", "foveal avascular zone ~0.5 mm across"),
    "cdr_normal": (0.3, "", "CDR 0.2-0.3 normal"),
}
FIELD_RADIUS = RETINA["field_diameter"][0] / 2
VESSEL_STOP_FROM_FOVEA = 0.45  # mm: capillary-free zone plus the last twig's width


@dataclass
class Disc:
    """Optic disc (ellipse: centre, vertical and horizontal diameters) and its cup."""

    cu: float
    cv: float
    height: float
    width: float
    cup_cu: float
    cup_cv: float
    cup_height: float
    cup_width: float
    cdr: float  # the vertical cup-to-disc ratio it was built with
    pallor: float = 0.0  # optic atrophy / glaucomatous pallor, 0-1
    swelling: float = 0.0  # papilloedema, Frisen-like 0-5
    notch: bool = False  # glaucoma: the inferotemporal rim notched to (almost) nothing

    @property
    def diameter(self) -> float:
        return (self.height + self.width) / 2


@dataclass
class EyeModel:
    eye: str  # "right" | "left"
    age: int
    sex: str
    ethnicity: str
    fovea: tuple[float, float]
    disc: Disc
    melanin: float  # RPE/choroid pigment, 0.3 (blond) - 1.6 (heavily pigmented)
    tigroid: float  # visibility of choroidal vessels, 0-1
    vessels: list = field(default_factory=list)  # vessels.Branch
    lesions: list = field(default_factory=list)  # lesions.Lesion
    areas: list = field(default_factory=list)  # areas.Area (detachment, whitening, ...)
    findings: list = field(default_factory=list)  # regions.base.PlacedFinding
    grade: int | None = None  # the ICDR grade the DR lesions were built for
    hypertensive: int = 0  # hypertensive retinopathy 1-3: narrowed arteries, AV nicking
    seed: int = 0

    @property
    def mirror(self) -> int:
        return 1 if self.eye == "right" else -1


PIGMENT = {  # ethnicity -> (melanin mean, sd): physics.md leaves it to the renderer's judgement
    "light": (0.55, 0.12), "medium": (0.95, 0.15), "dark": (1.35, 0.15),
}


def build_eye(rng: np.random.Generator, eye: str, age: int, sex: str, ethnicity: str,
              cdr: float) -> EyeModel:
    """Steps: disc -> fovea -> cup (ISNT rim) -> pigment. Vessels and findings come after."""
    disc_h = float(np.clip(rng.normal(1.86, 0.09), 1.65, 2.05))
    disc_w = disc_h * RETINA["disc_horizontal"][0] / RETINA["disc_vertical"][0] \
        * float(np.clip(rng.normal(1.0, 0.025), 0.95, 1.05))
    dd = (disc_h + disc_w) / 2
    dist = float(np.clip(rng.normal(2.65, 0.12), 2.4, 2.9)) * dd
    below = np.radians(float(np.clip(rng.normal(5.5, 1.3), 3.0, 8.0)))
    # macula-centred: the fovea a little temporal of the centre, so the disc sits inside
    fovea = (float(-0.55 + rng.normal(0, 0.15)), float(rng.normal(0.15, 0.15)))
    dcu = fovea[0] + dist * np.cos(below)
    dcv = fovea[1] - dist * np.sin(below)
    disc = make_disc(dcu, dcv, disc_h, disc_w, cdr, glaucomatous=False)
    mean, sd = PIGMENT.get(ethnicity, PIGMENT["medium"])
    melanin = float(np.clip(rng.normal(mean, sd) - 0.004 * max(0, age - 50), 0.3, 1.7))
    # choroidal vessels show where the RPE is thin: lightly pigmented and older eyes
    tigroid = float(np.clip(rng.normal(0.1, 0.08) + 0.45 * (1.0 - melanin)
                            + 0.008 * max(0, age - 55), 0.0, 1.0))
    return EyeModel(eye, age, sex, ethnicity, fovea, disc, melanin, tigroid)


def make_disc(cu: float, cv: float, height: float, width: float, cdr: float,
              glaucomatous: bool) -> Disc:
    """The cup is an ellipse inside the disc. Vertical rim V(1-cdr) split inferior:superior
    55:45 (glaucoma: 38:62, the inferior pole thins first); the horizontal rim is 0.8 of the
    vertical one, split nasal:temporal 53:47, so a normal rim follows ISNT (I > S > N > T)."""
    vr = height * (1 - cdr)
    hr = 0.8 * vr
    cup_h = height * cdr
    cup_w = max(0.05, width - hr)
    inf_share = 0.38 if glaucomatous else 0.55
    # cup centre: rim_sup = vr*(1-inf_share); offset up (v smaller) when inferior is thicker
    dv = (vr * (1 - inf_share) - vr * inf_share) / 2  # v grows downward
    du = -(hr * 0.53 - hr * 0.47) / 2  # nasal (+u in a right eye) thicker: cup temporal
    return Disc(cu, cv, height, width, cu + du, cv + dv, cup_h, cup_w, cdr)


def isnt_rims(d: Disc) -> dict[str, float]:
    """Rim widths (mm) at the four poles of a right-eye-frame disc."""
    return {"inferior": (d.cv + d.height / 2) - (d.cup_cv + d.cup_height / 2),
            "superior": (d.cup_cv - d.cup_height / 2) - (d.cv - d.height / 2),
            "nasal": (d.cu + d.width / 2) - (d.cup_cu + d.cup_width / 2),
            "temporal": (d.cup_cu - d.cup_width / 2) - (d.cu - d.width / 2)}


def notch_ellipse(d: Disc) -> tuple[float, float, float, float, float]:
    """The notch: a small ellipse of cup reaching the disc margin inferotemporally (u, v,
    semi-axes, angle), right-eye frame (temporal is -u, inferior +v)."""
    ang = float(np.arctan2(0.9, -0.45))
    ru, rv = d.width / 2, d.height / 2
    # the disc edge along that direction, then the notch centred just inside it
    t = 1.0 / float(np.hypot(np.cos(ang) / ru, np.sin(ang) / rv))
    cu, cv = d.cu + 0.8 * t * np.cos(ang), d.cv + 0.8 * t * np.sin(ang)
    return float(cu), float(cv), 0.2 * ru, 0.13 * ru, ang
