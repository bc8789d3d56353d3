"""The knee: distal femur (condyles round an intercondylar notch), proximal tibia (plateaus,
tibial spines, tuberosity), fibular head and patella, growth plates by age, the suprapatellar
bursa; AP, lateral (30 deg flexed) and horizontal-beam (cross-table) lateral views; tibial
plateau fractures by Schatzker type, the transverse patellar fracture, the Segond avulsion,
lipohaemarthrosis and osteoarthritis by Kellgren-Lawrence grade.

Limb frame (mm): x lateral (the fibula's side), y anterior, z distal; origin the centre of
the tibial plateau's surface. The femur's frame is the limb's; the tibia and fibula run in
a frame turned 180 deg about y (local z up the leg toward the knee, local x medial), so the
plateau is the bone's "distal" end for the fracture machinery (fracture.py). Adult numbers
(one table): femoral condyles ~80 mm across the epicondyles, notch ~16 mm wide; tibial
plateau ~78 mm across; joint space ~5-6 mm per compartment on a standing AP; patella ~45 x
50 mm, ~22 mm thick; fibular head ~1 cm below the lateral plateau, posterolateral
(Gray's Anatomy; standard radiographic norms). Physes: distal femur and proximal tibia close
~16 (F) / ~18 (M) years; the patella ossifies from ~4 years.

Kellgren-Lawrence (Kellgren & Lawrence 1957), recomputed from measured features
(`kl_from`, osteophyte size = its width on the AP): 1 doubtful narrowing and osteophytic
lipping (< 2.5 mm), 2 definite osteophytes, 3 definite narrowing (< 3 mm) with osteophytes
and sclerosis, 4 marked narrowing (< 1.5 mm) with large osteophytes (>= 5 mm). Schatzker
(1979): I lateral split, II split-depression, III pure central depression, IV medial
plateau, V bicondylar, VI with metaphyseal-diaphyseal dissociation; AO/OTA 41B/41C.
Patella AO/OTA 34C1 (transverse). Segond: avulsion of the lateral tibial rim by the
anterolateral ligament/capsule (a marker of an ACL tear).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from imagine_med.engine.base import EngineError
from imagine_med.engine.phantom.regions.limb import views
from imagine_med.engine.phantom.regions.limb.anatomy import Bone, Physis, Wrist, size_scale
from imagine_med.engine.phantom.regions.limb.fracture import Fracture, healing_state
from imagine_med.engine.phantom.regions.limb.fracture import segmental as fracture_segmental
from imagine_med.engine.phantom.regions.limb.shapes import LongBone, Ovoid, rotation

PHYSIS_CLOSES = {"female": 16.0, "male": 18.0}
PATELLA_APPEARS = 4.0  # years
FLEXION_LATERAL_DEG = 30.0  # a lateral knee film is taken ~30 deg flexed
FLEXION_SKYLINE_DEG = 45.0  # Merchant: knee flexed 45 deg, beam 30 deg below horizontal,
SKYLINE_TILT_DEG = 30.0  # here 30 deg off the femoral axis, tangent to the patella
UP_THE_LEG = rotation(0.0, 180.0, 0.0)  # the tibia's and fibula's frame: local z proximal
CONDYLES = {"medial": -23.0, "lateral": 23.0}  # condyle centres across (limb x, mm)
CONDYLE_SEMI = (16.0, 30.0, 24.0)
ENVELOPE = {"z": (-400.0, -120.0, -40.0, 0.0, 40.0, 120.0, 400.0),
            "A": (66.0, 60.0, 56.0, 54.0, 50.0, 44.0, 40.0),
            "B": (62.0, 58.0, 56.0, 54.0, 50.0, 46.0, 42.0),
            "x0": (0.0,) * 7, "fat": (10.0, 9.0, 8.0, 7.0, 7.0, 6.5, 6.5)}
# flexed: the thigh ends at the knee; the leg is a cylinder along the flexed tibia
ENVELOPE_FLEXED = {"z": (-400.0, -120.0, -40.0, 12.0, 30.0, 400.0),
                   "A": (66.0, 60.0, 56.0, 52.0, 0.01, 0.01),
                   "B": (62.0, 58.0, 56.0, 50.0, 0.01, 0.01),
                   "x0": (0.0,) * 6, "fat": (10.0, 9.0, 8.0, 7.0, 0.005, 0.005)}
BURSA = ((0.0, 33.0, -76.0), (40.0, 15.0, 32.0))  # suprapatellar bursa: centre, semi-axes
# Kellgren-Lawrence grade -> built joint space medial, lateral (mm), osteophyte size range
# (mm), osteophyte sites, sclerosis thickness (mm); calibrated so the measured features
# recompute the grade (`kl_from`); the visible gap at the middle of each condyle is ~1.3 mm
# less than the built one (the plateau is concave, its rim higher)
KL_BUILD: dict[int, tuple[float, float, tuple[float, float], int, float]] = {
    0: (7.2, 7.6, (0.0, 0.0), 0, 0.0),
    1: (6.9, 7.5, (0.9, 1.2), 2, 0.0),
    2: (6.6, 7.4, (3.4, 4.0), 2, 0.0),
    3: (3.9, 7.2, (3.4, 4.0), 4, 2.5),
    4: (2.2, 6.8, (6.0, 7.0), 4, 4.5),
}
SCHATZKER_AO = {
    1: ("41B1", "split fracture of the lateral tibial plateau (Schatzker I)"),
    2: ("41B3", "split-depression fracture of the lateral tibial plateau (Schatzker II)"),
    3: ("41B2", "pure depression fracture of the lateral tibial plateau (Schatzker III)"),
    4: ("41B1", "fracture of the medial tibial plateau (Schatzker IV)"),
    5: ("41C1", "bicondylar tibial plateau fracture (Schatzker V)"),
    6: ("41C3", "tibial plateau fracture with metaphyseal-diaphyseal dissociation "
           "(Schatzker VI)"),
}
KNEE_AO = {
    "patella_transverse": ("34C1", "transverse fracture of the patella"),
    "segond": ("41A1", "Segond fracture: avulsion of the lateral tibial rim (anterolateral "
               "capsule), a marker of an anterior cruciate ligament tear"),
    "segmental": ("42C2", "segmental fracture of the tibial shaft"),
}
KNEE_VIEWS = ("ap", "lateral", "cross_table", "skyline")


def knee_axes(view: str, side: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """AP: beam anterior -> posterior, distal down, a left knee's lateral side (its fibula)
    on the image right. Laterals (30 deg flexed, or extended on the horizontal beam): beam
    lateral -> medial, anterior on the image right, distal down (the horizontal-beam film
    is turned afterwards so the patient's anterior, up in the room, is up)."""
    down = np.array([0.0, 0.0, 1.0])
    if view == "skyline":  # along the femur toward the feet, tangent to the patella
        t = np.radians(SKYLINE_TILT_DEG)
        w = np.array([0.0, -np.sin(t), np.cos(t)])
        v = np.array([0.0, -np.cos(t), -np.sin(t)])  # posterior down: the patella on top
        return (1.0 if side == "left" else -1.0) * np.array([1.0, 0.0, 0.0]), v, w
    if view in ("lateral", "cross_table"):
        return np.array([0.0, 1.0, 0.0]), down, np.array([-1.0, 0.0, 0.0])
    mirror = 1.0 if side == "left" else -1.0
    return mirror * np.array([1.0, 0.0, 0.0]), down, np.array([0.0, -1.0, 0.0])


views.REGION_AXES["knee"] = knee_axes


@dataclass
class ClippedOvoid:
    """An ellipsoid cut by a plane: the part where n . p > t (`above`) or below it; one
    layer of a layered effusion (fat floats on blood)."""

    a: float
    b: float
    c: float
    n: tuple[float, float, float]
    t: float
    above: bool
    cortex_mm: float = 0.0

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        r = np.array([self.a, self.b, self.c]) + 0.5
        return -r, r

    def depth(self, x, y, z):
        q = np.sqrt((x / self.a) ** 2 + (y / self.b) ** 2 + (z / self.c) ** 2)
        d = (1 - q) * min(self.a, self.b, self.c)
        plane = x * self.n[0] + y * self.n[1] + z * self.n[2] - self.t
        d = np.minimum(d, plane if self.above else -plane)
        return d, np.zeros_like(d)

    def is_cancellous(self, z):
        return np.ones(np.shape(z), bool)


@dataclass
class Union:
    """Solids joined into one bone (the femoral shaft and its two condyles): depth is the
    largest member's, so one outer cortex wraps them and no end plate shows inside."""

    members: list[tuple[LongBone | Ovoid, np.ndarray]]  # shape, its centre in the bone
    main: LongBone

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        los, his = zip(*[(sh.bounds()[0] + c, sh.bounds()[1] + c) for sh, c in self.members],
                       strict=True)
        return np.min(los, axis=0), np.max(his, axis=0)

    def depth(self, x, y, z):
        best_d, best_t = None, None
        for sh, c in self.members:
            d, t = sh.depth(x - np.float32(c[0]), y - np.float32(c[1]), z - np.float32(c[2]))
            if best_d is None:
                best_d, best_t = d, np.broadcast_to(t, np.shape(d))
            else:
                d, t = np.broadcast_arrays(d, t)
                best_d, best_d0 = np.broadcast_arrays(best_d, d)[0], best_d
                more = d > best_d
                best_t = np.where(more, t, np.broadcast_to(best_t, d.shape))
                best_d = np.where(more, d, best_d0)
        return best_d, best_t

    def is_cancellous(self, z):
        return self.main.is_cancellous(z)

    @property
    def a(self) -> tuple[float, ...]:
        return self.main.a


@dataclass
class KneeWant:
    pattern: str | None  # schatzker_N, patella_transverse, segond, segmental, None
    kl: int | None
    lipohaemarthrosis: bool
    depression_mm: float | None
    healing_series: bool


def _femur(s: float, age: float, sex: str, j: np.ndarray, jsw: dict[str, float]) -> Bone:
    zk = tuple(z * s for z in (-400.0, -110.0, -60.0, -36.0, -20.0))
    shape = LongBone(
        z_knots=zk, a=tuple(v * s * j[0] for v in (14.0, 15.0, 24.0, 37.0, 38.0)),
        b=tuple(v * s * j[0] for v in (14.0, 14.0, 18.0, 25.0, 26.0)), cx=(0.0,) * 5,
        cortex=tuple(v * max(s, 0.6) for v in (5.0, 4.5, 2.0, 1.0, 0.9)),
        z_lo=-400.0 * s, z_hi=-20.0 * s, dome_hi_mm=14.0 * s, cancellous_from=-70.0 * s)
    physis = Physis(z0=-30.0 * s, slope=0.0, thick_mm=max(2.2, 3.0 * s), meta_mm=20.0 * s) \
        if age < PHYSIS_CLOSES[sex] else None
    a, b, c = (v * s for v in CONDYLE_SEMI)
    members: list[tuple[LongBone | Ovoid, np.ndarray]] = [(shape, np.zeros(3))]
    for name, x in CONDYLES.items():
        centre = np.array([x * s * j[0], -4.0 * s, -(jsw[name] + c)])
        members.append((Ovoid(a, b, c, 1.0), centre))
    return Bone("femur", Union(members, shape), np.zeros(3), np.eye(3), 30, physis,
                tex_offset=71)


def _tibia(s: float, age: float, sex: str, j: np.ndarray) -> Bone:
    zk = tuple(z * s for z in (-400.0, -120.0, -70.0, -35.0, -12.0, 0.0))
    shape = LongBone(
        z_knots=zk, a=tuple(v * s * j[1] for v in (13.0, 14.0, 20.0, 32.0, 38.0, 39.0)),
        b=tuple(v * s * j[1] for v in (12.0, 13.0, 18.0, 24.0, 26.0, 26.0)), cx=(0.0,) * 6,
        cortex=tuple(v * max(s, 0.6) for v in (4.5, 4.0, 1.8, 1.0, 0.8, 0.45)),
        z_lo=-400.0 * s, z_hi=0.0, dome_hi_mm=-2.5 * s, cancellous_from=-75.0 * s)
    physis = Physis(z0=-18.0 * s, slope=0.0, thick_mm=max(2.2, 3.0 * s), meta_mm=20.0 * s) \
        if age < PHYSIS_CLOSES[sex] else None
    tibia = Bone("tibia", shape, np.zeros(3), UP_THE_LEG, 31, physis, tex_offset=81)
    spine = Ovoid(3.5 * s, 8.0 * s, 5.0 * s, 0.8)
    for k, x in enumerate((-4.5, 4.5)):  # the medial and lateral tibial spines
        tibia.parts.append(Bone("tibia", spine, np.array([x * s, 0.0, -1.0 * s]), np.eye(3), 31,
                                tex_offset=83 + k))
    tibia.parts.append(Bone("tibia", Ovoid(12.0 * s, 7.0 * s, 18.0 * s, 1.2),
                            np.array([2.0 * s, 22.0 * s, 32.0 * s]), rotation(-8, 0, 0), 31,
                            tex_offset=87))  # the tuberosity
    return tibia


def _fibula(s: float, age: float, sex: str, j: np.ndarray) -> Bone:
    zk = tuple(z * s for z in (-400.0, -70.0, -32.0, -12.0, 0.0))
    shape = LongBone(
        z_knots=zk, a=tuple(v * s * j[2] for v in (7.0, 7.0, 7.5, 12.0, 10.5)),
        b=tuple(v * s * j[2] for v in (7.0, 7.0, 7.5, 11.0, 9.5)), cx=(0.0,) * 5,
        cortex=tuple(v * max(s, 0.6) for v in (2.4, 2.2, 1.2, 0.8, 0.8)),
        z_lo=-400.0 * s, z_hi=0.0, dome_hi_mm=3.0 * s, cancellous_from=-36.0 * s)
    physis = Physis(z0=-9.0 * s, slope=0.0, thick_mm=max(1.8, 2.4 * s), meta_mm=12.0 * s) \
        if age < PHYSIS_CLOSES[sex] + 0.5 else None
    return Bone("fibula", shape, np.array([33.0 * s, -18.0 * s, 9.0 * s]), UP_THE_LEG, 32,
                physis, tex_offset=89)


def _patella(s: float, flexed: bool) -> Bone:
    centre = np.array([2.0, 37.0, -24.0 if flexed else -37.0]) * s
    return Bone("patella", Ovoid(22.0 * s, 10.5 * s, 25.0 * s, 1.2), centre,
                rotation(-12.0 if flexed else -4.0, 0, 0), 29, tex_offset=91)


def _osteophytes(s: float, rng: np.random.Generator, grade: int, tibia_half: float
                 ) -> list[Bone]:
    """Marginal osteophytes (spurs) at the tibial and femoral articular margins, medial
    first: each an ovoid standing `size` mm out of the margin (labelled `osteophyte`)."""
    _jm, _jl, (lo, hi), count, _sc = KL_BUILD[grade]
    out = []
    a, _b, c = (v * s for v in CONDYLE_SEMI)
    sites = [("medial", "tibia"), ("medial", "femur"), ("lateral", "tibia"), ("lateral", "femur")]
    for side, bone in sites[:count]:
        size = _u(rng, lo, hi)
        sign = -1.0 if side == "medial" else 1.0
        tall = 0.6 * size + 2.0  # a beak along the articular margin, not a bead
        if bone == "tibia":
            margin, z = tibia_half, 0.5 * tall
            semi = (max(size / 2 - 0.3, 0.35), 9.0 * s, tall)
        else:
            cz = -(c + 5.0)
            z = cz + 0.55 * c
            margin = abs(CONDYLES[side]) * s + a * float(np.sqrt(1 - 0.55 ** 2))
            semi = (max(size / 2 - 0.3, 0.35), 10.0 * s, tall)
        centre = np.array([sign * (margin + size / 2 - 1.0), 0.0, z])
        out.append(Bone("osteophyte", Ovoid(*semi, 0.6), centre, np.eye(3), 34,
                        tissue="cortical_bone"))  # a dense ridge along the margin
    return out


def _sclerosis(s: float, thick: float) -> list[Bone]:
    """Subchondral sclerosis: a dense band under the medial plateau (added to the bone)."""
    if thick <= 0:
        return []
    shape = Ovoid(15.0 * s, 20.0 * s, thick / 2, 0.0)
    return [Bone("subchondral_sclerosis", shape, np.array([-22.0 * s, 0.0, thick / 2 + 0.6]),
                 np.eye(3), 33, tissue="trabecular_bone")]


def effusion(s: float, gravity: np.ndarray, fat_fraction: float) -> list[Bone]:
    """A lipohaemarthrosis in the suprapatellar bursa: marrow fat floating on blood, the
    interface a plane perpendicular to gravity (on a horizontal beam the level is seen edge
    on; on a vertical beam the layers lie across the beam and no level shows)."""
    c, semi = BURSA
    a, b, cc = (v * s for v in semi)
    up = -np.asarray(gravity, float)
    half = float(np.sqrt((a * up[0]) ** 2 + (b * up[1]) ** 2 + (cc * up[2]) ** 2))
    t = half * (1 - 2 * fat_fraction)
    centre = np.array(c) * s
    n = tuple(float(v) for v in up)
    return [Bone("effusion_fat", ClippedOvoid(a, b, cc, n, t, True), centre, np.eye(3), 9,
                 tissue="fat"),
            Bone("haemarthrosis", ClippedOvoid(a, b, cc, n, t, False), centre, np.eye(3), 8,
                 tissue="blood")]


def build_knee(seed: int, age: float, sex: str, flexion_deg: float = 0.0,
               kl: int | None = None) -> Wrist:
    rng = np.random.default_rng([seed, 47])
    j = 1.0 + rng.uniform(-0.04, 0.04, 6)
    s = size_scale(age, sex) * float(j[5])
    jm, jl, _o, _n, scl = KL_BUILD[kl or 0]
    jsw = {"medial": (jm + _u(rng, -0.2, 0.2)) * s ** 0.5,
           "lateral": (jl + _u(rng, -0.2, 0.2)) * s ** 0.5}
    flex = rotation(flexion_deg, 0.0, 0.0)
    pivot = np.array([0.0, -4.0 * s, -(CONDYLE_SEMI[2] * s + 5.0)])
    leg = []
    for b in (_tibia(s, age, sex, j), _fibula(s, age, sex, j)):
        parts = [replace(p, centre=flex @ (p.centre - pivot) + pivot, rot=flex @ p.rot)
                 for p in b.parts]
        leg.append(replace(b, centre=flex @ (b.centre - pivot) + pivot, rot=flex @ b.rot,
                           parts=parts))
    bones = [_femur(s, age, sex, j, jsw), *leg]
    if age >= PATELLA_APPEARS:
        bones.append(_patella(s, flexion_deg > 0))
    if kl:
        tibia_half = 38.8 * s * float(j[1])
        extra = _osteophytes(s, rng, kl, tibia_half) + _sclerosis(s, scl)
        bones.extend(replace(b, centre=flex @ (b.centre - pivot) + pivot)
                     if b.centre[2] > 0 else b for b in extra)
    table = ENVELOPE_FLEXED if flexion_deg else ENVELOPE
    env = {k: tuple(v * s for v in vals) for k, vals in table.items()}
    caps = ()
    if flexion_deg:
        caps = ((pivot, flex @ np.array([0.0, 0.0, 400.0 * s]) + pivot, 51.0 * s),)
    return Wrist(bones, age, sex, s, env, region="knee", fov_mm=(200.0, 170.0),
                 centre=(0.0, 0.0, -8.0), distal_down=True, fingers=caps,
                 voxel_max_mm=0.9 if kl else 1.0, voxel_px=2.6)  # spurs need finer voxels


def _u(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))


# --- fractures (tibia local frame: x medial, z proximal, 0 at the plateau) ---------------

def schatzker(limb: Wrist, rng: np.random.Generator, kind: int,
              depression: float | None) -> Fracture:
    """A tibial plateau fracture by Schatzker type as a cut in the tibia's frame and a rigid
    move of the articular fragment (down = local -z; lateral = local -x)."""
    s = limb.scale
    xs = _u(rng, 9.0, 13.0) * s  # where the split leaves the articular surface
    k = _u(rng, 0.65, 0.8)  # the split runs down and out through the metaphyseal cortex
    d = depression if depression is not None else {
        1: _u(rng, 0.5, 1.5), 2: _u(rng, 5.0, 9.0), 3: _u(rng, 5.0, 9.0), 4: _u(rng, 2.0, 4.0),
        5: _u(rng, 3.0, 5.0), 6: _u(rng, 2.0, 4.0)}[kind]
    spread = _u(rng, 1.5, 3.0) * s
    level, reach, angles, split = 0.0, 45.0 * s, (0.0, 0.0, 0.0), None
    if kind in (1, 2):
        def surface(x, y, z):
            return (-x - xs) + k * z  # lateral of xs, down and out
        shift = np.array([-spread, 0.0, -d])
    elif kind == 3:
        r0, h = _u(rng, 10.0, 13.0) * s, 14.0 * s
        cx = -22.0 * s

        def surface(x, y, z):
            return np.minimum(r0 - np.sqrt((x - cx) ** 2 + y * y), h + z)
        shift = np.array([0.0, 0.0, -d])
        reach = h + 2.0
    elif kind == 4:
        def surface(x, y, z):
            return (x - xs) + k * z
        shift = np.array([spread, 0.0, -d])
    elif kind == 5:
        def surface(x, y, z):
            return np.maximum(-x - xs, x - xs) + k * z
        shift = np.array([0.0, 0.0, -d])
    else:
        L = _u(rng, 36.0, 44.0) * s

        def surface(x, y, z):
            return z + L + 0.25 * x
        shift = np.array([-spread, 0.0, -d])
        angles = (0.0, _u(rng, 4.0, 8.0), 0.0)  # the articular block tipped into varus
        level, reach = -L, 14.0 * s

        def split(x, y, z):
            return (-x - xs) + k * z
    # III: no gap round the plug (its wall, seen end-on, would label the whole plug as
    # line); the plug sinks into the cancellous bone below (a dense band of impaction)
    return Fracture(bone="tibia", pattern=f"schatzker_{kind}", surface=surface,
                    gap_mm=0.0 if kind == 3 else _u(rng, 0.8, 1.2),
                    pivot=np.array([0.0, 0.0, level]),
                    angles_deg=angles, shift_mm=shift, level_mm=level, reach_mm=reach,
                    split=split)


def patella_transverse(limb: Wrist, rng: np.random.Generator, distraction: float | None
                       ) -> Fracture:
    """A transverse fracture of the patella (a fall on the flexed knee, or the quadriceps
    pulling against it): the lower pole drawn down by the patellar tendon."""
    c = limb.bone("patella").shape.c  # type: ignore[union-attr]
    level = _u(rng, -0.15, 0.1) * c
    d = distraction if distraction is not None else _u(rng, 4.0, 12.0)
    return Fracture(bone="patella", pattern="patella_transverse",
                    surface=lambda x, y, z: z - level - 0.08 * y, gap_mm=_u(rng, 0.8, 1.2),
                    pivot=np.array([0.0, 10.0, level]), angles_deg=(_u(rng, 4.0, 10.0), 0, 0),
                    shift_mm=np.array([0.0, 0.0, d]), level_mm=level, reach_mm=30.0)


def segond(limb: Wrist, rng: np.random.Generator) -> Fracture:
    """A thin elliptical flake off the lateral tibial rim just below the plateau, pulled out
    laterally (the 'lateral capsular sign')."""
    s = limb.scale
    rim = limb.bone("tibia").shape.a[-2] * 1.0  # type: ignore[union-attr]
    t = _u(rng, 2.8, 3.6) * s
    zc, hz = -_u(rng, 5.5, 8.0) * s, _u(rng, 4.0, 5.0) * s

    def surface(x, y, z):
        return np.minimum(np.minimum(-x - (rim - t), hz - np.abs(z - zc)), 14.0 * s - y)
    return Fracture(bone="tibia", pattern="segond", surface=surface, gap_mm=_u(rng, 0.7, 1.0),
                    pivot=np.array([-rim, 0.0, zc]), angles_deg=(0.0, _u(rng, 5, 15), 0.0),
                    shift_mm=np.array([-_u(rng, 2.5, 4.5), 0.0, -_u(rng, 0.5, 1.5)]) * s,
                    level_mm=zc, reach_mm=8.0 * s)


def segmental(limb: Wrist, rng: np.random.Generator) -> Fracture:
    """The tibial shaft below the knee (fracture.segmental): lines 60-68 and 108-118 mm
    below the plateau, the leg beyond the lower one moving."""
    s = limb.scale
    return fracture_segmental("tibia", -_u(rng, 60.0, 68.0) * s, -_u(rng, 108.0, 118.0) * s,
                              -1.0, rng, s)


def wanted(findings, age: float, sex: str) -> KneeWant:
    """What a knee request asks for; EngineError for what is not built."""
    if not findings:
        return KneeWant(None, None, False, None, False)
    f = findings[0]
    mods = set(f.modifiers)
    for g in findings[1:]:
        mods |= set(g.modifiers)
    names = {g.name for g in findings}
    if names - {"fracture", "osteoarthritis", "joint_effusion"}:
        raise EngineError("The knee model builds tibial plateau, patellar, Segond and "
                          "segmental tibial fractures, lipohaemarthrosis and osteoarthritis "
                          f"({', '.join(sorted(names))} is not modelled yet).")
    if "osteoarthritis" in names:
        kl = next((int(m[-1]) for m in mods if m.startswith("kl_")), 3)
        return KneeWant(None, kl, False, None, False)
    lipo = "lipohaemarthrosis" in mods or "joint_effusion" in names
    size = next((g.size_mm for g in findings if g.size_mm), None)
    sch = next((int(m[-1]) for m in mods if m.startswith("schatzker_")), None)
    if "segond" in mods or "avulsion" in mods:
        pattern = "segond"
    elif "segmental" in mods:
        pattern = "segmental"
    elif f.location == "patella" or "patella" in mods:
        pattern = "patella_transverse"
    else:
        pattern = f"schatzker_{sch or 2}"
    if age < PHYSIS_CLOSES[sex] and pattern.startswith("schatzker"):
        raise EngineError("Tibial plateau fractures are adult injuries; this patient is "
                          f"{age:g} (physes open). Ask for an adult.")
    return KneeWant(pattern, None, lipo, size, "healing_series" in mods)


def build_fracture(limb: Wrist, seed: int, want: KneeWant, weeks: float = 0.0) -> Fracture:
    rng = np.random.default_rng([seed, 4747])
    p = want.pattern or ""
    if p.startswith("schatzker_"):
        f = schatzker(limb, rng, int(p[-1]), want.depression_mm)
    elif p == "patella_transverse":
        f = patella_transverse(limb, rng, want.depression_mm)
    elif p == "segond":
        f = segond(limb, rng)
    else:
        f = segmental(limb, rng)
    f.weeks = weeks
    if weeks > 0:
        f.healing = healing_state(weeks, f.gap_mm)
        f.gap_mm = f.healing["gap_mm"]
    return f


def ao_code(pattern: str) -> tuple[str, str]:
    if pattern.startswith("schatzker_"):
        return SCHATZKER_AO[int(pattern[-1])]
    return KNEE_AO[pattern]


# --- measurements from label maps (distal down; the AP shows the fibula on the lateral side)

def _rows_top(mask: np.ndarray) -> np.ndarray:
    """Per column, the first row of the mask (-1 where empty)."""
    any_ = mask.any(axis=0)
    return np.where(any_, mask.argmax(axis=0), -1)


def _rows_bottom(mask: np.ndarray) -> np.ndarray:
    any_ = mask.any(axis=0)
    return np.where(any_, mask.shape[0] - 1 - mask[::-1].argmax(axis=0), -1)


def joint_spaces(labels: np.ndarray, ids: dict[str, int], px: float) -> dict[str, float]:
    """Medial and lateral joint-space width on an AP: over the middle of each condyle (the
    columns 15-35 % of the femur's width in from its medial / lateral edge), the median gap
    between the femur's lowest row and the tibia's highest row below it. The lateral side is
    the fibula's."""
    femur = np.isin(labels, [ids[n] for n in ("femur", "femur_epiphysis") if n in ids])
    tibia = np.isin(labels, [ids[n] for n in ("tibia", "tibia_epiphysis", "fragment_distal",
                                              "subchondral_sclerosis") if n in ids])
    fib = labels == ids["fibula"]
    if not femur.any() or not tibia.any() or not fib.any():
        return {}
    cols = np.flatnonzero(femur.any(axis=0))
    c0, c1 = cols.min(), cols.max()
    fib_right = np.nonzero(fib)[1].mean() > (c0 + c1) / 2
    bottom = _rows_bottom(femur)
    out = {}
    for name, lateral in (("medial", False), ("lateral", True)):
        frac = np.array([0.15, 0.35])
        from_right = lateral == fib_right
        lo, hi = (c1 - frac[::-1] * (c1 - c0)) if from_right else (c0 + frac * (c1 - c0))
        gaps = []
        for c in range(int(np.ceil(lo)), int(np.floor(hi)) + 1):
            below = np.flatnonzero(tibia[bottom[c] + 1:, c])
            if bottom[c] >= 0 and len(below):
                gaps.append(below[0])
        if gaps:
            out[f"{name}_joint_space_mm"] = round(float(np.median(gaps)) * px, 2)
    return out


def osteophytes(labels: np.ndarray, ids: dict[str, int], px: float) -> dict[str, float]:
    """Count and size (each one's width across the image) of the osteophyte label's
    connected pieces."""
    from scipy import ndimage

    m = labels == ids["osteophyte"] if "osteophyte" in ids else np.zeros(labels.shape, bool)
    lab, n = ndimage.label(m)
    sizes = [float(np.ptp(np.nonzero(lab == i)[1]) + 1) * px for i in range(1, n + 1)]
    return {"osteophyte_count": float(n),
            "osteophyte_max_mm": round(max(sizes), 2) if sizes else 0.0}


def kl_from(m: dict[str, float]) -> int:
    """Kellgren-Lawrence grade from measured features (the rule in the module docstring)."""
    size = m.get("osteophyte_max_mm", 0.0)
    jsw = min(m.get("medial_joint_space_mm", 9.0), m.get("lateral_joint_space_mm", 9.0))
    if size >= 5.0 and jsw < 1.5:
        return 4
    if size >= 2.5 and jsw < 3.0:
        return 3
    if size >= 2.5:
        return 2
    if size > 0.0:
        return 1
    return 0


def depression(labels: np.ndarray, ids: dict[str, int], px: float) -> dict[str, float]:
    """On an AP: the articular fragment's surface (the 20th percentile of its columns' top
    rows) below the intact plateau (the 80th percentile of the top rows of the unbroken
    tibia's columns: the plateau, not the spines)."""
    frag = labels == ids["fragment_distal"]
    tib = np.isin(labels, [ids["tibia"], ids.get("tibia_epiphysis", -1)])
    if not frag.any() or not tib.any():
        return {}
    ft = _rows_top(frag)
    tt = _rows_top(tib)
    fc = ft >= 0
    ref_cols = (tt >= 0) & ~fc
    if not ref_cols.any():
        return {}
    # only the tibia's plateau columns: its top within 25 mm of the highest tibia row
    top = tt[ref_cols]
    top = top[top - top.min() < 25.0 / px]
    ref = float(np.percentile(top, 80))
    surf = float(np.percentile(ft[fc], 20))
    return {"depression_mm": round((surf - ref) * px, 1)}


def line_below_plateau(labels: np.ndarray, ids: dict[str, int], px: float
                       ) -> dict[str, float]:
    """The fracture line's lowest point below the plateau (the tibia's top rows, 80th
    percentile), on an AP."""
    line = labels == ids["fracture_line"]
    tib = np.isin(labels, [ids["tibia"], ids["fragment_distal"]])
    if not line.any() or not tib.any():
        return {}
    tt = _rows_top(tib)
    top = tt[tt >= 0]
    top = top[top - top.min() < 25.0 / px]
    ref = float(np.percentile(top, 80))
    rows = np.flatnonzero(line.any(axis=1))
    return {"line_lowest_below_plateau_mm": round((rows.max() - ref) * px, 1)}


def distraction(labels: np.ndarray, ids: dict[str, int], px: float) -> dict[str, float]:
    """The patellar fragments' separation on a lateral: per column where both show, the rows
    between the upper fragment's lowest and the lower fragment's highest pixel; median."""
    up = labels == ids["patella"]
    lo = labels == ids["fragment_distal"]
    b, t = _rows_bottom(up), _rows_top(lo)
    both = (b >= 0) & (t >= 0) & (t > b)
    if not both.any():
        return {}
    return {"distraction_mm": round(float(np.median(t[both] - b[both] - 1)) * px, 1)}


LEVEL_MIN_MM = 10.0  # a fat-fluid level: fat directly on blood over at least 1 cm


def fat_fluid_level(labels: np.ndarray, ids: dict[str, int], px: float
                    ) -> tuple[np.ndarray, ...] | None:
    """Points of a fat-fluid interface: per column where fat lies directly on blood, the
    row between them (None when fewer than LEVEL_MIN_MM of columns show it)."""
    fat = labels == ids["effusion_fat"]
    fluid = labels == ids["haemarthrosis"]
    fb, ft = _rows_bottom(fat), _rows_top(fluid)
    ok = (fb >= 0) & (ft >= 0) & (ft - fb <= 2) & (ft > fb)
    if ok.sum() * px < LEVEL_MIN_MM:
        return None
    cols = np.flatnonzero(ok)
    return cols.astype(float), (fb[ok] + ft[ok]) / 2.0


def level_numbers(labels: np.ndarray, ids: dict[str, int], px: float) -> dict[str, float]:
    """A fat-fluid level is a straight line across most of the effusion: its points within
    2 px of their median row (the ends, where the outline meets the level, aside) fitted by a
    line; it counts when those points span >= half the effusion's width with < 1 px of
    scatter (a vertical beam's rim of blood round the fat is an arc, not a level)."""
    pts = fat_fluid_level(labels, ids, px)
    if pts is None:
        return {"fat_fluid_level": 0.0}
    cols, rows = pts
    keep = np.abs(rows - np.median(rows)) <= 2.0
    cols, rows = cols[keep], rows[keep]
    eff = np.isin(labels, [ids["effusion_fat"], ids["haemarthrosis"]])
    ecols = np.flatnonzero(eff.any(axis=0))
    if len(cols) < 5:
        return {"fat_fluid_level": 0.0}
    fit = np.polyfit(cols, rows, 1)
    rms = float(np.sqrt(np.mean((np.polyval(fit, cols) - rows) ** 2)))
    span = (np.ptp(cols) + 1) / max(np.ptp(ecols) + 1, 1)
    if span < 0.5 or rms >= 1.0 or len(cols) * px < LEVEL_MIN_MM:
        return {"fat_fluid_level": 0.0}
    top = _rows_top(labels == ids["effusion_fat"])[cols.astype(int)]
    return {"fat_fluid_level": 1.0,
            "level_tilt_deg": round(float(np.degrees(np.arctan(fit[0]))), 2),
            "level_length_mm": round(float(np.ptp(cols) + 1) * px, 1),
            "fat_layer_mm": round(float(np.median(rows - top)) * px, 1)}


def shaft_fragments(labels: np.ndarray, ids: dict[str, int]) -> int:
    """Pieces of the tibia along its shaft: connected parts of its labels within the middle
    of its width (30-70 % of its pixels across), clear of the fibula at its edge."""
    from scipy import ndimage

    bone = np.isin(labels, [ids[n] for n in ("tibia", "fragment_distal", "fragment_segment")])
    xs = np.nonzero(bone)[1]
    if not len(xs):
        return 0
    lo, hi = np.percentile(xs, [30, 70])
    band = bone.copy()
    band[:, : int(lo)] = False
    band[:, int(hi) + 1:] = False
    lab, _n = ndimage.label(band)
    sizes = np.bincount(lab.ravel())[1:]
    return int((sizes >= 0.01 * band.sum()).sum())


# --- the film's scene and key ------------------------------------------------------------

@dataclass
class Scene:
    """What one film shows: the limb as positioned, its fracture, how the film is taken
    (`film_view` for the geometry, `turn` a horizontal-beam film turned upright), and what
    was asked for."""

    limb: Wrist
    fracture: Fracture | None
    want: KneeWant
    film_view: str
    turn: bool = False
    equalise: float = 0.0


def scene(spec, seed: int, age: float, sex: str, view: str, weeks: float | None) -> Scene:
    want = wanted(spec.findings, age, sex)
    flexion = {"lateral": FLEXION_LATERAL_DEG, "skyline": FLEXION_SKYLINE_DEG}.get(view, 0.0)
    limb = build_knee(seed, age, sex, flexion, want.kl)
    if view == "skyline":  # the patellofemoral joint seen along the femur
        # the slab along the beam starts below the metaphysis: no end-on shaft ring
        limb = replace(limb, centre=(0.0, 13.0, -9.0), fov_mm=(120.0, 150.0),
                       blob=(0.0, 8.0, -25.0, 58.0, 52.0, 62.0))
    f = None
    if want.pattern is not None:
        f = build_fracture(limb, seed, want, weeks or 0.0)
        if want.pattern == "segmental":  # the field moves down the leg to show both lines
            limb = replace(limb, centre=(0.0, 0.0, 55.0))
    if want.lipohaemarthrosis:
        gravity = np.array([0.0, -1.0, 0.0]) if view in ("ap", "cross_table") \
            else np.array([-1.0, 0.0, 0.0])  # a lateral: lying on the side, along the beam
        fat = float(np.random.default_rng([seed, 53]).uniform(0.35, 0.45))
        limb = replace(limb, bones=[*limb.bones, *effusion(limb.scale, gravity, fat)])
    film = "lateral" if view == "cross_table" else view
    return Scene(limb, f, want, film, turn=view == "cross_table")


def measure(sc: Scene, labels: np.ndarray, ids: dict[str, int], px: float, view: str
            ) -> dict[str, float]:
    """The key's numbers, from this film's label map."""
    m: dict[str, float] = {}
    w = sc.want
    if w.kl is not None and view == "ap":
        m.update(joint_spaces(labels, ids, px))
        m.update(osteophytes(labels, ids, px))
        m["sclerosis_mm2"] = round(float((labels == ids["subchondral_sclerosis"]).sum())
                                   * px * px, 1)
        m["kl_grade"] = float(kl_from(m))
    f = sc.fracture
    if f is not None:
        from imagine_med.engine.phantom.regions.limb import measure as ms

        if not f.pattern.startswith("schatzker") and f.pattern != "segond" and \
                view != "skyline":  # a transverse line lies across a skyline's beam
            m["gap_mm"] = round(ms.gap_mm(labels, ids["fracture_line"], px), 2)
        m["callus_area_mm2"] = round(ms.area_mm2(labels, ids["callus"], px), 1)
        if f.pattern.startswith("schatzker") and view == "ap":
            m.update(depression(labels, ids, px))
            m.update(line_below_plateau(labels, ids, px))
        if f.pattern == "patella_transverse" and view in ("lateral", "cross_table"):
            m.update(distraction(labels, ids, px))
        if f.pattern == "segmental":
            m["tibial_fragments"] = float(shaft_fragments(labels, ids))
    if w.lipohaemarthrosis:
        m.update(level_numbers(labels, ids, px))
    return m


def key_text(sc: Scene, m: dict[str, float], view: str, side: str) -> str:
    words = {"ap": "AP", "lateral": "lateral (30 deg flexed)",
             "cross_table": "horizontal-beam lateral", "skyline": "skyline (Merchant)"}[view]
    who = f"{side.capitalize()} knee, {words} view, age {sc.limb.age:.0f}."
    w, f = sc.want, sc.fracture
    parts = []
    if w.kl is not None and "kl_grade" not in m:
        parts.append("Osteoarthritis of the knee (Kellgren-Lawrence grading is read on the "
                     "AP view: joint space, osteophytes, sclerosis).")
    elif w.kl is not None:
        parts.append(f"Osteoarthritis of the knee, Kellgren-Lawrence grade {int(m['kl_grade'])}.")
        if "medial_joint_space_mm" in m:
            parts.append(f"Joint space {m['medial_joint_space_mm']:.1f} mm medially and "
                         f"{m.get('lateral_joint_space_mm', 0):.1f} mm laterally; "
                         f"{int(m['osteophyte_count'])} marginal osteophyte(s), the largest "
                         f"{m['osteophyte_max_mm']:.1f} mm"
                         + (f"; subchondral sclerosis under the medial plateau "
                            f"({m['sclerosis_mm2']:.0f} mm^2)" if m["sclerosis_mm2"] > 0 else "")
                         + ".")
    if f is not None:
        code, text = ao_code(f.pattern)
        parts.append(f"{text[0].upper()}{text[1:]} (AO/OTA {code}).")
        if "depression_mm" in m:
            parts.append("The fracture is intra-articular, the articular fragment depressed "
                         f"{max(m['depression_mm'], 0):.0f} mm below the intact plateau "
                         "(step-off).")
        if "line_lowest_below_plateau_mm" in m:
            parts.append(f"The fracture line reaches {m['line_lowest_below_plateau_mm']:.0f} mm "
                         "below the plateau.")
        if "distraction_mm" in m:
            parts.append(f"The fragments are distracted {m['distraction_mm']:.0f} mm (the "
                         "extensor mechanism disrupted).")
        if "tibial_fragments" in m:
            parts.append(f"{int(m['tibial_fragments'])} tibial fragments on this view (a free "
                         "middle segment).")
        if m.get("gap_mm", 0) > 0.2:
            parts.append(f"Fracture gap {m['gap_mm']:.1f} mm.")
        if "weeks" in m:
            parts.append(healing_words(m))
    if w.lipohaemarthrosis:
        if m.get("fat_fluid_level"):
            parts.append(f"Lipohaemarthrosis: a straight horizontal fat-fluid level in the "
                         f"suprapatellar bursa ({m['level_length_mm']:.0f} mm long, fat layer "
                         f"{m['fat_layer_mm']:.0f} mm) - marrow fat from an intra-articular "
                         "fracture.")
        else:
            parts.append("A suprapatellar effusion; no fat-fluid level on this view (the "
                         "level needs a horizontal beam).")
    if not parts:
        growth = " The growth plates are open." if sc.limb.age < PHYSIS_CLOSES[sc.limb.sex] \
            else ""
        parts.append(f"Normal knee: no fracture, joint spaces preserved.{growth}")
    parts.append(who)
    return " ".join(parts)


def healing_words(m: dict[str, float]) -> str:
    """A healing series' time point in words, from the callus measured on this film."""
    wk = m["weeks"]
    when = "at injury (day 0)" if wk == 0 else f"{wk:g} weeks after injury"
    callus = m.get("callus_area_mm2", 0.0)
    state = f"periosteal callus {callus:.0f} mm^2 on this view" if callus > 0 else \
        "no callus visible"
    return f"Healing series, {when}: {state}."


def finding_name(sc: Scene) -> tuple[str, str, str]:
    """(finding, label, location) for the finding record."""
    if sc.want.kl is not None:
        return "osteoarthritis", "osteophyte", "knee"
    p = sc.want.pattern or ""
    where = "patella" if p.startswith("patella") else (
        "tibial_shaft" if p == "segmental" else "tibial_plateau")
    return "fracture", "fracture_line", where
