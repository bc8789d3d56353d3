"""The elbow: distal humerus (condyles, capitellum, trochlea, epicondyles), proximal radius
and ulna (olecranon, coronoid), the anterior and posterior fat pads, extended for the AP
view and flexed 90 degrees for the lateral, as a radiographer positions it.

Limb frame (mm): x lateral (radial side), y anterior, z along the humerus toward the
forearm; origin the centre of the capitellum-trochlea axis. The forearm bones live in
their own frame (z' along the forearm), turned about x by the flexion. Adult numbers (one
table): epicondylar width ~60 mm, capitellum ~18 mm, radial head ~22 mm; the fat pads lie
in the coronoid and olecranon fossae: the anterior one shows on a normal lateral as a thin
lucent stripe along the humerus, the posterior one is hidden in its fossa unless an
effusion (a haemarthrosis round a fracture) lifts it out behind the humerus (the
"posterior fat pad sign"). Ossification (CRITOE): capitellum ~1, radial head ~4, medial
epicondyle ~6, trochlea ~8, olecranon ~10, lateral epicondyle ~11 years.
"""

from __future__ import annotations

import numpy as np

from imagine_med.engine.phantom.regions.limb.anatomy import Bone, Wrist, size_scale
from imagine_med.engine.phantom.regions.limb.shapes import LongBone, Ovoid, rotation

# part -> (bone, centre x, y, z, semi-axes, label, age it ossifies)
HUMERUS_PARTS = {
    "capitellum": ((13.0, 4.0, -2.0), (9.0, 9.0, 9.0), "capitellum", 1.0),
    "trochlea": ((-8.0, 0.0, -1.0), (11.0, 11.0, 10.0), "humerus", 8.0),
    "medial_epicondyle": ((-27.0, -3.0, -9.0), (6.0, 6.0, 7.0), "humerus", 6.0),
    "lateral_epicondyle": ((25.0, -2.0, -10.0), (4.0, 5.0, 6.0), "humerus", 11.0),
}
FAT_PADS = {  # normal position (humerus frame), semi-axes; lifted by an effusion
    "anterior_fat_pad": ((0.0, 12.5, -16.0), (15.0, 2.2, 9.0), (0.0, 17.0, -24.0)),
    "posterior_fat_pad": ((0.0, -4.0, -16.0), (12.0, 2.2, 8.0), (0.0, -15.5, -24.0)),
}
ENVELOPE = {"z": (-300.0, -60.0, -10.0, 10.0, 40.0, 300.0),
            "A": (40.0, 36.0, 38.0, 34.0, 30.0, 30.0),
            "B": (42.0, 36.0, 34.0, 32.0, 30.0, 30.0),
            "x0": (0.0,) * 6, "fat": (6.0, 5.0, 4.0, 4.0, 4.0, 4.0)}


ENVELOPE_FLEXED = {"z": (-300.0, -60.0, -10.0, 6.0, 14.0, 300.0),
                   "A": (40.0, 36.0, 38.0, 34.0, 0.01, 0.01),
                   "B": (42.0, 36.0, 34.0, 30.0, 0.01, 0.01),
                   "x0": (0.0,) * 6, "fat": (6.0, 5.0, 4.0, 4.0, 0.005, 0.005)}


def _humerus(s: float, age: float) -> Bone:
    zk = tuple(z * s for z in (-300.0, -70.0, -40.0, -22.0, -12.0, -6.0))
    shape = LongBone(
        z_knots=zk, a=tuple(v * s for v in (11.0, 11.5, 15.0, 24.0, 28.0, 24.0)),
        b=tuple(v * s for v in (10.0, 10.0, 9.5, 9.0, 8.5, 8.0)), cx=(0.0,) * 6,
        cortex=tuple(v * max(s, 0.6) for v in (3.5, 3.0, 1.6, 0.9, 0.8, 0.8)),
        z_lo=-300.0 * s, z_hi=-6.0 * s, dome_hi_mm=2.0 * s, cancellous_from=-45.0 * s)
    hum = Bone("humerus", shape, np.zeros(3), np.eye(3), 30, tex_offset=31)
    for i, (c, semi, label, onset) in enumerate(HUMERUS_PARTS.values()):
        k = float(np.clip(0.4 + (age - onset) / 6.0, 0.0, 1.0)) if age >= onset else 0.0
        if k <= 0:
            continue
        hum.parts.append(Bone(label, Ovoid(*(v * s * k for v in semi), 0.8),
                              np.array(c) * s, np.eye(3), 33 if label == "capitellum" else 30,
                              tex_offset=37 + i))
    return hum


def _forearm(s: float, age: float, flex: np.ndarray) -> list[Bone]:
    """Ulna (with olecranon and coronoid) and radius (head, neck, shaft), placed by the
    flexion rotation about the elbow centre."""
    ulna_shape = LongBone(
        z_knots=tuple(z * s for z in (0.0, 12.0, 35.0, 80.0, 250.0)),
        a=tuple(v * s for v in (10.0, 8.0, 7.0, 6.0, 5.5)),
        b=tuple(v * s for v in (12.0, 10.0, 8.0, 6.5, 5.5)), cx=(0.0,) * 5,
        cortex=tuple(v * max(s, 0.6) for v in (0.8, 1.2, 2.0, 2.5, 2.5)),
        z_lo=0.0, z_hi=250.0 * s, dome_lo_mm=-2.0 * s, cancellous_below=25.0 * s)
    ulna = Bone("ulna", ulna_shape, flex @ (np.array([-8.0, -2.0, 8.0]) * s), flex, 28,
                tex_offset=41)
    if age >= 9.0:
        ulna.parts.append(Bone("ulna", Ovoid(9.0 * s, 8.0 * s, 12.0 * s, 0.8),
                               flex @ (np.array([-8.0, -11.0, -3.0]) * s), flex, 28,
                               tex_offset=43))
    ulna.parts.append(Bone("ulna", Ovoid(5.0 * s, 6.0 * s, 5.0 * s, 0.7),
                           flex @ (np.array([-8.0, 9.0, 6.0]) * s), flex, 28, tex_offset=45))
    radius_shape = LongBone(
        z_knots=tuple(z * s for z in (0.0, 8.0, 11.0, 25.0, 60.0, 250.0)),
        a=tuple(v * s for v in (11.0, 11.0, 6.5, 6.5, 7.0, 8.0)),
        b=tuple(v * s for v in (11.0, 11.0, 6.5, 6.5, 7.0, 7.0)), cx=(0.0,) * 6,
        cortex=tuple(v * max(s, 0.6) for v in (0.8, 0.8, 1.8, 2.0, 2.4, 2.4)),
        z_lo=0.0, z_hi=250.0 * s, dome_lo_mm=-1.5 * s, cancellous_below=10.0 * s)
    radius = Bone("radius", radius_shape, flex @ (np.array([13.0, 3.0, 11.0]) * s), flex, 29,
                  tex_offset=47)
    if age < 4.0:  # the radial head is still cartilage
        radius = Bone("radius", LongBone(
            z_knots=radius_shape.z_knots, a=radius_shape.a, b=radius_shape.b,
            cx=radius_shape.cx, cortex=radius_shape.cortex, z_lo=10.0 * s,
            z_hi=radius_shape.z_hi), radius.centre, flex, 29, tex_offset=47)
    return [ulna, radius]


def fat_pads(s: float, lifted: bool) -> list[Bone]:
    """The two fat pads as fat-filled ovoids (label and tissue: fat)."""
    out = []
    for name, (c, semi, up) in FAT_PADS.items():
        centre = np.array(up if lifted else c) * s
        tilt = rotation(30.0 if name.startswith("anterior") else -30.0, 0, 0) if lifted \
            else np.eye(3)
        out.append(Bone(name, Ovoid(*(v * s for v in semi), cortex_mm=0.0), centre, tilt, 9))
    return out


def build_elbow(seed: int, age: float, sex: str, flexed: bool) -> Wrist:
    rng = np.random.default_rng([seed, 31])
    s = size_scale(age, sex) * float(1.0 + rng.uniform(-0.05, 0.05)) * 1.05
    flex = rotation(-90.0 if flexed else 0.0, 0.0, 0.0)
    bones = [_humerus(s, age), *_forearm(s, age, flex)]
    caps = ((flex @ (np.array([0.0, 0.0, -10.0]) * s), flex @ (np.array([0.0, 0.0, 300.0]) * s),
             32.0 * s),)
    table = ENVELOPE_FLEXED if flexed else ENVELOPE  # flexed: the arm ends at the elbow
    env = {k: tuple(v * s for v in vals) for k, vals in table.items()}
    return Wrist(bones, age, sex, s, env, region="elbow", fov_mm=(160.0, 150.0),
                 centre=(0.0, 8.0 if flexed else 0.0, -5.0), distal_down=True,
                 fingers=caps)
