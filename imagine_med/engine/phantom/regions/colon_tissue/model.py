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
    "necrosis": 15, "fibroblast": 16, "brush_border": 17,
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
        for x, y in lattice(rng, 0, 0, x1, y1, 80.0, 0.4, margin=40):
            r = rng.uniform(*SIZES["carcinoma_radius"])
            # irregular outlines reach ~1.3 r: keep neighbours from overlapping
            if not all(np.hypot(x - p, y - q) > 1.25 * (r + s) + 4 for p, q, s in placed):
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
