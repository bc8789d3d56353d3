"""A seeded field of skin in micrometres, cut perpendicular to the surface.

Frame: x along the surface, y into the skin (the surface near the top of the field).
Steps (build_field): surface and dermo-epidermal junction (rete ridges) -> epidermis
(keratinocytes as Voronoi cells: a basal row of columnar cells on the basement membrane,
spinous layer of polygonal cells, flattened granular layer with keratohyalin, basket-weave
stratum corneum) -> dermis (fine papillary collagen, coarse reticular bundles, fibroblasts,
capillaries with red cells, eccrine coils deep) -> findings:
- basal cell carcinoma: nests of basaloid cells hanging from the epidermis into the dermis,
  the outermost cells palisaded (long axes perpendicular to the nest's edge), a retraction
  cleft and myxoid stroma round the nests, mitoses and apoptotic cells;
- invasive melanoma: junctional nests and pagetoid single cells in the epidermis, a dermal
  nodule of large epithelioid melanocytes with prominent nucleoli, melanin, mitoses; the
  Breslow thickness is measured (granular layer to the deepest tumour cell).

Sizes (SIZES): epidermis ~50-100 um (thin skin), keratinocyte ~10-12 um with a 6-8 um
nucleus, stratum corneum ~10-20 um, basal nuclei ~7 x 4 um (Ross & Pawlina ch. 15);
melanoma nuclei ~10-14 um; BCC nuclei ~9 x 6 um.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

from imagine_med.engine.phantom.regions.histo_kit import (
    OrganCanvas,
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

SIZES = {"surface": 30.0, "epidermis": (60.0, 85.0), "rete_depth": (18.0, 32.0),
         "rete_period": (70.0, 110.0), "corneum": (12.0, 18.0), "keratinocyte": 10.5,
         "basal_spacing": 6.5, "papillary_dermis": 70.0}
LABELS: dict[str, int] = {
    "stratum_corneum": 1, "stratum_granulosum": 2, "stratum_spinosum": 3, "stratum_basale": 4,
    "basement_membrane": 5, "papillary_dermis": 6, "reticular_dermis": 7, "keratinocyte_nucleus": 8,
    "basal_nucleus": 9, "fibroblast": 10, "red_cell": 11, "vessel": 12, "eccrine_gland": 13,
    "eccrine_nucleus": 14, "bcc_nest": 15, "bcc_nucleus": 16, "retraction_cleft": 17,
    "myxoid_stroma": 18, "melanoma": 19, "melanoma_nucleus": 20, "melanin": 21,
    "cell_membrane": 22, "gland_lumen": 23,
}
NUCLEUS_LABELS = {"keratinocyte": "keratinocyte_nucleus", "basal": "basal_nucleus",
                  "granular": "keratinocyte_nucleus", "fibroblast": "fibroblast",
                  "endothelial": "vessel", "eccrine": "eccrine_nucleus", "bcc": "bcc_nucleus",
                  "melanoma": "melanoma_nucleus"}


@dataclass
class SkinField:
    canvas: OrganCanvas
    magnification: int
    finding: str | None
    surface: np.ndarray          # y of the surface per column (um)
    junction: np.ndarray         # y of the dermo-epidermal junction per column (um)


def _profiles(rng, xs: np.ndarray, y0: float):
    period = rng.uniform(*SIZES["rete_period"])
    depth = rng.uniform(*SIZES["rete_depth"])
    ph = rng.uniform(0, 2 * np.pi)
    surface = SIZES["surface"] + 3 * np.sin(xs / 140.0 + rng.uniform(0, 6.3))
    thick = rng.uniform(*SIZES["epidermis"])
    # rete ridges: narrow downward pegs between broad dermal papillae
    wave = np.clip(np.sin(2 * np.pi * xs / period + ph), -1, 1)
    junction = surface + thick - depth / 2 + depth * (np.maximum(wave, 0) ** 2.5 - 0.3)
    return surface, junction


def build_field(rng: np.random.Generator, width: int, height: int, px: float,
                magnification: int, finding: str | None = None) -> SkinField:
    w_um, h_um = width * px, height * px
    y0 = 0.0 if magnification <= 20 else SIZES["surface"] + 10
    x0 = rng.uniform(0, 400)
    cv = OrganCanvas(height, width, px, x0, y0, table=LABELS, nucleus_labels=NUCLEUS_LABELS)
    tex = textures(rng, height, width, px)
    Y, _ = cv.grid()
    surface, junction = _profiles(rng, cv.xs, y0)
    S, J = surface[None, :], junction[None, :]
    corneum_t = rng.uniform(*SIZES["corneum"])
    epi = (Y >= S) & (Y < J)
    corneum = (S - corneum_t <= Y) & (Y < S)
    dermis = Y >= J + 1.0
    bm = (Y >= J) & (Y < J + 1.0)
    papillary = dermis & (J + SIZES["papillary_dermis"] > Y)
    # stratum corneum: basket-weave lamellae with gaps
    lam = np.sin((Y - S) * 2.2 + 1.2 * tex["coarse"]) > -0.2
    paint(cv, corneum & lam, "keratin", label="stratum_corneum")
    paint(cv, papillary, "collagen", scale=0.75 + 0.15 * tex["fine"], label="papillary_dermis")
    reticular = dermis & ~papillary
    # coarse collagen bundles running roughly parallel to the surface, clefts between them
    # (a processing artefact every section shows)
    bund = smooth_noise(rng, (height, width), (4.0 / px, 28.0 / px))
    bundles = 1.05 + 0.18 * np.tanh(2 * bund) + 0.1 * tex["fibre"]
    paint(cv, reticular, "collagen", scale=1.1 * bundles, label="reticular_dermis")
    crack = reticular & (np.abs(bund) < 0.07)
    cv.eosin[crack] *= 0.15
    paint(cv, bm, "basement_membrane", label="basement_membrane")
    # --- keratinocytes: Voronoi cells, layer by depth
    seeds = lattice(rng, x0, S.min() - 5, x0 + w_um, J.max() + 5, SIZES["keratinocyte"], 0.25,
                    margin=12)
    col = np.clip(((seeds[:, 0] - x0) / px).astype(int), 0, width - 1)
    keep = (seeds[:, 1] > surface[col] + 2) & (seeds[:, 1] < junction[col] - 8)
    ker = seeds[keep]
    # the basal row along the junction
    bx = np.arange(x0 - 10, x0 + w_um + 10, SIZES["basal_spacing"])
    bcol = np.clip(((bx - x0) / px).astype(int), 0, width - 1)
    slope = np.gradient(junction, cv.xs)[bcol]
    normal = np.arctan2(1.0, -slope)    # into the dermis
    basal = np.stack([bx - 4.2 * np.cos(normal), junction[bcol] - 4.2 * np.sin(normal)], 1)
    allk = np.concatenate([ker, basal])
    kind = np.array(["keratinocyte"] * len(ker) + ["basal"] * len(basal), dtype=object)
    kt = (allk[:, 1] - np.interp(allk[:, 0], cv.xs, surface)) / np.maximum(
        np.interp(allk[:, 0], cv.xs, junction) - np.interp(allk[:, 0], cv.xs, surface), 1)
    below = allk[:, 1] - np.interp(allk[:, 0], cv.xs, surface)
    kind[((kt < 0.14) | (below < 12.0)) & (kind == "keratinocyte")] = "granular"
    kind = kind.astype(str)
    n = len(allk)
    tree = cKDTree(allk)
    er, ec = np.nonzero(epi)
    d, j = tree.query(np.stack([cv.xs[ec], cv.ys[er]], 1), k=2)
    near = np.full((height, width), 0, np.int64)
    near[er, ec] = j[:, 0]
    edge = np.zeros((height, width), bool)
    edge[er, ec] = (d[:, 1] - d[:, 0]) < 0.8
    layer = np.where(kind == "basal", 2, np.where(kind == "granular", 0, 1))[near]
    names = ("stratum_granulosum", "stratum_spinosum", "stratum_basale")
    for k, name in enumerate(names):
        m = epi & (layer == k)
        comp = "keratohyalin" if k == 0 else (
            "basaloid_cytoplasm" if k == 2 else "keratinocyte")
        paint(cv, m, "keratinocyte", scale=1.0 + 0.1 * tex["fine"], label=name)
        if k == 0:  # keratohyalin granules
            paint(cv, m & (tex["chromatin"] > 0.9), comp, label=name)
        if k == 2:
            cv.hema[m] += 0.08
    paint(cv, epi & edge, "cell_membrane")
    # nuclei: basal columnar (perpendicular to the junction), spinous round, granular flat
    a = np.where(kind == "basal", 3.6, np.where(kind == "granular", 3.8, 3.5))
    b = np.where(kind == "basal", 2.2, np.where(kind == "granular", 1.4, 3.1))
    a, b = a * rng.uniform(0.92, 1.08, n), b * rng.uniform(0.92, 1.08, n)
    theta = np.where(kind == "basal", np.concatenate([np.zeros(len(ker)), normal]),
                     rng.uniform(0, np.pi, n))
    theta = np.where(kind == "granular", 0.0, theta)
    hema = np.where(kind == "basal", 1.05, np.where(kind == "granular", 0.9, 0.78))
    nuclei(cv, allk, a, b, theta, kind, hema, tex["chromatin"], where=epi, nearest=near)
    # --- dermis: vessels, fibroblasts, eccrine coils deep
    for vx in rng.uniform(x0, x0 + w_um, int(w_um / 90)):
        vcol = int(np.clip((vx - x0) / px, 0, width - 1))
        vy = junction[vcol] + rng.uniform(15, 55)
        e = cv.ellipse(vx, vy, rng.uniform(6, 10), rng.uniform(4, 7), rng.uniform(0, np.pi))
        if e is not None:
            s2, m2, rho = e
            paint(cv, m2 & (rho > 0.75), "smooth_muscle", sl=s2, scale=0.6, label="vessel")
            paint(cv, m2 & (rho <= 0.75), "plasma", sl=s2, label="vessel")
    red_cells(cv, rng, cv.labels == LABELS["vessel"], 1 / 40.0)
    if finding is None and h_um > 320:
        for gx in rng.uniform(x0, x0 + w_um, max(1, int(w_um / 250))):
            gy = junction.mean() + rng.uniform(230, 300)
            for _ in range(3):
                gland(cv, rng, tex, gx + rng.uniform(-30, 30), gy + rng.uniform(-25, 25), 4.0,
                      14.0, 9, "distal_tubule", "eccrine_gland", "eccrine",
                      lumen_label="gland_lumen", nucleus_size=(2.8, 2.4), nucleus_at=0.55)
    fld = SkinField(cv, magnification, finding, surface, junction)
    if finding == "basal_cell_carcinoma":
        paint_bcc(cv, fld, rng, tex)
    elif finding == "melanoma":
        paint_melanoma(cv, fld, rng, tex)
    derm = np.isin(cv.labels, [LABELS["papillary_dermis"], LABELS["reticular_dermis"],
                               LABELS["myxoid_stroma"]])
    scatter_nuclei(cv, rng, derm, 1 / 1400.0, "fibroblast", (6.5, 0.5), 0.95,
                   tex["chromatin"], elongate=5.0)
    return fld


def _nest_cells(cv, rng, tex, nest: np.ndarray, spacing: float, kind: str,
                size: tuple[float, float], hema: float, palisade: bool) -> np.ndarray:
    """Cells filling a nest: a jittered lattice; with `palisade`, the outermost ones moved to
    the edge and turned perpendicular to it. Returns the nucleus ids."""
    px = cv.px
    inside = ndimage.distance_transform_edt(nest) * px
    gy, gx = np.gradient(ndimage.gaussian_filter(inside, 2.0))
    ys, xs = np.nonzero(nest)
    if not len(ys):
        return np.zeros(0, np.int64)
    pts = lattice(rng, cv.xs[xs.min()], cv.ys[ys.min()], cv.xs[xs.max()], cv.ys[ys.max()],
                  spacing, 0.3, margin=spacing)
    c = np.clip(((pts[:, 0] - cv.x0) / px).astype(int), 0, cv.w - 1)
    r = np.clip(((pts[:, 1] - cv.y0) / px).astype(int), 0, cv.h - 1)
    ok = nest[r, c]
    pts, c, r = pts[ok], c[ok], r[ok]
    n = len(pts)
    depth = inside[r, c]
    ang = np.arctan2(gy[r, c], gx[r, c])       # toward the nest's interior
    a = np.full(n, size[0] / 2) * rng.uniform(0.85, 1.2, n)
    b = np.full(n, size[1] / 2) * rng.uniform(0.85, 1.2, n)
    theta = rng.uniform(0, np.pi, n)
    if palisade:
        outer = depth < spacing * 1.1
        pts[outer, 0] += (4.6 - depth[outer]) * np.cos(ang[outer])
        pts[outer, 1] += (4.6 - depth[outer]) * np.sin(ang[outer])
        theta[outer] = ang[outer]             # long axis perpendicular to the edge
        a[outer], b[outer] = size[0] / 2 * 1.15, size[1] / 2 * 0.75
        # keep the palisade one cell deep: drop interior seeds crowding it
        drop = ~outer & (depth < spacing * 1.6)
        keep = ~drop
        pts, a, b, theta = pts[keep], a[keep], b[keep], theta[keep]
        n = len(pts)
    return nuclei(cv, pts, a, b, theta, [kind] * n, np.full(n, hema) * rng.uniform(
        0.9, 1.1, n), tex["chromatin"], where=nest)


def paint_bcc(cv: OrganCanvas, fld: SkinField, rng, tex) -> None:
    """Nodular BCC: rounded basaloid nests from the epidermis into the dermis, peripheral
    palisading, retraction clefts and myxoid stroma."""
    Y, X = cv.grid()
    w_um = cv.w * cv.px
    nest = np.zeros((cv.h, cv.w), bool)
    blob = smooth_noise(rng, (cv.h, cv.w), 14.0 / cv.px)
    for _ in range(int(rng.integers(3, 6))):
        nx = cv.x0 + rng.uniform(0.1, 0.9) * w_um
        col = int(np.clip((nx - cv.x0) / cv.px, 0, cv.w - 1))
        ry = rng.uniform(45, 110) * min(1.0, cv.h * cv.px / 500)
        rx = ry * rng.uniform(0.8, 1.4)
        ny = fld.junction[col] + ry * rng.uniform(0.5, 1.4)
        nest |= ((X - nx) / rx) ** 2 + ((Y - ny) / ry) ** 2 + 0.12 * blob < 1.0
    nest &= fld.surface[None, :] + 20 < Y
    out = ndimage.distance_transform_edt(~nest) * cv.px
    stroma = ~nest & (out < 28) & (fld.junction[None, :] < Y)
    cleft = ~nest & (out < 4.5) & (tex["coarse"] > -0.6) & (fld.junction[None, :] + 2 < Y)
    paint(cv, stroma, "myxoid_stroma", scale=1 + 0.2 * tex["fine"], label="myxoid_stroma")
    paint(cv, cleft, "plasma", scale=0.3, label="retraction_cleft")
    paint(cv, nest, "basaloid_cytoplasm", scale=1 + 0.1 * tex["fine"], label="bcc_nest")
    cv.instances[nest | cleft] = 0
    ids = _nest_cells(cv, rng, tex, nest, 8.0, "bcc", (9.5, 5.8), 1.15, palisade=True)
    ids = [int(i) for i in ids if i]
    k = round(0.015 * len(ids))
    if k:
        mitoses(cv, list(rng.choice(ids, k, replace=False)), rng, tex["fine"])


def paint_melanoma(cv: OrganCanvas, fld: SkinField, rng, tex) -> None:
    """Invasive melanoma: a dermal nodule of epithelioid melanocytes continuous with
    junctional nests, pagetoid cells in the epidermis, melanin, mitoses."""
    Y, X = cv.grid()
    w_um, h_um = cv.w * cv.px, cv.h * cv.px
    cx = cv.x0 + rng.uniform(0.35, 0.65) * w_um
    col = int(np.clip((cx - cv.x0) / cv.px, 0, cv.w - 1))
    top = fld.junction[col]
    depth = rng.uniform(0.45, 0.75) * (h_um - top + cv.y0)
    blob = smooth_noise(rng, (cv.h, cv.w), 20.0 / cv.px)
    rx = rng.uniform(0.3, 0.42) * w_um
    nodule = ((X - cx) / rx) ** 2 + ((Y - top) / depth) ** 2 + 0.15 * blob < 1.0
    nodule &= fld.junction[None, :] <= Y
    # junctional nests and pagetoid cells in the epidermis above and beside it
    epi = np.isin(cv.labels, [LABELS[k] for k in ("stratum_spinosum", "stratum_basale",
                                                  "stratum_granulosum")])
    junctional = np.zeros_like(nodule)
    for jx in cx + rng.uniform(-1.3, 1.3, 5) * rx:
        jc = int(np.clip((jx - cv.x0) / cv.px, 0, cv.w - 1))
        junctional |= np.hypot(X - jx, Y - (fld.junction[jc] - 8)) < rng.uniform(12, 20)
    junctional &= epi
    nodule |= junctional
    paint(cv, nodule, "melanocyte_cytoplasm", scale=1 + 0.15 * tex["fine"], label="melanoma")
    cv.instances[nodule] = 0
    seeds = lattice(rng, cx - rx * 1.4, top - 20, cx + rx * 1.4, top + depth, 12.5, 0.3,
                    margin=10)
    c = np.clip(((seeds[:, 0] - cv.x0) / cv.px).astype(int), 0, cv.w - 1)
    r = np.clip(((seeds[:, 1] - cv.y0) / cv.px).astype(int), 0, cv.h - 1)
    seeds = seeds[nodule[r, c]]
    # pagetoid single cells scattered up through the epidermis
    px_ = cx + rng.uniform(-1.2, 1.2, 8) * rx
    pc = np.clip(((px_ - cv.x0) / cv.px).astype(int), 0, cv.w - 1)
    py_ = fld.surface[pc] + rng.uniform(0.2, 0.7, 8) * (fld.junction[pc] - fld.surface[pc])
    pag = np.stack([px_, py_], 1)
    for x, y in pag:
        e = cv.ellipse(x, y, 6.5, 6.0, 0.0)
        if e is not None:
            s2, m2, _ = e
            paint(cv, m2, "melanocyte_cytoplasm", sl=s2, scale=0.6, label="melanoma")
    seeds = np.concatenate([seeds, pag])
    n = len(seeds)
    tree = cKDTree(seeds)
    mel_mask = cv.labels == LABELS["melanoma"]
    rr, cc = np.nonzero(mel_mask)
    d, j = tree.query(np.stack([cv.xs[cc], cv.ys[rr]], 1), k=2)
    near = np.zeros((cv.h, cv.w), np.int64)
    near[rr, cc] = j[:, 0]
    edge = np.zeros((cv.h, cv.w), bool)
    edge[rr, cc] = (d[:, 1] - d[:, 0]) < 0.8
    paint(cv, edge & mel_mask, "cell_membrane", label="melanoma")
    # melanin: dusty granules in about a third of the cells
    pigmented = rng.uniform(size=n) < 0.35
    gran = mel_mask & pigmented[near] & (tex["chromatin"] > 0.6)
    cv.pigment[gran] = rng.uniform(0.5, 0.9)
    cv.labels[gran] = LABELS["melanin"]
    size = rng.uniform(10.0, 13.5, n)
    a = size / 2 * rng.uniform(1.0, 1.15, n)
    b = size / 2 / rng.uniform(1.0, 1.15, n)
    ids = nuclei(cv, seeds, a, b, rng.uniform(0, np.pi, n), ["melanoma"] * n,
                 rng.uniform(0.7, 0.95, n), tex["chromatin"], where=mel_mask | gran,
                 nearest=near)
    # prominent eosinophilic ("cherry-red") nucleoli
    for i in np.nonzero(ids)[0]:
        e = cv.ellipse(seeds[i, 0] + rng.uniform(-1, 1), seeds[i, 1] + rng.uniform(-1, 1),
                       1.1, 1.0, 0.0)
        if e is not None:
            s2, m2, _ = e
            m2 &= cv.instances[s2] == ids[i]
            cv.eosin[s2] = np.where(m2, 0.9, cv.eosin[s2])
            cv.hema[s2] = np.where(m2, 0.45, cv.hema[s2])
    dermal = [int(ids[i]) for i in range(n) if ids[i] and seeds[i, 1] > np.interp(
        seeds[i, 0], cv.xs, fld.junction) + 10]
    k = max(1, round(0.03 * len(dermal))) if dermal else 0
    if k:
        mitoses(cv, list(rng.choice(dermal, k, replace=False)), rng, tex["fine"])


def build(rng, width, height, px, mag, wanted: tuple[str, ...], antibody=None) -> SkinField:
    finding = "melanoma" if "melanoma" in wanted else (
        "basal_cell_carcinoma" if "basal_cell_carcinoma" in wanted else None)
    return build_field(rng, width, height, px, mag, finding)
