"""Analytic solids for the chest phantom: convex quadric pieces, CSG differences and tube sets.

Why quadrics: a ray meets a convex quadric in ONE interval that has a closed form, so the
radiograph's path lengths are exact and cheap at full resolution (no ray marching), and a CT
slice is a sign test on the same equations. So the radiograph and the CT of one case come from
literally the same 3D model.

Coordinates are patient millimetres: +x = patient's LEFT, +y = ANTERIOR, +z = SUPERIOR.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

BIG = 1.0e9
_EPS = 1e-12


class Rays:
    """Unit ray directions kept as separate component arrays: numpy's (N,3)@(3,3) matmul is
    slow, while six fused products per quadric are cheap."""

    def __init__(self, dx: np.ndarray, dy: np.ndarray, dz: np.ndarray):
        self.dx, self.dy, self.dz = dx, dy, dz
        self.xx, self.yy, self.zz = dx * dx, dy * dy, dz * dz
        self.xy, self.xz, self.yz = dx * dy, dx * dz, dy * dz

    @staticmethod
    def from_dirs(d: np.ndarray) -> Rays:
        """Rays from directions (..., 3), each component copied to its own contiguous array
        (a strided view of the triples slows every product taken on it)."""
        return Rays(*(np.ascontiguousarray(d[..., k]) for k in range(3)))

    def crop(self, y0: int, y1: int, x0: int, x1: int) -> Rays:
        r = Rays.__new__(Rays)
        for k in ("dx", "dy", "dz", "xx", "yy", "zz", "xy", "xz", "yz"):
            setattr(r, k, getattr(self, k)[y0:y1, x0:x1])
        return r

    @property
    def shape(self) -> tuple[int, ...]:
        return self.dx.shape

    def dot(self, v) -> np.ndarray:
        return self._sum(((v[0], self.dx), (v[1], self.dy), (v[2], self.dz)))

    def quad(self, A: np.ndarray) -> np.ndarray:
        return self._sum(zip(_quad_coefficients(A), self.squares, strict=True))

    @property
    def squares(self) -> tuple[np.ndarray, ...]:
        """The products of direction components, in `_quad_coefficients`' order."""
        return self.xx, self.yy, self.zz, self.xy, self.xz, self.yz

    def take(self, idx: np.ndarray) -> Rays:
        """The rays at flat indices `idx` of this grid, as one flat set (pieces' crops laid
        end to end)."""
        r = Rays.__new__(Rays)
        for k in ("dx", "dy", "dz", "xx", "yy", "zz", "xy", "xz", "yz"):
            setattr(r, k, getattr(self, k).ravel()[idx])
        return r

    def _sum(self, terms) -> np.ndarray:
        """sum(k * arr) in the given order, skipping zero coefficients (axis-aligned solids
        have several): adding an exact zero changes no value, so the sums are the same."""
        return _sum_terms([(k, arr) for k, arr in terms if k != 0], self.dx.shape)


def _sum_terms(terms, shape) -> np.ndarray:
    """sum(k * arr) over the terms in their order (k a scalar, or one per ray). Each product
    goes through one scratch array (the same values, no allocation per term)."""
    out = tmp = None
    for k, arr in terms:
        if out is None:
            out = k * arr
        else:
            if tmp is None:
                tmp = np.empty_like(out)
            out += np.multiply(k, arr, out=tmp)
    return np.zeros(shape) if out is None else out


def _quad_coefficients(A: np.ndarray) -> tuple:
    """d^T A d's coefficients of dx^2, dy^2, dz^2, dx dy, dx dz, dy dz."""
    return A[0, 0], A[1, 1], A[2, 2], 2 * A[0, 1], 2 * A[0, 2], 2 * A[1, 2]


def _quadric_roots(a: np.ndarray, bb: np.ndarray, cc) -> tuple[np.ndarray, np.ndarray]:
    """Entry/exit of t^2 a + t bb + cc <= 0 (a, bb per ray, overwritten; cc a scalar or per
    ray): bb*bb - 4*a*cc and (-bb -/+ sqrt(max(disc, 0))) * (0.5 / max(a, 1e-14)), operation
    for operation, in place; no root: (BIG, -BIG)."""
    inv = np.maximum(a, 1e-14)
    np.divide(0.5, inv, out=inv)
    disc = bb * bb
    a *= 4.0
    a *= cc
    disc -= a
    root = np.maximum(disc, 0.0)
    np.sqrt(root, out=root)
    nb = np.negative(bb, out=bb)
    s = np.subtract(nb, root)
    s *= inv
    e = np.add(nb, root, out=root)
    e *= inv
    bad = disc < 0
    if bad.any():
        s[bad] = BIG
        e[bad] = -BIG
    return s, e


def _plane_roots(nd: np.ndarray, gap) -> tuple[np.ndarray, np.ndarray]:
    """Entry/exit of t nd <= gap per ray (gap a scalar or per ray); a ray along the plane is
    all in (-BIG, BIG) or all out (BIG, -BIG)."""
    if np.abs(nd).min(initial=np.inf) > _EPS:  # no ray along the plane (as is usual):
        # the same values in fewer passes (each ray enters or leaves, dividing by nd)
        enter = nd < -_EPS
        root = gap / nd
        return np.where(enter, root, -BIG), np.where(enter, BIG, root)
    safe = np.where(np.abs(nd) > _EPS, nd, _EPS)
    root = gap / safe
    inside = np.asarray(gap) >= 0
    if inside.ndim == 0:
        par_s, par_e = (-BIG, BIG) if inside else (BIG, -BIG)
    else:
        par_s, par_e = np.where(inside, -BIG, BIG), np.where(inside, BIG, -BIG)
    s = np.where(nd < -_EPS, root, np.where(nd > _EPS, -BIG, par_s))
    e = np.where(nd > _EPS, root, np.where(nd < -_EPS, BIG, par_e))
    return s, e


@dataclass(frozen=True)
class Quadric:
    """The set p^T A p + b.p + c <= 0, convex along every line (ellipsoid, cylinder, paraboloid
    interior, half-space). `kind`/`params` let the solid be shrunk for cortical shells."""

    A: np.ndarray
    b: np.ndarray
    c: float
    kind: str = "general"
    params: tuple = ()

    def value(self, p: np.ndarray) -> np.ndarray:
        return self.value_xyz(p[..., 0], p[..., 1], p[..., 2])

    def value_xyz(self, x, y, z) -> np.ndarray:
        """f at points given as broadcastable coordinate arrays (a slice grid is separable)."""
        b = self.b
        if self.kind == "halfspace":
            return b[0] * x + b[1] * y + b[2] * z + self.c
        # grouped by variable, so on a slice grid (x a row, y a column, z a scalar, or the
        # like) most terms stay 1-D and only the final sums fill the whole grid
        A = self.A
        tx = A[0, 0] * x + b[0]
        if A[0, 1]:
            tx = tx + 2 * A[0, 1] * y
        if A[0, 2]:
            tx = tx + 2 * A[0, 2] * z
        ty = A[1, 1] * y + b[1]
        if A[1, 2]:
            ty = ty + 2 * A[1, 2] * z
        return tx * x + ty * y + ((A[2, 2] * z + b[2]) * z + self.c)

    def interval(self, src: np.ndarray, r: Rays) -> tuple[np.ndarray, np.ndarray]:
        """Entry/exit distances along rays src + t d (unit d); empty = (BIG, -BIG)."""
        s, e = self.bounded_interval(src, r)
        if s is None:
            s = np.full(e.shape, -BIG)
        if e is None:
            e = np.full(s.shape, BIG)
        return s, e

    def bounded_interval(self, src: np.ndarray, r: Rays
                         ) -> tuple[np.ndarray | None, np.ndarray | None]:
        """`interval`, with None for an end that is unbounded on every ray (entry -BIG, exit
        BIG): a half-space every ray crosses the same way, as the far source makes most of
        them over a solid's box. An intersection can then skip that end."""
        if self.kind == "halfspace":
            return self._halfspace_interval(src, r)
        a = r.quad(self.A)
        bb = r.dot(self.ray_b(src))
        return _quadric_roots(a, bb, self.ray_c(src))

    def ray_b(self, src: np.ndarray) -> np.ndarray:
        """The linear coefficient along rays from `src` is d . ray_b(src)."""
        return 2.0 * (self.A @ src) + self.b

    def ray_c(self, src: np.ndarray) -> float:
        """The constant term along rays from `src`: f(src)."""
        return float(src @ self.A @ src + self.b @ src + self.c)

    def _halfspace_interval(self, src: np.ndarray, r: Rays
                            ) -> tuple[np.ndarray | None, np.ndarray | None]:
        n, dd = self.params
        nd = r.dot(n)
        gap = dd - float(n @ src)
        if nd.size and nd.min() > _EPS:  # every ray leaves through the plane
            return None, np.divide(gap, nd, out=nd)
        if nd.size and nd.max() < -_EPS:  # every ray enters through it
            return np.divide(gap, nd, out=nd), None
        return _plane_roots(nd, gap)

    def shrunk(self, mm: float) -> Quadric:
        if self.kind == "ellipsoid":
            center, R, radii = self.params
            return ellipsoid_q(center, np.maximum(np.asarray(radii) - mm, 0.5), R)
        if self.kind == "halfspace":
            n, d = self.params
            return halfspace(n, d - mm)
        if self.kind == "cylinder":
            center, R, radii = self.params
            return cylinder_q(center, np.maximum(np.asarray(radii) - mm, 0.5), R)
        return self


def rotation(yaw: float = 0.0, pitch: float = 0.0, roll: float = 0.0) -> np.ndarray:
    """Rotation matrix: roll about y (coronal tilt), pitch about x, yaw about z (radians)."""
    cy, sy = np.cos(yaw), np.sin(yaw)
    cp, sp = np.cos(pitch), np.sin(pitch)
    cr, sr = np.cos(roll), np.sin(roll)
    rz = np.array([[cy, -sy, 0], [sy, cy, 0], [0, 0, 1.0]])
    rx = np.array([[1.0, 0, 0], [0, cp, -sp], [0, sp, cp]])
    ry = np.array([[cr, 0, sr], [0, 1.0, 0], [-sr, 0, cr]])
    return rz @ rx @ ry


def cross3(a, b) -> np.ndarray:
    """np.cross of two 3-vectors by the same products and differences, in floats (np.cross's
    general array path costs ~70 us a call, and a chest build makes a few hundred)."""
    a0, a1, a2 = (float(v) for v in a)
    b0, b1, b2 = (float(v) for v in b)
    return np.array([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0])


def axis_rotation(axis: np.ndarray) -> np.ndarray:
    """A rotation whose third column is `axis` (for solids elongated along a direction)."""
    w = np.asarray(axis, float)
    w = w / np.linalg.norm(w)
    helper = np.array([1.0, 0, 0]) if abs(w[0]) < 0.9 else np.array([0, 1.0, 0])
    u = cross3(helper, w)
    u /= np.linalg.norm(u)
    v = cross3(w, u)
    return np.stack([u, v, w], axis=1)


def ellipsoid_q(center, radii, R: np.ndarray | None = None) -> Quadric:
    center = np.asarray(center, float)
    radii = np.asarray(radii, float)
    R = np.eye(3) if R is None else np.asarray(R, float)
    M = (R * (1.0 / radii**2)) @ R.T  # R @ diag(1 / radii^2) @ R.T, without the diagonal's
    # products by zero (the same values)
    return Quadric(M, -2.0 * M @ center, float(center @ M @ center - 1.0), "ellipsoid",
                   (center, R, radii))


def cylinder_q(center, radii, R: np.ndarray | None = None) -> Quadric:
    """Elliptic cylinder; radii (r_u, r_v) across the axis R[:, 2] (default: along z)."""
    center = np.asarray(center, float)
    radii = np.asarray(radii, float)
    R = np.eye(3) if R is None else np.asarray(R, float)
    M = (R * np.array([1.0 / radii[0] ** 2, 1.0 / radii[1] ** 2, 0.0])) @ R.T  # as above
    return Quadric(M, -2.0 * M @ center, float(center @ M @ center - 1.0), "cylinder",
                   (center, R, radii))


def halfspace(normal, d: float) -> Quadric:
    """n.p <= d (n need not be unit; it is normalised so `d` is in mm)."""
    n = np.asarray(normal, float)
    k = math.sqrt(n.dot(n))  # np.linalg.norm's own sum, without its argument handling
    n, d = n / k, d / k
    return Quadric(np.zeros((3, 3)), n, -float(d), "halfspace", (n, float(d)))


def dome_q(apex, kx: float, ky: float) -> Quadric:
    """The region BELOW a downward-opening paraboloid dome with its top at `apex`."""
    x0, y0, z0 = (float(v) for v in apex)
    A = np.diag([kx, ky, 0.0])
    b = np.array([-2 * kx * x0, -2 * ky * y0, 1.0])
    c = kx * x0 * x0 + ky * y0 * y0 - z0
    return Quadric(A, b, c, "dome", (apex, kx, ky))


def plane_through(p0, normal_hint) -> tuple[np.ndarray, float]:
    n = np.asarray(normal_hint, float)
    n = n / np.linalg.norm(n)
    return n, float(n @ np.asarray(p0, float))


@dataclass
class Convex:
    """Intersection of quadrics; `bounds` (lo, hi) is an axis-aligned box containing it."""

    quadrics: list[Quadric]
    bounds: tuple[np.ndarray, np.ndarray]

    def interval(self, src, d: Rays) -> tuple[np.ndarray, np.ndarray]:
        s = np.zeros(d.shape)
        e = np.full(d.shape, BIG)
        for q in self.quadrics:
            clip(s, e, *q.bounded_interval(src, d))
        return s, e

    def inside(self, p: np.ndarray) -> np.ndarray:
        return self.inside_xyz(p[..., 0], p[..., 1], p[..., 2])

    def inside_xyz(self, x, y, z) -> np.ndarray:
        m = None
        for q in self.quadrics:
            v = q.value_xyz(x, y, z) <= 0
            m = v if m is None else (m & v)
        return np.broadcast_to(m, np.broadcast_shapes(np.shape(x), np.shape(y), np.shape(z)))

    def shrunk(self, mm: float) -> Convex:
        return Convex([q.shrunk(mm) for q in self.quadrics], self.bounds)

    def with_(self, *extra: Quadric) -> Convex:
        return Convex([*self.quadrics, *extra], self.bounds)


def clip(s: np.ndarray, e: np.ndarray, qs: np.ndarray | None, qe: np.ndarray | None) -> None:
    """Narrow the running intersection [s, e] by one quadric's interval in place (None: that
    end unbounded, which would leave it as it is)."""
    if qs is not None:
        np.maximum(s, qs, out=s)
    if qe is not None:
        np.minimum(e, qe, out=e)


def batchable(cv: Convex) -> bool:
    """Whether `convex_intervals` takes this convex (quadrics only: a Profile has its own)."""
    return all(isinstance(q, Quadric) for q in cv.quadrics)


def convex_intervals(pieces: list[Convex], src: np.ndarray, r: Rays, counts: list[int]
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Each convex's `interval` on its own run of the flat rays `r` (piece i owns the next
    counts[i] rays), for many small pieces in a few passes rather than a few per quadric:
    the numpy calls of a pedicle's crop cost more than its arithmetic. The quadrics are
    grouped by kind and by which ray coefficients are zero, so that each ray sees the very
    operations `bounded_interval` does (zero terms skipped alike; the coefficients come from
    the same matrix products, stacked); a convex's intersection is a max of entries and a
    min of exits, the same in any order. An end unbounded on every ray of a piece (None
    there) is the same as -BIG or BIG here."""
    src = np.asarray(src, float)
    n = int(sum(counts))
    s = np.zeros(n)
    e = np.full(n, BIG)
    start = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    owner: dict[str, list[tuple[int, Quadric]]] = {"plane": [], "quadric": []}
    for i, cv in enumerate(pieces):
        if counts[i]:
            for q in cv.quadrics:
                owner["plane" if q.kind == "halfspace" else "quadric"].append((i, q))
    for kind, entries in owner.items():
        if not entries:
            continue
        keys, coefs = (_plane_rows if kind == "plane" else _quadric_rows)(
            [q for _i, q in entries], src)
        groups: dict[tuple, list[int]] = {}
        seen: dict[tuple, int] = {}
        for k, ((i, _q), key) in enumerate(zip(entries, keys, strict=True)):
            slot = seen[(i, key)] = seen.get((i, key), -1) + 1
            groups.setdefault((key, slot), []).append(k)
        for (key, _slot), ks in groups.items():
            who = np.array([entries[k][0] for k in ks])
            cnt = np.asarray(counts, np.int64)[who]
            if len(who) == len(pieces) and (who == np.arange(len(pieces))).all():
                pos = slice(None)  # every piece, in order: the rays as they are
            else:  # the group's pieces' runs, end to end
                pos = (np.repeat(start[who] - np.concatenate([[0], np.cumsum(cnt)[:-1]]), cnt)
                       + np.arange(int(cnt.sum())))
            qs, qe = _group_roots(kind, key, coefs[ks], cnt, r, pos)
            np.maximum(s[pos], qs, out=qs)
            np.minimum(e[pos], qe, out=qe)
            s[pos] = qs
            e[pos] = qe
    return s, e


def _row_dots(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """u[k] @ v for each row k, each by the vector dot `u[k] @ v` itself makes (one matmul
    of (1, 3) by (3, 1) per row), so the same rounding as on one quadric."""
    return np.matmul(u[:, None, :], v[:, None])[:, 0, 0]


def _plane_rows(qs: list[Quadric], src: np.ndarray) -> tuple[list[tuple], np.ndarray]:
    """Half-spaces' keys (which normal components are nonzero: what `Rays.dot` keeps) and
    coefficient rows (the normal, then the gap `_halfspace_interval` works out)."""
    nrm = np.array([q.params[0] for q in qs])
    gap = np.array([q.params[1] for q in qs]) - _row_dots(nrm, src)
    keep = nrm != 0
    return [tuple(k) for k in keep.tolist()], np.column_stack([nrm, gap])


def _quadric_rows(qs: list[Quadric], src: np.ndarray) -> tuple[list[tuple], np.ndarray]:
    """Quadrics' keys (which of `Rays.quad`'s and `Rays.dot`'s coefficients are nonzero) and
    coefficient rows (the six quadratic, the three linear, the constant), by the products
    `bounded_interval` makes, stacked."""
    A = np.array([q.A for q in qs])
    b = np.array([q.b for q in qs])
    c = np.array([q.c for q in qs], float)
    quad = np.stack(_quad_coefficients(A.transpose(1, 2, 0)), axis=1)
    lin = 2.0 * (A @ src) + b
    const = _row_dots(src @ A, src) + _row_dots(b, src) + c
    keep = np.concatenate([quad != 0, lin != 0], axis=1).tolist()
    return [tuple(k) for k in keep], np.column_stack([quad, lin, const])


def _group_roots(kind: str, key: tuple, coefs: np.ndarray, cnt: np.ndarray, r: Rays, pos
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Entry/exit of one group's quadrics (rows of `coefs`, as `_plane_rows` or
    `_quadric_rows` give them; quadric k on the next cnt[k] rays) on the rays r[pos]; the
    coefficients the key marks zero are skipped, and neither they nor their rays are laid
    out per ray."""
    per_ray = _Coefficients(coefs, cnt)
    dirs = ("dx", "dy", "dz")
    if kind == "plane":
        nd = _sum_terms([(per_ray[k], getattr(r, dirs[k])[pos]) for k in range(3) if key[k]],
                        (len(per_ray),))
        return _plane_roots(nd, per_ray[3])
    squares = ("xx", "yy", "zz", "xy", "xz", "yz")
    a = _sum_terms([(per_ray[k], getattr(r, squares[k])[pos]) for k in range(6) if key[k]],
                   (len(per_ray),))
    bb = _sum_terms([(per_ray[6 + k], getattr(r, dirs[k])[pos]) for k in range(3)
                     if key[6 + k]], (len(per_ray),))
    return _quadric_roots(a, bb, per_ray[9])


class _Coefficients:
    """Column k of `coefs` repeated over each quadric's rays, on demand."""

    def __init__(self, coefs: np.ndarray, cnt: np.ndarray):
        self.coefs, self.cnt = coefs, cnt

    def __len__(self) -> int:
        return int(self.cnt.sum())

    def __getitem__(self, k: int) -> np.ndarray:
        return np.repeat(self.coefs[:, k], self.cnt)


def ellipsoid(center, radii, R: np.ndarray | None = None, *clips: Quadric) -> Convex:
    q = ellipsoid_q(center, radii, R)
    Rm = np.eye(3) if R is None else np.asarray(R)
    half = np.sqrt(((Rm * np.asarray(radii, float)[None, :]) ** 2).sum(axis=1))
    c = np.asarray(center, float)
    return Convex([q, *clips], (c - half, c + half))


def box(lo, hi) -> Convex:
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    qs = []
    for i in range(3):
        n = np.zeros(3)
        n[i] = 1
        qs += [halfspace(n, hi[i]), halfspace(-n, -lo[i])]
    return Convex(qs, (lo, hi))


def union_length(s: np.ndarray, e: np.ndarray) -> np.ndarray:
    """Total length covered by k intervals per ray ((N,k) arrays), by a vectorised sweep."""
    if s.shape[1] == 1:
        return np.maximum(e[:, 0] - s[:, 0], 0.0)
    order = np.argsort(s, axis=1)
    s = np.take_along_axis(s, order, 1)
    e = np.take_along_axis(e, order, 1)
    prev = np.maximum.accumulate(e, axis=1)
    prev = np.concatenate([np.full((s.shape[0], 1), -BIG), prev[:, :-1]], axis=1)
    return np.maximum(e - np.maximum(s, prev), 0.0).sum(axis=1)


@dataclass
class Solid:
    """Union of (assumed disjoint) convex pieces minus a union of convex holes."""

    pieces: list[Convex]
    holes: list[Convex] = field(default_factory=list)

    @property
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        lo = np.min([p.bounds[0] for p in self.pieces], axis=0)
        hi = np.max([p.bounds[1] for p in self.pieces], axis=0)
        return lo, hi

    def path_length(self, src, d, cache: dict | None = None) -> np.ndarray:
        total = np.zeros(d.shape)
        holes = [_cached(h, src, d, cache) for h in self.holes]
        for piece in self.pieces:
            s, e = _cached(piece, src, d, cache)
            length = np.maximum(e - s, 0.0)
            if holes:
                hs = np.stack([np.maximum(h[0], s) for h in holes], axis=1)
                he = np.stack([np.minimum(h[1], e) for h in holes], axis=1)
                he = np.maximum(he, hs)
                length = length - union_length(hs, he)
            total += np.maximum(length, 0.0)
        return total

    def inside(self, p: np.ndarray) -> np.ndarray:
        """Membership of points (..., 3). Each quadric is evaluated only on the points that
        passed the ones before, and a hole only on the points inside its box: most
        candidates scattered over a lobe's box fall outside it on its first planes."""
        flat = p.reshape(-1, 3)
        xyz = [np.ascontiguousarray(flat[:, k]) for k in range(3)]  # gathered per coordinate

        def value(q, at: np.ndarray) -> np.ndarray:
            return q.value_xyz(*(c[at] for c in xyz))  # = q.value(flat[at]), elementwise

        out = np.zeros(len(flat), bool)
        for piece in self.pieces:
            keep = np.flatnonzero(~out)
            for q in piece.quadrics:
                if not len(keep):
                    break
                keep = keep[value(q, keep) <= 0]
            out[keep] = True
        # the points inside a piece, each tested against every hole's box and quadrics (one
        # already taken out by a hole is taken out again by another: the same result)
        idx = np.flatnonzero(out)
        pts = [c[idx] for c in xyz]
        for h in self.holes:
            lo, hi = h.bounds
            on = (pts[0] >= lo[0]) & (pts[0] <= hi[0])
            for k in (1, 2):
                on &= (pts[k] >= lo[k]) & (pts[k] <= hi[k])
            near = idx[on]
            for q in h.quadrics:  # as the pieces: each quadric on the points still inside
                if not len(near):  # none left (a hole's box often holds none): no more tests
                    break
                near = near[value(q, near) <= 0]
            out[near] = False
        return out.reshape(p.shape[:-1])

    def shrunk(self, mm: float) -> Solid:
        return Solid([p.shrunk(mm) for p in self.pieces], self.holes)


def _cached(cv: Convex, src, d, cache):
    if cache is None:
        return cv.interval(src, d)
    key = id(cv)
    if key not in cache:
        cache[key] = (cv, cv.interval(src, d))  # keep cv alive so its id stays unique
    return cache[key][1]


@dataclass
class Tubes:
    """Capsule segments p0->p1 with radii r0->r1 (mm): ribs, vessels, bronchi, lines, dots."""

    p0: np.ndarray
    p1: np.ndarray
    r0: np.ndarray
    r1: np.ndarray
    # films: each segment's path length as a share of a round tube's (a flat section seen
    # face-on is thinner along the beam than it is wide); None: round
    depth: np.ndarray | None = None
    # films: path lengths through overlapping tubes of the set add (a tree of vessels, each
    # segment flat-ended so a chain's joints are not counted twice); False: the larger is kept
    adds: bool = False

    @staticmethod
    def from_polyline(points, radii) -> Tubes:
        pts = np.asarray(points, float)
        r = np.broadcast_to(np.asarray(radii, float), (len(pts),))
        return Tubes(pts[:-1], pts[1:], r[:-1].copy(), r[1:].copy())

    @staticmethod
    def from_curve(points, radii, per_segment: int = 8) -> Tubes:
        """A smooth tube through control points (centripetal Catmull-Rom): catheters, leads
        and tubes bend, they have no corners."""
        pts = np.asarray(points, float)
        r = np.broadcast_to(np.asarray(radii, float), (len(pts),))
        curve = catmull_rom(pts, per_segment)
        knots = np.linspace(0, len(pts) - 1, len(curve))
        return Tubes.from_polyline(curve, np.interp(knots, np.arange(len(pts)), r))

    @staticmethod
    def concat(parts: list[Tubes]) -> Tubes:
        parts = [p for p in parts if len(p.p0)]
        if not parts:
            z = np.zeros((0, 3))
            return Tubes(z, z, np.zeros(0), np.zeros(0))
        depth = None
        if any(p.depth is not None for p in parts):
            depth = np.concatenate([p.depth if p.depth is not None else np.ones(len(p))
                                    for p in parts])
        return Tubes(*(np.concatenate([getattr(p, a) for p in parts]) for a in
                       ("p0", "p1", "r0", "r1")), depth, any(p.adds for p in parts))

    def __len__(self) -> int:
        return len(self.p0)

    @property
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        r = np.maximum(self.r0, self.r1)[:, None]
        lo = np.minimum(self.p0, self.p1) - r
        hi = np.maximum(self.p0, self.p1) + r
        return lo.min(axis=0), hi.max(axis=0)

    def transformed(self, fn) -> Tubes:
        return Tubes(fn(self.p0), fn(self.p1), self.r0.copy(), self.r1.copy(), self.depth,
                     self.adds)

    def subset(self, mask: np.ndarray) -> Tubes:
        return Tubes(self.p0[mask], self.p1[mask], self.r0[mask], self.r1[mask],
                     None if self.depth is None else self.depth[mask], self.adds)

    def signed_distance(self, p: np.ndarray, idx) -> np.ndarray:
        """min over segments idx of (|p - axis| - r) in mm, for (N,3) points."""
        best = np.full(p.shape[0], np.inf)
        for i in idx:
            a, b = self.p0[i], self.p1[i]
            ab = b - a
            L2 = float(ab @ ab)
            t = np.zeros(p.shape[0]) if L2 < 1e-9 else np.clip((p - a) @ ab / L2, 0, 1)
            q = a + t[:, None] * ab
            r = self.r0[i] + t * (self.r1[i] - self.r0[i])
            dist = np.sqrt(((p - q) ** 2).sum(axis=1)) - r
            np.minimum(best, dist, out=best)
        return best


def catmull_rom(pts: np.ndarray, per_segment: int) -> np.ndarray:
    """Points along the centripetal Catmull-Rom spline through `pts` (no cusps or overshoot
    where control points bunch up), `per_segment` samples per span, ends included."""
    if len(pts) < 3:
        return pts
    ext = np.vstack([2 * pts[0] - pts[1], pts, 2 * pts[-1] - pts[-2]])
    out = []
    u = np.linspace(0, 1, per_segment, endpoint=False)[:, None]
    for i in range(1, len(ext) - 2):
        p0, p1, p2, p3 = ext[i - 1: i + 3]
        t1 = np.linalg.norm(p1 - p0) ** 0.5 + 1e-9
        t2 = t1 + np.linalg.norm(p2 - p1) ** 0.5 + 1e-9
        t3 = t2 + np.linalg.norm(p3 - p2) ** 0.5 + 1e-9
        t = t1 + u * (t2 - t1)
        a1 = (t1 - t) / t1 * p0 + t / t1 * p1
        a2 = (t2 - t) / (t2 - t1) * p1 + (t - t1) / (t2 - t1) * p2
        a3 = (t3 - t) / (t3 - t2) * p2 + (t - t2) / (t3 - t2) * p3
        b1 = (t2 - t) / t2 * a1 + t / t2 * a2
        b2 = (t3 - t) / (t3 - t1) * a2 + (t - t1) / (t3 - t1) * a3
        out.append((t2 - t) / (t2 - t1) * b1 + (t - t1) / (t2 - t1) * b2)
    out.append(pts[-1:])
    return np.vstack(out)


def affine_quadric(q: Quadric, T: np.ndarray, t: np.ndarray) -> Quadric:
    """The image of q under p' = c + S (p - c), given the inverse map p = T p' + t."""
    if q.kind == "halfspace":
        n, d = q.params
        return halfspace(T.T @ n, d - float(n @ t))
    A = T.T @ q.A @ T
    b = 2.0 * T.T @ q.A @ t + T.T @ q.b
    c = float(t @ q.A @ t + q.b @ t + q.c)
    return Quadric(A, b, c)


def scale_about(cv: Convex, center, factors) -> Convex:
    """Convex scaled about `center` by per-axis `factors` (a lung recoiling to its hilum)."""
    center = np.asarray(center, float)
    S = np.diag(np.asarray(factors, float))
    T = np.linalg.inv(S)
    t = center - T @ center
    lo, hi = cv.bounds
    corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1])
                        for z in (lo[2], hi[2])])
    moved = center + (corners - center) @ S.T
    return Convex([affine_quadric(q, T, t) for q in cv.quadrics],
                  (moved.min(axis=0), moved.max(axis=0)))


def up_paraboloid_above(apex, k: float) -> Quadric:
    """The region ABOVE an upward-opening paraboloid z = z0 + k r^2 (convex): fluid menisci."""
    x0, y0, z0 = (float(v) for v in apex)
    A = np.diag([k, k, 0.0])
    b = np.array([-2 * k * x0, -2 * k * y0, -1.0])
    c = k * (x0 * x0 + y0 * y0) + z0
    return Quadric(A, b, c, "upbowl", (apex, k))


def intersect_bounds(a, b):
    lo = np.maximum(a[0], b[0])
    hi = np.minimum(a[1], b[1])
    return lo, np.maximum(hi, lo)


@dataclass(frozen=True)
class Profile:
    """A smooth body of elliptic cross-sections whose half-axes `a` (x), `b` (y) and centre
    `cy` vary with height `z` (samples on an even grid, linear between): the body outline
    (neck, trapezius, shoulders, flanks) as one surface, which quadrics cannot bend into
    (a concave neck-shoulder curve is no intersection of convex pieces). Used where a
    quadric is: a ray's interval is the chord of the section at the height where the ray
    passes the axis, then each end is recut with the section at its own height (films'
    rays are near-horizontal, so this is exact to first order in the ray's tilt); a point
    test is exact. Outside the sampled heights the body is empty."""

    z: np.ndarray
    a: np.ndarray
    b: np.ndarray
    cy: np.ndarray
    kind: str = "profile"

    @property
    def params(self) -> tuple:
        return (self.z, self.a, self.b, self.cy)

    def section(self, z) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(a, b, cy) at heights z (linear between the evenly spaced samples, one index for
        all three); a vanishing section outside the sampled range."""
        f = (np.asarray(z, float) - self.z[0]) / (self.z[1] - self.z[0])
        i = f.astype(np.int64)  # clipped in place (np.clip on integers costs ~3x as much)
        i = np.minimum(np.maximum(i, 0, out=i), len(self.z) - 2, out=i)
        w = f - i
        # v[i] + w * (v[i + 1] - v[i]), the step taken from `_steps` (the same differences)
        out = [v[i] + w * dv[i] for v, dv in zip((self.a, self.b, self.cy), self._steps,
                                                 strict=True)]
        if np.min(f, initial=0.0) >= 0 and np.max(f, initial=0.0) <= len(self.z) - 1:
            return out[0], out[1], out[2]  # every height sampled (as on a film, mostly)
        off = (f < 0) | (f > len(self.z) - 1)
        return np.where(off, 1e-6, out[0]), np.where(off, 1e-6, out[1]), out[2]

    @cached_property
    def _cy0(self) -> float:
        """The median centre, where `interval` first cuts each ray (once per body)."""
        return float(np.median(self.cy))

    @cached_property
    def _steps(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """a, b and cy's step from each sample to the next."""
        return tuple(np.asarray(v[1:] - v[:-1]) for v in (self.a, self.b, self.cy))

    def value(self, p: np.ndarray) -> np.ndarray:
        return self.value_xyz(p[..., 0], p[..., 1], p[..., 2])

    def value_xyz(self, x, y, z) -> np.ndarray:
        a, b, cy = self.section(z)
        return (x / a) ** 2 + ((y - cy) / b) ** 2 - 1.0

    def _cut(self, src: np.ndarray, dx: np.ndarray, dy: np.ndarray, xx: np.ndarray,
             yy: np.ndarray, z, ends: str = "both"
             ) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Entry/exit of the rays (direction components dx, dy and their squares) through the
        elliptic cylinder of the section at z (`ends`: "both", "entry" or "exit"; the end
        not asked for is None). The half-b form of the quadratic, in place: t^2 qa + 2 t hb
        + qc <= 0 gives t = (-hb -/+ sqrt(hb^2 - qa qc)) / qa."""
        a, b, cy = self.section(z)
        ia = np.multiply(a, a, out=a)
        np.divide(1.0, ia, out=ia)
        ib = np.multiply(b, b, out=b)
        np.divide(1.0, ib, out=ib)
        oy = np.subtract(src[1], cy, out=cy)
        qa = xx * ia
        qa += yy * ib
        tmp = oy * ib  # oy / b^2
        hb = dy * tmp
        qc = np.multiply(oy, tmp, out=tmp)
        ox = float(src[0])
        if ox:
            hb += (ox * dx) * ia
            qc += (ox * ox) * ia
        qc -= 1.0
        disc = np.multiply(hb, hb)
        qc *= qa
        disc -= qc
        bad = disc < 0
        root = np.maximum(disc, 0.0, out=disc)
        np.sqrt(root, out=root)
        np.maximum(qa, 1e-14, out=qa)
        np.negative(hb, out=hb)
        s = e = None
        if ends != "exit":
            s = np.subtract(hb, root)
            s /= qa
        if ends != "entry":
            e = np.add(hb, root, out=hb)
            e /= qa
        if bad.any():
            if s is not None:
                s[bad] = BIG
            if e is not None:
                e[bad] = -BIG
        return s, e

    def interval(self, src: np.ndarray, r: Rays) -> tuple[np.ndarray, np.ndarray]:
        src = np.asarray(src, float)
        h2 = np.maximum(r.xx + r.yy, 1e-12)
        t0 = (-src[0] * r.dx + (self._cy0 - src[1]) * r.dy) / h2
        s, e = self._cut(src, r.dx, r.dy, r.xx, r.yy, src[2] + t0 * r.dz)
        hit = e > s
        # the ends are recut only on the rays that cross the first section (elementwise, so
        # the same values as on the whole crop; the other rays stay empty)
        dx, dy, xx, yy, dz = (v[hit] for v in (r.dx, r.dy, r.xx, r.yy, r.dz))
        s2, _ = self._cut(src, dx, dy, xx, yy, src[2] + s[hit] * dz, "entry")
        _, e2 = self._cut(src, dx, dy, xx, yy, src[2] + e[hit] * dz, "exit")
        keep = e2 > s2
        hit[hit] = keep
        s_out, e_out = np.full(s.shape, BIG), np.full(s.shape, -BIG)
        s_out[hit], e_out[hit] = s2[keep], e2[keep]
        return s_out, e_out

    def bounded_interval(self, src: np.ndarray, r: Rays) -> tuple[np.ndarray, np.ndarray]:
        """`interval`: a section's chord is bounded at both ends on every ray."""
        return self.interval(src, r)

    def shrunk(self, mm: float) -> Profile:
        return Profile(self.z, np.maximum(self.a - mm, 0.5), np.maximum(self.b - mm, 0.5),
                       self.cy)

    def box(self) -> tuple[np.ndarray, np.ndarray]:
        """An axis-aligned box containing the body."""
        lo = np.array([-self.a.max(), (self.cy - self.b).min(), self.z[0]])
        hi = np.array([self.a.max(), (self.cy + self.b).max(), self.z[-1]])
        return lo, hi


def smoothstep(u) -> np.ndarray:
    """0 below 0, 1 above 1, the cubic 3u^2 - 2u^3 between (level ends, no corner)."""
    u = np.clip(u, 0.0, 1.0)
    return u * u * (3.0 - 2.0 * u)
