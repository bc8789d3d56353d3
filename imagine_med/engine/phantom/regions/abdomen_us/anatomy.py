"""A seeded 2D scan plane of the upper abdomen as a curvilinear probe sees it.

Coordinates are the probe's (`physics/ultrasound.Probe`): x lateral in mm (image right), y
depth in mm below the centre of the probe face. Ultrasound images one plane, so the region
is drawn in that plane: analytic ellipses and arcs with soft (partial-volume) edges, painted
in order, each naming a tissue of `tissues.py` and a label.

Views:
- `ruq`: the right upper quadrant, longitudinal-oblique (cranial on the image left): abdominal
  wall, liver with portal and hepatic veins, gallbladder with its wall, the diaphragm and lung
  deep on the left, the right kidney (cortex, medullary pyramids, echogenic sinus, perirenal
  fat) deep on the right, the hepatorenal space (Morison's pouch) between liver and kidney.
- `luq`: the left upper quadrant (FAST splenorenal view): spleen instead of liver, left kidney,
  no gallbladder.
Findings change this plane (`findings.py`): stones in the gallbladder, free fluid in the
hepatorenal or splenorenal space, fatty liver grades (a tissue change of the liver).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from imagine_med.engine.phantom.regions.base import Grid, PlacedFinding, Sample, compose
from imagine_med.engine.phantom.tissues import TISSUES, Tissue

# label ids: anatomy below 100, findings from 100; 60/61 are the display's marks
LABELS: dict[str, int] = {
    "skin": 1, "subcutaneous_fat": 2, "abdominal_muscle": 3, "liver": 4, "spleen": 5,
    "gallbladder": 6, "gallbladder_wall": 7, "kidney_cortex": 8, "kidney_medulla": 9,
    "renal_sinus": 10, "perirenal_fat": 11, "diaphragm": 12, "lung": 13, "portal_vein": 14,
    "hepatic_vein": 15, "bowel": 16, "posterior_muscle": 17, "bile_duct_wall": 18,
    "bowel_gas": 19, "crystal": 20,
    "side_marker": 60, "annotation": 61,
    "stone": 100, "shadow": 101, "free_fluid": 102, "steatosis": 103, "hydronephrosis": 104,
    "cyst": 105, "pericholecystic_fluid": 106, "sludge": 107, "polyp": 108, "cbd": 109,
    "haemangioma": 110, "metastasis": 111, "angiomyolipoma": 112,
    # artefacts (options), labelled where they outweigh the anatomy
    "reverberation": 113, "side_lobe": 114, "edge_shadow": 115, "comet_tail": 116,
}


@dataclass(frozen=True)
class Ellipse:
    cx: float
    cy: float
    a: float
    b: float
    angle: float = 0.0  # radians, the a-axis from image right toward depth

    def q(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Normalised radius: < 1 inside."""
        c, s = np.float32(np.cos(self.angle)), np.float32(np.sin(self.angle))
        dx, dy = x - np.float32(self.cx), y - np.float32(self.cy)
        u = (dx * c + dy * s) / np.float32(self.a)
        v = (-dx * s + dy * c) / np.float32(self.b)
        return np.sqrt(u * u + v * v)

    def frac(self, x: np.ndarray, y: np.ndarray, soft: float) -> np.ndarray:
        """Fraction inside, with an edge about `soft` mm wide (distance taken on the b axis)."""
        d = (self.q(x, y) - 1.0) * np.float32(min(self.a, self.b))
        return np.clip(0.5 - d / np.float32(soft), 0.0, 1.0)

    def grown(self, mm: float) -> Ellipse:
        return Ellipse(self.cx, self.cy, self.a + mm, self.b + mm, self.angle)

    def point(self, t: float, r: float = 1.0) -> tuple[float, float]:
        """The point at parameter angle t on the ellipse scaled by r."""
        c, s = np.cos(self.angle), np.sin(self.angle)
        u, v = self.a * r * np.cos(t), self.b * r * np.sin(t)
        return float(self.cx + u * c - v * s), float(self.cy + u * s + v * c)


@dataclass(frozen=True)
class Duct:
    """A straight tube of radius `r` (mm) from (x0, y0) to (x1, y1), round-ended: the common
    bile duct in its long axis."""

    x0: float
    y0: float
    x1: float
    y1: float
    r: float

    def distance(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Distance to the tube's axis segment."""
        dx, dy = self.x1 - self.x0, self.y1 - self.y0
        t = ((x - np.float32(self.x0)) * np.float32(dx) + (y - np.float32(self.y0))
             * np.float32(dy)) / np.float32(dx * dx + dy * dy)
        t = np.clip(t, 0.0, 1.0)
        return np.hypot(x - np.float32(self.x0) - t * np.float32(dx),
                        y - np.float32(self.y0) - t * np.float32(dy))

    def frac(self, x: np.ndarray, y: np.ndarray, soft: float, grow: float = 0.0
             ) -> np.ndarray:
        return _ramp(self.distance(x, y) - np.float32(self.r + grow), soft)


def _ramp(d: np.ndarray, soft: float) -> np.ndarray:
    """Fraction on the negative side of a signed distance."""
    return np.clip(0.5 - d / np.float32(soft), 0.0, 1.0)


@dataclass
class AbdomenPlane:
    """One patient's scan plane; `sample(grid)` gives tissue fractions at the grid's points."""

    view: str
    radius_mm: float
    wall: tuple[float, float, float]  # skin, subcutaneous fat, muscle thickness (mm)
    organ: str  # "liver" or "spleen"
    organ_tissue: Tissue
    diaphragm: tuple[float, float, float]  # arc centre x, y, radius
    kidney: Ellipse
    sinus: Ellipse
    pyramids: list[Ellipse]
    gallbladder: Ellipse | None
    gb_wall_mm: float
    veins: list[tuple[str, Ellipse]]
    stones: list[Ellipse] = field(default_factory=list)
    fluid_mm: float = 0.0
    fatty_grade: int = 0
    organ_shape: Ellipse | None = None
    gb_neck: Ellipse | None = None  # the neck, toward the porta (image left, deeper)
    pelvis: list[Ellipse] = field(default_factory=list)  # dilated pelvis and calyces
    cysts: list[tuple[str, Ellipse]] = field(default_factory=list)  # (organ, shape)
    pericholecystic_mm: float = 0.0
    renal_stones: list[Ellipse] = field(default_factory=list)  # calculi in the renal sinus
    sludge_level: float | None = None  # depth (mm) of the horizontal fluid-sludge level
    polyps: list[Ellipse] = field(default_factory=list)  # on the gallbladder wall
    cbd: Duct | None = None  # the common bile duct, drawn when a finding asks for it
    # liver lesions, each (tissue name, shape) painted in order: a metastasis is its halo,
    # then its body (hypoechoic) or its echogenic target centre, all labelled `metastasis`
    liver_lesions: list[tuple[str, str, Ellipse]] = field(default_factory=list)
    amls: list[Ellipse] = field(default_factory=list)  # renal angiomyolipomas
    gas_loops: list[tuple[Ellipse, Ellipse]] = field(default_factory=list)  # (wall, gas)
    crystals: list[Ellipse] = field(default_factory=list)  # in the gallbladder wall
    findings: list[PlacedFinding] = field(default_factory=list)
    age: int = 45
    sex: str = "female"

    # --- Body protocol ---
    def level_mm(self, plane: str, level: str | None) -> tuple[float, str]:
        return 0.0, self.view

    def sample(self, grid: Grid) -> Sample:
        x, y = grid.x, grid.y
        soft = max(grid.px, 0.3)
        layers = self._paint(x, y, soft)
        # compose top-down: each layer takes its fraction of what the layers above left
        return compose(layers, LABELS, x.shape)

    # --- the plane, bottom layer first ---
    def _paint(self, x: np.ndarray, y: np.ndarray, soft: float
               ) -> list[tuple[str, Tissue, np.ndarray]]:
        t = TISSUES
        depth = np.hypot(x, y + np.float32(self.radius_mm)) - np.float32(self.radius_mm)
        skin, fat, muscle = self.wall
        one = np.ones(x.shape, np.float32)
        if self.organ_shape is None:  # the liver fills the plane under the wall
            out: list[tuple[str, Tissue, np.ndarray]] = [(self.organ, self.organ_tissue, one)]
        else:  # the spleen is a smaller organ under the left dome, bowel round it
            out = [("bowel", t["mesenteric_fat"], one),
                   (self.organ, self.organ_tissue, self.organ_shape.frac(x, y, soft))]
        mirror = 1.0  # FAST views show cranial on the image left on both sides
        xm = x
        # beyond the organ's tip (image right, near field): bowel and its mesentery
        tip = y - (np.float32(skin + fat + muscle + 6.0) + (xm - 40.0) * 0.85)
        if self.organ_shape is None:
            out.append(("bowel", t["mesenteric_fat"], _ramp(tip, soft)))
        # posterior abdominal wall muscle deep to the kidney
        post = -(y - (self.kidney.cy + self.kidney.b + 14.0 - (xm - self.kidney.cx) * 0.45))
        out.append(("posterior_muscle", t["muscle"], _ramp(post, soft) * (xm > -30)))
        # diaphragm (a 4 mm muscle band) and the aerated lung beyond it, deep on the left
        cx, cy, rd = self.diaphragm
        dd = np.hypot(xm - np.float32(cx), y - np.float32(cy)) - np.float32(rd)
        out.append(("diaphragm", t["muscle"], _ramp(-(dd + 4.0), soft)))
        out.append(("lung", t["air"], _ramp(-dd, soft)))
        # kidney complex: perirenal fat, cortex, pyramids, sinus
        k = self._mirror(self.kidney, mirror)
        out.append(("perirenal_fat", t["sinus_fat"], k.grown(5.0).frac(x, y, soft)))
        if self.fluid_mm > 0:
            out.append(("free_fluid", t["serous_fluid"], self._fluid(x, y, soft, k)))
        out.append(("kidney_cortex", t["kidney_cortex"], k.frac(x, y, soft)))
        for p in self.pyramids:
            out.append(("kidney_medulla", t["kidney_medulla"],
                        self._mirror(p, mirror).frac(x, y, soft)))
        out.append(("renal_sinus", t["sinus_fat"], self._mirror(self.sinus, mirror).frac(
            x, y, soft)))
        if self.pelvis:  # hydronephrosis: urine in the pelvis and calyces
            f = np.maximum.reduce([e.frac(x, y, soft) for e in self.pelvis])
            out.append(("hydronephrosis", t["serous_fluid"], f))
        for organ, e in self.cysts:
            if organ == "kidney":
                out.append(("cyst", t["serous_fluid"], e.frac(x, y, soft)))
        for e in self.amls:  # fat in the cortex: as bright as the sinus
            out.append(("angiomyolipoma", t["angiomyolipoma"], e.frac(x, y, soft)))
        for e in self.renal_stones:  # calcium stones: the same reflector as a gallstone
            out.append(("stone", t["gallstone"], e.frac(x, y, soft)))
        for label, tissue, e in self.liver_lesions:  # the veins stay on top
            out.append((label, t[tissue], e.frac(x, y, soft)))
        for name, v in self.veins:
            e = self._mirror(v, mirror)
            if name == "portal_vein":  # echogenic walls (fibrous sheath)
                out.append(("portal_vein", t["fibrous"], e.grown(1.4).frac(x, y, soft)))
            out.append((name, t["blood"], e.frac(x, y, soft)))
        for organ, e in self.cysts:
            if organ == "liver":  # a thin bright wall round anechoic fluid
                out.append(("cyst", t["fibrous"], e.grown(0.8).frac(x, y, soft)))
                out.append(("cyst", t["serous_fluid"], e.frac(x, y, soft)))
        if self.cbd is not None:  # a thin echogenic wall round bile
            out.append(("bile_duct_wall", t["fibrous"], self.cbd.frac(x, y, soft, 0.8)))
            out.append(("cbd", t["bile"], self.cbd.frac(x, y, soft)))
        if self.gallbladder is not None:
            g = self.gallbladder
            n = self.gb_neck or g
            if self.pericholecystic_mm > 0:
                grow = self.gb_wall_mm + self.pericholecystic_mm
                out.append(("pericholecystic_fluid", t["serous_fluid"], np.maximum(
                    g.grown(grow).frac(x, y, soft), n.grown(grow).frac(x, y, soft))))
            out.append(("gallbladder_wall", t["fibrous"], np.maximum(
                g.grown(self.gb_wall_mm).frac(x, y, soft),
                n.grown(self.gb_wall_mm).frac(x, y, soft))))
            lumen = np.maximum(g.frac(x, y, soft), n.frac(x, y, soft))
            out.append(("gallbladder", t["bile"], lumen))
            if self.sludge_level is not None:  # layering under a level flat in gravity
                out.append(("sludge", t["sludge"],
                            lumen * _ramp(np.float32(self.sludge_level) - y, soft)))
            for e in self.polyps:
                out.append(("polyp", t["gb_polyp"], e.frac(x, y, soft)))
            for s in self.stones:
                out.append(("stone", t["gallstone"], s.frac(x, y, soft)))
            for c in self.crystals:  # calcified foci in Rokitansky-Aschoff sinuses
                out.append(("crystal", t["wall_crystal"], c.frac(x, y, soft)))
        for wall, gas in self.gas_loops:  # a loop of bowel: its wall round gas
            out.append(("bowel", t["muscle"], wall.frac(x, y, soft)))
            out.append(("bowel_gas", t["air"], gas.frac(x, y, soft)))
        # abdominal wall, following the curved probe face
        out.append(("abdominal_muscle", t["muscle"], _ramp(depth - (skin + fat + muscle), soft)))
        out.append(("subcutaneous_fat", t["fat"], _ramp(depth - (skin + fat), soft)))
        # fascia between fat and muscle, and the peritoneum under the muscle: thin bright lines
        for at in (skin + fat, skin + fat + muscle):
            out.append(("abdominal_muscle", t["fibrous"],
                        _ramp(np.abs(depth - np.float32(at + 0.5)) - 0.6, soft)))
        out.append(("skin", t["skin"], _ramp(depth - skin, soft)))
        return out

    @staticmethod
    def _mirror(e: Ellipse, m: float) -> Ellipse:
        if m > 0:
            return e
        return Ellipse(-e.cx, e.cy, e.a, e.b, -e.angle)

    def _fluid(self, x: np.ndarray, y: np.ndarray, soft: float, k: Ellipse) -> np.ndarray:
        """An anechoic crescent over the kidney's anterior surface (the hepatorenal or
        splenorenal space), thickest in the middle, tapering to the poles."""
        outer = k.grown(5.0 + self.fluid_mm)
        c, s = np.cos(k.angle), np.sin(k.angle)
        # signed position along the kidney's short axis: negative is anterior (toward the probe)
        v = -(x - np.float32(k.cx)) * np.float32(s) + (y - np.float32(k.cy)) * np.float32(c)
        u = (x - np.float32(k.cx)) * np.float32(c) + (y - np.float32(k.cy)) * np.float32(s)
        anterior = _ramp(v + np.float32(k.b * 0.15), soft * 4)
        along = np.clip(1.0 - (u / np.float32(k.a * 1.1)) ** 2, 0.0, 1.0)
        taper = _ramp((outer.q(x, y) - 1.0) * np.float32(outer.b) * 1.0
                      - np.float32(self.fluid_mm) * (np.sqrt(along) - 1.0), soft)
        fat = k.grown(5.0).frac(x, y, soft)
        return (outer.frac(x, y, soft) * (1 - fat) * anterior * (along > 0) * taper
                ).astype(np.float32)


def build_plane(rng: np.random.Generator, view: str, age: int, sex: str) -> AbdomenPlane:
    """Seeded draws within adult ranges (mm): wall, organ positions, kidney ~100-120 mm long
    with a cortex ~8-10 mm, gallbladder 60-90 x 20-35 mm with a wall < 3 mm."""
    u = rng.uniform
    skin = u(1.6, 2.4)
    fat = u(7.0, 20.0) * (1.15 if sex == "female" else 1.0)
    muscle = u(7.0, 12.0)
    a = u(50.0, 60.0)
    b = u(22.0, 27.0)
    kidney = Ellipse(u(34.0, 44.0), u(110.0, 120.0), a, b, np.radians(u(-30.0, -18.0)))
    sinus = Ellipse(kidney.cx, kidney.cy, a * 0.55, b * 0.36, kidney.angle)
    pyramids = []
    n = 7
    for i in range(n):
        t = np.pi * (i + 0.5) / n * 2 + u(-0.15, 0.15)
        px, py = kidney.point(t, 0.66)
        ang = np.arctan2(py - kidney.cy, px - kidney.cx)
        pyramids.append(Ellipse(px, py, u(7.0, 9.5), u(5.0, 6.5), ang))
    wall_bottom = skin + fat + muscle
    diaphragm = (u(85.0, 105.0), u(-20.0, 0.0), u(180.0, 192.0))
    gb = None
    veins: list[tuple[str, Ellipse]] = []
    if view != "luq":
        gb = Ellipse(u(-14.0, 4.0), wall_bottom + u(20.0, 28.0), u(30.0, 42.0), u(10.0, 16.0),
                     np.radians(u(-5.0, 3.0)))
        veins = [
            ("portal_vein", Ellipse(gb.cx - gb.a * 0.9 + u(-6, 2), gb.cy + gb.b + u(14, 22),
                                    u(6.0, 8.0), u(5.0, 6.5), u(0, 1))),
            ("hepatic_vein", Ellipse(u(-70.0, -55.0), wall_bottom + u(18.0, 30.0), u(4.0, 6.0),
                                     u(3.0, 4.5), u(0, 1))),
            ("hepatic_vein", Ellipse(u(-15.0, 5.0), wall_bottom + u(80.0, 95.0), u(3.5, 5.0),
                                     u(3.0, 4.0), u(0, 1))),
        ]
    neck = None
    if gb is not None:  # a pear: the neck tapers off the body's left end, turning deeper
        nx, ny = gb.point(np.pi, 0.82)
        neck = Ellipse(nx - u(6.0, 10.0), ny + u(3.0, 7.0), gb.a * u(0.35, 0.45),
                       gb.b * u(0.5, 0.65), gb.angle + np.radians(u(20.0, 40.0)))
    organ = "spleen" if view == "luq" else "liver"
    shape = None
    if view == "luq":  # ~11-13 cm long, reaching down to the kidney's upper pole
        shape = Ellipse(u(-40.0, -25.0), wall_bottom + u(45.0, 55.0), u(58.0, 68.0),
                        u(34.0, 42.0), np.radians(u(-30.0, -20.0)))
    return AbdomenPlane(view, 45.0, (skin, fat, muscle), organ, TISSUES[organ], diaphragm,
                        kidney, sinus, pyramids, gb, u(1.6, 2.6), veins, age=age, sex=sex,
                        organ_shape=shape, gb_neck=neck)
