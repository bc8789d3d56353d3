"""A seeded field of colonic mucosa in micrometres, crypts cut across ("test-tube rack").

Steps (build_field): lamina propria (loose stroma with lymphocytes, plasma cells and
capillaries) -> crypts on a jittered hexagonal lattice, each a ring of columnar cells round a
small lumen on a PAS-positive basement membrane, about half of them goblet cells (an apical
mucin cup, PAS-positive and diastase-resistant, the nucleus pushed basal) -> findings:
- tubular adenoma (low-grade dysplasia) over part of the field: crowded, larger crypts,
  elongated (pencillate) hyperchromatic stratified nuclei, goblet cells depleted, mitoses;
- adenocarcinoma: irregular, angulated glands of varying size, large pleomorphic nuclei,
  no goblet cells, luminal "dirty" necrosis, in desmoplastic stroma, mitoses.

Sizes (SIZES): crypt ~50-70 um across cut transversely, ~60-80 um apart (Ross & Pawlina ch.
17: crypts of Lieberkuhn, goblet cells most numerous in the colon); columnar nucleus ~8 x 4
um; lymphocyte ~7 um; plasma cell nucleus ~6 um.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from imagine_med.engine.phantom.regions.histo_kit import (
    Gland,
    OrganCanvas,
    fill,
    gland,
    lattice,
    mitoses,
    nuclei,
    paint,
    red_cells,
    scatter_nuclei,
    smooth_noise,
    textures,
)

SIZES = {
    "crypt_spacing": 72.0, "crypt_radius": (25.0, 31.0), "crypt_lumen": (4.0, 7.0),
    "cell_width": 6.8, "goblet_fraction": 0.5,
    "adenoma_crypt_radius": (30.0, 36.0), "adenoma_spacing": 78.0,
    "carcinoma_radius": (24.0, 55.0),
}
LABELS: dict[str, int] = {
    "lamina_propria": 1, "crypt_epithelium": 2, "goblet_mucin": 3, "crypt_lumen": 4,
    "basement_membrane": 5, "epithelial_nucleus": 6, "lymphocyte": 7, "plasma_cell": 8,
    "red_cell": 9, "adenoma_epithelium": 10, "adenoma_nucleus": 11,
    "carcinoma_epithelium": 12, "tumour_nucleus": 13, "desmoplastic_stroma": 14,
    "necrosis": 15, "fibroblast": 16, "brush_border": 17, "surface_epithelium": 18,
    "muscularis_mucosae": 19, "submucosa": 20, "gut_lumen": 21,
}
NUCLEUS_LABELS = {"epithelial": "epithelial_nucleus", "adenoma": "adenoma_nucleus",
                  "tumour": "tumour_nucleus", "lymphocyte": "lymphocyte",
                  "plasma": "plasma_cell", "fibroblast": "fibroblast"}


@dataclass
class ColonField:
    canvas: OrganCanvas
    magnification: int
    crypts: list[Gland] = field(default_factory=list)
    finding: str | None = None


def _crypt(cv, rng, tex, x, y, kind: str, r: float | None = None) -> Gland | None:
    if kind == "normal":
        r = rng.uniform(*SIZES["crypt_radius"])
        rl = rng.uniform(*SIZES["crypt_lumen"])
        n = int(2 * np.pi * (r + rl) / 2 / SIZES["cell_width"])
        return gland(cv, rng, tex, x, y, rl, r, n, "colonic_epithelium", "crypt_epithelium",
                     "epithelial", lumen="goblet_mucin", lumen_label="crypt_lumen",
                     nucleus_size=(3.6, 1.9), nucleus_at=0.82, nucleus_hema=0.95,
                     goblet_fraction=SIZES["goblet_fraction"], wobble=0.06)
    if kind == "adenoma":
        r = rng.uniform(*SIZES["adenoma_crypt_radius"])
        rl = rng.uniform(4.0, 8.0)
        n = int(2 * np.pi * (r + rl) / 2 / 4.6)   # crowded, narrow cells
        return gland(cv, rng, tex, x, y, rl, r, n, "tumour_cytoplasm", "adenoma_epithelium",
                     "adenoma", lumen="plasma", lumen_label="crypt_lumen",
                     nucleus_size=(5.0, 1.5), nucleus_at=0.62, nucleus_hema=1.25,
                     goblet_fraction=0.06, wobble=0.1, stratify=0.28)
    r = r or rng.uniform(*SIZES["carcinoma_radius"])
    rl = r * rng.uniform(0.25, 0.55)
    n = int(2 * np.pi * (r + rl) / 2 / 8.0)
    return gland(cv, rng, tex, x, y, rl, r, max(n, 6), "tumour_cytoplasm",
                 "carcinoma_epithelium", "tumour", lumen="necrotic_debris",
                 lumen_label="necrosis", nucleus_size=(5.6, 3.6), nucleus_at=0.55,
                 nucleus_hema=1.05, goblet_fraction=0.0, wobble=0.28, stratify=0.3)


def build_field(rng: np.random.Generator, width: int, height: int, px: float,
                magnification: int, finding: str | None) -> ColonField:
    cv = OrganCanvas(height, width, px, 0.0, 0.0, table=LABELS, nucleus_labels=NUCLEUS_LABELS)
    tex = textures(rng, height, width, px)
    x1, y1 = width * px, height * px
    fld = ColonField(cv, magnification, finding=finding)
    everything = np.ones((height, width), bool)
    if finding == "adenocarcinoma":
        fill(cv, everything, "desmoplastic_stroma", "desmoplastic_stroma", tex["fibre"])
        placed: list[tuple[float, float, float]] = []
        for x, y in lattice(rng, 0, 0, x1, y1, 55.0, 0.4, margin=40):
            r = rng.uniform(*SIZES["carcinoma_radius"])
            # irregular outlines reach ~1.3 r: keep neighbours from overlapping
            if not all(np.hypot(x - p, y - q) > 1.08 * (r + s) + 3 for p, q, s in placed):
                continue
            g = _crypt(cv, rng, tex, x, y, "carcinoma", r)
            if g is not None:
                placed.append((x, y, g.r_out))
                fld.crypts.append(g)
        stroma = cv.labels == LABELS["desmoplastic_stroma"]
        scatter_nuclei(cv, rng, stroma, 1 / 260.0, "fibroblast", (6.0, 0.6), 1.0,
                       tex["chromatin"], elongate=5.0)
        scatter_nuclei(cv, rng, cv.labels == LABELS["desmoplastic_stroma"], 1 / 900.0,
                       "lymphocyte", (6.5, 0.4), 1.3, tex["chromatin"])
        # nuclear dust in the necrotic lumina
        scatter_nuclei(cv, rng, cv.labels == LABELS["necrosis"], 1 / 40.0, "fibroblast",
                       (1.6, 0.4), 1.4, tex["chromatin"])
        _mitoses(cv, rng, tex, "tumour", 0.03)
        return fld
    fill(cv, everything, "lamina_propria", "lamina_propria", tex["fibre"])
    if magnification <= 10:   # low power: the mucosa cut perpendicular, crypts as test tubes
        _vertical(cv, fld, rng, tex, finding)
        return fld
    if finding == "adenoma":  # the adenoma occupies most of the field, a wavy edge
        ang = rng.uniform(0, 2 * np.pi)
        edge_at = rng.uniform(0.2, 0.3) * min(x1, y1)
    spacing = SIZES["adenoma_spacing" if finding == "adenoma" else "crypt_spacing"]
    for x, y in lattice(rng, 0, 0, x1, y1, spacing, 0.08, margin=40):
        kind = "normal"
        if finding == "adenoma":
            s = (x - x1 / 2) * np.cos(ang) + (y - y1 / 2) * np.sin(ang)
            if s > -min(x1, y1) / 2 + edge_at + 20 * np.sin(0.02 * (x + y)):
                kind = "adenoma"
        g = _crypt(cv, rng, tex, x, y, kind)
        if g is not None:
            fld.crypts.append(g)
    lp = cv.labels == LABELS["lamina_propria"]
    red_cells(cv, rng, lp, 1 / 2500.0)
    lp = cv.labels == LABELS["lamina_propria"]
    scatter_nuclei(cv, rng, lp, 1 / 330.0, "lymphocyte", (6.5, 0.4), 1.3, tex["chromatin"])
    scatter_nuclei(cv, rng, cv.labels == LABELS["lamina_propria"], 1 / 650.0, "plasma",
                   (6.0, 0.4), 1.05, tex["chromatin"])
    if finding == "adenoma":
        _mitoses(cv, rng, tex, "adenoma", 0.01)
    return fld


def _tube(cv, rng, tex, xc: float, top: float, depth: float, r_out: float, r_l: float,
          kind: str) -> list[int]:
    """A crypt cut along its length: a U-shaped tube of columnar cells from the surface
    (`top`) down `depth` um, goblet cells alternating with absorptive cells, nuclei basal
    with their long axes perpendicular to the basement membrane. Returns nucleus ids."""
    got = cv.box(xc, top + depth / 2, depth / 2 + r_out + 3)
    if got is None:
        return []
    sl, dx, dy = got
    u = dy + depth / 2                           # depth below the surface
    bottom = depth - r_out
    sway = 4.0 * np.sin(u / 90.0 + xc)           # crypts are not ruler-straight
    v = dx - sway
    d = np.where(u <= bottom, np.abs(v), np.hypot(v, u - bottom))
    below = u >= 0
    ring = below & (d >= r_l) & (d < r_out)
    lumen = below & (d < r_l)
    bm = below & (d >= r_out) & (d < r_out + 0.8)
    adenoma = kind == "adenoma"
    cyto = "tumour_cytoplasm" if adenoma else "colonic_epithelium"
    label = "adenoma_epithelium" if adenoma else "crypt_epithelium"
    paint(cv, bm, "basement_membrane", sl=sl, label="basement_membrane")
    paint(cv, ring, cyto, sl=sl, scale=1.0 + 0.12 * tex["fine"][sl], label=label)
    paint(cv, lumen, "plasma", sl=sl, label="crypt_lumen")
    cv.instances[sl][ring | lumen | bm] = 0
    cell_h = 4.6 if adenoma else 6.0
    r_mid = (r_l + r_out) / 2
    # arc length along the wall from the surface (round the bottom by angle)
    arc = np.where(u <= bottom, u,
                   bottom + np.arctan2(u - bottom, np.abs(v) + 1e-6) * r_mid)
    index = np.floor(arc / cell_h).astype(int) * 2 + (v > 0)
    edge = np.zeros_like(ring)
    edge[:, 1:] |= index[:, 1:] != index[:, :-1]
    edge[1:, :] |= index[1:, :] != index[:-1, :]
    paint(cv, ring & edge, "cell_membrane", sl=sl)
    n_side = int((bottom + np.pi / 2 * r_mid) / cell_h)
    depth_w = r_out - r_l
    seeds, theta, kinds, a, b = [], [], [], [], []
    gob_p = 0.06 if adenoma else 0.9
    for k in range(n_side):
        for side in (-1, 1):
            s_ = (k + 0.5) * cell_h
            goblet = k % 2 == 1 and rng.uniform() < gob_p and s_ > 12
            at = 0.86 if goblet else (rng.uniform(0.45, 0.85) if adenoma else 0.8)
            dd = r_l + at * depth_w
            if s_ <= bottom:
                x, y, t = side * dd, s_, 0.0
            else:
                ang = (s_ - bottom) / r_mid           # 0 at the side, pi/2 at the bottom
                x, y = side * dd * np.cos(ang), bottom + dd * np.sin(ang)
                t = np.arctan2(np.sin(ang), side * np.cos(ang))
            sw = 4.0 * np.sin(y / 90.0 + xc)
            seeds.append((xc + x + sw, top + y))
            theta.append(t)
            kinds.append("adenoma" if adenoma else "epithelial")
            if adenoma:
                a.append(5.0), b.append(1.5)
            else:
                a.append(3.6 * (0.7 if goblet else 1.0)), b.append(1.9)
            if goblet:
                gd = r_l + 0.4 * depth_w
                gx = side * gd if s_ <= bottom else side * gd * np.cos(ang)
                gy = s_ if s_ <= bottom else bottom + gd * np.sin(ang)
                e = cv.ellipse(xc + gx + sw, top + gy, 0.3 * depth_w, 2.6, t)
                if e is not None:
                    s2, m2, _ = e
                    r0, c0 = s2[0].start - sl[0].start, s2[1].start - sl[1].start
                    sub = ring[r0:r0 + m2.shape[0], c0:c0 + m2.shape[1]]
                    if sub.shape == m2.shape:
                        paint(cv, m2 & sub, "goblet_mucin", sl=s2, label="goblet_mucin")
    if not seeds:
        return []
    n = len(seeds)
    ids = nuclei(cv, np.asarray(seeds), np.asarray(a) * rng.uniform(0.9, 1.1, n),
                 np.asarray(b) * rng.uniform(0.9, 1.1, n), np.asarray(theta), kinds,
                 np.full(n, 1.25 if adenoma else 0.95), tex["chromatin"], where=(sl, ring))
    return [int(i) for i in ids if i]


def _vertical(cv, fld: ColonField, rng, tex, finding: str | None) -> None:
    """Low power: gut lumen, surface epithelium, crypts as parallel tubes to the muscularis
    mucosae, submucosa below."""
    Y, _ = cv.grid()
    x1 = cv.w * cv.px
    top = 30.0
    depth = rng.uniform(380, 440)
    above = top > Y
    paint(cv, np.broadcast_to(above, (cv.h, cv.w)), "plasma", scale=0.0, label="gut_lumen")
    mm_top = top + depth + rng.uniform(10, 25)
    mm = (mm_top <= Y) & (mm_top + rng.uniform(25, 40) > Y)
    sub = mm_top + 40 <= Y
    paint(cv, np.broadcast_to(mm, (cv.h, cv.w)), "smooth_muscle",
          scale=1 + 0.15 * tex["fibre"], label="muscularis_mucosae")
    paint(cv, np.broadcast_to(sub, (cv.h, cv.w)), "collagen", scale=0.8 + 0.2 * tex["fibre"],
          label="submucosa")
    spacing = SIZES["adenoma_spacing"] * 0.8 if finding == "adenoma" else 68.0
    xs = np.arange(rng.uniform(0, spacing), x1, spacing) + rng.uniform(-5, 5)
    for xc in xs:
        r = rng.uniform(25, 29) if finding != "adenoma" else rng.uniform(28, 33)
        kind = "adenoma" if finding == "adenoma" else "normal"
        ids = _tube(cv, rng, tex, xc, top, depth * rng.uniform(0.92, 1.0), r,
                    rng.uniform(1.6, 3.0), kind)
        if kind == "adenoma":
            k = round(0.01 * len(ids))
            if k:
                mitoses(cv, list(rng.choice(ids, k, replace=False)), rng, tex["fine"])
    # surface epithelium: a row of columnar cells over the crypt mouths' shoulders
    surf = (top <= Y) & (top + 18 > Y) & (cv.labels == LABELS["lamina_propria"])
    paint(cv, np.broadcast_to(surf, (cv.h, cv.w)), "colonic_epithelium",
          label="surface_epithelium")
    lp = cv.labels == LABELS["lamina_propria"]
    red_cells(cv, rng, lp, 1 / 2500.0)
    scatter_nuclei(cv, rng, cv.labels == LABELS["lamina_propria"], 1 / 330.0, "lymphocyte",
                   (6.5, 0.4), 1.3, tex["chromatin"])
    scatter_nuclei(cv, rng, cv.labels == LABELS["lamina_propria"], 1 / 650.0, "plasma",
                   (6.0, 0.4), 1.05, tex["chromatin"])
    scatter_nuclei(cv, rng, cv.labels == LABELS["submucosa"], 1 / 2500.0, "fibroblast",
                   (6.0, 0.5), 1.0, tex["chromatin"], elongate=5.0)


def _mitoses(cv, rng, tex, kind: str, fraction: float) -> None:
    ids = [d["id"] for d in cv.nuclei if d["class"] == kind]
    k = round(fraction * len(ids))
    if k:
        mitoses(cv, list(rng.choice(ids, k, replace=False)), rng, tex["fine"])


def build(rng, width, height, px, mag, wanted: tuple[str, ...], antibody=None) -> ColonField:
    finding = "adenocarcinoma" if "adenocarcinoma" in wanted else (
        "adenoma" if {"adenoma", "dysplasia"} & set(wanted) else None)
    return build_field(rng, width, height, px, mag, finding)


__all__ = ["LABELS", "ColonField", "build", "build_field", "paint", "smooth_noise"]
