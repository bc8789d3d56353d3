"""The shoulder: proximal humerus (head, greater tuberosity, shaft) against the glenoid of a
simplified scapula (glenoid cup, blade, acromion, coracoid) and the lateral clavicle.

Limb frame (mm): x lateral, y anterior, z down the arm; origin the centre of the humeral
head. Adult numbers (one table): head ~46 mm across facing in and up, the glenoid a shallow
cup covering the head's medial third, the acromion ~1 cm above the head, the coracoid in
front; an anterior dislocation (the commonest, a fall on the outstretched, abducted and
externally rotated arm) leaves the head in front of and below the glenoid, under the
coracoid ("subcoracoid").
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from imagine_med.engine.phantom.regions.limb.anatomy import Bone, Wrist, size_scale
from imagine_med.engine.phantom.regions.limb.hip import Cup
from imagine_med.engine.phantom.regions.limb.shapes import LongBone, Ovoid, rotation

ENVELOPE = {"z": (-200.0, -60.0, -20.0, 40.0, 120.0, 400.0),
            "A": (130.0, 120.0, 75.0, 55.0, 50.0, 45.0),
            "B": (110.0, 100.0, 70.0, 55.0, 50.0, 45.0),
            "x0": (-90.0, -80.0, -30.0, -5.0, 0.0, 0.0),
            "fat": (12.0, 12.0, 10.0, 9.0, 8.0, 8.0)}
# scapula and clavicle as ovoids: label, centre, semi-axes, rotation (deg about x, y, z)
SCAPULA = (
    ("scapula", (-62.0, -18.0, 40.0), (42.0, 6.0, 70.0), (0.0, 0.0, 0.0)),
    ("scapula", (-2.0, -14.0, -36.0), (28.0, 10.0, 6.0), (0.0, -8.0, 0.0)),  # acromion
    ("scapula", (-30.0, 24.0, -18.0), (7.0, 16.0, 6.0), (0.0, 0.0, -20.0)),  # coracoid
    ("clavicle", (-70.0, 12.0, -44.0), (75.0, 8.0, 8.0), (0.0, -8.0, 0.0)),
)


def _humerus(s: float) -> Bone:
    shaft = LongBone(
        z_knots=tuple(z * s for z in (0.0, 20.0, 45.0, 90.0, 400.0)),
        a=tuple(v * s for v in (22.0, 18.0, 13.0, 11.5, 11.0)),
        b=tuple(v * s for v in (21.0, 17.0, 12.5, 11.0, 10.5)), cx=(0.0,) * 5,
        cortex=tuple(v * s for v in (0.8, 1.2, 2.5, 3.5, 3.5)),
        z_lo=0.0, z_hi=400.0 * s, dome_lo_mm=-6.0 * s, cancellous_from=1e9,
        cancellous_below=50.0 * s)
    hum = Bone("humerus", shaft, np.array([6.0, 0.0, 4.0]) * s, np.eye(3), 31, tex_offset=71)
    hum.parts.append(Bone("humeral_head", Ovoid(23.0 * s, 23.0 * s, 23.0 * s, 1.0),
                          np.zeros(3), np.eye(3), 32, tex_offset=73))
    hum.parts.append(Bone("humerus", Ovoid(10.0 * s, 12.0 * s, 14.0 * s, 0.9),
                          np.array([24.0, 2.0, 10.0]) * s, np.eye(3), 31,
                          tex_offset=75))  # greater tuberosity
    return hum


def build_shoulder(seed: int, age: float, sex: str) -> Wrist:
    rng = np.random.default_rng([seed, 43])
    s = size_scale(age, sex) * float(1.0 + rng.uniform(-0.05, 0.05))
    glenoid = Cup(25.5 * s, 31.0 * s, (1.0, 0.0, 0.0), cover=-0.72, cortex_mm=1.5)
    bones = [_humerus(s), Bone("glenoid", glenoid, np.zeros(3), np.eye(3), 30,
                               tex_offset=77)]
    for i, (label, c, semi, ang) in enumerate(SCAPULA):
        bones.append(Bone(label, Ovoid(*(v * s for v in semi), 1.2), np.array(c) * s,
                          rotation(*ang), 29 if label == "scapula" else 28, tex_offset=79 + i))
    env = {k: tuple(v * s for v in vals) for k, vals in ENVELOPE.items()}
    return Wrist(bones, age, sex, s, env, region="shoulder", fov_mm=(200.0, 200.0),
                 centre=(-20.0, 0.0, 10.0), distal_down=True, voxel_max_mm=1.3, voxel_px=3.0)


def dislocate_anterior(limb: Wrist, seed: int) -> Wrist:
    """Anterior (subcoracoid) dislocation: the humerus moved forward, in and down, the head
    coming to lie under the coracoid, the arm slightly abducted."""
    rng = np.random.default_rng([seed, 47])
    s = limb.scale
    shift = np.array([-rng.uniform(18, 26), rng.uniform(18, 26), rng.uniform(18, 26)]) * s
    R = rotation(0.0, rng.uniform(5, 12), 0.0)
    bones = []
    for b in limb.bones:
        if b.name == "humerus":
            parts = [replace(p, centre=R @ p.centre + shift, rot=R @ p.rot) for p in b.parts]
            b = replace(b, centre=R @ b.centre + shift, rot=R @ b.rot, parts=parts)
        bones.append(b)
    return replace(limb, bones=bones)
