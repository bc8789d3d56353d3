"""A seeded field of renal cortex in micrometres: glomeruli and tubules.

Steps (build_field): glomeruli (one near the field's centre, more on a ~380 um lattice at low
power) -> each glomerulus: Bowman's capsule (a PAS-positive basement membrane with flat
parietal nuclei), Bowman's space, the tuft (capillary loops: open lumina with red cells, each
wrapped in a PAS-positive glomerular basement membrane; mesangium between; podocytes on the
outside) -> findings in the tuft (Kimmelstiel-Wilson nodules: round acellular PAS-positive
mesangial nodules pushing the loops aside; a cellular crescent filling part of Bowman's
space) -> tubules round it (proximal: eosinophilic, PAS-positive brush border, small lumen;
distal: paler, clear lumen) -> interstitium with peritubular capillaries.

Sizes (SIZES): glomerulus ~200 um across (Ross & Pawlina, Histology, ch. 20: renal corpuscle
~200 um), capillary loops ~6-10 um, proximal tubule ~55 um across (brush border ~2 um shown;
~3 um in life), distal tubule ~35-40 um, KW nodules 20-60 um.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.spatial import cKDTree

from imagine_med.engine.phantom.regions.histo_kit import (
    STAIN_OF,
    Gland,
    OrganCanvas,
    fill,
    gland,
    lattice,
    nuclei,
    paint,
    red_cell,
    red_cells,
    textures,
)

SIZES = {
    "glomerulus_radius": (88.0, 102.0),   # to the capsule
    "bowman_space": (6.0, 9.0),
    "loop_spacing": 10.0,
    "loop_lumen": (2.6, 4.0),
    "gbm": 0.7,                           # drawn thickness (true GBM ~0.35 um, blurred)
    "capsule_bm": 1.3,
    "proximal_radius": (25.0, 28.0), "proximal_lumen": (4.0, 7.0),
    "distal_radius": (20.0, 23.0), "distal_lumen": (7.0, 9.5),
    "tubule_spacing": 50.0,
    "nodule_radius": (11.0, 24.0),
    "glomerulus_spacing": 380.0,
}
LABELS: dict[str, int] = {
    "interstitium": 1, "glomerular_tuft": 2, "capillary_lumen": 3, "basement_membrane": 4,
    "mesangium": 5, "bowman_space": 6, "bowman_capsule": 7, "proximal_tubule": 8,
    "distal_tubule": 9, "brush_border": 10, "tubule_lumen": 11, "red_cell": 12,
    "podocyte": 13, "mesangial_cell": 14, "endothelial_cell": 15, "parietal_cell": 16,
    "tubular_nucleus": 17, "interstitial_cell": 18, "kw_nodule": 19, "crescent": 20,
    "crescent_cell": 21, "peritubular_capillary": 22,
}
NUCLEUS_LABELS = {"podocyte": "podocyte", "mesangial": "mesangial_cell",
                  "endothelial": "endothelial_cell", "parietal": "parietal_cell",
                  "tubular": "tubular_nucleus", "interstitial": "interstitial_cell",
                  "crescent": "crescent_cell"}


@dataclass
class Glomerulus:
    x: float
    y: float
    r: float                 # capsule radius
    nodules: list[tuple[float, float, float]] = field(default_factory=list)
    crescent: tuple[float, float] | None = None   # (start angle, span) radians


@dataclass
class KidneyField:
    canvas: OrganCanvas
    magnification: int
    glomeruli: list[Glomerulus]
    tubules: list[Gland]


def _glomeruli(rng, x0, y0, x1, y1) -> list[tuple[float, float, float]]:
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    span = min(x1 - x0, y1 - y0)
    first = (cx + rng.uniform(-0.12, 0.12) * span, cy + rng.uniform(-0.12, 0.12) * span)
    out = [(first[0], first[1], rng.uniform(*SIZES["glomerulus_radius"]))]
    if span > 300:
        for x, y in lattice(rng, x0, y0, x1, y1, SIZES["glomerulus_spacing"], 0.2, margin=0):
            if min(np.hypot(x - g[0], y - g[1]) for g in out) > 260:
                out.append((x, y, rng.uniform(*SIZES["glomerulus_radius"])))
    return out


def paint_glomerulus(cv: OrganCanvas, g: Glomerulus, rng, tex, nodular: bool,
                     crescentic: bool) -> None:
    """Capsule, Bowman's space, tuft of capillary loops and mesangium; the findings."""
    r = g.r
    got = cv.box(g.x, g.y, r + 3)
    if got is None:
        return
    sl, dx, dy = got
    dist = np.hypot(dx, dy)
    ang = np.arctan2(dy, dx)
    space = rng.uniform(*SIZES["bowman_space"])
    capsule = (dist >= r) & (dist < r + SIZES["capsule_bm"])
    inside = dist < r
    paint(cv, capsule, "basement_membrane", sl=sl, label="bowman_capsule")
    paint(cv, inside, "plasma", sl=sl, label="bowman_space")
    cv.instances[sl][capsule | inside] = 0
    tuft_r = r - space + 2.0
    tx, ty = g.x, g.y
    if crescentic:  # the crescent pushes the tuft aside and compresses it
        g.crescent = (rng.uniform(0, 2 * np.pi), rng.uniform(2.2, 3.6))
        push = 0.2 * tuft_r
        mid = g.crescent[0] + g.crescent[1] / 2
        tx, ty = g.x - push * np.cos(mid), g.y - push * np.sin(mid)
        tuft_r *= 0.82
        dist_t = np.hypot(dx + g.x - tx, dy + g.y - ty)
        ang_t = np.arctan2(dy + g.y - ty, dx + g.x - tx)
    else:
        dist_t, ang_t = dist, ang
    # capillary loops on a jittered lattice in the tuft
    loops = lattice(rng, tx - tuft_r, ty - tuft_r, tx + tuft_r, ty + tuft_r,
                    SIZES["loop_spacing"], 0.25, margin=0)
    loops = loops[np.hypot(loops[:, 0] - tx, loops[:, 1] - ty) < tuft_r - 2]
    lum = rng.uniform(*SIZES["loop_lumen"], len(loops))
    if nodular:
        n_nod = int(rng.integers(3, 6))
        for _ in range(n_nod * 10):
            if len(g.nodules) >= n_nod:
                break
            rn = rng.uniform(*SIZES["nodule_radius"])
            rad, a = rng.uniform(0.1, 0.75) * (tuft_r - rn), rng.uniform(0, 2 * np.pi)
            nx_, ny_ = tx + rad * np.cos(a), ty + rad * np.sin(a)
            if all(np.hypot(nx_ - p, ny_ - q) > rn + s + 6 for p, q, s in g.nodules):
                g.nodules.append((nx_, ny_, rn))
        keep = np.ones(len(loops), bool)
        for p, q, s in g.nodules:   # loops are pushed to the nodule's rim, some dilated
            keep &= np.hypot(loops[:, 0] - p, loops[:, 1] - q) > s + 2.5
        loops, lum = loops[keep], lum[keep] * 1.15
    tree = cKDTree(loops) if len(loops) else None
    lobes = 1.0 + 0.05 * np.cos(5 * ang_t + rng.uniform(0, 6.3)) + 0.03 * np.cos(
        3 * ang_t + rng.uniform(0, 6.3))
    in_tuft = (dist_t < tuft_r * lobes) & (dist < r - 2.5)
    if tree is not None:
        pts = np.stack([np.broadcast_to(dx + g.x, dist.shape)[in_tuft],
                        np.broadcast_to(dy + g.y, dist.shape)[in_tuft]], 1)
        d, j = tree.query(pts, k=1)
        d_full = np.full(dist.shape, np.inf)
        d_full[in_tuft] = d
        j_full = np.zeros(dist.shape, int)
        j_full[in_tuft] = j
        lr = lum[j_full]
        mesangial_w = 1.8 if not nodular else 3.2   # diffuse mesangial expansion in diabetes
        tuft = in_tuft & (d_full < lr + SIZES["gbm"] + mesangial_w)
        lumen = tuft & (d_full < lr)
        gbm = tuft & (d_full >= lr) & (d_full < lr + SIZES["gbm"])
        # mesangial stalks: the tuft's lobules hang on branching axes from the hilum; along
        # them the matrix widens and the loops give way (lobular architecture)
        stalk = np.zeros(dist.shape, bool)
        hilum = rng.uniform(0, 2 * np.pi)          # the vascular pole
        hx, hy = tx + 0.95 * tuft_r * np.cos(hilum), ty + 0.95 * tuft_r * np.sin(hilum)
        for k in range(int(rng.integers(5, 8))):
            a = hilum + np.pi + rng.uniform(-0.95, 0.95)   # fanning out from the pole
            length = tuft_r * rng.uniform(0.8, 1.6)
            ux, uy = np.cos(a), np.sin(a)
            px_ = dx + g.x - hx
            py_ = dy + g.y - hy
            along = np.clip(px_ * ux + py_ * uy, 0, length)
            bend = 5.0 * np.sin(along / 22.0 + k)
            across = np.abs(-px_ * uy + py_ * ux - bend)
            width = (2.6 - 1.2 * along / length) + 0.6 * tex["coarse"][sl]
            stalk |= (across < width) & in_tuft
        lumen &= ~stalk
        gbm &= ~stalk
        tuft |= stalk
        mes = tuft & ~lumen & ~gbm
    else:
        tuft = lumen = gbm = mes = np.zeros(dist.shape, bool)
    paint(cv, mes, "mesangial_matrix", sl=sl, scale=1.0 + 0.15 * tex["fine"][sl],
          label="mesangium")
    paint(cv, lumen, "plasma", sl=sl, label="capillary_lumen")
    paint(cv, gbm, "basement_membrane", sl=sl, label="basement_membrane")
    for p, q, s in g.nodules:
        e = cv.ellipse(p, q, s, s * rng.uniform(0.85, 1.0), rng.uniform(0, np.pi))
        if e is not None:
            s2, m2, rho2 = e
            lam = 1.0 + 0.10 * np.sin(rho2 * 18.0)   # laminated hyaline
            paint(cv, m2, "hyaline_nodule", sl=s2, scale=lam, label="kw_nodule")
    # red cells in about half the open loops
    for (lx, ly), lr_ in zip(loops, lum, strict=True):
        if rng.uniform() < 0.45 and lr_ > 3.6:
            red_cell(cv, lx, ly, min(7.4, 2 * lr_ - 0.2), rng.uniform(0.7, 1.0),
                     rng.uniform(0, np.pi))
    # nuclei: endothelial inside some loops, mesangial in the mesangium, podocytes outside
    n = len(loops)
    if n:
        kind = rng.choice(["endothelial", "mesangial", "podocyte"], n, p=[0.35, 0.4, 0.25])
        off = np.where(kind == "endothelial", lum - 1.0,
                       np.where(kind == "mesangial", lum + 3.0, lum + 2.8))
        a_ = rng.uniform(0, 2 * np.pi, n)
        # podocytes face Bowman's space: on the outward side of their loop
        out_ang = np.arctan2(loops[:, 1] - ty, loops[:, 0] - tx)
        a_ = np.where(kind == "podocyte", out_ang + rng.normal(0, 0.5, n), a_)
        seeds = loops + off[:, None] * np.stack([np.cos(a_), np.sin(a_)], 1)
        a = np.where(kind == "endothelial", 2.6, 2.5) * rng.uniform(0.9, 1.1, n)
        b = np.where(kind == "endothelial", 1.0, 1.9) * rng.uniform(0.9, 1.1, n)
        theta = a_ + np.where(kind == "endothelial", np.pi / 2, 0.0)
        hema = np.where(kind == "podocyte", 0.85, 1.0)
        nuclei(cv, seeds, a, b, theta, kind, hema, tex["chromatin"],
               where=(sl, tuft | (in_tuft & (dist_t > tuft_r - 6))))
    # parietal epithelium: flat nuclei along the inside of the capsule
    k = int(2 * np.pi * r / 22)
    pa = rng.uniform(0, 2 * np.pi) + np.arange(k) * 2 * np.pi / k
    seeds = np.stack([g.x + (r - 1.1) * np.cos(pa), g.y + (r - 1.1) * np.sin(pa)], 1)
    nuclei(cv, seeds, np.full(k, 3.6), np.full(k, 0.95), pa + np.pi / 2, ["parietal"] * k,
           np.full(k, 0.95), tex["chromatin"], where=(sl, inside & (dist > r - 3)))
    if g.crescent is not None:
        paint_crescent(cv, g, sl, dist, ang, ~in_tuft | ~tuft, rng, tex)


def paint_crescent(cv, g: Glomerulus, sl, dist, ang, free, rng, tex) -> None:
    """A cellular crescent: layered plump cells with fibrin filling Bowman's space between
    the capsule and the pushed, compressed tuft over an arc of the circumference (thinning
    at its horns)."""
    a0, span = g.crescent
    rel = (ang - a0) % (2 * np.pi)
    taper = np.clip(np.minimum(rel, span - rel) / 0.6, 0, 1)
    m = (rel < span) & (dist < g.r) & free & (dist > g.r - 4 - 60 * taper)
    paint(cv, m, "crescent_cytoplasm", sl=sl, scale=1.0 + 0.15 * tex["fine"][sl],
          label="crescent")
    fib = m & (tex["coarse"][sl] > 1.0)
    paint(cv, fib, "fibrin", sl=sl, label="crescent")
    seeds = lattice(rng, g.x - g.r, g.y - g.r, g.x + g.r, g.y + g.r, 8.5, 0.3, margin=0)
    sd = np.hypot(seeds[:, 0] - g.x, seeds[:, 1] - g.y)
    sa = (np.arctan2(seeds[:, 1] - g.y, seeds[:, 0] - g.x) - a0) % (2 * np.pi)
    ok = (sa < span) & (sd < g.r - 2)
    seeds = seeds[ok]
    n = len(seeds)
    t = np.arctan2(seeds[:, 1] - g.y, seeds[:, 0] - g.x) + np.pi / 2
    nuclei(cv, seeds, rng.uniform(3.2, 4.2, n), rng.uniform(1.8, 2.5, n), t,
           ["crescent"] * n, np.full(n, 0.95), tex["chromatin"], where=(sl, m))


def build_field(rng: np.random.Generator, width: int, height: int, px: float,
                magnification: int, nodular: bool = False, crescentic: bool = False
                ) -> KidneyField:
    cv = OrganCanvas(height, width, px, 0.0, 0.0, table=LABELS, nucleus_labels=NUCLEUS_LABELS)
    tex = textures(rng, height, width, px)
    x1, y1 = width * px, height * px
    fill(cv, np.ones((height, width), bool), "interstitium", "interstitium", tex["fibre"])
    glomeruli = [Glomerulus(x, y, r) for x, y, r in _glomeruli(rng, 0, 0, x1, y1)]
    # tubules round the glomeruli
    tubules = []
    for tx, ty in lattice(rng, 0, 0, x1, y1, SIZES["tubule_spacing"], 0.18, margin=30):
        prox = rng.uniform() < 0.65
        r_out = rng.uniform(*SIZES["proximal_radius" if prox else "distal_radius"])
        if any(np.hypot(tx - g.x, ty - g.y) < g.r + r_out + 5 for g in glomeruli):
            continue
        r_l = rng.uniform(*SIZES["proximal_lumen" if prox else "distal_lumen"])
        n = int(2 * np.pi * (r_l + r_out) / 2 / (13.0 if prox else 8.5))
        t = gland(cv, rng, tex, tx, ty, r_l, r_out, max(n, 5),
                  "proximal_tubule" if prox else "distal_tubule",
                  "proximal_tubule" if prox else "distal_tubule", "tubular",
                  lumen_label="tubule_lumen", nucleus_size=(2.6, 2.3) if prox else (2.4, 2.1),
                  nucleus_at=0.6 if prox else 0.55, nucleus_hema=0.85,
                  brush=2.0 if prox else 0.0, wobble=0.1 if prox else 0.06)
        if t is not None:
            tubules.append(t)
    # peritubular capillaries with red cells, interstitial cells
    inter = cv.labels == LABELS["interstitium"]
    red_cells(cv, rng, inter & (cv.labels == LABELS["interstitium"]), 1 / 4000.0)
    ys, xs = np.nonzero(cv.labels == LABELS["interstitium"])
    if len(ys):
        k = int(len(ys) * px * px / 500)
        p = rng.integers(0, len(ys), k)
        seeds = np.stack([cv.xs[xs[p]], cv.ys[ys[p]]], 1)
        nuclei(cv, seeds, np.full(k, 3.0), np.full(k, 1.1), rng.uniform(0, np.pi, k),
               ["interstitial"] * k, np.full(k, 0.95), tex["chromatin"],
               where=cv.labels == LABELS["interstitium"])
    for g in glomeruli:
        paint_glomerulus(cv, g, rng, tex, nodular, crescentic)
    return KidneyField(cv, magnification, glomeruli, tubules)


__all__ = ["LABELS", "STAIN_OF", "KidneyField", "build_field"]


def build(rng, width, height, px, mag, wanted: tuple[str, ...], antibody=None) -> KidneyField:
    """The renderer's entry: findings by name."""
    return build_field(rng, width, height, px, mag, "glomerulosclerosis" in wanted,
                       "crescents" in wanted)
