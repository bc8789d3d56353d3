"""Radiograph renderer: cone-beam line integrals through the 3D model, then the detector.

Solids are integrated exactly (ray/quadric intervals) on a half-resolution ray grid and
upsampled; thin structures (ribs, vessels, airways, lines) are drawn at full resolution from
their projected centrelines with the path length a tube gives along each ray. Then physics:
Beer-Lambert, then the DR detector and its multi-frequency processing (physics/dr.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from scipy import ndimage

from imagine_med.engine.phantom.filters import gaussian_filter_fast
from imagine_med.engine.phantom.geometry import (
    Convex,
    Rays,
    Solid,
    Tubes,
    batchable,
    clip,
    convex_intervals,
)
from imagine_med.engine.phantom.labels import FINDINGS, LUNG_LABELS, label_id
from imagine_med.engine.phantom.materials import M
from imagine_med.engine.phantom.physics import dr
from imagine_med.engine.phantom.physics.radiography import CHEST, expose, resize
from imagine_med.engine.phantom.renderer_base import mask_box
from imagine_med.engine.phantom.scene import Component, Scene
from imagine_med.engine.phantom.textures import film_texture

_FINDING_NAMES = set(FINDINGS)


@dataclass
class View:
    """A point source and a flat detector; u runs to image right, v to image bottom."""

    name: str
    source: np.ndarray
    det_center: np.ndarray
    u: np.ndarray
    v: np.ndarray
    width: int
    height: int
    px: float  # detector pixel size, mm

    @property
    def normal(self) -> np.ndarray:
        n = self.det_center - self.source
        return n / np.linalg.norm(n)

    def project(self, p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n = self.normal
        w = p - self.source
        t = ((self.det_center - self.source) @ n) / (w @ n)
        q = self.source + t[:, None] * w
        rel = q - self.det_center
        uu = rel @ self.u / self.px + (self.width - 1) / 2
        vv = rel @ self.v / self.px + (self.height - 1) / 2
        return uu, vv, t

    def rays(self, scale: int, x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
        """Unit ray directions for the coarse grid cells [y0:y1, x0:x1] (cell = scale px)."""
        cx = (np.arange(x0, x1) + 0.5) * scale - 0.5 - (self.width - 1) / 2
        cy = (np.arange(y0, y1) + 0.5) * scale - 0.5 - (self.height - 1) / 2
        gx, gy = np.meshgrid(cx * self.px, cy * self.px)
        pts = (self.det_center[None, None, :] + gx[..., None] * self.u + gy[..., None] * self.v)
        d = pts.reshape(-1, 3) - self.source
        return d / np.linalg.norm(d, axis=1, keepdims=True)

    def ray_grid(self, scale: int, gw: int, gh: int) -> Rays:
        """`rays(scale, 0, 0, gw, gh)` on the (gh, gw) grid as `Rays`, worked per component
        (a row's and a column's offsets broadcast, no (N, 3) array): the same sums in the
        same order, so the same values, each component contiguous."""
        cx = ((np.arange(gw) + 0.5) * scale - 0.5 - (self.width - 1) / 2) * self.px
        cy = ((np.arange(gh) + 0.5) * scale - 0.5 - (self.height - 1) / 2) * self.px
        d = [(self.det_center[k] + cx[None, :] * self.u[k]) + (cy[:, None] * self.v[k])
             - self.source[k] for k in range(3)]
        norm = np.sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2])
        return Rays(*(c / norm for c in d))


def make_view(scene: Scene, view: str, width: int, height: int) -> View:
    L = scene.landmarks
    s = L["size"]
    body_w = 2 * (L["a_mid"] + 14 * s + L["fat"])
    top = L["z_apex"] + 70 * s
    bottom = min(L["z_dome_left"], L["z_dome_right"]) - 85 * s
    zc = (top + bottom) / 2
    if view == "lateral":
        sid, det_x = 1800.0, L["a_mid"] + 40 * s
        src = np.array([det_x - sid, 0.0, zc])
        det = np.array([det_x, 0.0, zc])
        u, v = np.array([0, -1.0, 0]), np.array([0, 0, -1.0])
        mag = sid / (sid - det_x)
        across = 2 * (L["b_mid"] + 14 * s + L["fat"]) * 1.35
    else:
        ap = view == "ap"
        sid = 1000.0 if ap else 1800.0
        det_y = -(L["b_mid"] + 30 * s) if ap else (L["b_mid"] + 30 * s)
        src = np.array([0.0, det_y + (sid if ap else -sid), zc])
        det = np.array([0.0, det_y, zc])
        u, v = np.array([1.0, 0, 0]), np.array([0, 0, -1.0])
        mag = sid / (sid - abs(det_y))
        across = body_w * 1.12
    px = max(across * mag / width, (top - bottom) * mag / height)
    return View(view, src, det, u, v, width, height, float(px))


CROP_SLACK = 0.1  # of a cell: rays that graze a box's projection, kept against rounding


class _RayCache:
    """All rays of the coarse grid, computed once per view; convex intervals of big solids
    (lung holes, heart, domes) are cached and sliced for every lobe that uses them."""

    def __init__(self, view: View, scale: int):
        self.view = view
        self.scale = scale
        self.gw = -(-view.width // scale)
        self.gh = -(-view.height // scale)
        self.rays = view.ray_grid(scale, self.gw, self.gh)
        self.store: dict[object, tuple[Convex, np.ndarray, np.ndarray]] = {}
        self.crops: dict[tuple[int, int], tuple] = {}  # keeps the bounds alive with the crop
        self.uses: dict[int, int] = {}  # pieces per quadric (shared ones go on the full grid)
        self.holes: set[int] = set()  # the counted solids' holes (a hole may be a piece too)
        self.wanted: dict[int, Box] = {}  # per quadric, the cells its pieces' crops cover

    def count_uses(self, solids: list[Solid]) -> None:
        """Count each quadric's pieces, and find the crops of every piece and hole of the
        solids in one projection (one per box costs more than the intervals of a small one)."""
        todo = {}
        for solid in solids:
            for piece in solid.pieces:
                for q in piece.quadrics:
                    self.uses[id(q)] = self.uses.get(id(q), 0) + 1
            self.holes.update(id(h) for h in solid.holes)
            for cv in (*solid.pieces, *solid.holes):
                todo[(id(cv.bounds[0]), id(cv.bounds[1]))] = cv.bounds
        for key, bounds, crop in zip(todo, todo.values(), self._crops(list(todo.values())),
                                     strict=True):
            self.crops[key] = (bounds, crop)
        for solid in solids:  # where each quadric is wanted: its pieces' crops together
            for piece in solid.pieces:
                crop = self.crop_of(piece.bounds)
                if crop is not None:
                    for q in piece.quadrics:
                        held = self.wanted.get(id(q))
                        self.wanted[id(q)] = crop if held is None else _union(held, crop)

    def crop_of(self, cv_bounds) -> tuple[int, int, int, int] | None:
        key = (id(cv_bounds[0]), id(cv_bounds[1]))
        hit = self.crops.get(key)
        if hit is None:
            hit = self.crops[key] = (cv_bounds, self._crops([cv_bounds])[0])
        return hit[1]

    def _crops(self, boxes: list) -> list[tuple[int, int, int, int] | None]:
        """The coarse-grid cells (x0, y0, x1, y1) whose rays can meet axis-aligned boxes
        (lo, hi): those whose centre lies within the box's projection (the hull of its
        corners' projections), give or take `CROP_SLACK` of a cell; None for a box between
        cell centres or off the grid. A ray outside has no length in the box."""
        if not boxes:
            return []
        lo = np.array([b[0] for b in boxes], float)
        hi = np.array([b[1] for b in boxes], float)
        pick = np.array([[x, y, z] for x in (0, 1) for y in (0, 1) for z in (0, 1)], bool)
        corners = np.where(pick[None], hi[:, None], lo[:, None]).reshape(-1, 3)
        uu, vv, _ = self.view.project(np.clip(corners, -3000, 3000))
        uu, vv = uu.reshape(-1, 8), vv.reshape(-1, 8)
        sc = self.scale
        # cell i's centre is at pixel (i + 0.5) sc - 0.5
        x0 = np.maximum(np.ceil((uu.min(axis=1) + 0.5) / sc - 0.5 - CROP_SLACK).astype(int), 0)
        x1 = np.minimum(np.floor((uu.max(axis=1) + 0.5) / sc - 0.5 + CROP_SLACK).astype(int)
                        + 1, self.gw)
        y0 = np.maximum(np.ceil((vv.min(axis=1) + 0.5) / sc - 0.5 - CROP_SLACK).astype(int), 0)
        y1 = np.minimum(np.floor((vv.max(axis=1) + 0.5) / sc - 0.5 + CROP_SLACK).astype(int)
                        + 1, self.gh)
        return [None if c[2] <= c[0] or c[3] <= c[1] else c
                for c in zip(x0.tolist(), y0.tolist(), x1.tolist(), y1.tolist(), strict=True)]

    def _quadric_on(self, q, crop) -> tuple[np.ndarray | None, np.ndarray | None]:
        """A shared quadric's `bounded_interval` on `crop`, worked once on the cells all its
        pieces' crops cover (the whole grid for a crop outside them) and sliced (None: an
        end unbounded on every ray there, as a fissure plane's or a floor's often is)."""
        x0, y0, x1, y1 = crop
        hit = self.store.get(id(q))
        if hit is not None:
            bx0, by0, bx1, by1 = hit[3]
            if not (bx0 <= x0 and by0 <= y0 and x1 <= bx1 and y1 <= by1):
                hit = None
        if hit is None:
            box = self.wanted.get(id(q), (0, 0, self.gw, self.gh))
            if not (box[0] <= x0 and box[1] <= y0 and x1 <= box[2] and y1 <= box[3]):
                box = (0, 0, self.gw, self.gh)
            bx0, by0, bx1, by1 = box
            s, e = q.bounded_interval(self.view.source, self.rays.crop(by0, by1, bx0, bx1))
            hit = self.store[id(q)] = (q, s, e, box)
        bx0, by0 = hit[3][0], hit[3][1]
        sl = (slice(y0 - by0, y1 - by0), slice(x0 - bx0, x1 - bx0))
        return (None if hit[1] is None else hit[1][sl]), (None if hit[2] is None else hit[2][sl])

    def hole_box(self, cv: Convex, hcrop, crop):
        """A hole's interval where its own box meets `crop` (integrated once per hole on its
        box, shared by every lobe it cuts): (slices into the crop, entry, exit)."""
        hs, he = self.interval(cv, hcrop, False, keep=True)
        x0, y0, x1, y1 = crop
        ax0, ay0 = max(x0, hcrop[0]), max(y0, hcrop[1])
        ax1, ay1 = min(x1, hcrop[2]), min(y1, hcrop[3])
        if ax1 <= ax0 or ay1 <= ay0:  # no cell in common: an empty box
            return (slice(0, 0), slice(0, 0)), hs[:0, :0], he[:0, :0]
        dst = (slice(ay0 - y0, ay1 - y0), slice(ax0 - x0, ax1 - x0))
        src = (slice(ay0 - hcrop[1], ay1 - hcrop[1]), slice(ax0 - hcrop[0], ax1 - hcrop[0]))
        return dst, hs[src], he[src]

    def _shared_interval(self, cv: Convex, crop) -> tuple[np.ndarray, np.ndarray]:
        """A big convex's interval on its crop: its shared quadrics' whole-grid results
        sliced, then its own quadrics only on the box where those leave a length (a lobe's
        crop is its side's, and its fissures leave it a fifth of it). Off that box the
        length is nought either way (an intersection only narrows), so the entry and exit
        differ from a full computation only where no length is left."""
        x0, y0, x1, y1 = crop
        s = np.zeros((y1 - y0, x1 - x0))
        e = np.full((y1 - y0, x1 - x0), 1e9)
        own = []
        for q in cv.quadrics:
            if self.uses.get(id(q), 0) > 1:  # shared: once for all its pieces
                clip(s, e, *self._quadric_on(q, crop))
            else:
                own.append(q)
        if own:
            box = mask_box(e > s)
            if box is not None:
                r0, r1, c0, c1 = box
                rays = self.rays.crop(y0 + r0, y0 + r1, x0 + c0, x0 + c1)
                for q in own:  # this piece's own: on the box only (the same values there)
                    clip(s[r0:r1, c0:c1], e[r0:r1, c0:c1],
                         *q.bounded_interval(self.view.source, rays))
        return s, e

    def interval(self, cv: Convex, crop, big: bool, keep: bool = False):
        """Interval of a convex on the crop; big convexes reuse per-quadric full-grid results
        (lobes share their envelope, fissure planes and floor). A hole's (`keep`, or a counted
        solid's hole met as a piece of another: the body's surface) is kept per crop."""
        x0, y0, x1, y1 = crop
        if big and any(self.uses.get(id(q), 0) > 1 for q in cv.quadrics):
            return self._shared_interval(cv, crop)
        if not (keep or id(cv) in self.holes):
            return cv.interval(self.view.source, self.rays.crop(y0, y1, x0, x1))
        key = ("convex", id(cv), crop)  # the entry keeps cv alive, so its id stays its own
        hit = self.store.get(key)
        if hit is None:
            hit = self.store[key] = (cv, *cv.interval(self.view.source,
                                                      self.rays.crop(y0, y1, x0, x1)))
        return hit[1], hit[2]


def solid_lengths(solid: Solid, cache: _RayCache) -> np.ndarray:
    """Path length (mm) through a CSG solid on the coarse grid."""
    return solid_lengths_boxed(solid, cache)[0]


def solid_lengths_boxed(solid: Solid, cache: _RayCache
                        ) -> tuple[np.ndarray, tuple[slice, slice]]:
    """`solid_lengths`, with the slices of the grid outside which every length is nought
    (its pieces' crops together; empty slices for a solid off the grid), so that a film sums
    a small solid's share on its own box only."""
    out = np.zeros((cache.gh, cache.gw))
    area = cache.gw * cache.gh
    crops = [cache.crop_of(piece.bounds) for piece in solid.pieces]
    held = [c for c in crops if c is not None]
    if held:
        bx = held[0] if len(held) == 1 else _union_all(held)
        box = (slice(bx[1], bx[3]), slice(bx[0], bx[2]))
    else:
        box = (slice(0, 0), slice(0, 0))
    batch = _small_pieces(solid, crops, cache)
    holes = _hole_table(solid, cache)
    for piece, crop in zip(solid.pieces, crops, strict=True):
        if crop is None:
            continue
        x0, y0, x1, y1 = crop
        big = (x1 - x0) * (y1 - y0) > SMALL_PIECE_SHARE * area
        s, e = batch[id(piece)] if id(piece) in batch else cache.interval(piece, crop, big)
        length = np.maximum(e - s, 0.0)
        hit = mask_box(length) if solid.holes else None
        if hit is not None:
            # the holes are worked out only where the piece has length (elsewhere they take
            # nothing from nothing), each box kept where it meets the piece's whole crop, so
            # that each ray's sweep sees the same holes as it would on that crop
            r0, r1, c0, c1 = hit
            sub = (x0 + c0, y0 + r0, x0 + c1, y0 + r1)
            boxes = []
            plo, phi = piece.bounds
            hlo, hhi, hcrops = holes
            apart = ((hlo > phi) | (hhi < plo)).any(axis=1).tolist()  # boxes that miss
            for h, hcrop, off in zip(solid.holes, hcrops, apart, strict=True):
                if off or hcrop is None:
                    continue
                if not (hcrop[0] < x1 and hcrop[2] > x0 and hcrop[1] < y1 and hcrop[3] > y0):
                    continue
                boxes.append(cache.hole_box(h, hcrop, sub))
            if boxes:
                part = (slice(r0, r1), slice(c0, c1))
                length[part] = length[part] - _covered(boxes, s[part], e[part])
        out[y0:y1, x0:x1] += np.maximum(length, 0.0)
    return out, box


def _union_all(crops: list[Box]) -> Box:
    """The smallest (x0, y0, x1, y1) holding every crop."""
    return (min(c[0] for c in crops), min(c[1] for c in crops), max(c[2] for c in crops),
            max(c[3] for c in crops))


def _hole_table(solid: Solid, cache: _RayCache) -> tuple[np.ndarray, np.ndarray, list]:
    """A solid's holes' boxes (lo and hi as (n, 3) rows) and crops, once per solid: each
    piece tests all holes' boxes against its own in one pass."""
    if not solid.holes:
        return np.zeros((0, 3)), np.zeros((0, 3)), []
    lo = np.array([h.bounds[0] for h in solid.holes], float)
    hi = np.array([h.bounds[1] for h in solid.holes], float)
    return lo, hi, [cache.crop_of(h.bounds) for h in solid.holes]


SMALL_PIECE_SHARE = 0.2  # a piece whose crop covers more of the grid is "big" (`interval`)
# fewest small pieces worth one batch: timed on PA films at 512 px, 16 and 32 pieces (the
# vertebral bodies, the pedicles) take ~0.6 and ~0.35 of the time piece by piece, while 2 or
# 3 pieces take 1.2-4x as long (the batch's fixed cost)
MIN_BATCH = 8


def _small_pieces(solid: Solid, crops: list, cache: _RayCache) -> dict[int, tuple]:
    """Entry/exit on their crops of a solid's small pieces, all in one batch when it has
    many (`convex_intervals`: the same values as each piece's `interval`, in a few numpy
    passes rather than a few per quadric); {} when there is nothing to batch. Big pieces and
    a counted solid's holes go through `_RayCache.interval` (shared and kept results)."""
    area = cache.gw * cache.gh
    todo = [(piece, crop) for piece, crop in zip(solid.pieces, crops, strict=True)
            if crop is not None and (crop[2] - crop[0]) * (crop[3] - crop[1])
            <= SMALL_PIECE_SHARE * area and id(piece) not in cache.holes and batchable(piece)]
    if len(todo) < MIN_BATCH:
        return {}
    gw = cache.gw
    flat = [(np.arange(y0, y1)[:, None] * gw + np.arange(x0, x1)).ravel()
            for _p, (x0, y0, x1, y1) in todo]
    counts = [len(f) for f in flat]
    s, e = convex_intervals([p for p, _c in todo], cache.view.source,
                            cache.rays.take(np.concatenate(flat)), counts)
    out, at = {}, 0
    for (piece, (x0, y0, x1, y1)), n in zip(todo, counts, strict=True):
        shape = (y1 - y0, x1 - x0)
        out[id(piece)] = (s[at: at + n].reshape(shape), e[at: at + n].reshape(shape))
        at += n
    return out


def _covered(boxes: list, s: np.ndarray, e: np.ndarray) -> np.ndarray:
    """Length of the union of hole intervals (each clipped to the piece's [s, e]) per ray,
    each hole worked on its own box only. Rays that meet two or more holes are swept over
    only the holes they meet (`_union_on_rays`), not over every box of the piece."""
    total = np.zeros(s.shape)
    if len(boxes) == 1:
        dst, a, b = boxes[0]
        total[dst] = np.maximum(np.minimum(b, e[dst]) - np.maximum(a, s[dst]), 0.0)
        return total
    hits = np.zeros(s.shape, np.int16)
    clipped = []
    for dst, a, b in boxes:
        lo = np.maximum(a, s[dst])
        hi = np.minimum(b, e[dst])
        ln = np.subtract(hi, lo)
        on = ln > 0
        np.maximum(ln, 0.0, out=ln)
        total[dst] += ln
        hits[dst] += on
        clipped.append((dst, lo, hi, on))
    multi = hits >= 2
    if not multi.any():
        return total
    flat_at = np.arange(s.size).reshape(s.shape)  # each ray's flat index
    rays, los, his = [], [], []
    for dst, lo, hi, on in clipped:
        pick = on & multi[dst]
        rays.append(flat_at[dst][pick])  # np.nonzero's rays, in its (row-major) order
        los.append(lo[pick])
        his.append(hi[pick])
    ray = np.concatenate(rays)
    flat = total.ravel()
    at = np.flatnonzero(multi.ravel())
    flat[at] = _union_on_rays(ray, np.concatenate(los), np.concatenate(his), flat.size)[at]
    return total


def _union_on_rays(ray: np.ndarray, lo: np.ndarray, hi: np.ndarray, n: int) -> np.ndarray:
    """Per ray (0..n-1), the length covered by its intervals [lo, hi) (each of positive
    length, listed as (ray, lo, hi) in any order): one sort of all of them at once, each
    ray's intervals kept apart by an offset of `span` per ray (wider than any interval's
    reach), so one running maximum of the exits serves every ray (`union_length`'s sweep)."""
    base = float(lo.min())
    span = float(np.ceil(hi.max() - base)) + 1.0
    off = ray * span - base
    S, E = lo + off, hi + off
    order = np.argsort(S, kind="stable")
    S, E = S[order], E[order]
    prev = np.maximum.accumulate(E)
    seg = np.empty(len(S))
    seg[0] = E[0] - S[0]
    np.subtract(E[1:], np.maximum(S[1:], prev[:-1]), out=seg[1:])
    np.maximum(seg, 0.0, out=seg)
    return np.bincount(ray[order], seg, minlength=n)


_resize = resize  # the shared projection physics' resampler
_NEAREST: dict[tuple[int, int, int, int], tuple[np.ndarray, np.ndarray]] = {}


def _nearest(img: np.ndarray, H: int, W: int) -> np.ndarray:
    """Nearest-neighbour upsampling, the same pixels as PIL's NEAREST resize (its source row
    and column per output pixel, read once from PIL per grid size), by fancy indexing: the
    label map and every mask of a film need it, and PIL's round trip costs more."""
    h, w = img.shape
    if (h, w) == (H, W):
        return img
    key = (h, w, H, W)
    if key not in _NEAREST:
        rows = resize(np.arange(h, dtype=np.int32)[:, None].repeat(w, 1), H, W, nearest=True)
        cols = resize(np.arange(w, dtype=np.int32)[None, :].repeat(h, 0), H, W, nearest=True)
        _NEAREST[key] = (rows[:, 0].copy(), cols[0].copy())
    r, c = _NEAREST[key]
    # columns on the small grid first, then rows (whole rows copied): two gathers beat one
    # 2-D one, and this order beats rows first (~0.8 of its time on 171 -> 512)
    return np.take(img, c, axis=1)[r]


def _nearest_masks(coarse: dict[str, np.ndarray], H: int, W: int) -> dict[str, np.ndarray]:
    """`_nearest` of each boolean mask (each its own new array), eight at a time: packed as
    the bits of one uint8 grid, upsampled once and unpacked. The same pixels, as a nearest
    resampling only moves values; a film has ~25 masks, and one gather per mask cost more."""
    names = list(coarse)
    out: dict[str, np.ndarray] = {}
    for at in range(0, len(names), 8):
        group = names[at: at + 8]
        packed = np.zeros(coarse[group[0]].shape, np.uint8)
        for bit, name in enumerate(group):
            packed |= coarse[name].view(np.uint8) << np.uint8(bit)
        full = _nearest(packed, H, W)
        for bit, name in enumerate(group):
            plane = np.right_shift(full, np.uint8(bit))
            plane &= np.uint8(1)
            out[name] = plane.view(bool)
    return out


def draw_tubes(t: Tubes, view: View, outline: bool = False
               ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """Full-resolution path-length image (mm) of a tube set, its outline image (cortical
    edges, when asked) and its footprint mask."""
    W, H = view.width, view.height
    box, img, edge, _mask = tube_box(t, view, outline)
    arr = np.zeros((H, W), np.float32)
    edges = np.zeros((H, W), np.float32) if outline else None
    if box is not None:
        sl = _box_slices(box)
        arr[sl] = img
        if edges is not None and edge is not None:
            edges[sl] = edge
    return arr, edges, arr > 0


Box = tuple[int, int, int, int]  # x0, y0, x1, y1 on the film


def _box_slices(box: Box) -> tuple[slice, slice]:
    return slice(box[1], box[3]), slice(box[0], box[2])


def _union(a: Box, b: Box) -> Box:
    return min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])


THIN_PX = 1.4  # projected radius (px) under which a tube is splatted along its centreline
BLUR_TRUNCATE = 3.0  # tube profiles' Gaussian softening: kernel radius in sigmas


def _blur_box(img: np.ndarray, box: Box, sigma: float) -> tuple[tuple[slice, slice], np.ndarray]:
    """The Gaussian blur (reflecting edges) of an image that is zero outside `box`, worked
    on the box grown by the kernel's radius only: the same values, since every pixel read
    past that margin, or reflected back into it, is zero, and the blur is zero beyond it.
    Returns the grown box's slices and the blur there."""
    r = int(BLUR_TRUNCATE * float(sigma) + 0.5)  # scipy's kernel radius
    H, W = img.shape
    sl = _box_slices((max(box[0] - r, 0), max(box[1] - r, 0), min(box[2] + r, W),
                      min(box[3] + r, H)))
    return sl, gaussian_filter_fast(np.asarray(img[sl], np.float32), sigma,
                                    truncate=BLUR_TRUNCATE)


def tube_box(t: Tubes, view: View, outline: bool = False
             ) -> tuple[Box | None, np.ndarray, np.ndarray | None, np.ndarray]:
    """A tube set drawn on the film's box that holds it (None: nothing on the film): its
    path-length image (mm), outline image (cortical edges, when asked) and footprint mask
    on that box. The rest of the film is zero, so the film's arithmetic runs on the box."""
    W, H = view.width, view.height
    empty = np.zeros((0, 0), np.float32)
    if not len(t):
        return None, empty, None, empty > 0
    u0, v0, m0 = view.project(t.p0)
    u1, v1, m1 = view.project(t.p1)
    rho0 = t.r0 * m0 / view.px
    rho1 = t.r1 * m1 / view.px
    rmax = np.maximum(rho0, rho1)
    inside = ((np.maximum(u0, u1) > -4) & (np.minimum(u0, u1) < W + 4)
              & (np.maximum(v0, v1) > -4) & (np.minimum(v0, v1) < H + 4))
    on = np.flatnonzero(inside)
    if not len(on):
        return None, empty, None, empty > 0
    # the box: every drawn tube with its radius and a few pixels (PIL rounds each vertex to
    # a whole pixel, so a whole-pixel shift of the box draws the same pixels)
    reach = np.maximum(rmax[on], 0.5) + 3
    x0 = _clamp(np.floor(np.minimum(u0, u1)[on] - reach).min(), 0, W - 1)
    x1 = _clamp(np.ceil(np.maximum(u0, u1)[on] + reach).max() + 1, x0 + 1, W)
    y0 = _clamp(np.floor(np.minimum(v0, v1)[on] - reach).min(), 0, H - 1)
    y1 = _clamp(np.ceil(np.maximum(v0, v1)[on] + reach).max() + 1, y0 + 1, H)
    box = (x0, y0, x1, y1)
    if t.adds:  # a vessel tree: overlapping branches add, each chain's joints counted once
        if len(on) < len(t):
            t, u0, v0, u1, v1, m0, m1 = t.subset(on), *(a[on] for a in (u0, v0, u1, v1, m0, m1))
        arr, mask = _splat_round(t, view, u0, v0, u1, v1, m0, m1, box)
        return box, arr, np.zeros_like(arr) if outline else None, mask
    seg = t.p1 - t.p0
    L = np.linalg.norm(seg, axis=1)
    mid = (t.p0 + t.p1) / 2 - view.source
    mid /= np.linalg.norm(mid, axis=1, keepdims=True)
    sin = np.linalg.norm(_cross_rows(seg / np.maximum(L, 1e-6)[:, None], mid), axis=1)
    rmean = (t.r0 + t.r1) / 2
    k = np.minimum(1.0 / np.maximum(sin, 1e-3), (L + 2 * rmean) / (2 * rmean))
    k = np.where(L < 1e-6, 1.0, k)
    val = np.pi * rmean / 2 * k
    if t.depth is not None:  # a flat section: thinner along the beam than it is wide
        val = val * t.depth
    du, dv = u1 - u0, v1 - v0
    pl = np.hypot(du, dv)
    nu = np.where(pl > 1e-6, -dv / np.maximum(pl, 1e-6), 0.0)
    nv = np.where(pl > 1e-6, du / np.maximum(pl, 1e-6), 1.0)
    thin = inside & (rmax < THIN_PX)
    splat = _splat_thin(u0[thin], v0[thin], u1[thin], v1[thin], pl[thin],
                        val[thin] * 2 * rmax[thin], box)
    wide = np.flatnonzero(inside & ~thin)
    if len(wide):
        arr, edges = _draw_wide(wide, u0, v0, u1, v1, rho0, rho1, val, pl, nu, nv, box,
                                outline)
    else:
        arr = np.zeros((y1 - y0, x1 - x0), np.float32)
        edges = np.zeros_like(arr) if outline else None
    mask = arr > 0
    if splat is not None:
        arr = np.maximum(arr, splat[0])  # thin tubes: same overwrite rule as the drawn ones
        mask |= splat[1]
    return box, arr, edges, mask


def _clamp(v: float, lo: int, hi: int) -> int:
    """int(np.clip(v, lo, hi)) for one finite number, without np.clip's array round trip
    (~20 us a call, four per tube set)."""
    return int(min(max(float(v), lo), hi))


def _cross_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """np.cross of (N, 3) rows by its own products and differences (a1 b2 - a2 b1, ...),
    without its general axis handling (~0.3 ms a call, one per tube set)."""
    out = np.empty(np.broadcast_shapes(a.shape, b.shape))
    for k, (i, j) in enumerate(((1, 2), (2, 0), (0, 1))):
        np.multiply(a[:, i], b[:, j], out=out[:, k])
        out[:, k] -= a[:, j] * b[:, i]
    return out


def _round_lengths(t: Tubes, view: View, box: Box, cores: tuple[np.ndarray, np.ndarray]
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Path lengths through round tubes and through their cores (radii `cores` at p0, p1,
    same axes) on `box` (the whole tubes' box), each with a round section's profile,
    2 r sqrt(1 - (d / rho)^2) at a pixel d from the projected axis (rho the projected
    radius, both interpolated along the tube; round end caps), times the obliquity and
    flatness `tube_box` applies, where `tube_box` draws a flat band of the mean chord: the
    same mean path, thickest on the axis. Where tubes meet, the larger path is kept
    (tube_box's drawing overwrites)."""
    shape = (box[3] - box[1], box[2] - box[0])
    whole, core = np.zeros(shape, np.float32), np.zeros(shape, np.float32)
    u0, v0, m0 = view.project(t.p0)
    u1, v1, m1 = view.project(t.p1)
    seg = t.p1 - t.p0
    L = np.linalg.norm(seg, axis=1)
    mid = (t.p0 + t.p1) / 2 - view.source
    mid /= np.linalg.norm(mid, axis=1, keepdims=True)
    sin = np.linalg.norm(np.cross(seg / np.maximum(L, 1e-6)[:, None], mid), axis=1)
    rmean = (t.r0 + t.r1) / 2
    k = np.where(L < 1e-6, 1.0, np.minimum(1.0 / np.maximum(sin, 1e-3),
                                           (L + 2 * rmean) / (2 * rmean)))
    if t.depth is not None:
        k = k * t.depth
    H, W = shape
    for i in range(len(t)):
        reach = max(t.r0[i] * m0[i], t.r1[i] * m1[i]) / view.px + 1
        xa = max(int(np.floor(min(u0[i], u1[i]) - reach)) - box[0], 0)
        xb = min(int(np.ceil(max(u0[i], u1[i]) + reach)) + 1 - box[0], W)
        ya = max(int(np.floor(min(v0[i], v1[i]) - reach)) - box[1], 0)
        yb = min(int(np.ceil(max(v0[i], v1[i]) + reach)) + 1 - box[1], H)
        if xa >= xb or ya >= yb:
            continue
        x = np.arange(xa + box[0], xb + box[0], dtype=np.float32)[None, :] - u0[i]
        y = np.arange(ya + box[1], yb + box[1], dtype=np.float32)[:, None] - v0[i]
        du, dv = u1[i] - u0[i], v1[i] - v0[i]
        f = np.clip((x * du + y * dv) / max(du * du + dv * dv, 1e-9), 0.0, 1.0)
        d2 = (x - f * du) ** 2 + (y - f * dv) ** 2
        mag = (m0[i] + f * (m1[i] - m0[i])) / view.px  # mm to pixels along the tube
        for out, (ra, rb) in ((whole, (t.r0[i], t.r1[i])), (core, (cores[0][i], cores[1][i]))):
            r = ra + f * (rb - ra)
            rho2 = np.maximum(r * mag, 1e-3) ** 2
            chord = (2 * k[i]) * r * np.sqrt(np.clip(1.0 - d2 / rho2, 0.0, None))
            np.maximum(out[ya:yb, xa:xb], chord, out=out[ya:yb, xa:xb])
    return whole, core


def _round_shell(t: Tubes, view: View, box: Box, shell_mm: float
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Path lengths through a long bone's whole section and through its marrow core, both
    with a round section's profile: the cortex between them peaks softly at the core's edge
    and the marrow fills the middle (flat bands drew a hollow tube: two rims round a step).
    The cortex is `shell_mm` thick at the set's waist (its narrowest tube) and thins as the
    bone widens, keeping its cross-section's area (the ends of a long bone are cancellous
    within a thin cortex)."""
    waist = float(np.minimum(t.r0, t.r1).min())
    cores = [np.maximum(r - shell_mm * waist / np.maximum(r, 1e-6), 0) for r in (t.r0, t.r1)]
    return _round_lengths(t, view, box, (cores[0], cores[1]))


def _draw_wide(wide, u0, v0, u1, v1, rho0, rho1, val, pl, nu, nv, crop, outline: bool
               ) -> tuple[np.ndarray, np.ndarray | None]:
    """The tubes over ~3 px across as filled quadrilaterals (plus round caps) on the box
    `crop` (x0, y0, x1, y1); their outlines as one-pixel lines when asked. The corners are
    worked out for all tubes at once (numpy's float64 arithmetic, operation for operation
    what Python floats would give) and drawn through PIL's drawing core (what ImageDraw's
    polygon, ellipse and line call, without their per-call argument handling)."""
    x0, y0, x1, y1 = crop
    img = Image.new("F", (x1 - x0, y1 - y0), 0.0)
    core = ImageDraw.Draw(img).draw
    edge = Image.new("F", (x1 - x0, y1 - y0), 0.0) if outline else None
    edge_core = ImageDraw.Draw(edge).draw if edge is not None else None
    u0, v0, u1, v1, rho0, rho1, val, pl, nu, nv = (
        a[wide] for a in (u0, v0, u1, v1, rho0, rho1, val, pl, nu, nv))
    a0, a1 = np.maximum(rho0, 0.5), np.maximum(rho1, 0.5)
    r = np.maximum(a0, a1)
    dot = np.stack([u0 - r - x0, v0 - r - y0, u0 + r - x0, v0 + r - y0], axis=1).tolist()
    cap = np.stack([u1 - a1 - x0, v1 - a1 - y0, u1 + a1 - x0, v1 + a1 - y0], axis=1).tolist()
    corners = np.stack([u0 + nu * a0 - x0, v0 + nv * a0 - y0, u1 + nu * a1 - x0,
                        v1 + nv * a1 - y0, u1 - nu * a1 - x0, v1 - nv * a1 - y0,
                        u0 - nu * a0 - x0, v0 - nv * a0 - y0], axis=1).tolist()
    is_dot, has_cap = (pl < 0.7).tolist(), (a1 > 1.5).tolist()
    has_edge = (a0 > 2.0).tolist() if edge_core is not None else [False] * len(wide)
    one = edge_core.draw_ink(1.0) if edge_core is not None else None
    polygon, ellipse = core.draw_polygon, core.draw_ellipse
    lines = edge_core.draw_lines if edge_core is not None else None
    for ink, is_d, d, c, has_c, cp, has_e in zip(_inks(val), is_dot, dot, corners, has_cap,
                                                 cap, has_edge, strict=True):
        if is_d:
            ellipse(d, ink, 1)
            continue
        polygon(c, ink, 1)  # x0, y0, ..., x3, y3: the drawing core reads a flat list as points
        if has_c:
            ellipse(cp, ink, 1)
        if has_e:
            lines(c[:4], one, 1)
            lines(c[4:], one, 1)
    return _pixels(img), _pixels(edge) if edge is not None else None


def _inks(values: np.ndarray) -> list[int]:
    """The drawing core's inks for an "F" image's values, all at once: each value's float32
    bits as a signed 32-bit integer, which is what `draw_ink` returns for one value."""
    return np.asarray(values, np.float64).astype(np.float32).view(np.int32).tolist()


def _pixels(img: Image.Image) -> np.ndarray:
    """An "F" image's pixels, read-only as np.asarray gives them, from its bytes at once
    (asarray's array interface copies them twice)."""
    return np.frombuffer(img.tobytes(), np.float32).reshape(img.height, img.width)


# Lung parenchyma on a film: density fluctuations with a 1/f^beta power spectrum (beta ~3, as
# measured for anatomical backgrounds in radiographs), their line-integral standard deviation
# growing as the square root of the lung path (independent fluctuations add in variance)
LUNG_TEXTURE_BETA = 3.0
LUNG_TEXTURE_SD = 0.05  # line-integral sd behind 100 mm of lung
LUNG_TEXTURE_SEED = 23
LUNG_TEXTURE_MAX_MM = 12.0  # largest scale with its own power: a secondary lobule or two


def _lung_sum(lengths: dict[str, np.ndarray]) -> np.ndarray | None:
    """The lobes' path lengths summed (np.sum(parts, axis=0)'s additions, in its order,
    without stacking them first); None where no lobe was drawn."""
    parts = [lengths[n] for n in LUNG_LABELS if n in lengths]
    if not parts:
        return None
    lung = parts[0].copy()
    for p in parts[1:]:
        lung += p
    return lung


def _lung_texture(lengths: dict[str, np.ndarray], scene: Scene, view: View, H: int, W: int,
                  lung: np.ndarray | None = None) -> np.ndarray:
    """The parenchyma's texture on the film (`lung`: `_lung_sum(lengths)`, when the caller
    has it already)."""
    if lung is None:
        lung = _lung_sum(lengths)
    if lung is None:
        return np.zeros((H, W), np.float32)
    seed = int(scene.params.get("tex_seed", 0)) * 31 + LUNG_TEXTURE_SEED
    # drawn on the film's grid, in mm units across views, so a pixel size change does not
    # change the texture's look
    f_min = view.px / LUNG_TEXTURE_MAX_MM  # cycles per pixel
    field = dr.power_law_field((H, W), LUNG_TEXTURE_BETA, seed, f_min)
    # the field has unit variance over the scales this pixel size resolves; a 1/f^3 field's
    # variance between 1/MAX_MM and the Nyquist frequency grows as MAX_MM - 2 px, so coarser
    # pixels (which average the finest scales away) get proportionally less
    res = np.sqrt(max(LUNG_TEXTURE_MAX_MM - 2 * view.px, 0.0) / (LUNG_TEXTURE_MAX_MM - 0.8))
    # SD * res * sqrt(clip(lung) / 100) * field, in float32 on one full-frame array (a
    # texture needs no more)
    amp = np.clip(_resize(lung.astype(np.float32), H, W), np.float32(0), None)
    amp /= np.float32(100.0)
    np.sqrt(amp, out=amp)
    amp *= np.float32(LUNG_TEXTURE_SD * res)
    amp *= field
    return amp


# Cancellous bone on a film: plates and rods 0.5-1.5 mm apart, which a chest film's ~1 mm
# resolution blurs into a coarse network of bright strands 1-3 mm apart (the "trabecular
# pattern" of the humeral head, ribs and scapula). Drawn as ridged band-limited noise: the zero
# crossings of a field whose power lies between BONE_TEXTURE_MM become thin bright strands
# (bounded: no dark pits, which would read as lytic holes).
BONE_TEXTURE_MM = (1.6, 5.0)
BONE_TEXTURE_SEED = 29
BONE_TEXTURE_TILE = 256  # pixels: a periodic tile repeated over the film (cheap; its repeat
# lies under different bones, so it is not seen)


def _bone_texture(scene: Scene, view: View, H: int, W: int) -> np.ndarray:
    """Zero-mean, unit-sd trabecular network for the film (multiplies bone density)."""
    n = min(BONE_TEXTURE_TILE, max(H, W))
    seed = int(scene.params.get("tex_seed", 0)) * 31 + BONE_TEXTURE_SEED
    rng = np.random.default_rng(seed)
    f = np.hypot(np.fft.fftfreq(n)[:, None], np.fft.rfftfreq(n)[None, :]) / view.px  # 1/mm
    lo, hi = 1 / BONE_TEXTURE_MM[1], 1 / BONE_TEXTURE_MM[0]
    amp = ((f >= lo) & (f <= hi)).astype(np.float32)
    # (re + i im) * amp, each part's product written straight in (the same values: only the
    # signs of the zeros outside the band can differ, which no sum of the transform sees)
    spec = np.empty(amp.shape, np.complex128)
    np.multiply(rng.standard_normal(amp.shape), amp, out=spec.real)
    np.multiply(rng.standard_normal(amp.shape), amp, out=spec.imag)
    field = np.fft.irfft2(spec, s=(n, n)).astype(np.float32)
    field /= field.std() + 1e-12
    ridge = np.exp(-np.square(field / np.float32(0.5)))  # bright strands at zero crossings
    ridge = ndimage.gaussian_filter(ridge, 0.5 / view.px, mode="wrap")  # strands ~1 mm wide
    ridge -= ridge.mean()
    ridge /= ridge.std() + 1e-12
    reps = (-(-H // n), -(-W // n))
    return np.tile(ridge, reps)[:H, :W]


def _add_mask(masks: dict[str, np.ndarray], comp: Component, name: str, m: np.ndarray
              ) -> None:
    for key in (name, comp.mask_as):
        if key is not None:
            masks[key] = masks[key] | m if key in masks else m.copy()


def _add_box_mask(masks: dict[str, np.ndarray], comp: Component, name: str,
                  sl: tuple[slice, slice], m: np.ndarray, shape: tuple[int, int]) -> None:
    """`_add_mask` for a mask that is empty outside the box `sl`."""
    for key in (name, comp.mask_as):
        if key is not None:
            if key not in masks:
                masks[key] = np.zeros(shape, bool)
            masks[key][sl] |= m


def _summed_area(where: np.ndarray) -> np.ndarray:
    sat = np.zeros((where.shape[0] + 1, where.shape[1] + 1), np.int32)
    sat[1:, 1:] = where.cumsum(0, dtype=np.int32).cumsum(1, dtype=np.int32)
    return sat


def _meets(t: Tubes, view: View, sat: np.ndarray) -> np.ndarray:
    """Per tube: does its projected box (with its radius and a pixel) hold any pixel of the
    mask whose summed-area table is `sat`? Tubes that do not could only be drawn where they
    are multiplied by zero."""
    H, W = sat.shape[0] - 1, sat.shape[1] - 1
    u0, v0, m0 = view.project(t.p0)
    u1, v1, m1 = view.project(t.p1)
    r = np.maximum(t.r0 * m0, t.r1 * m1) / view.px + 2
    x0 = np.clip(np.floor(np.minimum(u0, u1) - r), 0, W).astype(int)
    x1 = np.clip(np.ceil(np.maximum(u0, u1) + r) + 1, 0, W).astype(int)
    y0 = np.clip(np.floor(np.minimum(v0, v1) - r), 0, H).astype(int)
    y1 = np.clip(np.ceil(np.maximum(v0, v1) + r) + 1, 0, H).astype(int)
    return (sat[y1, x1] - sat[y0, x1] - sat[y1, x0] + sat[y0, x0]) > 0


def _splat_thin(u0, v0, u1, v1, plen, mass_per_px, box: Box
                ) -> tuple[np.ndarray, np.ndarray] | None:
    """Thin tubes (under ~3 px across) deposited as samples a pixel apart along their
    projected centrelines, all at once, each shared between its four nearest pixels by its
    sub-pixel position (bilinear weights): the integrated density per unit length is kept and
    a pixel receives the share of the tube's cross-section that falls on it, so a vessel
    finer than a pixel keeps its true density without the stair-steps of whole-pixel
    rounding. Returned on `box` (which holds every sample on the film), with the footprint
    (the pixels the centrelines cross) for the labels."""
    if len(u0) == 0:
        return None
    n = np.maximum(np.ceil(plen).astype(int), 1)
    owner = np.repeat(np.arange(len(u0)), n)
    frac = (np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n) + 0.5) / n[owner]
    x0, y0, x1, y1 = box
    bw, bh = x1 - x0, y1 - y0
    uu = u0[owner] + frac * (u1 - u0)[owner] - x0
    vv = v0[owner] + frac * (v1 - v0)[owner] - y0
    w = (mass_per_px * np.maximum(plen, 0.5) / n)[owner]
    xi, yi = np.floor(uu).astype(int), np.floor(vv).astype(int)
    ok = (xi >= -1) & (xi < bw) & (yi >= -1) & (yi < bh)
    ax, ay, w = uu[ok] - xi[ok], vv[ok] - yi[ok], w[ok]
    # on the box with a one-pixel margin all round, so every sample's four pixels are on it
    pw = bw + 2
    at = (yi[ok] + 1) * pw + xi[ok] + 1
    wx = w * ax
    flat = np.bincount(np.concatenate([at, at + 1, at + pw, at + pw + 1]),
                       np.concatenate([(w - wx) * (1 - ay), wx * (1 - ay), (w - wx) * ay,
                                       wx * ay]), minlength=(bh + 2) * pw)
    flat = flat.reshape(bh + 2, pw)[1:-1, 1:-1]
    xr, yr = np.round(uu).astype(int), np.round(vv).astype(int)
    ok = (xr >= 0) & (xr < bw) & (yr >= 0) & (yr < bh)
    foot = np.zeros(bw * bh, bool)
    foot[yr[ok] * bw + xr[ok]] = True
    return flat.astype(np.float32), foot.reshape(bh, bw)


SPLAT_STEP_PX = 1.0  # most pixels between a splatted tube's samples, along and across
_PROFILE_SUMS: dict[int, float] = {}


def _profile_sums(n_c: np.ndarray) -> np.ndarray:
    """Per tube: the sum of a round section's profile sqrt(1 - x^2) over its n_c samples
    across (midpoints of n_c equal parts of [-1, 1])."""
    top = int(n_c.max()) if len(n_c) else 0
    for k in range(1, top + 1):
        if k not in _PROFILE_SUMS:
            x = (np.arange(k) + 0.5) / k * 2 - 1
            _PROFILE_SUMS[k] = float(np.sqrt(1 - x * x).sum())
    return np.array([0.0] + [_PROFILE_SUMS[k] for k in range(1, top + 1)])[n_c]


_POINT_KEY = np.array([1.0, 1e-3 * np.pi, 1e-6 * np.e])  # a point (mm) to one number


def _fork_spread(t: Tubes) -> np.ndarray:
    """Per tube: |d - d'| for the unit directions of a tube and its sibling, where another
    tube starts at the same point (a fork's two daughters), so their axes are s |d - d'|
    apart at s mm from the fork; inf where none does. Starts are paired in the order
    found; a third tube at one start keeps no sibling."""
    # one number per start (equal points share it, distinct ones all but surely not: the tree's
    # pieces start at the very floats their parents end at); equal numbers sorted together
    key = t.p0 @ _POINT_KEY
    order = np.argsort(key, kind="stable")
    ranked = key[order]
    first = np.flatnonzero(np.r_[True, ranked[1:] != ranked[:-1]])
    size = np.diff(np.r_[first, len(key)])
    group = np.repeat(np.arange(len(first)), size)
    mate = (np.arange(len(key)) - first[group]) ^ 1  # 0 <-> 1, 2 <-> 3 within a start
    ok = mate < size[group]
    partner = np.full(len(key), -1)
    partner[order[ok]] = order[(first[group] + mate)[ok]]
    d = t.p1 - t.p0
    d /= np.maximum(np.sqrt((d * d).sum(axis=1)), 1e-9)[:, None]
    gap = d - d[partner]
    return np.where(partner >= 0, np.sqrt((gap * gap).sum(axis=1)), np.inf)


def _shared_share(x: np.ndarray) -> np.ndarray:
    """The share of a round section two equal tubes whose axes are 2 x r apart each keep so
    their overlap (a lens) counts once: 1 - lens / 2, the lens as a share of one section."""
    x = np.clip(x, 0.0, 1.0)
    lens = 2 / np.pi * (np.arccos(x) - x * np.sqrt(1 - x * x))
    return 1 - lens / 2


def _splat_round(t: Tubes, view: View, u0, v0, u1, v1, m0, m1, box: Box
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Tubes whose path lengths add where they overlap (a vessel tree: crossing branches, an
    artery over a vein), deposited as samples under a pixel apart along and across each
    projected tube, each shared between its four nearest pixels (bilinear), as `_splat_thin`
    does along a centreline. Each tube is a cylinder with flat ends, its volume
    pi L (r0^2 + r0 r1 + r1^2) / 3 deposited whole: across, a round section's chord
    (sqrt(1 - (d / rho)^2)); along, the band from p0 to p1 widened at each end by the flat
    end's projection (an ellipse rho |cos| deep, cos between the axis and the ray), over
    which the path ramps linearly. A vessel seen end-on is a round dot holding its length;
    at a joint of two pieces one ramps up as the other ramps down, so no joint is counted
    twice and none is left thin (round caps would double their overlap). A fork's two
    daughters share volume just past the fork (both start at it): each keeps its share of
    the lens their sections overlap by (`_fork_spread`, `_shared_share`), so the fork holds
    one vessel's blood, not two. Returns the path lengths (mm) on `box` and the footprint
    (the pixels the samples fall in; a thin tube's centreline, as `_splat_thin` labels
    it)."""
    x0, y0, x1, y1 = box
    bw, bh = x1 - x0, y1 - y0
    mag = (m0 + m1) / (2 * view.px)  # mm to pixels on the film
    rho0, rho1 = np.maximum(t.r0 * m0 / view.px, 0.5), np.maximum(t.r1 * m1 / view.px, 0.5)
    seg = t.p1 - t.p0
    L = np.linalg.norm(seg, axis=1)
    ray = (t.p0 + t.p1) / 2 - view.source
    cos = np.abs((seg * ray).sum(axis=1)) / np.maximum(L * np.linalg.norm(ray, axis=1), 1e-9)
    mass = np.pi / 3 * (t.r0**2 + t.r0 * t.r1 + t.r1**2) * L * mag * mag  # mm x px^2
    if t.depth is not None:
        mass = mass * t.depth
    du, dv = u1 - u0, v1 - v0
    pl = np.hypot(du, dv)
    cu = np.where(pl > 1e-6, du / np.maximum(pl, 1e-6), 1.0)  # unit along, px
    cv = np.where(pl > 1e-6, dv / np.maximum(pl, 1e-6), 0.0)
    ramp = np.maximum((rho0 + rho1) / 2 * cos, 1e-3)  # half-width of each end's ramp, px
    span = pl + 2 * ramp
    n_a = np.maximum(np.ceil(span / SPLAT_STEP_PX).astype(int), 1)
    # thin tubes on their centreline (as `_splat_thin` lays them), wide ones across too
    thin = np.maximum(rho0, rho1) < THIN_PX
    n_c = np.where(thin, 1, np.ceil(2 * np.maximum(rho0, rho1) / SPLAT_STEP_PX).astype(int))
    # rows: one per tube and pixel along it (positions, calibre, ramp); then n_c samples
    # across each row
    n = len(u0)
    row = np.repeat(np.arange(n), n_a)
    ia = np.arange(len(row)) - np.repeat(np.cumsum(n_a) - n_a, n_a)
    e, p = ramp[row], pl[row]
    along = (ia + 0.5) * (span / n_a)[row] - e  # px from p0's projection
    weight = np.clip(np.minimum(along + e, p) - np.maximum(along - e, 0.0), 0.0, None) / (2 * e)
    rho = rho0[row] + np.clip(along / np.maximum(p, 1e-6), 0.0, 1.0) * (rho1 - rho0)[row]
    cx, cy = u0[row] + along * cu[row] - x0, v0[row] + along * cv[row] - y0
    # path ~ r(s) across a width ~ rho(s): each row's share of its tube's volume
    share = weight * rho * rho
    total = np.bincount(row, share, minlength=n) * _profile_sums(n_c)
    share *= (mass / np.maximum(total, 1e-12))[row]
    spread = _fork_spread(t)
    forked = np.isfinite(spread)[row]
    if forked.any():  # a fork's daughters: the volume both hold near the fork counts once
        fr, fa = row[forked], np.clip(along[forked] / np.maximum(p[forked], 1e-6), 0.0, 1.0)
        r_mm = t.r0[fr] + fa * (t.r1 - t.r0)[fr]
        x = fa * L[fr] * spread[fr] / np.maximum(2 * r_mm, 1e-6)
        share[forked] *= _shared_share(x)
    nc = n_c[row]
    srow = np.repeat(np.arange(len(row)), nc)
    ic = np.arange(len(srow)) - np.repeat(np.cumsum(nc) - nc, nc)
    xc = (ic + 0.5) / nc[srow] * 2 - 1
    off = (xc * rho[srow]).astype(np.float32)
    uu = cx[srow] - off * cv[row][srow]
    vv = cy[srow] + off * cu[row][srow]
    w = share[srow] * np.sqrt(np.clip(1 - xc * xc, 0, None))
    xi, yi = np.floor(uu).astype(np.intp), np.floor(vv).astype(np.intp)
    ax, ay = (uu - xi).astype(np.float32), (vv - yi).astype(np.float32)
    pw = bw + 2  # a one-pixel margin all round, so every sample's four pixels are on it
    at = (np.clip(yi, -1, bh) + 1) * pw + np.clip(xi, -1, bw) + 1
    w = np.where((xi >= -1) & (xi < bw) & (yi >= -1) & (yi < bh), w, 0.0).astype(np.float32)
    wx = w * ax
    flat = np.bincount(np.concatenate([at, at + 1, at + pw, at + pw + 1]),
                       np.concatenate([(w - wx) * (1 - ay), wx * (1 - ay), (w - wx) * ay,
                                       wx * ay]), minlength=(bh + 2) * pw)
    arr = flat.reshape(bh + 2, pw)[1:-1, 1:-1].astype(np.float32)
    # the footprint: a wide tube's samples, a thin one's centreline
    keep = weight > 0
    rows = np.flatnonzero(keep & thin[row])
    picks = np.flatnonzero((keep & ~thin[row])[srow])
    fu = np.concatenate([cx[rows], uu[picks]])
    fv = np.concatenate([cy[rows], vv[picks]])
    xr, yr = np.round(fu).astype(int), np.round(fv).astype(int)
    ok = (xr >= 0) & (xr < bw) & (yr >= 0) & (yr < bh)
    foot = np.zeros(bw * bh, bool)
    foot[yr[ok] * bw + xr[ok]] = True
    return arr, foot.reshape(bh, bw)


def render_film(scene: Scene, view: View, rng: np.random.Generator, scale: int | None = None,
                masks: dict[str, np.ndarray] | None = None
                ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Returns (display uint8 HxW, label map uint8 HxW, path length per label (mm, HxW)).
    Solids are integrated on a coarse grid (about 170 rays across at 512 px, 256 above 640
    px) and interpolated: their projections are smooth, so this costs no visible detail.
    `masks`, when given, is filled with one boolean mask per label (and per `mask_as` name):
    every structure the beam crosses, overlapping, where the label map keeps one per pixel."""
    W, H = view.width, view.height
    if scale is None:
        big = max(W, H)
        scale = max(2, round(big / (170 if big <= 640 else 256)))
    cache = _RayCache(view, scale)
    cache.count_uses([c.solid for c in scene.components if c.solid is not None and c.xray])
    gh, gw = cache.gh, cache.gw
    coarse_line = np.zeros((gh, gw))
    coarse_ref = np.zeros((gh, gw))
    coarse_trab = np.zeros((gh, gw))  # bone density to texture (each bone's share)
    coarse_labels = np.zeros((gh, gw), np.uint8)
    layers: list[tuple[int, int, str, np.ndarray]] = []
    coarse_masks: dict[str, np.ndarray] = {}
    lengths: dict[str, np.ndarray] = {}
    tube_jobs: list[Component] = []
    textures: dict[str, np.ndarray] = {}
    for order, comp in enumerate(scene.components):
        if not comp.xray or (comp.film_views is not None and view.name not in comp.film_views):
            continue
        if comp.solid is None:
            tube_jobs.append(comp)
            continue
        gain = comp.film_gain(view.name)
        delta = (M[comp.material].mu_mm - M[comp.container].mu_mm) * gain
        full, sl = solid_lengths_boxed(comp.solid, cache)
        tex = None
        if comp.xray_texture:
            # a texture depends only on its name (and the case's seed) unless it follows the
            # component's own outline ("reticular"): one per name serves every lobe
            key = comp.xray_texture
            if key == "reticular" or key not in textures:
                tex = film_texture(key, full, scene, view, scale)
                if key != "reticular":
                    textures[key] = tex
            else:
                tex = textures[key]
        # the sums below on the solid's box only: outside it every length is +0, so each
        # term there is a zero that would leave the sum as it is
        part = full[sl]
        if comp.shell_mm > 0 and comp.shell_material:
            inner = solid_lengths(comp.solid.shrunk(comp.shell_mm), cache)
            dsh = (M[comp.shell_material].mu_mm - M[comp.material].mu_mm) * gain
            shell = dsh * np.maximum(part - inner[sl], 0)
            # a textured solid's cortex follows the texture (no end plate across a disc)
            coarse_line[sl] += shell if tex is None else shell * np.clip(tex[sl] - 0.4, 0, None)
        contrib = delta * part
        if tex is not None:
            contrib = contrib * tex[sl]
        coarse_line[sl] += contrib
        if comp.trabecular > 0:
            coarse_trab[sl] += comp.trabecular * contrib
        if comp.finding is None:  # the normal anatomy alone sets the display range
            if comp.shell_mm > 0 and comp.shell_material:
                coarse_ref[sl] += contrib + shell
            else:
                coarse_ref[sl] += contrib
        if comp.label in lengths:
            lengths[comp.label][sl] += part
        else:
            lengths[comp.label] = full  # its own array (no one else holds it)
        if comp.labelled:
            where = full > comp.label_min_mm
            layers.append((comp.label_priority, order, comp.label, where))
            if masks is not None:
                _add_mask(coarse_masks, comp, comp.label, where)
    for _p, _o, name, mask in sorted(layers, key=lambda t: (t[0], t[1])):
        coarse_labels[mask] = label_id(name)
    line = _resize(coarse_line, H, W).astype(np.float32)
    labels = _nearest(coarse_labels, H, W)
    fills: dict[str, np.ndarray] = {}

    bones: list[np.ndarray] = []

    def bone_tex() -> np.ndarray:
        if not bones:
            bones.append(_bone_texture(scene, view, H, W))
        return bones[0]

    def fill(name: str) -> np.ndarray:
        if name not in fills:
            fills[name] = np.clip(_resize(lengths[name], H, W) / 25.0, 0, 1)
        return fills[name]

    buckets: dict[float, np.ndarray] = {}
    sats: dict[str, np.ndarray] = {}
    tube_layers: list[tuple[int, int, str, tuple[slice, slice], np.ndarray, str | None]] = []
    full_lengths: dict[str, np.ndarray] = {}
    for order, comp in enumerate(tube_jobs, start=len(scene.components)):
        if comp.show_with and comp.show_with not in lengths:
            continue
        gain = comp.film_gain(view.name)
        delta = (M[comp.material].mu_mm - M[comp.container].mu_mm) * gain
        outline = comp.outline > 0 and comp.shell_material is not None
        tubes = comp.tubes
        if comp.show_with:  # only tubes whose footprint meets the label they show with
            if comp.show_with not in sats:
                sats[comp.show_with] = _summed_area(fill(comp.show_with) > 0)
            tubes = tubes.subset(_meets(tubes, view, sats[comp.show_with]))
        box, img, edge, mask = tube_box(tubes, view, outline)
        if box is None:  # off the film: an empty mask keeps the label's entry
            if comp.labelled and masks is not None:
                _add_mask(masks, comp, comp.label_as or comp.label, np.zeros((H, W), bool))
            continue
        sl = _box_slices(box)
        contrib = delta * img
        if comp.film_shell:
            dsh = (M[comp.shell_material].mu_mm - M[comp.material].mu_mm) * gain
            whole, core = _round_shell(tubes, view, box, comp.shell_mm)
            contrib = delta * whole + dsh * np.maximum(whole - core, 0)
        if comp.trabecular > 0:
            trab = np.multiply(comp.trabecular, bone_tex()[sl])
            trab += 1
            contrib = contrib * trab
        if comp.fade_with and comp.fade_with in lengths:
            contrib = contrib * (1 - fill(comp.fade_with)[sl])
        if comp.show_with:
            contrib = contrib * fill(comp.show_with)[sl]
            mask = mask & (fill(comp.show_with)[sl] > 0.3)
        if outline and edge is not None:
            dsh = M[comp.shell_material].mu_mm - M[comp.material].mu_mm
            contrib = contrib + dsh * comp.outline * 5.0 * edge
        key = 0.6 if comp.blur_px < 1.0 else 1.4  # two blur passes for all tube sets
        if key not in buckets:
            buckets[key] = (np.zeros((H, W), contrib.dtype), box)
        bucket, held = buckets[key]
        bucket[sl] += contrib
        buckets[key] = (bucket, _union(held, box))
        if comp.label in _FINDING_NAMES:  # only findings' path lengths are returned
            whole = np.zeros((H, W), np.float32)
            whole[sl] = img
            full_lengths[comp.label] = full_lengths.get(comp.label, 0) + whole
        if comp.labelled:
            if masks is not None:
                _add_box_mask(masks, comp, comp.label_as or comp.label, sl, mask, (H, W))
            tube_layers.append((comp.label_priority, order, comp.label_as or comp.label, sl,
                                mask, comp.label_within))
    for sigma, (img, box) in buckets.items():
        sl, blurred = _blur_box(img, box, sigma)
        line[sl] += blurred
    # tubes are drawn on top of solids of lower priority only
    lut = np.zeros(256, np.int16)
    for p, _o, n, _m in layers:
        lut[label_id(n)] = p
    solid_prio = np.take(lut, labels)  # lut[labels], by the faster gather
    for p, _o, name, sl, mask, within in sorted(tube_layers, key=lambda t: (t[0], t[1])):
        m = mask & (solid_prio[sl] <= p)
        if within is not None:
            m &= labels[sl] == label_id(within)
        labels[sl][m] = label_id(name)
        solid_prio[sl][m] = p
    for key, full_mask in _nearest_masks(coarse_masks, H, W).items():
        if key in masks:
            masks[key] |= full_mask  # each mask is its own array (made here or by _add_*)
        else:
            masks[key] = full_mask
    is_lung = np.zeros(256, bool)
    is_lung[[label_id(n) for n in LUNG_LABELS]] = True
    lung_sum = _lung_sum(lengths)
    line += _lung_texture(lengths, scene, view, H, W, lung_sum)
    if coarse_trab.any():
        line += _resize(coarse_trab, H, W) * bone_tex()
    ref = (dr.scattered(coarse_ref, view.px * scale), view.px * scale)
    # the lungs for the display range: where the beam crosses lung, whatever finding's label
    # covers it (a diffuse disease's label must not take the lungs out of the histogram)
    lung_len = np.zeros((gh, gw)) if lung_sum is None else lung_sum
    lung = _nearest(lung_len > 10.0, H, W)
    if not lung.any():
        lung = is_lung[labels]
    pixels = _detector(line, view, rng, lung, ref)
    out_lengths = {k: _resize(v, H, W) for k, v in lengths.items() if k in _FINDING_NAMES}
    for k, v in full_lengths.items():
        out_lengths[k] = out_lengths.get(k, 0) + v
    return pixels, labels, out_lengths


def _detector(line: np.ndarray, view: View, rng: np.random.Generator,
              lung: np.ndarray | None = None,
              reference: tuple[np.ndarray, float] | None = None) -> np.ndarray:
    """The DR detector (physics/radiography.expose) and the chest unit's multi-frequency
    processing (physics/dr.py)."""
    return dr.process(expose(line, view.px, rng, CHEST), view.px, lung, reference)


def side_marker(pixels: np.ndarray, labels: np.ndarray, view: View) -> None:
    """The lead R/L marker: 'R' on the patient's right (image left) for PA/AP, 'L' laterals."""
    H, W = pixels.shape
    size = max(10, int(min(H, W) * 0.06))
    text = "L" if view.name == "lateral" else "R"
    im = Image.new("L", (W, H), 0)
    d = ImageDraw.Draw(im)
    font = ImageFont.load_default(size=size)
    x = int(W * 0.06) if text == "R" else int(W * 0.86)
    y = int(H * 0.05)
    d.text((x, y), text, fill=255, font=font)
    m = np.asarray(im) > 128
    pixels[m] = 250
    labels[m] = label_id("side_marker")
