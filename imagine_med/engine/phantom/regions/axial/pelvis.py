"""The whole pelvis on an AP film: both hemipelves (ilium, the acetabulum with its teardrop,
the pelvic brim that is the iliopectineal line, the ilioischial line, ischium, superior and
inferior pubic rami round the obturator foramen, the pubic body at the symphysis), the
sacrum with its sacroiliac joints and the coccyx, L5, and both proximal femora; and the
injuries of the ring: pubic rami fractures (an older person's fall), the open-book
disruption (anteroposterior compression: the symphysis diastasis, the hemipelves turned
out about the sacroiliac joints), and the hip's own (a neck of femur fracture, a posterior
dislocation) on the full view.

Each side is built in the hip region's frame (regions/limb/hip.py: x lateral, y anterior,
z caudal; origin that femoral head's centre) and filmed through `film.in_frame`, so the hip's
fractures and dislocation apply unchanged; the sacrum and L5 in the body frame (x left,
origin midway between the femoral heads). Adult numbers (one table): femoral head centres
~176 mm apart, sacroiliac joints ~45 mm from the midline, symphysis ~4 mm wide (> 25 mm:
open book, Young-Burgess APC II), pelvic inlet ~130 mm across.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace

import numpy as np

from imagine_med.engine.phantom.regions.axial.lumbar import LEVELS as LUMBAR_LEVELS
from imagine_med.engine.phantom.regions.axial.shapes import Capsule
from imagine_med.engine.phantom.regions.axial.vertebra import (
    body_solid,
    lumbar_posterior,
    moved,
    place,
    solid,
)
from imagine_med.engine.phantom.regions.limb.anatomy import Bone, Wrist, size_scale
from imagine_med.engine.phantom.regions.limb.hip import Cup, _femur
from imagine_med.engine.phantom.regions.limb.shapes import Ovoid, rotation

HEAD_X_MM = 88.0  # each femoral head's centre from the midline
SI_MM = (-43.0, -52.0)  # the sacroiliac joint's axis in the hip frame (x, y)
PUBIS_X, PUBIS_Y, PUBIS_HALF = -78.5, 38.0, 7.0  # the pubic body at the symphysis
ENVELOPE = {
    "z": (-400.0, -150.0, -50.0, 50.0, 150.0, 400.0),
    "A": (165.0, 170.0, 180.0, 175.0, 150.0, 150.0),
    "B": (110.0, 110.0, 115.0, 110.0, 95.0, 95.0),
    "x0": (0.0,) * 6,
    "fat": (25.0, 28.0, 32.0, 30.0, 22.0, 22.0),
}
# the brim and the posterior column's medial border, as chains of points (hip frame)
BRIM = (
    (-43.0, -45.0, -62.0),
    (-26.0, -18.0, -32.0),
    (-33.0, 12.0, 2.0),
    (-60.0, 34.0, 16.0),
    (-82.0, 40.0, 22.0),
)
CREST = (
    (22.0, 25.0, -64.0),
    (26.0, 2.0, -118.0),
    (6.0, -28.0, -146.0),
    (-24.0, -52.0, -134.0),
    (-38.0, -62.0, -96.0),
)  # ASIS round to PSIS
ILIOISCHIAL = ((-40.0, -35.0, -40.0), (-33.0, -20.0, 10.0), (-36.0, -14.0, 60.0))
SUPERIOR_RAMUS = ((-16.0, 14.0, 8.0), (-72.0, 38.0, 28.0))
INFERIOR_RAMUS = ((-76.0, 34.0, 54.0), (-38.0, -4.0, 76.0))


@dataclass
class Side:
    """One hip and hemipelvis, in its own frame, and where that frame sits."""

    limb: Wrist
    origin: np.ndarray  # head centre in the body frame
    mirror: bool  # the right side: the frame's x is the patient's right


def _ramus(
    label: str, ends, r: tuple[float, float], s: float, tex: int, cut: float | None, drop: float
) -> list[Bone]:
    """A ramus from its lateral to its medial end; a fracture at `cut` (share of the length)
    leaves a gap, labelled, and the medial piece dropped by `drop` mm."""
    p0, p1 = (np.array(e) * s for e in ends)
    r0, r1 = r[0] * s, r[1] * s
    if cut is None:
        return [solid(label, Capsule(tuple(p0), tuple(p1), r0, r1), tex=tex)]
    u = (p1 - p0) / np.linalg.norm(p1 - p0)
    m = p0 + cut * (p1 - p0)
    g = 0.9 * s
    rm = r0 + cut * (r1 - r0)
    down = np.array([0.0, 0.0, drop * s])
    return [
        solid(label, Capsule(tuple(p0), tuple(m - g * u), r0, rm), tex=tex),
        moved(solid(label, Capsule(tuple(m + g * u), tuple(p1), rm, r1), tex=tex + 1), down),
        solid(
            "fracture_line",
            Capsule(tuple(m - g * u), tuple(m + g * u + down * 0.5), rm * 1.05, rm * 1.05),
            tissue="blood_acute",
        ),
    ]


def _chain(label: str, pts, r: float, s: float) -> list[Bone]:
    return [
        solid(label, Capsule(tuple(np.array(a) * s), tuple(np.array(b) * s), r * s, r * s), tex=71)
        for a, b in itertools.pairwise(pts)
    ]


def hemipelvis(s: float, rami_fracture: bool = False) -> list[Bone]:
    """One hemipelvis in the hip frame (x lateral)."""
    out = [
        Bone(
            "acetabulum",
            Cup(26.5 * s, 33.0 * s, (0.72, 0.15, 0.68)),
            np.zeros(3),
            np.eye(3),
            29,
            tex_offset=61,
        ),
        solid(
            "ilium",
            Ovoid(46.0 * s, 7.0 * s, 58.0 * s, 1.6),
            (-4 * s, -22 * s, -86 * s),
            rotation(0, 8, 38),
            tex=63,
        ),
        solid(
            "ilium",
            Capsule((-40 * s, -52 * s, -72 * s), (-12 * s, -18 * s, -28 * s), 13.0 * s, 17.0 * s),
            tex=65,
        ),  # the sciatic buttress
        solid(
            "ilium", Ovoid(22.0 * s, 18.0 * s, 26.0 * s, 1.4), (-6 * s, -8 * s, -30 * s), tex=67
        ),  # the supra-acetabular body
        solid(
            "ischium",
            Capsule((-8 * s, -14 * s, 18 * s), (-32 * s, -10 * s, 70 * s), 12.0 * s, 12.0 * s),
            tex=69,
        ),
        solid(
            "pubis",
            Ovoid(PUBIS_HALF * s, 10.0 * s, 20.0 * s, 1.2),
            (PUBIS_X * s, PUBIS_Y * s, 38 * s),
            tex=73,
        ),
        solid(
            "teardrop",
            Capsule((-36 * s, 6 * s, -6 * s), (-37 * s, 6 * s, 14 * s), 3.0 * s, 3.4 * s),
            tex=75,
        ),
    ]
    out += _chain("ilium", CREST, 5.0, s)
    out += _chain("iliopectineal_line", BRIM, 3.2, s)
    out += _chain("ilioischial_line", ILIOISCHIAL, 3.0, s)
    out += _ramus("pubis", SUPERIOR_RAMUS, (10.0, 8.0), s, 77, 0.45 if rami_fracture else None, 2.5)
    out += _ramus("pubis", INFERIOR_RAMUS, (6.5, 7.5), s, 79, 0.5 if rami_fracture else None, 1.5)
    return out


def external_rotation(limb: Wrist, turn_deg: float, s: float) -> Wrist:
    """An open book: the hemipelvis (with its femur) turned out about a vertical axis through
    the sacroiliac joint (negative about z in the hip frame opens the front)."""
    R = rotation(0, 0, -turn_deg)
    pivot = np.array([SI_MM[0] * s, SI_MM[1] * s, 0.0])
    return replace(limb, bones=[moved(b, np.zeros(3), R, pivot) for b in limb.bones])


def open_book_turn(diastasis_mm: float, s: float) -> float:
    """Degrees each side turns out so the pubic bodies' medial edges stand `diastasis_mm`
    apart (solved on the model by bisection: the turn about the sacroiliac joint moves the
    edge out and back)."""
    edge = np.array([PUBIS_X - PUBIS_HALF, PUBIS_Y, 0.0]) * s
    pivot = np.array([SI_MM[0], SI_MM[1], 0.0]) * s
    target = -HEAD_X_MM * s + diastasis_mm / 2  # the edge's x in the hip frame

    def x_at(turn: float) -> float:
        return float((rotation(0, 0, -turn) @ (edge - pivot) + pivot)[0])

    lo, hi = 0.0, 45.0
    if x_at(lo) >= target:
        return 0.0
    for _ in range(40):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if x_at(mid) < target else (lo, mid)
    return (lo + hi) / 2


def sacrum(s: float) -> list[Bone]:
    """The sacrum (alae meeting the ilia at the sacroiliac joints, its body curving back
    down to the coccyx) and L5 on it, in the body frame."""
    out = []
    for sx in (-1.0, 1.0):  # the alae, out to the sacroiliac joints
        out.append(
            solid(
                "sacrum",
                Capsule(
                    (0.0, -48 * s, -78 * s), (sx * 38 * s, -52 * s, -66 * s), 19.0 * s, 15.0 * s
                ),
                tex=81,
            )
        )
    out.append(
        solid(
            "sacrum",
            Capsule((0.0, -42 * s, -88 * s), (0.0, -72 * s, 10 * s), 21.0 * s, 9.0 * s),
            tex=83,
        )
    )
    out.append(
        solid(
            "coccyx",
            Capsule((0.0, -74 * s, 16 * s), (0.0, -62 * s, 42 * s), 5.0 * s, 3.0 * s),
            tex=85,
        )
    )
    l5 = LUMBAR_LEVELS[-1]
    c, R = np.array([0.0, -38 * s, -128 * s]), rotation(20, 0, 0)
    front, back = lumbar_posterior(l5, s, 87)
    out += [place(b, c, R) for b in (body_solid(l5, s, 86), *front, *back)]
    return out


def build_pelvis(seed: int, age: float, sex: str) -> tuple[Wrist, list[Side]]:
    """(the midline: sacrum, coccyx, L5, the soft tissue; the two sides)."""
    rng = np.random.default_rng([seed, 71])
    s = size_scale(max(age, 17.0), sex) * float(1.0 + rng.uniform(-0.04, 0.04))
    env = {k: tuple(v * s for v in vals) for k, vals in ENVELOPE.items()}
    mid = Wrist(sacrum(s), age, sex, s, env, region="pelvis", voxel_max_mm=1.8, voxel_px=2.4)
    sides = []
    for _name, sign in (("left", 1.0), ("right", -1.0)):
        limb = Wrist([_femur(s), *hemipelvis(s)], age, sex, s, env, region="hip")
        sides.append(Side(limb, np.array([sign * HEAD_X_MM * s, 0.0, 0.0]), sign < 0))
    return mid, sides


def with_rami_fracture(side: Side) -> Side:
    s = side.limb.scale
    bones = [b for b in side.limb.bones if b.name == "femur"] + hemipelvis(s, True)
    return replace(side, limb=replace(side.limb, bones=bones))
