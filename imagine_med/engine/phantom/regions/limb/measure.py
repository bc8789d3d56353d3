"""Measurements of bones and fractures read from label maps (and the pixel spacing) only:
the articular tilt and fragment shift on a lateral, the fracture's distance from the joint,
the gap, the callus, and which growth-plate zones a fracture line crosses.

Images are distal up; a lateral has the dorsum on the image right (views.py)."""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from scipy.spatial import ConvexHull

ZONES = ("epiphysis", "physis", "metaphysis")


def _ids(names: dict[str, int], *wanted: str) -> list[int]:
    return [names[w] for w in wanted if w in names]


def shaft_axis(labels: np.ndarray, shaft_ids: list[int], px: float, above_row: int | None = None,
               min_len_mm: float = 15.0) -> tuple[float, float] | None:
    """(column at row 0, columns per row) of the shaft's midline, fitted to the centres of
    the rows of `shaft_ids` below `above_row` (proximal to the fracture)."""
    mask = np.isin(labels, shaft_ids)
    rows = np.flatnonzero(mask.sum(axis=1) >= 3)
    if above_row is not None:
        rows = rows[rows > above_row + round(4.0 / px)]
    if len(rows) * px < min_len_mm:
        return None
    centres = np.array([np.flatnonzero(mask[r]).mean() for r in rows])
    slope, icpt = np.polyfit(rows, centres, 1)
    return float(icpt), float(slope)


def articular_tilt(labels: np.ndarray, end_ids: list[int], axis: tuple[float, float], px: float
                   ) -> float | None:
    """Tilt of the distal articular surface on a lateral, degrees, palmar positive (the usual
    'palmar tilt', normal ~11 deg): the direction the bone's end faces, as the
    length-weighted mean outward normal of the edges of its convex hull that face within 50
    deg of distal, against the shaft axis. Palmar tilt: the end faces volarly (image left),
    the dorsal lip more distal. A fragment tilted either way is read the same way."""
    mask = np.isin(labels, end_ids)
    if mask.sum() < 30:
        return None
    ys, xs = np.nonzero(mask & ~ndimage.binary_erosion(mask))  # the outline holds the hull
    icpt, slope = axis
    norm = np.hypot(slope, 1.0)
    pc, pr = xs - icpt, ys.astype(float)
    along = -(pc * slope + pr) / norm  # distal +
    across = (pc - pr * slope) / norm  # dorsal (image right) +
    pts = np.stack([across, along], 1)
    hull = ConvexHull(pts)
    v = pts[hull.vertices]  # counter-clockwise in (across, along)
    e = np.roll(v, -1, axis=0) - v
    length = np.hypot(e[:, 0], e[:, 1])
    normal = np.stack([e[:, 1], -e[:, 0]], 1) / np.maximum(length, 1e-9)[:, None]
    facing = np.array([0.0, 1.0])  # start from "distal", then follow the face: the hull
    for cone in (50.0, 35.0, 25.0, 25.0):  # edges around the lips are rounded, so a fixed
        up = normal @ facing > np.cos(np.radians(cone))  # cone would be lopsided
        if length[up].sum() * px < 4.0:
            return None
        n = (normal[up] * length[up, None]).sum(0)
        facing = n / np.hypot(*n)
    return float(-np.degrees(np.arctan2(facing[0], facing[1])))


def end_row(labels: np.ndarray, ids: list[int]) -> int | None:
    rows = np.flatnonzero(np.isin(labels, ids).any(axis=1))
    return int(rows.min()) if len(rows) else None


def fracture_extent(labels: np.ndarray, line_id: int) -> tuple[np.ndarray, np.ndarray]:
    return np.nonzero(labels == line_id)


def gap_mm(labels: np.ndarray, line_id: int, px: float) -> float:
    """Mean width of the fracture line: its area over its length (the longer side of its
    principal extent)."""
    ys, xs = np.nonzero(labels == line_id)
    if len(ys) < 3:
        return 0.0
    pts = np.stack([ys, xs], 1).astype(float)
    pts -= pts.mean(0)
    ev = np.linalg.eigh(np.cov(pts.T))[1][:, -1]
    proj = pts @ ev
    length = np.ptp(proj) + 1
    return float(len(ys) / length * px)


def zones_crossed(labels: np.ndarray, line_id: int, zone_ids: dict[str, int],
                  share: float = 0.05) -> list[str]:
    """Growth-plate zones a fracture line runs through: each line pixel takes the label of
    the nearest non-line pixel (the bone it was drawn over); a zone counts when it holds at
    least `share` of the line."""
    line = labels == line_id
    if line.sum() == 0:
        return []
    _d, (iy, ix) = ndimage.distance_transform_edt(line, return_indices=True)
    under = labels[iy[line], ix[line]]
    out = []
    for name in ZONES:
        zid = zone_ids.get(name)
        if zid is not None and np.mean(under == zid) >= share:
            out.append(name)
    return out


def salter_harris_from(zones: list[str], physis_narrowed: bool = False) -> int | None:
    """Salter-Harris type from the zones a line crosses (physics.md "Bones and teeth")."""
    z = set(zones)
    if z == {"physis"}:
        return 5 if physis_narrowed else 1
    if z == {"physis", "metaphysis"}:
        return 2
    if z == {"physis", "epiphysis"}:
        return 3
    if z == {"physis", "metaphysis", "epiphysis"}:
        return 4
    return None


def physis_height_mm(labels: np.ndarray, physis_id: int, cols: np.ndarray, px: float) -> float:
    """Median height (rows) of the physis label in the given columns."""
    h = [np.count_nonzero(labels[:, c] == physis_id) for c in cols]
    h = [v for v in h if v > 0]
    return float(np.median(h) * px) if h else 0.0


def area_mm2(labels: np.ndarray, label: int, px: float) -> float:
    return float(np.count_nonzero(labels == label) * px * px)


def rotation_between(before: np.ndarray, after: np.ndarray) -> tuple[float, float]:
    """(degrees, overlap) of the rotation that best lays the mask `before` (a piece of bone as
    it was) onto `after` (the same piece moved), centroids matched: clockwise on the image
    positive (on a lateral with the dorsum right, a distal fragment tipped dorsally).
    A coarse-to-fine search of the overlap (intersection over union)."""
    by, bx = np.nonzero(before)
    ay, ax = np.nonzero(after)
    if len(by) < 20 or len(ay) < 20:
        return 0.0, 0.0
    pts = np.stack([bx - bx.mean(), by - by.mean()], 1)
    ox, oy = ax.mean(), ay.mean()
    h, w = after.shape

    def score(theta: float) -> float:
        c, s = np.cos(np.radians(theta)), np.sin(np.radians(theta))
        x = np.round(pts[:, 0] * c - pts[:, 1] * s + ox).astype(int)
        y = np.round(pts[:, 0] * s + pts[:, 1] * c + oy).astype(int)
        ok = (x >= 0) & (x < w) & (y >= 0) & (y < h)
        hits = np.count_nonzero(after[y[ok], x[ok]])
        return hits / (len(pts) + len(ay) - hits)

    best = max(np.arange(-60.0, 61.0, 3.0), key=score)
    best = max(np.arange(best - 3.0, best + 3.01, 0.5), key=score)
    return float(best), float(score(best))
