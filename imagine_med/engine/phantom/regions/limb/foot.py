"""The foot: metatarsals, phalanges, cuneiforms, cuboid, navicular, talus and calcaneus in a
soft-tissue envelope; dorsoplantar (DP), medial oblique and lateral views; the fifth
metatarsal base avulsion (zone 1, "pseudo-Jones") against the Jones fracture (zone 2, the
metaphyseal-diaphyseal junction), the second metatarsal stress ("march") fracture over
weeks, and the Lisfranc injury (the 1st-2nd metatarsal bases spread apart).

Foot frame (mm): x lateral (the little toe's side), y dorsal, z toward the toes; origin the
base of the second metatarsal (the Lisfranc joint's keystone). Adult numbers (one table):
metatarsal lengths MT1-5 ~63/76/71/69/70 mm, declination (toward the sole) ~20/15/12/10/7
deg, spread ~6 deg medial to ~13 deg lateral; the 1st-2nd intermetatarsal space at the
bases < 2 mm (> 2 mm on a DP: a Lisfranc injury); foot length ~255 mm (Gray's Anatomy;
standard foot radiograph norms). Fifth metatarsal zones (Lawrence & Botte 1993) from the
tuberosity's proximal tip: zone 1 < 15 mm (tuberosity avulsion by peroneus brevis / the
lateral plantar aponeurosis), zone 2 15-27 mm (Jones, the watershed at the metaphyseal-
diaphyseal junction), zone 3 beyond (proximal diaphyseal stress fracture). The tarsals are
ovoids as in the ankle (ankle.FOOT_BONES: talus body and neck, calcaneus, navicular,
cuboid), set here in the foot's frame with the midfoot closed up to the metatarsal bases.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from imagine_med.engine.base import EngineError
from imagine_med.engine.phantom.regions.limb import views
from imagine_med.engine.phantom.regions.limb.anatomy import Bone, Wrist, size_scale
from imagine_med.engine.phantom.regions.limb.fracture import Fracture, healing_state
from imagine_med.engine.phantom.regions.limb.shapes import LongBone, Ovoid, rotation

FOOT_VIEWS = ("dp", "oblique", "lateral")
OBLIQUE_DEG = 30.0  # medial oblique: the foot turned in 30 deg
# metatarsal -> base (x, y, z), length, declination, spread (deg, lateral +), width scale
METATARSALS: dict[int, tuple[tuple[float, float, float], float, float, float, float]] = {
    1: ((-21.5, -2.0, 6.0), 63.0, 20.0, -6.0, 1.45),
    2: ((-6.0, 2.0, 0.0), 76.0, 15.0, -1.0, 1.0),
    3: ((5.5, 1.0, 2.0), 71.0, 12.0, 4.0, 0.95),
    4: ((15.5, 0.0, 0.5), 69.0, 10.0, 8.0, 0.95),
    5: ((25.0, -3.0, -1.0), 70.0, 7.0, 13.0, 1.0),
}
# toe -> phalanx lengths (proximal, [middle], distal), adult
TOES: dict[int, tuple[float, ...]] = {1: (30.0, 23.0), 2: (27.0, 12.0, 10.0),
                                      3: (23.0, 10.0, 9.0), 4: (21.0, 9.0, 8.0),
                                      5: (19.0, 7.0, 8.0)}
TOE_WIDTH = {1: 7.0, 2: 4.6, 3: 4.4, 4: 4.2, 5: 4.2}
# tarsal -> (centre, semi-axes, rotation about x, y, z (deg), label)
TARSALS: dict[str, tuple[tuple[float, float, float], tuple[float, float, float],
                         tuple[float, float, float], str]] = {
    "medial_cuneiform": ((-23.5, 0.0, -13.0), (10.0, 14.0, 11.5), (0.0, 0.0, 0.0),
                         "medial_cuneiform"),
    "intermediate_cuneiform": ((-8.0, 4.0, -10.5), (7.0, 10.0, 8.5), (0.0, 0.0, 0.0),
                               "intermediate_cuneiform"),
    "lateral_cuneiform": ((4.5, 3.0, -12.5), (7.0, 10.0, 11.0), (0.0, 0.0, 0.0),
                          "lateral_cuneiform"),
    "cuboid": ((19.5, -4.0, -21.0), (11.5, 11.0, 15.0), (0.0, 0.0, 10.0), "cuboid"),
    "navicular": ((-12.0, 6.0, -35.0), (17.0, 10.0, 9.0), (0.0, 0.0, -15.0), "navicular"),
    "talar_neck": ((-8.0, 12.0, -53.0), (14.0, 12.0, 13.0), (0.0, 0.0, 0.0), "talus"),
    "talus": ((-1.0, 20.0, -78.0), (16.0, 16.0, 18.0), (0.0, 0.0, 0.0), "talus"),
    "calcaneus": ((8.0, -6.0, -94.0), (17.0, 22.0, 40.0), (-20.0, 0.0, 0.0), "calcaneus"),
}
BOXY = {"medial_cuneiform": 3.5, "intermediate_cuneiform": 3.5, "lateral_cuneiform": 3.5,
        "cuboid": 3.0, "navicular": 2.6}  # superellipsoid exponents: block-like tarsals
ENVELOPE = {"z": (-150.0, -136.0, -95.0, -50.0, 0.0, 60.0, 85.0, 110.0, 125.0, 140.0),
            "A": (1.0, 28.0, 32.0, 40.0, 44.0, 48.0, 46.0, 42.0, 30.0, 1.0),
            "B": (1.0, 30.0, 38.0, 38.0, 30.0, 20.0, 16.0, 12.0, 9.0, 1.0),
            "x0": (6.0, 6.0, 6.0, 0.0, 0.0, 2.0, 4.0, 4.0, 4.0, 4.0),
            "y0": (0.0, -4.0, 2.0, 8.0, 2.0, -8.0, -13.0, -14.0, -14.0, -14.0),
            "fat": (8.0, 8.0, 7.0, 6.0, 5.0, 4.0, 4.0, 3.5, 3.0, 1.0)}
ZONE_LIMITS_MM = (15.0, 27.0)  # fifth metatarsal zones 1 | 2 | 3 from the proximal tip
FOOT_AO = {
    "mt5_avulsion": ("87.5.1A", "avulsion fracture of the base (tuberosity) of the fifth "
                     "metatarsal, zone 1 (pseudo-Jones)"),
    "jones": ("87.5.1A", "Jones fracture: the metaphyseal-diaphyseal junction of the fifth "
              "metatarsal, zone 2"),
    "mt2_stress": ("87.2.2A", "stress (march) fracture of the second metatarsal"),
    "lisfranc": ("87 (ligamentous)", "Lisfranc injury: the second to fifth metatarsals "
                 "displaced laterally at the tarsometatarsal joints"),
}


def foot_axes(view: str, side: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """DP: beam dorsal -> plantar, toes up, as the tube sees the dorsum (a left foot's
    great toe on the image right, like a PA hand's thumb). Medial oblique: the foot turned
    in 30 deg (the beam from dorsolateral). Lateral: beam lateral -> medial filmed along
    the foot (dorsum right, toes down) and turned upright afterwards (dorsum up, toes
    right)."""
    mirror = 1.0 if side == "left" else -1.0
    toes_up = np.array([0.0, 0.0, -1.0])
    if view == "lateral":
        return np.array([0.0, 1.0, 0.0]), np.array([0.0, 0.0, 1.0]), np.array([-1.0, 0.0, 0.0])
    t = np.radians(OBLIQUE_DEG) if view == "oblique" else 0.0
    u = -mirror * np.array([np.cos(t), -np.sin(t), 0.0])
    return u, toes_up, np.array([-np.sin(t), -np.cos(t), 0.0])


views.REGION_AXES["foot"] = foot_axes


@dataclass
class RoundedBox:
    """A superellipsoid |x/a|^p + |y/b|^p + |z/c|^p <= 1: a cuneiform or the cuboid, a block
    with rounded edges rather than an egg."""

    a: float
    b: float
    c: float
    p: float
    cortex_mm: float = 0.9

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        r = np.array([self.a, self.b, self.c]) + 0.5
        return -r, r

    def depth(self, x, y, z):
        q = (np.abs(x / self.a) ** self.p + np.abs(y / self.b) ** self.p
             + np.abs(z / self.c) ** self.p) ** (1.0 / self.p)
        d = (1 - q) * min(self.a, self.b, self.c)
        return d, np.full_like(d, self.cortex_mm)

    def is_cancellous(self, z):
        return np.ones(np.shape(z), bool)


@dataclass
class FootWant:
    pattern: str | None  # mt5_avulsion, jones, mt2_stress, lisfranc
    weeks: float
    healing_series: bool


def _metatarsal(ray: int, s: float, j: float) -> Bone:
    base, length, decl, spread, k = METATARSALS[ray]
    L = length * s * j
    w = k * s
    if ray == 5:  # the tuberosity flares laterally and proximally from the base
        zk = (-8.0 * s, 0.0, 8.0 * s, 18.0 * s, L - 12.0 * s, L - 5.0 * s, L)
        a = tuple(v * w for v in (5.0, 9.5, 7.5, 5.0, 4.8, 6.0, 6.0))
        b = tuple(v * w for v in (6.0, 8.0, 7.0, 5.0, 4.8, 7.0, 7.0))
        cx = tuple(v * s for v in (5.0, 3.5, 1.5, 0.0, 0.0, 0.0, 0.0))
        cort = (0.6, 0.6, 0.9, 1.6, 1.8, 0.8, 0.7)
        z_lo = -8.0 * s
    else:
        zk = (0.0, 6.0 * s, 14.0 * s, L - 12.0 * s, L - 5.0 * s, L)
        a = tuple(v * w for v in (7.5, 6.0, 4.8, 4.8, 6.0, 6.0))
        b = tuple(v * w for v in (9.0, 7.0, 4.8, 4.8, 7.0, 7.0))
        cx = (0.0,) * 6
        cort = (0.6, 0.9, 1.8, 1.8, 0.8, 0.7)
        z_lo = 0.0
    shape = LongBone(z_knots=zk, a=a, b=b, cx=cx, cortex=tuple(v * max(s, 0.6) for v in cort),
                     z_lo=z_lo, z_hi=L, dome_hi_mm=4.0 * s, dome_lo_mm=1.0 * s,
                     cancellous_from=L - 12.0 * s, cancellous_below=zk[2] + 4.0 * s)
    return Bone(f"metatarsal_{ray}", shape, np.array(base) * s, rotation(decl, spread, 0.0), 24,
                tex_offset=13 * ray + 101)


def _toe(ray: int, mt: Bone, s: float, j: float) -> list[Bone]:
    """A toe's phalanges lying flat from the metatarsal head (spread as the metatarsal)."""
    spread = METATARSALS[ray][3]
    rot = rotation(0.0, spread, 0.0)
    axis = rot @ np.array([0.0, 0.0, 1.0])
    L_mt = mt.shape.z_knots[-1]  # type: ignore[union-attr]
    p = mt.centre + mt.rot @ np.array([0.0, 0.0, L_mt]) + axis * 2.0 * s
    names = ("proximal_phalanx", "middle_phalanx", "distal_phalanx")
    out = []
    lengths = TOES[ray]
    for k, length in enumerate(lengths):
        L = length * s * j
        name = names[2 if k == len(lengths) - 1 and k > 0 else k]
        w = TOE_WIDTH[ray] * s * (0.85 if name == "distal_phalanx" else 1.0)
        zk = (0.0, 2.5 * s, 5.0 * s, max(L - 4.0 * s, 5.5 * s), max(L - 2.0 * s, 6.0 * s), L)
        shape = LongBone(
            z_knots=zk, a=(w, w * 0.8, w * 0.6, w * 0.6, w * 0.8, w * 0.7),
            b=(w * 0.9, w * 0.75, w * 0.55, w * 0.55, w * 0.7, w * 0.6), cx=(0.0,) * 6,
            cortex=tuple(v * max(s, 0.6) for v in (0.5, 0.8, 1.0, 1.0, 0.7, 0.6)),
            z_lo=0.0, z_hi=L, dome_hi_mm=1.2 * s, dome_lo_mm=-0.6 * s,
            cancellous_from=L - 4.0 * s, cancellous_below=4.0 * s)
        out.append(Bone(f"{name}_{ray}", shape, p.copy(), rot, 21, tex_offset=5 * ray + k + 7))
        p = p + axis * (L + 1.8 * s)
    return out


def build_foot(seed: int, age: float, sex: str) -> Wrist:
    rng = np.random.default_rng([seed, 59])
    j = 1.0 + rng.uniform(-0.04, 0.04, 3)
    s = size_scale(age, sex) * float(j[0])
    bones = []
    for i, (name, (c, semi, ang, label)) in enumerate(TARSALS.items()):
        if name == "navicular" and age < 3.0:
            continue  # ossifies at ~3 years
        centre = np.array(c) * s + rng.normal(0, 0.3, 3) * s
        semi_s = tuple(v * s for v in semi)
        shape = RoundedBox(*semi_s, BOXY[name], 0.9 * max(s, 0.6)) if name in BOXY \
            else Ovoid(*semi_s, 0.9 * max(s, 0.6))
        bones.append(Bone(label, shape, centre,
                          rotation(*ang), 23 if "cuneiform" in label else 25,
                          tex_offset=7 * i + 3))
    for ray in range(1, 6):
        mt = _metatarsal(ray, s, float(j[1]))
        bones.append(mt)
        bones.extend(_toe(ray, mt, s, float(j[2])))
    env = {k: tuple(v * s for v in vals) for k, vals in ENVELOPE.items()}
    return Wrist(bones, age, sex, s, env, region="foot", fov_mm=(275.0, 150.0),
                 centre=(4.0, 0.0, -8.0), distal_down=False, voxel_max_mm=0.9,
                 voxel_px=2.2)


def _u(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))


def _dp_tilt(bone: Bone, nx: float) -> float:
    """The y slope that makes a cut z = level + nx x + ny y contain the DP beam (dorsal ->
    plantar): a declined metatarsal's transverse line is then seen edge-on on the DP, as
    a radiographer angles for it, not smeared across the bone's thickness."""
    d = bone.rot.T @ np.array([0.0, -1.0, 0.0])
    return float(-(nx * d[0] - d[2]) / d[1]) if abs(d[1]) > 1e-6 else 0.0


def fifth_metatarsal(limb: Wrist, rng: np.random.Generator, jones: bool) -> Fracture:
    """Zone 1: the tuberosity's tip pulled off (the piece proximal to the cut moves,
    proximally and out); zone 2 (Jones): a transverse line across the metaphyseal-
    diaphyseal junction, barely displaced. Local z along the bone from its base (0), the
    tuberosity's tip at -8 mm."""
    s = limb.scale
    mt = limb.bone("metatarsal_5")
    if jones:
        level = _u(rng, 10.0, 13.5) * s
        ky = _dp_tilt(mt, 0.12)
        return Fracture(bone="metatarsal_5", pattern="jones",
                        surface=lambda x, y, z: z - level - 0.12 * x - ky * y,
                        gap_mm=_u(rng, 0.9, 1.2),
                        pivot=np.array([-4.0 * s, 0.0, level]),
                        angles_deg=(0.0, _u(rng, 1.0, 3.0), 0.0),
                        shift_mm=np.array([0.3, 0.0, 0.3]) * s, level_mm=level, reach_mm=6.0)
    level = _u(rng, -1.5, 1.5) * s
    ky = _dp_tilt(mt, -0.35)
    return Fracture(bone="metatarsal_5", pattern="mt5_avulsion",
                    surface=lambda x, y, z: level - z + 0.35 * x + ky * y, gap_mm=_u(rng, 0.9, 1.3),
                    pivot=np.array([0.0, 0.0, level]), angles_deg=(0.0, -_u(rng, 4, 10), 0.0),
                    shift_mm=np.array([_u(rng, 0.8, 1.6), 0.0, -_u(rng, 1.0, 2.0)]) * s,
                    level_mm=level, reach_mm=20.0 * s)


def march(limb: Wrist, rng: np.random.Generator) -> Fracture:
    """A stress fracture of the second metatarsal's distal shaft: an incomplete line from
    the dorsomedial cortex, undisplaced; weeks decide the periosteal callus."""
    mt = limb.bone("metatarsal_2").shape
    L = mt.z_knots[-1]  # type: ignore[union-attr]
    level = _u(rng, 0.58, 0.68) * L
    edge = mt.a[3] * 0.35  # type: ignore[union-attr]
    ky = _dp_tilt(limb.bone("metatarsal_2"), -0.1)
    return Fracture(bone="metatarsal_2", pattern="mt2_stress",
                    surface=lambda x, y, z: z - level + 0.1 * x - ky * y, gap_mm=_u(rng, 0.8, 1.0),
                    pivot=np.array([0.0, 0.0, level]), angles_deg=(0.0, 0.0, 0.0),
                    shift_mm=np.zeros(3), level_mm=level,
                    cut_where=lambda x, y, z: edge - x)


def lisfranc(limb: Wrist, rng: np.random.Generator) -> Wrist:
    """Homolateral Lisfranc injury: the second to fifth metatarsals and their toes displaced
    laterally (and a little dorsally) off the cuneiforms and cuboid."""
    s = limb.scale
    step = np.array([_u(rng, 3.0, 5.5), _u(rng, 0.5, 1.5), 0.0]) * s
    moving = {f"metatarsal_{r}" for r in range(2, 6)} | {
        f"{k}_phalanx_{r}" for r in range(2, 6) for k in ("proximal", "middle", "distal")}
    bones = [replace(b, centre=b.centre + step) if b.name in moving else b for b in limb.bones]
    return replace(limb, bones=bones)


def wanted(findings) -> FootWant:
    if not findings:
        return FootWant(None, 0.0, False)
    mods = set()
    for g in findings:
        mods |= set(g.modifiers)
    names = {g.name for g in findings}
    f = findings[0]
    if names - {"fracture", "dislocation"}:
        raise EngineError("The foot model builds fifth metatarsal (avulsion, Jones) and "
                          "second metatarsal stress fractures and the Lisfranc injury "
                          f"({', '.join(sorted(names))} is not modelled yet).")
    series = "healing_series" in mods
    if "lisfranc" in mods or "dislocation" in names:
        return FootWant("lisfranc", 0.0, False)
    if "march" in mods or "stress" in mods or f.location == "second_metatarsal":
        return FootWant("mt2_stress", 3.0, series)
    if "jones" in mods:
        return FootWant("jones", 0.0, series)
    if f.location == "fifth_metatarsal" or "avulsion" in mods or "pseudo_jones" in mods:
        return FootWant("mt5_avulsion", 0.0, series)
    raise EngineError("Which foot fracture? The foot model builds a fifth metatarsal base "
                      "avulsion, a Jones fracture, a second metatarsal stress (march) "
                      "fracture and a Lisfranc injury.")


@dataclass
class Scene:
    limb: Wrist
    fracture: Fracture | None
    want: FootWant
    film_view: str
    turn: bool = False
    equalise: float = 0.7


def scene(spec, seed: int, age: float, sex: str, view: str, weeks: float | None) -> Scene:
    want = wanted(spec.findings)
    limb = build_foot(seed, age, sex)
    rng = np.random.default_rng([seed, 5959])
    f = None
    if want.pattern == "lisfranc":
        limb = lisfranc(limb, rng)
    elif want.pattern in ("mt5_avulsion", "jones"):
        f = fifth_metatarsal(limb, rng, want.pattern == "jones")
    elif want.pattern == "mt2_stress":
        f = march(limb, rng)
    if f is not None:
        wk = weeks if weeks is not None else want.weeks
        f.weeks = wk
        if wk > 0:
            f.healing = healing_state(wk, f.gap_mm)
            f.gap_mm = f.healing["gap_mm"]
    view = "dp" if view in ("ap", "pa") else view
    return Scene(limb, f, want, view, turn=view == "lateral")


# --- measurements (label maps; DP toes up) -------------------------------------------------

def mt5_zone_numbers(labels: np.ndarray, ids: dict[str, int], px: float) -> dict[str, float]:
    """The line's distance from the fifth metatarsal's proximal tip along the bone: the
    bone's long axis from its pixels (principal axis), the tip the farthest pixel toward
    the heel (image down on a DP), the line's median position on the axis."""
    bone = np.isin(labels, [ids["metatarsal_5"], ids["fragment_distal"]])
    line = labels == ids["fracture_line"]
    if bone.sum() < 20 or not line.any():
        return {}
    ys, xs = np.nonzero(bone | line)
    pts = np.stack([xs, ys], 1).astype(float)
    c = pts.mean(0)
    _, _, vt = np.linalg.svd(pts - c, full_matrices=False)
    axis = vt[0] if vt[0][1] > 0 else -vt[0]  # pointing down the image: toward the heel
    proj = (pts - c) @ axis
    ly, lx = np.nonzero(line)
    lp = (np.stack([lx, ly], 1) - c) @ axis
    dist = float(proj.max() - np.median(lp)) * px
    zone = 1 if dist < ZONE_LIMITS_MM[0] else (2 if dist < ZONE_LIMITS_MM[1] else 3)
    return {"line_from_base_tip_mm": round(dist, 1), "zone": float(zone)}


def lisfranc_gap(labels: np.ndarray, ids: dict[str, int], px: float) -> dict[str, float]:
    """The 1st-2nd intermetatarsal space at the bases (DP): over the rows of the first
    metatarsal's proximal 8 mm where it is at least 60 % of its widest there (not its
    rounded tip), the columns between the first metatarsal and the second; median."""
    m1 = labels == ids["metatarsal_1"]
    m2 = labels == ids["metatarsal_2"]
    if not m1.any() or not m2.any():
        return {}
    rows1 = np.flatnonzero(m1.any(axis=1))
    base_rows = np.arange(max(rows1.max() - int(8.0 / px), rows1.min()), rows1.max() + 1)
    widths = m1[base_rows].sum(axis=1)
    base_rows = base_rows[widths >= 0.6 * widths.max()]  # not the base's rounded tip
    right = np.nonzero(m1)[1].mean() > np.nonzero(m2)[1].mean()  # MT1 on the right?
    gaps = []
    for r in base_rows:
        c1, c2 = np.flatnonzero(m1[r]), np.flatnonzero(m2[r])
        if len(c1) and len(c2):
            gaps.append((c1.min() - c2.max() - 1) if right else (c2.min() - c1.max() - 1))
    if not gaps:
        return {}
    return {"intermetatarsal_1_2_mm": round(max(float(np.median(gaps)), 0.0) * px, 1)}


def measure(sc: Scene, labels: np.ndarray, ids: dict[str, int], px: float, view: str
            ) -> dict[str, float]:
    from imagine_med.engine.phantom.regions.limb import measure as ms

    m: dict[str, float] = {}
    frontal = view in ("dp", "ap", "pa")
    if sc.fracture is not None:
        m["gap_mm"] = round(ms.gap_mm(labels, ids["fracture_line"], px), 2)
        m["callus_area_mm2"] = round(ms.area_mm2(labels, ids["callus"], px), 1)
        m["weeks"] = float(sc.fracture.weeks)
        if sc.fracture.bone == "metatarsal_5" and frontal:
            m.update(mt5_zone_numbers(labels, ids, px))
    if frontal:
        m.update(lisfranc_gap(labels, ids, px))
    return m


def key_text(sc: Scene, m: dict[str, float], view: str, side: str) -> str:
    words = {"dp": "dorsoplantar", "ap": "dorsoplantar", "pa": "dorsoplantar",
             "oblique": "medial oblique", "lateral": "lateral"}[view]
    who = f"{side.capitalize()} foot, {words} view, age {sc.limb.age:.0f}."
    p = sc.want.pattern
    parts = []
    if p is None:
        parts.append("Normal foot: no fracture; the tarsometatarsal joints are aligned.")
    else:
        code, text = FOOT_AO[p]
        parts.append(f"{text[0].upper()}{text[1:]} (AO/OTA {code}).")
    if "line_from_base_tip_mm" in m:
        zone = int(m["zone"])
        parts.append(f"The line lies {m['line_from_base_tip_mm']:.0f} mm from the tip of the "
                     f"fifth metatarsal's tuberosity: zone {zone}"
                     + (" (tuberosity avulsion)" if zone == 1 else
                        " (Jones: metaphyseal-diaphyseal junction, watershed - prone to "
                        "non-union)" if zone == 2 else " (proximal diaphysis)") + ".")
    if p == "mt2_stress":
        wk = m.get("weeks", 0.0)
        callus = m.get("callus_area_mm2", 0.0)
        parts.append(f"{wk:g} weeks of symptoms: "
                     + (f"periosteal callus {callus:.0f} mm^2 round the distal shaft"
                        if callus > 0 else "a faint incomplete line only (films are often "
                        "normal for the first 2-3 weeks)") + ".")
    if sc.want.healing_series and p != "mt2_stress" and "weeks" in m:
        from imagine_med.engine.phantom.regions.limb.knee import healing_words

        parts.append(healing_words(m))
    if "intermetatarsal_1_2_mm" in m and (p == "lisfranc" or p is None):
        gap = m["intermetatarsal_1_2_mm"]
        parts.append(f"The space between the first and second metatarsal bases is "
                     f"{gap:.1f} mm" + (" (widened: > 2 mm)" if gap > 2.0 else " (normal)")
                     + ".")
    parts.append(who)
    return " ".join(parts)


def finding_name(sc: Scene) -> tuple[str, str, str]:
    p = sc.want.pattern
    if p == "lisfranc":
        return "dislocation", "metatarsal_2", "lisfranc_joint"
    where = "second_metatarsal" if p == "mt2_stress" else "fifth_metatarsal"
    return "fracture", "fracture_line", where
