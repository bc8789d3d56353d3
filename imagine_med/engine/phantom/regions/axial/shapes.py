"""Solids the axial skeleton adds to the limb's (shapes.LongBone, Ovoid, hip.Cup): a
vertebral body with its own anterior and posterior heights (a wedge is the same solid with
the anterior wall shorter) and a capsule (a rod with round ends, tapering) for pedicles,
processes, laminae, the dens and the pubic rami. Each gives, per point, its depth below the
surface (mm, > 0 inside) and the cortical thickness there, as the limb's solids do, so the
limb's voxeliser fills them with cortex, textured cancellous bone and marrow."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class VertebralBody:
    """A vertebral body in its own frame (x lateral, y anterior, z caudal; origin the centre
    of the undamaged body): an elliptic cylinder of semi-axes `a` (x) and `b` (y) between a
    flat inferior endplate at z = h_post / 2 and a superior endplate whose height above it
    runs linearly from `h_post` at the posterior wall to `h_ant` at the anterior wall.
    `cup_mm` depresses the superior endplate's centre (a burst fracture's central
    collapse); `waist` narrows the body at mid-height (the concave waist of a real body);
    the cross-section is a superellipse (`power` 3: the walls flatter than an ellipse's, as
    a body's front and back are on a lateral film)."""

    a: float
    b: float
    h_post: float
    h_ant: float
    cortex_mm: float = 1.0
    cup_mm: float = 0.0
    waist: float = 0.03
    power: float = 3.0  # superellipse of the cross-section: flatter walls than an ellipse
    corner_mm: float = 0.0  # the anteroinferior corner cut off (a teardrop fragment's bed)

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        top = self.h_post / 2 - max(self.h_post, self.h_ant)
        return (
            np.array([-self.a - 0.5, -self.b - 0.5, top - 0.5]),
            np.array([self.a + 0.5, self.b + 0.5, self.h_post / 2 + 0.5]),
        )

    def superior(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """z of the superior endplate over (x, y)."""
        frac = np.clip((y + self.b) / (2 * self.b), 0.0, 1.0)
        h = self.h_post + (self.h_ant - self.h_post) * frac
        z = self.h_post / 2 - h
        if self.cup_mm:
            z = z + self.cup_mm * np.clip(1 - (x / self.a) ** 2 - (y / self.b) ** 2, 0, 1)
        return z

    def depth(self, x: np.ndarray, y: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        zt = self.superior(x, y)
        zb = self.h_post / 2
        mid = (zt + zb) / 2
        half = np.maximum((zb - zt) / 2, 1e-3)
        squeeze = 1 - self.waist * (1 - ((z - mid) / half) ** 2)
        p = self.power
        r = (np.abs(x / self.a) ** p + np.abs(y / self.b) ** p) ** (1 / p) / squeeze
        radial = (1 - r) * min(self.a, self.b)
        d = np.minimum(radial, np.minimum(z - zt, zb - z))
        if self.corner_mm:  # the plane through the front wall and the inferior endplate,
            c = self.corner_mm  # each `corner_mm` from their corner
            d = np.minimum(d, ((self.b - c) + zb - y - z) / np.sqrt(2.0))
        return d, np.full_like(d, self.cortex_mm)

    def is_cancellous(self, z: np.ndarray) -> np.ndarray:
        return np.ones(np.shape(z), bool)


@dataclass
class Capsule:
    """A rod from `p0` to `p1` (points in the bone's frame, mm) of radius tapering from `r0`
    to `r1`, with round ends: depth is the radius less the distance to the axis segment."""

    p0: tuple[float, float, float]
    p1: tuple[float, float, float]
    r0: float
    r1: float
    cortex_mm: float = 1.0

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        p0, p1 = np.array(self.p0), np.array(self.p1)
        r = max(self.r0, self.r1) + 0.5
        return np.minimum(p0, p1) - r, np.maximum(p0, p1) + r

    def depth(self, x: np.ndarray, y: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        p0 = np.array(self.p0, np.float32)
        d = np.array(self.p1, np.float32) - p0
        L2 = float(d @ d) or 1e-6
        rx, ry, rz = x - p0[0], y - p0[1], z - p0[2]
        t = np.clip((rx * d[0] + ry * d[1] + rz * d[2]) / L2, 0.0, 1.0)
        dist = np.sqrt((rx - t * d[0]) ** 2 + (ry - t * d[1]) ** 2 + (rz - t * d[2]) ** 2)
        depth = self.r0 + (self.r1 - self.r0) * t - dist
        return depth, np.full_like(depth, self.cortex_mm)

    def is_cancellous(self, z: np.ndarray) -> np.ndarray:
        return np.ones(np.shape(z), bool)


@dataclass
class Bowl:
    """The lower cap of a spherical shell (inner and outer radius) below `z_top` in its own
    frame (z caudal): the skull base and the lowest vault, all a neck film holds of the
    skull; its box is the cap's, so the rest of the vault costs no voxels."""

    r_in: float
    r_out: float
    z_top: float
    cortex_mm: float = 2.5

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        r = self.r_out + 0.5
        return np.array([-r, -r, self.z_top - 0.5]), np.array([r, r, r])

    def depth(self, x: np.ndarray, y: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        r = np.sqrt(x * x + y * y + z * z)
        d = np.minimum(np.minimum(r - self.r_in, self.r_out - r), z - self.z_top)
        return d, np.full_like(d, self.cortex_mm)

    def is_cancellous(self, z: np.ndarray) -> np.ndarray:
        return np.ones(np.shape(z), bool)
