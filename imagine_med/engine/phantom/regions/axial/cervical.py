"""The cervical spine: C1 (anterior arch, lateral masses, posterior arch), C2 with the dens,
C3-C7 and T1 with discs, pedicles, articular pillars, laminae, transverse and spinous
processes; the pharynx and trachea (air), the prevertebral soft tissue between them and the
bodies, the skull base, the mandible (open for the peg view) and the maxilla; and the
injuries: the dens fracture by Anderson-D'Alonzo type, the Jefferson burst of C1, a wedge
compression of a lower body.

Adult numbers (one table, `LEVELS`; standard cervical radiograph norms): C3-C7 bodies
~17-20 mm wide, ~15-16 mm deep, ~13-14 mm high, discs ~5 mm; the dens ~10 mm across rising
~15 mm above C2's body; atlanto-dens interval ~2.5 mm (< 3 mm adult); C1's lateral masses
flush with C2's on the open-mouth view; prevertebral soft tissue ~3-4 mm at C2 (<= 7 mm)
and ~14 mm at C6 (<= 22 mm); spinal canal ~17 mm deep; cervical lordosis ~20-35 deg.
Body frame: x left, y anterior, z caudal; origin the neck's axis at C1's level.
"""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np

from imagine_med.engine.phantom.regions.axial.shapes import Bowl, Capsule, VertebralBody
from imagine_med.engine.phantom.regions.axial.vertebra import (
    Level,
    body_solid,
    moved,
    place,
    solid,
)
from imagine_med.engine.phantom.regions.limb.anatomy import Bone, Wrist, size_scale
from imagine_med.engine.phantom.regions.limb.shapes import Ovoid, rotation

LEVELS = (  # name, a, b, h, (ipd unused), spinous length, transverse
    Level("c3", 8.5, 7.5, 13.0, 0.0, 14.0, 11.0),
    Level("c4", 8.8, 7.6, 13.0, 0.0, 15.0, 11.0),
    Level("c5", 9.2, 7.8, 13.5, 0.0, 17.0, 12.0),
    Level("c6", 9.6, 8.0, 13.5, 0.0, 21.0, 13.0),
    Level("c7", 10.0, 8.2, 14.0, 0.0, 30.0, 16.0),
    Level("t1", 11.5, 9.5, 16.0, 0.0, 30.0, 22.0),
)
DISC_MM = 5.0
TILT_DEG = {"c2": -14.0, "c3": -10.0, "c4": -5.0, "c5": 1.0, "c6": 7.0, "c7": 12.0, "t1": 18.0}
C2 = {"a": 9.0, "b": 8.0, "h": 17.0, "y": 6.0, "z": 22.0, "dens_r": 5.0, "dens_len": 16.5}
ADI_MM = 2.5
TEARDROP_MM = 7.0  # the flexion teardrop fragment: the body's anteroinferior corner
TEARDROP_SHIFT_MM = 3.5  # the broken body driven back into the canal
SKULL_CAP_MM = 30.0  # the skull is built below this height above its centre (its base)
PREVERTEBRAL_MM = {"c2": 3.5, "c6": 14.0}  # normal thickness the airway is placed at
AIRWAY_R_MM = 7.0
ENVELOPE = {
    "z": (-300.0, -60.0, -25.0, 0.0, 110.0, 135.0, 170.0, 400.0),
    "A": (75.0, 75.0, 62.0, 55.0, 56.0, 120.0, 165.0, 165.0),
    "B": (95.0, 95.0, 78.0, 62.0, 60.0, 68.0, 95.0, 95.0),
    "x0": (0.0,) * 8,
    "fat": (6.0, 6.0, 7.0, 8.0, 9.0, 14.0, 18.0, 18.0),
}
DENS_CUT = {1: 0.82, 2: 0.13, 3: -0.3}  # where each type crosses: share of the dens' height
#   above its base (type I the tip, II the base's lower third, III below it, into the body)


def _placements(s: float) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    centres = {"c2": np.array([0.0, C2["y"], C2["z"]]) * s}
    heights = {"c2": C2["h"] * s, **{lv.name: lv.h * s for lv in LEVELS}}
    order = ["c2", *(lv.name for lv in LEVELS)]
    for up, lo in itertools.pairwise(order):
        axis = rotation(0.5 * (TILT_DEG[up] + TILT_DEG[lo]), 0, 0) @ np.array([0.0, 0, 1])
        centres[lo] = centres[up] + axis * (heights[up] / 2 + DISC_MM * s + heights[lo] / 2)
    return centres, dict(TILT_DEG)


def _subaxial(
    lv: Level, s: float, tex: int, wedge: float = 0.0, teardrop: bool = False
) -> list[Bone]:
    """A C3-T1 vertebra in its own frame; a flexion teardrop leaves its anteroinferior
    corner as a triangular fragment in front of the disc below."""
    a, b, h = lv.a * s, lv.b * s, lv.h * s
    body = body_solid(lv, s, tex, ant_loss=wedge)
    out = [body]
    if teardrop:
        c = TEARDROP_MM * s
        body.shape = replace(body.shape, corner_mm=c)
        out.append(
            Bone(
                "fragment_distal",
                Ovoid(0.7 * a, 0.32 * c, 0.32 * c, 0.8),
                np.array([0.0, b - 0.25 * c + 1.5 * s, h / 2 - 0.25 * c + 1.0 * s]),
                rotation(45, 0, 0),
                46,
                tex_offset=tex + 9,
            )
        )
        out.append(
            solid(
                "fracture_line",
                Ovoid(0.7 * a, 0.6 * s, 0.55 * c, 0.2),
                (0.0, b - 0.5 * c + 0.4 * s, h / 2 - 0.5 * c + 0.4 * s),
                rotation(45, 0, 0),
                tissue="blood_acute",
            )
        )
    for sx in (-1.0, 1.0):
        out.append(
            solid(
                "posterior_elements",
                Capsule(
                    (sx * (a - 2 * s), -b + 1 * s, -1 * s),
                    (sx * 13 * s, -b - 6 * s, 0.0),
                    3.0 * s,
                    3.0 * s,
                ),
                tex=tex + 1,
            )
        )
        out.append(
            solid(
                "articular_pillar",
                Ovoid(5.5 * s, 6.0 * s, 0.62 * h, 1.0),
                (sx * 14 * s, -b - 9 * s, 0.0),
                rotation(-30, 0, 0),
                tex=tex + 2,
            )
        )
        out.append(
            solid(
                "posterior_elements",
                Capsule(
                    (sx * 14 * s, -b - 12 * s, 1 * s),
                    (sx * 2 * s, -b - 20 * s, 3 * s),
                    2.8 * s,
                    2.8 * s,
                ),
                tex=tex + 3,
            )
        )
        out.append(
            solid(
                "transverse_process",
                Capsule(
                    (sx * a, -2 * s, 0.0),
                    (sx * (a + lv.transverse * s), -4 * s, 1 * s),
                    3.2 * s,
                    2.8 * s,
                ),
                tex=tex + 4,
            )
        )
    L = lv.spinous * s
    out.append(
        solid(
            "spinous_process",
            Capsule(
                (0.0, -b - 20 * s, 2 * s),
                (0.0, -b - 20 * s - L, 2 * s + 0.35 * L),
                3.2 * s,
                2.6 * s,
            ),
            tex=tex + 5,
        )
    )
    return out


def _peg(
    label: str,
    r: float,
    z_lo: float,
    z_hi: float,
    y: float,
    cap: bool = False,
    tissue: str | None = None,
) -> Bone:
    """A piece of the dens: a flat-ended cylinder from z_lo up to z_hi (z caudal, so
    z_hi < z_lo), its tip rounded when `cap`; a fracture's gap is a thin one."""
    top = z_hi + (r if cap else 0.0)
    length = max(z_lo - top, 0.2)
    piece = Bone(
        label,
        VertebralBody(r, r, length, length, 0.8, waist=0.0),
        np.array([0.0, y, (z_lo + top) / 2]),
        np.eye(3),
        45,
        tissue=tissue,
        tex_offset=31,
    )
    if cap:
        piece.parts.append(
            Bone(
                label,
                Ovoid(r * 0.98, r * 0.98, r, 0.8),
                np.array([0.0, y, top]),
                np.eye(3),
                45,
                tex_offset=32,
            )
        )
    return piece


def _c2(s: float, dens_type: int | None, displaced: float) -> list[Bone]:
    """C2 in its own frame: body, dens (cut by a fracture of `dens_type`), lateral masses
    (superior facets), pars, laminae and the big bifid spinous process."""
    a, b, h, r, L = (C2[k] * s for k in ("a", "b", "h", "dens_r", "dens_len"))
    base, tip = -h / 2 + 1.0 * s, -h / 2 - L
    axis_y = 1.0 * s
    out: list[Bone] = []
    top: list[Bone] = []  # what moves with the upper fragment
    if dens_type in (1, 2):
        zc = base - DENS_CUT[dens_type] * (base - tip)
        g = 0.7 * s
        out.append(_peg("dens", r, -h / 2, zc + g, axis_y))
        top.append(_peg("dens", r * 0.97, zc - g, tip, axis_y, cap=True))
        out.append(_peg("fracture_line", r * 1.05, zc + g, zc - g, axis_y, tissue="blood_acute"))
        out.append(
            Bone(
                "c2", VertebralBody(a, b, h, h, 1.0 * s), np.zeros(3), np.eye(3), 40, tex_offset=33
            )
        )
    elif dens_type == 3:  # through the body's upper cancellous bone
        cut = 5.0 * s
        g = 1.2 * s
        top.append(_peg("dens", r, -h / 2, tip, axis_y, cap=True))
        top.append(
            Bone(
                "c2",
                VertebralBody(a * 0.85, b * 0.85, cut, cut, 1.0 * s),
                np.array([0.0, 0.0, -h / 2 + cut / 2]),
                np.eye(3),
                40,
                tex_offset=33,
            )
        )
        out.append(
            Bone(
                "c2",
                VertebralBody(a, b, h - cut - g, h - cut - g, 1.0 * s),
                np.array([0.0, 0.0, (cut + g) / 2]),
                np.eye(3),
                40,
                tex_offset=35,
            )
        )
        out.append(
            solid(
                "fracture_line",
                VertebralBody(a * 0.9, b * 0.9, g, g, 0.3),
                (0.0, 0.0, -h / 2 + cut + g / 2),
                tissue="blood_acute",
            )
        )
    else:
        out.append(_peg("dens", r, -h / 2, tip, axis_y, cap=True))
        out.append(
            Bone(
                "c2", VertebralBody(a, b, h, h, 1.0 * s), np.zeros(3), np.eye(3), 40, tex_offset=33
            )
        )
    if top:  # the upper fragment: displaced back and tipped (type II is the unstable one)
        pivot = np.array([0.0, axis_y, base])
        R = rotation(displaced * 2.0, 0, 0)
        out += [moved(t, np.array([0.0, -displaced * s, 0.0]), R, pivot) for t in top]
    for sx in (-1.0, 1.0):
        out.append(
            solid(
                "c2_lateral_mass",
                Ovoid(7.0 * s, 8.0 * s, 5.5 * s, 1.0),
                (sx * 13.5 * s, 0.5 * s, -h / 2 + 2.5 * s),
                rotation(0, sx * 12, 0),
                tex=37,
            )
        )
        out.append(
            solid(
                "articular_pillar",
                Capsule(
                    (sx * 13 * s, -b - 2 * s, -h / 2 + 4 * s),
                    (sx * 13 * s, -b - 9 * s, h / 2),
                    4.0 * s,
                    4.0 * s,
                ),
                tex=39,
            )
        )
        out.append(
            solid(
                "posterior_elements",
                Capsule(
                    (sx * 13 * s, -b - 10 * s, 2 * s),
                    (sx * 2 * s, -b - 21 * s, 3 * s),
                    3.2 * s,
                    3.2 * s,
                ),
                tex=41,
            )
        )
        out.append(
            solid(
                "transverse_process",
                Capsule((sx * a, -1 * s, 0.0), (sx * (a + 9 * s), -3 * s, 1 * s), 3.2 * s, 2.6 * s),
                tex=43,
            )
        )
    out.append(
        solid(
            "spinous_process",
            Capsule((0.0, -b - 21 * s, 2 * s), (0.0, -b - 46 * s, 9 * s), 4.5 * s, 4.0 * s),
            tex=45,
        )
    )
    return out


def _c1(s: float, c2_centre: np.ndarray, spread_mm: float) -> list[Bone]:
    """C1 in the body frame: two lateral masses on C2's facets, the anterior arch in front of
    the dens, the posterior arch, the transverse processes. A Jefferson fracture breaks the
    ring front and back and spreads the lateral masses apart (`spread_mm` each side)."""
    y0 = c2_centre[1]
    z = c2_centre[2] - (C2["h"] / 2 + 5.5 + 1.8 + 6.5) * s
    dens_front = y0 + (1.0 + C2["dens_r"] + ADI_MM) * s
    out = []
    for sx in (-1.0, 1.0):
        d = np.array([sx * spread_mm, 0.0, 0.0])
        piece = [
            solid(
                "c1_lateral_mass",
                Ovoid(7.5 * s, 9.0 * s, 6.5 * s, 1.0),
                (sx * 13.0 * s, y0, z),
                tex=47,
            ),
            solid(
                "c1",
                Capsule(
                    (sx * 10 * s, y0 + 7 * s, z - 1 * s),
                    (sx * (3.0 * s if spread_mm else 0.0), dens_front + 3.5 * s, z - 1 * s),
                    3.6 * s,
                    4.2 * s,
                ),
                tex=49,
            ),
            solid(
                "c1",
                Capsule(
                    (sx * 11 * s, y0 - 8 * s, z - 1 * s),
                    (sx * (4.0 * s if spread_mm else 0.0), y0 - 37 * s, z - 2 * s),
                    3.2 * s,
                    3.8 * s,
                ),
                tex=51,
            ),
            solid(
                "transverse_process",
                Capsule(
                    (sx * 18 * s, y0, z), (sx * 36 * s, y0 - 3 * s, z - 1 * s), 4.5 * s, 3.5 * s
                ),
                tex=53,
            ),
        ]
        out += [moved(p, d) for p in piece]
        if spread_mm:  # the broken arches, front and back
            for y in (dens_front + 3.5 * s, y0 - 37 * s):
                out.append(
                    solid(
                        "fracture_line",
                        Ovoid(max(spread_mm, 1.0) + 1.0 * s, 4.0 * s, 4.5 * s, 0.3),
                        (0.0, y, z - 1.5 * s),
                        tissue="blood_acute",
                    )
                )
    return out


def _skull(s: float, open_mouth: bool) -> list[Bone]:
    """The skull's base and lowest vault (a thick shell), the maxilla, and the mandible,
    turned down about the jaw joints for the open-mouth view (whose field, C1-C2 through the
    open mouth between the upper teeth and the jaw, leaves the skull above it)."""
    vault = Bowl(72.0 * s, 78.0 * s, SKULL_CAP_MM * s)  # the skull's lowest part only
    out = [
        solid("maxilla", Ovoid(24.0 * s, 22.0 * s, 5.0 * s, 1.5), (0.0, 52 * s, -36 * s), tex=57)
    ]  # the hard palate and alveolus
    for k in range(-5, 6):  # the upper teeth along their arch, crowns down
        x = 5.2 * k
        out.append(
            solid(
                "maxilla",
                Ovoid(2.6 * s, 3.0 * s, 5.5 * s, 1.0),
                (x * s, (68.0 - 0.022 * x * x) * s, -26.0 * s),
                tissue="enamel",
            )
        )
    if not open_mouth:
        out.append(
            Bone("skull", vault, np.array([0.0, 18.0, -92.0]) * s, np.eye(3), 20, tex_offset=55)
        )
    tmj = np.array([0.0, 38.0, -22.0]) * s
    jaw = []
    for sx in (-1.0, 1.0):
        jaw.append(
            solid(
                "mandible",
                Capsule(
                    (sx * 48 * s, 38 * s, -20 * s), (sx * 44 * s, 30 * s, 28 * s), 6.5 * s, 7.5 * s
                ),
                tex=59,
            )
        )
        jaw.append(
            solid(
                "mandible",
                Capsule(
                    (sx * 44 * s, 30 * s, 30 * s), (sx * 14 * s, 82 * s, 38 * s), 7.5 * s, 8.5 * s
                ),
                tex=61,
            )
        )
    jaw.append(
        solid(
            "mandible",
            Capsule((-14 * s, 82 * s, 38 * s), (14 * s, 82 * s, 38 * s), 9.0 * s, 9.0 * s),
            tex=63,
        )
    )
    R = rotation(28.0 if open_mouth else 0.0, 0, 0)
    out += [moved(b, np.zeros(3), R, tmj) for b in jaw]
    if open_mouth:  # the open mouth's air, through which the peg view sees C1 and C2
        out.append(
            solid(
                "airway",
                Ovoid(30.0 * s, 30.0 * s, 16.0 * s, 0.1),
                (0.0, 62 * s, 2 * s),
                tissue="air",
            )
        )
    return out


def _airway(s: float, centres: dict[str, np.ndarray], swelling_mm: float) -> list[Bone]:
    """The pharynx and trachea as one air column whose back wall lies the prevertebral
    thickness in front of C2 and of C6 (`swelling_mm` more at C2: a haematoma)."""
    pts = []
    for lvl, b in (("c2", C2["b"]), ("c6", LEVELS[3].b)):
        c = centres[lvl]
        front = c[1] + b * s
        extra = swelling_mm if lvl == "c2" else swelling_mm * 0.3
        pts.append((c[2], front + (PREVERTEBRAL_MM[lvl] + extra + AIRWAY_R_MM) * s))
    (z2, y2), (z6, y6) = pts
    k = (y6 - y2) / (z6 - z2)

    def y_at(z: float) -> float:
        return y2 + k * (z - z2)

    za, zb = -28.0 * s, 150.0 * s
    air = Capsule((0.0, y_at(za), za), (0.0, y_at(zb), zb), AIRWAY_R_MM * s, AIRWAY_R_MM * s)
    return [solid("airway", air, tissue="air")]


def build_cervical(seed: int, age: float, sex: str, finding=None, view: str = "lateral") -> Wrist:
    rng = np.random.default_rng([seed, 67])
    s = size_scale(max(age, 17.0), sex) * float(1.0 + rng.uniform(-0.04, 0.04))
    pattern = finding.pattern if finding is not None else None
    centres, tilts = _placements(s)
    bones: list[Bone] = []
    dens_type = finding.grade if pattern == "dens" else None
    shift = {1: 0.0, 2: 2.5, 3: 1.5}.get(dens_type or 0, 0.0)
    bones += [
        place(b, centres["c2"], rotation(tilts["c2"], 0, 0)) for b in _c2(s, dens_type, shift)
    ]
    spread = finding.amount / 2 if pattern == "jefferson" else 0.0
    bones += _c1(s, centres["c2"], spread * s)
    for i, lv in enumerate(LEVELS):
        here = finding is not None and finding.level == lv.name
        wedge = finding.amount if here and pattern in ("wedge", "teardrop") else 0.0
        R = rotation(tilts[lv.name], 0, 0)
        # a flexion teardrop: the body (and its arch) pushed back onto the canal
        back = (
            np.array([0.0, -TEARDROP_SHIFT_MM * s, 0.0])
            if here and pattern == "teardrop"
            else np.zeros(3)
        )
        pieces = _subaxial(lv, s, 13 * i + 70, wedge, here and pattern == "teardrop")
        bones += [moved(place(b, centres[lv.name], R), back) for b in pieces]
    bones += _skull(s, open_mouth=view == "open_mouth")
    swelling = 5.0 if pattern in ("dens", "jefferson", "teardrop") else 0.0
    bones += _airway(s, centres, swelling)
    env = {k: tuple(v * s for v in vals) for k, vals in ENVELOPE.items()}
    return Wrist(bones, age, sex, s, env, region="cervical_spine", voxel_max_mm=1.1, voxel_px=2.4)
