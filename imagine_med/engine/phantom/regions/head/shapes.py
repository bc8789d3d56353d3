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
    t = np.multiply(d, F32(1.0 / max(px, 1e-3)), dtype=F32)
    t += F32(0.5)
    return np.clip(t, F32(0.0), F32(1.0), out=t)


COARSE = 8  # culling looks at every 8th sample point along each axis


def box_window(arrays, c, reach) -> tuple | bool | None:
    """The index window (a tuple of slices) of sample points that may lie within `reach`
    of centre `c` along every axis, found on a coarse lattice of the points (every
    COARSE-th), widened by one coarse cell and by the lattice's own spacing, so no point
    inside is missed on any smooth grid; None when no point is near, True when the arrays
    are too small to bother."""
    x0 = arrays[0]
    if np.ndim(x0) < 2 or np.size(x0) < 40000:
        return True
    sub = tuple(slice(None, None, COARSE) for _ in range(x0.ndim))
    near = None
    for arr, ci, r in zip(arrays, c, reach, strict=True):
        a = np.asarray(arr)[sub]
        # the lattice's spacing from its first two samples along each axis (grids are
        # regular; a mass's warp bends them by a few mm over tens, which the one-cell
        # widening below covers)
        step = 0.0
        for k in range(a.ndim):
            if a.shape[k] > 1:
                two = np.take(a, [0, 1], axis=k)
                step = max(step, float(np.abs(np.diff(two, axis=k)).max()))
        m = np.abs(a - np.float32(ci)) < np.float32(r + step)
        near = m if near is None else near & m
    if not near.any():
        return None
    win = []
    for k in range(near.ndim):
        hit = np.flatnonzero(near.any(axis=tuple(j for j in range(near.ndim) if j != k)))
        lo = max(0, (hit[0] - 1) * COARSE)
        hi = min(x0.shape[k], (hit[-1] + 2) * COARSE + 1)
        win.append(slice(lo, hi))
    return tuple(win)


def culled(fn, x, y, z, c, reach, pad: float) -> np.ndarray:
    """`fn(x, y, z)` evaluated only in the window round `c` (`reach` + `pad` mm per axis),
    -pad - 1 elsewhere (those points lie further than `pad` outside)."""
    win = box_window((x, y, z), c, tuple(r + pad for r in reach))
    if win is True:
        return fn(x, y, z)
    out = np.full(np.shape(x), F32(-pad - 1.0), F32)
    if win is not None:
        out[win] = fn(x[win], y[win], z[win])
    return out


def ellipsoid(x, y, z, c: tuple[float, float, float], a: tuple[float, float, float],
              pad: float | None = None) -> np.ndarray:
    """Signed distance (first order) to an axis-aligned ellipsoid, centre c, semi-axes a.
    With `pad`, only points within pad mm of its box are evaluated (small structures)."""
    if pad is not None:
        return culled(lambda x, y, z: ellipsoid(x, y, z, c, a), x, y, z, c, a, pad)
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
            r: float, pad: float | None = None) -> np.ndarray:
    """Signed distance to a round-ended tube of radius r from a to b (nerves, vessels);
    with `pad`, evaluated only near its box."""
    if pad is not None:
        c = tuple((a[i] + b[i]) / 2 for i in range(3))
        half = tuple(abs(a[i] - b[i]) / 2 + r for i in range(3))
        return culled(lambda x, y, z: capsule(x, y, z, a, b, r), x, y, z, c, half, pad)
    ax, ay, az = a
    dx, dy, dz = b[0] - ax, b[1] - ay, b[2] - az
    ll = dx * dx + dy * dy + dz * dz
    t = np.clip(((x - ax) * dx + (y - ay) * dy + (z - az) * dz) / F32(ll), 0.0, 1.0)
    px, py, pz = x - (ax + t * dx), y - (ay + t * dy), z - (az + t * dz)
    return F32(r) - np.sqrt(px * px + py * py + pz * pz)


def sigmoid(t: np.ndarray) -> np.ndarray:
    """The logistic function, as 0.5 + 0.5 tanh(t / 2) (no overflow, no clipping)."""
    return F32(0.5) + F32(0.5) * np.tanh(np.asarray(t, F32) * F32(0.5))


class Waves:
    """A sum of plane waves with seeded directions and phases: its zero set is a labyrinth
    of folds about half a wavelength apart (gyri and sulci, cerebellar folia, lobulation).
    `distance` is |g| / |grad g|, the first-order distance to the nearest fold."""

    def __init__(self, rng: np.random.Generator, wavelength: float, n: int = 7,
                 spread: tuple[float, float] = (0.8, 1.25)):
        d = rng.standard_normal((n, 3))
        d /= np.linalg.norm(d, axis=1, keepdims=True)
        scale = 2 * np.pi / wavelength * rng.uniform(spread[0], spread[1], n)
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
