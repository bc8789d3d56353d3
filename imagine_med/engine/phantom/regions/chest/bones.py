"""Bones step: ribs (posterior and anterior arcs), the thoracic spine (CT column with disc
texture, film vertebral bodies and neural arches), the sternum, then the shoulder girdle
(shoulders.py) and the lateral film's corrections (lateral.py)."""

from __future__ import annotations

import numpy as np

from imagine_med.engine.phantom.geometry import (
    Convex,
    Solid,
    Tubes,
    cylinder_q,
    ellipsoid_q,
    halfspace,
)
from imagine_med.engine.phantom.regions.chest.frame import SIDES, Adjust, Frame, Rand
from imagine_med.engine.phantom.regions.chest.lateral import lateral_film
from imagine_med.engine.phantom.regions.chest.shoulders import TRABECULAR, shoulders
from imagine_med.engine.phantom.scene import Component, Scene


def kyphosis(z: float, s: float) -> float:
    """Posterior offset (mm) of the thoracic spine: its normal kyphosis, deepest mid-chest."""
    return 9.0 * s * max(0.0, 1.0 - ((z + 60.0 * s) / (230.0 * s)) ** 2)



def _ribs(rand: Rand, s, zT, cav_ab, y_cav, hv, adjust: Adjust) -> dict:
    """Twelve pairs of ribs as tubes following the inner chest wall: posterior arcs nearly
    horizontal by the spine, then curving down round the side; anterior arcs sloping down
    toward the (radiolucent) costal cartilage."""
    ends = [2.55, 2.45, 2.4, 2.35, 2.3, 2.25, 2.15, 2.0, 1.85, 1.65, 1.35, 1.0]
    drops = [32, 62, 78, 88, 95, 100, 104, 100, 90, 72, 48, 30]
    comps: dict[str, Component] = {}
    centerlines: dict[tuple[str, int], np.ndarray] = {}
    parts: dict[tuple[str, str], list[Tubes]] = {}
    tips: dict[tuple[str, int], tuple[float, float, float]] = {}  # anterior ends
    jit = rand.normal((2, 12, 3)) * 0.04
    for si, (side, sx) in enumerate(SIDES.items()):
        for k in range(1, 13):
            j = jit[si, k - 1]
            phi0, phi1 = 0.22, ends[k - 1] * (1 + j[0] * 0.3)
            phis = np.linspace(phi0, phi1, 28)
            t = (phis - phi0) / (phi1 - phi0)
            z_post = zT(k) + 0.25 * hv
            drop = drops[k - 1] * s * (1 + j[1])
            z = z_post - drop * t**1.55
            # thick and round by the spine, thinning and flattening toward the costal
            # cartilage: posterior arcs are denser than anterior ones by their own path length
            r_rib = (5.8 - 3.6 * t) * s * (0.8 if k == 1 else 1.0)
            pts = _on_wall(sx, phis, z, r_rib, cav_ab, y_cav)
            centerlines[(side, k)] = pts
            tips[(side, k)] = (float(phi1), float(z[-1]), float(r_rib[-1]))
            frac = adjust.rib_fracture
            pieces = [(pts, r_rib, phis)]
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
                pieces = [(a_pts, r_rib[: i + 1], phis[: i + 1]), (b_pts, r_rib[i:], phis[i:])]
                centerlines[("fracture", 0)] = pts[i] + disp * 0.4
            for ppts, rr, pp in pieces:
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
                    w = _rib_depth(pp[lo_i: hi_i + 1], phi0, phi1)
                    seg.depth = (w[:-1] + w[1:]) / 2
                    parts.setdefault((side, arc), []).append(seg)
    for (side, arc), lst in parts.items():
        comps[f"{side}_{arc}"] = Component(
            "ribs", "rib", "muscle", tubes=Tubes.concat(lst), shell_mm=1.3 * s,
            shell_material="cortical", label_priority=8, blur_px=1.4, outline=1.3 * s,
            xray_gain=1.0, trabecular=TRABECULAR["rib"],
            mask_as="ribs_anterior" if arc == "ant" else "ribs_posterior")
    return {"components": comps, "centerlines": centerlines, "tips": tips}


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
                     z], axis=1)


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
    plain, calcified = [], []
    for side, sx in SIDES.items():
        lines: dict[int, np.ndarray] = {}
        for k in range(1, 11):
            phi1, z1, r1 = tips[(side, k)]
            if k <= 7:
                phi2, z2 = np.pi - 18 * s / cav_ab(zT(attach[k]))[0], zT(attach[k])
            else:  # to the cartilage above, half way along
                above = lines[k - 1]
                target = above[len(above) // 2]
                phi2 = np.pi - np.arcsin(min(1.0, abs(target[0]) / cav_ab(target[2])[0]))
                z2 = target[2] - 4 * s
            phis = np.linspace(phi1, phi2, 8)
            t = np.linspace(0.0, 1.0, 8)
            zz = z1 + (z2 - z1) * t ** 0.8  # the cartilage turns up toward the sternum
            rr = r1 * 0.9 + (3.2 * s - r1 * 0.9) * t
            line = _on_wall(sx, phis, zz, rr, cav_ab, y_cav)
            lines[k] = line
            segs = Tubes.from_polyline(line, rr)
            calc = rng.uniform(size=len(segs)) < calcified_share
            calcified.append(segs.subset(calc))
            plain.append(segs.subset(~calc))
    # a calcified stretch is mineralised like bone (cortical density in patches: the texture
    # breaks it into the granular bars seen on films)
    for parts, material in ((plain, "cartilage"), (calcified, "cortical")):
        tubes = Tubes.concat(parts)
        if len(tubes):
            scene.add(Component("costal_cartilage", material, "muscle",
                                tubes=tubes, label_priority=8, blur_px=1.4,
                                ct=False, trabecular=0.5 if material == "cortical" else 0.0))


def _spine(scene: Scene, s, zT, y_cav, b_mid, elderly: bool) -> None:
    """Vertebral bodies as one column whose disc spaces are a texture (cheap to integrate), and
    the neural arches (pedicles, laminae, transverse and spinous processes) as short tubes."""
    y_b = y_cav - b_mid + 24 * s
    top, bot = zT(-1.5), zT(14.5)
    rx, ry = 19 * s, 15 * s
    column = Convex([cylinder_q([0, y_b, 0], [rx, ry]), halfspace([0, 0, 1], top),
                     halfspace([0, 0, -1], -bot)],
                    (np.array([-rx, y_b - ry, bot]), np.array([rx, y_b + ry, top])))
    levels = np.array([zT(k) for k in range(-1, 16)])
    hv = zT(0) - zT(1)

    def disc_hu(p: np.ndarray) -> np.ndarray:
        # distance to the nearest disc (half-way between vertebral centres)
        ph = ((p[:, 2] - levels[0]) / hv) % 1.0  # 0.5 half-way between body centres
        d = np.abs(ph - 0.5) * hv  # 0 at a disc centre
        # a thin end plate (a slice through it is mostly its partial volume, not a white
        # disc of cortex) and cancellous bone inside the body's cortical shell
        return np.where(d < 2.5 * s, 90.0, np.where(d < 3.3 * s, 650.0, 300.0))

    # CT: the column with its disc texture; films: separate vertebral bodies (waisted, with
    # rounded end plates) whose disc spaces are real gaps, stacked along a gentle kyphosis
    scene.add(Component("spine", "cancellous", "cavity", Solid([column]), shell_mm=1.2 * s,
                        shell_material="cortical", label_priority=9, label_min_mm=3,
                        ct_texture=disc_hu, xray=False))
    bodies = []
    disc = 4.5 * s
    half_h = (hv - disc) / 2
    for k in range(-2, 15):
        zc_k = zT(k)
        if zc_k + half_h > top or zc_k - half_h < bot:
            continue
        yk = y_b - kyphosis(zc_k, s)
        c = np.array([0.0, yk, zc_k])
        bodies.append(Convex(
            [cylinder_q(c, [rx, ry]), halfspace([0, 0, 1], zc_k + half_h),
             halfspace([0, 0, -1], -(zc_k - half_h)),
             ellipsoid_q(c, [rx * 1.18, ry * 1.22, half_h * 1.55])],
            (c - np.array([rx, ry, half_h]), c + np.array([rx, ry, half_h]))))
    scene.add(Component("spine", "cancellous", "cavity", Solid(bodies), shell_mm=1.8 * s,
                        shell_material="cortical", label_priority=9, label_min_mm=3,
                        xray_gain=0.22 if not elderly else 0.18, ct=False,
                        xray_texture="spine_sign", mask_as="vertebral_bodies",
                        view_gain={"lateral": 1.0 if not elderly else 0.8}))
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

        for k in range(-1, 15):
            z = zT(k)
            yb = y_b - ry - kyphosis(z, s)
            for sx in (-1, 1):
                ped_a = np.array([sx * (rx - 4 * s), yb + 2 * s, z + 2 * s])
                ped_b = np.array([sx * (rx - 3 * s), yb - 12 * s, z + 2 * s])
                seg(ped_a, ped_b, 4.5 * s, 4.5 * s)
                lam_b = np.array([0, yb - 24 * s, z - 2 * s])
                seg(ped_b, lam_b, 3.5 * s, 3.5 * s)
                tp = np.array([sx * 30 * s, yb - 20 * s, z + 1 * s])
                seg(ped_b, tp, 4.5 * s, 3.5 * s)
            sp = np.array([0, yb - 44 * s, z - 16 * s])
            seg(np.array([0, yb - 24 * s, z - 2 * s]), sp, 4.0 * s, 2.8 * s)
        return Tubes(np.array(p0), np.array(p1), np.array(r0), np.array(r1))

    # films: the arches follow the kyphosis of the film's vertebral bodies; CT draws its own
    # posterior elements on the slice (ct_spine.py)
    scene.add(Component("spine", "cancellous", "muscle", tubes=arch_tubes(),
                        shell_mm=1.2 * s, shell_material="cortical", label_priority=9,
                        blur_px=1.4, xray_gain=0.55, view_gain={"lateral": 0.8}, ct=False))
    scene.landmarks["y_spine"] = float(y_b)


def _sternum(scene: Scene, s: float, zT, cav_ab, y_cav: float) -> None:
    """One sternum for films and CT: a thick manubrium, the sternal angle (a thin joint), the
    body and a thin tapering xiphoid, lying on the front of the thoracic cavity, so it
    follows the chest's gentle curve (forward as it goes down). On a frontal film it hides
    in the spine's shadow (a low gain); on a lateral it stands out."""
    # (top, bottom) in vertebral levels, half-widths at top and bottom, thickness (mm / s)
    parts = ((2.4, 4.45, 27, 15, 13), (4.55, 8.6, 14, 16, 10.5), (8.7, 10.1, 9, 3, 5))
    pieces = []
    for k0, k1, w0, w1, th in parts:
        z0, z1 = zT(k0), zT(k1)
        p0 = np.array([0.0, y_cav + cav_ab(z0)[1] - 2 * s, z0])  # back surface, top
        p1 = np.array([0.0, y_cav + cav_ab(z1)[1] - 2 * s, z1])  # ... bottom
        d = (p0 - p1) / np.linalg.norm(p0 - p1)  # up along the bone
        n = np.array([0.0, d[2], -d[1]])  # forward, normal to it in the midsagittal plane
        # the sides narrow (or widen) from top to bottom
        tan = (w0 - w1) * s / (z0 - z1)
        side = [halfspace(np.array([sx, 0.0, -tan]) / np.hypot(1, tan),
                          (w1 * s - tan * z1) / np.hypot(1, tan)) for sx in (1.0, -1.0)]
        mid = 0.5 * (p0 + p1) + n * th * s / 2
        lo = np.minimum(p0, p1) - np.array([max(w0, w1) * s, 2 * s, 0])
        hi = np.maximum(p0, p1) + np.array([max(w0, w1) * s, th * s + 2 * s, 0])
        pieces.append(Convex([halfspace(-n, -float(n @ p0)), halfspace(n, float(n @ p0) + th * s),
                              halfspace([0, 0, 1], z0), halfspace([0, 0, -1], -z1), *side,
                              ellipsoid_q(mid, [max(w0, w1) * s * 1.05, th * s * 0.62,
                                                float(np.linalg.norm(p0 - p1))],
                                          np.column_stack([[1.0, 0, 0], n, d]))], (lo, hi)))
    scene.add(Component("sternum", "cancellous", "muscle", Solid(pieces), shell_mm=1.2 * s,
                        shell_material="cortical", label_priority=9, label_min_mm=3,
                        xray_gain=0.25, view_gain={"lateral": 1.0}))



def bones(fr: Frame, body_pieces: list[Convex], rx_b: float, z_top: float,
          lung_gutter_holes: list[Convex]) -> dict[tuple[str, int], np.ndarray]:
    """Ribs, spine, sternum and shoulder girdle (and the lateral film's corrections); draws
    the ribs' jitter, then the shoulders'. Returns the ribs' centrelines (for fractures)."""
    s, zT, scene, rand, view = fr.s, fr.zT, fr.scene, fr.rand, fr.view
    ribs = _ribs(rand, s, zT, fr.cav_ab, fr.y_cav, fr.hv, fr.adjust)
    for comp in ribs["components"].values():
        scene.add(comp)
    _spine(scene, s, zT, fr.y_cav, fr.b_mid, fr.elderly)
    _sternum(scene, s, zT, fr.cav_ab, fr.y_cav)
    shoulders(scene, rand, s, zT, fr.a_mid, fr.b_mid, fr.y_cav, rx_b, z_top, view, body_pieces)
    _costal_cartilage(scene, ribs["tips"], s, zT, fr.cav_ab, fr.y_cav, fr.age)
    if view == "lateral":
        lateral_film(scene, s, fr.cavity, lung_gutter_holes)
    return ribs["centerlines"]
