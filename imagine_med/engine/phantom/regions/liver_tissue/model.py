"""A seeded liver field in micrometres: lobule, hepatocyte plates, sinusoids, nuclei, vessels.

Steps (build_field): lobule (central vein at the origin, portal tracts at the hexagon's
corners) -> field placement -> plates (radial rows of hepatocyte seeds from the central vein,
branching as they widen) -> cells (Voronoi of the seeds; the gaps between plates are
sinusoids) -> findings choose their cells (steatosis) -> paint: cytoplasm, droplets, nuclei,
sinusoidal cells and red cells, central vein, portal tract. Painting writes per-pixel stain
concentrations (`Canvas`), labels and a nucleus instance map.

Sizes (SIZES) come from ../shared/reference/physics.md "Histology additions": lobule ~1 mm
across with portal triads at its corners, plates one cell thick, hepatocyte 20-30 um with a
6-8 um nucleus, ~5% binucleate, sinusoids 5-10 um, red cell 7-8 um, lymphocyte ~7 um.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.ndimage import gaussian_filter, zoom

from imagine_med.engine.phantom.tissues import STAIN_COLUMNS as STAIN

SIZES = {  # micrometres
    "lobule_radius": (420.0, 490.0),    # central vein to portal tract
    "central_vein_radius": (22.0, 34.0),
    "portal_tract_radius": (55.0, 80.0),
    "cell_along_plate": 24.0,          # hepatocyte length along its plate
    "plate_spacing": 30.0,             # plate (one cell) + sinusoid
    "sinusoid_half_width": (1.1, 3.0),
    "hepatocyte_nucleus": (7.0, 0.45),  # mean, sd of the diameter
    "binucleate_fraction": 0.05,
    "red_cell": (7.5, 0.2),
    "lymphocyte_nucleus": (6.5, 0.4),
    "droplet_fill": (0.72, 1.15),       # macrovesicular droplet radius / room in the cell
}

LABELS: dict[str, int] = {
    "hepatocyte": 1, "hepatocyte_nucleus": 2, "cell_border": 3, "sinusoid": 4, "red_cell": 5,
    "kupffer_cell": 6, "endothelial_cell": 7, "central_vein": 8, "portal_tract": 9,
    "portal_vein": 10, "hepatic_artery": 11, "bile_duct": 12, "lymphocyte": 13,
    "basement_membrane": 14, "fat_droplet": 100, "microvesicular_fat": 101,
    "fibrous_septum": 102, "ballooned_hepatocyte": 103, "mallory_denk_body": 104,
    "bile_plug": 105, "hcc": 106,
}
NUCLEUS_CLASSES = ("hepatocyte", "kupffer", "endothelial", "lymphocyte", "biliary",
                   "smooth_muscle", "fibroblast")
# the label a nucleus of each class is drawn with (other organs pass their own tables)
NUCLEUS_LABELS = {"hepatocyte": "hepatocyte_nucleus", "kupffer": "kupffer_cell",
                  "endothelial": "endothelial_cell", "lymphocyte": "lymphocyte",
                  "biliary": "bile_duct", "smooth_muscle": "hepatic_artery",
                  "fibroblast": "fibrous_septum"}


@dataclass
class Canvas:
    """Per-pixel stain concentrations in OD units: haematoxylin, eosin, glycogen (PAS,
    removed by diastase), basement membrane (PAS, diastase-resistant); labels; nucleus
    instances (0 = none) with one class per instance."""

    h: int
    w: int
    px: float
    x0: float
    y0: float
    hema: np.ndarray = field(init=False)
    eosin: np.ndarray = field(init=False)
    glycogen: np.ndarray = field(init=False)
    membrane: np.ndarray = field(init=False)
    labels: np.ndarray = field(init=False)
    instances: np.ndarray = field(init=False)
    nuclei: list[dict] = field(default_factory=list)
    table: dict[str, int] = field(default_factory=lambda: LABELS)       # label name -> id
    nucleus_labels: dict[str, str] = field(default_factory=lambda: NUCLEUS_LABELS)

    def __post_init__(self) -> None:
        z = (self.h, self.w)
        self.hema, self.eosin = np.zeros(z, np.float32), np.zeros(z, np.float32)
        self.glycogen, self.membrane = np.zeros(z, np.float32), np.zeros(z, np.float32)
        self.labels = np.zeros(z, np.uint8)
        self.instances = np.zeros(z, np.uint16)
        self.xs = (np.arange(self.w, dtype=np.float32) + 0.5) * self.px + self.x0
        self.ys = (np.arange(self.h, dtype=np.float32) + 0.5) * self.px + self.y0

    def box(self, cx: float, cy: float, r: float):
        """Slices of the pixels within r um of (cx, cy) and their coordinates; None if off."""
        c0 = max(0, int((cx - r - self.x0) / self.px))
        c1 = min(self.w, int((cx + r - self.x0) / self.px) + 2)
        r0 = max(0, int((cy - r - self.y0) / self.px))
        r1 = min(self.h, int((cy + r - self.y0) / self.px) + 2)
        if c0 >= c1 or r0 >= r1:
            return None
        return (slice(r0, r1), slice(c0, c1)), self.xs[c0:c1][None, :] - cx, \
            self.ys[r0:r1][:, None] - cy

    def ellipse(self, cx, cy, a, b, theta):
        """(slices, mask, normalised radius) of an ellipse with semi-axes a (along theta), b."""
        got = self.box(cx, cy, max(a, b))
        if got is None:
            return None
        sl, dx, dy = got
        c, s = np.cos(theta), np.sin(theta)
        u = (dx * c + dy * s) / a
        v = (-dx * s + dy * c) / b
        rho = np.sqrt(u * u + v * v)
        m = rho <= 1.0
        if not m.any():
            return None
        return sl, m, rho

    def nucleus(self, cx, cy, a, b, theta, kind: str, hema: float, texture: np.ndarray,
                within: np.ndarray | None = None) -> int:
        """Paint one nucleus: chromatin texture, a darker rim, a nucleolus for large ones;
        returns its instance id (0 when it lies outside the field)."""
        got = self.ellipse(cx, cy, a, b, theta)
        if got is None:
            return 0
        sl, m, rho = got
        if isinstance(within, tuple):  # (cell id map, this cell's id)
            m &= within[0][sl] == within[1]
        elif within is not None:
            m &= within[sl]
        if not m.any():
            return 0
        ident = len(self.nuclei) + 1
        tex = texture[sl]
        chroma = hema * (0.85 + 0.22 * tex) + 0.22 * hema * np.clip((rho - 0.72) / 0.28, 0, 1)
        self.hema[sl] = np.where(m, chroma, self.hema[sl])
        self.eosin[sl] = np.where(m, 0.08, self.eosin[sl])
        self.glycogen[sl] = np.where(m, 0.0, self.glycogen[sl])
        if kind == "hepatocyte" and a > 2.8:  # one nucleolus, off centre
            nl = (rho < 0.9) & (np.hypot(*np.broadcast_arrays(
                self.xs[sl[1]][None, :] - cx - 0.25 * a, self.ys[sl[0]][:, None] - cy)) < 0.6)
            self.hema[sl] = np.where(m & nl, hema * 1.9, self.hema[sl])
        self.labels[sl][m] = self.table[self.nucleus_labels[kind]]
        self.instances[sl][m] = ident
        self.nuclei.append({"id": ident, "class": kind, "x_um": round(float(cx - self.x0), 2),
                            "y_um": round(float(cy - self.y0), 2),
                            "diameter_um": round(float(2 * np.sqrt(a * b)), 2)})
        return ident


@dataclass
class Lobule:
    cv: tuple[float, float]
    cv_radius: float
    portal: list[tuple[float, float, float]]  # (x, y, radius)


@dataclass
class LiverField:
    """One field of a liver biopsy, built and painted: the canvas and what was built."""

    canvas: Canvas
    magnification: int
    lobule: Lobule
    view: str                              # "central_vein", "portal_tract", "mid_zone", ...
    cell_ids: np.ndarray                   # Voronoi cell of each pixel (-1: none)
    n_cells: int
    steatotic: set[int] = field(default_factory=set)
    micro: set[int] = field(default_factory=set)
    binucleate: set[int] = field(default_factory=set)
    nucleus_offsets: dict[int, float] = field(default_factory=dict)
    ballooned: set[int] = field(default_factory=set)
    mallory_denk: int = 0
    inflammatory_foci: int = 0
    bile: np.ndarray | None = None        # bile pigment OD (findings.BILE)
    hcc: bool = False


def smooth_noise(rng: np.random.Generator, shape, sigma_px: float) -> np.ndarray:
    """Zero-mean, unit-sd smooth noise."""
    sig = tuple(max(float(s), 0.3) for s in np.broadcast_to(sigma_px, (2,)))
    if min(sig) > 6.0:  # broad: filter a coarse grid, then interpolate up (same statistics)
        f = int(min(sig) // 3)
        small = (shape[0] // f + 2, shape[1] // f + 2)
        n = gaussian_filter(rng.standard_normal(small, dtype=np.float32), (sig[0] / f, sig[1] / f))
        n = zoom(n, f, order=1)[: shape[0], : shape[1]]
    else:
        n = gaussian_filter(rng.standard_normal(shape, dtype=np.float32), sig)
    return n / max(float(n.std()), 1e-6)


def place_lobule(rng: np.random.Generator) -> Lobule:
    lo, hi = SIZES["lobule_radius"]
    phi0 = rng.uniform(0, 2 * np.pi)
    portal = []
    for k in range(6):
        r = rng.uniform(lo, hi)
        a = phi0 + k * np.pi / 3 + rng.uniform(-0.12, 0.12)
        portal.append((r * np.cos(a), r * np.sin(a), rng.uniform(*SIZES["portal_tract_radius"])))
    return Lobule((0.0, 0.0), rng.uniform(*SIZES["central_vein_radius"]), portal)


def place_field(lobule: Lobule, width_um: float, height_um: float, view: str,
                rng: np.random.Generator) -> tuple[float, float]:
    """The field's top-left corner in lobule um: near the central vein, the first portal
    tract, or half-way between (low power)."""
    px_, py_, _ = lobule.portal[0]
    dist = float(np.hypot(px_, py_))
    half = min(width_um, height_um) / 2
    if view == "central_vein":
        d = rng.uniform(0.1, 0.45) * half
    elif view == "parenchyma":
        d = rng.uniform(0.9, 1.6) * half
    elif view == "portal_tract":
        d = dist - rng.uniform(0.55, 0.85) * half
    else:
        d = dist / 2
    d += 0.0
    cx, cy = px_ / dist * d, py_ / dist * d
    # a little off the line so the structure is not always on the diagonal
    cx += rng.uniform(-0.2, 0.2) * half
    cy += rng.uniform(-0.2, 0.2) * half
    return cx - width_um / 2, cy - height_um / 2


def plate_seeds(lobule: Lobule, box: tuple[float, float, float, float],
                rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Hepatocyte centres in radial plates from the central vein; a plate forks where the
    gap to its neighbour grows past 1.7 spacings. Returns (seeds (n, 2), plate id)."""
    x0, y0, x1, y1 = box
    corners = np.array([[x0, y0], [x1, y0], [x0, y1], [x1, y1]])
    rmax = float(np.max(np.hypot(corners[:, 0], corners[:, 1]))) + 30
    inside = x0 <= 0 <= x1 and y0 <= 0 <= y1
    rmin = 0.0 if inside else max(0.0, float(np.hypot(np.clip(0, x0, x1), np.clip(0, y0, y1))) - 30)
    spacing, step = SIZES["plate_spacing"], SIZES["cell_along_plate"]
    r = lobule.cv_radius + 14.0
    n0 = max(6, int(2 * np.pi * r / spacing))
    angles = np.sort(rng.uniform(0, 2 * np.pi) + np.arange(n0) * 2 * np.pi / n0
                     + rng.uniform(-0.1, 0.1, n0) * 2 * np.pi / n0)
    ids = np.arange(n0)
    next_id = n0
    pts, pid = [], []
    while r < rmax:
        # fork plates whose gap to the next one has grown
        gaps = np.diff(np.append(angles, angles[0] + 2 * np.pi)) * r
        wide = np.nonzero(gaps > 1.75 * spacing)[0]
        if len(wide):
            mids = angles[wide] + gaps[wide] / r / 2 \
                + rng.uniform(-0.08, 0.08, len(wide)) * spacing / r
            angles = np.concatenate([angles, mids])
            ids = np.concatenate([ids, np.arange(next_id, next_id + len(wide))])
            next_id += len(wide)
            order = np.argsort(angles % (2 * np.pi))
            angles, ids = angles[order] % (2 * np.pi), ids[order]
        angles = angles + rng.normal(0, 0.12, len(angles)) * 3.0 / r  # plates wander
        if r >= rmin:
            jr = r + rng.uniform(-3.0, 3.0, len(angles))
            ja = angles + rng.uniform(-2.5, 2.5, len(angles)) / r
            xy = np.stack([jr * np.cos(ja), jr * np.sin(ja)], 1)
            keep = (xy[:, 0] > x0 - 30) & (xy[:, 0] < x1 + 30) & (xy[:, 1] > y0 - 30) & \
                (xy[:, 1] < y1 + 30)
            pts.append(xy[keep])
            pid.append(ids[keep])
        r += step * rng.uniform(0.92, 1.08)
    seeds = np.concatenate(pts) if pts else np.zeros((0, 2))
    plates = np.concatenate(pid) if pid else np.zeros(0, int)
    ok = np.ones(len(seeds), bool)
    for (px_, py_, pr) in lobule.portal:  # the limiting plate starts at the tract
        ok &= np.hypot(seeds[:, 0] - px_, seeds[:, 1] - py_) > pr * 0.8
    return seeds[ok], plates[ok]


def voronoi(cv: Canvas, seeds: np.ndarray, reach: float = 34.0):
    """Nearest and second-nearest seed of every pixel (squared um), seed by seed in a box."""
    d1 = np.full((cv.h, cv.w), np.inf, np.float32)
    d2 = np.full((cv.h, cv.w), np.inf, np.float32)
    i1 = np.full((cv.h, cv.w), -1, np.int32)
    i2 = np.full((cv.h, cv.w), -1, np.int32)
    for i, (sx, sy) in enumerate(seeds):
        got = cv.box(sx, sy, reach)
        if got is None:
            continue
        sl, dx, dy = got
        d = dx * dx + dy * dy
        a1, a2, b1, b2 = d1[sl], d2[sl], i1[sl], i2[sl]
        closer = d < a1
        second = ~closer & (d < a2)
        a2[closer], b2[closer] = a1[closer], b1[closer]
        a2[second], b2[second] = d[second], i
        a1[closer], b1[closer] = d[closer], i
    return d1, d2, i1, i2


def _set(cv: Canvas, mask: np.ndarray, comp: str, sl=None, scale=1.0, label: str | None = None):
    """Paint a tissue component (STAIN_COLUMNS) where mask holds, at `scale` strength."""
    h_, e_, g_, m_ = STAIN[comp]
    sl = sl or (slice(None), slice(None))
    for arr, v in ((cv.hema, h_), (cv.eosin, e_), (cv.glycogen, g_), (cv.membrane, m_)):
        arr[sl] = np.where(mask, np.float32(v) * scale, arr[sl])
    if label is not None:
        cv.labels[sl][mask] = cv.table[label]


def paint_parenchyma(cv: Canvas, seeds, plates, rng, textures) -> tuple[np.ndarray, np.ndarray]:
    """Hepatocyte cytoplasm (granular, glycogen-rich), thin cell borders within a plate and
    sinusoids between plates. Returns (cell id per pixel, -1 in sinusoids; sinusoid mask).
    A small field may lie wholly within a vein or a portal tract: then it holds no cells."""
    if len(seeds) == 0:
        return np.full((cv.h, cv.w), -1, np.int32), np.zeros((cv.h, cv.w), bool)
    d1, d2, i1, i2 = voronoi(cv, seeds)
    have2 = i2 >= 0
    j1, j2 = np.maximum(i1, 0), np.maximum(i2, 0)
    sep = np.hypot(seeds[j1, 0] - seeds[j2, 0], seeds[j1, 1] - seeds[j2, 1]).astype(np.float32)
    edge = np.full(d1.shape, np.inf, np.float32)
    edge[have2] = (d2[have2] - d1[have2]) * 0.5 / np.maximum(sep[have2], 1e-3)
    lo, hi = SIZES["sinusoid_half_width"]
    half = (lo + hi) / 2 + (hi - lo) / 2 * textures["coarse"]
    between = have2 & (plates[j1] != plates[j2])
    sinus = (i1 < 0) | (between & (edge < half))
    cells = np.where(sinus, -1, i1)
    tissue = ~sinus
    # cytoplasm: granular eosin, glycogen richer toward the portal tracts (zone 1)
    grain = 1.0 + 0.14 * textures["fine"] + 0.08 * textures["coarse"]
    _set(cv, tissue, "hepatocyte_cytoplasm", scale=grain, label="hepatocyte")
    cv.glycogen *= np.float32(1.0) + np.float32(0.2) * textures["coarse"]
    membrane = tissue & (edge < 0.7)
    _set(cv, membrane, "cell_membrane")
    # a discrete border between neighbouring cells (so every cell is its own component)
    b = np.zeros_like(tissue)
    b[:, :-1] |= (cells[:, :-1] != cells[:, 1:]) & tissue[:, 1:]
    b[:-1, :] |= (cells[:-1, :] != cells[1:, :]) & tissue[1:, :]
    b &= tissue
    cv.labels[b] = LABELS["cell_border"]
    _set(cv, sinus, "plasma", scale=1.8, label="sinusoid")
    return cells, sinus


def room(seeds: np.ndarray, plates: np.ndarray) -> np.ndarray:
    """Per cell, the radius of the largest circle about its seed that stays in the cell
    (half the distance to the nearest neighbour, less the sinusoid for another plate's)."""
    from scipy.spatial import cKDTree

    if len(seeds) < 3:
        return np.full(len(seeds), 10.0)
    tree = cKDTree(seeds)
    d, j = tree.query(seeds, k=min(7, len(seeds)))
    other = plates[j[:, 1:]] != plates[:, None]
    gap = d[:, 1:] / 2 - np.where(other, np.mean(SIZES["sinusoid_half_width"]), 0.3)
    return np.min(gap, axis=1)


def choose_cells(cells: np.ndarray, seeds: np.ndarray, fraction: float, rng,
                 exclude: set[int] | None = None) -> set[int]:
    """Exactly round(fraction x n) of the hepatocytes wholly inside the field (not touching
    its edge), and the same fraction by chance of the cut ones at the edge."""
    present = np.unique(cells[cells >= 0])
    edge = np.unique(np.concatenate([cells[0], cells[-1], cells[:, 0], cells[:, -1]]))
    edge = set(edge[edge >= 0].tolist())
    exclude = exclude or set()
    everyone = [int(c) for c in present if int(c) not in edge]  # what a count will see
    inner = [c for c in everyone if c not in exclude]
    k = min(len(inner), round(fraction * len(everyone)))
    chosen = set(rng.choice(inner, size=k, replace=False).tolist()) if k else set()
    cut = [int(c) for c in present if int(c) in edge and int(c) not in exclude]
    chosen |= {c for c in cut if rng.uniform() < fraction}
    return chosen


def microvesicles(cv: Canvas, textures, spacing: float = 2.6, radius: float = 0.85
                  ) -> np.ndarray:
    """Small round fat vacuoles (1-2 um) on a jittered hexagonal lattice."""
    y = cv.ys[:, None] + 0.6 * textures["vacuole"] * spacing
    x = cv.xs[None, :] + 0.6 * textures["fine"] * spacing
    v = y / (spacing * 0.866)
    u = x / spacing + 0.5 * (np.floor(v) % 2)
    d = np.hypot((u - np.floor(u) - 0.5) * spacing, (v - np.floor(v) - 0.5) * spacing * 0.866)
    return d < radius * (1.0 + 0.25 * textures["chromatin"])


def paint_hepatocytes(cv: Canvas, fld: LiverField, seeds, plates, rng, textures,
                      macro: float, micro: float) -> None:
    """Nuclei (5% binucleate) and the steatosis findings: one large droplet pushing the
    nucleus to the edge (macrovesicular), or a foamy cytoplasm of small vacuoles around a
    central nucleus (microvesicular)."""
    # what is still parenchyma after the vessels and portal tracts were painted
    cells = np.where(cv.labels == LABELS["hepatocyte"], fld.cell_ids, -2)
    lost = set(range(len(seeds))) - set(np.unique(cells[cells >= 0]).tolist())
    for i, (sx, sy) in enumerate(seeds):  # a seed under a vessel or the tract: no nucleus
        c, r = int((sx - cv.x0) / cv.px), int((sy - cv.y0) / cv.px)
        if 0 <= r < cv.h and 0 <= c < cv.w and cells[r, c] != i:
            lost.add(i)
    rooms = room(seeds, plates)
    if macro > 0:
        fld.steatotic = choose_cells(cells, seeds, macro, rng, exclude=lost | fld.ballooned)
    if micro > 0:
        fld.micro = choose_cells(cells, seeds, micro, rng, exclude=fld.steatotic | lost)
    present = set(np.unique(cells[cells >= 0]).tolist()) - lost
    mean_d, sd_d = SIZES["hepatocyte_nucleus"]
    vac = microvesicles(cv, textures) if micro > 0 else None
    for i in sorted(present):
        sx, sy = seeds[i]
        cell = cells == i if (i in fld.steatotic or i in fld.micro) else None
        diam = float(np.clip(rng.normal(mean_d, sd_d), 5.8, 8.4))
        a = diam / 2 * rng.uniform(1.0, 1.1)
        b = diam * diam / 4 / a
        theta = rng.uniform(0, np.pi)
        radial = np.arctan2(sy, sx)
        if i in fld.steatotic:
            rd = float(np.clip(rooms[i], 6.5, 11.0)) * rng.uniform(*SIZES["droplet_fill"])
            u = radial + (0 if rng.uniform() < 0.5 else np.pi) + rng.uniform(-0.5, 0.5)
            shift = 2.2
            dx_, dy_ = sx - shift * np.cos(u), sy - shift * np.sin(u)
            got = cv.ellipse(dx_, dy_, rd + 3.0, rd + 3.0, 0.0)
            if got is None:
                continue
            sl, m, rho = got
            drop = (rho <= rd / (rd + 3.0)) & cell[sl]
            # compress the cytoplasm around the droplet (a thin rim)
            _set(cv, drop, "fat", sl=sl, label="fat_droplet")
            # the nucleus flattened against the droplet, at the cell's edge
            bn = diam / 2 * 0.62
            an = diam * diam / 4 / bn
            dist = rd + bn + 0.3
            nx, ny = dx_ + dist * np.cos(u), dy_ + dist * np.sin(u)
            cv.nucleus(nx, ny, an, bn, u + np.pi / 2, "hepatocyte",
                       STAIN["hepatocyte_nucleus"][0] * 1.15, textures["chromatin"], (cells, i))
            fld.nucleus_offsets[i] = float(np.hypot(nx - sx, ny - sy))
            continue
        if i in fld.micro:
            got = cv.box(sx, sy, 20.0)
            if got is not None:
                sl = got[0]
                m = cell[sl] & vac[sl] & (cv.labels[sl] == LABELS["hepatocyte"]) \
                    & (np.hypot(got[1], got[2]) > 4.2)  # the nucleus stays central
                _set(cv, m, "fat", sl=sl, label="microvesicular_fat")
        if rng.uniform() < SIZES["binucleate_fraction"] and rooms[i] > 8.5:
            fld.binucleate.add(i)
            off = a + 0.6
            for sgn in (-1, 1):
                cv.nucleus(sx + sgn * off * np.cos(theta), sy + sgn * off * np.sin(theta),
                           a, b, theta, "hepatocyte", STAIN["hepatocyte_nucleus"][0],
                           textures["chromatin"], (cells, i))
        else:
            cv.nucleus(sx + rng.normal(0, 0.6), sy + rng.normal(0, 0.6), a, b, theta,
                       "hepatocyte", STAIN["hepatocyte_nucleus"][0], textures["chromatin"],
                       (cells, i))
        fld.nucleus_offsets[i] = 0.0


def red_cell(cv: Canvas, cx: float, cy: float, diam: float, tilt: float, theta: float) -> bool:
    """A biconcave disc: bright eosin rim, paler centre; seen tilted it is an ellipse."""
    got = cv.ellipse(cx, cy, diam / 2, diam / 2 * tilt, theta)
    if got is None:
        return False
    sl, m, rho = got
    dens = 0.62 + 0.38 * np.clip((rho - 0.25) / 0.55, 0, 1) ** 1.5
    _set(cv, m, "red_cell", sl=sl, scale=dens, label="red_cell")
    cv.instances[sl][m] = 0  # a red cell has no nucleus
    return True


def paint_sinusoid_cells(cv: Canvas, sinus: np.ndarray, rng, textures) -> None:
    """Red cells and flat sinusoidal lining cells (endothelium, Kupffer cells) along the
    sinusoids, oriented with them (radial to the central vein)."""
    ys, xs = np.nonzero(sinus & (cv.labels == LABELS["sinusoid"]))
    if not len(ys):
        return
    area = len(ys) * cv.px * cv.px
    placed: list[tuple[float, float]] = []
    n_rbc = int(area / 700.0)
    n_lining = int(area / 420.0)
    picks = rng.integers(0, len(ys), n_rbc * 3 + n_lining)
    for k, p in enumerate(picks):
        x = cv.xs[xs[p]]
        y = cv.ys[ys[p]]
        radial = float(np.arctan2(y, x))
        if k < n_rbc * 3:
            if len(placed) >= n_rbc:
                continue
            diam = float(rng.normal(*SIZES["red_cell"]))
            if placed and min(np.hypot(x - qx, y - qy) for qx, qy in placed) < diam + 0.6:
                continue
            if red_cell(cv, x, y, diam, rng.uniform(0.75, 1.0), radial):
                placed.append((x, y))
        else:
            kupffer = rng.uniform() < 0.35
            a, b = (4.2, 1.9) if kupffer else (4.0, 1.1)
            if kupffer:  # a little cytoplasm (PAS-D positive granules)
                got = cv.ellipse(x, y, a + 2.0, b + 2.0, radial)
                if got is not None:
                    sl, m, _ = got
                    _set(cv, m & (cv.labels[sl] == LABELS["sinusoid"]), "kupffer_cytoplasm",
                         sl=sl)
            comp = "kupffer_nucleus" if kupffer else "endothelial_nucleus"
            cv.nucleus(x, y, a, b, radial, "kupffer" if kupffer else "endothelial",
                       STAIN[comp][0], textures["chromatin"], None)


def paint_central_vein(cv: Canvas, lob: Lobule, rng, textures) -> None:
    """A thin-walled vein: collagen ring over a basement membrane, flat endothelial nuclei,
    plasma and red cells in the lumen."""
    r = lob.cv_radius
    got = cv.ellipse(0.0, 0.0, r + 3.0, r + 3.0, 0.0)
    if got is None:
        return
    sl, m, rho = got
    rr = rho * (r + 3.0)
    wall = m & (rr > r)
    lumen = m & (rr <= r)
    _set(cv, wall, "collagen", sl=sl, label="central_vein")
    _set(cv, lumen, "plasma", sl=sl, label="central_vein")
    _set(cv, m & (np.abs(rr - r - 0.3) < 0.45), "basement_membrane", sl=sl,
         label="basement_membrane")
    cv.instances[sl][m] = 0
    for k in range(int(2 * np.pi * r / 16)):
        a = k * 2 * np.pi / int(2 * np.pi * r / 16) + rng.uniform(-0.1, 0.1)
        cv.nucleus((r - 1.0) * np.cos(a), (r - 1.0) * np.sin(a), 3.8, 1.0, a + np.pi / 2,
                   "endothelial", STAIN["endothelial_nucleus"][0], textures["chromatin"])
    for _ in range(int(r * r / 40)):
        rad, a = r * np.sqrt(rng.uniform(0, 0.85)), rng.uniform(0, 2 * np.pi)
        red_cell(cv, rad * np.cos(a), rad * np.sin(a), rng.normal(*SIZES["red_cell"]),
                 rng.uniform(0.6, 1.0), rng.uniform(0, np.pi))


def paint_portal_tract(cv: Canvas, tract: tuple[float, float, float], rng, textures,
                       inflamed: bool = False) -> None:
    """Collagen stroma (irregular outline) holding a portal vein, a muscular hepatic artery,
    a bile duct of cuboidal cells on a basement membrane, and scattered lymphocytes."""
    tx, ty, tr = tract
    got = cv.box(tx, ty, tr * 1.25)
    if got is None:
        return
    sl, dx, dy = got
    ang = np.arctan2(dy, dx)
    wob = 1.0 + sum(rng.uniform(-0.09, 0.09) * np.cos(k * ang + rng.uniform(0, 6.3))
                    for k in (2, 3, 5))
    dist = np.hypot(dx, dy)
    stroma = dist < tr * wob
    fib = 1.0 + 0.12 * textures["fibre"][sl] + 0.06 * textures["fine"][sl]
    _set(cv, stroma, "collagen", sl=sl, scale=fib, label="portal_tract")
    cv.instances[sl][stroma] = 0
    a0 = rng.uniform(0, 2 * np.pi)
    # portal vein: wide thin-walled lumen
    vx, vy = tx + 0.2 * tr * np.cos(a0), ty + 0.2 * tr * np.sin(a0)
    va, vb = tr * 0.45, tr * 0.28
    g = cv.ellipse(vx, vy, va, vb, a0 + 1.2)
    if g is not None:
        s2, m2, rho2 = g
        _set(cv, m2 & (rho2 > 0.94), "basement_membrane", sl=s2, label="basement_membrane")
        _set(cv, m2 & (rho2 <= 0.94), "plasma", sl=s2, label="portal_vein")
        for _ in range(int(va * vb / 45)):
            rad, a = np.sqrt(rng.uniform(0, 0.7)), rng.uniform(0, 2 * np.pi)
            red_cell(cv, vx + rad * va * 0.8 * np.cos(a), vy + rad * vb * 0.8 * np.sin(a),
                     rng.normal(*SIZES["red_cell"]), rng.uniform(0.6, 1.0), rng.uniform(0, 3.2))
    # hepatic artery: small lumen, thick smooth muscle wall
    ax_, ay_ = tx + 0.5 * tr * np.cos(a0 + 2.3), ty + 0.5 * tr * np.sin(a0 + 2.3)
    g = cv.ellipse(ax_, ay_, 13.0, 13.0, 0.0)
    if g is not None:
        s2, m2, rho2 = g
        _set(cv, m2, "smooth_muscle", sl=s2, label="hepatic_artery")
        _set(cv, m2 & (np.abs(rho2 - 0.4) < 0.05), "basement_membrane", sl=s2,
             label="basement_membrane")
        _set(cv, m2 & (rho2 < 0.35), "plasma", sl=s2, label="hepatic_artery")
        for k in range(7):
            a = k * 2 * np.pi / 7
            cv.nucleus(ax_ + 8.5 * np.cos(a), ay_ + 8.5 * np.sin(a), 3.2, 1.1, a + np.pi / 2,
                       "smooth_muscle", STAIN["smooth_muscle_nucleus"][0], textures["chromatin"])
    # bile duct: ring of cuboidal cells round a small lumen, on a basement membrane
    bx, by = tx + 0.5 * tr * np.cos(a0 - 2.1), ty + 0.5 * tr * np.sin(a0 - 2.1)
    g = cv.ellipse(bx, by, 15.0, 15.0, 0.0)
    if g is not None:
        s2, m2, rho2 = g
        _set(cv, m2 & (rho2 > 0.93), "basement_membrane", sl=s2, label="basement_membrane")
        _set(cv, m2 & (rho2 <= 0.93) & (rho2 > 0.35), "biliary_epithelium", sl=s2,
             label="bile_duct")
        _set(cv, m2 & (rho2 <= 0.35), "plasma", sl=s2, label="bile_duct")
        n = 9
        for k in range(n):
            a = k * 2 * np.pi / n + rng.uniform(-0.1, 0.1)
            cv.nucleus(bx + 9.0 * np.cos(a), by + 9.0 * np.sin(a), 2.4, 2.0, a, "biliary",
                       STAIN["biliary_nucleus"][0], textures["chromatin"])
    # a few lymphocytes in the stroma
    stroma_now = stroma & (cv.labels[sl] == LABELS["portal_tract"])
    ys, xs = np.nonzero(stroma_now)
    count = int(tr * (1.6 if inflamed else 0.2))
    for p in rng.integers(0, max(1, len(ys)), count if len(ys) else 0):
        d = float(rng.normal(*SIZES["lymphocyte_nucleus"]))
        cv.nucleus(cv.xs[sl[1]][xs[p]], cv.ys[sl[0]][ys[p]], d / 2, d / 2 * 0.92,
                   rng.uniform(0, 3.2), "lymphocyte", STAIN["lymphocyte_nucleus"][0],
                   textures["chromatin"], stroma_now if False else None)


def septa_for_stage(lob: Lobule, stage: int, rng) -> list[tuple[float, float, float, float, float]]:
    """Fibrous septa (x0, y0, x1, y1, width um) for a fibrosis stage (0-4, as METAVIR/Ishak
    read a biopsy): 1 portal fibrous expansion (short spurs), 2 periportal septa, 3 bridging
    (portal to portal and portal to central vein), 4 cirrhosis (a network of septa round
    regenerative nodules, ~250-350 um apart)."""
    out = []
    tracts = lob.portal
    if stage in (1, 2):
        for tx, ty, tr in tracts:
            for _ in range(2 if stage == 1 else 4):
                a = rng.uniform(0, 2 * np.pi)
                length = tr * (0.5 if stage == 1 else rng.uniform(1.0, 1.8))
                out.append((tx, ty, tx + (tr + length) * np.cos(a),
                            ty + (tr + length) * np.sin(a), rng.uniform(6, 10)))
    if stage >= 3:
        for k, (tx, ty, _) in enumerate(tracts):
            nx_, ny_, _ = tracts[(k + 1) % len(tracts)]
            out.append((tx, ty, nx_, ny_, rng.uniform(14, 22)))     # portal-portal
            if k % 2 == 0 or stage == 4:
                out.append((tx, ty, 0.0, 0.0, rng.uniform(12, 20)))  # portal-central
    if stage == 4:  # nodules: septa along the Voronoi edges of jittered nodule centres
        for ring in (1, 2):
            for k in range(6 * ring):
                a = k * 2 * np.pi / (6 * ring) + rng.uniform(-0.2, 0.2)
                r = ring * 300.0 * rng.uniform(0.85, 1.1)
                a2 = a + 2 * np.pi / (6 * ring) + rng.uniform(-0.1, 0.1)
                out.append((r * np.cos(a), r * np.sin(a), r * np.cos(a2), r * np.sin(a2),
                            rng.uniform(18, 30)))
                out.append((r * np.cos(a), r * np.sin(a), (r + 300) * np.cos(a + 0.2),
                            (r + 300) * np.sin(a + 0.2), rng.uniform(18, 30)))
    return out


def paint_septa(cv: Canvas, septa, rng, textures) -> None:
    """Collagen bands (wavy fibres, spindle fibroblast nuclei, a few lymphocytes) over the
    parenchyma; a band's width wanders along it."""
    for x0, y0, x1, y1, w in septa:
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        half_len = np.hypot(x1 - x0, y1 - y0) / 2
        got = cv.box(cx, cy, half_len + w)
        if got is None:
            continue
        sl, dx, dy = got
        ux, uy = (x1 - x0) / max(2 * half_len, 1e-6), (y1 - y0) / max(2 * half_len, 1e-6)
        along = np.clip(dx * ux + dy * uy, -half_len, half_len)
        across = np.hypot(dx - along * ux, dy - along * uy)
        width = w / 2 * np.clip(1.0 + 0.3 * textures["coarse"][sl], 0.75, 1.5)
        band = (across < width) & ~np.isin(cv.labels[sl], [LABELS["portal_vein"],
                                                           LABELS["hepatic_artery"],
                                                           LABELS["bile_duct"]])
        if not band.any():
            continue
        # wavy fibres along the band: a stripe pattern across it, bent by the noise
        phase = across * np.sign(dx * -uy + dy * ux) * 2.2 + 1.5 * textures["coarse"][sl]
        fib = 1.0 + 0.28 * np.sin(phase) * (0.6 + 0.4 * textures["fine"][sl])
        _set(cv, band, "collagen", sl=sl, scale=fib, label="fibrous_septum")
        cv.instances[sl][band] = 0
        theta = float(np.arctan2(uy, ux))
        for _ in range(int(2 * half_len * w / 180)):
            t, s = rng.uniform(-half_len, half_len), rng.uniform(-0.35, 0.35) * w
            nx_, ny_ = cx + t * ux - s * uy, cy + t * uy + s * ux
            if rng.uniform() < 0.45:
                d = float(rng.normal(*SIZES["lymphocyte_nucleus"]))
                cv.nucleus(nx_, ny_, d / 2, d / 2 * 0.92, 0.0, "lymphocyte",
                           STAIN["lymphocyte_nucleus"][0], textures["chromatin"])
            else:
                cv.nucleus(nx_, ny_, 4.5, 1.1, theta + rng.normal(0, 0.15), "fibroblast",
                           STAIN["smooth_muscle_nucleus"][0], textures["chromatin"])


def lymphocyte(cv: Canvas, x: float, y: float, rng, textures) -> None:
    d = float(rng.normal(*SIZES["lymphocyte_nucleus"]))
    cv.nucleus(x, y, d / 2, d / 2 * 0.92, rng.uniform(0, 3.2), "lymphocyte",
               STAIN["lymphocyte_nucleus"][0], textures["chromatin"])


def paint_hepatitis(cv: Canvas, lob: Lobule, rng, textures) -> None:
    """Chronic hepatitis: lymphocytes spill from each portal tract across the limiting plate
    into the first hepatocytes (interface hepatitis), and small lobular foci."""
    for tx, ty, tr in lob.portal:
        if cv.box(tx, ty, tr * 1.5) is None:
            continue
        for _ in range(int(tr * 0.9)):
            a, r = rng.uniform(0, 2 * np.pi), tr * rng.uniform(0.95, 1.4)
            lymphocyte(cv, tx + r * np.cos(a), ty + r * np.sin(a), rng, textures)
    area = cv.h * cv.w * cv.px * cv.px
    for _ in range(max(1, round(area / 30000.0))):
        fx = cv.x0 + rng.uniform(0.1, 0.9) * cv.w * cv.px
        fy = cv.y0 + rng.uniform(0.1, 0.9) * cv.h * cv.px
        for _ in range(int(rng.integers(6, 12))):
            r, a = 10.0 * np.sqrt(rng.uniform()), rng.uniform(0, 2 * np.pi)
            lymphocyte(cv, fx + r * np.cos(a), fy + r * np.sin(a), rng, textures)


def build_field(rng: np.random.Generator, width: int, height: int, px: float,
                magnification: int, macro: float = 0.0, micro: float = 0.0,
                fibrosis_stage: int = 0, hepatitis: bool = False,
                steatohepatitis: bool = False, cholestasis: bool = False,
                hcc: bool = False) -> LiverField:
    """The named steps, in order."""
    if hcc:
        return _build_hcc(rng, width, height, px, magnification)
    lob = place_lobule(rng)
    field_um = (width * px, height * px)
    if fibrosis_stage >= 3 or magnification <= 10:
        view = "mid_zone"
    elif fibrosis_stage or hepatitis:
        view = "portal_tract"
    elif magnification >= 40:  # high power: parenchyma, the central vein near the edge
        view = "parenchyma"
    else:
        view = str(rng.choice(["central_vein", "portal_tract"], p=[0.6, 0.4]))
    x0, y0 = place_field(lob, field_um[0], field_um[1], view, rng)
    cv = Canvas(height, width, px, x0, y0)
    textures = {
        "fine": smooth_noise(rng, (height, width), 0.5 / px),
        "coarse": smooth_noise(rng, (height, width), 12.0 / px),
        "chromatin": smooth_noise(rng, (height, width), 0.45 / px),
        "fibre": smooth_noise(rng, (height, width), (0.5 / px, 1.8 / px)),
    }
    textures["vacuole"] = smooth_noise(rng, (height, width), 0.55 / px)
    box = (x0, y0, x0 + field_um[0], y0 + field_um[1])
    seeds, plates = plate_seeds(lob, box, rng)
    ballooned: set[int] = set()
    if steatohepatitis:
        from imagine_med.engine.phantom.regions.liver_tissue import findings

        seeds, plates, ballooned = findings.balloon_seeds(seeds, plates, box, rng)
    cells, sinus = paint_parenchyma(cv, seeds, plates, rng, textures)
    fld = LiverField(cv, magnification, lob, view, cells, len(seeds), ballooned=ballooned)
    paint_central_vein(cv, lob, rng, textures)
    for tract in lob.portal:
        paint_portal_tract(cv, tract, rng, textures, inflamed=hepatitis)
    if fibrosis_stage:
        paint_septa(cv, septa_for_stage(lob, fibrosis_stage, rng), rng, textures)
    paint_hepatocytes(cv, fld, seeds, plates, rng, textures, macro, micro)
    paint_sinusoid_cells(cv, sinus, rng, textures)
    if hepatitis:
        paint_hepatitis(cv, lob, rng, textures)
    if steatohepatitis:
        from imagine_med.engine.phantom.regions.liver_tissue import findings

        fld.ballooned -= fld.steatotic
        fld.mallory_denk = findings.paint_ballooning(cv, cells, fld.ballooned, seeds, rng,
                                                     textures)
        fld.inflammatory_foci = findings.paint_lobular_inflammation(cv, rng, textures)
    if cholestasis:
        from imagine_med.engine.phantom.regions.liver_tissue import findings

        fld.bile = findings.paint_bile_plugs(cv, rng)
    return fld


def _build_hcc(rng, width, height, px, magnification) -> LiverField:
    """Hepatocellular carcinoma: thick trabeculae of atypical hepatocytes between sinusoids;
    no lobular landmarks (no central veins or portal tracts); mitoses."""
    from imagine_med.engine.phantom.regions.histo_kit import mitoses
    from imagine_med.engine.phantom.regions.liver_tissue import findings

    cv = Canvas(height, width, px, 0.0, 0.0)
    textures = {
        "fine": smooth_noise(rng, (height, width), 0.5 / px),
        "coarse": smooth_noise(rng, (height, width), 12.0 / px),
        "chromatin": smooth_noise(rng, (height, width), 0.45 / px),
    }
    box = (0.0, 0.0, width * px, height * px)
    seeds, plates = findings.hcc_seeds(box, rng)
    cells, sinus = paint_parenchyma(cv, seeds, plates, rng, textures)
    cv.glycogen *= np.float32(0.4)            # tumour cells hold less glycogen
    cv.hema[cv.labels == LABELS["hepatocyte"]] += np.float32(0.05)
    cv.labels[cv.labels == LABELS["hepatocyte"]] = LABELS["hcc"]
    lob = Lobule((-1e4, -1e4), 1.0, [])
    fld = LiverField(cv, magnification, lob, "tumour", cells, len(seeds), hcc=True)
    ids = findings.paint_hcc_nuclei(cv, cells, seeds, rng, textures)
    # the tumour's endothelium-lined sinusoids: lining cells and red cells
    paint_sinusoid_cells(cv, sinus, rng, textures)
    k = round(0.015 * len(ids))
    if k:
        mitoses(cv, list(rng.choice(ids, k, replace=False)), rng, textures["fine"])
    return fld
