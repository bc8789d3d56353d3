"""More liver findings on the same field model: steatohepatitis, cholestasis and
hepatocellular carcinoma.

- Steatohepatitis (NASH/ASH, Kleiner/Brunt): ballooned hepatocytes (enlarged, 1.5-2x, with
  rarefied, wispy cytoplasm; built by letting a seed take over its plate neighbours' room
  before the Voronoi), Mallory-Denk bodies (ropey eosinophilic cytoplasmic inclusions in
  ballooned cells), lobular inflammation (foci of lymphocytes and neutrophils), zone 3.
- Cholestasis: bile plugs in dilated canaliculi between hepatocytes (green-brown bile,
  rendered as a pigment along BILE), most near the central vein (zone 3).
- Hepatocellular carcinoma: thick trabeculae (more than 3 cells across) separated by
  endothelium-lined sinusoids, no portal tracts, larger nuclei with nucleoli, mitoses.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from imagine_med.engine.phantom.regions.liver_tissue.model import (
    LABELS,
    SIZES,
    Canvas,
    _set,
    lymphocyte,
)

# bilirubin absorbs most in the blue (~450 nm) and more red than green: green-brown plugs
BILE = (0.42, 0.32, 0.85)
HCC = {"trabecula_width": (85.0, 140.0), "cell_spacing": 17.0, "nucleus": (9.5, 0.9)}


def balloon_seeds(seeds: np.ndarray, plates: np.ndarray, box, rng,
                  fraction: float = 0.07) -> tuple[np.ndarray, np.ndarray, set[int]]:
    """Pick ballooned hepatocytes and remove their two nearest neighbours on the same plate,
    so their Voronoi cells grow to about twice to three times a normal one."""
    x0, y0, x1, y1 = box
    inside = np.nonzero((seeds[:, 0] > x0 + 25) & (seeds[:, 0] < x1 - 25)
                        & (seeds[:, 1] > y0 + 25) & (seeds[:, 1] < y1 - 25))[0]
    k = min(len(inside), max(2, round(fraction * len(inside))))
    chosen = set(rng.choice(inside, k, replace=False).tolist()) if k else set()
    tree = cKDTree(seeds)
    drop: set[int] = set()
    for i in sorted(chosen):
        _, nb = tree.query(seeds[i], k=6)
        same = [int(j) for j in nb[1:] if plates[j] == plates[i] and j not in chosen]
        drop.update(same[:2])
    keep = np.array([i not in drop for i in range(len(seeds))])
    new_index = np.cumsum(keep) - 1
    return seeds[keep], plates[keep], {int(new_index[i]) for i in chosen}


def paint_ballooning(cv: Canvas, cells: np.ndarray, ballooned: set[int], seeds, rng,
                     textures) -> int:
    """Rarefied, wispy cytoplasm in ballooned cells and a Mallory-Denk body in about half of
    them. Returns the number of Mallory-Denk bodies."""
    n_md = 0
    for i in sorted(ballooned):
        got = cv.box(seeds[i, 0], seeds[i, 1], 30.0)
        if got is None:
            continue
        sl, dx, dy = got
        cyto = (cells[sl] == i) & (cv.labels[sl] == LABELS["hepatocyte"])
        if not cyto.any():
            continue
        wisp = 0.35 + 0.25 * np.clip(textures["fine"][sl], -1, 2)
        cv.eosin[sl] = np.where(cyto, 0.30 * wisp, cv.eosin[sl])
        cv.glycogen[sl] = np.where(cyto, 0.1 * cv.glycogen[sl], cv.glycogen[sl])
        cv.hema[sl] = np.where(cyto, 0.04, cv.hema[sl])
        cv.labels[sl][cyto] = LABELS["ballooned_hepatocyte"]
        if rng.uniform() < 0.55:   # a ropey clump beside the nucleus
            t = rng.uniform(0, np.pi)
            along = dx * np.cos(t) + dy * np.sin(t)
            across = -dx * np.sin(t) + dy * np.cos(t) - 4.5
            rope = (np.abs(across + 1.2 * np.sin(along * 0.9)) < 1.1) & (np.abs(along) < 5.5)
            m = rope & cyto
            if m.sum() >= 4:
                cv.eosin[sl] = np.where(m, 1.05, cv.eosin[sl])
                cv.hema[sl] = np.where(m, 0.06, cv.hema[sl])
                cv.labels[sl][m] = LABELS["mallory_denk_body"]
                n_md += 1
    return n_md


def paint_lobular_inflammation(cv: Canvas, rng, textures, foci_per_mm2: float = 35.0) -> int:
    """Lobular inflammatory foci: clusters of lymphocytes with a few neutrophils."""
    area_mm2 = cv.h * cv.w * cv.px * cv.px / 1e6
    n = max(1, round(area_mm2 * foci_per_mm2))
    for _ in range(n):
        fx = cv.x0 + rng.uniform(0.1, 0.9) * cv.w * cv.px
        fy = cv.y0 + rng.uniform(0.1, 0.9) * cv.h * cv.px
        for _ in range(int(rng.integers(6, 11))):
            r, a = 11.0 * np.sqrt(rng.uniform()), rng.uniform(0, 2 * np.pi)
            lymphocyte(cv, fx + r * np.cos(a), fy + r * np.sin(a), rng, textures)
    return n


def paint_bile_plugs(cv: Canvas, rng, per_mm2: float = 900.0) -> np.ndarray:
    """Bile plugs: dilated canaliculi on hepatocyte borders, nearer the central vein (the
    origin) more often. Returns the pigment OD map (along BILE)."""
    pig = np.zeros((cv.h, cv.w), np.float32)
    ys, xs = np.nonzero(cv.labels == LABELS["cell_border"])
    if not len(ys):
        return pig
    dist = np.hypot(cv.xs[xs], cv.ys[ys])
    weight = np.exp(-dist / 220.0)
    area_mm2 = cv.h * cv.w * cv.px * cv.px / 1e6
    n = max(2, round(per_mm2 * area_mm2 * float(weight.mean()) * 2))
    picks = rng.choice(len(ys), size=min(n, len(ys)), replace=False, p=weight / weight.sum())
    for p in picks:
        x, y = cv.xs[xs[p]], cv.ys[ys[p]]
        r = rng.uniform(1.4, 2.6)
        e = cv.ellipse(x, y, r * rng.uniform(1.0, 1.5), r, rng.uniform(0, np.pi))
        if e is None:
            continue
        sl, m, rho = e
        m &= np.isin(cv.labels[sl], [LABELS["hepatocyte"], LABELS["cell_border"]])
        pig[sl] = np.where(m, 0.9 + 0.3 * (1 - rho), pig[sl])
        cv.eosin[sl] = np.where(m, 0.12, cv.eosin[sl])
        cv.hema[sl] = np.where(m, 0.0, cv.hema[sl])
        cv.labels[sl][m] = LABELS["bile_plug"]
    return pig


def hcc_seeds(box, rng) -> tuple[np.ndarray, np.ndarray]:
    """Tumour cell seeds in thick trabeculae: plate id = band of a warped coordinate, the
    bands 85-140 um (5-8 cells) wide, so sinusoids run between trabeculae only."""
    from imagine_med.engine.phantom.regions.histo_kit import lattice

    x0, y0, x1, y1 = box
    pts = lattice(rng, x0, y0, x1, y1, HCC["cell_spacing"], 0.22, margin=30)
    a = rng.uniform(0, np.pi)
    width = rng.uniform(*HCC["trabecula_width"])
    u = pts[:, 0] * np.cos(a) + pts[:, 1] * np.sin(a)
    v = -pts[:, 0] * np.sin(a) + pts[:, 1] * np.cos(a)
    warp = 22 * np.sin(v / 60.0 + rng.uniform(0, 6.3)) + 10 * np.sin(v / 23.0)
    band = np.floor((u + warp) / width).astype(int)
    # trabeculae branch: split some bands along v
    split = np.floor((v + 15 * np.sin(u / 40.0)) / rng.uniform(240, 360)).astype(int)
    plates = band * 1000 + split * (band % 2)
    return pts, plates


def paint_hcc_nuclei(cv: Canvas, cells: np.ndarray, seeds, rng, textures) -> list[int]:
    """Large, pleomorphic, hyperchromatic nuclei with nucleoli; returns the nucleus ids."""
    ids = []
    present = set(np.unique(cells[cells >= 0]).tolist())
    for i in sorted(present):
        d = float(np.clip(rng.normal(*HCC["nucleus"]), 7.5, 12.5))
        a = d / 2 * rng.uniform(1.0, 1.15)
        b = d * d / 4 / a
        ident = cv.nucleus(seeds[i, 0] + rng.normal(0, 0.8), seeds[i, 1] + rng.normal(0, 0.8),
                           a, b, rng.uniform(0, np.pi), "hepatocyte", 1.0,
                           textures["chromatin"], (cells, i))
        if ident:
            cv.nuclei[-1]["class"] = "tumour"
            ids.append(ident)
    return ids


__all__ = ["BILE", "HCC", "SIZES", "_set"]
