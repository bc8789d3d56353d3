"""A seeded midline sagittal plane of the pelvis for a transabdominal curvilinear probe: the
full bladder as the window, the uterus behind it (or the prostate in a man), the rectum
behind; findings: a first-trimester intrauterine pregnancy (gestational sac, yolk sac,
embryo sized by gestational age) and free fluid in the rectouterine (or rectovesical)
pouch, the pelvic view of a FAST scan.

Probe coordinates (physics/ultrasound.Probe): x along the body in mm, cranial on the image
left (as sonographers orient sagittal views), y depth below the centre of the probe face.
Sizes: uterus 70-90 x 30-45 mm in a nulliparous adult, endometrium 4-12 mm by cycle phase
(Callen, Ultrasonography in Obstetrics and Gynecology, 6th ed.). Gestational age from the
crown-rump length: Robinson and Fleming (BJOG 1975), GA days = 8.052 sqrt(CRL mm) + 23.73;
mean sac diameter about GA days - 30 (Hellman 1969); the yolk sac seen from about 5.5 weeks,
3-6 mm; the embryo from about 6 weeks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from imagine_med.engine.phantom.regions.abdomen_us.anatomy import Ellipse
from imagine_med.engine.phantom.regions.base import Grid, PlacedFinding, Sample, compose
from imagine_med.engine.phantom.tissues import TISSUES, Tissue

LABELS: dict[str, int] = {
    "skin": 1, "subcutaneous_fat": 2, "abdominal_muscle": 3, "bladder": 4, "bladder_wall": 5,
    "uterus": 6, "endometrium": 7, "cervix": 8, "rectum": 9, "bowel": 10, "prostate": 11,
    "pelvic_floor": 12,
    "side_marker": 60, "annotation": 61,
    "gestational_sac": 100, "yolk_sac": 101, "embryo": 102, "free_fluid": 103, "decidua": 104,
}
ROBINSON_A, ROBINSON_B = 8.052, 23.73  # GA days = A sqrt(CRL mm) + B
YOLK_SAC_FROM_DAYS = 38  # ~5.5 weeks
EMBRYO_FROM_DAYS = 42  # 6 weeks (CRL ~ 4 mm)


def crl_for_days(days: float) -> float:
    """Crown-rump length (mm) at a gestational age in days (Robinson's formula inverted)."""
    return max(0.0, (days - ROBINSON_B) / ROBINSON_A) ** 2


def days_for_crl(crl_mm: float) -> float:
    return ROBINSON_A * math.sqrt(max(crl_mm, 0.0)) + ROBINSON_B


def _ramp(d: np.ndarray, soft: float) -> np.ndarray:
    return np.clip(0.5 - d / np.float32(soft), 0.0, 1.0)


@dataclass
class PelvisPlane:
    sex: str
    radius_mm: float
    wall: tuple[float, float, float]  # skin, fat, rectus thickness (mm)
    bladder: Ellipse
    bladder_wall_mm: float
    uterus: Ellipse | None  # female
    endometrium: Ellipse | None
    cervix: Ellipse | None
    prostate: Ellipse | None  # male
    rectum: Ellipse
    sac: Ellipse | None = None
    yolk: Ellipse | None = None
    embryo: Ellipse | None = None
    fluid_mm: float = 0.0
    findings: list[PlacedFinding] = field(default_factory=list)
    view: str = "pelvis"
    age: int = 30

    def level_mm(self, plane: str, level: str | None) -> tuple[float, str]:
        return 0.0, self.view

    def pouch(self) -> Ellipse:
        """The deepest peritoneal recess: behind the uterus above the rectum (pouch of
        Douglas), or between bladder and rectum in a man."""
        organ = self.uterus if self.uterus is not None else self.bladder
        c, s = math.cos(organ.angle), math.sin(organ.angle)
        # the organ's posterior surface, toward the cervix (image right)
        px, py = organ.point(0.5 * math.pi - 0.35)
        return Ellipse(px + 4.0 * c, py + 4.0 + 0.0 * s, 16.0 + 1.2 * self.fluid_mm,
                       self.fluid_mm / 2 + 0.5, organ.angle)

    def sample(self, grid: Grid) -> Sample:
        x, y = grid.x, grid.y
        soft = max(grid.px, 0.3)
        t = TISSUES
        depth = np.hypot(x, y + np.float32(self.radius_mm)) - np.float32(self.radius_mm)
        skin, fat, muscle = self.wall
        one = np.ones(x.shape, np.float32)
        layers: list[tuple[str, Tissue, np.ndarray]] = [
            ("bowel", t["mesenteric_fat"], one),
            ("pelvic_floor", t["muscle"], _ramp(-(y - (self.rectum.cy + self.rectum.b + 8.0)),
                                                soft)),
            ("rectum", t["muscle"], self.rectum.frac(x, y, soft)),
            ("rectum", t["air"], self.rectum.grown(-4.0).frac(x, y, soft)),
        ]
        if self.fluid_mm > 0:
            layers.append(("free_fluid", t["serous_fluid"], self.pouch().frac(x, y, soft)))
        if self.prostate is not None:
            layers.append(("prostate", t["kidney_cortex"], self.prostate.frac(x, y, soft)))
        if self.uterus is not None:
            layers.append(("cervix", t["myometrium"], self.cervix.frac(x, y, soft)))
            layers.append(("uterus", t["myometrium"], self.uterus.frac(x, y, soft)))
            layers.append(("endometrium", t["endometrium"], self.endometrium.frac(x, y, soft)))
            if self.sac is not None:
                layers.append(("decidua", t["endometrium"],
                               self.sac.grown(2.0).frac(x, y, soft)))  # decidual reaction
                layers.append(("gestational_sac", t["serous_fluid"], self.sac.frac(x, y, soft)))
            if self.embryo is not None:
                layers.append(("embryo", t["embryo"], self.embryo.frac(x, y, soft)))
            if self.yolk is not None:
                layers.append(("yolk_sac", t["fibrous"], self.yolk.frac(x, y, soft)))
                layers.append(("yolk_sac", t["serous_fluid"], self.yolk.grown(-0.6).frac(
                    x, y, soft)))
        layers += [
            ("bladder_wall", t["fibrous"], self.bladder.grown(self.bladder_wall_mm).frac(
                x, y, soft)),
            ("bladder", t["serous_fluid"], self.bladder.frac(x, y, soft)),
            ("abdominal_muscle", t["muscle"], _ramp(depth - (skin + fat + muscle), soft)),
            ("subcutaneous_fat", t["fat"], _ramp(depth - (skin + fat), soft)),
            ("skin", t["skin"], _ramp(depth - skin, soft)),
        ]
        return compose(layers, LABELS, x.shape)

    def pregnancy(self, days: float, rng: np.random.Generator) -> PlacedFinding:
        """A gestational sac in the uterine body (mean sac diameter ~ days - 30 mm), its yolk
        sac from 5.5 weeks, and from 6 weeks an embryo of Robinson's CRL beside it."""
        u, e = self.uterus, self.endometrium
        assert u is not None and e is not None
        msd = float(np.clip(days - 30.0, 3.0, 60.0))
        grow = max(0.0, msd / 2 + 2.0 - u.b * 0.8)
        self.uterus = Ellipse(u.cx, u.cy, u.a + grow, u.b + grow * 1.2, u.angle)
        cx, cy = e.point(math.pi, 0.35)  # toward the fundus (cranial, image left)
        self.sac = Ellipse(cx, cy, msd / 2 * 1.15, msd / 2 * 0.85, e.angle)
        if days >= YOLK_SAC_FROM_DAYS:
            r = float(np.clip(1.5 + (days - YOLK_SAC_FROM_DAYS) / 20.0, 1.5, 3.0))
            # in the sac's non-dependent (shallow) half, clear of the embryo below
            yx, yy = self.sac.point(-0.5 * math.pi + rng.uniform(-0.5, 0.5), 0.6)
            self.yolk = Ellipse(yx, yy, r, r)
        crl = crl_for_days(days) if days >= EMBRYO_FROM_DAYS else 0.0
        if crl > 0:
            # lying along the sac's long axis, in its dependent (deep) half
            ex, ey = self.sac.point(0.5 * math.pi, max(0.0, 0.55 - crl / (2 * self.sac.b)))
            self.embryo = Ellipse(ex, ey - crl * 0.1, crl / 2, max(crl * 0.22, 1.2),
                                  e.angle + rng.uniform(-0.2, 0.2))
        return PlacedFinding("intrauterine_pregnancy", None, "uterus", (), (cx, cy, 0.0),
                             {"days": days, "msd_mm": msd, "crl_mm": crl})


def build_pelvis(rng: np.random.Generator, sex: str, age: int) -> PelvisPlane:
    """Adult ranges (mm): wall skin 1.5-2.5, fat 8-25, rectus 7-11; a full bladder 70-90 x
    40-55 in this plane; uterus 70-90 x 32-45, anteverted 10-25 degrees; endometrium 4-10 mm thick;
    prostate 35-45 x 25-35 in a man."""
    u = rng.uniform
    skin, fat, muscle = u(1.5, 2.5), u(8.0, 25.0), u(7.0, 11.0)
    top = skin + fat + muscle
    bladder = Ellipse(u(5.0, 15.0), top + u(24.0, 30.0), u(36.0, 46.0), u(20.0, 28.0),
                      math.radians(u(8.0, 18.0)))
    rectum = Ellipse(u(5.0, 20.0), bladder.cy + bladder.b + u(45.0, 60.0), u(22.0, 30.0),
                     u(12.0, 16.0), math.radians(u(-10.0, 5.0)))
    uterus = endometrium = cervix = prostate = None
    if sex == "female":
        ang = -math.radians(u(10.0, 25.0))  # fundus up-left (cranial, anterior): anteverted
        ua, ub = u(35.0, 45.0), u(16.0, 22.0)
        ucx = bladder.cx - bladder.a * 0.55
        ucy = bladder.cy + bladder.b + ub * 0.7
        uterus = Ellipse(ucx, ucy, ua, ub, ang)
        endometrium = Ellipse(ucx - 3.0, ucy, ua * 0.72, u(2.0, 5.0), ang)
        cx, cy = uterus.point(0.0, 0.95)
        cervix = Ellipse(cx + 8.0, cy + 4.0, u(14.0, 18.0), u(10.0, 13.0), ang + 0.3)
    else:
        px, py = bladder.point(0.6 * math.pi, 1.0)
        prostate = Ellipse(px + 18.0, py + 12.0, u(17.0, 22.0), u(13.0, 17.0), 0.3)
    return PelvisPlane(sex, 45.0, (skin, fat, muscle), bladder, u(2.0, 3.0), uterus,
                       endometrium, cervix, prostate, rectum, age=age)
