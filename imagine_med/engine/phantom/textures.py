"""Seeded textures that make disease look like disease rather than a flat blob: fluffy airspace
opacity, reticulation/honeycombing, and low-attenuation holes of emphysema."""

from __future__ import annotations

import zlib

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree


def smooth_noise(shape: tuple[int, int], cell_px: float, seed: int) -> np.ndarray:
    """Zero-mean, unit-std smooth noise with features about `cell_px` across."""
    rng = np.random.default_rng(seed)
    h, w = shape
    gh, gw = max(2, int(h / cell_px) + 3), max(2, int(w / cell_px) + 3)
    g = rng.standard_normal((gh, gw))
    up = ndimage.zoom(g, (h / (gh - 2), w / (gw - 2)), order=3)[:h, :w]
    return (up - up.mean()) / (up.std() + 1e-9)


def net_pattern_2d(shape: tuple[int, int], cell_px: float, seed: int) -> np.ndarray:
    """1 on the walls of a random cell network (Voronoi edges), 0 inside cells."""
    rng = np.random.default_rng(seed)
    h, w = shape
    n = max(8, int(h * w / cell_px**2))
    pts = rng.uniform(0, 1, (n, 2)) * [h, w]
    yy, xx = np.mgrid[0:h, 0:w]
    d, _ = cKDTree(pts).query(np.stack([yy.ravel(), xx.ravel()], 1), k=2)
    gap = (d[:, 1] - d[:, 0]).reshape(h, w)
    return np.clip(1.2 - gap / 1.2, 0, 1)


def film_texture(name: str, length: np.ndarray, scene, view, scale: int = 1) -> np.ndarray:
    seed = int(scene.params.get("tex_seed", 0)) + zlib.crc32(name.encode()) % 1000
    h, w = length.shape
    mm = view.px * scale
    if name == "fluffy":
        n = smooth_noise((h, w), 16.0 / mm, seed) + 0.5 * smooth_noise((h, w), 6.0 / mm, seed + 1)
        return np.clip(0.9 + 0.14 * n, 0.6, 1.2)
    if name == "ground":
        n = smooth_noise((h, w), 14.0 / mm, seed) + 0.6 * smooth_noise((h, w), 6.0 / mm, seed + 3)
        return np.clip(0.85 + 0.35 * n, 0.15, 1.5)
    if name == "airspace":  # lobar consolidation: near-homogeneous, a faint mottle only
        n = smooth_noise((h, w), 24.0 / mm, seed) + 0.4 * smooth_noise((h, w), 8.0 / mm, seed + 2)
        return np.clip(0.97 + 0.02 * n, 0.9, 1.05)
    if name == "patchy":  # acinar rosettes at the fading margin of an airspace opacity
        n = smooth_noise((h, w), 12.0 / mm, seed) + 0.5 * smooth_noise((h, w), 6.0 / mm, seed + 5)
        return np.clip(0.8 + 0.3 * n, 0.3, 1.4)
    if name == "reticular":
        ys, xs = np.nonzero(length > 0)
        out = np.ones((h, w))
        if len(ys) == 0:
            return out
        y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
        net = net_pattern_2d((y1 - y0, x1 - x0), 5.0 / mm, seed)
        net = ndimage.gaussian_filter(net, 0.6)
        out[y0:y1, x0:x1] = 0.25 + 1.7 * net
        return out
    return np.ones((h, w))


def honeycomb_hu(points: np.ndarray, seeds: np.ndarray, cyst: float = -930.0,
                 wall: float = 40.0, wall_mm: float = 1.1) -> np.ndarray:
    """CT honeycombing: thick-walled air cysts from the Voronoi cells of `seeds` (3D)."""
    d, _ = cKDTree(seeds).query(points, k=2)
    gap = d[:, 1] - d[:, 0]
    return np.where(gap < wall_mm, wall, cyst)


def holes_hu(points: np.ndarray, centres: np.ndarray, radii: np.ndarray, base: float,
             hole: float = -985.0) -> np.ndarray:
    """Emphysema: small low-attenuation holes (centrilobular) in a background value."""
    d, i = cKDTree(centres).query(points, k=1)
    return np.where(d < radii[i], hole, base)


def _lattice_hash(i: np.ndarray, j: np.ndarray, k: np.ndarray, seed: int) -> np.ndarray:
    """A uniform [0, 1) value per integer lattice point (a 32-bit integer mix), so a texture
    depends only on the position in the patient: axial, coronal and sagittal slices agree."""
    h = (i.astype(np.uint32) * np.uint32(0x8DA6B343) ^ j.astype(np.uint32) * np.uint32(0xD8163841)
         ^ k.astype(np.uint32) * np.uint32(0xCB1AB31F) ^ np.uint32(seed & 0xFFFFFFFF))
    h ^= h >> np.uint32(15)
    h *= np.uint32(0x2C1B3C6D)
    h ^= h >> np.uint32(12)
    h *= np.uint32(0x297A2D39)
    h ^= h >> np.uint32(15)
    return h.astype(np.float32) * np.float32(1 / 2**32)


def lattice_noise(points: np.ndarray, cell_mm: float, seed: int) -> np.ndarray:
    """3D value noise in [-1, 1] with features about `cell_mm` across at `points` (N, 3) mm:
    random values on a cubic lattice, trilinearly interpolated (smoothstep weights)."""
    q = np.asarray(points, np.float64) / cell_mm
    base = np.floor(q)
    f = (q - base).astype(np.float32)
    f = f * f * (3 - 2 * f)
    b = base.astype(np.int64)
    out = np.zeros(len(q), np.float32)
    for di in (0, 1):
        wi = f[:, 0] if di else 1 - f[:, 0]
        for dj in (0, 1):
            wj = f[:, 1] if dj else 1 - f[:, 1]
            for dk in (0, 1):
                wk = f[:, 2] if dk else 1 - f[:, 2]
                out += wi * wj * wk * _lattice_hash(b[:, 0] + di, b[:, 1] + dj, b[:, 2] + dk,
                                                    seed)
    return 2 * out - 1


def trabecular_hu(points: np.ndarray, seed: int, cell_mm: float = 2.6) -> np.ndarray:
    """Cancellous bone's texture as HU offsets about 0: bright plates and rods where 3D
    noise crosses zero (ridged noise: thin connected walls between marrow spaces), two
    octaves so the struts vary in thickness (about -60 .. +90 HU)."""
    n1 = lattice_noise(points, cell_mm, seed)
    n2 = lattice_noise(points, cell_mm / 2.1, seed + 7)
    ridge = np.clip(1 - np.abs(n1 + 0.35 * n2) / 0.3, 0, 1)
    return 220.0 * ridge - 60.0
