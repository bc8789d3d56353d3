"""A seeded transverse plane of the lower neck for a linear probe: the thyroid gland and its
neighbours, with nodules built from ACR TI-RADS features.

Probe coordinates (physics/ultrasound.Probe, linear): x lateral in mm, y depth below the skin.
Transverse neck images are shown like axial CT: the patient's right on the image left (x < 0).
Layers, front to back: skin, subcutaneous fat, the strap muscles over the gland and the
sternocleidomastoids laterally; the thyroid's right and left lobes joined by the isthmus in
front of the trachea (a bright cartilage arc over air: the beam stops there, with
reverberation below); the common carotid arteries behind and lateral to the lobes, the
jugular veins lateral to them; the longus colli deep; the oesophagus behind the left lobe.
Sizes: Tessler et al., ACR TI-RADS white paper (JACR 2017); Standring, Gray's Anatomy 42nd ed.
(lobe 40-60 x 13-18 x 13-20 mm, isthmus 2-6 mm thick).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from imagine_med.engine.phantom.regions.abdomen_us.anatomy import Ellipse
from imagine_med.engine.phantom.regions.base import Grid, PlacedFinding, Sample, compose
from imagine_med.engine.phantom.tissues import TISSUES, Tissue

LABELS: dict[str, int] = {
    "skin": 1, "subcutaneous_fat": 2, "strap_muscle": 3, "sternocleidomastoid": 4,
    "thyroid": 5, "trachea": 6, "carotid_artery": 7, "jugular_vein": 8, "longus_colli": 9,
    "oesophagus": 10, "deep_tissue": 11,
    "side_marker": 60, "annotation": 61,
    "nodule": 100, "cystic_component": 101, "echogenic_focus": 102, "shadow": 103,
}
LOBES = ("right", "left")


def _ramp(d: np.ndarray, soft: float) -> np.ndarray:
    return np.clip(0.5 - d / np.float32(soft), 0.0, 1.0)


@dataclass
class Nodule:
    """One nodule: its outline (an ellipse, lobulated by harmonics of its radius), the
    solid part's tissue, cystic spaces, echogenic foci, and whether it breaks the capsule."""

    lobe: str
    shape: Ellipse
    solid: str  # tissue name of the solid part (by echogenicity)
    lobes: tuple[tuple[int, float, float], ...] = ()  # (k, amplitude, phase) of the margin
    cysts: list[Ellipse] = field(default_factory=list)
    foci: list[Ellipse] = field(default_factory=list)
    features: dict[str, str] = field(default_factory=dict)  # what was built (not the key)

    def frac(self, x: np.ndarray, y: np.ndarray, soft: float) -> np.ndarray:
        e = self.shape
        q = e.q(x, y)
        if self.lobes:
            th = np.arctan2(y - np.float32(e.cy), x - np.float32(e.cx))
            r = 1.0 + sum(a * np.cos(k * th + p) for k, a, p in self.lobes)
            q = q / r
        return np.clip(0.5 - (q - 1.0) * np.float32(min(e.a, e.b)) / np.float32(soft), 0, 1)


@dataclass
class ThyroidPlane:
    wall: tuple[float, float, float]  # skin, fat, strap muscle thickness (mm)
    lobe: dict[str, Ellipse]
    isthmus: tuple[float, float]  # centre depth and thickness (mm)
    trachea: Ellipse
    carotid: dict[str, Ellipse]
    jugular: dict[str, Ellipse]
    oesophagus: Ellipse
    nodules: list[Nodule] = field(default_factory=list)
    findings: list[PlacedFinding] = field(default_factory=list)
    view: str = "thyroid"
    age: int = 45
    sex: str = "female"

    def level_mm(self, plane: str, level: str | None) -> tuple[float, str]:
        return 0.0, self.view

    def gland(self, x: np.ndarray, y: np.ndarray, soft: float) -> np.ndarray:
        """The thyroid: two lobes and the isthmus bridging them in front of the trachea."""
        lobes = np.maximum(self.lobe["right"].frac(x, y, soft), self.lobe["left"].frac(x, y, soft))
        yc, thick = self.isthmus
        span = abs(self.lobe["right"].cx) + 2.0
        bridge = _ramp(np.abs(y - np.float32(yc)) - thick / 2, soft) * _ramp(np.abs(x) - span,
                                                                              soft)
        return np.maximum(lobes, bridge)

    def sample(self, grid: Grid) -> Sample:
        x, y = grid.x, grid.y
        soft = max(grid.px, 0.1)
        t = TISSUES
        skin, fat, strap = self.wall
        one = np.ones(x.shape, np.float32)
        tr = self.trachea
        layers: list[tuple[str, Tissue, np.ndarray]] = [
            ("deep_tissue", t["muscle"], one),
            ("longus_colli", t["muscle"], _ramp(-(y - (tr.cy + tr.b + 2.0)), soft)),
            ("oesophagus", t["muscle"], self.oesophagus.frac(x, y, soft)),
            ("oesophagus", t["mesenteric_fat"], self.oesophagus.grown(-2.5).frac(x, y, soft)),
        ]
        for side in LOBES:
            layers += [("jugular_vein", t["blood"], self.jugular[side].frac(x, y, soft)),
                       ("carotid_artery", t["fibrous"], self.carotid[side].grown(0.6).frac(
                           x, y, soft)),
                       ("carotid_artery", t["blood"], self.carotid[side].frac(x, y, soft))]
        scm_edge = np.abs(x) - (abs(self.lobe["right"].cx) + 4.0)
        layers.append(("sternocleidomastoid", t["muscle"], _ramp(-scm_edge, soft * 3)
                       * _ramp(y - (skin + fat + strap + 9.0), soft)))
        layers.append(("thyroid", t["thyroid"], self.gland(x, y, soft)))
        # the trachea: a bright cartilage arc in front, air inside (the beam stops there)
        layers.append(("trachea", t["fibrous"], tr.grown(1.5).frac(x, y, soft)
                       * _ramp(y - tr.cy, soft)))
        layers.append(("trachea", t["air"], tr.frac(x, y, soft)))
        layers.append(("strap_muscle", t["strap_muscle"], _ramp(y - (skin + fat + strap), soft)
                       * _ramp(np.abs(x) - (abs(self.lobe["right"].cx) + 6.0), soft * 3)))
        for n in self.nodules:  # over the strap muscle: a nodule may break the capsule
            layers.append(("nodule", t[n.solid], n.frac(x, y, soft)))
            for c in n.cysts:
                layers.append(("cystic_component", t["serous_fluid"], c.frac(x, y, soft)))
            for f in n.foci:
                layers.append(("echogenic_focus", t["microcalcification" if f.a < 0.5
                                                    else "gallstone"], f.frac(x, y, soft)))
        layers += [
            ("subcutaneous_fat", t["fat"], _ramp(y - (skin + fat), soft)),
            ("skin", t["skin"], _ramp(y - skin, soft)),
        ]
        return compose(layers, LABELS, x.shape)


def build_thyroid(rng: np.random.Generator, age: int, sex: str) -> ThyroidPlane:
    """Adult ranges (mm): skin 1.5-2, fat 2-5, strap muscles 2-4; lobes 15-20 wide and 13-18
    deep, centred 14-18 mm off the midline; isthmus 2-5 mm thick; trachea 16-20 mm across;
    common carotid 6-7.5 mm behind-lateral to each lobe, jugular 8-12 mm lateral to it."""
    u = rng.uniform
    skin, fat, strap = u(1.5, 2.0), u(2.0, 5.0), u(2.0, 4.0)
    top = skin + fat + strap
    w, d = u(15.0, 20.0), u(13.0, 18.0)
    off = u(14.0, 18.0)
    tr_r = u(8.0, 10.0)
    isth = u(2.0, 5.0)
    tr = Ellipse(0.0, top + isth + 1.0 + tr_r, tr_r, tr_r * 0.9)
    lobes = {"right": Ellipse(-off, top + d / 2 + 0.5, w / 2, d / 2, u(-0.15, 0.0)),
             "left": Ellipse(off, top + d / 2 + 0.5, w / 2 * u(0.9, 1.05), d / 2 * u(0.9, 1.05),
                             u(0.0, 0.15))}
    carotid, jugular = {}, {}
    for side, s in (("right", -1), ("left", 1)):
        lb = lobes[side]
        r = u(3.0, 3.75)
        carotid[side] = Ellipse(s * (abs(lb.cx) + lb.a * 0.6 + r), lb.cy + lb.b * 0.55, r, r)
        jv = u(3.5, 5.5)
        jugular[side] = Ellipse(carotid[side].cx + s * (r + jv + 1.0), carotid[side].cy - 2.0,
                                jv, jv * u(0.5, 0.8))
    oes = Ellipse(tr_r * 0.7, tr.cy + tr_r * 0.6, 6.0, 4.0)
    return ThyroidPlane((skin, fat, strap), lobes, (top + isth / 2 + 0.3, isth), tr, carotid,
                        jugular, oes, age=age, sex=sex)


# --- nodules from ACR TI-RADS features -----------------------------------------------------

SOLID_TISSUE = {"hyperechoic": "thyroid_nodule_hyper", "isoechoic": "thyroid_nodule_iso",
                "hypoechoic": "thyroid_nodule_hypo",
                "very_hypoechoic": "thyroid_nodule_very_hypo"}
# one feature set per TR level (ACR TI-RADS points: composition + echogenicity + shape +
# margin + foci; a spongiform nodule scores 0 whatever else): each sums to its level
TR_RECIPES: dict[int, list[dict[str, str]]] = {
    1: [{"composition": "cystic"}, {"composition": "spongiform"}],
    2: [{"composition": "mixed", "echogenicity": "isoechoic"},
        {"composition": "mixed", "echogenicity": "hyperechoic"}],
    3: [{"composition": "solid", "echogenicity": "isoechoic"},
        {"composition": "mixed", "echogenicity": "hypoechoic"}],
    4: [{"composition": "solid", "echogenicity": "hypoechoic"},
        {"composition": "solid", "echogenicity": "isoechoic", "foci": "macro"},
        {"composition": "solid", "echogenicity": "hypoechoic", "margin": "lobulated"}],
    5: [{"composition": "solid", "echogenicity": "hypoechoic", "shape": "taller",
         "foci": "punctate"},
        {"composition": "solid", "echogenicity": "very_hypoechoic", "margin": "lobulated",
         "foci": "punctate"},
        {"composition": "solid", "echogenicity": "hypoechoic", "margin": "extrathyroidal",
         "foci": "macro"}],
}
FEATURE_WORDS = {  # finding modifiers (prompt/vocab.py) -> the feature they set
    "cystic": ("composition", "cystic"), "spongiform": ("composition", "spongiform"),
    "mixed": ("composition", "mixed"), "solid": ("composition", "solid"),
    "hyperechoic": ("echogenicity", "hyperechoic"), "isoechoic": ("echogenicity", "isoechoic"),
    "hypoechoic": ("echogenicity", "hypoechoic"),
    "very_hypoechoic": ("echogenicity", "very_hypoechoic"),
    "taller_than_wide": ("shape", "taller"), "lobulated": ("margin", "lobulated"),
    "extrathyroidal": ("margin", "extrathyroidal"), "microcalcifications": ("foci", "punctate"),
    "macrocalcifications": ("foci", "macro"), "rim_calcification": ("foci", "peripheral"),
}


def features_for(level: int | None, words: tuple[str, ...], rng: np.random.Generator
                 ) -> dict[str, str]:
    """Features of a nodule: a recipe for the requested TR level (else TR3), overridden by
    any feature the prompt names."""
    recipes = TR_RECIPES[level if level in TR_RECIPES else 3]
    feats = dict(recipes[int(rng.integers(len(recipes)))])
    for w in words:
        if w in FEATURE_WORDS:
            k, v = FEATURE_WORDS[w]
            feats[k] = v
    feats.setdefault("composition", "solid")
    if feats["composition"] == "cystic":
        feats["echogenicity"] = "anechoic"
    feats.setdefault("echogenicity", "isoechoic")
    feats.setdefault("shape", "wider")
    feats.setdefault("margin", "smooth")
    feats.setdefault("foci", "none")
    return feats


def place_nodule(plane: ThyroidPlane, lobe: str, size_mm: float, feats: dict[str, str],
                 rng: np.random.Generator) -> Nodule:
    """A nodule in a lobe built from its features (sizes in mm)."""
    lb = plane.lobe[lobe]
    r = size_mm / 2
    if feats["shape"] == "taller":  # AP diameter > transverse
        a, b = r * 0.75, r * 1.1
    else:
        a, b = r, r * rng.uniform(0.65, 0.8)
    if feats["margin"] == "extrathyroidal":  # bulging through the front of the capsule,
        cy = lb.cy - lb.b + b * 0.15  # its front third in the strap muscle
    else:  # inside the lobe, 1 mm clear of its front and back
        room = max(lb.b - b - 1.0, 0.0)
        cy = lb.cy + rng.uniform(-0.5, 0.5) * room
    cx = lb.cx + rng.uniform(-0.2, 0.2) * max(lb.a - a, 0.0)
    shape = Ellipse(float(cx), float(cy), float(a), float(b), 0.0)
    lobes: tuple[tuple[int, float, float], ...] = ()
    if feats["margin"] in ("lobulated", "extrathyroidal"):
        lobes = tuple((k, float(rng.uniform(0.12, 0.16)), float(rng.uniform(0, 2 * math.pi)))
                      for k in (3, 5))
    solid = SOLID_TISSUE.get(feats["echogenicity"], "thyroid_nodule_iso")
    n = Nodule(lobe, shape, solid, lobes, features=dict(feats))
    comp = feats["composition"]
    if comp == "spongiform":  # many small cystic spaces, > half the nodule
        for _ in range(400):
            t, rr = rng.uniform(0, 2 * math.pi), math.sqrt(rng.uniform(0, 0.8))
            px, py = shape.point(t, rr)
            s = rng.uniform(0.7, 1.3)
            if all(math.hypot(px - c.cx, py - c.cy) > s + c.a + 0.25 for c in n.cysts):
                n.cysts.append(Ellipse(px, py, s, s * rng.uniform(0.7, 1.0)))
    elif comp == "cystic":  # fluid inside a thin solid wall
        n.cysts.append(Ellipse(shape.cx, shape.cy, max(a - 0.6, 0.5), max(b - 0.6, 0.5)))
    elif comp == "mixed":  # one or two larger cystic spaces, 25-60% of it
        for _ in range(int(rng.integers(1, 3))):
            t = rng.uniform(0, 2 * math.pi)
            px, py = shape.point(t, 0.35)
            n.cysts.append(Ellipse(px, py, a * 0.45, b * 0.4, rng.uniform(0, math.pi)))
    foci = feats["foci"]
    if foci == "punctate":  # microcalcifications: < 1 mm, no shadow, 1.5 mm apart
        for _ in range(int(rng.integers(6, 12)) * 20):
            px, py = shape.point(rng.uniform(0, 2 * math.pi), math.sqrt(rng.uniform(0, 0.6)))
            if all(math.hypot(px - c.cx, py - c.cy) > 1.5 for c in n.foci):
                n.foci.append(Ellipse(px, py, 0.3, 0.3))
            if len(n.foci) >= 10:
                break
    elif foci == "macro":  # coarse calcification with a shadow
        px, py = shape.point(rng.uniform(0, 2 * math.pi), 0.3)
        n.foci.append(Ellipse(px, py, 1.6, 1.1, rng.uniform(0, math.pi)))
    elif foci == "peripheral":  # an eggshell rim over the front of the nodule
        for t in np.linspace(-2.6, -0.5, 9):
            px, py = shape.point(float(t), 1.0)
            n.foci.append(Ellipse(px, py, 0.9, 0.5, float(t) + math.pi / 2))
    plane.nodules.append(n)
    return n
