"""Shared tissue machinery for organ fields beyond the liver (kidney, colon, lymph node, skin).

Re-uses the liver's `Canvas` (stain concentrations, labels, nucleus instances), its noise
and red cells, and adds what the other organs share, vectorised so a dense field (a lymph
node holds thousands of lymphocytes per field) stays fast:
- `OrganCanvas`: a Canvas with a DAB map (immunohistochemistry) and the organ's own labels;
- `lattice`: jittered hexagonal seeds (cells, tubules, crypts);
- `nuclei`: many ellipse nuclei at once (nearest seed per pixel: touching nuclei stay apart);
- `gland`: a ring of epithelial cells round a lumen on a basement membrane (a tubule or a
  crypt cut across), with optional brush border and goblet cells.
The stain columns (haematoxylin, eosin, glycogen, diastase-resistant PAS) come from
`tissues.STAIN_COLUMNS`, so every organ renders through the same microscope.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.spatial import cKDTree

from imagine_med.engine.phantom.regions.liver_tissue.model import (
    Canvas,
    _set,
    red_cell,
    smooth_noise,
)
from imagine_med.engine.phantom.tissues import STAIN_COLUMNS as STAIN

__all__ = [
    "OrganCanvas",
    "gland",
    "inner_ids",
    "lattice",
    "nuclei",
    "paint",
    "red_cell",
    "smooth_noise",
    "textures",
]

paint = _set


@dataclass
class OrganCanvas(Canvas):
    """A Canvas with a DAB concentration map for IHC."""

    dab: np.ndarray = field(init=False)
    pigment: np.ndarray = field(init=False)   # melanin OD (physics/microscopy.MELANIN)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.dab = np.zeros((self.h, self.w), np.float32)
        self.pigment = np.zeros((self.h, self.w), np.float32)

    def grid(self) -> tuple[np.ndarray, np.ndarray]:
        """Pixel centre coordinates (um), broadcastable (H, 1) and (1, W)."""
        return self.ys[:, None], self.xs[None, :]


def textures(rng: np.random.Generator, h: int, w: int, px: float) -> dict[str, np.ndarray]:
    return {"fine": smooth_noise(rng, (h, w), 0.5 / px),
            "coarse": smooth_noise(rng, (h, w), 12.0 / px),
            "chromatin": smooth_noise(rng, (h, w), 0.45 / px),
            "fibre": smooth_noise(rng, (h, w), (0.5 / px, 1.8 / px))}


def lattice(rng: np.random.Generator, x0: float, y0: float, x1: float, y1: float,
            spacing: float, jitter: float = 0.3, margin: float | None = None) -> np.ndarray:
    """Jittered hexagonal points covering the box (plus a margin), (n, 2) um."""
    m = spacing if margin is None else margin
    gx, gy = np.meshgrid(np.arange(x0 - m, x1 + m, spacing),
                         np.arange(y0 - m, y1 + m, spacing * 0.866))
    gx = gx + (np.arange(gx.shape[0])[:, None] % 2) * spacing / 2
    pts = np.stack([gx.ravel(), gy.ravel()], 1)
    return pts + rng.uniform(-jitter, jitter, pts.shape) * spacing


def nuclei(cv: Canvas, seeds: np.ndarray, a: np.ndarray, b: np.ndarray, theta: np.ndarray,
           kinds: list[str] | np.ndarray, hema: np.ndarray, texture: np.ndarray,
           where: np.ndarray | None = None, eosin: float = 0.08,
           nearest: np.ndarray | None = None) -> np.ndarray:
    """Paint many ellipse nuclei at once; each pixel belongs to its nearest seed, so touching
    nuclei split along their bisector. `nearest`: each pixel's nearest seed, when the caller
    has it already. Returns each seed's instance id (0 if not in view)."""
    n = len(seeds)
    ids = np.zeros(n, np.int64)
    if n == 0:
        return ids
    reach = float(np.max(np.maximum(a, b)))
    if isinstance(where, tuple):   # (slices, mask in them): a local region, cheaper
        sl, local = where
        rr, cc = np.nonzero(local)
        rr, cc = rr + sl[0].start, cc + sl[1].start
    elif where is not None:
        rr, cc = np.nonzero(where)
    else:
        rr, cc = np.indices((cv.h, cv.w)).reshape(2, -1)
    if nearest is not None:
        j = nearest[rr, cc]
    else:
        inview = ((seeds[:, 0] > cv.x0 - reach) & (seeds[:, 0] < cv.x0 + cv.w * cv.px + reach)
                  & (seeds[:, 1] > cv.y0 - reach)
                  & (seeds[:, 1] < cv.y0 + cv.h * cv.px + reach))
        keep = np.nonzero(inview)[0]
        if not len(keep):
            return ids
        box_px = (2 * reach / cv.px + 2) ** 2
        if len(keep) * box_px < 0.3 * len(rr):   # sparse nuclei: only pixels near a seed
            near_any = np.zeros((cv.h, cv.w), bool)
            for x, y in seeds[keep]:
                got = cv.box(x, y, reach)
                if got is not None:
                    near_any[got[0]] = True
            sel = near_any[rr, cc]
            rr, cc = rr[sel], cc[sel]
        tree = cKDTree(seeds[keep])
        d, j = tree.query(np.stack([cv.xs[cc], cv.ys[rr]], 1), k=1,
                          distance_upper_bound=reach)
        ok = np.isfinite(d)
        rr, cc, j = rr[ok], cc[ok], keep[j[ok]]
    dx, dy = cv.xs[cc] - seeds[j, 0], cv.ys[rr] - seeds[j, 1]
    c, s = np.cos(theta[j]), np.sin(theta[j])
    u = (dx * c + dy * s) / a[j]
    v = (-dx * s + dy * c) / b[j]
    rho = np.sqrt(u * u + v * v)
    m = rho <= 1.0
    rr, cc, j, rho = rr[m], cc[m], j[m], rho[m]
    if not len(j):
        return ids
    present = np.unique(j)
    base = len(cv.nuclei)
    ids[present] = base + 1 + np.arange(len(present))
    tex = texture[rr, cc]
    hj = hema[j]
    cv.hema[rr, cc] = hj * (0.85 + 0.22 * tex) + 0.22 * hj * np.clip((rho - 0.72) / 0.28, 0, 1)
    cv.eosin[rr, cc] = eosin
    cv.glycogen[rr, cc] = 0.0
    cv.membrane[rr, cc] = 0.0
    kinds = np.asarray(kinds)
    label_of = {k: cv.table[cv.nucleus_labels[k]] for k in np.unique(kinds[present])}
    lab = np.array([label_of.get(k, 0) for k in kinds[present]], np.uint8)
    lut = np.zeros(n, np.uint8)
    lut[present] = lab
    cv.labels[rr, cc] = lut[j]
    cv.instances[rr, cc] = ids[j].astype(np.uint16)
    for i in present:
        cv.nuclei.append({"id": int(ids[i]), "class": str(kinds[i]),
                          "x_um": round(float(seeds[i, 0] - cv.x0), 2),
                          "y_um": round(float(seeds[i, 1] - cv.y0), 2),
                          "diameter_um": round(float(2 * np.sqrt(a[i] * b[i])), 2)})
    return ids


def _harmonics(rng, k: int = 3, amp: float = 0.08):
    ph = rng.uniform(0, 2 * np.pi, k)
    am = rng.uniform(-amp, amp, k)
    return lambda ang: 1.0 + sum(am[i] * np.cos((i + 2) * ang + ph[i]) for i in range(k))


@dataclass
class Gland:
    """What `gland` built: centre, radii, its cells' nucleus ids and which are goblet cells."""

    x: float
    y: float
    r_out: float
    nucleus_ids: list[int]
    goblet: list[bool]
    kind: str


def gland(cv: Canvas, rng, tex, cx: float, cy: float, r_lumen: float, r_out: float,
          n_cells: int, cyto: str, cyto_label: str, nucleus_kind: str, lumen: str = "plasma",
          lumen_label: str | None = None, nucleus_size=(3.0, 2.2), nucleus_at: float = 0.62,
          nucleus_hema: float = 0.9, brush: float = 0.0, goblet_fraction: float = 0.0,
          wobble: float = 0.08, stratify: float = 0.0, bm: float = 0.8,
          inside: np.ndarray | None = None) -> Gland | None:
    """A ring of `n_cells` epithelial cells (wedges) between a lumen and a basement membrane
    (`bm` um), outline wobbling by a few harmonics. Columnar nuclei sit at `nucleus_at` of the
    way from lumen to membrane (basal ~0.7), long axis radial; `stratify` scatters that depth
    (adenoma: pencillate, crowded, stratified). Goblet cells: an apical mucin cup (PAS,
    diastase-resistant) with the nucleus pushed to the base. Brush border: a PAS-positive
    apical band `brush` um thick (proximal tubule)."""
    got = cv.box(cx, cy, r_out * (1 + 3 * wobble) + bm + 1)
    if got is None:
        return None
    sl, dx, dy = got
    shape = _harmonics(rng, 3, wobble)
    ang = np.arctan2(dy, dx)
    dist = np.hypot(dx, dy) / shape(ang)
    ring = (dist < r_out) & (dist >= r_lumen)
    if inside is not None:
        ring &= inside[sl]
    a0 = rng.uniform(0, 2 * np.pi)
    sector = np.floor(((ang - a0) % (2 * np.pi)) / (2 * np.pi / n_cells)).astype(np.int32)
    lumen_m = dist < r_lumen
    membrane_m = (dist >= r_out) & (dist < r_out + bm)
    if inside is not None:
        lumen_m &= inside[sl]
        membrane_m &= inside[sl]
    paint(cv, lumen_m, lumen, sl=sl, label=lumen_label or cyto_label)
    paint(cv, membrane_m, "basement_membrane", sl=sl, label="basement_membrane")
    grain = 1.0 + 0.12 * tex["fine"][sl]
    paint(cv, ring, cyto, sl=sl, scale=grain, label=cyto_label)
    # lateral cell borders: where the sector changes
    edge = np.zeros_like(ring)
    edge[:, 1:] |= sector[:, 1:] != sector[:, :-1]
    edge[1:, :] |= sector[1:, :] != sector[:-1, :]
    paint(cv, ring & edge, "cell_membrane", sl=sl)
    cv.instances[sl][lumen_m | membrane_m | ring] = 0
    if brush > 0:
        bb = ring & (dist < r_lumen + brush)
        paint(cv, bb, "brush_border", sl=sl, label="brush_border")
    # goblet cells never side by side (so each cup stays its own); up to about half
    goblets = [bool(k % 2 == 1 and k < n_cells - 1 and rng.uniform() < 2 * goblet_fraction)
               for k in range(n_cells)]
    depth = r_out - r_lumen
    if any(goblets):
        cup_centre = r_lumen + 0.42 * depth
        mids = a0 + (np.arange(n_cells) + 0.5) * 2 * np.pi / n_cells
        width = cup_centre * 2 * np.pi / n_cells
        for k in np.nonzero(goblets)[0]:
            gx = cx + cup_centre * shape(mids[k]) * np.cos(mids[k])
            gy = cy + cup_centre * shape(mids[k]) * np.sin(mids[k])
            e = cv.ellipse(gx, gy, 0.3 * depth, float(np.clip(0.62 * width, 1.6, 3.4)),
                           mids[k])
            if e is None:
                continue
            s2, m2, _ = e
            m2 &= ring[_sub(sl, s2)]  # a cup may bulge into its neighbours
            paint(cv, m2, "goblet_mucin", sl=s2, label="goblet_mucin")
    mids = a0 + (np.arange(n_cells) + 0.5) * 2 * np.pi / n_cells + rng.normal(0, 0.05, n_cells)
    at = np.where(goblets, 0.86, nucleus_at + stratify * rng.uniform(-1, 1, n_cells))
    at = np.clip(at, 0.3, 0.9)
    rad = (r_lumen + at * depth) * shape(mids)
    seeds = np.stack([cx + rad * np.cos(mids), cy + rad * np.sin(mids)], 1)
    a = np.full(n_cells, nucleus_size[0]) * rng.uniform(0.9, 1.1, n_cells)
    b = np.full(n_cells, nucleus_size[1]) * rng.uniform(0.9, 1.1, n_cells)
    b = np.minimum(b, 0.42 * rad * 2 * np.pi / n_cells)
    a = np.where(goblets, a * 0.7, a)
    kinds = [nucleus_kind] * n_cells
    ids = nuclei(cv, seeds, a, b, mids, kinds, np.full(n_cells, nucleus_hema), tex["chromatin"],
                 where=(sl, ring))
    return Gland(cx, cy, r_out, [int(i) for i in ids], goblets, nucleus_kind)


def _sub(outer: tuple[slice, slice], inner: tuple[slice, slice]) -> tuple[slice, slice]:
    """`inner` (canvas slices) expressed inside `outer`."""
    return tuple(slice(i.start - o.start, i.stop - o.start) for o, i in zip(outer, inner,
                                                                             strict=True))


def inner_ids(comp: np.ndarray) -> set[int]:
    """Component ids (> 0) not touching the field's edge."""
    edge = set(np.unique(np.concatenate([comp[0], comp[-1], comp[:, 0], comp[:, -1]])).tolist())
    return set(np.unique(comp[comp > 0]).tolist()) - edge


def fill(cv: Canvas, mask: np.ndarray, comp: str, label: str, tex=None, scale=1.0) -> None:
    """Paint a whole-canvas mask with a component (optionally textured)."""
    sc = scale if tex is None else scale * (1.0 + 0.12 * tex)
    paint(cv, mask, comp, scale=sc, label=label)


def red_cells(cv: Canvas, rng, mask: np.ndarray, per_um2: float, sizes=(7.5, 0.2)) -> int:
    """Scatter red cells (7-8 um discs) over a mask, not overlapping."""
    ys, xs = np.nonzero(mask)
    if not len(ys):
        return 0
    n = int(len(ys) * cv.px * cv.px * per_um2)
    placed: list[tuple[float, float]] = []
    for p in rng.integers(0, len(ys), n * 3):
        if len(placed) >= n:
            break
        x, y = float(cv.xs[xs[p]]), float(cv.ys[ys[p]])
        d = float(rng.normal(*sizes))
        if placed and min(np.hypot(x - qx, y - qy) for qx, qy in placed) < d + 0.5:
            continue
        if red_cell(cv, x, y, d, rng.uniform(0.75, 1.0), rng.uniform(0, np.pi)):
            placed.append((x, y))
    return len(placed)


STAIN_OF = STAIN  # re-exported for organ modules


def mitoses(cv: Canvas, ids: list[int], rng, texture: np.ndarray) -> int:
    """Redraw the given nuclei as mitotic figures: a dense, ragged metaphase plate (a bar of
    condensed chromosomes across the nucleus) in a clear halo; marks them in cv.nuclei."""
    by_id = {d["id"]: d for d in cv.nuclei}
    done = 0
    for ident in ids:
        d = by_id.get(int(ident))
        if d is None:
            continue
        got = cv.box(d["x_um"] + cv.x0, d["y_um"] + cv.y0, d["diameter_um"])
        if got is None:
            continue
        sl, dx, dy = got
        own = cv.instances[sl] == ident
        if not own.any():
            continue
        t = rng.uniform(0, np.pi)
        along = dx * np.cos(t) + dy * np.sin(t)
        across = -dx * np.sin(t) + dy * np.cos(t)
        half = 0.5 * d["diameter_um"]
        plate = own & (np.abs(across) < 0.22 * half * (1 + 0.5 * texture[sl])) & (
            np.abs(along) < 0.95 * half)
        if plate.sum() < 3:   # too little of it in view to draw a figure: not flagged
            continue
        cv.hema[sl] = np.where(own, 0.12, cv.hema[sl])
        cv.hema[sl] = np.where(plate, 1.9, cv.hema[sl])
        cv.eosin[sl] = np.where(own, 0.12, cv.eosin[sl])
        d["mitosis"] = True
        done += 1
    return done


def scatter_nuclei(cv: Canvas, rng, mask: np.ndarray, per_um2: float, kind: str,
                   size: tuple[float, float], hema: float, texture: np.ndarray,
                   elongate: float = 1.0) -> np.ndarray:
    """Cells of one kind scattered over a mask (lamina propria lymphocytes, fibroblasts):
    `size` = (mean diameter um, sd); `elongate` > 1 draws spindles."""
    ys, xs = np.nonzero(mask)
    if not len(ys):
        return np.zeros(0, np.int64)
    n = int(len(ys) * cv.px * cv.px * per_um2)
    p = rng.integers(0, len(ys), n)
    seeds = np.stack([cv.xs[xs[p]] + rng.uniform(-0.5, 0.5, n) * cv.px,
                      cv.ys[ys[p]] + rng.uniform(-0.5, 0.5, n) * cv.px], 1)
    d = np.clip(rng.normal(size[0], size[1], n), 0.6 * size[0], 1.4 * size[0])
    a = d / 2 * np.sqrt(elongate)
    b = d / 2 / np.sqrt(elongate) * rng.uniform(0.85, 1.0, n)
    return nuclei(cv, seeds, a, b, rng.uniform(0, np.pi, n), [kind] * n, np.full(n, hema),
                  texture, where=mask)
