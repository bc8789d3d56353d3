"""A seeded longitudinal plane of the neck for a linear probe: the common carotid artery and,
above it, the internal jugular vein, with a laminar flow model for colour Doppler.

Probe coordinates (physics/ultrasound.Probe, linear): x lateral in mm (image right, toward the
patient's feet: cranial is on the image left, as sonographers orient a longitudinal neck),
y depth below the skin. Flow: the carotid carries blood toward the head (-x), the jugular
toward the heart (+x), each with a parabolic (Poiseuille) profile v = vmax (1 - (r/R)^2).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from imagine_med.engine.phantom.regions.base import Grid, PlacedFinding, Sample, compose
from imagine_med.engine.phantom.tissues import TISSUES

LABELS: dict[str, int] = {
    "skin": 1, "subcutaneous_fat": 2, "sternocleidomastoid": 18, "carotid_wall": 19,
    "carotid_artery": 20, "jugular_vein": 21, "deep_muscle": 22, "vein_wall": 23,
    "side_marker": 60, "annotation": 61, "thrombus": 107,
}


def _ramp(d: np.ndarray, soft: float) -> np.ndarray:
    return np.clip(0.5 - d / np.float32(soft), 0.0, 1.0)


@dataclass(frozen=True)
class Tube:
    """A straight vessel in the plane: centre depth at x=0, slope (dy/dx), radius, the unit
    flow direction along +x (1) or -x (-1) and its centreline speed in cm/s."""

    y0: float
    slope: float
    radius: float
    direction: float
    vmax_cm_s: float

    def distance(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Perpendicular distance from the axis (mm)."""
        return np.abs(y - np.float32(self.y0) - np.float32(self.slope) * x) / np.float32(
            np.hypot(1.0, self.slope))

    def flow(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Velocity components (vx, vy) in cm/s: parabolic across the lumen, zero outside."""
        r = self.distance(x, y) / np.float32(self.radius)
        speed = np.float32(self.vmax_cm_s) * np.clip(1.0 - r * r, 0.0, 1.0)
        ux, uy = np.float32(1.0 / np.hypot(1.0, self.slope)), np.float32(
            self.slope / np.hypot(1.0, self.slope))
        d = np.float32(self.direction)
        return speed * ux * d, speed * uy * d


@dataclass
class NeckPlane:
    wall: tuple[float, float, float]  # skin, fat, sternocleidomastoid thickness (mm)
    carotid: Tube
    jugular: Tube
    imt_mm: float
    findings: list[PlacedFinding] = field(default_factory=list)
    thrombosed: bool = False  # the jugular filled with fresh thrombus: echoes, no flow
    view: str = "carotid"
    age: int = 50
    sex: str = "female"

    def level_mm(self, plane: str, level: str | None) -> tuple[float, str]:
        return 0.0, self.view

    def sample(self, grid: Grid) -> Sample:
        x, y = grid.x, grid.y
        soft = max(grid.px, 0.1)
        t = TISSUES
        skin, fat, scm = self.wall
        one = np.ones(x.shape, np.float32)
        layers = [
            ("deep_muscle", t["muscle"], one),
            ("sternocleidomastoid", t["muscle"], _ramp(y - (skin + fat + scm), soft)),
            ("vein_wall", t["fibrous"], _ramp(self.jugular.distance(x, y)
                                              - (self.jugular.radius + 0.4), soft)),
            ("thrombus" if self.thrombosed else "jugular_vein",
             t["blood_acute" if self.thrombosed else "blood"],
             _ramp(self.jugular.distance(x, y) - self.jugular.radius, soft)),
            ("carotid_wall", t["fibrous"], _ramp(self.carotid.distance(x, y)
                                                 - (self.carotid.radius + self.imt_mm), soft)),
            ("carotid_artery", t["blood"], _ramp(self.carotid.distance(x, y)
                                                 - self.carotid.radius, soft)),
            ("subcutaneous_fat", t["fat"], _ramp(y - (skin + fat), soft)),
            ("skin", t["skin"], _ramp(y - skin, soft)),
        ]
        return compose(layers, LABELS, x.shape)

    def flow(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Blood velocity (cm/s) of whichever lumen holds each point."""
        ax, ay = self.carotid.flow(x, y)
        if self.thrombosed:
            return ax, ay
        vx, vy = self.jugular.flow(x, y)
        return ax + vx, ay + vy

    def thrombose(self) -> PlacedFinding:
        """Occlusive thrombus of the jugular: it distends (x1.3) and fills with echoes."""
        j = self.jugular
        self.jugular = Tube(j.y0 + j.radius * 0.15, j.slope, j.radius * 1.3, j.direction, 0.0)
        self.thrombosed = True
        return PlacedFinding("venous_thrombosis", None, "internal_jugular_vein", (),
                             (0.0, self.jugular.y0, 0.0), {"diameter_mm": 2 * self.jugular.radius})


def build_neck(rng: np.random.Generator, age: int, sex: str) -> NeckPlane:
    """Adult ranges (mm, cm/s): common carotid 6-7.5 mm across with a 0.6-0.9 mm
    intima-media, centreline speed 40-60 cm/s (the colour frame's mean, not the systolic
    peak); jugular 8-11 mm above and in front of it, 15-25 cm/s toward the heart."""
    u = rng.uniform
    skin, fat, scm = u(1.2, 1.8), u(2.0, 5.0), u(6.0, 9.0)
    top = skin + fat + scm
    r_ijv, r_cca = u(3.0, 4.5), u(3.0, 3.75)
    slope = u(-0.06, 0.06)
    ijv = Tube(top + r_ijv * 0.4, slope + u(-0.04, 0.04), r_ijv, 1.0, u(15.0, 25.0))
    cca = Tube(ijv.y0 + r_ijv + u(2.5, 4.0) + r_cca, slope, r_cca, -1.0, u(40.0, 60.0))
    return NeckPlane((skin, fat, scm), cca, ijv, u(0.6, 0.9), age=age, sex=sex)
