"""The wrist and hand: distal radius and ulna, eight carpals, five metacarpals and the
soft-tissue envelope, from a seed, sized by age and sex, with growth plates and carpal
ossification by age.

The limb frame (mm): x toward the radial side, y volar, z distal; the origin is the ulnar
corner of the distal radial articular surface (the sigmoid notch level). Both wrists are
built in this frame; the view mirrors the image for the side (views.py).

Numbers (adult, one table, `WRIST`): radial inclination ~22 deg, radial height ~11 mm,
palmar tilt ~11 deg, ulnar variance ~0 mm (neutral); radius ~26 mm wide at the end, shaft
~13 mm; metacarpal lengths MC1-5 ~44/68/64/57/53 mm (standard radiographic norms, e.g.
Medoff 2005 "Essential radiographic evaluation for distal radius fractures"). Growth:
distal radial physis closes ~16 (female) / ~17 (male) years; carpal ossification centres
appear: capitate and hamate in the first year, triquetrum ~3, lunate ~4, scaphoid,
trapezium and trapezoid ~5-6, pisiform ~10-12 years (Greulich & Pyle atlas ages).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from imagine_med.engine.phantom.regions.limb.shapes import LongBone, Ovoid, rotation

RADIAL_INCLINATION_DEG = 22.0
PALMAR_TILT_DEG = 11.0
PHYSIS_CLOSES = {"female": 16.0, "male": 17.0}
RADIUS_EPIPHYSIS_APPEARS = 1.0  # years (Greulich & Pyle)
ULNA_EPIPHYSIS_APPEARS = 6.0
# carpal -> (centre x, y, z; semi-axes a, b, c; rotation about x, y, z in degrees; age the
# ossification centre appears)
CARPALS: dict[str, tuple[tuple[float, float, float], tuple[float, float, float],
                         tuple[float, float, float], float]] = {
    "scaphoid": ((16.0, 2.0, 15.0), (5.0, 5.5, 11.5), (-40.0, 38.0, 0.0), 5.5),
    "lunate": ((2.5, 0.0, 9.0), (6.5, 8.0, 6.0), (0.0, 0.0, 0.0), 4.0),
    "triquetrum": ((-10.5, -2.5, 13.5), (5.0, 5.5, 6.5), (0.0, -30.0, 0.0), 3.0),
    "pisiform": ((-11.5, 7.0, 15.5), (3.8, 4.0, 5.0), (0.0, 0.0, 0.0), 10.5),
    "trapezium": ((21.5, 5.0, 27.5), (6.0, 6.5, 7.0), (0.0, 25.0, 0.0), 5.5),
    "trapezoid": ((12.5, 1.0, 28.5), (4.6, 6.0, 5.8), (0.0, 0.0, 0.0), 5.5),
    "capitate": ((1.8, 0.0, 27.0), (6.6, 8.5, 11.5), (0.0, 0.0, 0.0), 0.3),
    "hamate": ((-10.0, 0.0, 25.0), (6.6, 8.0, 10.0), (0.0, -8.0, 0.0), 0.5),
}
# metacarpal -> (base x, y, z; length; rotation about x, y in degrees)
METACARPALS: dict[str, tuple[tuple[float, float, float], float, tuple[float, float]]] = {
    "metacarpal_1": ((24.5, 9.0, 35.5), 44.0, (-30.0, 38.0)),
    "metacarpal_2": ((12.5, 0.0, 41.0), 68.0, (0.0, 6.0)),
    "metacarpal_3": ((1.8, 0.0, 41.0), 64.0, (0.0, 0.0)),
    "metacarpal_4": ((-8.5, 0.0, 39.5), 57.0, (0.0, -6.0)),
    "metacarpal_5": ((-17.5, 0.0, 37.5), 53.0, (0.0, -12.0)),
}
# soft tissue: z knots, semi-axes across (A) and deep (B), centre x, fat thickness (mm)
ENVELOPE = {"z": (-200.0, -40.0, 0.0, 20.0, 45.0, 200.0),
            "A": (33.0, 30.0, 28.0, 34.0, 43.0, 43.0),
            "B": (25.0, 21.0, 18.0, 17.0, 15.0, 13.0),
            "x0": (-2.0, -2.0, -1.0, 1.0, 3.0, 3.0),
            "fat": (4.5, 4.0, 3.5, 3.0, 3.0, 3.0)}


@dataclass
class Physis:
    """A growth plate across a long bone at local z_mid(x) = z0 + slope * x, `thick_mm`;
    the metaphysis is the `meta_mm` of bone proximal to it."""

    z0: float
    slope: float
    thick_mm: float
    meta_mm: float
    epiphysis_ossified: bool = True  # before its centre appears the epiphysis is cartilage

    def z_mid(self, x: np.ndarray) -> np.ndarray:
        return self.z0 + self.slope * x


@dataclass
class Bone:
    """One bone: its shape in its own frame, placed at `centre` with `rot` (local -> limb)."""

    name: str
    shape: LongBone | Ovoid
    centre: np.ndarray
    rot: np.ndarray
    priority: int
    physis: Physis | None = None
    tex_offset: int = 0
    parts: list[Bone] = field(default_factory=list)  # extra solids under the same label
    tissue: str | None = None  # a soft solid (a fat pad) of one tissue, not bone

    def to_local(self, p: np.ndarray) -> np.ndarray:
        return (p - self.centre) @ self.rot

    def to_limb(self, q: np.ndarray) -> np.ndarray:
        return q @ self.rot.T + self.centre


@dataclass
class Wrist:
    """A limb built for films (the wrist, or the ankle in ankle.py): its bones, size and
    soft tissue, and how it is filmed: the field (height, width) and its centre (adult mm,
    scaled by `scale`), whether distal is down on the image, and an optional foot (an
    elliptic cylinder along y: x0, z0, semi-axes across and high, y from, y to)."""

    bones: list[Bone]
    age: float
    sex: str
    scale: float
    envelope: dict[str, tuple[float, ...]]
    region: str = "wrist"
    fov_mm: tuple[float, float] = (150.0, 108.0)
    centre: tuple[float, float, float] = (2.0, 0.0, 0.0)
    distal_down: bool = False
    foot: tuple[float, float, float, float, float, float] | None = None
    fingers: tuple = ()  # soft-tissue capsules (p0, p1, radius) round each finger, limb mm
    voxel_max_mm: float = 0.7  # a big part (the hip) may use coarser voxels
    voxel_px: float = 2.2  # voxel size in output pixels (coarser for a big part)
    # soft tissue as one ellipsoid (centre x, y, z, semi-axes), for a view along the limb
    # (the knee's skyline) where the envelope's cylinder chords do not apply
    blob: tuple[float, float, float, float, float, float] | None = None

    def bone(self, name: str) -> Bone:
        return next(b for b in self.bones if b.name == name)


Limb = Wrist


def size_scale(age: float, sex: str) -> float:
    """Linear size against an adult man (forearm length grows ~2x from 2 to 16 years)."""
    adult = 1.0 if sex == "male" else 0.92
    return adult * float(np.interp(age, (1, 5, 10, 14, 17), (0.42, 0.58, 0.75, 0.9, 1.0)))


def _radius(s: float, age: float, sex: str, j: np.ndarray) -> Bone:
    a_end = 13.0 * s * j[0]
    incl = np.tan(np.radians(RADIAL_INCLINATION_DEG + 2 * (j[1] - 1) * 10))
    tilt = np.tan(np.radians(PALMAR_TILT_DEG + 3 * (j[2] - 1) * 10))
    z_hi = a_end * incl  # the ulnar corner of the end plane lies at local z = 0
    zk = (*tuple(z * s for z in (-260.0, -70.0, -42.0, -22.0, -8.0)), z_hi)
    shape = LongBone(
        z_knots=zk, a=tuple(v * s * j[0] for v in (6.6, 6.8, 8.2, 10.6, 12.6, 13.0)),
        b=tuple(v * s * j[0] for v in (5.4, 5.5, 6.3, 8.0, 9.4, 9.6)),
        cx=(-1.0 * s, -1.0 * s, -0.5 * s, 0.0, 0.0, 0.0),
        cortex=tuple(v * max(s, 0.6) for v in (2.6, 2.5, 1.6, 0.9, 0.7, 0.8)),
        z_lo=-260.0 * s, z_hi=z_hi, end_tilt=(incl, -tilt), dome_hi_mm=-1.2 * s,
        cancellous_from=-45.0 * s)
    physis = None
    if age < PHYSIS_CLOSES[sex]:
        # the physis runs ~8-14 mm proximal to the articular surface, parallel-ish to it
        physis = Physis(z0=z_hi - 11.0 * s, slope=0.55 * incl, thick_mm=max(2.4, 3.2 * s),
                        meta_mm=16.0 * s, epiphysis_ossified=age >= RADIUS_EPIPHYSIS_APPEARS)
    return Bone("radius", shape, np.array([a_end - 0.5, 0.0, 0.0]), np.eye(3), 20, physis)


def _ulna(s: float, age: float, sex: str, j: np.ndarray) -> Bone:
    zk = tuple(z * s for z in (-260.0, -60.0, -20.0, -6.0, 0.0))
    shape = LongBone(
        z_knots=zk, a=tuple(v * s * j[3] for v in (6.0, 5.5, 5.0, 7.0, 7.5)),
        b=tuple(v * s * j[3] for v in (5.8, 5.2, 4.8, 6.6, 7.0)),
        cx=(0.0,) * 5, cortex=tuple(v * max(s, 0.6) for v in (2.4, 2.4, 1.4, 0.8, 0.8)),
        z_lo=-260.0 * s, z_hi=0.0, dome_hi_mm=3.0 * s, cancellous_from=-24.0 * s)
    variance = (j[4] - 1) * 20 - 1.0  # ulnar variance, mm (about -1 +- 2)
    physis = Physis(z0=-9.0 * s, slope=0.0, thick_mm=max(1.5, 2.0 * s), meta_mm=12.0 * s,
                    epiphysis_ossified=age >= ULNA_EPIPHYSIS_APPEARS) \
        if age < PHYSIS_CLOSES[sex] + 0.5 else None
    ulna = Bone("ulna", shape, np.array([-8.8 * s, -1.0 * s, variance * s]), np.eye(3), 15,
                physis)
    if age >= 7:  # the styloid ossifies late in childhood
        sty = Ovoid(1.9 * s, 1.9 * s, 4.5 * s, 0.6)
        ulna.parts.append(Bone("ulna", sty, np.array([-12.8 * s, -3.5 * s, variance * s + 1.5 * s]),
                               rotation(0, -10, 0), 15))
    return ulna


def _maturity(age: float, onset: float) -> float:
    """Size of an ossification centre against the adult bone (grows over ~7 years)."""
    return float(np.clip(0.35 + (age - onset) / 7.0, 0.0, 1.0)) if age >= onset else 0.0


# phalanges: ray -> lengths (mm) of the proximal, middle and distal phalanx (the thumb has no
# middle one) and the finger's spread from its metacarpal (deg, radial +); adult hand norms
PHALANGES: dict[int, tuple[tuple[float, ...], float]] = {
    1: ((31.0, 22.0), 8.0), 2: ((40.0, 23.0, 16.0), 4.0), 3: ((45.0, 27.0, 18.0), 0.0),
    4: ((42.0, 26.0, 17.0), -4.0), 5: ((33.0, 18.0, 15.0), -8.0),
}
PHALANX_NAMES = ("proximal_phalanx", "middle_phalanx", "distal_phalanx")
FINGER_RADIUS_MM = (10.0, 8.5, 9.0, 8.5, 7.5)  # soft tissue round each finger, rays 1-5
HAND_ENVELOPE = {"z": (-200.0, -40.0, 0.0, 20.0, 45.0, 88.0, 100.0, 108.0, 300.0),
                 "A": (33.0, 30.0, 28.0, 34.0, 40.0, 38.0, 32.0, 1.0, 1.0),
                 "B": (25.0, 21.0, 18.0, 17.0, 15.0, 14.0, 11.0, 1.0, 1.0),
                 "x0": (-2.0, -2.0, -1.0, 1.0, 0.0, -2.0, -2.0, -2.0, -2.0),
                 "fat": (4.5, 4.0, 3.5, 3.0, 3.0, 3.0, 2.5, 0.5, 0.5)}


def _phalanges(s: float, mc: Bone, ray: int, j: float) -> tuple[list[Bone], tuple]:
    """A finger's phalanges continuing its metacarpal (straight, fanned a little), and the
    capsule of soft tissue round them (p0, p1, radius) in the limb frame."""
    lengths, spread = PHALANGES[ray]
    rot = mc.rot @ rotation(0.0, spread, 0.0)
    axis = rot @ np.array([0.0, 0.0, 1.0])
    L_mc = mc.shape.z_knots[-1]  # type: ignore[union-attr]
    start = mc.centre + mc.rot @ np.array([0.0, 0.0, L_mc]) + axis * 2.0 * s
    bones, p = [], start
    for k, length in enumerate(lengths):
        L = length * s * j
        name = PHALANX_NAMES[2 if k == len(lengths) - 1 and k > 0 else k]
        w = (5.0, 4.0, 3.6)[2 if name == "distal_phalanx" else min(k, 1)] * s
        zk = (0.0, 3.0 * s, 7.0 * s, L - 5.0 * s, L - 2.0 * s, L)
        shape = LongBone(
            z_knots=zk, a=(w, w * 0.8, w * 0.65, w * 0.65, w * 0.8, w * 0.7),
            b=(w * 0.9, w * 0.75, w * 0.6, w * 0.6, w * 0.7, w * 0.6), cx=(0.0,) * 6,
            cortex=tuple(v * max(s, 0.6) for v in (0.5, 0.8, 1.2, 1.2, 0.7, 0.6)),
            z_lo=0.0, z_hi=L, dome_hi_mm=1.5 * s, dome_lo_mm=-0.8 * s,
            cancellous_from=L - 5.0 * s, cancellous_below=6.0 * s)
        bones.append(Bone(f"{name}_{ray}", shape, p.copy(), rot, 21, tex_offset=3 * ray + k))
        p = p + axis * (L + 1.8 * s)
    # the thumb's soft tissue (thenar) wraps its metacarpal too
    p0 = mc.centre + mc.rot @ np.array([0.0, 0.0, 6.0 * s]) if ray == 1 \
        else start - axis * 8.0 * s
    capsule = (p0, p + axis * 3.0 * s, FINGER_RADIUS_MM[ray - 1] * s * (1.3 if ray == 1 else 1))
    return bones, capsule


def build_hand(seed: int, age: float, sex: str) -> Wrist:
    """The wrist's bones (same seed, same patient) with the fingers: a hand film."""
    w = build_wrist(seed, age, sex)
    rng = np.random.default_rng([seed, 29])
    j = float(1.0 + rng.uniform(-0.04, 0.04))
    s = w.scale
    caps = []
    for ray in range(1, 6):
        mc = w.bone(f"metacarpal_{ray}")
        bones, capsule = _phalanges(s, mc, ray, j)
        w.bones.extend(bones)
        caps.append(capsule)
    env = {k: tuple(v * s for v in vals) for k, vals in HAND_ENVELOPE.items()}
    return Wrist(w.bones, age, sex, s, env, region="hand", fov_mm=(230.0, 160.0),
                 centre=(2.0, 0.0, 82.0), fingers=tuple(caps))


def build_wrist(seed: int, age: float, sex: str) -> Wrist:
    rng = np.random.default_rng([seed, 19])
    j = 1.0 + rng.uniform(-0.05, 0.05, 8)
    s = size_scale(age, sex) * float(j[5])
    bones = [_radius(s, age, sex, j), _ulna(s, age, sex, j)]
    for i, (name, (c, semi, ang, onset)) in enumerate(CARPALS.items()):
        k = _maturity(age, onset)
        if k <= 0:
            continue  # still cartilage: soft tissue on a film
        shape = Ovoid(*(v * s * k for v in semi), cortex_mm=0.7 * max(s, 0.6))
        centre = np.array(c) * s + rng.normal(0, 0.4, 3) * s
        bones.append(Bone(name, shape, centre, rotation(*ang), 25, tex_offset=7 * i + 3))
    for i, (name, (base, length, (ax, ay))) in enumerate(METACARPALS.items()):
        L = length * s * float(j[6])
        zk = (0.0, 6.0 * s, 14.0 * s, L - 12.0 * s, L - 5.0 * s, L)
        shape = LongBone(
            z_knots=zk, a=tuple(v * s for v in (6.5, 5.0, 3.8, 3.8, 5.4, 5.4)),
            b=tuple(v * s for v in (6.0, 5.0, 3.6, 3.6, 6.0, 6.0)), cx=(0.0,) * 6,
            cortex=tuple(v * max(s, 0.6) for v in (0.6, 1.1, 2.1, 2.1, 0.8, 0.7)),  # MCI ~0.55
            z_lo=0.0, z_hi=L, dome_hi_mm=4.0 * s, dome_lo_mm=1.0 * s,
            cancellous_from=L - 12.0 * s, cancellous_below=10.0 * s)
        bones.append(Bone(name, shape, np.array(base) * s, rotation(ax, ay, 0), 22,
                          tex_offset=11 * i + 5))
    env = {k: tuple(v * s for v in vals) for k, vals in ENVELOPE.items()}  # z scales too
    return Wrist(bones, age, sex, s, env)
