"""Closed-form solids for the head, evaluated on any array of points.

Every shape returns an approximate signed distance in mm (positive inside), so a pixel's
fraction inside is a 1-pixel box filter of that distance (`fraction`): partial volume at
every boundary without voxelising anything. Intersections take the minimum distance, unions
the maximum (exact on the surface, good enough one pixel away).
"""

from __future__ import annotations

import numpy as np

F32 = np.float32


def fraction(d: np.ndarray, px: float) -> np.ndarray:
    """Share of a pixel of width `px` lying inside a surface at signed distance `d`."""
    return np.clip(F32(0.5) + d * F32(1.0 / max(px, 1e-3)), 0.0, 1.0).astype(F32)


def ellipsoid(x, y, z, c: tuple[float, float, float], a: tuple[float, float, float]
              ) -> np.ndarray:
    """Signed distance (first order) to an axis-aligned ellipsoid, centre c, semi-axes a."""
    u, v, w = (x - F32(c[0])) / F32(a[0]), (y - F32(c[1])) / F32(a[1]), (z - F32(c[2])) / F32(a[2])
    r = np.sqrt(u * u + v * v + w * w) + F32(1e-6)
    g = np.sqrt((u / F32(a[0])) ** 2 + (v / F32(a[1])) ** 2 + (w / F32(a[2])) ** 2) + F32(1e-6)
    return (F32(1.0) - r) * r / g


def ellipse_xy(x, y, c: tuple[float, float], a: tuple[float, float]) -> np.ndarray:
    """Signed distance to an elliptic cylinder along z."""
    u, v = (x - F32(c[0])) / F32(a[0]), (y - F32(c[1])) / F32(a[1])
    r = np.sqrt(u * u + v * v) + F32(1e-6)
    g = np.sqrt((u / F32(a[0])) ** 2 + (v / F32(a[1])) ** 2) + F32(1e-6)
    return (F32(1.0) - r) * r / g


def slab(t: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Signed distance to lo < t < hi."""
    return np.minimum(t - F32(lo), F32(hi) - t)


def capsule(x, y, z, a: tuple[float, float, float], b: tuple[float, float, float],
            r: float) -> np.ndarray:
    """Signed distance to a round-ended tube of radius r from a to b (nerves, vessels)."""
    ax, ay, az = a
    dx, dy, dz = b[0] - ax, b[1] - ay, b[2] - az
    ll = dx * dx + dy * dy + dz * dz
    t = np.clip(((x - ax) * dx + (y - ay) * dy + (z - az) * dz) / F32(ll), 0.0, 1.0)
    px, py, pz = x - (ax + t * dx), y - (ay + t * dy), z - (az + t * dz)
    return F32(r) - np.sqrt(px * px + py * py + pz * pz)


def sigmoid(t: np.ndarray) -> np.ndarray:
    return F32(1.0) / (F32(1.0) + np.exp(-np.clip(t, -30, 30)))


class Waves:
    """A sum of plane waves with seeded directions and phases: its zero set is a labyrinth
    of folds about half a wavelength apart (gyri and sulci, cerebellar folia, lobulation).
    `distance` is |g| / |grad g|, the first-order distance to the nearest fold."""

    def __init__(self, rng: np.random.Generator, wavelength: float, n: int = 7):
        d = rng.standard_normal((n, 3))
        d /= np.linalg.norm(d, axis=1, keepdims=True)
        scale = 2 * np.pi / wavelength * rng.uniform(0.8, 1.25, n)
        self.k = (d * scale[:, None]).astype(F32)
        self.phase = rng.uniform(0, 2 * np.pi, n).astype(F32)

    def value(self, x, y, z) -> np.ndarray:
        out = np.zeros(np.shape(x), F32)
        for (kx, ky, kz), ph in zip(self.k, self.phase, strict=True):
            out += np.cos(kx * x + ky * y + kz * z + ph)
        return out

    def distance(self, x, y, z) -> np.ndarray:
        g = np.zeros(np.shape(x), F32)
        gx, gy, gz = (np.zeros(np.shape(x), F32) for _ in range(3))
        for (kx, ky, kz), ph in zip(self.k, self.phase, strict=True):
            arg = kx * x + ky * y + kz * z + ph
            g += np.cos(arg)
            s = np.sin(arg)
            gx -= s * kx
            gy -= s * ky
            gz -= s * kz
        # the gradient's floor keeps flat stretches of the field from reading as near a fold
        floor = F32(0.45 * float(np.linalg.norm(self.k, axis=1).mean()))
        return np.abs(g) / np.maximum(np.sqrt(gx * gx + gy * gy + gz * gz), floor)
