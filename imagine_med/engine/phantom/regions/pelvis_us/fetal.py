"""Second-trimester and third-trimester biometry planes (14-40 weeks), transabdominal: the
transthalamic head plane (BPD, HC), the abdominal plane (AC) and the femur (FL), each sized
from the gestational age by Hadlock's regressions and measured back from the label map.

Hadlock FP, Deter RL, Harrist RB, Park SK. Estimating fetal age: computer-assisted analysis of
multiple fetal growth parameters. Radiology 1984;152:497-501. GA (weeks) from one parameter in
cm: BPD 9.54 + 1.482 x + 0.1676 x^2; HC 8.96 + 0.540 x + 0.0003 x^3; AC 8.14 + 0.753 x +
0.0036 x^2; FL 10.35 + 2.460 x + 0.170 x^2. BPD is measured outer-to-inner (leading edge to
leading edge) across the parietal bones at the thalami; HC and AC around the outer edge (an
ellipse fitted to the skull, to the abdominal skin line).

Probe coordinates as the pelvis plane (physics/ultrasound.Probe, curvilinear): x lateral in mm,
y depth below the centre of the probe face.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from imagine_med.engine.phantom.regions.abdomen_us.anatomy import Ellipse
from imagine_med.engine.phantom.regions.base import Grid, PlacedFinding, Sample, compose
from imagine_med.engine.phantom.tissues import TISSUES, Tissue

LABELS: dict[str, int] = {
    "skin": 1,
    "subcutaneous_fat": 2,
    "abdominal_muscle": 3,
    "uterus": 6,
    "side_marker": 60,
    "annotation": 61,
    "amniotic_fluid": 110,
    "placenta": 111,
    "fetal_scalp": 112,
    "fetal_skull": 113,
    "fetal_brain": 114,
    "falx": 115,
    "thalamus": 116,
    "cavum_septi_pellucidi": 117,
    "fetal_abdomen": 118,
    "stomach": 119,
    "umbilical_vein": 120,
    "fetal_spine": 121,
    "fetal_thigh": 122,
    "femur": 123,
}
# GA weeks = c0 + c1 x + c2 x^2 + c3 x^3, x in cm (Hadlock 1984)
HADLOCK: dict[str, tuple[float, float, float, float]] = {
    "bpd": (9.54, 1.482, 0.1676, 0.0),
    "hc": (8.96, 0.540, 0.0, 0.0003),
    "ac": (8.14, 0.753, 0.0036, 0.0),
    "fl": (10.35, 2.460, 0.170, 0.0),
}
PLANES = ("head", "abdomen", "femur")
MIN_WEEKS, MAX_WEEKS = 14.0, 40.0


def ga_weeks(param: str, mm: float) -> float:
    """Hadlock's gestational age (weeks) from one measurement in mm."""
    c0, c1, c2, c3 = HADLOCK[param]
    x = mm / 10.0
    return c0 + c1 * x + c2 * x * x + c3 * x**3


def size_mm(param: str, weeks: float) -> float:
    """The measurement (mm) Hadlock's regression gives at `weeks` (its inverse, by bisection:
    each regression rises monotonically over 0-50 cm)."""
    lo, hi = 0.0, 500.0
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if ga_weeks(param, mid) < weeks else (lo, mid)
    return (lo + hi) / 2


def ellipse_perimeter(a: float, b: float) -> float:
    """Ramanujan's approximation (semi-axes a, b)."""
    return math.pi * (3 * (a + b) - math.sqrt((3 * a + b) * (a + 3 * b)))


def semi_axis_for_perimeter(b: float, perimeter: float) -> float:
    """The other semi-axis of an ellipse with semi-axis b and the given perimeter."""
    lo, hi = 0.1, perimeter / 2
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if ellipse_perimeter(mid, b) < perimeter else (lo, mid)
    return (lo + hi) / 2


def _ramp(d: np.ndarray, soft: float) -> np.ndarray:
    return np.clip(0.5 - d / np.float32(soft), 0.0, 1.0)


def _bar(
    x: np.ndarray,
    y: np.ndarray,
    cx: float,
    cy: float,
    half_len: float,
    half_w: float,
    angle: float,
    soft: float,
) -> np.ndarray:
    """Fraction inside a rectangle (a bone shaft, the falx) of the given half sizes."""
    c, s = np.float32(math.cos(angle)), np.float32(math.sin(angle))
    dx, dy = x - np.float32(cx), y - np.float32(cy)
    u, v = dx * c + dy * s, -dx * s + dy * c
    d = np.maximum(np.abs(u) - np.float32(half_len), np.abs(v) - np.float32(half_w))
    return _ramp(d, soft)


@dataclass
class FetalPlane:
    """One biometry plane: the maternal wall, the anterior uterine wall, amniotic fluid, a
    placenta, and the fetal part (head, abdomen or thigh) with its Hadlock sizes."""

    plane: str
    weeks: float
    radius_mm: float
    wall: tuple[float, float, float]  # maternal skin, fat, rectus (mm)
    myometrium_mm: float
    placenta: Ellipse | None
    part: Ellipse  # the skull's outer edge, the abdominal skin line, or the thigh
    parts: dict[str, Ellipse] = field(default_factory=dict)
    skull_mm: float = 2.0
    femur: tuple[float, float, float, float, float] | None = None  # cx, cy, half L, half w, ang
    targets: dict[str, float] = field(default_factory=dict)
    findings: list[PlacedFinding] = field(default_factory=list)
    view: str = "fetal"
    age: int = 30
    sex: str = "female"
    uterus: None = None
    sac: None = None
    fluid_mm: float = 0.0

    def level_mm(self, plane: str, level: str | None) -> tuple[float, str]:
        return 0.0, self.view

    def depth_mm(self) -> float:
        """A field deep enough for the fetal part and 2 cm below it, in whole centimetres."""
        bottom = self.part.cy + max(self.part.a, self.part.b) + 30.0
        return float(min(240.0, max(100.0, 10.0 * math.ceil(bottom / 10.0))))

    def sample(self, grid: Grid) -> Sample:
        x, y = grid.x, grid.y
        soft = max(grid.px, 0.3)
        t = TISSUES
        depth = np.hypot(x, y + np.float32(self.radius_mm)) - np.float32(self.radius_mm)
        skin, fat, muscle = self.wall
        inner = skin + fat + muscle
        layers: list[tuple[str, Tissue, np.ndarray]] = [
            ("uterus", t["myometrium"], np.ones(x.shape, np.float32)),
            (
                "amniotic_fluid",
                t["serous_fluid"],
                _ramp(-(depth - (inner + self.myometrium_mm)), soft)
                * _ramp(depth - (self.part.cy + max(self.part.a, self.part.b) + 12.0), soft),
            ),
        ]
        layers += getattr(self, f"_{self.plane}_layers")(x, y, soft)
        if self.placenta is not None:
            layers.append(("placenta", t["placenta"], self.placenta.frac(x, y, soft)))
        layers += [
            ("uterus", t["myometrium"], _ramp(depth - (inner + self.myometrium_mm), soft)),
            ("abdominal_muscle", t["muscle"], _ramp(depth - inner, soft)),
            ("subcutaneous_fat", t["fat"], _ramp(depth - (skin + fat), soft)),
            ("skin", t["skin"], _ramp(depth - skin, soft)),
        ]
        return compose(layers, LABELS, x.shape)

    def _head_layers(self, x, y, soft) -> list[tuple[str, Tissue, np.ndarray]]:
        """Transthalamic plane: scalp, the skull's bright ellipse, brain, the midline falx
        interrupted in its anterior third by the cavum septi pellucidi, the paired thalami."""
        t, skull, p = TISSUES, self.part, self.parts
        falx = _bar(x, y, skull.cx, skull.cy, skull.a - self.skull_mm, 0.35, skull.angle, soft)
        return [
            ("fetal_scalp", t["embryo"], skull.grown(2.0).frac(x, y, soft)),
            ("fetal_skull", t["fetal_skull"], skull.frac(x, y, soft)),
            ("fetal_brain", t["fetal_brain"], skull.grown(-self.skull_mm).frac(x, y, soft)),
            ("falx", t["fibrous"], falx),
            ("thalamus", t["thalamus"], p["thalamus_a"].frac(x, y, soft)),
            ("thalamus", t["thalamus"], p["thalamus_b"].frac(x, y, soft)),
            ("cavum_septi_pellucidi", t["serous_fluid"], p["csp"].frac(x, y, soft)),
        ]

    def _abdomen_layers(self, x, y, soft) -> list[tuple[str, Tissue, np.ndarray]]:
        """Abdominal plane: skin line round the liver, the stomach bubble, the intrahepatic
        umbilical vein, and the spine's three ossification centres (bright, shadowing)."""
        t, p = TISSUES, self.parts
        out = [
            ("fetal_abdomen", t["liver"], self.part.frac(x, y, soft)),
            ("stomach", t["serous_fluid"], p["stomach"].frac(x, y, soft)),
            ("umbilical_vein", t["blood"], p["umbilical_vein"].frac(x, y, soft)),
        ]
        for k in ("spine_body", "spine_left", "spine_right"):
            out.append(("fetal_spine", t["cortical_bone"], p[k].frac(x, y, soft)))
        return out

    def _femur_layers(self, x, y, soft) -> list[tuple[str, Tissue, np.ndarray]]:
        """The thigh's soft tissue round the femoral diaphysis (ossified: bright, shadowing)."""
        assert self.femur is not None
        cx, cy, hl, hw, ang = self.femur
        return [
            ("fetal_thigh", TISSUES["embryo"], self.part.frac(x, y, soft)),
            ("femur", TISSUES["cortical_bone"], _bar(x, y, cx, cy, hl, hw, ang, soft)),
        ]


def build_fetal(rng: np.random.Generator, weeks: float, plane: str, age: int) -> FetalPlane:
    """Maternal wall (mm): skin 1.5-2.5, fat 8-25, rectus 6-10; anterior myometrium 5-9; fluid
    6-20 above the fetus; the fetal part sized by Hadlock at `weeks`."""
    u = rng.uniform
    weeks = float(np.clip(weeks, MIN_WEEKS, MAX_WEEKS))
    skin, fat, muscle = u(1.5, 2.5), u(8.0, 25.0), u(6.0, 10.0)
    myo = u(5.0, 9.0)
    wall = skin + fat + muscle + myo
    placenta, th = None, 0.0
    if u() < 0.5:  # an anterior placenta over part of the field, the fetus below it
        side = float(rng.choice([-1.0, 1.0]))
        th = 8.0 + 1.2 * weeks**0.8  # ~20 mm at 20 weeks, ~35 mm at term
        placenta = Ellipse(
            side * u(30.0, 50.0),
            wall + th / 2,
            u(45.0, 65.0),
            th / 2,
            side * math.radians(u(0.0, 6.0)),
        )
    top = wall + th + u(6.0, 20.0)
    targets = {k: size_mm(k, weeks) for k in HADLOCK}
    fp = FetalPlane(
        plane,
        weeks,
        45.0,
        (skin, fat, muscle),
        myo,
        placenta,
        Ellipse(0, 0, 1, 1),
        targets=targets,
        age=age,
    )
    getattr(_Build, plane)(fp, rng, top)
    return fp


class _Build:
    """The fetal part of each plane, from the Hadlock targets."""

    @staticmethod
    def head(fp: FetalPlane, rng: np.random.Generator, top: float) -> None:
        """Outer semi-minor b from BPD (outer-to-inner = 2b - skull), semi-major from HC
        (Ramanujan's perimeter); OFD roughly level (+/- 12 degrees), front left or right."""
        u = rng.uniform
        fp.skull_mm = 1.2 + 1.6 * (fp.weeks - MIN_WEEKS) / (MAX_WEEKS - MIN_WEEKS)
        b = (fp.targets["bpd"] + fp.skull_mm) / 2
        a = semi_axis_for_perimeter(b, fp.targets["hc"])
        ang = math.radians(u(-12.0, 12.0))
        skull = Ellipse(u(-8.0, 8.0), top + 2.0 + b, a, b, ang)
        fp.part = skull
        front = float(rng.choice([-1.0, 1.0]))  # the forehead on the image left or right
        c, s = math.cos(ang), math.sin(ang)

        def at(along: float, across: float) -> tuple[float, float]:
            return skull.cx + along * c - across * s, skull.cy + along * s + across * c

        ia, ib = a - fp.skull_mm, b - fp.skull_mm
        csp = at(front * 0.45 * ia, 0.0)
        fp.parts["csp"] = Ellipse(*csp, 0.13 * ia, 0.07 * ib + 0.6, ang)
        for k, side in (("thalamus_a", -1.0), ("thalamus_b", 1.0)):
            fp.parts[k] = Ellipse(
                *at(-front * 0.02 * ia, side * 0.17 * ib),
                0.17 * ia,
                0.13 * ib,
                ang + side * front * 0.35,
            )

    @staticmethod
    def abdomen(fp: FetalPlane, rng: np.random.Generator, top: float) -> None:
        """A near-round section (semi-axes ratio 1.04-1.12) whose perimeter is the AC; the
        spine posterolateral (its shadow off to one side), stomach and umbilical vein
        opposite."""
        u = rng.uniform
        ratio = u(1.04, 1.12)
        r = fp.targets["ac"] / ellipse_perimeter(ratio, 1.0)  # semi-axes (ratio r, r)
        ang = math.radians(u(-20.0, 20.0))
        part = Ellipse(u(-8.0, 8.0), top + 2.0 + r * ratio, r * ratio, r, ang)
        fp.part = part
        spine_dir = math.radians(90.0 + float(rng.choice([-1.0, 1.0])) * u(35.0, 70.0))
        vb = 0.09 * r + 0.6

        def polar(th: float, rr: float) -> tuple[float, float]:
            return part.cx + rr * r * math.cos(th), part.cy + rr * r * math.sin(th)

        fp.parts["spine_body"] = Ellipse(*polar(spine_dir, 0.72), vb, vb)
        for k, side in (("spine_left", -1.0), ("spine_right", 1.0)):
            fp.parts[k] = Ellipse(*polar(spine_dir + side * 0.28, 0.8), vb * 0.7, vb * 0.7)
        anterior = spine_dir + math.pi
        st = anterior + float(rng.choice([-1.0, 1.0])) * math.radians(u(60.0, 80.0))
        fp.parts["stomach"] = Ellipse(*polar(st, 0.4), 0.28 * r, 0.18 * r, st)
        fp.parts["umbilical_vein"] = Ellipse(
            *polar(anterior, 0.45), 0.4 * r, 0.045 * r + 0.5, anterior
        )

    @staticmethod
    def femur(fp: FetalPlane, rng: np.random.Generator, top: float) -> None:
        """The diaphysis as long as Hadlock's FL, 1/10 as thick (>= 1.2 mm), within 15
        degrees of perpendicular to the beam, in a thigh 1.3 times as long."""
        u = rng.uniform
        fl = fp.targets["fl"]
        ang = math.radians(u(-15.0, 15.0))
        hw = max(0.6, 0.05 * fl)
        thigh = Ellipse(
            u(-8.0, 8.0), top + 2.0 + max(0.2 * fl, 4.0), 0.65 * fl, max(0.2 * fl, 4.0), ang
        )
        fp.part = thigh
        fp.femur = (thigh.cx, thigh.cy + 0.15 * thigh.b, fl / 2, hw, ang)
