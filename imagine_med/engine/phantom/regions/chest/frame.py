"""The chest's seeded frame: body size and habitus, vertebral levels, the thoracic cavity and
the landmarks every later step (thorax, mediastinum, abdomen, lungs, bones, findings) hangs
its structures on; plus the seeded draws (`Rand`) and what findings change before the build
(`Adjust`).

Every size comes from a seeded draw inside adult (or age-scaled) ranges, so no two seeds share
a geometry and none is measured from a real person.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.special import ndtr

from imagine_med.engine.phantom.geometry import Convex, Tubes, ellipsoid, halfspace
from imagine_med.engine.phantom.scene import Component, Scene

SIDES = {"right": -1.0, "left": 1.0}
LOBES = ("rul", "rml", "rll", "lul", "lingula", "lll")
LOBE_SIDE = {"rul": "right", "rml": "right", "rll": "right", "lul": "left", "lingula": "left",
             "lll": "left"}


class Rand:
    """Seeded draws; with `variation` > 0 every draw is pulled toward the base seed's draw,
    so a "V" variant keeps the anatomy of the image it came from, only nudged."""

    def __init__(self, seed: int, base_seed: int | None = None, variation: float = 0.0):
        self.a = np.random.default_rng(seed)
        self.v = float(np.clip(variation, 0.0, 1.0))
        self.b = np.random.default_rng(base_seed) if base_seed is not None and self.v > 0 else None

    def normal(self, size=None):
        z = self.a.standard_normal(size)
        if self.b is not None:
            zb = self.b.standard_normal(size)
            v = self.v
            z = ((1 - v) * zb + v * z) / np.sqrt((1 - v) ** 2 + v**2)
        return z

    def uniform(self, lo: float, hi: float, size=None):
        return lo + (hi - lo) * ndtr(self.normal(size))

    def choice(self, options):
        i = int(self.uniform(0, len(options) - 1e-9))
        return options[i]

    def chance(self, p: float) -> bool:
        return bool(self.uniform(0, 1) < p)


@dataclass
class Adjust:
    """How findings alter the normal anatomy before it is built."""

    ctr: float | None = None
    dome_shift: dict[str, float] = field(default_factory=lambda: {"right": 0.0, "left": 0.0})
    dome_flatten: float = 1.0
    shift_x: float = 0.0  # mediastinal shift, + toward the patient's left
    lung_material: str = "lung"
    vessel_scale_upper: float = 1.0
    vessel_scale_periphery: float = 1.0
    rib_fracture: tuple[str, int, float, float] | None = None  # side, rib, phi, displacement
    liver_top_drop: float = 0.0
    mediastinum_widen: float = 1.0


@dataclass
class Anatomy:
    """Named pieces the pathology builder reuses (so a finding follows the anatomy)."""

    scene: Scene
    lobe_pieces: dict[str, Convex]
    lobe_holes: dict[str, list[Convex]]
    side_envelope: dict[str, Convex]
    side_holes: dict[str, list[Convex]]
    cavity: Convex
    domes: dict[str, object]
    heart: list[Convex]
    hila: dict[str, np.ndarray]
    trees: dict[str, Tubes]
    bronchi: dict[str, Tubes]
    ribs: dict[tuple[str, int], np.ndarray]
    body_pieces: list[Convex]
    comps: dict[str, Component]
    # CT: the bronchi down to ~2 mm across, for air bronchograms (empty: use `bronchi`)
    air_bronchi: dict[str, Tubes] = field(default_factory=dict)


def size_for_age(age: int | None, age_group: str | None) -> float:
    if age is None:
        age = {"neonate": 0, "infant": 1, "child": 7, "adolescent": 15, "elderly": 75}.get(
            age_group or "", 40)
    if age >= 17:
        return 1.0
    return float(0.36 + 0.64 * (1 - np.exp(-age / 6.5)) / (1 - np.exp(-17 / 6.5)))


@dataclass
class Frame:
    """One seed's chest frame: what every step reads. Lengths in mm (x to the patient's left,
    y anterior, z up, carina at z 0); `s` the body-size factor, `hv` one vertebral level."""

    rand: Rand
    adjust: Adjust
    view: str
    posture: str
    female: bool
    age: int
    elderly: bool
    s: float
    wf: float
    df: float
    fat: float
    hv: float
    a_mid: float
    b_mid: float
    y_cav: float
    z_dome_r: float
    z_dome_l: float
    zc: float
    apex_z: float
    rz_cav: float
    cav_center: np.ndarray
    cav_radii: np.ndarray
    cavity: Convex
    land: dict[str, float]
    scene: Scene
    comps: dict[str, Component]
    shift: float

    def zT(self, k: float) -> float:
        """z (mm) of the centre of thoracic vertebra k (T5 at z 0; fractions between)."""
        return -(k - 5.0) * self.hv

    def cav_ab(self, z: float) -> tuple[float, float]:
        """Half-width and half-depth of the thoracic cavity at height z (a number or an
        array of heights)."""
        f = np.sqrt(np.maximum(1e-4, 1 - ((z - self.zc) / self.rz_cav) ** 2))
        return self.a_mid * f, self.b_mid * f


def make_frame(rand: Rand, sex: str, age: int, posture: str, adjust: Adjust,
               view: str = "pa") -> Frame:
    """The seeded sizes and levels, the cavity and the landmarks (first draws of `rand`)."""
    female = sex == "female"
    s = size_for_age(age, None) * (0.93 if female and age >= 14 else 1.0)
    s *= rand.uniform(0.94, 1.06)
    wf = rand.uniform(0.92, 1.08)  # habitus: width
    df = rand.uniform(0.92, 1.08)  # habitus: depth
    fat = s * rand.uniform(8, 24) * (1.25 if female else 1.0) * (0.6 if age < 14 else 1.0)
    elderly = age >= 65
    hv = 24.0 * s * rand.uniform(0.96, 1.04)

    def zT(k: float) -> float:
        return -(k - 5.0) * hv

    a_mid = 134.0 * s * wf
    b_mid = 94.0 * s * df
    y_cav = -4.0 * s
    insp = rand.uniform(-10, 10) * s
    if view == "ap":
        insp += 18 * s  # supine, less inspiration: domes higher
    z_dome_r = zT(9.8) + insp + adjust.dome_shift["right"]
    dome_gap = rand.uniform(8, 24) * s if rand.chance(0.93) else rand.uniform(0, 4)
    z_dome_l = zT(9.8) + insp - dome_gap + adjust.dome_shift["left"]
    zc = zT(9.6) + insp  # level of the widest lung
    apex_z = zT(1) + rand.uniform(14, 28) * s
    rz_cav = apex_z + 3 - zc
    cav_center = np.array([0.0, y_cav, zc])
    cav_radii = np.array([a_mid, b_mid, rz_cav])
    cavity = ellipsoid(cav_center, cav_radii)

    land: dict[str, float] = {
        "size": s, "z_carina": 0.0, "z_dome_right": z_dome_r, "z_dome_left": z_dome_l,
        "z_apex": apex_z, "hv": hv, "a_mid": a_mid, "b_mid": b_mid, "y_cav": y_cav,
        "fat": fat,
    }
    for k in range(1, 13):
        land[f"t{k}"] = zT(k)
    land["z_arch"] = zT(3.6) + (8 * s if elderly else 0)
    land["z_pulmonary_trunk"] = zT(5.8)
    land["z_heart"] = (zT(5.8) + z_dome_l) / 2
    land["z_bases"] = z_dome_r - 12 * s
    land["z_inlet"] = zT(1)
    land["z_apices"] = apex_z - 25 * s

    scene = Scene(components=[], landmarks=land, posture=posture)
    comps: dict[str, Component] = {}
    shift = adjust.shift_x
    return Frame(rand, adjust, view, posture, female, age, elderly, s, wf, df, fat, hv, a_mid,
                 b_mid, y_cav, z_dome_r, z_dome_l, zc, apex_z, rz_cav, cav_center, cav_radii,
                 cavity, land, scene, comps, shift)


def rhombus(cx: float, cy: float, ax: float, by: float, ztop: float, zbot: float,
            taper: float = 0.5) -> Convex:
    """A prism with a rhombic cross-section (half-diagonals ax across, by deep at mid-height):
    the lung beside it thins linearly to nothing, so on a film it leaves no step edge; it
    widens downward (`taper`: relative change of width top to bottom), as the mediastinum
    does toward the heart, so its sides are not vertical lines either."""
    zm = (ztop + zbot) / 2
    k = taper / (ztop - zbot)  # d(width)/dz relative to ax, negative up
    # sx (x - cx) / ax + sy (y - cy) / by <= 1 + k (zm - z)
    planes = [halfspace([sx / ax, sy / by, k], 1 + sx * cx / ax + sy * cy / by + k * zm)
              for sx in (-1, 1) for sy in (-1, 1)]
    grow = 1 + taper / 2
    return Convex([*planes, halfspace([0, 0, 1], ztop), halfspace([0, 0, -1], -zbot)],
                  (np.array([cx - ax * grow, cy - by * grow, zbot]),
                   np.array([cx + ax * grow, cy + by * grow, ztop])))

