"""Deep veins of the leg for a linear probe (issue 16): a transverse plane through the common
femoral or popliteal vein and its artery, without and with probe compression, and a
longitudinal plane through the femoral artery for a spectral Doppler trace.

Probe coordinates (physics/ultrasound.Probe, linear): x lateral in mm, y depth below the skin.
Transverse views follow the convention that the patient's right is on the image left: in the
right groin the artery (lateral) is on the image left of the vein (medial), in the left groin on
its right; in the popliteal fossa (scanned from behind) the vein lies superficial to the artery.
Longitudinal views put cranial on the image left.

Compression ultrasound (Lensing et al., NEJM 1989;320:342; Kearon, Chest 2016 guideline):
a patent vein's walls meet under gentle probe pressure (lumen gone); a vein with thrombus
does not compress and the thrombus fills it with low-level echoes; the artery, at arterial
pressure, stays round. Sizes (mm): common femoral vein 9-13 x 7-10 (oval), common femoral
artery 7-9 round; popliteal vein 6-9, artery 5-7.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from imagine_med.engine.phantom.regions.abdomen_us.anatomy import Ellipse
from imagine_med.engine.phantom.regions.base import Grid, PlacedFinding, Sample, compose
from imagine_med.engine.phantom.regions.vessels_us.anatomy import Tube
from imagine_med.engine.phantom.tissues import TISSUES

LABELS: dict[str, int] = {
    "skin": 1,
    "subcutaneous_fat": 2,
    "muscle": 22,
    "artery_wall": 19,
    "artery": 20,
    "vein": 21,
    "vein_wall": 23,
    "fascia": 24,
    "side_marker": 60,
    "annotation": 61,
    "thrombus": 107,
}
SITES = {"common_femoral": "common femoral", "popliteal": "popliteal"}
VEIN_WALL_MM = 0.4
ARTERY_WALL_MM = 0.8


def _ramp(d: np.ndarray, soft: float) -> np.ndarray:
    return np.clip(0.5 - d / np.float32(soft), 0.0, 1.0)


@dataclass
class LegPlane:
    """One transverse frame: wall layers, the artery and the vein (ellipses), and whether the
    vein holds thrombus. `compressed` plants the probe's pressure."""

    site: str
    side: str
    wall: tuple[float, float, float]  # skin, fat, fascia (mm)
    artery: Ellipse
    vein: Ellipse
    thrombosed: bool = False
    compressed: bool = False
    press_mm: float = 0.0
    findings: list[PlacedFinding] = field(default_factory=list)
    view: str = "leg_transverse"
    age: int = 55
    sex: str = "female"

    def level_mm(self, plane: str, level: str | None) -> tuple[float, str]:
        return 0.0, self.view

    def sample(self, grid: Grid) -> Sample:
        x, y = grid.x, grid.y
        soft = max(grid.px, 0.1)
        t = TISSUES
        skin, fat, fascia = self.wall
        one = np.ones(x.shape, np.float32)
        lumen = "thrombus" if self.thrombosed else "vein"
        layers = [
            ("muscle", t["muscle"], one),
            ("fascia", t["fibrous"], _ramp(y - (skin + fat + fascia), soft)),
            ("subcutaneous_fat", t["fat"], _ramp(y - (skin + fat), soft)),
            ("vein_wall", t["fibrous"], self.vein.grown(VEIN_WALL_MM).frac(x, y, soft)),
            (
                lumen,
                t["venous_thrombus" if self.thrombosed else "blood"],
                self.vein.frac(x, y, soft),
            ),
            ("artery_wall", t["fibrous"], self.artery.grown(ARTERY_WALL_MM).frac(x, y, soft)),
            ("artery", t["blood"], self.artery.frac(x, y, soft)),
            ("skin", t["skin"], _ramp(y - skin, soft)),
        ]
        return compose(layers, LABELS, x.shape)

    def thrombose(self) -> PlacedFinding:
        """Acute occlusive thrombus: the vein distends (x1.2 across, x1.35 deep) and fills
        with low-level echoes."""
        v = self.vein
        self.vein = Ellipse(v.cx, v.cy + v.b * 0.2, v.a * 1.2, v.b * 1.35, v.angle)
        self.thrombosed = True
        return PlacedFinding(
            "venous_thrombosis",
            self.side,
            f"{self.site}_vein",
            (),
            (self.vein.cx, self.vein.cy, 0.0),
            {},
        )

    def with_compression(self, press_mm: float) -> LegPlane:
        """The same leg under the probe: the fat thins by press_mm and everything below rises
        with it; a patent vein's walls meet (its lumen keeps 0-4% of its depth and widens a
        little), a thrombosed one barely flattens (its depth x 0.88-0.95), the artery, at
        arterial pressure, keeps its round shape (depth x 0.95)."""
        skin, fat, fascia = self.wall
        up = min(press_mm, fat * 0.5)
        a, v = self.artery, self.vein
        if self.thrombosed:
            vb, va = v.b * 0.92, v.a * 1.03
        else:
            vb, va = v.b * 0.02, v.a * 1.12
        vein = Ellipse(v.cx, v.cy - up + (v.b - vb) * 0.6, va, vb, v.angle)
        artery = Ellipse(a.cx, a.cy - up, a.a * 1.02, a.b * 0.95, a.angle)
        return replace(
            self,
            wall=(skin, fat - up, fascia),
            artery=artery,
            vein=vein,
            compressed=True,
            press_mm=press_mm,
            findings=list(self.findings),
        )


def build_leg(rng: np.random.Generator, site: str, side: str, age: int, sex: str) -> LegPlane:
    """Groin: fat 8-20 mm, the vessels 20-30 mm deep, artery lateral; popliteal fossa: fat 5-12
    mm, vessels 20-30 mm deep, the vein superficial to the artery."""
    u = rng.uniform
    if site == "popliteal":
        skin, fat, fascia = u(1.2, 1.8), u(5.0, 12.0), u(0.6, 1.0)
        ra, va, vb = u(2.5, 3.5), u(3.0, 4.5), u(2.5, 3.5)
        vy = skin + fat + fascia + u(4.0, 8.0) + vb
        vein = Ellipse(u(-3.0, 3.0), vy, va, vb, np.radians(u(-10.0, 10.0)))
        artery = Ellipse(vein.cx + u(-3.0, 3.0), vy + vb + ra + u(1.5, 3.0), ra, ra)
    else:
        skin, fat, fascia = u(1.2, 1.8), u(8.0, 16.0), u(0.6, 1.0)
        ra, va, vb = u(3.5, 4.5), u(4.5, 6.5), u(3.5, 5.0)
        lateral = -1.0 if side == "right" else 1.0  # the patient's right on the image left
        depth = skin + fat + fascia + u(4.0, 8.0)
        artery = Ellipse(lateral * (ra + u(1.5, 3.0)), depth + ra, ra, ra)
        vein = Ellipse(
            -lateral * (va + u(1.0, 2.5)),
            depth + vb + u(1.0, 3.0),
            va,
            vb,
            np.radians(u(-8.0, 8.0)),
        )
    return LegPlane(site, side, (skin, fat, fascia), artery, vein, age=age, sex=sex)


# --- longitudinal femoral artery, for the spectral trace ------------------------------------


@dataclass
class FemoralLongPlane:
    """The common femoral artery in its long axis (flow toward the feet, +x) with the vein
    deep to it (flow toward the heart, -x)."""

    wall: tuple[float, float, float]
    artery: Tube
    vein: Tube
    findings: list[PlacedFinding] = field(default_factory=list)
    view: str = "femoral_long"
    age: int = 55
    sex: str = "female"

    def level_mm(self, plane: str, level: str | None) -> tuple[float, str]:
        return 0.0, self.view

    def flow(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Blood velocity (cm/s) of whichever lumen holds each point."""
        ax, ay = self.artery.flow(x, y)
        vx, vy = self.vein.flow(x, y)
        return ax + vx, ay + vy

    def sample(self, grid: Grid) -> Sample:
        x, y = grid.x, grid.y
        soft = max(grid.px, 0.1)
        t = TISSUES
        skin, fat, fascia = self.wall
        a, v = self.artery, self.vein
        layers = [
            ("muscle", t["muscle"], np.ones(x.shape, np.float32)),
            ("fascia", t["fibrous"], _ramp(y - (skin + fat + fascia), soft)),
            ("subcutaneous_fat", t["fat"], _ramp(y - (skin + fat), soft)),
            ("vein_wall", t["fibrous"], _ramp(v.distance(x, y) - (v.radius + VEIN_WALL_MM), soft)),
            ("vein", t["blood"], _ramp(v.distance(x, y) - v.radius, soft)),
            (
                "artery_wall",
                t["fibrous"],
                _ramp(a.distance(x, y) - (a.radius + ARTERY_WALL_MM), soft),
            ),
            ("artery", t["blood"], _ramp(a.distance(x, y) - a.radius, soft)),
            ("skin", t["skin"], _ramp(y - skin, soft)),
        ]
        return compose(layers, LABELS, x.shape)


def build_femoral_long(rng: np.random.Generator, age: int, sex: str) -> FemoralLongPlane:
    u = rng.uniform
    skin, fat, fascia = u(1.2, 1.8), u(6.0, 12.0), u(0.6, 1.0)
    ra = u(3.5, 4.2)
    slope = u(-0.05, 0.05)
    # centreline speeds for colour Doppler (the colour frame's mean, not the systolic peak)
    artery = Tube(skin + fat + fascia + u(3.0, 6.0) + ra, slope, ra, 1.0, u(30.0, 45.0))
    vein = Tube(
        artery.y0 + ra + u(2.0, 4.0) + 5.0, slope + u(-0.03, 0.03), u(4.5, 5.5), -1.0, u(10.0, 18.0)
    )
    return FemoralLongPlane((skin, fat, fascia), artery, vein, age=age, sex=sex)
