"""Mediastinum step: the superior, posterior and paraspinal mediastinal spaces (holes in the
lungs), the heart's chambers sized to the target cardiothoracic ratio, the aorta, pulmonary
arteries, SVC, oesophagus and the airway (trachea and main bronchi)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from imagine_med.engine.phantom.geometry import (
    Convex,
    Solid,
    Tubes,
    axis_rotation,
    ellipsoid,
    ellipsoid_q,
    halfspace,
)
from imagine_med.engine.phantom.regions.chest.frame import Frame, rhombus
from imagine_med.engine.phantom.scene import Component

# half the width of the superior mediastinum's band of even depth round the trachea (mm,
# adult): the ~18 mm air column (Breatnach 1984), its ~1.5 mm wall and the right paratracheal
# stripe (2-4 mm) out to the lung, which reaches that close beside it
_PARATRACHEAL_HALF_WIDTH = 9.0 + 1.5 + 3.0
# the trachea's film gain, 2.0 before the band: at 1.0 its middle half is 2.7-9.7 grey levels
# darker than the tissue 3-10 mm beside it at the clavicles (seed 31, 384 px; the test asks
# > 4); a band wide enough for > 4 everywhere brightens the clavicles' surround
# (docs/phantom.md, "Gains that remain")
TRACHEA_FILM_GAIN = 1.25


@dataclass
class Mediastinum:
    """What the lungs, bones and findings need of the mediastinum: the spaces the lungs keep
    out of, the heart's pieces and axes, the hila, and points devices aim for."""

    med: Convex
    inlet: list[Convex]
    med_low: Convex
    para: Convex
    knob: Convex
    knob_c: np.ndarray
    lsa: Convex
    desc: Convex
    trunk: Convex
    svc: Convex
    svc_top: np.ndarray
    svc_bot: np.ndarray
    heart: list[Convex]
    hc: np.ndarray
    hr: np.ndarray
    Rh: np.ndarray
    lac: np.ndarray
    f: float
    hila: dict[str, np.ndarray]
    root: np.ndarray
    trachea: np.ndarray
    thorax: float


def mediastinum(fr: Frame) -> Mediastinum:
    """Heart, great vessels and airway; draws the CTR and the heart's axis and radii."""
    s, zT, shift, adjust, view, land = fr.s, fr.zT, fr.shift, fr.adjust, fr.view, fr.land
    y_cav, b_mid, a_mid, elderly, rand, scene = fr.y_cav, fr.b_mid, fr.a_mid, fr.elderly, \
        fr.rand, fr.scene
    z_dome_l, z_dome_r, age = fr.z_dome_l, fr.z_dome_r, fr.age
    # the superior mediastinum: one deep ellipsoid (sternum-side narrow, so the lungs still
    # meet in front of it) whose coronal outline is curved, widest at the arch, narrowing to
    # the thoracic inlet, where its right side hugs the trachea (the right paratracheal
    # stripe); its borders join the SVC (right), the left subclavian artery and the aortic
    # knob (left) holes
    widen = adjust.mediastinum_widen * (1.2 if view == "ap" else 1.0)
    med = ellipsoid([-1 * s + shift, y_cav - 20 * s, zT(3.0)],
                    np.array([26 * widen * s, b_mid * 0.5, 96 * s]))
    # (frontal films) from the neck down to the arch, from the cavity's front (the manubrium)
    # back to the deep ellipsoid's back (the oesophagus, in front of the spine)
    inlet = _inlet_band(med, zT(-0.5), land["z_arch"], _PARATRACHEAL_HALF_WIDTH * widen * s,
                        y_cav + b_mid) if view in ("pa", "ap") else []
    # below the carina: the subcarinal / posterior mediastinum between heart and spine
    # and the oesophagus below it: the azygo-oesophageal recess lets the lungs come close to
    # the midline behind the heart, so the retrocardiac spine is seen through lung, not fat
    med_low = ellipsoid([7 * s + shift, -30 * s, zT(7)], np.array([11, 13, 95]) * s)
    # the spine's own space: the lungs reach the vertebral bodies on both sides and, in the
    # azygo-oesophageal recess, come close to the midline in front of them
    # a rhombus in cross-section (four planes): the lung thins linearly toward the midline
    # instead of stepping off a cylinder, so the paraspinal lung has no ruler-straight edge
    para = rhombus(shift * 0.3 + 1 * s, y_cav - b_mid + 24 * s, 30 * s, 24 * s, zT(-2),
                    zT(14))
    if view == "ct":  # a slice sees the cross-section itself: the lung hugs the round body
        para = ellipsoid([shift * 0.3 + 1 * s, y_cav - b_mid + 24 * s, zT(6)],
                         np.array([21, 19, 230]) * s)
    knob_c = np.array([24 * s + shift + (6 * s if elderly else 0), -16 * s, land["z_arch"]])
    knob = ellipsoid(knob_c, np.array([17 if not elderly else 20, 34, 17]) * s)
    # above the knuckle the left border is the left subclavian artery, running up and out
    # from the arch's top toward the apex (medial to the knuckle: the knuckle bulges)
    lsa = _vessel(np.array([14 * s + shift, -14 * s, land["z_arch"] + 8 * s]),
                  np.array([30 * s + shift, -12 * s, zT(0.2)]), np.array([8, 9]) * s)
    # the descending aorta's left border (the para-aortic line) runs medial to the knuckle,
    # leaving the aortopulmonary window's notch under it
    d_top = np.array([20 * s + shift, -38 * s, land["z_arch"] - 15 * s])
    d_bot = np.array([10 * s + shift * 0.4, y_cav - b_mid + 42 * s, zT(11)])
    desc = _vessel(d_top, d_bot, np.array([14, 17]) * s)
    trunk = ellipsoid([22 * s + shift, 20 * s, land["z_pulmonary_trunk"]],
                      np.array([17, 19, 24]) * s)
    svc_top = np.array([-24 * s + shift, 10 * s, zT(1.5)])
    svc_bot = np.array([-22 * s + shift, 14 * s, zT(6.5)])
    # the right superior mediastinal border: the SVC (with the brachiocephalic vein above
    # it), sloping out as it descends, so the mediastinum widens down to the right atrium
    svc = _vessel(svc_top + np.array([6 * s, -8 * s, 22 * s]),
                  svc_bot + np.array([-8 * s, -8 * s, 0]), np.array([16, 36]) * s)

    # heart: ventricles (tilted ellipsoid) + right atrium, scaled to the target CTR
    ctr = adjust.ctr if adjust.ctr is not None else rand.uniform(0.43, 0.47)
    if age < 2 and adjust.ctr is None:
        ctr = rand.uniform(0.5, 0.56)
    axis = np.array([0.78, 0.22, -0.58]) + rand.normal(3) * 0.05
    # the ellipsoid's second axis (radius hr[1], the deep one) must be the one nearest to y:
    # axis_rotation's first column is, which made the heart a thin coronal disc on films
    Rh = axis_rotation(axis)[:, [1, 0, 2]]
    base_z = z_dome_l - 12 * s
    hc = np.array([18 * s + shift, 22 * s, z_dome_l + 70 * s])
    hr = np.array([56, 60, 100]) * s * rand.uniform(0.95, 1.05, 3)
    rac = np.array([-26 * s + shift, 8 * s, z_dome_r + 42 * s])
    rar = np.array([26, 32, 62]) * s

    def half(R, radii, i):
        return float(np.sqrt(((R[i] * radii) ** 2).sum()))

    ref = np.array([8 * s + shift, 15 * s, base_z])
    thorax = 2 * (a_mid - 3 * s)
    hc0, rac0, hr0, rar0 = hc, rac, hr, rar

    def scaled(f: float):
        fy = np.array([f, 1.0, f])
        return (ref + (hc0 - ref) * fy, ref + (rac0 - ref) * fy,
                hr0 * np.array([f, 0.85, f]), rar0 * np.array([f, 1.1, f]))

    def width(f: float) -> float:
        c1, c2, r1, r2 = scaled(f)
        return (c1[0] + half(Rh, r1, 0)) - (c2[0] - r2[0])

    f = 1.0
    for _ in range(4):
        f *= ctr * thorax * 0.95 / width(f)
    hc, rac, hr, rar = scaled(f)
    # the heart rests on the diaphragm: drop it until its lowest point is below the base
    sink = (hc[2] - half(Rh, hr, 2)) - (base_z - 6 * s)
    hc[2] -= sink
    rac[2] = min(rac[2], base_z - 10 * s + rar[2])
    base_clip = halfspace([0, 0, -1], -base_z)
    heart_main = ellipsoid(hc, hr, Rh, base_clip)
    heart_ra = ellipsoid(rac, rar, None, base_clip)
    # left atrium: the posterior chamber, lying on the oesophagus in front of the spine
    lac = np.array([12 * s + shift, hc[1] - 40 * s, hc[2] + 22 * s])
    heart_la = ellipsoid(lac, np.array([34 * f, 22, 38 * f]) * s, None, base_clip)
    # left ventricle: the thick posterolateral chamber that makes the left heart border dense
    lvc = hc + np.array([18 * f, -24, -14 * f]) * s
    heart_lv = ellipsoid(lvc, np.array([36 * f, 46, 44 * f]) * s, None, base_clip)
    heart = [heart_main, heart_ra, heart_la, heart_lv]
    land["ctr_target"] = ctr
    land["heart_top"] = float(hc[2] + hr.max() * 0.6)
    # CT only: one myocardial hull so the chambers read as one heart (no contrast in them)
    hull_c = (hc * 2 + rac + lac) / 4
    hull = ellipsoid(hull_c, np.array([0.9 * hr[0], 0.9 * hr[1], 0.8 * hr[2]]) * 0.85, Rh,
                     base_clip)
    scene.add(Component("heart", "blood", "cavity", Solid([hull]), xray=False))
    scene.add(Component("heart", "blood", "cavity", Solid([heart_main]), label_priority=30,
                        label_min_mm=5))
    scene.add(Component("heart", "blood", "cavity", Solid([heart_ra], [heart_main]),
                        label_priority=30, label_min_mm=5))
    scene.add(Component("heart", "blood", "cavity", Solid([heart_la], [heart_main, heart_ra]),
                        label_priority=30, label_min_mm=5))
    scene.add(Component("heart", "blood", "cavity",
                        Solid([heart_lv], [heart_main, heart_ra, heart_la]),
                        label_priority=30, label_min_mm=5))
    scene.points["heart_center"] = hc

    # aorta, pulmonary arteries, SVC, oesophagus as tubes
    zA = land["z_arch"]
    root = np.array([4 * s + shift, 24 * s, hc[2] + 40 * s])
    # (CT only: the film draws the knob) the arch sweeps from in front of the trachea round
    # its left side to the back, a 'hockey stick' on an axial slice at its top
    aorta_pts = np.array([
        root, [-10 * s + shift, 26 * s, zA - 30 * s], [-4 * s + shift, 24 * s, zA - 4 * s],
        [12 * s + shift, 18 * s, zA + 6 * s], [22 * s + shift, 2 * s, zA + 7 * s],
        [22 * s + shift, -16 * s, zA + 2 * s],
        d_top, [18 * s + shift * 0.8, -44 * s, zA - 60 * s], d_bot,
        [6 * s, d_bot[1] + 4 * s, zT(13)],
    ])
    ar = np.array([15, 15, 14, 13, 13, 12.5, 12, 12, 11, 11]) * s * (1.1 if elderly else 1.0)
    scene.add(Component("aorta", "blood", "cavity", tubes=Tubes.from_polyline(aorta_pts, ar),
                        label_priority=28, blur_px=2.0, xray=False))
    scene.add(Component("aorta", "blood", "cavity", Solid([knob]), label_priority=27, ct=False,
                        label_min_mm=8))
    hila = {"right": np.array([-46 * s + shift * 0.5, -2 * s, -30 * s]),
            "left": np.array([44 * s + shift * 0.5, -8 * s, -12 * s])}
    tr_c = np.array([22 * s + shift, 20 * s, land["z_pulmonary_trunk"]])
    rpa = np.array([tr_c, [0 + shift, 10 * s, -20 * s], [-26 * s + shift * 0.7, 4 * s, -26 * s],
                    hila["right"]])
    lpa = np.array([tr_c, [32 * s + shift, 8 * s, -4 * s], [40 * s + shift * 0.7, -4 * s,
                                                            -6 * s], hila["left"]])
    pa = Tubes.concat([Tubes.from_curve(rpa, np.array([13, 12, 11, 10]) * s, 2),
                       Tubes.from_curve(lpa, np.array([13, 12, 11, 10]) * s, 2)])
    scene.add(Component("pulmonary_artery", "blood", "lung", tubes=pa, label_priority=26,
                        blur_px=1.5, xray_gain=1.0))
    svc_t = Tubes.from_polyline(np.array([svc_top + np.array([0, 0, 90 * s]), svc_top, svc_bot]),
                                np.array([10, 11, 12]) * s)
    scene.add(Component("svc", "blood", "cavity", tubes=svc_t, xray=False, label_priority=25))
    eso = Tubes.from_polyline(np.array([[4 * s, 0, zT(-1)], [6 * s + shift, -24 * s, zT(4)],
                                        [8 * s + shift, -30 * s, zT(8)],
                                        [20 * s, -10 * s, z_dome_l - 20 * s]]), 8 * s)
    scene.add(Component("esophagus", "muscle", "cavity", tubes=eso, xray=False, label_priority=24))

    # airway: trachea + main bronchi (air in the mediastinum)
    carina = np.array([0 + shift * 0.8, -6 * s, 0.0])
    trachea = np.array([[0, 14 * s, zT(-1.5)], [-2 * s + shift * 0.3, 8 * s, zT(2)],
                        [-1 * s + shift * 0.6, 0, zT(3.8)], carina])
    rmb = np.array([carina, [-20 * s + shift * 0.6, -8 * s, -16 * s],
                    hila["right"] + np.array([8, -4, 4]) * s])
    lmb = np.array([carina, [22 * s + shift * 0.6, -10 * s, -10 * s],
                    hila["left"] + np.array([-8, -4, 0]) * s])
    main_bronchi = Tubes.concat([Tubes.from_polyline(rmb, 7 * s), Tubes.from_polyline(lmb, 6 * s)])
    # the main bronchi at their true density; the trachea, in the inlet's band (no longer a
    # rounded column densest at the midline), nearly so (TRACHEA_FILM_GAIN)
    # the trachea is drawn from the carina up to the larynx, above the film's top edge, so
    # neither end shows a rounded cap (a dark disc at the carina, a dome in the neck)
    larynx = trachea[0] + np.array([0, 4, 60]) * s
    airway = Tubes.from_polyline(np.vstack([trachea[::-1], larynx]), 9 * s)
    for tubes, gain in ((airway, TRACHEA_FILM_GAIN), (main_bronchi, 1.0)):
        scene.add(Component("trachea", "air", "cavity", tubes=tubes, label_priority=29,
                            blur_px=1.2, shell_mm=1.5, shell_material="soft", xray_gain=gain))
    scene.points["carina"] = carina
    land["x_carina"] = float(carina[0])

    return Mediastinum(med, inlet, med_low, para, knob, knob_c, lsa, desc, trunk, svc, svc_top,
                       svc_bot, heart, hc, hr, Rh, lac, f, hila, root, trachea, thorax)


def _inlet_band(med: Convex, z_top: float, z_bot: float, half_width: float, y_front: float
                ) -> list[Convex]:
    """The superior mediastinum round the trachea, from the thoracic inlet down to the arch,
    as a frontal film crosses it: a band of even depth (the great vessels in front of the
    trachea, the oesophagus behind it, fat between), its sides the mediastinal pleura, the
    near-sagittal sheets the lungs' apices lie against a few millimetres beside the trachea
    (the paratracheal stripes). The deep ellipsoid `med` alone is a rounded column, deepest
    (densest) at the midline, which hid the trachea's air at its true density; in the band
    the tissue beside the trachea is as deep as round it, so the air is what changes the
    path along the ray. Returned as the lungs' hole (a list: none off frontal films)."""
    (c, _R, r) = med.quadrics[0].params
    lo = np.array([c[0] - half_width, c[1] - r[1], z_bot])
    hi = np.array([c[0] + half_width, y_front, z_top])
    mid = (lo + hi) / 2
    # its coronal outline: straight sides over the middle ~60% of its height, rounded ends
    # (an elliptic cylinder front to back, a quarter wider than the band)
    ends = ellipsoid_q(mid, [1.25 * half_width, 10 * (hi[1] - lo[1]), (z_top - z_bot) / 2])
    return [Convex([ends, halfspace([1, 0, 0], hi[0]), halfspace([-1, 0, 0], -lo[0]),
                    halfspace([0, 1, 0], hi[1]), halfspace([0, -1, 0], -lo[1])], (lo, hi))]


def _vessel(top: np.ndarray, bottom: np.ndarray, radii: np.ndarray) -> Convex:
    """A vessel's space in the lungs: an ellipsoid from top to bottom, radii (x, y) across
    (for a near-vertical axis, axis_rotation's first column is the one nearest y)."""
    return ellipsoid((top + bottom) / 2, [radii[1], radii[0], np.linalg.norm(top - bottom) / 2],
                     axis_rotation(top - bottom))
