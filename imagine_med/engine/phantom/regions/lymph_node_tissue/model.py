"""A seeded field of lymph node in micrometres: capsule, sinuses, follicles, paracortex.

Node frame: the capsule's outer surface runs along y = 0 (gently curved), depth grows with y.
Steps (build_field): zones per pixel (capsule collagen; subcapsular sinus; follicles under it,
each a dark mantle of small B lymphocytes round a paler germinal centre of centroblasts,
centrocytes and tingible-body macrophages, polarised toward the capsule; paracortex of T
lymphocytes with high endothelial venules; medullary sinuses deep) -> cells: one jittered
lattice thinned per zone, a nucleus per seed (vectorised), each cell's membrane the ring just
outside its nucleus -> findings: metastatic carcinoma (a cohesive nest of large polygonal
cells in the subcapsular sinus and cortex) or diffuse large B-cell lymphoma (sheets of large
atypical B cells effacing follicles and sinuses, mitoses) -> CD20 (membranous DAB on B cells).

Sizes (SIZES): follicle 0.2-0.5 mm, germinal centre ~60% of it; small lymphocyte ~7 um (6-7
um nucleus), centroblast nucleus ~10-12 um, centrocyte ~8 um, large lymphoma cell nucleus
~11-14 um (more than twice a small lymphocyte's), carcinoma nuclei ~12 um (Ross & Pawlina
ch. 14; WHO classification of lymphoid neoplasms, DLBCL).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.spatial import cKDTree

from imagine_med.engine.phantom.regions.histo_kit import (
    OrganCanvas,
    lattice,
    mitoses,
    nuclei,
    paint,
    red_cells,
    smooth_noise,
    textures,
)

SIZES = {
    "capsule": (14.0, 22.0), "subcapsular_sinus": (14.0, 24.0),
    "follicle_radius": (115.0, 165.0), "follicle_spacing": 380.0, "follicle_depth": 40.0,
    "gc_fraction": (0.55, 0.68),
    "cell_spacing": 7.4,   # densest packing (mantle zone)
}
# zone -> (seed spacing um, default nucleus class, background component)
ZONES = {
    "capsule": (24.0, "fibroblast", "collagen"),
    "subcapsular_sinus": (22.0, "histiocyte", "sinus"),
    "mantle_zone": (7.4, "b_lymphocyte", "lymphoid_background"),
    "germinal_centre": (9.6, "centroblast", "germinal_centre"),
    "paracortex": (8.0, "t_lymphocyte", "lymphoid_background"),
    "medullary_sinus": (20.0, "histiocyte", "sinus"),
    "metastasis": (15.5, "tumour", "tumour_cytoplasm"),
    "lymphoma": (13.0, "lymphoma", "basaloid_cytoplasm"),
}
LABELS: dict[str, int] = {
    "capsule": 1, "subcapsular_sinus": 2, "mantle_zone": 3, "germinal_centre": 4,
    "paracortex": 5, "medullary_sinus": 6, "metastasis": 7, "lymphoma": 8,
    "b_lymphocyte": 9, "t_lymphocyte": 10, "centroblast": 11, "centrocyte": 12,
    "macrophage": 13, "histiocyte": 14, "fibroblast": 15, "tumour_nucleus": 16,
    "lymphoma_cell": 17, "red_cell": 18, "hev": 19, "cell_membrane": 20,
}
NUCLEUS_LABELS = {k: k for k in ("b_lymphocyte", "t_lymphocyte", "centroblast", "centrocyte",
                                 "macrophage", "histiocyte", "fibroblast", "lymphoma_cell")}
NUCLEUS_LABELS.update({"tumour": "tumour_nucleus", "lymphoma": "lymphoma_cell",
                       "endothelial": "hev"})
B_CELLS = ("b_lymphocyte", "centroblast", "centrocyte", "lymphoma")
# nucleus class -> (diameter mean, sd um; elongation; haematoxylin)
NUCLEI = {"b_lymphocyte": (6.4, 0.35, 1.05, 1.35), "t_lymphocyte": (6.6, 0.4, 1.1, 1.25),
          "centroblast": (10.5, 0.8, 1.1, 0.78), "centrocyte": (7.8, 0.6, 1.5, 1.05),
          "macrophage": (8.5, 0.6, 1.2, 0.55), "histiocyte": (8.0, 0.6, 1.5, 0.6),
          "fibroblast": (6.5, 0.5, 5.0, 0.95), "tumour": (12.0, 1.2, 1.2, 0.85),
          "lymphoma": (11.8, 1.1, 1.15, 0.82), "endothelial": (7.0, 0.5, 1.4, 0.8)}


@dataclass
class NodeField:
    canvas: OrganCanvas
    magnification: int
    zone: np.ndarray                   # zone name index per pixel
    follicles: list[tuple[float, float, float, float, float]] = field(default_factory=list)
    finding: str | None = None


ZONE_NAMES = list(ZONES)


def _follicles(rng, x0, x1) -> list[tuple[float, float, float, float, float]]:
    """(x, y, radius, gc centre offset toward the capsule, gc radius)."""
    out = []
    for x in np.arange(x0 - 400, x1 + 400, SIZES["follicle_spacing"]):
        r = rng.uniform(*SIZES["follicle_radius"])
        cx = x + rng.uniform(-60, 60)
        cy = SIZES["follicle_depth"] + r + rng.uniform(0, 30)
        out.append((cx, cy, r, rng.uniform(0.12, 0.2) * r, rng.uniform(*SIZES["gc_fraction"])
                    * r))
    return out


def _origin(rng, mag: int, w_um: float, h_um: float, follicles) -> tuple[float, float]:
    """Where the field looks: 4x/10x the capsule at the top and the cortex below; 20x a
    follicle; 40x the edge of a germinal centre."""
    fx, fy, _, off, gr = follicles[len(follicles) // 2]
    if mag <= 10:
        return fx - w_um / 2 + rng.uniform(-0.15, 0.15) * w_um, -0.06 * h_um
    if mag == 20:
        return fx - w_um / 2 + rng.uniform(-20, 20), fy - h_um / 2 + rng.uniform(-20, 20)
    a = rng.uniform(0, 2 * np.pi)
    return fx + gr * np.cos(a) - w_um / 2, fy - off + gr * np.sin(a) - h_um / 2


def build_field(rng: np.random.Generator, width: int, height: int, px: float,
                magnification: int, finding: str | None = None, cd20: bool = False,
                ck7: bool = False) -> NodeField:
    w_um, h_um = width * px, height * px
    follicles = _follicles(rng, -w_um, 2 * w_um)
    x0, y0 = _origin(rng, magnification, w_um, h_um, follicles)
    cv = OrganCanvas(height, width, px, x0, y0, table=LABELS, nucleus_labels=NUCLEUS_LABELS)
    tex = textures(rng, height, width, px)
    Y, X = cv.grid()
    surf = 4e-5 * (X - x0 - w_um / 2) ** 2       # the capsule curves away
    depth = Y - surf
    cap_t = rng.uniform(*SIZES["capsule"])
    sin_t = rng.uniform(*SIZES["subcapsular_sinus"])
    zone = np.full((height, width), ZONE_NAMES.index("paracortex"), np.int8)
    outside = depth < 0
    zone[(depth >= 0) & (depth < cap_t)] = ZONE_NAMES.index("capsule")
    zone[(depth >= cap_t) & (depth < cap_t + sin_t)] = ZONE_NAMES.index("subcapsular_sinus")
    deep = depth > 520 + 40 * tex["coarse"]
    med = deep & (smooth_noise(rng, (height, width), (30 / px, 10 / px)) > 0.3)
    zone[med] = ZONE_NAMES.index("medullary_sinus")
    if finding != "lymphoma":
        for fx, fy, r, off, gr in follicles:
            d = np.hypot(X - fx, Y - fy)
            wob = 1 + 0.04 * tex["coarse"]
            zone[(d < r * wob) & (depth >= cap_t + sin_t)] = ZONE_NAMES.index("mantle_zone")
            zone[np.hypot(X - fx, Y - (fy - off)) < gr * wob] = ZONE_NAMES.index(
                "germinal_centre")
    else:  # effaced: sheets of large cells; the capsule and a compressed sinus remain
        zone[(depth >= cap_t + 0.4 * sin_t)] = ZONE_NAMES.index("lymphoma")
    if finding == "metastases":
        blob = smooth_noise(rng, (height, width), 25.0 / px)
        nx = x0 + w_um * rng.uniform(0.3, 0.7)       # in view at every objective
        ny = max(y0 + h_um * rng.uniform(0.3, 0.6), cap_t + sin_t + 0.1 * h_um)
        rr = np.hypot(X - nx, Y - ny) / (0.3 * min(w_um, h_um) + 60)
        zone[(rr + 0.25 * blob < 1.0) & (depth >= cap_t)] = ZONE_NAMES.index("metastasis")
    zone[outside] = -1
    fld = NodeField(cv, magnification, zone, follicles, finding)
    # background components and labels per zone
    for k, name in enumerate(ZONE_NAMES):
        m = zone == k
        if m.any():
            paint(cv, m, ZONES[name][2], scale=1 + 0.12 * tex["fibre"], label=name)
    # cells: a dense lattice thinned per zone
    pts = lattice(rng, x0, y0, x0 + w_um, y0 + h_um, SIZES["cell_spacing"], 0.32, margin=12)
    col = np.clip(((pts[:, 0] - x0) / px).astype(int), 0, width - 1)
    row = np.clip(((pts[:, 1] - y0) / px).astype(int), 0, height - 1)
    zk = zone[row, col]
    spacing = np.array([ZONES[n][0] for n in ZONE_NAMES] + [1e9])[zk]
    keep = rng.uniform(size=len(pts)) < (SIZES["cell_spacing"] / spacing) ** 2
    pts, zk = pts[keep], zk[keep]
    kinds = np.array([ZONES[ZONE_NAMES[z]][1] for z in zk], dtype=object)
    gc = zk == ZONE_NAMES.index("germinal_centre")
    u = rng.uniform(size=len(pts))
    kinds[gc & (u < 0.5)] = "centrocyte"
    kinds[gc & (u > 0.93)] = "macrophage"             # tingible-body macrophages
    kinds[(zk == ZONE_NAMES.index("paracortex")) & (u < 0.12)] = "b_lymphocyte"
    ly = zk == ZONE_NAMES.index("lymphoma")
    kinds[ly & (u < 0.18)] = "t_lymphocyte"            # reactive small T cells
    sinus = np.isin(zk, [ZONE_NAMES.index("subcapsular_sinus"),
                         ZONE_NAMES.index("medullary_sinus")])
    kinds[sinus & (u < 0.5)] = "t_lymphocyte"
    kinds = kinds.astype(str)
    n = len(pts)
    spec = np.array([NUCLEI[k] for k in kinds]) if n else np.zeros((0, 4))
    d = np.clip(rng.normal(spec[:, 0], spec[:, 1]), 0.7 * spec[:, 0], 1.3 * spec[:, 0])
    a = d / 2 * np.sqrt(spec[:, 2])
    b = d / 2 / np.sqrt(spec[:, 2])
    # cohesive tumour and macrophages: cytoplasm discs first
    for k in np.nonzero(kinds == "macrophage")[0]:
        e = cv.ellipse(pts[k, 0], pts[k, 1], 9.0, 8.0, rng.uniform(0, np.pi))
        if e is not None:
            s2, m2, _ = e
            paint(cv, m2, "macrophage_cytoplasm", sl=s2)
            for _ in range(3):   # apoptotic debris ("tingible bodies")
                q = cv.ellipse(pts[k, 0] + rng.uniform(-5, 5), pts[k, 1] + rng.uniform(-5, 5),
                               1.0, 0.9, 0.0)
                if q is not None:
                    cv.hema[q[0]] = np.where(q[1], 1.5, cv.hema[q[0]])
    if n:
        tree = cKDTree(pts)
        flat = np.stack([np.broadcast_to(X, zone.shape).ravel(),
                         np.broadcast_to(Y, zone.shape).ravel()], 1)
        kk = 2 if finding == "metastases" else 1   # cell borders only where cells cohere
        dist, j = tree.query(flat, k=kk)
        dist, j = dist.reshape(*zone.shape, kk), j.reshape(*zone.shape, kk)
        if kk == 2:
            border = (dist[..., 1] - dist[..., 0]) < 0.9
            tumour_cell = np.asarray(kinds == "tumour")[j[..., 0]]
            paint(cv, border & tumour_cell & (zone >= 0), "cell_membrane",
                  label="cell_membrane")
        near = j[..., 0]
        # the membrane ring just outside each nucleus (CD20 sits there)
        r_eq = np.sqrt(a * b)
        own = dist[..., 0] - r_eq[j[..., 0]]
        ring = (own > 0.1) & (own < 1.3) & (zone >= 0)
        if cd20:
            bcell = np.isin(kinds, B_CELLS)[j[..., 0]]
            strength = rng.uniform(0.55, 0.85, n)[j[..., 0]]
            cv.dab[:] = np.where(ring & bcell, strength, 0.0).astype(np.float32)
            cv.dab += np.where((own > 0) & (own < 3.0) & bcell & ~ring, 0.08, 0.0).astype(
                np.float32)
    if ck7:   # cytokeratin 7: carcinoma cytoplasm, stronger at the membrane; not lymphoid
        met = zone == ZONE_NAMES.index("metastasis")
        cv.dab[met] = (0.42 + 0.08 * tex["fine"][met]).astype(np.float32)
        cv.dab[met & (cv.labels == LABELS["cell_membrane"])] = 0.8
    hema = spec[:, 3] if n else np.zeros(0)
    ids = nuclei(cv, pts, a, b, rng.uniform(0, np.pi, n), kinds, hema, tex["chromatin"],
                 where=zone >= 0, nearest=near if n else None)
    cv.dab[cv.instances > 0] *= 0.0
    red_cells(cv, rng, zone == ZONE_NAMES.index("medullary_sinus"), 1 / 1500.0)
    # mitoses among large cells
    for kind, frac in (("centroblast", 0.03), ("lymphoma", 0.02), ("tumour", 0.04)):
        cand = [int(i) for i, k in zip(ids, kinds, strict=True) if k == kind and i]
        m = round(frac * len(cand))
        if m:
            mitoses(cv, list(rng.choice(cand, m, replace=False)), rng, tex["fine"])
    return fld


def build(rng, width, height, px, mag, wanted: tuple[str, ...], antibody=None) -> NodeField:
    finding = "lymphoma" if "lymphoma" in wanted else (
        "metastases" if {"metastases", "adenocarcinoma"} & set(wanted) else None)
    return build_field(rng, width, height, px, mag, finding, antibody == "cd20",
                       antibody == "ck7")
