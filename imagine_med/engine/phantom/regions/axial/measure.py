"""Measurements of axial films read from label maps and the pixel spacing only.

Laterals are hung anterior on the image LEFT (film.py): a body's anterior corners are its
leftmost. A body's endplates are the edges of its outline's convex hull that face up
(superior) or down (inferior); its corners their ends."""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from scipy.spatial import ConvexHull

Point = np.ndarray


def corners(
    mask: np.ndarray, up: np.ndarray | None = None, cone_deg: float = 35.0
) -> dict[str, Point] | None:
    """Corners of a vertebral body on a lateral: superior/inferior x anterior/posterior,
    (x, y) image points, from the hull edges facing within `cone_deg` of the spine's local
    `up` (a unit image vector; default the image's up) and of its opposite; anterior is the
    end toward the image left of the spine's axis."""
    if mask.sum() < 20:
        return None
    ys, xs = np.nonzero(mask & ~ndimage.binary_erosion(mask))
    pts = np.stack([xs, ys], 1).astype(float)
    hull = ConvexHull(pts)
    v = pts[hull.vertices]  # counter-clockwise in (x, y) with y down: clockwise on screen
    e = np.roll(v, -1, axis=0) - v
    length = np.hypot(e[:, 0], e[:, 1])
    normal = np.stack([e[:, 1], -e[:, 0]], 1) / np.maximum(length, 1e-9)[:, None]
    # outward normals: pointing away from the centroid
    c = pts.mean(0)
    mids = v + e / 2
    flip = np.sum((mids - c) * normal, 1) < 0
    normal[flip] *= -1
    up = np.array([0.0, -1.0]) if up is None else up / np.hypot(*up)
    back = np.array([-up[1], up[0]])  # up turned clockwise on screen: posterior (image right)
    out = {}
    for name, face in (("superior", up), ("inferior", -up)):
        sel = normal @ face > np.cos(np.radians(cone_deg))
        if not sel.any():
            return None
        ends = np.vstack([v[sel], (v + e)[sel]])
        along = ends @ back
        out[f"{name}_anterior"] = ends[np.argmin(along)]
        out[f"{name}_posterior"] = ends[np.argmax(along)]
    return out


def centroid(mask: np.ndarray) -> Point | None:
    ys, xs = np.nonzero(mask)
    return np.array([xs.mean(), ys.mean()]) if len(ys) else None


def spine_up(labels: np.ndarray, ids: list[int], i: int) -> np.ndarray | None:
    """The spine's local up at body i of a column of body labels (top first): from the
    centroid of the body below to that of the body above (or of this one at an end)."""
    lo = centroid(labels == ids[min(i + 1, len(ids) - 1)])
    hi = centroid(labels == ids[max(i - 1, 0)])
    if lo is None or hi is None or np.allclose(lo, hi):
        return None
    return hi - lo


def heights(
    mask: np.ndarray, px: float, up: np.ndarray | None = None
) -> tuple[float, float] | None:
    """(anterior, posterior) height of a body on a lateral, mm: lines fitted to its
    superior and inferior endplates (the outline's top and bottom over the middle 70 % of
    its depth, in the spine's local `up` frame), their distance at the front and the back
    wall: a reader's corner points, without one jagged pixel deciding."""
    ys, xs = np.nonzero(mask)
    if len(ys) < 20:
        return None
    up = np.array([0.0, -1.0]) if up is None else up / np.hypot(*up)
    back = np.array([-up[1], up[0]])
    pts = np.stack([xs, ys], 1).astype(float)
    a, c = pts @ up, pts @ back
    k = np.round(c - c.min()).astype(int)
    n = k.max() + 1
    top, bottom = np.full(n, -np.inf), np.full(n, np.inf)
    np.maximum.at(top, k, a)
    np.minimum.at(bottom, k, a)
    mid = np.arange(n)
    keep = (mid > 0.15 * n) & (mid < 0.85 * n) & np.isfinite(top)
    if keep.sum() < 4:
        return None
    ft, fb = np.polyfit(mid[keep], top[keep], 1), np.polyfit(mid[keep], bottom[keep], 1)

    def h(at: float) -> float:
        return float(np.polyval(ft, at) - np.polyval(fb, at) + 1) * px

    return h(0.0), h(float(n - 1))


def genant_grade(loss_pct: float) -> int:
    """Genant semiquantitative grade from the height lost (%): 0 under 20."""
    if loss_pct < 20.0:
        return 0
    if loss_pct < 25.0:
        return 1
    return 2 if loss_pct <= 40.0 else 3


def meyerding_grade(slip_pct: float) -> int:
    """Meyerding grade from the slip (% of the lower endplate's length); 0: none (< 3 %)."""
    if slip_pct < 3.0:
        return 0
    return min(5, int(slip_pct // 25.0) + 1) if slip_pct <= 100.0 else 5


def slip_pct(
    upper: np.ndarray, lower: np.ndarray, up: np.ndarray | None = None
) -> tuple[float, float] | None:
    """(slip %, slip mm-in-pixels) of the upper body on the lower on a lateral: the upper's
    posterior-inferior corner against the lower's posterior-superior corner, along the
    lower's superior endplate (anterior +), over that endplate's length."""
    cu, cl = corners(upper, up), corners(lower, up)
    if cu is None or cl is None:
        return None
    a, p = cl["superior_anterior"], cl["superior_posterior"]
    length = float(np.hypot(*(a - p)))
    e = (a - p) / max(length, 1e-9)
    d = float((cu["inferior_posterior"] - p) @ e)
    return 100.0 * d / length, d


def bands(labels: np.ndarray, ids: dict[str, int], names) -> dict[str, tuple[int, int]]:
    """Rows each named body spans on the film."""
    out = {}
    for n in names:
        rows = np.flatnonzero((labels == ids[n]).any(axis=1))
        if len(rows):
            out[n] = (int(rows.min()), int(rows.max()))
    return out


def interpedicular_mm(
    labels: np.ndarray, band: tuple[int, int], pedicle: int, px: float
) -> float | None:
    """Inner distance between a level's two pedicles on an AP (the owl's eyes), mm."""
    sub = labels[band[0] : band[1] + 1] == pedicle
    lab, n = ndimage.label(sub)
    if n < 2:
        return None
    sizes = ndimage.sum(sub, lab, range(1, n + 1))
    keep = np.argsort(sizes)[-2:] + 1
    cols = [np.nonzero(lab == k)[1] for k in keep]
    left, right = sorted(cols, key=lambda c: c.mean())
    return float(right.min() - left.max()) * px


def prevertebral_mm(labels: np.ndarray, body: int, airway: int, px: float) -> float | None:
    """Soft tissue between a body's front and the airway's back wall at the body's
    mid-height on a lateral (anterior left), mm."""
    rows = np.flatnonzero((labels == body).any(axis=1))
    if not len(rows):
        return None
    vals = []
    for r in range(int(np.percentile(rows, 35)), int(np.percentile(rows, 65)) + 1):
        b = np.flatnonzero(labels[r] == body)
        a = np.flatnonzero(labels[r] == airway)
        a = a[a < b.min()] if len(b) else a
        if len(b) and len(a):
            vals.append(b.min() - a.max() - 1)
    return float(np.median(vals)) * px if vals else None


def overhang_mm(labels: np.ndarray, c1: int, c2: int, px: float) -> tuple[float, float] | None:
    """On the open-mouth view: how far each lateral mass of C1 overhangs C2's (right of the
    image, left of the image; + outward), mm."""
    m1, m2 = labels == c1, labels == c2
    if not m1.any() or not m2.any():
        return None
    mid = np.nonzero(m2)[1].mean()
    x1, x2 = np.nonzero(m1)[1], np.nonzero(m2)[1]
    right = float(x1[x1 > mid].max() - x2[x2 > mid].max()) if (x1 > mid).any() else 0.0
    left = float(x2[x2 < mid].min() - x1[x1 < mid].min()) if (x1 < mid).any() else 0.0
    return right * px, left * px


def line_in_dens(labels: np.ndarray, dens: int, line: int) -> float | None:
    """Where the fracture line crosses the dens: 0 at its tip, 1 at its base (the dens
    label's lowest row, where it meets C2's body), > 1 below the base (into the body)."""
    d = np.nonzero(labels == dens)
    ln = np.nonzero(labels == line)
    if not len(d[0]) or not len(ln[0]):
        return None
    tip, base = np.percentile(d[0], 0.5), np.percentile(d[0], 99.5)
    return float((np.median(ln[0]) - tip) / max(base - tip, 1.0))


def vertebral_lines(
    labels: np.ndarray, ids: dict[str, int], names, spinous: int, px: float
) -> dict[str, float]:
    """The three lines of a lateral c-spine (anterior and posterior vertebral, spinolaminar):
    each a point per level (a body's front and back at its mid-height; the front of the
    spinous process' base in the same rows), and the largest step of a point off the line
    through its neighbours, mm."""
    pts: dict[str, list[tuple[float, float]]] = {
        "anterior": [],
        "posterior": [],
        "spinolaminar": [],
    }
    for n in names:
        m = labels == ids[n]
        rows = np.flatnonzero(m.any(axis=1))
        if len(rows) < 4:
            continue
        r = int(np.median(rows))
        band = range(r - 2, r + 3)
        cols = np.concatenate([np.flatnonzero(m[k]) for k in band])
        pts["anterior"].append((r, float(cols.min())))
        pts["posterior"].append((r, float(cols.max())))
        sp = [np.flatnonzero(labels[k] == spinous) for k in range(rows.min(), rows.max() + 1)]
        sp = [c[c > cols.max()] for c in sp]
        front = [c.min() for c in sp if len(c)]
        if front:
            pts["spinolaminar"].append((r, float(np.min(front))))
    out = {}
    for k, p in pts.items():
        if len(p) < 3:
            continue
        a = np.array(p)
        steps = [
            abs(
                a[i, 1] - np.interp(a[i, 0], [a[i - 1, 0], a[i + 1, 0]], [a[i - 1, 1], a[i + 1, 1]])
            )
            for i in range(1, len(a) - 1)
        ]
        out[f"{k}_line_step_mm"] = round(float(max(steps)) * px, 1)
    return out


def diastasis_mm(labels: np.ndarray, pubis: int, px: float) -> float | None:
    """Width of the symphysis on an AP: the gap between the two pubic bodies, median over
    the rows where both flank the midline, mm."""
    m = labels == pubis
    ys, xs = np.nonzero(m)
    if not len(ys):
        return None
    mid = (xs.min() + xs.max()) / 2
    gaps = []
    for r in np.unique(ys):
        c = np.flatnonzero(m[r])
        lft, rgt = c[c < mid], c[c >= mid]
        if len(lft) and len(rgt) and mid - lft.max() < 60 / px and rgt.min() - mid < 60 / px:
            gaps.append(rgt.min() - lft.max() - 1)
    if not gaps:
        return None
    gaps = np.sort(gaps)
    return float(np.median(gaps[: max(1, len(gaps) // 2)])) * px  # the narrowest half


def shenton_offsets(labels: np.ndarray, ids: dict[str, int], px: float) -> dict[str, float]:
    """Shenton's line on each side of an AP pelvis: the femoral neck's inferior border
    against the arc of the superior ramus' inferior border (the obturator foramen's roof).
    Per side, the foramen roof's row at its lateral end, and the neck's inferior border 28 mm
    lateral of the head's centre (past the head): their height difference (mm, + the neck
    below the roof).
    A continuous line gives equal offsets on both sides; a displaced neck fracture or a
    dislocation changes the injured side's."""
    bone = np.isin(
        labels,
        [
            ids[n]
            for n in (
                "pubis",
                "ischium",
                "acetabulum",
                "ilium",
                "teardrop",
                "iliopectineal_line",
                "ilioischial_line",
            )
        ],
    )
    holes, n = ndimage.label(ndimage.binary_fill_holes(bone) & ~bone)
    femur = np.isin(labels, [ids["femur"], ids["femoral_head"], ids["fragment_distal"]])
    head = labels == ids["femoral_head"]
    if n == 0 or not femur.any():
        return {}
    W = labels.shape[1]
    out = {}
    for side, lo, hi, outward in (("image_right", W // 2, W, 1), ("image_left", 0, W // 2, -1)):
        h = holes.copy()
        h[:, :lo] = 0
        h[:, hi:] = 0
        hy, hx = np.nonzero(head[:, lo:hi])
        if not h.any() or not len(hy):
            continue
        sizes = ndimage.sum(h > 0, h, range(1, n + 1))
        k = int(np.argmax(sizes)) + 1
        ys, xs = np.nonzero(h == k)  # the obturator foramen
        lateral = xs.max() if outward > 0 else xs.min()
        near = np.abs(xs - lateral) <= round(5 / px)
        roof = ys[near].min()
        limit = int(hy.mean() + 40 / px)
        for mm in (28, 24, 32, 20, 36):  # past the head, on the neck
            col = int(hx.mean() + lo + outward * round(mm / px))
            f = np.flatnonzero(femur[:limit, col]) if 0 <= col < W else []
            if len(f):
                out[f"shenton_offset_{side}_mm"] = round(float(f.max() - roof) * px, 1)
                break
    return out


def pelvic_lines(labels: np.ndarray, ids: dict[str, int], px: float) -> dict[str, float]:
    """Per side of an AP pelvis (image left / right of the midline): how many pieces the
    iliopectineal and ilioischial lines show (1: continuous), and the teardrop distance
    (across from the teardrop's lateral edge to the femoral head's medial edge, mm; normal
    under ~11 mm, widened by an effusion or a head out of its socket)."""
    W = labels.shape[1]
    out: dict[str, float] = {}
    for side, lo, hi in (("image_left", 0, W // 2), ("image_right", W // 2, W)):
        sub = labels[:, lo:hi]
        for name in ("iliopectineal_line", "ilioischial_line"):
            m = (sub == ids[name]) | (sub == ids["teardrop"])  # both run by the teardrop
            m = ndimage.binary_closing(m, iterations=1)
            out[f"{name}_pieces_{side}"] = float(ndimage.label(m)[1])
        tear, head = sub == ids["teardrop"], sub == ids["femoral_head"]
        if tear.any() and head.any():
            t, h = np.nonzero(tear)[1], np.nonzero(head)[1]
            outward = h.mean() > t.mean()  # the head lies lateral of the teardrop
            gap = h.min() - t.max() - 1 if outward else t.min() - h.max() - 1
            out[f"teardrop_distance_{side}_mm"] = round(float(gap) * px, 1)
    return out
