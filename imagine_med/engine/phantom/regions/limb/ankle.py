"""The ankle: distal tibia with its medial malleolus, distal fibula with the lateral
malleolus, talus, calcaneus, navicular and cuboid, the leg's soft tissue and the foot.

Limb frame (mm): x lateral (the fibula's side), y anterior, z distal (toward the sole);
origin the centre of the tibial plafond. Adult numbers (one table, `ANKLE`): tibia ~24 mm
across the shaft, ~46 mm across the metaphysis; medial malleolus ~12 mm below the plafond;
lateral malleolus reaching ~1 cm lower than the medial and lying posterior; the tibiofibular
syndesmosis over the ~10-15 mm above the plafond; a 3-4 mm joint space over the talar dome
(standard ankle radiograph norms: medial clear space <= 4 mm, tibiofibular clear space
< 6 mm). Growth: distal tibial and fibular physes close ~15-16 (F) / 17-18 (M) years.
"""

from __future__ import annotations

import numpy as np

from imagine_med.engine.phantom.regions.limb.anatomy import (
    Bone,
    Physis,
    Wrist,
    size_scale,
)
from imagine_med.engine.phantom.regions.limb.shapes import LongBone, Ovoid, rotation

PHYSIS_CLOSES = {"female": 15.5, "male": 17.5}
# bone -> (centre x, y, z; semi-axes; rotation about x, y, z; label priority)
FOOT_BONES: dict[str, tuple[tuple[float, float, float], tuple[float, float, float],
                            tuple[float, float, float], int]] = {
    "talus": ((4.0, 2.0, 14.0), (12.5, 16.0, 11.0), (0.0, 0.0, 0.0), 26),
    "talar_neck": ((-2.0, 24.0, 21.0), (10.0, 12.0, 8.5), (30.0, 0.0, 0.0), 25),
    "calcaneus": ((5.0, -10.0, 42.0), (15.0, 32.0, 15.0), (-12.0, 0.0, 0.0), 24),
    "navicular": ((-6.0, 40.0, 28.0), (13.0, 6.0, 10.0), (0.0, 0.0, 0.0), 23),
    "cuboid": ((14.0, 36.0, 40.0), (10.0, 12.0, 10.0), (0.0, 0.0, 0.0), 23),
}
LABEL_OF = {"talar_neck": "talus"}
ENVELOPE = {"z": (-300.0, -80.0, -20.0, 0.0, 30.0, 200.0),
            "A": (38.0, 33.0, 36.0, 38.0, 36.0, 36.0),
            "B": (40.0, 32.0, 30.0, 30.0, 30.0, 30.0),
            "x0": (-2.0, 0.0, 2.0, 2.0, 2.0, 2.0),
            "fat": (5.0, 4.5, 4.0, 4.0, 4.0, 4.0)}
# the foot: an ellipsoid, centre x, y, z and semi-axes across, along, high
FOOT = (2.0, 50.0, 44.0, 42.0, 100.0, 24.0)


def _tibia(s: float, age: float, sex: str, j: np.ndarray) -> Bone:
    zk = tuple(z * s for z in (-300.0, -90.0, -50.0, -20.0, -6.0, 0.0))
    shape = LongBone(
        z_knots=zk, a=tuple(v * s * j[0] for v in (12.5, 12.5, 14.0, 17.0, 19.0, 19.0)),
        b=tuple(v * s * j[0] for v in (11.5, 11.5, 12.5, 15.0, 17.0, 17.0)),
        cx=(0.0,) * 6, cortex=tuple(v * max(s, 0.6) for v in (4.0, 3.6, 2.0, 1.1, 0.9, 1.0)),
        z_lo=-300.0 * s, z_hi=0.0, dome_hi_mm=-1.0 * s, cancellous_from=-55.0 * s)
    physis = Physis(z0=-14.0 * s, slope=0.0, thick_mm=max(2.2, 3.0 * s), meta_mm=18.0 * s) \
        if age < PHYSIS_CLOSES[sex] else None
    tibia = Bone("tibia", shape, np.zeros(3), np.eye(3), 30, physis, tex_offset=13)
    mall = Ovoid(5.0 * s, 9.0 * s, 10.0 * s, 0.9)
    tibia.parts.append(Bone("tibia", mall, np.array([-15.0, 2.0, 3.0]) * s,
                            rotation(0, -8, 0), 30, tex_offset=17))
    return tibia


def _fibula(s: float, age: float, sex: str, j: np.ndarray) -> Bone:
    L = 22.0 * s  # the malleolus' tip below the plafond
    zk = (*tuple(z * s for z in (-300.0, -80.0, -30.0, -8.0, 10.0)), L)
    shape = LongBone(
        z_knots=zk, a=tuple(v * s * j[1] for v in (7.0, 6.5, 6.5, 8.5, 9.0, 7.0)),
        b=tuple(v * s * j[1] for v in (7.0, 6.5, 7.0, 10.5, 11.5, 8.0)),
        cx=(0.0,) * 6, cortex=tuple(v * max(s, 0.6) for v in (2.2, 2.2, 1.8, 0.9, 0.8, 0.8)),
        z_lo=-300.0 * s, z_hi=L, dome_hi_mm=8.0 * s, cancellous_from=-30.0 * s)
    physis = Physis(z0=-2.0 * s, slope=0.0, thick_mm=max(2.0, 2.6 * s), meta_mm=12.0 * s) \
        if age < PHYSIS_CLOSES[sex] + 0.5 else None
    return Bone("fibula", shape, np.array([27.0 * s * j[2], -7.0 * s, 0.0]), np.eye(3), 28,
                physis, tex_offset=19)


def build_ankle(seed: int, age: float, sex: str) -> Wrist:
    rng = np.random.default_rng([seed, 23])
    j = 1.0 + rng.uniform(-0.05, 0.05, 6)
    s = size_scale(age, sex) * 1.0 * float(j[5])
    bones = [_tibia(s, age, sex, j), _fibula(s, age, sex, j)]
    for i, (name, (c, semi, ang, prio)) in enumerate(FOOT_BONES.items()):
        if name in ("navicular",) and age < 3:
            continue  # ossifies at ~3 years
        shape = Ovoid(*(v * s for v in semi), cortex_mm=0.9 * max(s, 0.6))
        centre = np.array(c) * s + rng.normal(0, 0.4, 3) * s
        bones.append(Bone(LABEL_OF.get(name, name), shape, centre, rotation(*ang), prio,
                          tex_offset=5 * i + 29))
    env = {k: tuple(v * s for v in vals) for k, vals in ENVELOPE.items()}
    return Wrist(bones, age, sex, s, env, region="ankle", fov_mm=(140.0, 120.0),
                 centre=(4.0, 0.0, -22.0), distal_down=True, foot=FOOT)
