"""A seeded field of invasive breast carcinoma in micrometres, for immunohistochemistry.

Steps (build_field): nests (smooth noise over ~40 um, thresholded: tumour cells in nests,
collagen stroma between) -> tumour cells (jittered seeds ~14 um apart, Voronoi) -> per cell a
pleomorphic nucleus (8-12 um ellipse), cytoplasm, a membrane (the cell's outer 0.9 um) ->
stroma with spindle fibroblast nuclei -> the antibody: DAB on membranes (HER2: intensity and
completeness by score) or on nuclei (ER, PR, Ki-67: a percent of tumour cells).
HER2 scoring: physics.md "Histology additions" (0 none/faint in <= 10%; 1+ faint incomplete
in > 10%; 2+ weak-moderate complete in > 10%; 3+ strong complete in > 10% of tumour cells).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from imagine_med.engine.phantom.regions.liver_tissue.model import smooth_noise

LABELS: dict[str, int] = {"stroma": 1, "tumour_cytoplasm": 2, "tumour_nucleus": 3,
                          "tumour_membrane": 4, "fibroblast": 5}
NUCLEAR = ("er", "pr", "ki67")
# HER2 score -> (fraction of tumour cells stained, DAB OD on the membrane, membrane coverage)
HER2_PATTERN = {0: (0.05, 0.06, 0.3), 1: (0.6, 0.14, 0.45), 2: (0.6, 0.32, 1.0),
                3: (0.85, 0.85, 1.0)}


@dataclass
class BreastField:
    hema: np.ndarray
    dab: np.ndarray
    labels: np.ndarray
    instances: np.ndarray
    nuclei: list[dict]
    cell_ids: np.ndarray      # tumour cell per pixel (-1 elsewhere)
    positive: set[int]        # cells whose marker was stained


def _seeds(rng, x1: float, y1: float, spacing: float = 14.0) -> np.ndarray:
    gx, gy = np.meshgrid(np.arange(-spacing, x1 + spacing, spacing),
                         np.arange(-spacing, y1 + spacing, spacing * 0.866))
    gx = gx + (np.arange(gx.shape[0])[:, None] % 2) * spacing / 2
    pts = np.stack([gx.ravel(), gy.ravel()], 1)
    return pts + rng.uniform(-0.3, 0.3, pts.shape) * spacing


def build_field(rng: np.random.Generator, width: int, height: int, px: float, marker: str,
                her2_score: int = 0, percent: float = 0.0) -> BreastField:
    xs = (np.arange(width, dtype=np.float32) + 0.5) * px
    ys = (np.arange(height, dtype=np.float32) + 0.5) * px
    nests = smooth_noise(rng, (height, width), 16.0 / px) > -0.6
    seeds = _seeds(rng, width * px, height * px)
    # nearest and second nearest seed (vectorised on the jittered lattice: a 5x5 neighbourhood)
    from imagine_med.engine.phantom.regions.liver_tissue.model import Canvas, voronoi

    cv = Canvas(height, width, px, 0.0, 0.0)
    d1, d2, i1, i2 = voronoi(cv, seeds, reach=24.0)
    j1, j2 = np.maximum(i1, 0), np.maximum(i2, 0)
    sep = np.hypot(seeds[j1, 0] - seeds[j2, 0], seeds[j1, 1] - seeds[j2, 1])
    edge = (d2 - d1) * 0.5 / np.maximum(sep, 1e-3)
    n = len(seeds)
    # a cell is tumour when its seed lies in a nest
    sc = np.clip((seeds[:, 0] / px).astype(int), 0, width - 1)
    sr = np.clip((seeds[:, 1] / px).astype(int), 0, height - 1)
    tumour_cell = nests[sr, sc]
    tumour = tumour_cell[j1] & nests
    cells = np.where(tumour, i1, -1)
    # membrane: the cell's outer 0.9 um (towards neighbours and the stroma)
    near_stroma = tumour & ~_erode(tumour, max(1, round(0.9 / px)))
    membrane = tumour & ((edge < 0.9) | near_stroma)
    # pleomorphic nuclei: ellipses about each seed
    a = rng.uniform(4.2, 6.0, n)
    b = a * rng.uniform(0.7, 0.95, n)
    th = rng.uniform(0, np.pi, n)
    dx = xs[None, :] - seeds[j1, 0]
    dy = ys[:, None] - seeds[j1, 1]
    u = (dx * np.cos(th[j1]) + dy * np.sin(th[j1])) / a[j1]
    v = (-dx * np.sin(th[j1]) + dy * np.cos(th[j1])) / b[j1]
    rho = np.sqrt(u * u + v * v)
    nucleus = tumour & (rho <= 1.0) & ~membrane
    chroma = smooth_noise(rng, (height, width), 0.5 / px)
    # counterstain: tumour cytoplasm faintly, collagen a little (grey-blue), with texture
    fibres = smooth_noise(rng, (height, width), (0.6 / px, 2.5 / px))
    hema = np.where(tumour, 0.07, 0.05 + 0.02 * fibres).astype(np.float32)
    hema[nucleus] = (0.62 * (0.85 + 0.2 * chroma) + 0.2 * np.clip((rho - 0.75) / 0.25, 0, 1)
                     )[nucleus]
    labels = np.where(tumour, LABELS["tumour_cytoplasm"], LABELS["stroma"]).astype(np.uint8)
    labels[membrane] = LABELS["tumour_membrane"]
    labels[nucleus] = LABELS["tumour_nucleus"]
    # stroma: spindle fibroblast nuclei
    stroma_pts = np.argwhere(~nests)
    for r_, c_ in stroma_pts[rng.integers(0, max(1, len(stroma_pts)),
                                          int((~nests).sum() * px * px / 450))
                             if len(stroma_pts) else []]:
        y, x = ys[r_], xs[c_]
        t = rng.uniform(0, np.pi)
        uu = ((xs[None, :] - x) * np.cos(t) + (ys[:, None] - y) * np.sin(t)) / 5.0
        vv = (-(xs[None, :] - x) * np.sin(t) + (ys[:, None] - y) * np.cos(t)) / 1.2
        m = (uu * uu + vv * vv <= 1) & ~nests
        hema[m] = 0.7
        labels[m] = LABELS["fibroblast"]
    # the antibody
    dab = np.zeros((height, width), np.float32)
    present = np.unique(cells[(cells >= 0) & (nucleus if marker in NUCLEAR else True)])
    # wholly in the field: the cell (membrane marker) or its nucleus (nuclear markers)
    border = np.where(nucleus, cells, -1) if marker in NUCLEAR else cells
    edge = np.unique(np.concatenate([border[0], border[-1], border[:, 0], border[:, -1]]))
    inner, cut = np.setdiff1d(present, edge), np.intersect1d(present, edge)

    def choose(frac: float) -> set[int]:
        """Exactly round(frac x n) of the cells wholly in the field; cut ones by chance."""
        k = round(frac * len(inner))
        out = set(rng.choice(inner, k, replace=False).tolist()) if k else set()
        return out | {int(c) for c in cut if rng.uniform() < frac}

    positive: set[int] = set()
    if marker == "her2":
        frac, od, cover = HER2_PATTERN[her2_score]
        positive = choose(frac)
        pos = np.zeros(n, bool)
        pos[list(positive)] = True
        start = rng.uniform(0, 2 * np.pi, n)
        ang = (np.arctan2(dy, dx) - start[j1]) % (2 * np.pi)
        covered = ang < cover * 2 * np.pi
        strength = od * rng.uniform(0.85, 1.15, n)
        m = membrane & pos[j1] & (covered | (cover >= 1.0))
        dab[m] = strength[j1][m]
        # a faint cytoplasmic blush in strongly stained cells
        blush = tumour & pos[j1] & ~membrane & ~nucleus
        dab[blush] = 0.05 * od
    elif marker in NUCLEAR:
        positive = choose(percent / 100.0)
        pos = np.zeros(n, bool)
        pos[list(positive)] = True
        strength = rng.uniform(0.45, 0.9, n)
        m = nucleus & pos[j1]
        dab[m] = strength[j1][m] * (0.9 + 0.2 * chroma[m])
        hema[m] *= 0.45
    instances = np.where(nucleus, i1 + 1, 0).astype(np.uint16)
    ids = np.unique(instances[instances > 0])
    relabel = np.zeros(n + 2, np.uint16)
    relabel[ids] = np.arange(1, len(ids) + 1)
    instances = relabel[instances]
    nuclei = [{"id": int(relabel[i]), "class": "tumour",
               "positive": bool(int(i) - 1 in positive),
               "x_um": round(float(seeds[i - 1, 0]), 2), "y_um": round(float(seeds[i - 1, 1]), 2),
               "diameter_um": round(float(2 * np.sqrt(a[i - 1] * b[i - 1])), 2)} for i in ids]
    return BreastField(hema, dab, labels, instances, nuclei, cells, positive)


def _erode(mask: np.ndarray, r: int) -> np.ndarray:
    from scipy.ndimage import binary_erosion

    return binary_erosion(mask, iterations=r, border_value=1)
