"""A seeded transverse plane of the female pelvis for a transabdominal curvilinear probe: the
full bladder in front, the uterus behind it in cross-section, and an ovary on each side with
its antral follicles; findings: polycystic ovarian morphology, a simple ovarian cyst, a dermoid.

Probe coordinates (physics/ultrasound.Probe): x lateral in mm with the patient's right on the
image left (the transverse convention, as if looking up from the feet), y depth below the
centre of the probe face. Sizes: ovary about 30 x 20 x 15 mm, 4-10 ml in an adult of
reproductive age; antral follicles 2-9 mm, a dominant follicle up to 20-25 mm before
ovulation (Callen, Ultrasonography in Obstetrics and Gynecology, 6th ed.). Polycystic ovarian
morphology: 20 or more follicles of 2-9 mm in an ovary, or an ovarian volume of 10 ml or more
(Teede et al., International evidence-based guideline for PCOS, 2018). A simple cyst: round,
anechoic, thin-walled, with through-transmission; a dermoid (mature cystic teratoma): an
echogenic plug of sebum and hair that shadows ("tip of the iceberg").
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from imagine_med.engine.phantom.regions.abdomen_us.anatomy import Ellipse
from imagine_med.engine.phantom.regions.base import Grid, PlacedFinding, Sample, compose
from imagine_med.engine.phantom.tissues import TISSUES, Tissue

LABELS: dict[str, int] = {
    "skin": 1,
    "subcutaneous_fat": 2,
    "abdominal_muscle": 3,
    "bladder": 4,
    "bladder_wall": 5,
    "uterus": 6,
    "endometrium": 7,
    "bowel": 10,
    "pelvic_floor": 12,
    "iliac_vessel": 14,
    "pelvic_sidewall": 15,
    "side_marker": 60,
    "annotation": 61,
    "ovary_right": 130,
    "ovary_left": 131,
    "follicle": 132,
    "ovarian_cyst": 133,
    "dermoid": 134,
}
PCOM_FOLLICLES = 20  # follicles of 2-9 mm per ovary (Teede 2018)
PCOM_VOLUME_ML = 10.0
SIDES = ("right", "left")


def _ramp(d: np.ndarray, soft: float) -> np.ndarray:
    return np.clip(0.5 - d / np.float32(soft), 0.0, 1.0)


@dataclass
class Ovary:
    """One ovary in the plane: its outline, follicles (circles: x, y, radius) and a cyst or
    dermoid (an ellipse of fluid; a dermoid's plug inside it)."""

    side: str
    shape: Ellipse
    follicles: list[tuple[float, float, float]] = field(default_factory=list)
    cyst: Ellipse | None = None
    plug: Ellipse | None = None


@dataclass
class PelvisTransverse:
    sex: str
    radius_mm: float
    wall: tuple[float, float, float]
    bladder: Ellipse
    bladder_wall_mm: float
    uterus: Ellipse
    endometrium: Ellipse
    ovaries: dict[str, Ovary]
    iliac: list[Ellipse]
    findings: list[PlacedFinding] = field(default_factory=list)
    view: str = "pelvis_transverse"
    age: int = 30

    def level_mm(self, plane: str, level: str | None) -> tuple[float, str]:
        return 0.0, self.view

    def sample(self, grid: Grid) -> Sample:
        x, y = grid.x, grid.y
        soft = max(grid.px, 0.3)
        t = TISSUES
        depth = np.hypot(x, y + np.float32(self.radius_mm)) - np.float32(self.radius_mm)
        skin, fat, muscle = self.wall
        one = np.ones(x.shape, np.float32)
        side_wall = np.maximum(np.abs(x) - np.float32(self.uterus.a + 60.0), 0.0)
        layers: list[tuple[str, Tissue, np.ndarray]] = [
            ("bowel", t["mesenteric_fat"], one),
            ("pelvic_sidewall", t["muscle"], np.clip(side_wall / 6.0, 0.0, 1.0)),
            (
                "pelvic_floor",
                t["muscle"],
                _ramp(-(y - (self.uterus.cy + self.uterus.b + 25.0)), soft),
            ),
        ]
        layers += [("iliac_vessel", t["blood"], v.frac(x, y, soft)) for v in self.iliac]
        for ov in self.ovaries.values():
            layers += self._ovary_layers(ov, x, y, soft)
        layers += [
            ("uterus", t["myometrium"], self.uterus.frac(x, y, soft)),
            ("endometrium", t["endometrium"], self.endometrium.frac(x, y, soft)),
            (
                "bladder_wall",
                t["fibrous"],
                self.bladder.grown(self.bladder_wall_mm).frac(x, y, soft),
            ),
            ("bladder", t["serous_fluid"], self.bladder.frac(x, y, soft)),
            ("abdominal_muscle", t["muscle"], _ramp(depth - (skin + fat + muscle), soft)),
            ("subcutaneous_fat", t["fat"], _ramp(depth - (skin + fat), soft)),
            ("skin", t["skin"], _ramp(depth - skin, soft)),
        ]
        return compose(layers, LABELS, x.shape)

    @staticmethod
    def _ovary_layers(ov: Ovary, x, y, soft) -> list[tuple[str, Tissue, np.ndarray]]:
        """Stroma, then its follicles and any cyst (fluid) and dermoid plug on top."""
        t = TISSUES
        out = [(f"ovary_{ov.side}", t["ovary"], ov.shape.frac(x, y, soft))]
        if ov.follicles:
            out.append(("follicle", t["serous_fluid"], _discs_frac(ov, x, y, soft)))
        if ov.cyst is not None:
            name = "dermoid" if ov.plug is not None else "ovarian_cyst"
            out.append((name, t["fibrous"], ov.cyst.grown(0.8).frac(x, y, soft)))  # its wall
            out.append((name, t["serous_fluid"], ov.cyst.frac(x, y, soft)))
            if ov.plug is not None:
                out.append(("dermoid", t["dermoid_plug"], ov.plug.frac(x, y, soft)))
        return out

    # --- findings -----------------------------------------------------------------------

    def polycystic(self, rng: np.random.Generator) -> PlacedFinding:
        """Both ovaries enlarged (12-20 ml) with 20-30 follicles of 3-7 mm in the plane: a ring
        round the periphery (a "string of pearls") and a few in the stroma inside it."""
        for ov in self.ovaries.values():
            s = ov.shape
            ov.shape = Ellipse(
                s.cx, s.cy, rng.uniform(21.0, 24.0), rng.uniform(13.5, 15.5), s.angle
            )
            ring = _ring_follicles(ov.shape, (1.5, 3.0), rng)
            ov.follicles = _place_follicles(ov.shape, max(4, 24 - len(ring)), (1.5, 2.5), rng, ring)
        c = self.ovaries["right"].shape
        return PlacedFinding(
            "polycystic_ovaries", "bilateral", "ovaries", (), (c.cx, c.cy, 0.0), {}
        )

    def cyst(
        self, side: str, diameter_mm: float, rng: np.random.Generator, dermoid: bool = False
    ) -> PlacedFinding:
        """A round cyst in one ovary, pushing its stroma (and follicles) to a crescent at the
        edge; a dermoid carries an echogenic plug in its dependent part."""
        ov = self.ovaries[side]
        r = diameter_mm / 2
        s = ov.shape
        out = -1.0 if side == "right" else 1.0  # away from the uterus
        cyst = Ellipse(s.cx + out * r * 0.25, s.cy + r * 0.15, r, r * rng.uniform(0.88, 1.0))
        ov.shape = Ellipse(s.cx, s.cy, max(s.a, r + 4.0), max(s.b, r + 3.0), s.angle)
        ov.cyst = cyst
        ov.follicles = [
            f
            for f in ov.follicles
            if cyst.grown(f[2] + 1.0).q(np.float32(f[0]), np.float32(f[1])) > 1.0
            and ov.shape.q(np.float32(f[0]), np.float32(f[1])) < 0.85
        ]
        if dermoid:
            pr = r * rng.uniform(0.4, 0.55)
            ov.plug = Ellipse(
                cyst.cx + rng.uniform(-0.2, 0.2) * r, cyst.cy + r - pr * 0.9, pr, pr * 0.85
            )
        name = "dermoid" if dermoid else "ovarian_cyst"
        return PlacedFinding(
            name, side, f"{side}_ovary", (), (cyst.cx, cyst.cy, 0.0), {"diameter_mm": diameter_mm}
        )


def _discs_frac(ov: Ovary, x: np.ndarray, y: np.ndarray, soft: float) -> np.ndarray:
    """All of an ovary's follicles as one fraction map, each disc evaluated only on the grid
    points inside the ovary (a few percent of the plane)."""
    out = np.zeros(x.shape, np.float32)
    near = np.nonzero(ov.shape.grown(1.0).q(x, y) < 1.0)
    px, py = x[near], y[near]
    acc = np.zeros(px.shape, np.float32)
    for fx, fy, r in ov.follicles:
        d = np.hypot(px - np.float32(fx), py - np.float32(fy)) - np.float32(r)
        acc = np.maximum(acc, _ramp(d, soft))
    out[near] = acc
    return out


def _place_follicles(
    shape: Ellipse,
    n: int,
    radius: tuple[float, float],
    rng: np.random.Generator,
    existing: list | None = None,
    gap_mm: float = 1.3,
) -> list[tuple[float, float, float]]:
    """Up to n more non-touching round follicles inside an ovary (rejection sampling in its
    frame), clear of `existing` ones, each a radius and 1 mm of stroma inside the outline."""
    out: list[tuple[float, float, float]] = list(existing or [])
    goal = len(out) + n
    c, s = math.cos(shape.angle), math.sin(shape.angle)
    for _ in range(n * 80):
        if len(out) >= goal:
            break
        r = rng.uniform(*radius)
        th = rng.uniform(0, 2 * math.pi)
        q = math.sqrt(rng.uniform(0.0, 1.0))
        ua = max(shape.a - r - 1.0, 0.5) * q * math.cos(th)
        vb = max(shape.b - r - 1.0, 0.5) * q * math.sin(th)
        fx, fy = shape.cx + ua * c - vb * s, shape.cy + ua * s + vb * c
        if all(math.hypot(fx - gx, fy - gy) > r + gr + gap_mm for gx, gy, gr in out):
            out.append((fx, fy, r))
    return out


def _ring_follicles(
    shape: Ellipse, radius: tuple[float, float], rng: np.random.Generator, gap_mm: float = 1.3
) -> list[tuple[float, float, float]]:
    """Follicles side by side round the inside of the outline (the "string of pearls"):
    walked along the ellipse one follicle's width and a gap at a time."""
    c, s = math.cos(shape.angle), math.sin(shape.angle)
    out: list[tuple[float, float, float]] = []
    th, start = rng.uniform(0, 2 * math.pi), None
    r = rng.uniform(*radius)
    while True:
        ua, vb = (shape.a - r - 0.8) * math.cos(th), (shape.b - r - 0.8) * math.sin(th)
        fx, fy = shape.cx + ua * c - vb * s, shape.cy + ua * s + vb * c
        if start is None:
            start = th
        elif th - start > 2 * math.pi - 1e-6:
            break
        if all(math.hypot(fx - gx, fy - gy) > r + gr + gap_mm for gx, gy, gr in out):
            out.append((fx, fy, r))
            r = rng.uniform(*radius)
        th += 0.02
    return out


def build_transverse(rng: np.random.Generator, age: int) -> PelvisTransverse:
    """Adult ranges (mm): wall skin 1.5-2.5, fat 8-22, rectus 7-11; a full bladder 90-110
    wide and 45-60 deep in this plane; the uterus 45-60 x 32-42 in cross-section; ovaries
    26-32 x 17-21 (4-7 ml), 4-10 antral follicles of 2-9 mm each, sometimes a dominant one."""
    u = rng.uniform
    skin, fat, muscle = u(1.5, 2.5), u(8.0, 22.0), u(7.0, 11.0)
    top = skin + fat + muscle
    bladder = Ellipse(
        u(-5.0, 5.0),
        top + u(4.0, 8.0) + 26.0,
        u(45.0, 55.0),
        u(22.0, 30.0),
        math.radians(u(-4.0, 4.0)),
    )
    ua, ub = u(22.0, 30.0), u(16.0, 21.0)
    uterus = Ellipse(
        u(-6.0, 6.0), bladder.cy + bladder.b + ub * 0.75, ua, ub, math.radians(u(-8.0, 8.0))
    )
    endo = Ellipse(uterus.cx, uterus.cy, ua * 0.55, u(2.5, 5.0), uterus.angle)
    ovaries, iliac = {}, []
    for side, sx in (("right", -1.0), ("left", 1.0)):  # the patient's right on the image left
        oa, ob = u(13.0, 16.0), u(8.5, 10.5)
        cx = uterus.cx + sx * (ua + oa + u(4.0, 12.0))
        shape = Ellipse(cx, uterus.cy + u(-6.0, 8.0), oa, ob, sx * math.radians(u(5.0, 30.0)))
        ov = Ovary(side, shape)
        ov.follicles = _place_follicles(shape, int(rng.integers(4, 11)), (1.0, 4.5), rng)
        ovaries[side] = ov
        iliac.append(
            Ellipse(
                cx + sx * (oa + u(6.0, 10.0)),
                shape.cy + ob + u(4.0, 10.0),
                u(4.0, 5.5),
                u(3.5, 5.0),
            )
        )
    if u() < 0.4:  # a dominant follicle (late follicular phase) in one ovary
        ov = ovaries[SIDES[int(rng.integers(0, 2))]]
        r = u(6.0, 9.0)
        ov.shape = Ellipse(
            ov.shape.cx,
            ov.shape.cy,
            max(ov.shape.a, r + 6.0),
            max(ov.shape.b, r + 3.0),
            ov.shape.angle,
        )
        dom = (ov.shape.cx, ov.shape.cy, r)
        ov.follicles = [dom] + [
            f for f in ov.follicles if math.hypot(f[0] - dom[0], f[1] - dom[1]) > r + f[2] + 1.6
        ]
    return PelvisTransverse(
        "female",
        45.0,
        (skin, fat, muscle),
        bladder,
        u(2.0, 3.0),
        uterus,
        endo,
        ovaries,
        iliac,
        age=age,
    )


def ovary_diameters(shape_mask: np.ndarray, px: float) -> tuple[float, float]:
    """(long, short) axes in mm of an ovary's filled outline, from its second moments."""
    ys, xs = np.nonzero(shape_mask)
    pts = np.stack([xs, ys], 1).astype(np.float64)
    w = np.linalg.eigvalsh(np.cov((pts - pts.mean(0)).T, bias=True))
    w = np.maximum(w - 1 / 12, 1e-9)
    return 4 * math.sqrt(w[1]) * px, 4 * math.sqrt(w[0]) * px


def prolate_volume_ml(long_mm: float, short_mm: float) -> float:
    """pi/6 L W H with the unseen diameter taken as the short one (a prolate ellipsoid)."""
    return math.pi / 6 * long_mm * short_mm * short_mm / 1000.0
