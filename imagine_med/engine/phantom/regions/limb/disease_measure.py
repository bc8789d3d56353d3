"""Measurements of bone disease on limb films, from this variant's film and label map (and
for the hip's joint space, a fine label section of the built joint): cortical thickness
across a tube, patches of a label, joint gaps, the Kellgren-Lawrence grade from features."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from imagine_med.engine.phantom.regions.limb.anatomy import Wrist
from imagine_med.engine.phantom.regions.limb.disease import SUPEROLATERAL


def count_components(labels: np.ndarray, label_id: int, px: float, min_mm2: float = 1.0) -> int:
    """Separate patches of a label (8-connected) of at least `min_mm2`."""
    lab, n = ndimage.label(labels == label_id, np.ones((3, 3)))
    if n == 0:
        return 0
    sizes = ndimage.sum_labels(np.ones_like(lab), lab, range(1, n + 1)) * px * px
    return int((sizes >= min_mm2).sum())


def largest_radius_mm(labels: np.ndarray, label_id: int, px: float) -> float:
    """The largest patch's size as the radius of a half disc of its area (an osteophyte seen
    in profile): sqrt(2 A / pi)."""
    lab, n = ndimage.label(labels == label_id, np.ones((3, 3)))
    if n == 0:
        return 0.0
    area = float(ndimage.sum_labels(np.ones_like(lab), lab, range(1, n + 1)).max()) * px * px
    return float(np.sqrt(2 * area / np.pi))


def cortex_across(
    pixels: np.ndarray, labels: np.ndarray, ids: list[int], rows: np.ndarray, px: float
) -> dict[str, float] | None:
    """A tubular bone's width and cortex across image rows (the bone roughly vertical):
    the outer edges from the label map, the medullary canal's edges at the two brightest
    points inside (a tube's projection peaks where the ray grazes the canal: the chord
    through cortex is longest there). Combined cortex = width - canal."""
    img = ndimage.gaussian_filter(pixels.astype(np.float32), (2.5, 0.6))
    mask = np.isin(labels, ids)
    widths, canals = [], []
    for r in rows:
        cols = np.flatnonzero(mask[r])
        if len(cols) < 6:
            continue
        runs = np.split(cols, np.flatnonzero(np.diff(cols) > 1) + 1)
        run = max(runs, key=len)
        lo, hi = int(run[0]), int(run[-1])
        if hi - lo < 6:
            continue
        prof = _detrended(img[r], lo, hi)
        reach = max(2, int(0.45 * (hi - lo)))  # each cortex within the outer 45 %
        left = lo + int(np.argmax(prof[:reach]))
        right = hi - reach + int(np.argmax(prof[-reach - 1 :]))
        widths.append(hi - lo + 1)
        canals.append(max(right - left - 1, 0))
    if len(widths) < 3:
        return None
    w = float(np.median(widths)) * px
    c = float(np.median(canals)) * px
    return {
        "width_mm": round(w, 2),
        "canal_mm": round(c, 2),
        "cortex_mm": round((w - c) / 2, 2),
        "cortical_index": round((w - c) / w, 3),
    }


def _detrended(row: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """The profile across a bone, less the straight line through the soft tissue just
    outside it (the limb's thickness changes across the film)."""
    a, b = max(lo - 3, 0), min(hi + 3, len(row) - 1)
    base = np.interp(np.arange(lo, hi + 1), [a, b], [row[a], row[b]])
    return row[lo : hi + 1] - base


def midshaft_rows(
    labels: np.ndarray, label_id: int, lo: float = 0.4, hi: float = 0.6
) -> np.ndarray:
    rows = np.flatnonzero((labels == label_id).any(axis=1))
    if len(rows) == 0:
        return rows
    a, b = rows.min(), rows.max()
    return np.arange(int(a + lo * (b - a)), int(a + hi * (b - a)) + 1)


def kl_from(joint_space_mm: float, osteophyte_mm: float) -> int:
    """Kellgren-Lawrence grade from a hip's measured features: marked narrowing (bone on
    bone, < 0.8 mm) 4; definite narrowing (< 1.7 mm) 3; a definite osteophyte (>= 3.2 mm)
    2; a small one (lipping) 1; none 0."""
    if joint_space_mm < 0.8:
        return 4
    if joint_space_mm < 1.7:
        return 3
    if osteophyte_mm >= 3.2:
        return 2
    if osteophyte_mm > 0.5:
        return 1
    return 0


def joint_space_slab(
    limb: Wrist, side: str, px: float = 0.2, half_mm: float = 10.0
) -> float | None:
    """The hip's superolateral joint space (mm): label projections of the femur and of the
    acetabulum through a 2 mm coronal slab at the head's centre, 0.2 mm voxels over the
    weight-bearing part of the joint (a section: the AP film's 1.2 mm voxels cannot resolve
    a millimetre); along the weight-bearing direction and 10 deg either side, from the
    head's centre out, the gap from the head's edge to the roof's; the narrowest."""
    from imagine_med.engine.phantom.physics.radiography import Beam, VoxelGrid, project
    from imagine_med.engine.phantom.regions.limb.views import Geometry, axes, voxelise

    femur = limb.bone("femur")
    head = next(p for p in femur.parts if p.name == "femoral_head")
    r_head = 24.0 * limb.scale  # hip.py's head radius: where to look, not what is measured
    u, v, w = axes("ap", side, "hip")
    gc = head.centre + SUPEROLATERAL * r_head  # the field's centre: the joint
    n = int(2 * half_mm / px)
    depth = int(np.ceil(2.0 / px))
    wc = 500.0
    grid = VoxelGrid(px, n, n, depth, wc - depth * px / 2)
    geo = Geometry("ap", side, u, v, w, gc, grid, Beam(None), (n, n), px, px)
    maps = []
    for name in ("femur", "acetabulum"):
        blocks, cls = voxelise(geo, limb, None, only=(name,), labels_only=True)
        pr = project(blocks, cls.items, grid, geo.beam, (n, n), px, labels_only=True)
        maps.append(pr.labels > 0)
    fem, cup = maps
    c = (n - 1) / 2
    steps = np.arange(r_head - 0.7 * half_mm, r_head + 0.9 * half_mm, px / 2)
    best = None
    for deg in np.arange(-10.0, 10.5, 2.0):
        t = np.radians(deg)
        dx, dz = SUPEROLATERAL[0], SUPEROLATERAL[2]
        ray = np.array([dx * np.cos(t) - dz * np.sin(t), 0.0, dx * np.sin(t) + dz * np.cos(t)])
        pts = head.centre + steps[:, None] * ray - gc
        cols = np.clip(np.round(c + pts @ u / px).astype(int), 0, n - 1)
        rws = np.clip(np.round(c + pts @ v / px).astype(int), 0, n - 1)
        f_line, c_line = fem[rws, cols], cup[rws, cols]
        out_of_head = np.flatnonzero(~f_line)
        if not len(out_of_head) or out_of_head[0] == 0:
            continue
        edge = out_of_head[0]
        roof = np.flatnonzero(c_line[edge:])
        gap = float(steps[edge + roof[0]] - steps[edge]) if len(roof) else None
        if gap is not None and (best is None or gap < best):
            best = gap
    return None if best is None else round(best, 2)


def joint_gap_mm(labels: np.ndarray, a: int, b: int, px: float) -> float | None:
    """The narrowest gap between two labels (a joint space seen on the film)."""
    ma, mb = labels == a, labels == b
    if not ma.any() or not mb.any():
        return None
    ys, xs = np.nonzero(ma | mb)
    sl = (slice(max(ys.min() - 2, 0), ys.max() + 3), slice(max(xs.min() - 2, 0), xs.max() + 3))
    dist = ndimage.distance_transform_edt(~mb[sl])
    return round(float(dist[ma[sl]].min() - 1) * px, 2)
