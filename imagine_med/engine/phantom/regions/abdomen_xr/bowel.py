"""Bowel loops as tubes along centrelines, projected in closed form on an AP film.

A loop of radius r seen from the front: the beam's chord through its lumen at distance d from
the centreline is 2 sqrt(r^2 - d^2). What fills that chord depends on the patient's position:
- supine (vertical beam): fluid lies posterior, gas anterior, so each ray crosses both; the gas
  part is the chord above the fluid's level in depth, and no level shows on the film;
- erect (horizontal beam): fluid lies at the bottom of each loop, its surface horizontal, so
  the film shows the gas above and the fluid below a straight horizontal line: the air-fluid
  level (Thompson et al., "Accuracy of abdominal radiography in acute small-bowel
  obstruction", Radiology 2007).
Folds: small bowel valvulae conniventes cross the whole lumen every ~3-5 mm; colonic haustra
indent it from both walls every ~3-4 cm without meeting (Gore & Levine, Textbook of
Gastrointestinal Radiology). All loops share one distance transform (nearest centreline
sample), so overlapping loops show only the nearer centreline's lumen.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage


@dataclass
class Tube:
    """One stretch of bowel: its label, centreline (x, z) mm in the patient (x to the patient's
    left, z up), radius and gas fraction (0-1 of the lumen) per point, folds ('valvulae',
    'haustra', 'none'), and erect fluid levels: one per `level_every_mm` of centreline."""

    name: str
    pts: np.ndarray
    radius: np.ndarray
    gas: np.ndarray
    folds: str = "none"
    level_every_mm: float = 80.0


def resample(pts: np.ndarray, step: float) -> tuple[np.ndarray, np.ndarray]:
    """Points every `step` mm along a polyline, and their arc length."""
    seg = np.linalg.norm(np.diff(pts, axis=0), axis=1)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    t = np.arange(0.0, s[-1] + 1e-9, step)
    return np.stack([np.interp(t, s, pts[:, 0]), np.interp(t, s, pts[:, 1])], axis=1), t


@dataclass
class Lumen:
    """Per pixel: gas and fluid path (mm), which tube (index, -1 none), the tube's fluid level
    (erect) and the pixel's depth inside the lumen."""

    gas: np.ndarray
    fluid: np.ndarray
    tube: np.ndarray
    fluid_label: np.ndarray  # erect: pixel in the fluid below a level
    gas_plain: np.ndarray  # gas path before the folds (labels are judged by it)
    chord: np.ndarray  # the lumen's whole chord


def _one(t: Tube, x: np.ndarray, z: np.ndarray, px: float, erect: bool):
    """One tube on its own window: (window, gas, fluid, wet mask, inside mask)."""
    pts, arc = resample(t.pts, px * 0.5)
    r_s = np.interp(arc, np.linspace(0, arc[-1], len(t.radius)), t.radius)
    g_s = np.interp(arc, np.linspace(0, arc[-1], len(t.gas)), t.gas)
    # erect levels: per stretch, the fluid fills the lowest part of its height range
    stretch = (arc // t.level_every_mm).astype(int)
    level = np.empty(len(arc))
    for k in np.unique(stretch):
        m = stretch == k
        lo, hi = (pts[m, 1] - r_s[m]).min(), (pts[m, 1] + r_s[m]).max()
        level[m] = lo + (1 - g_s[m].mean()) * (hi - lo) * 0.5
    rmax = float(r_s.max()) + 2 * px
    H, W = len(z), len(x)
    c0 = max(0, int((pts[:, 0].min() - rmax - x[0]) / px))
    c1 = min(W, int((pts[:, 0].max() + rmax - x[0]) / px) + 2)
    r0 = max(0, int((z[0] - pts[:, 1].max() - rmax) / px))
    r1 = min(H, int((z[0] - pts[:, 1].min() + rmax) / px) + 2)
    if c1 <= c0 or r1 <= r0:
        return None
    win = (slice(r0, r1), slice(c0, c1))
    idx = -np.ones((r1 - r0, c1 - c0), np.int64)
    cols = np.round((pts[:, 0] - x[0]) / px).astype(int) - c0
    rows = np.round((z[0] - pts[:, 1]) / px).astype(int) - r0
    ok = (rows >= 0) & (rows < r1 - r0) & (cols >= 0) & (cols < c1 - c0)
    idx[rows[ok], cols[ok]] = np.nonzero(ok)[0]
    if (idx < 0).all():
        return None
    dist, (ri, ci) = ndimage.distance_transform_edt(idx < 0, return_indices=True)
    near = idx[ri, ci]
    d = dist * px
    r, g, lev, a = r_s[near], g_s[near], level[near], arc[near]
    inside = d < r
    h = np.sqrt(np.clip(r * r - d * d, 0, None))
    chord = 2 * h
    Z = np.broadcast_to(z[r0:r1, None], d.shape)
    wet = np.zeros(d.shape, bool)
    if erect:
        wet = inside & (lev > Z)
        gas = np.where(wet, 0.0, chord)
    else:
        y_f = -r + 2 * r * (1 - g)  # fluid posterior of y_f, gas in front
        gas = np.clip(h - np.maximum(-h, y_f), 0, None)
    gas = np.where(inside, gas, 0.0)
    gas_plain = gas  # before the folds: what the lumen's label is judged by
    if t.folds == "valvulae":  # plates across the whole lumen every ~4 mm
        band = np.abs(((a + 1.0) % 4.0) - 2.0) < 0.45
        gas = np.where(inside & band, gas * 0.35, gas)
    elif t.folds == "haustra":  # folds from both walls every ~34 mm, not meeting
        band = np.abs(((a + 15.0) % 34.0) - 17.0) < 1.6
        gas = np.where(inside & band & (d > 0.55 * r), gas * 0.3, gas)
    fluid = np.where(inside, chord - gas, 0.0)
    return win, gas, fluid, wet, inside, gas_plain, chord


def project(tubes: list[Tube], x: np.ndarray, z: np.ndarray, px: float, erect: bool
            ) -> Lumen:
    """Gas and fluid path lengths of every tube on the grid (x, z: 1D column and row centres).
    Each tube is drawn on its own window and overlapping loops add (as path lengths do); a
    pixel's tube is the one with the most gas there."""
    H, W = len(z), len(x)
    gas = np.zeros((H, W), np.float32)
    fluid = np.zeros((H, W), np.float32)
    best = np.zeros((H, W), np.float32)
    tube = -np.ones((H, W), np.int64)
    wet_all = np.zeros((H, W), bool)
    plain = np.zeros((H, W), np.float32)
    lumen = np.zeros((H, W), np.float32)
    for ti, t in enumerate(tubes):
        got = _one(t, x, z, px, erect)
        if got is None:
            continue
        win, g, f, wet, inside, g0, chord = got
        gas[win] += g
        fluid[win] += f
        plain[win] += g0
        lumen[win] += chord
        score = np.where(inside, g0 + 0.01 * f + 1e-3, 0.0)
        take = score > best[win]
        best[win] = np.where(take, score, best[win])
        tube[win] = np.where(take, ti, tube[win])
        if t.gas.max() >= 0.1:  # fluid shows only in a loop that holds gas
            wet_all[win] |= wet & take
    return Lumen(gas, fluid, tube, wet_all, plain, lumen)


def wall_air(tubes: list[Tube], lum: Lumen, x: np.ndarray, z: np.ndarray, px: float,
             wall_mm: float = 2.5, hug_mm: float = 10.0) -> np.ndarray:
    """Free intraperitoneal gas hugging the outside of the loops (for Rigler's sign): gas in a
    `hug_mm` shell just outside each loop's wall, so the wall is outlined by gas on both sides."""
    inside = lum.tube >= 0
    dist_out = ndimage.distance_transform_edt(~inside) * px
    shell = (dist_out > wall_mm) & (dist_out < wall_mm + hug_mm)
    return np.where(shell, 0.6 * hug_mm * 2, 0.0).astype(np.float32)
