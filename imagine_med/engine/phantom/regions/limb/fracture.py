"""A fracture as mechanics: a cut surface through one bone, the distal fragment moved
rigidly (angulated, displaced, shortened, rotated), the overlap of impacted fragments, a
butterfly fragment, a buckled cortex, a greenstick's partial cut, Salter-Harris lines
through the growth plate, and healing over weeks (gap closing, callus growing then
remodelling).

Everything is in the bone's own frame (x radial, y volar, z distal; z = 0 at the ulnar corner
of the articular surface for the radius). A cut is a signed function s(x, y, z): the distal
fragment is where s > gap/2 in its own (moved) frame, the proximal one where s < -gap/2.
The named fractures come from their mechanism (physics.md "Bones and teeth" for AO/OTA and
Salter-Harris; typical displacements from the orthopaedic literature: a Colles fracture
lies ~2-3 cm from the articular surface with dorsal tilt of ~10-35 deg, dorsal shift and
~2-5 mm of impaction; Smith's is its volar mirror; a scaphoid waist fracture is usually
undisplaced or < 1 mm).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from imagine_med.engine.phantom.regions.limb.anatomy import Bone, Wrist
from imagine_med.engine.phantom.regions.limb.shapes import rotation

Surface = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
HEALING_WEEKS = (0.0, 2.0, 6.0, 12.0)  # the series of one request: day 0, 2, 6, 12 weeks
PATTERNS = ("transverse", "oblique", "spiral", "comminuted", "buckle", "greenstick",
            "salter_harris", "colles", "smith", "scaphoid_waist", "weber_a", "weber_b",
            "weber_c", "boxer")


@dataclass
class Fracture:
    """One fracture as built (the key's numbers are measured from the film, not read here)."""

    bone: str
    pattern: str
    surface: Surface
    gap_mm: float
    pivot: np.ndarray
    angles_deg: tuple[float, float, float]  # about x (dorsal +), y (radial +), z (rotation)
    shift_mm: np.ndarray  # x radial, y volar, z distal (negative: shortening)
    level_mm: float  # local z of the cut where it meets the shaft axis
    salter_harris: int | None = None
    mechanism: str | None = None
    eponym: str | None = None
    cut_where: Surface | None = None  # > 0 where the cut exists (greenstick), else everywhere
    butterfly: Surface | None = None  # > 0 inside a third (wedge) fragment
    buckle_mm: float = 0.0  # cortical bulge height of a buckle fracture
    crush: Surface | None = None  # > 0 where a crushed physis lies (Salter-Harris V)
    weeks: float = 0.0
    healing: dict[str, float] = field(default_factory=dict)
    reach_mm: float = 6.0  # how far proximal of `level_mm` the cut surface reaches
    split: Surface | None = None  # an undisplaced second line (|split| <= gap/2)
    butterfly_label: str = "fragment_butterfly"  # a segmental fracture's free segment
    butterfly_shift_mm: float | None = None  # the third fragment's shift along local x

    @property
    def rot(self) -> np.ndarray:
        return rotation(*self.angles_deg)

    def to_original(self, x: np.ndarray, y: np.ndarray, z: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Where points of the moved distal fragment were before the injury: R^T (p - pivot -
        shift) + pivot, written per component (arrays broadcast; cheaper than a matmul)."""
        R = self.rot.astype(np.float32)
        o = (self.pivot + self.shift_mm).astype(np.float32)
        dx, dy, dz = x - o[0], y - o[1], z - o[2]
        return tuple(R[0, k] * dx + R[1, k] * dy + R[2, k] * dz + np.float32(self.pivot[k])
                     for k in range(3))  # type: ignore[return-value]


def _u(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))


def healing_state(weeks: float, gap0: float) -> dict[str, float]:
    """Gap and callus at `weeks` after injury: the gap fills (resorbed edges bridged by woven
    bone by ~6 weeks, united by ~12), the periosteal callus grows to a maximum near 6 weeks
    and is remodelled down by 12 (Frost; standard fracture-healing timelines for the distal
    radius in adults)."""
    t = float(weeks)
    gap = gap0 * float(np.interp(t, (0, 2, 6, 12), (1.0, 0.8, 0.35, 0.0)))
    thick = float(np.interp(t, (0, 2, 6, 12), (0.0, 1.2, 3.2, 1.6)))
    length = float(np.interp(t, (0, 2, 6, 12), (0.0, 14.0, 24.0, 18.0)))
    tissue = "callus_soft" if t < 4 else ("callus_woven" if t < 9 else "callus_mature")
    return {"gap_mm": gap, "callus_mm": thick, "callus_len_mm": length,
            "callus_tissue": {"callus_soft": 0.0, "callus_woven": 1.0,
                              "callus_mature": 2.0}[tissue]}


def _radius_dims(w: Wrist) -> tuple[float, float, float]:
    r = w.bone("radius").shape
    return r.a[-1], r.b[-1], r.z_knots[-1]  # type: ignore[union-attr]


def colles(w: Wrist, rng: np.random.Generator, smith: bool = False) -> Fracture:
    """Distal radius, extra-articular, 2-3 cm from the joint: dorsal (Colles) or volar
    (Smith) angulation about the opposite cortex, displacement and impaction."""
    _a, b, _zh = _radius_dims(w)
    s = w.scale
    level = -_u(rng, 12.0, 19.0) * s
    tilt = _u(rng, 0.05, 0.2)
    sign = -1.0 if smith else 1.0
    angle = sign * _u(rng, 22.0, 34.0)  # fragment rotation; the articular tilt changes by it
    hinge_y = (b if not smith else -b) * 0.95  # the intact (hinge) cortex
    return Fracture(
        bone="radius", pattern="smith" if smith else "colles",
        surface=lambda x, y, z, lv=level, t=tilt: z - lv - t * y,
        gap_mm=_u(rng, 0.8, 1.3), pivot=np.array([0.0, hinge_y, level]),
        angles_deg=(angle, _u(rng, -4, 0), 0.0),
        shift_mm=np.array([_u(rng, 1.0, 2.5), -sign * _u(rng, 1.5, 3.5), -_u(rng, 1.5, 3.0)]) * s,
        level_mm=level, eponym="Smith" if smith else "Colles")


def scaphoid_waist(w: Wrist, rng: np.random.Generator) -> Fracture:
    c = w.bone("scaphoid").shape.c  # type: ignore[union-attr]
    level = _u(rng, -0.1, 0.1) * c
    return Fracture(
        bone="scaphoid", pattern="scaphoid_waist",
        surface=lambda x, y, z, lv=level: z - lv + 0.15 * x,
        gap_mm=_u(rng, 0.6, 1.0), pivot=np.array([0.0, 0.0, level]),
        angles_deg=(_u(rng, -6, 0), 0.0, 0.0), shift_mm=np.array([0.0, _u(rng, 0, 0.8), 0.0]),
        level_mm=level)


def shaft(w: Wrist, rng: np.random.Generator, pattern: str) -> Fracture:
    """Transverse, oblique, spiral or comminuted (wedge) fracture of the distal radial shaft
    (diaphysis-metaphysis junction, inside a wrist film)."""
    s = w.scale
    level = -_u(rng, 48.0, 58.0) * s
    gap = _u(rng, 0.8, 1.4)
    # the intact ulna splints the radius: little shift and angulation
    shift = np.array([_u(rng, 0.8, 2.0), _u(rng, -1.5, 1.5), -_u(rng, 0.0, 1.5)]) * s
    angles = (_u(rng, -4, 4), _u(rng, 3, 8), 0.0)
    butterfly = None
    if pattern == "oblique":
        alpha = np.radians(_u(rng, 35.0, 50.0))
        surface: Surface = lambda x, y, z: (z - level) * np.cos(alpha) + x * np.sin(alpha)  # noqa: E731
    elif pattern == "spiral":
        pitch = _u(rng, 28.0, 40.0) * s
        surface = lambda x, y, z: z - level - pitch * np.arctan2(y, x) / (2 * np.pi)  # noqa: E731
        angles = (0.0, _u(rng, 2, 6), _u(rng, 8, 15))
    else:
        surface = lambda x, y, z: z - level - 0.08 * x  # noqa: E731
        if pattern == "comminuted":
            # a wedge ("butterfly") on the radial side, its apex at the shaft axis
            def butterfly(x, y, z):
                return 0.75 * x - np.abs(z - level) - 0.5 * s
    a = w.bone("radius").shape.a[0]  # type: ignore[union-attr]
    reach = {"oblique": 1.3 * a * 1.2 + 4, "spiral": 0.5 * abs(level) * 0.0 + 24.0 * s,
             "comminuted": 16.0 * s}.get(pattern, 5.0)
    return Fracture(bone="radius", pattern=pattern, surface=surface, gap_mm=gap,
                    pivot=np.array([0.0, 0.0, level]), angles_deg=angles, shift_mm=shift,
                    level_mm=level, butterfly=butterfly, reach_mm=reach)


def paediatric(w: Wrist, rng: np.random.Generator, pattern: str, sh: int | None) -> Fracture:
    """Buckle, greenstick and Salter-Harris I-V of the distal radius of a child."""
    r = w.bone("radius")
    a, _b, _zh = _radius_dims(w)
    s = w.scale
    if pattern == "buckle":
        level = -_u(rng, 22.0, 30.0) * s
        return Fracture(bone="radius", pattern="buckle", surface=lambda x, y, z: z - level,
                        gap_mm=0.0, pivot=np.array([0.0, 0.0, level]), angles_deg=(0, 0, 0),
                        shift_mm=np.zeros(3), level_mm=level, buckle_mm=_u(rng, 0.9, 1.4) * s)
    if pattern == "greenstick":
        level = -_u(rng, 35.0, 45.0) * s
        xb = 0.45 * a  # the cut runs in from the ulnar (tension) side to here
        return Fracture(bone="radius", pattern="greenstick", surface=lambda x, y, z: z - level,
                        gap_mm=_u(rng, 0.7, 1.0), pivot=np.array([0.75 * a, 0.0, level]),
                        angles_deg=(0.0, _u(rng, 10, 18), 0.0), shift_mm=np.zeros(3),
                        level_mm=level, cut_where=lambda x, y, z: xb - x)
    ph = r.physis
    if ph is None:
        raise ValueError("Salter-Harris fractures need an open growth plate")
    zp = ph.z0
    sl = ph.slope
    xb = _u(rng, -0.1, 0.25) * a  # where a line leaves the physis
    beta = np.tan(np.radians(_u(rng, 45, 55)))

    def along(x, y, z):
        return z - (zp + sl * x)

    if sh == 1:
        surface: Surface = along
    elif sh == 2:  # physis, then up through a metaphyseal corner (Thurston Holland)
        def surface(x, y, z):
            return np.maximum(along(x, y, z), along(x, y, z) + (x - xb) * beta)
    elif sh == 3:  # physis, then down through the epiphysis to the joint
        def surface(x, y, z):
            return np.minimum(along(x, y, z), x - xb)
    elif sh == 4:  # an oblique split through epiphysis, physis and metaphysis, leaving
        def surface(x, y, z):  # the metaphysis through its radial cortex
            return x - xb + 1.6 * along(x, y, z)
    else:  # V: a crush of the physis over its radial part: no gap, the plate thinned
        return Fracture(bone="radius", pattern="salter_harris", surface=along, gap_mm=0.0,
                        pivot=np.array([0.0, 0.0, zp]), angles_deg=(0, 0, 0),
                        shift_mm=np.zeros(3), level_mm=zp,
                        salter_harris=5, crush=lambda x, y, z: x - xb)
    shift = np.array([_u(rng, 0.5, 1.5), -_u(rng, 1.5, 3.0), 0.0]) * s
    if sh in (3, 4):
        shift = np.array([_u(rng, 1.2, 2.0), 0.0, _u(rng, 0.3, 0.8)]) * s
    return Fracture(bone="radius", pattern="salter_harris", surface=surface,
                    gap_mm=_u(rng, 0.45, 0.6), pivot=np.array([0.0, 0.0, zp]),
                    angles_deg=(_u(rng, 0, 2) if sh in (1, 2) else 0.0, 0.0, 0.0),
                    shift_mm=shift, level_mm=zp, salter_harris=sh)


def weber(w: Wrist, rng: np.random.Generator, letter: str) -> Fracture:
    """Distal fibula by its level against the syndesmosis (Danis-Weber): A below the
    plafond (a transverse avulsion of the malleolus), B an oblique line from the joint line
    running up and back across the syndesmosis, C a shaft fracture above it with the
    syndesmosis torn (the distal fibula and the talus shift laterally)."""
    s = w.scale
    if letter == "a":
        level = _u(rng, 7.0, 12.0) * s
        return Fracture(bone="fibula", pattern="weber_a", surface=lambda x, y, z: z - level,
                        gap_mm=_u(rng, 0.8, 1.2), pivot=np.array([-5.0 * s, 0.0, level]),
                        angles_deg=(0.0, _u(rng, -8, -3), 0.0),
                        shift_mm=np.array([-_u(rng, 0.5, 1.5), 0.0, _u(rng, 0.5, 1.5)]) * s,
                        level_mm=level, reach_mm=3.0)
    if letter == "b":
        level = -_u(rng, 4.0, 8.0) * s
        k = np.tan(np.radians(_u(rng, 45.0, 55.0)))
        return Fracture(bone="fibula", pattern="weber_b",
                        surface=lambda x, y, z: (z - level) - k * y + 0.3 * x,
                        gap_mm=_u(rng, 0.8, 1.3), pivot=np.array([0.0, 0.0, level]),
                        angles_deg=(0.0, _u(rng, 0, 4), _u(rng, 5, 12)),
                        shift_mm=np.array([_u(rng, 1.0, 2.5), -_u(rng, 0.5, 2.0), -_u(rng, 0, 1.5)])
                        * s, level_mm=level, reach_mm=14.0 * s)
    level = -_u(rng, 45.0, 75.0) * s
    alpha = np.radians(_u(rng, 30.0, 45.0))
    return Fracture(bone="fibula", pattern="weber_c",
                    surface=lambda x, y, z: (z - level) * np.cos(alpha) + x * np.sin(alpha),
                    gap_mm=_u(rng, 1.0, 1.5), pivot=np.array([0.0, 0.0, level]),
                    angles_deg=(0.0, _u(rng, 3, 8), 0.0),
                    shift_mm=np.array([_u(rng, 2.0, 4.0), 0.0, -_u(rng, 0.5, 2.0)]) * s,
                    level_mm=level, reach_mm=10.0 * s)


def boxer(w: Wrist, rng: np.random.Generator) -> Fracture:
    """Neck of the fifth metacarpal from a punch: the head tipped into the palm (apex dorsal,
    typically 20-50 deg) about its volar cortex, a little shortening."""
    mc = w.bone("metacarpal_5").shape
    L = mc.z_knots[-1]  # type: ignore[union-attr]
    s = w.scale
    level = L - _u(rng, 9.0, 12.0) * s
    b = mc.b[3]  # type: ignore[union-attr]
    return Fracture(bone="metacarpal_5", pattern="boxer",
                    surface=lambda x, y, z: z - level - 0.2 * y,
                    gap_mm=_u(rng, 0.6, 1.0), pivot=np.array([0.0, b, level]),
                    angles_deg=(-_u(rng, 25.0, 45.0), 0.0, 0.0),
                    shift_mm=np.array([0.0, 0.0, -_u(rng, 0.5, 1.5)]) * s, level_mm=level,
                    reach_mm=3.0)


def supracondylar(w: Wrist, rng: np.random.Generator, grade: int) -> Fracture:
    """Extension-type supracondylar fracture of the humerus (a child's fall on the
    outstretched hand): a transverse line through the thin metaphysis above the condyles,
    the distal fragment tipped back about its intact posterior cortex (Gartland II) or
    displaced backward as well (III); Gartland I is undisplaced."""
    s = w.scale
    level = -_u(rng, 15.0, 19.0) * s
    b = w.bone("humerus").shape.b[4]  # type: ignore[union-attr]
    tilt = {1: 0.0, 2: _u(rng, 15.0, 25.0), 3: _u(rng, 10.0, 20.0)}[grade]
    shift = {1: np.zeros(3), 2: np.zeros(3),
             3: np.array([_u(rng, -2.0, 2.0), -_u(rng, 5.0, 9.0), -_u(rng, 2.0, 5.0)])}[grade]
    return Fracture(bone="humerus", pattern=f"supracondylar_{grade}",
                    surface=lambda x, y, z: z - level + 0.1 * y,
                    gap_mm=_u(rng, 0.6, 1.0) if grade > 1 else 0.5,
                    pivot=np.array([0.0, -b, level]), angles_deg=(tilt, 0.0, 0.0),
                    shift_mm=shift * s, level_mm=level, reach_mm=3.0, eponym=None)


def femoral_neck(w: Wrist, rng: np.random.Generator, garden: int) -> Fracture:
    """Subcapital fracture of the femoral neck (an elderly fall) by Garden stage: I
    incomplete, impacted in valgus; II complete, undisplaced; III complete, the shaft turned
    into varus; IV fully displaced, the shaft drawn up. The head stays in the acetabulum; the
    neck, trochanters and shaft (the fragment beyond the cut) move."""
    s = w.scale
    level = _u(rng, 19.0, 23.0) * s  # along the neck from the head's centre
    tilt, shift, gap = {
        1: (-_u(rng, 6, 10), np.array([0.0, 0.0, -1.5]), 0.0),
        2: (0.0, np.zeros(3), 0.7),
        3: (_u(rng, 14, 22), np.array([0.0, 0.0, -2.0]), 1.0),
        4: (_u(rng, 18, 26), np.array([-4.0, 0.0, -11.0]), 1.2)}[garden]
    return Fracture(bone="femur", pattern=f"garden_{garden}",
                    surface=lambda x, y, z: z - level - 0.15 * x, gap_mm=gap,
                    pivot=np.array([0.0, 0.0, level]), angles_deg=(0.0, tilt, 0.0),
                    shift_mm=shift * s, level_mm=level, reach_mm=6.0 * s,
                    cut_where=(lambda x, y, z: x + 6.0 * s) if garden == 1 else None)


def segmental(bone: str, near: float, far: float, sign: float, rng: np.random.Generator,
              s: float) -> Fracture:
    """Two transverse-oblique lines through a shaft with a free middle segment (high-energy
    bending): `near` the line by the kept end, `far` the line beyond which the rest of the
    shaft moves (toward local +z when `sign` is +1, -z when -1); the segment is labelled
    `fragment_segment`, shifted a little out of line, the far piece displaced and tipped."""

    def segment(x, y, z):
        return np.minimum(sign * (z - near) - 0.12 * x, sign * (far - z) + 0.1 * x)
    return Fracture(bone=bone, pattern="segmental",
                    surface=lambda x, y, z: sign * (z - far) + 0.1 * x,
                    gap_mm=_u(rng, 1.4, 2.0), pivot=np.array([0.0, 0.0, far]),
                    angles_deg=(0.0, _u(rng, 3, 6), 0.0),
                    shift_mm=np.array([_u(rng, 3.0, 5.0), 0.0, _u(rng, 0.5, 1.5) * sign]) * s,
                    level_mm=far, reach_mm=400.0, butterfly=segment,
                    butterfly_label="fragment_segment", butterfly_shift_mm=-3.0 * s)


def build_fracture(w: Wrist, seed: int, pattern: str, sh: int | None = None,
                   mechanism: str | None = None, weeks: float = 0.0) -> Fracture:
    rng = np.random.default_rng([seed, 1919])
    if pattern == "segmental":  # the tibial shaft above an ankle: the joint end kept
        f = segmental("tibia", -_u(rng, 30.0, 36.0) * w.scale, -_u(rng, 68.0, 76.0) * w.scale,
                      -1.0, rng, w.scale)
    elif pattern.startswith("garden_"):
        f = femoral_neck(w, rng, int(pattern[-1]))
    elif pattern == "boxer":
        f = boxer(w, rng)
    elif pattern.startswith("supracondylar_"):
        f = supracondylar(w, rng, int(pattern[-1]))
    elif pattern.startswith("weber_"):
        f = weber(w, rng, pattern[-1])
    elif pattern in ("colles", "smith"):
        f = colles(w, rng, smith=pattern == "smith")
    elif pattern == "scaphoid_waist":
        f = scaphoid_waist(w, rng)
    elif pattern in ("buckle", "greenstick", "salter_harris"):
        f = paediatric(w, rng, pattern, sh)
    else:
        f = shaft(w, rng, pattern)
    f.mechanism = mechanism
    f.weeks = weeks
    if weeks > 0:
        f.healing = healing_state(weeks, f.gap_mm)
        f.gap_mm = f.healing["gap_mm"]
    return f


def bone_of(w: Wrist, f: Fracture) -> Bone:
    return w.bone(f.bone)
