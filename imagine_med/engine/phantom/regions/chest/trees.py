"""Each lobe's pulmonary arteries, veins and bronchi: space-filling branching trees grown from
real hilar trunks, tapering by Murray's law, curved rather than kinked; films keep the vessels
a reader sees (fading over the outer third), CT the dense fine trees and air bronchi."""

from __future__ import annotations

import numpy as np

from imagine_med.engine.phantom.geometry import Solid, Tubes
from imagine_med.engine.phantom.regions.chest.frame import LOBE_SIDE, LOBES, SIDES, Adjust, Rand

# each lobe's artery: its course as it leaves the hilum and where its tree starts (x lateral,
# so the right side's x is mirrored; y anterior, z up; mm for an adult): the upper lobe
# arteries rise from the top of the hilum, the others come off the interlobar (descending)
# artery, which runs down lateral to the bronchi
_ARTERY = {"rul": ((-1, 1, 4), (-4, 2, 24)), "rml": ((-2, 0, -3), (-8, 14, -24)),
           "rll": ((-1, -1, -3), (-8, -10, -36)), "lul": ((0, 0, 1), (-2, 2, 22)),
           "lingula": ((2, -1, -3), (8, 14, -24)), "lll": ((1, -1, -3), (6, -14, -38))}
# the pulmonary veins: the upper lobes' (and middle lobe's) drain anterior to and below the
# arteries into the superior veins, the lower lobes' into the inferior veins, all converging
# on the left atrium below the hila: where each lobe's vein tree starts (offset from the
# hilum as above) and its atrial entry (+1 superior / -1 inferior vein)
_VEIN = {"rul": ((-4, 16, 2), 1), "rml": ((-6, 18, -24), 1), "rll": ((-2, -8, -44), -1),
         "lul": ((-2, 14, -6), 1), "lingula": ((4, 16, -30), 1), "lll": ((-4, -10, -48), -1)}
_STEM_PIECES = 4
_VEIN_R_END = 4.5  # mm, where a lobe's vein stem meets its tree
# Murray's law for the film trees: r^3 of a parent = the sum over its children (Dong 2020,
# pulmonary arteries from CT/MR, exponent 2.92 +- 1.07), from the stem's calibre where the
# tree starts down to its twigs
MURRAY_EXPONENT = 3.0


def _stems(s: float, hila: dict, lac: np.ndarray, f: float
           ) -> tuple[dict[str, Tubes], np.ndarray, np.ndarray, np.ndarray]:
    """The trunks each lobe's trees grow from: its artery off the hilum (a smooth curve
    tapering from 8.5 mm radius) and its vein from the left atrium. Returns the stems per
    lobe and the start, course and radius of the twelve trees (artery and vein of each
    lobe)."""
    mirror = np.array([[SIDES[LOBE_SIDE[lb]], 1.0, 1.0] for lb in LOBES]) * s
    h = np.array([hila[LOBE_SIDE[lb]] for lb in LOBES])
    course = np.array([_ARTERY[lb][0] for lb in LOBES]) * mirror
    root = h + np.array([_ARTERY[lb][1] for lb in LOBES]) * mirror
    r_end = np.array([5.2 if lb in ("rll", "lll") else 4.2 for lb in LOBES]) * s
    art = _bend(h, _unit(course), root, np.full(6, 8.5 * s), r_end, _STEM_PIECES)
    up = np.array([_VEIN[lb][1] for lb in LOBES])
    v_root = h + np.array([_VEIN[lb][0] for lb in LOBES]) * mirror
    entry = lac + np.c_[mirror[:, 0] * 34 * f, np.full(6, 4 * s), 10 * s * up]  # its wall
    vein = _bend(entry, _unit(np.c_[mirror[:, 0], np.zeros(6), 0.3 * up]), v_root,
                 np.full(6, 7 * s), np.full(6, _VEIN_R_END * s), _STEM_PIECES)
    stems = {}
    for i, lobe in enumerate(LOBES):
        rows = slice(i * _STEM_PIECES, (i + 1) * _STEM_PIECES)
        stems[lobe] = Tubes.concat([Tubes(*(x[rows] for x in art[:4])),
                                    Tubes(*(x[rows] for x in vein[:4]))])
    roots = np.stack([root, v_root], axis=1).reshape(-1, 3)
    dirs = np.stack([art[4], vein[4]], axis=1).reshape(-1, 3)
    radii = np.stack([r_end, np.full(6, _VEIN_R_END * s)], axis=1).ravel()
    return stems, roots, dirs, radii


def lung_trees(rand: Rand, s: float, hila: dict, lac: np.ndarray, f: float,
                lobe_pieces: dict, lobe_holes: dict, view: str, posture: str, adjust: Adjust
                ) -> tuple[dict[str, Tubes], dict[str, Tubes], dict[str, Tubes],
                           dict[str, Tubes]]:
    """Each lobe's arterial and venous trees (space-filling, curved, from real trunks: the
    stems), with bronchi beside the arteries. Films: vessels largest at the hila and in the
    lower zones (upright), fading to nothing in the outer third. CT: denser, finer trees whose
    twigs stop about a centimetre short of the pleura, as the visible vessels of a real lung
    do, plus two generations of small forks. Returns vessels, bronchi and (CT) the bronchi
    down to ~2 mm for air bronchograms, per lobe, and the stems per side."""
    jitter = rand.normal((4096, 3))
    ct = view == "ct"
    n_attr = {"rul": 112, "rml": 56, "rll": 144, "lul": 108, "lingula": 52, "lll": 132}
    if ct:
        n_attr = {k: round(7.5 * v) for k, v in n_attr.items()}
    cand = rand.uniform(0, 1, (20000 if ct else 3400, 3))
    stems, roots, dirs, r_roots = _stems(s, hila, lac, f)
    targets, counts, grown = [], [], []
    for lobe in LOBES:
        piece = lobe_pieces[lobe]
        lo, hi = piece.bounds
        pts = lo + cand * (hi - lo)
        if ct:
            pts = pts[Solid([piece.shrunk(9 * s)], lobe_holes[lobe]).inside(pts)]
        else:
            pts = pts[Solid([piece], lobe_holes[lobe]).inside(pts)]
        pts = pts[: n_attr[lobe]]
        if len(pts) < 8:
            continue
        grown.append(lobe)
        # arteries and veins share the lobe, target by target (veins run between arteries)
        targets += [pts[0::2], pts[1::2]]
        counts += [len(pts[0::2]), len(pts[1::2])]
    empty = Tubes.concat([])
    trees = {lobe: empty for lobe in LOBES}
    bronchi = dict(trees)
    air_bronchi: dict[str, Tubes] = {}
    sides = {side: Tubes.concat([stems[lb] for lb in grown if LOBE_SIDE[lb] == side])
             for side in SIDES}
    if not grown:
        return trees, bronchi, air_bronchi, sides
    k = np.array([2 * LOBES.index(lb) + i for lb in grown for i in (0, 1)])
    # film: each tree carries its stem's calibre, split among its twigs by Murray's law (a
    # tree of n twigs starts at the stem's radius, its twigs at that over n^(1/3)); CT keeps
    # the finer twigs of its denser trees
    exponent = 3.0 if ct else MURRAY_EXPONENT
    r_twig = np.full(len(k), 0.7 * s) if ct else \
        r_roots[k] / np.asarray(counts, float) ** (1 / exponent)
    segs, grp, tip = _grow_tree(roots[k], np.concatenate(targets), counts, r_twig, jitter, 0,
                                exponent=exponent, leaf_size=1 if ct else 2,
                                wobble=1.5 if ct else 2.0,
                                dirs=dirs[k], pieces=(2, 1) if ct else (2, 2))
    if ct:
        segs, grp = _terminal_forks(segs, grp, tip, roots[k], jitter, s)
        segs.r0, segs.r1 = np.minimum(segs.r0, 5.5 * s), np.minimum(segs.r1, 5 * s)
    upright = posture == "upright"
    order = np.argsort(grp, kind="stable")  # each lobe's artery, then its vein, in one run
    segs = Tubes(segs.p0[order], segs.p1[order], segs.r0[order], segs.r1[order])
    cut = np.searchsorted(grp[order], np.arange(len(k) + 1))
    for i, lobe in enumerate(grown):
        side = LOBE_SIDE[lobe]
        art = segs.subset(slice(cut[2 * i], cut[2 * i + 1]))
        t = segs.subset(slice(cut[2 * i], cut[2 * i + 2]))
        if ct:
            air = _bronchi_from(art, s, min_r=0.9 * s, scale=1.0, side=np.array([0, -0.6, 0.8]))
            air_bronchi[lobe], bronchi[lobe] = air, air.subset(air.r0 >= 1.6 * s)
        else:
            bronchi[lobe] = _bronchi_from(art, s)
        trees[lobe] = _vessel_sizes(t, hila[side], s, adjust, upright, not ct)
    return trees, bronchi, air_bronchi, sides


def _vessel_sizes(t: Tubes, hilum: np.ndarray, s: float, adjust: Adjust, upright: bool,
                  film: bool) -> Tubes:
    """Calibre by position: findings' redistribution (upper-lobe diversion, peripheral
    pruning); upright, gravity fills the lower zones' vessels; on a film, vessels fade to
    nothing over the outer third of the lung (those too faint to see are dropped)."""
    mid = (t.p0 + t.p1) / 2
    zrel = (mid[:, 2] - hilum[2]) / (80 * s)
    gain = 1 + (adjust.vessel_scale_upper - 1) * np.clip(zrel, 0, 1)
    far = np.linalg.norm(mid - hilum, axis=1)
    if adjust.vessel_scale_periphery != 1.0:
        per = np.clip((far - 40 * s) / (60 * s), 0, 1)
        gain = gain * (1 + (adjust.vessel_scale_periphery - 1) * per)
    if upright:  # lower-zone vessels larger than upper-zone ones
        gain = gain * (1 - 0.22 * np.clip(zrel, -1, 1))
    if film:
        frac = far / max(float(np.percentile(far, 97)), 1e-6)
        gain = gain * np.clip(1.9 - 2.0 * frac, 0.0, 1.0)
    t = Tubes(t.p0, t.p1, t.r0 * gain, t.r1 * gain, adds=film)
    return t.subset(np.minimum(t.r0, t.r1) > 0.12 * s) if film else t


def _grow_tree(roots: np.ndarray, pts: np.ndarray, counts, r_leaf: np.ndarray,
               jitter: np.ndarray, j0: int, exponent: float = 3.0, leaf_size: int = 2,
               wobble: float = 2.0, dirs: np.ndarray | None = None, pieces: tuple[int, int] = (3, 2)
               ) -> tuple[Tubes, np.ndarray, np.ndarray]:
    """Space-filling branching: each node heads for the centroid of the lung region it serves
    (leaning on its own course, so one daughter runs on nearly straight) and splits that region
    in two across its principal axis; radii follow Murray's law (r^exponent of a parent = sum
    of its children's, from each tree's twig radius `r_leaf`) and taper continuously into
    the larger daughter. Every branch is a curve (`_bend`) leaving its parent at an acute
    angle, cut into `pieces` (branches, twigs) capsules. Built one generation at a time,
    every node of a generation in the same numpy pass. A node serving `leaf_size` targets or
    fewer ends in one twig to each of them. One tree per root, from the next `counts[k]`
    targets, setting out along `dirs[k]` (default: toward its targets). Returns the
    segments, the tree (root index) of each and a mask of the twigs' last pieces (their
    tips)."""
    pts = np.asarray(pts, float)
    out: list[tuple] = []
    # each live node: a contiguous slice [start, end) of `pts`, its position, its course
    # (the end tangent of the branch that brought it there) and its tree
    ends = np.cumsum(counts)
    starts = ends - np.asarray(counts)
    pos = np.asarray(roots, float)
    grp = np.arange(len(pos))
    if dirs is None:
        dirs = np.array([pts[a:b].mean(axis=0) for a, b in zip(starts, ends, strict=True)]) - pos
    tan = _unit(np.asarray(dirs, float))
    counter = j0
    for _depth in range(24):
        sizes = ends - starts
        leaf = sizes <= leaf_size
        if leaf.any():  # leaves: one twig to each remaining target
            n = int(sizes[leaf].sum())
            a = np.repeat(pos[leaf], sizes[leaf], axis=0)
            ta = np.repeat(tan[leaf], sizes[leaf], axis=0)
            rl = np.repeat(r_leaf[grp[leaf]], sizes[leaf])
            seg = _bend(a, ta, a + _lean(ta, pts[_ranges(starts[leaf], sizes[leaf])] - a),
                        rl, 0.8 * rl, pieces[1])
            tip = np.zeros((n, pieces[1]), bool)
            tip[:, -1] = True
            out.append((*seg[:4], np.repeat(np.repeat(grp[leaf], sizes[leaf]), pieces[1]),
                        tip.ravel()))
        keep = ~leaf
        if not keep.any():
            break
        starts, ends, pos, sizes, grp, tan = (starts[keep], ends[keep], pos[keep], sizes[keep],
                                              grp[keep], tan[keep])
        owner = np.repeat(np.arange(len(starts)), sizes)
        idx = _ranges(starts, sizes)
        sub = pts[idx]
        c = np.add.reduceat(sub, np.r_[0, np.cumsum(sizes)[:-1]]) / sizes[:, None]
        centred = sub - c[owner]
        outer = centred[:, :, None] * centred[:, None, :]
        cov = np.add.reduceat(outer, np.r_[0, np.cumsum(sizes)[:-1]])
        _w, v = np.linalg.eigh(cov)
        proj = (centred * v[owner, :, -1]).sum(axis=1)
        order = np.lexsort((proj, owner))
        pts[idx] = sub[order]  # each node's slice now sorted along its principal axis
        j = jitter[(counter + np.arange(len(starts))) % len(jitter)]
        counter += len(starts)
        step = (c - pos) * 0.4 + tan * np.linalg.norm(c - pos, axis=1, keepdims=True) * 0.15
        q = pos + _lean(tan, step) + j * wobble
        big = sizes - sizes // 2
        seg = _bend(pos, tan, q, r_leaf[grp] * sizes ** (1 / exponent),
                    r_leaf[grp] * big ** (1 / exponent), pieces[0])
        out.append((*seg[:4], np.repeat(grp, pieces[0]), np.zeros(len(grp) * pieces[0], bool)))
        half = starts + sizes // 2
        starts, ends = np.r_[starts, half], np.r_[half, ends]
        pos, grp, tan = np.r_[q, q], np.r_[grp, grp], np.r_[seg[4], seg[4]]
    p0, p1, r0, r1, g, tip = (np.concatenate(x) for x in zip(*out, strict=True))
    return Tubes(p0, p1, r0, r1), g, tip


# where a branch of n pieces is cut: pieces shorter at the ends, so the first and last follow
# the curve's tangents
_SPACING = {n: (0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, n + 1)))[None, :, None]
            for n in (1, 2, 3, 4)}
MAX_TURN = 0.5  # rad: a daughter leaves its parent's course at most ~29 degrees off


def _bend(a: np.ndarray, tan: np.ndarray, b: np.ndarray, r0: np.ndarray, r1: np.ndarray,
          n: int) -> tuple[np.ndarray, ...]:
    """Branches a -> b as quadratic curves that leave a at most MAX_TURN off the parent's
    course `tan` and bend onto b (vessels curve, they have no elbows), each cut into n
    capsules tapering from r0 to r1. Returns (p0, p1, r0, r1) of the pieces, branch by
    branch, and the course at each b."""
    chord = b - a
    length = np.linalg.norm(chord, axis=1, keepdims=True)
    ctrl = a + _toward(tan, chord / np.maximum(length, 1e-9), MAX_TURN) * (0.45 * length)
    u = _SPACING[n]
    pts = (1 - u) ** 2 * a[:, None] + 2 * u * (1 - u) * ctrl[:, None] + u**2 * b[:, None]
    rr = r0[:, None] + (r1 - r0)[:, None] * u[..., 0]
    return (pts[:, :-1].reshape(-1, 3), pts[:, 1:].reshape(-1, 3), rr[:, :-1].ravel(),
            rr[:, 1:].ravel(), _unit(b - ctrl))


def _lean(tan: np.ndarray, step: np.ndarray) -> np.ndarray:
    """A branch's chord `step`, turned to within 1.6 MAX_TURN of its parent's course (same
    length): daughters lean on the parent's course, no branch turns back on itself."""
    length = np.linalg.norm(step, axis=1, keepdims=True)
    return _toward(tan, step / np.maximum(length, 1e-9), 1.6 * MAX_TURN) * length


def _toward(tan: np.ndarray, d: np.ndarray, limit: float) -> np.ndarray:
    """The unit direction d, turned back toward the course `tan` until at most `limit`
    radians off it."""
    cos = np.clip((tan * d).sum(axis=1, keepdims=True), -1.0, 1.0)
    turn = np.minimum(np.arccos(cos), limit)
    return np.cos(turn) * tan + np.sin(turn) * _unit(d - cos * tan)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)


def _ranges(starts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """The indices of the slices [start, start + size), one after another."""
    return np.arange(sizes.sum()) + np.repeat(starts - (np.cumsum(sizes) - sizes), sizes)


def _terminal_forks(t: Tubes, grp: np.ndarray, leaf: np.ndarray, roots: np.ndarray,
                    jitter: np.ndarray, s: float) -> tuple[Tubes, np.ndarray]:
    """Two more generations of forks at every twig's end (CT): each twig splits into two
    thinner ones about 30 degrees either side of a course between its own (weighted two to
    one) and the way out from its tree's root (the hilum), and each of those again in a plane
    turned a quarter round. The cheap way to the density of small vessels a slice cuts
    through (as dots, and as short lines that point away from the hilum); the tree stays in
    3D, so every plane sees the same vessels. Returns the tree with its forks, and the tree
    of each segment."""
    parts, groups = [t], [grp]
    a, b, r, g = t.p0[leaf], t.p1[leaf], t.r1[leaf], grp[leaf]
    out = b - roots[g]
    d = 2 * (b - a) / np.maximum(np.linalg.norm(b - a, axis=1, keepdims=True), 1e-6)
    d += out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-6)
    d /= np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-6)
    j = jitter[np.arange(len(d)) % len(jitter)]
    e = j - (j * d).sum(axis=1, keepdims=True) * d
    e /= np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-6)
    for length in (6.0 * s, 4.0 * s):
        kids_d = [np.cos(0.5) * d + sgn * np.sin(0.5) * e for sgn in (1.0, -1.0)]
        r = r * 0.9
        ends = [b + k * length for k in kids_d]
        parts += [Tubes(b, q, r, r * 0.85) for q in ends]
        groups += [g, g]
        e = np.cross(np.concatenate(kids_d), np.concatenate([e, e]))  # next fork plane
        b, d = np.concatenate(ends), np.concatenate(kids_d)
        r, g = np.concatenate([r, r]) * 0.85, np.concatenate([g, g])
    return Tubes.concat(parts), np.concatenate(groups)


def _bronchi_from(t: Tubes, s: float, min_r: float | None = None, scale: float = 0.9,
                  side: np.ndarray | None = None) -> Tubes:
    """Bronchi run beside their arteries (the 'signet ring' pairs on CT), `scale` times their
    radius, along the arteries of radius `min_r` (default 1.1 s) and more. With `side` (a
    direction), every bronchus lies on that side of its artery, so consecutive pieces of a
    bronchus join up instead of stepping from one side to the other."""
    keep = t.r0 >= (1.1 * s if min_r is None else min_r)
    sub = t.subset(keep)
    if not len(sub):
        return sub
    d = sub.p1 - sub.p0
    d /= np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-6)
    if side is None:
        ref = np.where(np.abs(d[:, 2:3]) > 0.9, np.array([[1.0, 0, 0]]),
                       np.array([[0, 0, 1.0]]))
        off = np.cross(d, ref)
    else:
        off = side - (d @ side)[:, None] * d
        off += 0.3 * np.cross(d, side)  # never zero: a vessel along `side` still gets one
    off /= np.maximum(np.linalg.norm(off, axis=1, keepdims=True), 1e-6)
    rb0, rb1 = sub.r0 * scale, sub.r1 * scale
    dist = (sub.r0 + rb0 + 0.8)[:, None]
    return Tubes(sub.p0 + off * dist, sub.p1 + off * dist, rb0, rb1)

