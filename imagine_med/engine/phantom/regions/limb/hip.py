"""The hip: proximal femur (head, neck at its neck-shaft angle, greater and lesser
trochanters, shaft) in an acetabulum of a simplified hemipelvis (the acetabular cup, the
iliac blade above it, the superior pubic ramus and the ischium round the obturator foramen).

Limb frame (mm): x lateral, y anterior, z distal (down the thigh); origin the centre of the
femoral head. The femur is one bone whose own frame runs along the neck (z from the head's
centre to the neck's base), carrying the head, trochanters and shaft as parts, so a
femoral-neck fracture cuts it across the neck and a dislocation moves it whole. Adult
numbers (one table): head ~48 mm across, neck-shaft angle ~130 deg, anteversion ~12 deg,
neck ~50 mm to the shaft, shaft ~30 mm across with a ~5 mm cortex, acetabulum covering the
head's upper two thirds with ~4 mm of cartilage space.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from imagine_med.engine.phantom.regions.limb.anatomy import Bone, Wrist, size_scale
from imagine_med.engine.phantom.regions.limb.shapes import LongBone, Ovoid, rotation

NECK_SHAFT_DEG = 130.0
ANTEVERSION_DEG = 12.0
ENVELOPE = {"z": (-200.0, -60.0, 0.0, 80.0, 200.0, 400.0),
            "A": (120.0, 125.0, 120.0, 95.0, 80.0, 75.0),
            "B": (95.0, 100.0, 100.0, 85.0, 75.0, 70.0),
            "x0": (-60.0, -55.0, -45.0, -10.0, 10.0, 10.0),
            "fat": (18.0, 18.0, 16.0, 14.0, 12.0, 12.0)}


@dataclass
class Cup:
    """A hemispherical shell (the acetabulum) of inner and outer radius, open toward
    `opening` (a unit vector) beyond `cover` (cosine): depth is to the nearer surface."""

    r_in: float
    r_out: float
    opening: tuple[float, float, float]
    cover: float = 0.15
    cortex_mm: float = 1.5

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        r = np.full(3, self.r_out + 0.5)
        return -r, r

    def depth(self, x, y, z):
        r = np.sqrt(x * x + y * y + z * z)
        o = self.opening
        facing = (x * o[0] + y * o[1] + z * o[2]) / np.maximum(r, 1e-6)
        d = np.minimum(r - self.r_in, self.r_out - r)
        d = np.where(facing > self.cover, -1.0, d)
        return d, np.full_like(d, self.cortex_mm)

    def is_cancellous(self, z):
        return np.ones(np.shape(z), bool)


def _neck_rotation() -> np.ndarray:
    """Local z (head -> neck base) points lateral and down, 180 - neck-shaft angle from the
    shaft's axis, and back by the anteversion (the head lies in front of the shaft)."""
    return rotation(ANTEVERSION_DEG, 180.0 - NECK_SHAFT_DEG, 0.0)


def dislocate(limb: Wrist, seed: int) -> Wrist:
    """Posterior dislocation (a dashboard injury): the head driven out behind and above the
    acetabulum, the femur adducted and turned in; every part of the femur moves with it."""
    from dataclasses import replace

    rng = np.random.default_rng([seed, 41])
    s = limb.scale
    shift = np.array([rng.uniform(2, 8), -rng.uniform(18, 26), -rng.uniform(20, 30)]) * s
    R = rotation(0.0, -rng.uniform(8, 14), rng.uniform(20, 30))  # adducted, internally turned
    bones = []
    for b in limb.bones:
        if b.name == "femur":
            parts = [replace(p, centre=R @ p.centre + shift, rot=R @ p.rot) for p in b.parts]
            b = replace(b, centre=R @ b.centre + shift, rot=R @ b.rot, parts=parts)
        bones.append(b)
    return replace(limb, bones=bones)


def _femur(s: float) -> Bone:
    R = _neck_rotation()
    neck_len = 52.0 * s
    neck = LongBone(
        z_knots=tuple(z * s for z in (0.0, 14.0, 30.0, 44.0, 52.0)),
        a=tuple(v * s for v in (17.0, 15.0, 14.0, 16.0, 19.0)),
        b=tuple(v * s for v in (17.0, 13.0, 12.0, 14.0, 17.0)), cx=(0.0,) * 5,
        cortex=tuple(v * s for v in (1.0, 1.6, 2.2, 1.8, 1.2)),
        z_lo=0.0, z_hi=neck_len, cancellous_from=-1.0)
    femur = Bone("femur", neck, np.zeros(3), R, 30, tex_offset=51)
    base = R @ np.array([0.0, 0.0, neck_len])
    femur.parts.append(Bone("femoral_head", Ovoid(24.0 * s, 24.0 * s, 24.0 * s, 1.0),
                            np.zeros(3), np.eye(3), 31, tex_offset=53))
    femur.parts.append(Bone("femur", Ovoid(15.0 * s, 17.0 * s, 22.0 * s, 1.2),
                            base + np.array([12.0, -6.0, -8.0]) * s, np.eye(3), 30,
                            tex_offset=55))  # greater trochanter
    femur.parts.append(Bone("femur", Ovoid(8.0 * s, 8.0 * s, 11.0 * s, 1.0),
                            base + np.array([-16.0, -10.0, 30.0]) * s, rotation(0, 30, 0), 30,
                            tex_offset=57))  # lesser trochanter
    shaft = LongBone(z_knots=tuple(z * s for z in (0.0, 30.0, 80.0, 400.0)),
                     a=tuple(v * s for v in (22.0, 17.0, 15.0, 14.0)),
                     b=tuple(v * s for v in (20.0, 16.0, 15.0, 14.0)), cx=(0.0,) * 4,
                     cortex=tuple(v * s for v in (1.2, 3.0, 5.0, 5.5)), z_lo=0.0,
                     z_hi=400.0 * s, cancellous_from=1e9, cancellous_below=40.0 * s)
    femur.parts.append(Bone("femur", shaft, base + np.array([4.0, 0.0, -8.0]) * s, np.eye(3),
                            30, tex_offset=59))
    return femur


def _pelvis(s: float) -> list[Bone]:
    cup = Cup(26.5 * s, 34.0 * s, (0.72, 0.15, 0.68))
    out = [Bone("acetabulum", cup, np.zeros(3), np.eye(3), 29, tex_offset=61)]
    for i, (c, semi, ang) in enumerate((
            ((-22.0, -8.0, -62.0), (40.0, 11.0, 42.0), (10.0, 20.0, 0.0)),   # ilium
            ((-52.0, 14.0, 22.0), (34.0, 8.0, 9.0), (0.0, -25.0, 0.0)),      # pubic ramus
            ((-18.0, -18.0, 44.0), (12.0, 12.0, 28.0), (0.0, -10.0, 0.0)),  # ischium
            ((-62.0, 6.0, 62.0), (26.0, 7.0, 8.0), (0.0, 30.0, 0.0)))):    # inferior ramus
        out.append(Bone("pelvis", Ovoid(*(v * s for v in semi), 1.4),
                        np.array(c) * s, rotation(*ang), 28, tex_offset=63 + i))
    return out


def build_hip(seed: int, age: float, sex: str) -> Wrist:
    rng = np.random.default_rng([seed, 37])
    s = size_scale(age, sex) * float(1.0 + rng.uniform(-0.05, 0.05))
    bones = [_femur(s), *_pelvis(s)]
    env = {k: tuple(v * s for v in vals) for k, vals in ENVELOPE.items()}
    return Wrist(bones, age, sex, s, env, region="hip", fov_mm=(210.0, 210.0),
                 centre=(10.0, 0.0, 35.0), distal_down=True, voxel_max_mm=1.3,
                 voxel_px=3.0)
