"""A seeded subcostal (subxiphoid) four-chamber plane, as a phased-array probe under the
xiphoid sees it, aimed up toward the left shoulder: the pericardial view of a FAST scan.

Coordinates are the probe's (`physics/ultrasound.Probe`, kind "phased"): x lateral in mm
(image right), y depth below the sector's apex at the skin. Layers, bottom first: the posterior
mediastinum, the left lobe of the liver in the near field (the acoustic window), the diaphragm
over the heart, the pericardium (a dense fibrous sac: a bright line), pericardial fluid when
there is an effusion, the myocardium, and the four blood-filled chambers with the closed
tricuspid and mitral valves; the abdominal wall above, in arcs round the apex. Echo
convention: the right heart nearest the probe, the apex on the image right, the atria left.

Numbers (adult, mm): heart ~100 long and ~75 wide in this plane, LV wall and septum 9-12,
RV free wall 3-5 (physiological ranges as in echocardiography teaching texts); pericardium
~2 mm; effusion by its depth in diastole: small < 10, moderate 10-20, large > 20 mm.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from imagine_med.engine.phantom.regions.abdomen_us.anatomy import Ellipse, _ramp
from imagine_med.engine.phantom.regions.base import Grid, PlacedFinding, Sample, compose
from imagine_med.engine.phantom.tissues import TISSUES, Tissue

LABELS: dict[str, int] = {
    "skin": 1, "subcutaneous_fat": 2, "abdominal_muscle": 3, "liver": 4, "diaphragm": 12,
    "mediastinum": 18, "heart": 19, "myocardium": 20, "right_ventricle": 21,
    "left_ventricle": 22, "right_atrium": 23, "left_atrium": 24, "valve": 25,
    "pericardium": 26,
    "side_marker": 60, "annotation": 61,
    "pericardial_effusion": 110,
}
CHAMBERS = ("right_ventricle", "left_ventricle", "right_atrium", "left_atrium")
PERICARDIUM_MM = 2.2
DIAPHRAGM_MM = 4.0
EFFUSION_MM = {"small": 6.0, "moderate": 15.0, "large": 25.0}


@dataclass(frozen=True)
class Egg(Ellipse):
    """An ellipse narrowing toward the +a end (the apex): its half-width falls linearly from
    b at the centre to b (1 - taper) at the tip, so the ventricles are bullet-shaped."""

    taper: float = 0.0

    def q(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        c, s = np.float32(np.cos(self.angle)), np.float32(np.sin(self.angle))
        dx, dy = x - np.float32(self.cx), y - np.float32(self.cy)
        u = (dx * c + dy * s) / np.float32(self.a)
        half = np.float32(self.b) * (1 - np.float32(self.taper) * np.clip(u, 0, 1))
        v = (-dx * s + dy * c) / half
        return np.sqrt(u * u + v * v)

    def grown(self, mm: float) -> Egg:
        """Wider by `mm` all round, the tip included (the taper rescaled to keep it so)."""
        return Egg(self.cx, self.cy, self.a + mm, self.b + mm, self.angle,
                   self.taper * self.b / (self.b + mm))


def effusion_grade(depth_mm: float) -> str:
    """Small < 10 mm, moderate 10-20 mm, large > 20 mm (echocardiographic depth in diastole)."""
    return "small" if depth_mm < 10.0 else "moderate" if depth_mm <= 20.0 else "large"


@dataclass
class HeartPlane:
    """One patient's subcostal plane; `sample(grid)` gives tissue fractions at its points."""

    wall: tuple[float, float, float]  # skin, subcutaneous fat, muscle (mm)
    heart: Ellipse  # the epicardial outline; a-axis from the atria (-) to the apex (+)
    chambers: dict[str, Ellipse]
    valves: list[Ellipse]
    liver_drop: float  # the mediastinum begins this far (mm) across the heart's axis, deep
    effusion_mm: float = 0.0
    findings: list[PlacedFinding] = field(default_factory=list)
    age: int = 45
    sex: str = "female"
    view: str = "pericardial"
    radius_mm: float = 0.0

    def level_mm(self, plane: str, level: str | None) -> tuple[float, str]:
        return 0.0, self.view

    def sample(self, grid: Grid) -> Sample:
        soft = max(grid.px, 0.3)
        return compose(self._paint(grid.x, grid.y, soft), LABELS, grid.x.shape)

    def local(self, u: float, v: float) -> tuple[float, float]:
        """Probe mm of a point given along the heart's long axis (u, toward the apex) and
        across it (v, toward the deep, left-heart side)."""
        h = self.heart
        c, s = np.cos(h.angle), np.sin(h.angle)
        return float(h.cx + u * c - v * s), float(h.cy + u * s + v * c)

    def _paint(self, x: np.ndarray, y: np.ndarray, soft: float
               ) -> list[tuple[str, Tissue, np.ndarray]]:
        t = TISSUES
        h = self.heart
        depth = np.hypot(x, y)
        one = np.ones(x.shape, np.float32)
        # the liver fills the near field and wraps the heart's right side; beyond the heart's
        # deep (left ventricular) side lies the posterior mediastinum
        out: list[tuple[str, Tissue, np.ndarray]] = [("liver", t["liver"], one)]
        c, s = np.float32(np.cos(h.angle)), np.float32(np.sin(h.angle))
        v = -(x - np.float32(h.cx)) * s + (y - np.float32(h.cy)) * c
        behind = _ramp(np.float32(self.liver_drop) - v, soft * 6)
        out.append(("mediastinum", t["mesenteric_fat"], behind))
        sac = h.grown(self.effusion_mm + PERICARDIUM_MM)
        out.append(("diaphragm", t["muscle"], sac.grown(DIAPHRAGM_MM).frac(x, y, soft)
                    * (1 - behind)))
        out.append(("pericardium", t["pericardium"], sac.frac(x, y, soft)))
        if self.effusion_mm > 0:
            out.append(("pericardial_effusion", t["serous_fluid"],
                        h.grown(self.effusion_mm).frac(x, y, soft)))
        out.append(("myocardium", t["myocardium"], h.frac(x, y, soft)))
        for name in CHAMBERS:
            out.append((name, t["blood"], self.chambers[name].frac(x, y, soft)))
        for v in self.valves:
            out.append(("valve", t["fibrous"], v.frac(x, y, soft)))
        skin, fat, muscle = self.wall
        out.append(("abdominal_muscle", t["muscle"], _ramp(depth - (skin + fat + muscle), soft)))
        out.append(("subcutaneous_fat", t["fat"], _ramp(depth - (skin + fat), soft)))
        out.append(("skin", t["skin"], _ramp(depth - skin, soft)))
        return out

    def add_effusion(self, depth_mm: float) -> None:
        """Fluid between the myocardium and the pericardium, `depth_mm` all round (the parietal
        pericardium and the diaphragm move out with it)."""
        self.effusion_mm = float(depth_mm)

    def compress_right_ventricle(self, keep: float = 0.35) -> None:
        """Tamponade: the pericardial pressure exceeds the right heart's in diastole and the RV
        free wall folds in: its cavity keeps `keep` of its depth, against the septum."""
        rv = self.chambers["right_ventricle"]
        # the septal side stays; the free wall (near side) moves toward it
        du, dv = self._uv(rv.cx, rv.cy)
        septal = dv + rv.b
        new_b = rv.b * keep
        cx, cy = self.local(du, septal - new_b)
        self.chambers["right_ventricle"] = Ellipse(cx, cy, rv.a * 0.9, new_b, rv.angle)

    def _uv(self, px: float, py: float) -> tuple[float, float]:
        h = self.heart
        c, s = np.cos(h.angle), np.sin(h.angle)
        dx, dy = px - h.cx, py - h.cy
        return float(dx * c + dy * s), float(-dx * s + dy * c)


def build_heart(rng: np.random.Generator, age: int, sex: str) -> HeartPlane:
    """Seeded draws within adult ranges: wall 9-24 mm, the heart's centre 95-108 mm deep with
    its long axis 18-28 degrees up toward the apex on the image right."""
    u = rng.uniform
    wall = (u(1.6, 2.4), u(4.0, 12.0) * (1.15 if sex == "female" else 1.0), u(4.0, 8.0))
    a, b = u(46.0, 52.0), u(32.0, 36.0)
    heart = Egg(u(-2.0, 8.0), u(106.0, 114.0), a, b, np.radians(u(-30.0, -20.0)), 0.3)
    plane = HeartPlane(wall, heart, {}, [], liver_drop=b * u(0.9, 1.1), age=age, sex=sex)

    def chamber(cu: float, cv: float, ca: float, cb: float, taper: float = 0.0) -> Ellipse:
        x, y = plane.local(cu * a, cv * b)
        return Egg(x, y, ca * a, cb * b, heart.angle, taper)

    # walls (fractions of b ~ 34 mm): LV lateral wall and septum ~0.26 (9 mm), RV free wall
    # ~0.16 (5 mm); the atria meet the ventricles at the valve plane (u = -0.36 a)
    lv_b, rv_b = u(0.36, 0.40), u(0.25, 0.29)
    plane.chambers = {
        "left_ventricle": chamber(0.16, 0.34, u(0.54, 0.58), lv_b, 0.45),
        "right_ventricle": chamber(0.08, -0.56, u(0.50, 0.55), rv_b, 0.35),
        "left_atrium": chamber(-0.58, 0.36, 0.30, u(0.34, 0.38)),
        "right_atrium": chamber(-0.58, -0.46, 0.30, u(0.32, 0.36)),
    }
    # closed tricuspid and mitral leaflets: thin lines across each atrioventricular junction
    for cv, cb in ((0.36, lv_b), (-0.56, rv_b)):
        x, y = plane.local(-0.36 * a, cv * b)
        plane.valves.append(Ellipse(x, y, 0.8, cb * b * 0.95, heart.angle))
    return plane
