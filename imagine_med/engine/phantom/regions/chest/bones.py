"""Bones step: ribs (posterior and anterior arcs), the thoracic spine (CT column with disc
texture, film vertebral bodies and neural arches), the sternum, then the shoulder girdle
(shoulders.py) and the lateral film's corrections (lateral.py)."""

from __future__ import annotations

import functools

import numpy as np

from imagine_med.engine.phantom.geometry import (
    Convex,
    Quadric,
    Solid,
    Tubes,
    cross3,
    cylinder_q,
    ellipsoid_q,
    halfspace,
)
from imagine_med.engine.phantom.materials import M
from imagine_med.engine.phantom.regions.chest.frame import SIDES, Adjust, Frame, Rand
from imagine_med.engine.phantom.regions.chest.lateral import lateral_film
from imagine_med.engine.phantom.regions.chest.shoulders import TRABECULAR, shoulders
from imagine_med.engine.phantom.scene import Component, Scene


def kyphosis(z: float, s: float) -> float:
    """Posterior offset (mm) of the thoracic spine: its normal kyphosis, deepest mid-chest."""
    return 9.0 * s * max(0.0, 1.0 - ((z + 60.0 * s) / (230.0 * s)) ** 2)



RIB_ENDS = [2.55, 2.45, 2.4, 2.35, 2.3, 2.25, 2.15, 2.0, 1.85, 1.65, 1.35, 1.0]  # radians
RIB_DROPS = [32, 62, 78, 88, 95, 100, 104, 100, 90, 72, 48, 30]  # mm, at size 1
RIB_POINTS = 28  # centreline samples per rib
RIB_PHI0 = 0.22  # radians round the wall from the back, where each rib leaves the spine


def _rib_lines(jit: np.ndarray, s, zT, cav_ab, y_cav, hv) -> dict[str, np.ndarray]:
    """All 24 ribs' centrelines at once (rows: each side's ribs 1-12, sides in SIDES'
    order): angles round the wall, points on it, radii and film depth shares, each the
    elementwise arithmetic one rib at a time would do (one numpy pass for the set)."""
    ks = np.arange(1, 13)
    j = jit.reshape(24, 3)
    sx = np.repeat(np.array(list(SIDES.values())), 12)[:, None]
    phi1 = (np.array(RIB_ENDS * 2) * (1 + j[:, 0] * 0.3))[:, None]
    phis = np.linspace(RIB_PHI0, phi1[:, 0], RIB_POINTS, axis=1)
    t = (phis - RIB_PHI0) / (phi1 - RIB_PHI0)
    z_post = np.array([zT(k) + 0.25 * hv for k in ks] * 2)[:, None]
    drop = (np.array(RIB_DROPS * 2, float) * s * (1 + j[:, 1]))[:, None]
    z = z_post - drop * t**1.55
    # thick and round by the spine, thinning and flattening toward the costal cartilage:
    # posterior arcs are denser than anterior ones by their own path length
    first = np.tile(np.where(ks == 1, 0.8, 1.0), 2)[:, None]
    r = (5.8 - 3.6 * t) * s * first
    return {"phis": phis, "phi1": phi1[:, 0], "z": z, "r": r,
            "pts": _on_wall(sx, phis, z, r, cav_ab, y_cav),
            "depth": _rib_depth(phis, RIB_PHI0, phi1)}


def _ribs(rand: Rand, s, zT, cav_ab, y_cav, hv, adjust: Adjust) -> dict:
    """Twelve pairs of ribs as tubes following the inner chest wall: posterior arcs nearly
    horizontal by the spine, then curving down round the side; anterior arcs sloping down
    toward the (radiolucent) costal cartilage."""
    comps: dict[str, Component] = {}
    centerlines: dict[tuple[str, int], np.ndarray] = {}
    parts: dict[tuple[str, str], list[Tubes]] = {}
    tips: dict[tuple[str, int], tuple[float, float, float]] = {}  # anterior ends
    jit = rand.normal((2, 12, 3)) * 0.04
    lines = _rib_lines(jit, s, zT, cav_ab, y_cav, hv)
    for si, (side, sx) in enumerate(SIDES.items()):
        for k in range(1, 13):
            row = si * 12 + k - 1
            phis, pts, r_rib = lines["phis"][row], lines["pts"][row], lines["r"][row]
            phi1, z, depth = lines["phi1"][row], lines["z"][row], lines["depth"][row]
            centerlines[(side, k)] = pts
            tips[(side, k)] = (float(phi1), float(z[-1]), float(r_rib[-1]))
            frac = adjust.rib_fracture
            pieces = [(pts, r_rib, phis, depth)]
            if frac is not None and frac[0] == side and frac[1] == k:
                i = int(np.clip(np.searchsorted(phis, frac[2]), 2, len(phis) - 3))
                disp = np.array([sx * -0.6, 0.3, -0.8]) * frac[3]
                a_pts, b_pts = pts[: i + 1].copy(), pts[i:].copy()
                # a 2-3 mm lucent break: the proximal end stops a rib radius short (its drawn
                # end cap reaches that far), the distal fragment starts 1.5 mm on
                along = (b_pts[1] - b_pts[0]) / np.linalg.norm(b_pts[1] - b_pts[0])
                a_pts[-1] = a_pts[-1] - along * (r_rib[i] + 1.5 * s)
                b_pts[0] = b_pts[0] + along * 1.5 * s
                b_pts = b_pts + disp * np.exp(-np.arange(len(b_pts)) / 6.0)[:, None]
                pieces = [(a_pts, r_rib[: i + 1], phis[: i + 1], depth[: i + 1]),
                          (b_pts, r_rib[i:], phis[i:], depth[i:])]
                centerlines[("fracture", 0)] = pts[i] + disp * 0.4
            for ppts, rr, pp, ww in pieces:
                # split into posterior and anterior arcs so their crossings add up on a film
                post = pp <= 1.55
                for arc, m in (("post", post), ("ant", ~post)):
                    idx = np.flatnonzero(m)
                    if len(idx) < 1:
                        continue
                    lo_i, hi_i = idx[0], min(idx[-1] + 1, len(ppts) - 1)
                    if hi_i - lo_i < 1:
                        continue
                    seg = Tubes.from_polyline(ppts[lo_i: hi_i + 1], rr[lo_i: hi_i + 1])
                    w = ww[lo_i: hi_i + 1]
                    seg.depth = (w[:-1] + w[1:]) / 2
                    parts.setdefault((side, arc), []).append(seg)
    for (side, arc), lst in parts.items():
        cortex = RIB_CORTEX_MM[arc] * s
        comps[f"{side}_{arc}"] = Component(
            "ribs", "rib", "muscle", tubes=Tubes.concat(lst), shell_mm=cortex,
            shell_material="cortical", label_priority=8, blur_px=1.4, outline=cortex,
            xray_gain=1.0, trabecular=TRABECULAR["rib"],
            mask_as="ribs_anterior" if arc == "ant" else "ribs_posterior")
    return {"components": comps, "centerlines": centerlines, "tips": tips}


# Rib cortex (mm): thickest mid-rib on the pleural aspect (maxima 0.9-2.6 mm, mean 1.4;
# Holcombe et al., J Anat 2019, sixth ribs of 33 adults) and thinning toward the sternal end,
# so the anterior arcs carry the thinner cortex (a film draws a rib's cortex as its outline)
# as well as the thinner, flatter bar.
RIB_CORTEX_MM = {"post": 1.3, "ant": 0.9}


# A rib is a flat bar, not a round rod: near the spine it is thick (about 0.7 as thick as
# high), its shaft and anterior end thin and flat (about 0.3; Gray's Anatomy). Its broad
# faces follow the chest wall, so the PA beam crosses its thickness where the wall faces the
# beam (posterior and anterior arcs) and its height where the wall turns along the beam
# (the lateral arc): the bar's twist round the chest, as a path-length share of a round rod.
RIB_THICKNESS_TO_HEIGHT = (0.7, 0.3)  # by the spine, at the costal cartilage
# where the wall turns along the beam the bar is seen obliquely (it also slopes down there),
# not end-on: its height adds this share of the difference
RIB_TWIST_SHARE = 0.5


def _rib_depth(phis: np.ndarray, phi0: float, phi1: float) -> np.ndarray:
    """Film path through the rib as a share of a round rod's, at angles `phis` round the
    wall (0 at the back, pi/2 at the side)."""
    t = np.clip((phis - phi0) / (phi1 - phi0), 0.0, 1.0)
    flat = RIB_THICKNESS_TO_HEIGHT[0] + (RIB_THICKNESS_TO_HEIGHT[1]
                                         - RIB_THICKNESS_TO_HEIGHT[0]) * t
    return flat + (1 - flat) * RIB_TWIST_SHARE * np.sin(phis) ** 2


def _on_wall(sx: float, phis: np.ndarray, z: np.ndarray, r: np.ndarray, cav_ab, y_cav: float
             ) -> np.ndarray:
    """Centreline points of a tube of radius r lying on the inner chest wall, at angles phis
    round it from the back (0) to the front (pi) and heights z (the cavity's half-axes at
    each height, as `cav_ab` gives them, computed for all points at once)."""
    a, b = cav_ab(z)
    return np.stack([sx * (a + r + 1.5) * np.sin(phis), y_cav - (b + r + 1.5) * np.cos(phis),
                     z], axis=-1)


def _to_cartilage_above(above: np.ndarray, s: float, cav_ab) -> tuple[float, float]:
    """(angle round the wall, height) where cartilages 8-10 end: half way along the one
    above, a little below it."""
    target = above[len(above) // 2]
    phi2 = np.pi - np.arcsin(min(1.0, abs(target[0]) / cav_ab(target[2])[0]))
    return phi2, target[2] - 4 * s


def _cartilage_lines(ends: list[tuple], sx: np.ndarray, cav_ab, y_cav: float, s: float
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Centrelines (n, 8, 3) and radii (n, 8) of cartilages from (phi1, z1, r1, phi2, z2)
    ends on sides `sx`, one per row: each row the numbers one cartilage alone would get
    (every step is elementwise)."""
    phi1, z1, r1, phi2, z2 = (np.array(c, float)[:, None] for c in zip(*ends, strict=True))
    phis = np.linspace(phi1[:, 0], phi2[:, 0], 8, axis=1)
    t = np.linspace(0.0, 1.0, 8)
    zz = z1 + (z2 - z1) * t ** 0.8  # the cartilage turns up toward the sternum
    rr = r1 * 0.9 + (3.2 * s - r1 * 0.9) * t
    return _on_wall(sx[:, None], phis, zz, rr, cav_ab, y_cav), rr


def _costal_cartilage(scene: Scene, tips: dict, s: float, zT, cav_ab, y_cav: float,
                      age: int) -> None:
    """Film: the costal cartilages, continuing each rib's anterior end round the front of the
    chest to the sternum (ribs 1-7; 8-10 to the cartilage above; 11-12 float). Hyaline
    cartilage barely differs from muscle, so a young adult's are near-invisible; with age they
    calcify in patches (a few from the late 30s, most of them by 75-80), and calcified
    stretches show as dense, irregular bars along the anterior rib ends."""
    # sternal attachment of cartilages 1-7 (vertebral levels): manubrium, sternal angle, body
    attach = {1: 2.9, 2: 4.5, 3: 5.5, 4: 6.4, 5: 7.3, 6: 8.1, 7: 8.8}
    calcified_share = float(np.clip((age - 35) / 40, 0, 0.75)) ** 1.5  # 4% at 40, 65% at 80
    # which stretches calcify: drawn from the case's own rib geometry, not from the build's
    # stream, so films keep the draws (and lesion positions) of the same case's CT
    tip_z = np.array([tips[key][1] for key in sorted(tips)])
    rng = np.random.default_rng(np.frombuffer(tip_z.tobytes(), np.uint32))
    sides = list(SIDES)
    sx = np.array([SIDES[side] for side in sides])
    # (side, rib) -> 8 centreline points: ribs 1-7 of both sides in one pass, then 8, 9 and
    # 10 (each aimed at the middle of the one above) a pass each
    lines = np.zeros((len(sides), 10, 8, 3))
    radii = np.zeros((len(sides), 10, 8))
    sternal = [(np.pi - 18 * s / cav_ab(zT(attach[k]))[0], zT(attach[k])) for k in range(1, 8)]
    line, rr = _cartilage_lines([(*tips[(side, k)], *sternal[k - 1]) for side in sides
                                 for k in range(1, 8)], np.repeat(sx, 7), cav_ab, y_cav, s)
    lines[:, :7], radii[:, :7] = line.reshape(len(sides), 7, 8, 3), rr.reshape(len(sides), 7, 8)
    for k in range(8, 11):
        lines[:, k - 1], radii[:, k - 1] = _cartilage_lines(
            [(*tips[(side, k)], *_to_cartilage_above(lines[i, k - 2], s, cav_ab))
             for i, side in enumerate(sides)], sx, cav_ab, y_cav, s)
    # one tube per neighbouring pair of points, side by side and rib by rib (the order of the
    # draws that pick the calcified ones)
    segs = Tubes(lines[:, :, :-1].reshape(-1, 3), lines[:, :, 1:].reshape(-1, 3),
                 radii[:, :, :-1].ravel(), radii[:, :, 1:].ravel())
    calc = rng.uniform(size=len(segs)) < calcified_share
    plain, calcified = [segs.subset(~calc)], [segs.subset(calc)]
    # a calcified stretch is mineralised like bone (cortical density in patches: the texture
    # breaks it into the granular bars seen on films)
    for parts, material in ((plain, "cartilage"), (calcified, "cortical")):
        tubes = Tubes.concat(parts)
        if len(tubes):
            scene.add(Component("costal_cartilage", material, "muscle",
                                tubes=tubes, label_priority=8, blur_px=1.4,
                                ct=False, trabecular=0.5 if material == "cortical" else 0.0))


# Thoracic vertebral bodies and discs (mm at s = 1), at T1 and at T12, linear between and
# beyond: body height (mid-body, Panjabi et al., Spine 1991;16:888-901: ~15 mm at T1, ~23 mm at
# T12), body width and depth (same source: the upper end plate ~27 x 16 mm at T1, ~42 x 31 mm
# at T12) and the disc below (thin upper thoracic discs, ~3-4 mm, growing to ~8-10 mm at the
# thoracolumbar junction; Gray's Anatomy). The stack is scaled to the frame's level spacing so
# the column spans the same vertebral levels as the ribs and CT (see `_film_levels`).
VERTEBRA_T1 = {"height": 15.0, "disc": 3.5, "width": 27.0, "depth": 16.0}
VERTEBRA_T12 = {"height": 23.0, "disc": 8.5, "width": 42.0, "depth": 31.0}
# the body's waist: its sides and front dip in ~2 mm at mid-height (the concave waist seen
# on every lateral film), and its rim is rounded off ~1.5 mm at the end plates
WAIST_MM = 2.0
# vertebral cortex: a thin shell (~0.4 mm; Silva et al., Spine 1994;19:2683-2689), taken all
# round (the end plates, ~0.5-1 mm, are mostly the cancellous bone just under them)
VERTEBRAL_CORTEX_MM = 0.4
# pedicles: short bony cylinders running back from the upper half of the body; seen end-on on
# a PA film as oval rings taller than wide (thoracic pedicle ~5-8 mm wide, ~10-15 mm high:
# Panjabi 1991; Zindrick et al., Spine 1987;12:160-166)
PEDICLE_T1 = (7.0, 10.0)  # width, height
PEDICLE_T12 = (8.0, 15.0)
PEDICLE_LENGTH_MM = 14.0
# pedicle axes: converging forward off the sagittal plane (~25 degrees at T1, ~10 from T3 to
# T11, ~5 at T12: levels and degrees below), and running forward and down ~10 degrees in it
# (Zindrick 1987; Panjabi 1991)
PEDICLE_CONVERGENCE_DEG = ((1.0, 3.0, 11.0, 12.0), (25.0, 10.0, 10.0, 5.0))
PEDICLE_SAGITTAL_DEG = 10.0
# a pedicle's walls (mm at s = 1): thicker medially than laterally (~0.8-1.2 mm laterally,
# ~1.2-1.9 mm medially; Kothe et al., Spine 1996;21:264-270), the cranial and caudal walls
# between; PEDICLE_CORTEX_MM, the component's shell, is the one they scale with body size
PEDICLE_WALLS_MM = {"lateral": 0.9, "medial": 1.6, "cranial": 1.2}
PEDICLE_CORTEX_MM = 1.2
# film gains of the vertebral bodies and pedicles, and of the laminae and processes
VERTEBRAL_GAIN = 1.0
ARCH_GAIN = 1.0


def _vertebra(k: float) -> dict[str, float]:
    """Level k's body and disc dimensions (mm at s = 1), linear in k from T1 to T12."""
    t = (k - 1.0) / 11.0
    return {key: VERTEBRA_T1[key] + (VERTEBRA_T12[key] - VERTEBRA_T1[key]) * t
            for key in VERTEBRA_T1}


def _film_levels(zT, hv: float, ks: range) -> dict[int, tuple[float, float, float]]:
    """(centre z, half height, disc below) of each level's body on a film: heights and discs
    grow down the spine, scaled so T1-T12 span twelve of the frame's level spacings, and the
    T6-T7 disc sits at the frame's level 6.5 (the ribs and CT keep even spacing; the offset
    at T1 and T12 is a few mm)."""
    dims = {k: _vertebra(k) for k in ks}
    f = 12 * hv / sum(dims[k]["height"] + dims[k]["disc"] for k in range(1, 13))
    z, out = 0.0, {}
    for k in ks:  # top down
        h, d = dims[k]["height"] * f, dims[k]["disc"] * f
        out[k] = (z - h / 2, h / 2, d)
        z -= h + d
    shift = zT(6.5) - (out[6][0] - out[6][1] - out[6][2] / 2)
    return {k: (zc + shift, hh, d) for k, (zc, hh, d) in out.items()}


class _Waisted(Quadric):
    """A vertebral body's side wall: the hyperboloid x^2/a^2 + y^2/b^2 - z^2/c^2 <= 1 about
    the body's axis, narrowest at mid-height. Along a film's near-horizontal rays it is one
    interval, like the convex quadrics; shrunk, it keeps its curvature (the cortical shell)."""

    def shrunk(self, mm: float) -> Quadric:
        center, radii, cz = self.params
        return waisted_q(center, np.maximum(np.asarray(radii) - mm, 0.5), cz)


def waisted_q(center, radii, cz: float) -> Quadric:
    """The waisted side wall about a vertical axis through `center`: half-widths `radii`
    (x, y) at mid-height, widening as sqrt(1 + dz^2 / cz^2) above and below."""
    c = np.asarray(center, float)
    A = np.diag([1.0 / radii[0] ** 2, 1.0 / radii[1] ** 2, -1.0 / cz ** 2])
    return _Waisted(A, -2.0 * A @ c, float(c @ A @ c - 1.0), "waisted",
                    (c, np.asarray(radii, float), cz))


def _vertebral_body(c: np.ndarray, half_w: float, half_d: float, hh: float, dip: float
                    ) -> Convex:
    """One vertebral body centred at `c`: end plates `hh` above and below, a waist `dip`
    narrower than the end plates at mid-height (its depth sets the curvature), the rim
    rounded off at the end plates."""
    a, b = half_w - dip * half_w / half_d, half_d - dip
    cz = hh / np.sqrt(((b + dip) / b) ** 2 - 1.0)
    return Convex([waisted_q(c, [a, b], cz), halfspace([0, 0, 1], c[2] + hh),
                   halfspace([0, 0, -1], -(c[2] - hh)),
                   ellipsoid_q(c, [half_w * 1.1, half_d * 1.12, hh * 1.9])],
                  (c - np.array([half_w, half_d, hh]), c + np.array([half_w, half_d, hh])))


class _PedicleWall(Quadric):
    """A pedicle's elliptic cylinder whose shrunk copy (the marrow space) is set by the walls
    of `PEDICLE_WALLS_MM` (scaled by the shell asked for over `PEDICLE_CORTEX_MM`): thicker
    medially, so the hole sits off-centre toward the lateral wall, and the ring on a PA film
    is a crescent, brightest on its medial side, not an even ring."""

    def shrunk(self, mm: float) -> Quadric:
        mid, R, radii, lateral = self.params
        f = mm / PEDICLE_CORTEX_MM
        w = PEDICLE_WALLS_MM
        across = (w["lateral"] + w["medial"]) / 2 * f
        inner = np.maximum(np.asarray(radii) - [across, w["cranial"] * f], 0.5)
        shift = (w["medial"] - w["lateral"]) / 2 * f
        return cylinder_q(np.asarray(mid) + lateral * shift, inner, R)


@functools.lru_cache(maxsize=64)
def _pedicle_frame(sx: float, convergence_deg: float
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A pedicle's axis, its section's first direction and their frame (columns u, v, axis):
    one per side and convergence, which most levels share (10 degrees from T3 to T11), so
    worked out once (read-only arrays)."""
    a, b = np.radians(convergence_deg), np.radians(PEDICLE_SAGITTAL_DEG)
    axis = np.array([sx * np.sin(a) * np.cos(b), -np.cos(a) * np.cos(b), np.sin(b)])
    u = cross3(axis, [0.0, 0.0, 1.0])
    u /= np.linalg.norm(u)
    v = cross3(axis, u)
    R = np.column_stack([u, v, axis])
    for arr in (axis, u, R):
        arr.setflags(write=False)
    return axis, u, R


def _pedicle(c: np.ndarray, width: float, height: float, length: float, sx: float,
             convergence_deg: float) -> Convex:
    """A pedicle running back from `c` (the back of the body), its back end turned out by
    `convergence_deg` (toward side `sx`) and up by the sagittal tilt (the axis runs forward
    and down into the body): seen nearly end-on by a PA beam, its cortex is an oval ring
    whose rim the tilt spreads, as on a film (a pedicle parallel to the beam would draw its
    whole length of wall into a one-pixel rim). The walls are thicker medially
    (`_PedicleWall`): a crescent rather than an even ring."""
    axis, u, R = _pedicle_frame(sx, convergence_deg)
    mid = c + axis * (length / 2 - 1.0)
    reach = np.abs(axis) * (length / 2 + 1.0) + max(width, height) / 2
    half = np.array([width / 2, height / 2])
    cyl = cylinder_q(mid, half, R)
    lateral = -sx * u  # the section's outward (lateral) direction, across the axis
    wall = _PedicleWall(cyl.A, cyl.b, cyl.c, "pedicle", (mid, R, half, lateral))
    ends = length / 2 + 1.0
    return Convex([wall, halfspace(axis, float(axis @ mid) + ends),
                   halfspace(-axis, -float(axis @ mid) + ends)],
                  (mid - reach, mid + reach))


def _spine(scene: Scene, s, zT, y_cav, b_mid, elderly: bool, view: str) -> None:
    """CT: the vertebral column as one cylinder whose disc spaces are a texture (cheap to
    sample). Films: separate vertebral bodies (cortical shell round cancellous bone, a waist,
    end plates, growing down the spine with their discs), the pedicles as oval rings, and the
    rest of the neural arches (laminae, transverse and spinous processes) as short tubes. A
    lateral film crosses the pedicles side-on, where short tubes draw them (cheaper)."""
    y_b = y_cav - b_mid + 24 * s
    top, bot = zT(-1.5), zT(14.5)
    rx, ry = 19 * s, 15 * s
    column = Convex([cylinder_q([0, y_b, 0], [rx, ry]), halfspace([0, 0, 1], top),
                     halfspace([0, 0, -1], -bot)],
                    (np.array([-rx, y_b - ry, bot]), np.array([rx, y_b + ry, top])))
    levels = np.array([zT(k) for k in range(-1, 16)])
    hv = zT(0) - zT(1)
    marrow = "osteopenic_cancellous" if elderly else "axial_cancellous"
    marrow_hu = M[marrow].hu

    def disc_hu(p: np.ndarray) -> np.ndarray:
        # distance to the nearest disc (half-way between vertebral centres)
        ph = ((p[:, 2] - levels[0]) / hv) % 1.0  # 0.5 half-way between body centres
        d = np.abs(ph - 0.5) * hv  # 0 at a disc centre
        # a thin end plate (a slice through it is mostly its partial volume, not a white
        # disc of cortex) and cancellous bone inside the body's cortical shell
        return np.where(d < 2.5 * s, 90.0, np.where(d < 3.3 * s, 650.0, marrow_hu))

    scene.add(Component("spine", "cancellous", "cavity", Solid([column]), shell_mm=1.2 * s,
                        shell_material="cortical", label_priority=9, label_min_mm=3,
                        ct_texture=disc_hu, xray=False))
    # films: the bodies' backs line up (the front of the spinal canal), stacked along a
    # gentle kyphosis; the pedicles leave the upper half of each body
    back = y_b - ry
    bodies, pedicles, pedicle_at = [], [], {}
    film = _film_levels(zT, hv, range(-2, 15))
    for k, (zc_k, hh, _disc) in film.items():
        if zc_k + hh > top or zc_k - hh < bot:
            continue
        dim = _vertebra(k)
        half_w, half_d = dim["width"] / 2 * s, dim["depth"] / 2 * s
        yk = back - kyphosis(zc_k, s)
        bodies.append(_vertebral_body(np.array([0.0, yk + half_d, zc_k]), half_w, half_d, hh,
                                      WAIST_MM * s))
        t = float(np.clip((k - 1) / 11, 0, 1))
        pw, ph = (np.array(PEDICLE_T1) + (np.array(PEDICLE_T12) - PEDICLE_T1) * t) * s
        pedicle_at[k] = (half_w - pw / 2 - 2 * s, zc_k + hh - ph / 2 - 1.5 * s, pw / 2)
        if view != "lateral":
            conv = float(np.interp(k, *PEDICLE_CONVERGENCE_DEG))
            pedicles.extend(_pedicle(np.array([sx * pedicle_at[k][0], yk, pedicle_at[k][1]]),
                                     pw, ph, PEDICLE_LENGTH_MM * s, sx, conv) for sx in (-1, 1))
    cortex = VERTEBRAL_CORTEX_MM * s
    scene.add(Component("spine", marrow, "cavity", Solid(bodies),
                        shell_mm=cortex, shell_material="cortical", label_priority=9,
                        label_min_mm=3, xray_gain=VERTEBRAL_GAIN, ct=False,
                        mask_as="vertebral_bodies"))
    if pedicles:
        scene.add(Component("spine", marrow, "muscle", Solid(pedicles),
                            shell_mm=PEDICLE_CORTEX_MM * s, shell_material="cortical",
                            label_priority=9, label_min_mm=3, xray_gain=VERTEBRAL_GAIN,
                            ct=False, mask_as="pedicles"))
    scene.params["spine_z0"] = float(levels[0])
    scene.params["spine_hv"] = float(hv)
    scene.params["spine_y"] = float(y_b)

    def arch_tubes() -> Tubes:
        p0, p1, r0, r1 = [], [], [], []

        def seg(a, b, ra, rb):
            p0.append(a)
            p1.append(b)
            r0.append(ra)
            r1.append(rb)

        for k, (z, _hh, _disc) in film.items():
            if k < -1:
                continue
            yb = back - kyphosis(z, s)
            half_w = _vertebra(k)["width"] / 2 * s
            for sx in (-1, 1):
                ped_b = np.array([sx * (half_w - 5 * s), yb - 12 * s, z + 2 * s])
                if view == "lateral" and k in pedicle_at:
                    px, pz, pr = pedicle_at[k]
                    seg(np.array([sx * px, yb + 2 * s, pz]), np.array([sx * px, yb - 12 * s, pz]),
                        pr, pr)
                lam_b = np.array([0, yb - 24 * s, z - 2 * s])
                seg(ped_b, lam_b, 3.5 * s, 3.5 * s)
                tp = np.array([sx * 30 * s, yb - 20 * s, z + 1 * s])
                seg(ped_b, tp, 4.5 * s, 3.5 * s)
            sp = np.array([0, yb - 44 * s, z - 16 * s])
            seg(np.array([0, yb - 24 * s, z - 2 * s]), sp, 4.0 * s, 2.8 * s)
        return Tubes(np.array(p0), np.array(p1), np.array(r0), np.array(r1))

    # films: the laminae and processes follow the kyphosis of the film's vertebral bodies;
    # CT draws its own posterior elements on the slice (ct_spine.py)
    scene.add(Component("spine", "cancellous", "muscle", tubes=arch_tubes(),
                        shell_mm=1.2 * s, shell_material="cortical", label_priority=9,
                        blur_px=1.4, xray_gain=ARCH_GAIN, ct=False))
    scene.landmarks["y_spine"] = float(y_b)


# The sternum: (top, bottom) in vertebral levels, half-widths and thicknesses at top and bottom
# (mm at s = 1): the manubrium, thickest at the clavicular notches and tapering to the joint
# (~16 to ~12 mm), the body (~9-10 mm) and the thin xiphoid
# (Gray's Anatomy); they meet at the sternal angle (of Louis), which juts forward (the two
# bones' front surfaces meet at ~160-165 degrees): each bone's end at the joint is set this far
# in front of the chest's curve.
STERNUM_PARTS = ((2.4, 4.45, 27, 15, 16, 12), (4.55, 8.6, 14, 16, 10, 9),
                 (8.7, 10.1, 9, 3, 5, 3))
STERNAL_ANGLE_MM = 4.0
# its cortex: ~1 mm in front, thinner behind; one shell of 1 mm
STERNAL_CORTEX_MM = 1.0


def _sternum(scene: Scene, s: float, zT, cav_ab, y_cav: float) -> None:
    """One sternum for films and CT: manubrium and body with a cortex round trabecular bone,
    meeting at the forward-jutting sternal angle, and a thin tapering xiphoid, lying on the
    front of the thoracic cavity, so it follows the chest's gentle curve (forward as it goes
    down). On a frontal film the beam crosses only its thickness, so it hides in the spine's
    shadow; on a lateral it crosses its width and stands out."""
    pieces = []
    for i, (k0, k1, w0, w1, th0, th1) in enumerate(STERNUM_PARTS):
        z0, z1 = zT(k0), zT(k1)
        # back surface, top and bottom; the joint's ends lifted forward (the sternal angle)
        lift0 = STERNAL_ANGLE_MM * s if i == 1 else 0.0
        lift1 = STERNAL_ANGLE_MM * s if i == 0 else 0.0
        p0 = np.array([0.0, y_cav + cav_ab(z0)[1] - 2 * s + lift0, z0])
        p1 = np.array([0.0, y_cav + cav_ab(z1)[1] - 2 * s + lift1, z1])
        d = (p0 - p1) / np.linalg.norm(p0 - p1)  # up along the bone
        n = np.array([0.0, d[2], -d[1]])  # forward, normal to it in the midsagittal plane
        # the sides narrow (or widen) from top to bottom
        tan = (w0 - w1) * s / (z0 - z1)
        side = [halfspace(np.array([sx, 0.0, -tan]) / np.hypot(1, tan),
                          (w1 * s - tan * z1) / np.hypot(1, tan)) for sx in (1.0, -1.0)]
        # the front surface, through the top and bottom thicknesses
        f0, f1 = p0 + n * th0 * s, p1 + n * th1 * s
        df = (f0 - f1) / np.linalg.norm(f0 - f1)
        nf = np.array([0.0, df[2], -df[1]])
        th = max(th0, th1)
        mid = 0.5 * (p0 + p1) + n * th * s / 2
        lo = np.minimum(p0, p1) - np.array([max(w0, w1) * s, 2 * s, 0])
        hi = np.maximum(p0, p1) + np.array([max(w0, w1) * s, th * s + 2 * s, 0])
        pieces.append(Convex([halfspace(-n, -float(n @ p0)), halfspace(nf, float(nf @ f0)),
                              halfspace([0, 0, 1], z0), halfspace([0, 0, -1], -z1), *side,
                              ellipsoid_q(mid, [max(w0, w1) * s * 1.05, th * s * 0.62,
                                                float(np.linalg.norm(p0 - p1))],
                                          np.column_stack([[1.0, 0, 0], n, d]))], (lo, hi)))
    scene.add(Component("sternum", "cancellous", "muscle", Solid(pieces),
                        shell_mm=STERNAL_CORTEX_MM * s, shell_material="cortical",
                        label_priority=9, label_min_mm=3))


def bones(fr: Frame, body_pieces: list[Convex], rx_b: float, z_top: float,
          lung_gutter_holes: list[Convex]) -> dict[tuple[str, int], np.ndarray]:
    """Ribs, spine, sternum and shoulder girdle (and the lateral film's corrections); draws
    the ribs' jitter, then the shoulders'. Returns the ribs' centrelines (for fractures)."""
    s, zT, scene, rand, view = fr.s, fr.zT, fr.scene, fr.rand, fr.view
    ribs = _ribs(rand, s, zT, fr.cav_ab, fr.y_cav, fr.hv, fr.adjust)
    for comp in ribs["components"].values():
        scene.add(comp)
    _spine(scene, s, zT, fr.y_cav, fr.b_mid, fr.elderly, view)
    _sternum(scene, s, zT, fr.cav_ab, fr.y_cav)
    shoulders(scene, rand, s, zT, fr.a_mid, fr.b_mid, fr.y_cav, rx_b, z_top, view, body_pieces)
    _costal_cartilage(scene, ribs["tips"], s, zT, fr.cav_ab, fr.y_cav, fr.age)
    if view == "lateral":
        lateral_film(scene, s, fr.cavity, lung_gutter_holes)
    return ribs["centerlines"]
