"""Lesions of the retina, placed by quadrant, and the ICDR grade they make.

A lesion is an ellipse (centre, semi-axes, angle) of one kind, or a small vessel tangle
(IRMA, new vessels: `strands`). Quadrants are the fovea's (superior/inferior by the
horizontal through the fovea, nasal on the disc's side), so each is a quarter of the field.
Lesions keep clear of each other, of the vessels, the disc and the fovea, so each one is
its own connected piece of the label map and its centroid lies in the quadrant it was
placed in: the lesion table measured from the label map is the table that was built.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw

from imagine_med.engine.phantom.regions.retina.eye import FIELD_RADIUS, EyeModel

QUADRANTS = ("superotemporal", "superonasal", "inferotemporal", "inferonasal")
DR_KINDS = ("microaneurysm", "dot_blot_haemorrhage", "flame_haemorrhage", "hard_exudate",
            "cotton_wool_spot", "venous_beading", "irma", "neovascularisation",
            "preretinal_haemorrhage")
HAEMORRHAGES = ("dot_blot_haemorrhage", "flame_haemorrhage")
GRADE_NAMES = {0: "no apparent retinopathy", 1: "mild non-proliferative",
               2: "moderate non-proliferative", 3: "severe non-proliferative",
               4: "proliferative"}
GAP = 0.13  # mm between lesion edges: two pixels at 256 px across the field
_OCC_PX = 0.03  # mm per pixel of the placement occupancy grid
_OCC_N = 470


@dataclass
class Lesion:
    kind: str
    u: float
    v: float
    a: float  # semi-major (mm)
    b: float  # semi-minor
    angle: float = 0.0  # radians, image frame (u right, v down)
    quadrant: str | None = None
    strands: list = field(default_factory=list)  # polylines (mm) for irma / new vessels
    branch: int | None = None  # the vein a bead sits on
    span: tuple[int, int] | None = None  # its point range


def quadrant_of(eye: EyeModel, u: float, v: float) -> str:
    fu, fv = eye.fovea
    return ("supero" if v < fv else "infero") + ("nasal" if u > fu else "temporal")


def icdr_grade(table: dict[str, dict[str, int]]) -> tuple[int, list[str]]:
    """The International Clinical DR grade of a lesion table {kind: {quadrant: count}}, and
    the reasons: 4 new vessels or pre-retinal haemorrhage; 3 the 4-2-1 rule (> 20
    intraretinal haemorrhages in each of 4 quadrants, venous beading in >= 2 quadrants, IRMA
    in >= 1); 2 more than microaneurysms only; 1 microaneurysms only; 0 none."""
    def total(kind: str) -> int:
        return sum(table.get(kind, {}).values())

    def quads(kind: str) -> int:
        return sum(1 for c in table.get(kind, {}).values() if c > 0)

    why = []
    if total("neovascularisation"):
        why.append("new vessels")
    if total("preretinal_haemorrhage"):
        why.append("pre-retinal haemorrhage")
    if why:
        return 4, why
    heme = [sum(table.get(k, {}).get(q, 0) for k in HAEMORRHAGES) for q in QUADRANTS]
    if all(h > 20 for h in heme):
        why.append("more than 20 intraretinal haemorrhages in each of 4 quadrants")
    if quads("venous_beading") >= 2:
        why.append(f"venous beading in {quads('venous_beading')} quadrants")
    if quads("irma") >= 1:
        why.append(f"IRMA in {quads('irma')} quadrant" + ("s" if quads("irma") > 1 else ""))
    if why:
        return 3, why
    more = [k for k in ("dot_blot_haemorrhage", "flame_haemorrhage", "hard_exudate",
                        "cotton_wool_spot", "venous_beading") if total(k)]
    if more:
        return 2, [k.replace("_", " ") for k in more]
    if total("microaneurysm"):
        return 1, ["microaneurysms only"]
    return 0, []


def _cv2():
    import cv2  # imported on first use; a core dependency (pyproject)

    return cv2


class Placer:
    """Rejection sampling on an occupancy grid (0.03 mm) of the vessels, disc and fovea."""

    def __init__(self, eye: EyeModel, rng: np.random.Generator) -> None:
        self.eye, self.rng = eye, rng
        img = Image.new("L", (_OCC_N, _OCC_N), 0)
        d = ImageDraw.Draw(img)
        for b in eye.vessels:  # a run of segments of one width is one polyline (Pillow
            # draws a polyline segment by segment: the same pixels as one call each)
            p = self._px(b.pts)
            ws = [max(1, round(2 * float(r) / _OCC_PX)) for r in b.radius[:len(p) - 1]]
            i = 0
            while i < len(ws):
                j = i + 1
                while j < len(ws) and ws[j] == ws[i]:
                    j += 1
                d.line(p[i:j + 1].ravel().tolist(), fill=255, width=ws[i])
                i = j
        disc = eye.disc
        c = self._px(np.array([[disc.cu, disc.cv]]))[0]
        rx, ry = disc.width / 2 / _OCC_PX, disc.height / 2 / _OCC_PX
        d.ellipse([c[0] - rx, c[1] - ry, c[0] + rx, c[1] + ry], fill=255)
        # distance to the nearest vessel or disc pixel: OpenCV's exact Euclidean transform
        # (float32), turned back into scipy's float64 value where it is read (`clearance`)
        cv2 = _cv2()
        self._dist = cv2.distanceTransform((np.asarray(img) == 0).astype(np.uint8),
                                           cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
        self.placed: list[Lesion] = []
        self._xy = np.zeros((0, 3), np.float64)
        self.foveal_clearance = 0.45  # mm from the foveal centre (less for macular oedema)

    def clearance(self, i: int, j: int) -> float:
        """mm from grid cell (i, j) to the nearest vessel or disc pixel: the square distance
        is a whole number of cells (float32 holds it to well under half a cell here), so
        its root in float64 is ndimage.distance_transform_edt's value exactly."""
        d = float(self._dist[i, j])
        return math.sqrt(round(d * d)) * _OCC_PX

    @staticmethod
    def _px(pts: np.ndarray) -> np.ndarray:
        return (np.asarray(pts, np.float64) / _OCC_PX + _OCC_N / 2)

    def ok(self, u: float, v: float, r: float, vessel_gap: float = 0.08,
           quadrant: str | None = None) -> bool:
        fu, fv = self.eye.fovea
        if math.hypot(u, v) > FIELD_RADIUS - r - 0.3:
            return False
        if math.hypot(u - fu, v - fv) < self.foveal_clearance + r:
            return False
        if quadrant is not None and (abs(u - fu) < r + 0.12 or abs(v - fv) < r + 0.12
                                     or quadrant_of(self.eye, u, v) != quadrant):
            return False
        i, j = int(v / _OCC_PX + _OCC_N / 2), int(u / _OCC_PX + _OCC_N / 2)
        if not (0 <= i < _OCC_N and 0 <= j < _OCC_N) or self.clearance(i, j) < r + vessel_gap:
            return False
        if len(self._xy):
            dist = np.hypot(self._xy[:, 0] - u, self._xy[:, 1] - v) - self._xy[:, 2]
            if dist.min() < r + GAP:
                return False
        return True

    def take(self, lesion: Lesion, r: float) -> Lesion:
        lesion.quadrant = quadrant_of(self.eye, lesion.u, lesion.v)
        self.placed.append(lesion)
        self._xy = np.vstack([self._xy, [lesion.u, lesion.v, r]])
        return lesion

    def point(self, quadrant: str | None, near: tuple[float, float] | None = None,
              spread: float = 0.0, rho: tuple[float, float] = (0.9, 5.8)) -> tuple[float, float]:
        fu, fv = self.eye.fovea
        rng = self.rng
        if near is not None:
            return near[0] + float(rng.normal(0, spread)), near[1] + float(rng.normal(0, spread))
        ang = float(rng.uniform(0, 2 * math.pi))
        if quadrant is not None:
            base = {"superonasal": 0.0, "superotemporal": 0.5 * math.pi,
                    "inferotemporal": math.pi, "inferonasal": 1.5 * math.pi}[quadrant]
            ang = base + float(rng.uniform(0.04, 0.5 * math.pi - 0.04))
        r = float(np.sqrt(rng.uniform(rho[0] ** 2, rho[1] ** 2)))
        return fu + r * math.cos(ang), fv - r * math.sin(ang)

    def place(self, kind: str, quadrant: str | None, size: tuple[float, float],
              aspect: tuple[float, float] = (1.0, 1.0), tries: int = 200,
              near: tuple[float, float] | None = None, spread: float = 0.0,
              rho: tuple[float, float] = (0.9, 5.8), vessel_gap: float = 0.08
              ) -> Lesion | None:
        rng = self.rng
        a = float(rng.uniform(*size))
        b = a * float(rng.uniform(*aspect))
        for _ in range(tries):
            u, v = self.point(quadrant, near, spread, rho)
            if self.ok(u, v, a, vessel_gap, quadrant):
                d = self.eye.disc
                ang = math.atan2(v - d.cv, u - d.cu) if kind == "flame_haemorrhage" \
                    else float(rng.uniform(0, math.pi))
                return self.take(Lesion(kind, u, v, a, b, ang), a)
        return None


SIZES = {  # semi-axes (mm) and aspect (b/a)
    "microaneurysm": ((0.026, 0.055), (1.0, 1.0)),  # < 125 um across
    "dot_blot_haemorrhage": ((0.07, 0.2), (0.7, 1.0)),
    "flame_haemorrhage": ((0.16, 0.32), (0.28, 0.4)),
    "hard_exudate": ((0.03, 0.09), (0.7, 1.0)),
    "cotton_wool_spot": ((0.15, 0.3), (0.55, 0.8)),
}


def _many(p: Placer, kind: str, per_quadrant: dict[str, int], **kw) -> None:
    size, aspect = SIZES[kind]
    for q, n in per_quadrant.items():
        for _ in range(n):
            p.place(kind, q, size, aspect, **kw)


def _spread(rng: np.random.Generator, total: int) -> dict[str, int]:
    """`total` lesions over the quadrants, unevenly (temporal quadrants favoured)."""
    w = rng.dirichlet([1.6, 1.0, 1.6, 1.0])
    counts = rng.multinomial(total, w)
    return dict(zip(QUADRANTS, (int(c) for c in counts), strict=True))


def _exudate_clusters(p: Placer, n_clusters: int) -> None:
    """Hard exudates in clusters (part-rings round a leaking focus), temporal and macular."""
    rng = p.rng
    for _ in range(n_clusters):
        q = QUADRANTS[int(rng.choice([0, 2, 0, 2, 1, 3]))]
        centre = p.point(q, rho=(1.3, 4.0))
        ring = float(rng.uniform(0.3, 0.7))
        for _k in range(int(rng.integers(5, 14))):
            t = float(rng.uniform(0, 2 * math.pi))
            near = (centre[0] + ring * math.cos(t), centre[1] + ring * math.sin(t))
            p.place("hard_exudate", q, *SIZES["hard_exudate"], tries=12, near=near,
                    spread=0.08)


def _beading(p: Placer, quadrants: list[str]) -> None:
    """Venous beading on a stretch of the largest vein of each quadrant named."""
    rng, eye = p.rng, p.eye
    veins = [b for b in eye.vessels if b.kind == "vein" and b.gen >= 1 and len(b.pts) > 30]
    for q in quadrants:
        best = None
        for b in veins:
            idx = [i for i in range(8, len(b.pts) - 14)
                   if quadrant_of(eye, *b.pts[i]) == q
                   and quadrant_of(eye, *b.pts[i + 13]) == q
                   and abs(b.pts[i][0] - eye.fovea[0]) > 0.35
                   and abs(b.pts[i][1] - eye.fovea[1]) > 0.35
                   and abs(b.pts[i + 13][0] - eye.fovea[0]) > 0.35
                   and abs(b.pts[i + 13][1] - eye.fovea[1]) > 0.35
                   and math.hypot(*(b.pts[i] - np.array([eye.disc.cu, eye.disc.cv]))) > 1.4]
            if idx and (best is None or b.radius[idx[0]] > best[0].radius[best[1]]):
                best = (b, idx[int(rng.integers(len(idx)))])
        if best is None:
            continue
        b, i = best
        les = Lesion("venous_beading", float(b.pts[i + 6][0]), float(b.pts[i + 6][1]),
                     0.55, 0.2, branch=b.id, span=(i, i + 13))
        p.take(les, 0.6)


def _tangle(p: Placer, kind: str, q: str | None, radius: float,
            near: tuple[float, float] | None = None, spread: float = 0.3,
            rho: tuple[float, float] = (1.2, 5.0)) -> Lesion | None:
    """IRMA / new vessels: a knot of fine looping strands inside `radius`."""
    rng = p.rng
    for _ in range(120):
        u, v = p.point(q, near, spread, rho)
        # new vessels grow on the vessels (and the disc); IRMA lies between them
        if not p.ok(u, v, radius, 0.1 if kind == "irma" else -10.0, q):
            continue
        strands = []
        for _k in range(int(rng.integers(4, 8) if kind == "irma" else rng.integers(7, 12))):
            t0 = float(rng.uniform(0, 2 * math.pi))
            pts = []
            for s in np.linspace(0, 1, 14):
                rr = radius * (0.25 + 0.75 * math.sin(math.pi * s)) * float(rng.uniform(0.7, 1))
                t = t0 + 2.4 * s + float(rng.normal(0, 0.25))
                pts.append((u + rr * math.cos(t) * 0.9, v + rr * math.sin(t) * 0.9))
            strands.append(pts)
        return p.take(Lesion(kind, u, v, radius, radius, 0.0, strands=strands), radius)
    return None


def place_dr(eye: EyeModel, rng: np.random.Generator, grade: int) -> list[Lesion]:
    """Lesions for an ICDR grade (0-4). Each grade is built to meet its own definition and
    no higher one: grade 2 keeps <= 14 haemorrhages per quadrant, beading in <= 1 quadrant
    and no IRMA; grade 3 meets at least one arm of the 4-2-1 rule; grade 4 adds new
    vessels (disc or elsewhere) and/or a pre-retinal haemorrhage."""
    p = Placer(eye, rng)
    if grade <= 0:
        return []
    _many(p, "microaneurysm", _spread(rng, int(rng.integers(2, 9) if grade == 1
                                               else rng.integers(8, 25))))
    if grade == 1:
        return p.placed
    if grade == 2:
        heme = {q: int(rng.integers(0, 8)) for q in QUADRANTS}
        heme[QUADRANTS[int(rng.integers(4))]] += 1 + int(rng.integers(0, 5))
        _many(p, "dot_blot_haemorrhage", heme)
        _many(p, "flame_haemorrhage", _spread(rng, int(rng.integers(0, 4))))
        _exudate_clusters(p, int(rng.integers(0, 3)))
        _many(p, "cotton_wool_spot", _spread(rng, int(rng.integers(0, 3))), rho=(1.2, 4.5))
        if rng.uniform() < 0.3:
            _beading(p, [QUADRANTS[int(rng.integers(4))]])
        return p.placed
    arms = [a for a in ("haem", "beading", "irma") if rng.uniform() < 0.5] or \
        [("haem", "beading", "irma")[int(rng.integers(3))]]
    if "haem" in arms:
        heme = {q: int(rng.integers(22, 27)) for q in QUADRANTS}
        flame = {q: int(rng.integers(0, 3)) for q in QUADRANTS}
    else:
        heme = {q: int(rng.integers(4, 14)) for q in QUADRANTS}
        flame = {q: int(rng.integers(0, 2)) for q in QUADRANTS}
    if "beading" in arms:
        _beading(p, list(rng.permutation(QUADRANTS)[: int(rng.integers(2, 4))]))
    if "irma" in arms:
        for q in rng.permutation(QUADRANTS)[: int(rng.integers(1, 3))]:
            _tangle(p, "irma", str(q), float(rng.uniform(0.22, 0.32)))
    if grade == 4:
        nv = 0
        if rng.uniform() < 0.5:  # new vessels at the disc: a net at its rim
            d = eye.disc
            t = float(rng.uniform(0, 2 * math.pi))
            near = (d.cu + 0.9 * d.width * math.cos(t) / 2, d.cv + 0.9 * d.height * math.sin(t) / 2)
            nv += _tangle(p, "neovascularisation", None, 0.7, near=near, spread=0.05,
                          rho=(0, 9)) is not None
        for _ in range(int(rng.integers(0, 2)) if nv else int(rng.integers(1, 3))):
            q = QUADRANTS[int(rng.integers(4))]
            nv += _tangle(p, "neovascularisation", q, float(rng.uniform(0.55, 0.8)),
                          rho=(2.5, 5.2)) is not None
        if not nv or rng.uniform() < 0.4:
            size = ((0.55, 0.9), (0.55, 0.75))
            q = ("inferotemporal", "superotemporal")[int(rng.integers(2))]
            p.place("preretinal_haemorrhage", q, *size, rho=(1.6, 4.2), vessel_gap=-0.6)
    _many(p, "dot_blot_haemorrhage", heme)
    _many(p, "flame_haemorrhage", flame)
    _exudate_clusters(p, int(rng.integers(1, 4)))
    _many(p, "cotton_wool_spot", _spread(rng, int(rng.integers(2, 7))), rho=(1.2, 4.5))
    return p.placed


def place_drusen(eye: EyeModel, rng: np.random.Generator, severity: str | None) -> list[Lesion]:
    """AMD drusen: yellow deposits round the fovea (small < 63 um, intermediate 63-125,
    large > 125); severe adds confluent large soft drusen."""
    p = Placer(eye, rng)
    n = {"mild": 12, "moderate": 30, "severe": 45}.get(severity or "moderate", 30)
    big = {"mild": (0.025, 0.06), "moderate": (0.04, 0.11), "severe": (0.07, 0.16)}
    size = big.get(severity or "moderate", big["moderate"])
    for _ in range(n):
        p.place("drusen", None, size, (0.8, 1.0), rho=(0.5, 2.2), tries=40, vessel_gap=0.0)
    return p.placed


def place_peripapillary(eye: EyeModel, rng: np.random.Generator, n: int) -> list[Lesion]:
    """Flame (splinter) haemorrhages just off the disc margin, along the nerve fibres."""
    p = Placer(eye, rng)
    d = eye.disc
    for _ in range(n):
        t = float(rng.uniform(0, 2 * math.pi))
        near = (d.cu + (d.width / 2 + 0.35) * math.cos(t),
                d.cv + (d.height / 2 + 0.35) * math.sin(t))
        p.place("flame_haemorrhage", None, (0.12, 0.22), (0.3, 0.4), tries=30, near=near,
                spread=0.08, vessel_gap=0.03)
    return p.placed


def place_vein_occlusion(eye: EyeModel, rng: np.random.Generator, quadrant: str | None,
                         severity: str | None) -> list[Lesion]:
    """Retinal vein occlusion: central (quadrant None) fills all four quadrants with flame
    and blot haemorrhages ("blood and thunder") and cotton-wool spots; a branch occlusion
    fills the one quadrant its vein drains. The veins are dilated and tortuous
    (`dilate_veins`)."""
    p = Placer(eye, rng)
    scale = {"mild": 0.5, "severe": 1.4}.get(severity or "", 1.0)
    quads = QUADRANTS if quadrant is None else (quadrant,)
    for q in quads:
        n = int(scale * (rng.integers(26, 36) if quadrant is None else rng.integers(32, 44)))
        for _ in range(n):
            kind = "flame_haemorrhage" if rng.uniform() < 0.6 else "dot_blot_haemorrhage"
            p.place(kind, q, *SIZES[kind], rho=(0.8, 6.0), tries=60, vessel_gap=0.03)
        for _ in range(int(rng.integers(1, 3))):
            p.place("cotton_wool_spot", q, *SIZES["cotton_wool_spot"], rho=(1.0, 4.0))
    return p.placed


def dilate_veins(eye: EyeModel, rng: np.random.Generator, quadrant: str | None,
                 factor: float) -> None:
    """Veins (of one quadrant, or all) wider by `factor` and more tortuous: a sideways wave
    of 0.05-0.1 mm along each, off the disc."""
    d = eye.disc
    for b in eye.vessels:
        if b.kind != "vein" or b.gen == 0:
            continue
        mid = b.pts[len(b.pts) // 2]
        if quadrant is not None and quadrant_of(eye, float(mid[0]), float(mid[1])) != quadrant:
            continue
        b.radius = b.radius * np.float32(factor)
        seg = np.diff(b.pts, axis=0, prepend=b.pts[:1])
        normal = np.stack([-seg[:, 1], seg[:, 0]], axis=1)
        normal /= np.linalg.norm(normal, axis=1, keepdims=True) + 1e-9
        s = np.arange(len(b.pts)) * 0.08
        off_disc = np.clip((np.hypot(b.pts[:, 0] - d.cu, b.pts[:, 1] - d.cv) - d.width) / 0.5,
                           0, 1)
        amp = float(rng.uniform(0.05, 0.1)) * off_disc
        wave = amp * np.sin(s / float(rng.uniform(0.35, 0.55)) + float(rng.uniform(0, 6.3)))
        b.pts = (b.pts + normal * wave[:, None]).astype(np.float32)


def place_hypertensive(eye: EyeModel, rng: np.random.Generator, severity: str | None
                       ) -> list[Lesion]:
    """Hypertensive retinopathy beyond the vessel signs (narrowed arteries, AV nicking,
    drawn by the optics): moderate adds flame haemorrhages, cotton-wool spots and exudates;
    severe more of them (with disc swelling, set by the region)."""
    if severity == "mild":
        return []
    p = Placer(eye, rng)
    k = 2 if severity == "severe" else 1
    _many(p, "flame_haemorrhage", _spread(rng, int(rng.integers(3, 8)) * k), vessel_gap=0.03)
    _many(p, "cotton_wool_spot", _spread(rng, int(rng.integers(2, 5)) * k), rho=(1.0, 4.0))
    _exudate_clusters(p, k)
    return p.placed


def disc_haemorrhage(d) -> Lesion:
    """A Drance (splinter) haemorrhage across the inferotemporal disc margin."""
    ang = math.atan2(0.8, -0.6)
    ru, rv = d.width / 2, d.height / 2
    t = 1.0 / math.hypot(math.cos(ang) / ru, math.sin(ang) / rv)
    return Lesion("disc_haemorrhage", d.cu + (t + 0.1) * math.cos(ang),
                  d.cv + (t + 0.1) * math.sin(ang), 0.2, 0.05, ang)


def place_macular_oedema(eye: EyeModel, rng: np.random.Generator, placed: list[Lesion]
                         ) -> list[Lesion]:
    """Diabetic macular oedema as a photograph shows it: a circinate ring of hard exudates
    round a leaking focus beside the fovea, part of it within 500 um of the foveal centre."""
    p = Placer(eye, rng)
    for les in placed:  # keep clear of the lesions already there
        p._xy = np.vstack([p._xy, [les.u, les.v, les.a]])
    p.foveal_clearance = 0.3
    fu, fv = eye.fovea
    t0 = float(rng.uniform(0, 2 * math.pi))
    centre = (fu + 0.55 * math.cos(t0), fv + 0.55 * math.sin(t0))
    for k in range(16):
        t = t0 + math.pi + (k - 7.5) * 0.3
        near = (centre[0] + 0.45 * math.cos(t), centre[1] + 0.45 * math.sin(t))
        p.place("hard_exudate", None, (0.03, 0.06), (0.7, 1.0), tries=10, near=near,
                spread=0.03, vessel_gap=0.02)
    return p.placed
