"""The seeded, parametric 3D chest: body wall, lobes and fissures, airways and vessels, heart and
great vessels, diaphragm, upper abdomen, spine, ribs, shoulder girdle and breasts.

Every size comes from a seeded draw inside adult (or age-scaled) ranges, so no two seeds share
a geometry and none is measured from a real person. `Adjust` carries what pathology changes in
the normal anatomy (heart size, dome height, mediastinal shift, recoil of a lung, ...), so the
disease is built into the model rather than painted on an image.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.special import ndtr

from imagine_med.engine.phantom.geometry import (
    Convex,
    Quadric,
    Solid,
    Tubes,
    axis_rotation,
    box,
    cylinder_q,
    dome_q,
    ellipsoid,
    ellipsoid_q,
    halfspace,
    rotation,
    up_paraboloid_above,
)
from imagine_med.engine.phantom.scene import Component, Scene

SIDES = {"right": -1.0, "left": 1.0}
LOBES = ("rul", "rml", "rll", "lul", "lingula", "lll")
LOBE_SIDE = {"rul": "right", "rml": "right", "rll": "right", "lul": "left", "lingula": "left",
             "lll": "left"}


class Rand:
    """Seeded draws; with `variation` > 0 every draw is pulled toward the base seed's draw,
    so a "V" variant keeps the anatomy of the image it came from, only nudged."""

    def __init__(self, seed: int, base_seed: int | None = None, variation: float = 0.0):
        self.a = np.random.default_rng(seed)
        self.v = float(np.clip(variation, 0.0, 1.0))
        self.b = np.random.default_rng(base_seed) if base_seed is not None and self.v > 0 else None

    def normal(self, size=None):
        z = self.a.standard_normal(size)
        if self.b is not None:
            zb = self.b.standard_normal(size)
            v = self.v
            z = ((1 - v) * zb + v * z) / np.sqrt((1 - v) ** 2 + v**2)
        return z

    def uniform(self, lo: float, hi: float, size=None):
        return lo + (hi - lo) * ndtr(self.normal(size))

    def choice(self, options):
        i = int(self.uniform(0, len(options) - 1e-9))
        return options[i]

    def chance(self, p: float) -> bool:
        return bool(self.uniform(0, 1) < p)


@dataclass
class Adjust:
    """How findings alter the normal anatomy before it is built."""

    ctr: float | None = None
    dome_shift: dict[str, float] = field(default_factory=lambda: {"right": 0.0, "left": 0.0})
    dome_flatten: float = 1.0
    shift_x: float = 0.0  # mediastinal shift, + toward the patient's left
    lung_material: str = "lung"
    vessel_scale_upper: float = 1.0
    vessel_scale_periphery: float = 1.0
    rib_fracture: tuple[str, int, float, float] | None = None  # side, rib, phi, displacement
    liver_top_drop: float = 0.0
    mediastinum_widen: float = 1.0


@dataclass
class Anatomy:
    """Named pieces the pathology builder reuses (so a finding follows the anatomy)."""

    scene: Scene
    lobe_pieces: dict[str, Convex]
    lobe_holes: dict[str, list[Convex]]
    side_envelope: dict[str, Convex]
    side_holes: dict[str, list[Convex]]
    cavity: Convex
    domes: dict[str, object]
    heart: list[Convex]
    hila: dict[str, np.ndarray]
    trees: dict[str, Tubes]
    bronchi: dict[str, Tubes]
    ribs: dict[tuple[str, int], np.ndarray]
    body_pieces: list[Convex]
    comps: dict[str, Component]
    # CT: the bronchi down to ~2 mm across, for air bronchograms (empty: use `bronchi`)
    air_bronchi: dict[str, Tubes] = field(default_factory=dict)


def size_for_age(age: int | None, age_group: str | None) -> float:
    if age is None:
        age = {"neonate": 0, "infant": 1, "child": 7, "adolescent": 15, "elderly": 75}.get(
            age_group or "", 40)
    if age >= 17:
        return 1.0
    return float(0.36 + 0.64 * (1 - np.exp(-age / 6.5)) / (1 - np.exp(-17 / 6.5)))


def build_anatomy(rand: Rand, sex: str, age: int, posture: str, adjust: Adjust,
                  view: str = "pa") -> Anatomy:
    female = sex == "female"
    s = size_for_age(age, None) * (0.93 if female and age >= 14 else 1.0)
    s *= rand.uniform(0.94, 1.06)
    wf = rand.uniform(0.92, 1.08)  # habitus: width
    df = rand.uniform(0.92, 1.08)  # habitus: depth
    fat = s * rand.uniform(8, 24) * (1.25 if female else 1.0) * (0.6 if age < 14 else 1.0)
    elderly = age >= 65
    hv = 24.0 * s * rand.uniform(0.96, 1.04)

    def zT(k: float) -> float:
        return -(k - 5.0) * hv

    a_mid = 134.0 * s * wf
    b_mid = 94.0 * s * df
    y_cav = -4.0 * s
    insp = rand.uniform(-10, 10) * s
    if view == "ap":
        insp += 18 * s  # supine, less inspiration: domes higher
    z_dome_r = zT(9.8) + insp + adjust.dome_shift["right"]
    dome_gap = rand.uniform(8, 24) * s if rand.chance(0.93) else rand.uniform(0, 4)
    z_dome_l = zT(9.8) + insp - dome_gap + adjust.dome_shift["left"]
    zc = zT(9.6) + insp  # level of the widest lung
    apex_z = zT(1) + rand.uniform(14, 28) * s
    rz_cav = apex_z + 3 - zc
    cav_center = np.array([0.0, y_cav, zc])
    cav_radii = np.array([a_mid, b_mid, rz_cav])
    cavity = ellipsoid(cav_center, cav_radii)

    def cav_ab(z: float) -> tuple[float, float]:
        f = np.sqrt(max(1e-4, 1 - ((z - zc) / rz_cav) ** 2))
        return a_mid * f, b_mid * f

    land: dict[str, float] = {
        "size": s, "z_carina": 0.0, "z_dome_right": z_dome_r, "z_dome_left": z_dome_l,
        "z_apex": apex_z, "hv": hv, "a_mid": a_mid, "b_mid": b_mid, "y_cav": y_cav,
        "fat": fat,
    }
    for k in range(1, 13):
        land[f"t{k}"] = zT(k)
    land["z_arch"] = zT(3.6) + (8 * s if elderly else 0)
    land["z_pulmonary_trunk"] = zT(5.8)
    land["z_heart"] = (zT(5.8) + z_dome_l) / 2
    land["z_bases"] = z_dome_r - 12 * s
    land["z_inlet"] = zT(1)
    land["z_apices"] = apex_z - 25 * s

    scene = Scene(components=[], landmarks=land, posture=posture)
    comps: dict[str, Component] = {}
    shift = adjust.shift_x

    # ---- body wall: fat envelope (torso, shoulders cap, neck) with a muscle layer inside --
    z_top = zT(1) + 18 * s
    rx_b, ry_b = a_mid + 14 * s + fat, b_mid + 14 * s + fat * 0.9
    # the flanks curve in toward the waist (a tall ellipsoid clips the cylinder), so the body
    # outline on a film is not a pair of ruler-straight vertical lines
    z_waist = z_top + 40 * s

    def waist(rx: float, ry: float):
        return ellipsoid_q([0, 0, z_waist], [rx * 1.1, ry * 1.25, 620 * s])

    torso = Convex([cylinder_q([0, 0, 0], [rx_b, ry_b]), halfspace([0, 0, 1], z_top),
                    waist(rx_b, ry_b)],
                   (np.array([-rx_b, -ry_b, zT(14)]), np.array([rx_b, ry_b, z_top])))
    neck_r = np.array([52, 50]) * s * (1.0 + fat / (100 * s))
    # the trapezius slopes from the neck down to the shoulder tips: two planes roof the cap,
    # so the shoulders are not a rounded box
    slope = np.radians(28)

    def roof(inset: float) -> list:
        d = np.sin(slope) * neck_r[0] + np.cos(slope) * (z_top + 58 * s) - inset
        return [halfspace([sx * np.sin(slope), 0, np.cos(slope)], d) for sx in (-1, 1)]

    cap = ellipsoid([0, 0, z_top], [rx_b, ry_b, 62 * s], None,
                    halfspace([0, 0, -1], -z_top), *roof(0.0))
    # the neck narrows upward (a tall ellipsoid, not a cylinder)
    neck = Convex([ellipsoid_q([0, 8 * s, z_top - 40 * s], [neck_r[0] * 1.12, neck_r[1] * 1.06,
                                                            260 * s]),
                   halfspace([0, 0, -1], -z_top)],
                  (np.array([-neck_r[0], -60 * s, z_top]), np.array([neck_r[0], 60 * s,
                                                                      z_top + 260 * s])))
    cap_solid = Solid([cap.with_()])
    body_pieces = [torso, cap]
    scene.add(Component("subcutaneous_fat", "fat", "air", Solid([torso]), label_priority=1))
    scene.add(Component("subcutaneous_fat", "fat", "air", cap_solid, label_priority=1))
    scene.add(Component("muscle", "muscle", "air", Solid([neck], [cap]), label_priority=1))
    mrx, mry = rx_b - fat, ry_b - fat * 0.9
    torso_m = Convex([cylinder_q([0, 0, 0], [mrx, mry]), halfspace([0, 0, 1], z_top),
                      waist(mrx, mry)],
                     (np.array([-mrx, -mry, zT(14)]), np.array([mrx, mry, z_top])))
    cap_m = ellipsoid([0, 0, z_top], [mrx, mry, 62 * s - fat], None,
                      halfspace([0, 0, -1], -z_top), *roof(fat))
    scene.add(Component("muscle", "muscle", "fat", Solid([torso_m]), label_priority=2))
    scene.add(Component("muscle", "muscle", "fat", Solid([cap_m]), label_priority=2))
    # lateral film: the arms are raised, so the shoulder girdle's bulk outside the chest wall
    # leaves the beam (a film-only correction; the label map keeps the body outline)
    # the front outline is its own curve (an elliptic cylinder across the body): straight
    # down the sternum, curving back above the manubrium toward the neck
    side_x = [[0, 0, 1.0], [1.0, 0, 0], [0, 1.0, 0]]  # cylinder axis along x
    front = cylinder_q(cav_center - np.array([0, 40 * s, 0]),
                       [ry_b - y_cav + 44 * s, cav_radii[2] + 48 * s], side_x)
    wall = ellipsoid(cav_center, cav_radii + np.array([14 * s + fat, 14 * s + fat, 85 * s]),
                     None, front)
    for piece, tissue, under in ((torso, "air", "fat"), (cap, "air", "fat"),
                                 (torso_m, "fat", "muscle"), (cap_m, "fat", "muscle")):
        scene.add(Component("body", tissue, under, Solid([piece], [wall]),
                            labelled=False, ct=False, film_views=("lateral",)))
    # the thoracic cavity (and upper abdomen): mediastinal / extrapleural fat by default
    cav_piece = cavity.with_(halfspace([0, 0, 1], z_top - 4 * s))
    scene.add(Component("mediastinal_fat", "cavity", "muscle", Solid([cav_piece]),
                        label_priority=3, label_min_mm=30))

    if female and age >= 13:
        bsz = s * rand.uniform(0.8, 1.25) * min(1.0, (age - 12) / 6)
        for sx in SIDES.values():
            # set deep in the chest wall: only the lower part protrudes, so the upper margin
            # fades into the wall and the inframammary fold is the sharp edge
            # upright, the breast hangs: thickest at its lower pole, tapering up into the wall;
            # supine it flattens and falls to the side. A thinner cap (AP radius well under
            # the others) keeps it a soft density over the lower zones, not a bright disc
            if posture == "supine":
                c = np.array([sx * 0.6 * rx_b, ry_b - 26 * s, z_dome_r - 22 * s])
                radii, pitch = np.array([64, 42, 58]), -0.6
            else:
                c = np.array([sx * 0.46 * rx_b, ry_b - 24 * s, z_dome_r - 18 * s])
                radii, pitch = np.array([58, 50, 60]), -0.55
            # three nested shells, each a third of the density: where the breast meets the
            # chest wall its thickness rises in three small steps at different heights, so
            # that junction fades instead of drawing a sharp arc across the chest
            for k, f in enumerate((1.0, 0.86, 0.72)):
                br = ellipsoid(c - [0, (1 - f) * 20 * s, 0], radii * bsz * f,
                               rotation(pitch=pitch))
                scene.add(Component("breast", "breast", "air", Solid([br], [torso]),
                                    label_priority=4, label_min_mm=8, labelled=k == 0,
                                    xray_gain=1 / 3, ct=k == 0))

    # ---- mediastinum, heart, great vessels -------------------------------------------------
    # the superior mediastinum: one deep ellipsoid (sternum-side narrow, so the lungs still
    # meet in front of it) whose coronal outline is curved, widest at the arch, narrowing to
    # the thoracic inlet; its borders join the SVC (right) and aortic knob (left) holes
    widen = adjust.mediastinum_widen * (1.2 if view == "ap" else 1.0)
    med = ellipsoid([-3 * s + shift, y_cav - 20 * s, zT(2.3)],
                    np.array([28 * widen * s, b_mid * 0.5, 82 * s]))
    # below the carina: the subcarinal / posterior mediastinum between heart and spine
    # and the oesophagus below it: the azygo-oesophageal recess lets the lungs come close to
    # the midline behind the heart, so the retrocardiac spine is seen through lung, not fat
    med_low = ellipsoid([7 * s + shift, -30 * s, zT(7)], np.array([11, 13, 95]) * s)
    # the spine's own space: the lungs reach the vertebral bodies on both sides and, in the
    # azygo-oesophageal recess, come close to the midline in front of them
    # a rhombus in cross-section (four planes): the lung thins linearly toward the midline
    # instead of stepping off a cylinder, so the paraspinal lung has no ruler-straight edge
    para = _rhombus(shift * 0.3 + 1 * s, y_cav - b_mid + 24 * s, 30 * s, 24 * s, zT(-2),
                    zT(14))
    if view == "ct":  # a slice sees the cross-section itself: the lung hugs the round body
        para = ellipsoid([shift * 0.3 + 1 * s, y_cav - b_mid + 24 * s, zT(6)],
                         np.array([21, 19, 230]) * s)
    knob_c = np.array([24 * s + shift + (6 * s if elderly else 0), -16 * s, land["z_arch"]])
    knob = ellipsoid(knob_c, np.array([17 if not elderly else 20, 34, 17]) * s)
    d_top = np.array([22 * s + shift, -38 * s, land["z_arch"] - 15 * s])
    d_bot = np.array([10 * s + shift * 0.4, y_cav - b_mid + 42 * s, zT(11)])
    desc = ellipsoid((d_top + d_bot) / 2, [17 * s, 17 * s, np.linalg.norm(d_top - d_bot) / 2],
                     axis_rotation(d_top - d_bot))
    trunk = ellipsoid([22 * s + shift, 20 * s, land["z_pulmonary_trunk"]],
                      np.array([17, 19, 24]) * s)
    svc_top = np.array([-24 * s + shift, 10 * s, zT(1.5)])
    svc_bot = np.array([-22 * s + shift, 14 * s, zT(6.5)])
    svc = ellipsoid((svc_top + svc_bot) / 2 - np.array([0, 8 * s, 0]), [12 * s, 30 * s,
                                             np.linalg.norm(svc_top - svc_bot) / 2],
                    axis_rotation(svc_top - svc_bot))

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
    # gain: the air column must read through the dense mediastinum, as processed films show it;
    # the main bronchi run into the hila beside lung, so they need far less
    # the trachea is drawn from the carina up to the larynx, above the film's top edge, so
    # neither end shows a rounded cap (a dark disc at the carina, a dome in the neck)
    larynx = trachea[0] + np.array([0, 4, 60]) * s
    airway = Tubes.from_polyline(np.vstack([trachea[::-1], larynx]), 9 * s)
    for tubes, gain in ((airway, 2.0), (main_bronchi, 1.4)):
        scene.add(Component("trachea", "air", "cavity", tubes=tubes, label_priority=29,
                            blur_px=1.2, shell_mm=1.5, shell_material="soft", xray_gain=gain))
    scene.points["carina"] = carina
    land["x_carina"] = float(carina[0])

    # ---- diaphragm domes, liver, stomach, spleen -----------------------------------------
    kx = 0.0056 / (s * wf) ** 2 * adjust.dome_flatten
    ky = 0.0040 / (s * df) ** 2 * adjust.dome_flatten
    dome_r = dome_q([-58 * s, 8 * s, z_dome_r], kx, ky)
    dome_l = dome_q([56 * s, 4 * s, z_dome_l], kx, ky)
    dome_r_c = Convex([dome_r], (np.array([-400, -400, -600]), np.array([400, 400, z_dome_r])))
    dome_l_c = Convex([dome_l], (np.array([-400, -400, -600]), np.array([400, 400, z_dome_l])))
    dt = 5 * s + adjust.liver_top_drop
    liver_env = ellipsoid([-30 * s, 0, z_dome_r - 95 * s], np.array([165, 125, 115]) * s)
    liver = liver_env.with_(dome_q([-58 * s, 8 * s, z_dome_r - dt], kx, ky), *cavity.quadrics,
                            halfspace([0, 0, 1], z_dome_r - dt))
    if view == "ct":  # the domes as a muscle sheet, not a fat gap between lung and liver
        for apex, dq in (([-58 * s, 8 * s, z_dome_r], dome_r), ([56 * s, 4 * s, z_dome_l],
                                                                 dome_l)):
            sheet = Convex([dq, *cavity.quadrics], (cav_center - cav_radii,
                                                     np.r_[cav_center[:2] + cav_radii[:2],
                                                           apex[2]]))
            under = Convex([dome_q(np.array(apex) - [0, 0, 5 * s], kx, ky)], sheet.bounds)
            scene.add(Component("diaphragm", "muscle", "cavity", Solid([sheet], [under]),
                                xray=False, label_priority=18))
    comps["liver"] = scene.add(Component("liver", "liver", "cavity", Solid([liver]),
                                         label_priority=20, label_min_mm=20))
    stom = ellipsoid([62 * s, 6 * s, z_dome_l - 60 * s], np.array([50, 52, 62]) * s,
                     rotation(roll=0.3), dome_q([56 * s, 4 * s, z_dome_l - 5 * s], kx, ky))
    spleen = ellipsoid([92 * s, -58 * s, z_dome_l - 58 * s], np.array([30, 52, 55]) * s,
                       rotation(yaw=0.5), dome_q([56 * s, 4 * s, z_dome_l - 5 * s], kx, ky),
                       *cavity.quadrics)
    scene.add(Component("spleen", "spleen", "cavity", Solid([spleen]), label_priority=19,
                        label_min_mm=20))
    scene.add(Component("stomach", "soft", "cavity", Solid([stom], [spleen]), label_priority=20,
                        label_min_mm=20, ct=view != "ct"))
    bubble_h = rand.uniform(14, 32) * s
    top_st = z_dome_l - 5 * s
    if posture == "upright":
        bclip = halfspace([0, 0, -1], -(top_st - bubble_h))
    else:
        bclip = halfspace([0, -1, 0], -(6 * s + 52 * s - bubble_h * 0.8))
    bubble = stom.with_(bclip)
    scene.add(Component("gastric_bubble", "air", "soft", Solid([bubble]), label_priority=21,
                        label_min_mm=6, ct=view != "ct"))
    land["z_bubble"] = top_st
    if view == "ct":
        _ct_stomach(scene, s, z_dome_l, dome_q([56 * s, 4 * s, z_dome_l - 5 * s], kx, ky),
                    cavity, spleen, bubble_h)
        _ct_liver_veins(scene, s, z_dome_r - dt, y_cav - b_mid + 39 * s)

    # ---- lungs: lobes by fissures ----------------------------------------------------------
    floor_r = halfspace([0, 0, -1], -(z_dome_r - 125 * s))
    floor_l = halfspace([0, 0, -1], -(z_dome_l - 125 * s))
    env = ellipsoid_q(cav_center, cav_radii - 3 * s)
    envelope_bounds = (cav_center - cav_radii, cav_center + cav_radii)
    side_env: dict[str, Convex] = {
        "right": Convex([env, halfspace([1, 0, 0], shift * 0.5), floor_r], envelope_bounds),
        "left": Convex([env, halfspace([-1, 0, 0], -shift * 0.5), floor_l], envelope_bounds),
    }
    # the anterior mediastinum (thymic fat): the lungs meet in front of the great vessels
    # only along a curved anterior junction, never along the midline plane itself
    ant_med = _rhombus(shift * 0.6, y_cav + b_mid * 0.55, 16 * s, b_mid * 0.6, zT(-2),
                       zT(12))
    if view in ("ct", "lateral"):  # a slice, or a lateral film's retrosternal clear space:
        # only the thin triangle of thymic fat behind the sternum
        ant_med = _rhombus(shift * 0.6, y_cav + b_mid * 0.75, 9 * s, b_mid * 0.4, zT(-2),
                           zT(12))
    common_holes = [dome_r_c, dome_l_c, med, med_low, para, ant_med]
    if view == "ct":  # above the arch the neck's structures part the apices into two caps
        top = apex_z + 10 * s
        common_holes.append(ellipsoid([shift * 0.5, y_cav - 8 * s, top],
                                      [26 * s, 0.75 * b_mid, top - land["z_arch"]]))
    side_holes = {"right": [*common_holes, heart_ra, heart_main, heart_la, svc],
                  "left": [*common_holes, heart_main, heart_la, heart_lv, knob, desc, trunk]}

    post_y, ant_y = y_cav - b_mid, y_cav + b_mid
    tilt = rand.normal(2) * 0.04

    def oblique(z_post: float, z_ant: float, lat_tilt: float):
        p0 = np.array([0, post_y, z_post])
        p1 = np.array([0, ant_y * 0.6, z_ant])
        t = p1 - p0
        n = np.array([lat_tilt, -t[2], t[1]])  # up/anterior side is n.p >= d
        n /= np.linalg.norm(n)
        return n, float(n @ p0)

    n_r, d_r = oblique(zT(4.6), z_dome_r - 8 * s, tilt[0])
    n_l, d_l = oblique(zT(4.0), z_dome_l - 8 * s, tilt[1])
    z_h = rand.uniform(-42, -26) * s
    z_ling = rand.uniform(-55, -40) * s
    land["z_horizontal_fissure"] = z_h
    up_r, low_r = halfspace(-n_r, -d_r), halfspace(n_r, d_r)
    up_l, low_l = halfspace(-n_l, -d_l), halfspace(n_l, d_l)
    # the horizontal fissure is a shallow bowl, lowest laterally and rising ~1 cm toward the
    # hilum, so on a film it is a gently curved line rather than a ruler edge
    bowl_apex = np.array([-95 * s + shift, 20 * s, z_h])
    k_bowl = 0.0014 / s

    def above_bowl(dz: float) -> Convex:
        return Convex([up_paraboloid_above(bowl_apex + np.array([0, 0, dz]), k_bowl)],
                      envelope_bounds)

    rul_bowl = above_bowl(0.0)
    lobe_q = {
        "rul": [up_r, *rul_bowl.quadrics],
        "rml": [up_r, halfspace([0, 0, 1], z_h + 40 * s)],
        "rll": [low_r],
        "lul": [up_l, halfspace([0, 0, -1], -z_ling)],
        "lingula": [up_l, halfspace([0, 0, 1], z_ling)],
        "lll": [low_l],
    }
    # CT: each oblique fissure is a gently curved sheet (a sphere of half a metre radius with
    # the lower lobe inside it, bulging ~1 cm toward the upper lobe mid-way), so a slice
    # shows an arc, not a ruler line; the upper lobes take the sphere as a hole. Films keep
    # the planes (the lateral film draws the fissure edge-on).
    curved: dict[str, tuple[np.ndarray, float]] = {}
    if view == "ct":
        for side, n, z_post, z_ant in (("right", n_r, zT(4.6), z_dome_r - 8 * s),
                                       ("left", n_l, zT(4.0), z_dome_l - 8 * s)):
            # turned about the vertical so the lateral edge runs further forward than the
            # hilar one (two arcs in a shallow V on an axial slice, not one line across)
            p0 = np.array([0.0, post_y, z_post])
            n = n + np.array([-SIDES[side] * 0.25, 0.0, 0.0])
            n /= np.linalg.norm(n)
            m = np.array([SIDES[side] * 0.45 * a_mid, (post_y + ant_y * 0.6) / 2,
                          (z_post + z_ant) / 2])
            m -= (n @ (m - p0)) * n
            curved[side] = (m - n * 500 * s, 500 * s)
        for lobe in LOBES:  # the planes give way to the spheres
            lobe_q[lobe] = [q for q in lobe_q[lobe] if q.kind != "halfspace" or
                            not any(q is h for h in (up_r, low_r, up_l, low_l))]
        for lobe in ("rll", "lll"):
            c, R = curved[LOBE_SIDE[lobe]]
            lobe_q[lobe].append(ellipsoid_q(c, [R, R, R]))

    def lower_hole(side: str, dr: float = 0.0) -> list[Convex]:
        if side not in curved:
            return []
        c, R = curved[side]
        return [Convex([ellipsoid_q(c, [R + dr] * 3)], envelope_bounds)]

    lobe_pieces: dict[str, Convex] = {}
    lobe_holes: dict[str, list[Convex]] = {}
    for lobe in LOBES:
        side = LOBE_SIDE[lobe]
        piece = side_env[side].with_(*lobe_q[lobe])
        holes = list(side_holes[side]) + ([rul_bowl] if lobe == "rml" else [])
        if lobe not in ("rll", "lll"):
            holes += lower_hole(side)
        lobe_pieces[lobe], lobe_holes[lobe] = piece, holes
        comps[f"lung_{lobe}"] = scene.add(Component(
            f"lung_{lobe}", adjust.lung_material, "cavity", Solid([piece], holes),
            label_priority=15, label_min_mm=10))
    # fissures: 1 mm pleural sheets; visible where seen edge-on
    hf = side_env["right"].with_(*([] if curved else [up_r]), *above_bowl(-0.6).quadrics,
                                 halfspace([0, 0, 1], z_h + 40 * s))
    scene.add(Component("fissure", "pleura", "lung",
                        Solid([hf], [*side_holes["right"], above_bowl(0.6),
                                     *lower_hole("right")]),
                        label_priority=16, label_min_mm=40, labelled=False, xray_gain=0.3,
                        view_gain={"lateral": 0.12}))
    for side, n, d in (("right", n_r, d_r), ("left", n_l, d_l)):
        if side in curved:
            c, R = curved[side]
            sheet = side_env[side].with_(ellipsoid_q(c, [R + 0.6] * 3))
            sheet_holes = [*side_holes[side], *lower_hole(side, -0.6)]
        else:
            sheet = side_env[side].with_(halfspace(n, d + 0.6), halfspace(-n, -(d - 0.6)))
            sheet_holes = side_holes[side]
        # oblique fissures are seen en face on a frontal film: drawn on laterals only
        scene.add(Component("fissure", "pleura", "lung", Solid([sheet], sheet_holes),
                            label_priority=16, label_min_mm=40, labelled=False,
                            xray_gain=0.4, film_views=("lateral",)))
    scene.params["oblique_right"] = float(d_r)
    scene.points["oblique_n_right"], scene.points["oblique_n_left"] = n_r, n_l
    scene.params["oblique_left"] = float(d_l)

    # ---- vascular and bronchial trees per lobe ---------------------------------------------
    trees, bronchi, air_bronchi, stems = _lung_trees(rand, s, hila, lac, f, lobe_pieces,
                                                     lobe_holes, view, posture, adjust)
    # the hilar trunks: at their true density on a film (the lobes' trees are drawn denser,
    # so their small vessels read), a soft-edged cluster of rounded and branching shadows
    for side in SIDES:
        comps[f"hilar_{side}"] = scene.add(Component(
            "pulmonary_vessels", "blood", "lung", tubes=stems[side], label_priority=17,
            blur_px=1.5, xray_gain=1.1, fade_with="consolidation", label_min_mm=2.5))
    for lobe in LOBES:
        if not len(trees[lobe]):
            continue
        comps[f"vessels_{lobe}"] = scene.add(Component(
            "pulmonary_vessels", "blood", "lung", tubes=trees[lobe], label_priority=17,
                            blur_px=1.0, xray_gain=2.8, fade_with="consolidation", labelled=True,
                            label_min_mm=2.5))
        comps[f"bronchi_{lobe}"] = scene.add(Component(
            "airway", "air", "consolidation", tubes=bronchi[lobe], label_priority=17,
                            blur_px=0.6, shell_mm=0.8, shell_material="soft", xray_gain=2.6,
                            show_with="consolidation", labelled=False))

    # ---- bones -----------------------------------------------------------------------------
    ribs = _ribs(rand, s, zT, cav_ab, y_cav, hv, adjust)
    for comp in ribs["components"].values():
        scene.add(comp)
    _spine(scene, s, zT, y_cav, b_mid, elderly)
    _sternum(scene, s, zT, y_cav, b_mid)
    _shoulders(scene, rand, s, zT, a_mid, b_mid, y_cav, rx_b, z_top, view, body_pieces)
    if view == "lateral":
        _lateral_film(scene, s, zT, cavity, wall, [dome_r_c, dome_l_c, para], body_pieces)

    land["thorax_width"] = thorax
    if view == "ct":
        _ct_sternum(scene, s, zT, cav_ab, y_cav)
    scene.params.update({"kx": kx, "ky": ky, "s": s, "elderly": float(elderly)})
    scene.points.update({"hilum_right": hila["right"], "hilum_left": hila["left"],
                         "knob": knob_c, "dome_right_apex": np.array([-58 * s, 8 * s, z_dome_r]),
                         "dome_left_apex": np.array([56 * s, 4 * s, z_dome_l]), "root": root,
                         "trachea_top": trachea[0], "svc_bot": svc_bot, "svc_top": svc_top,
                         "heart_apex": hc + Rh[:, 2] * hr[2] * 0.8})
    return Anatomy(scene, lobe_pieces, lobe_holes, side_env, side_holes, cavity,
                   {"right": dome_r, "left": dome_l}, heart, hila, trees, bronchi,
                   ribs["centerlines"], body_pieces, comps, air_bronchi)


def _ct_sternum(scene: Scene, s: float, zT, cav_ab, y_cav: float) -> None:
    """CT: the sternum as a reader sees it on a sagittal slice, in place of the film's straight
    slab: a thick manubrium, the sternal angle (a thin joint), the body and a thin tapering
    xiphoid, lying on the front of the thoracic cavity, so it follows the chest's gentle
    curve (forward as it goes down)."""
    for c in scene.find("sternum"):
        c.ct = False
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
                        shell_material="cortical", label_priority=9, xray=False))


def _ct_stomach(scene: Scene, s: float, z_dome: float, under_dome: Quadric, cavity: Convex,
                spleen: Convex, bubble_h: float) -> None:
    """CT: the stomach filling the space under the left dome (the film's smaller one left a
    fat rim round it on a slice), a muscular wall round fluid, and its gas in front of a
    flat air-fluid level (supine), instead of a uniform soft-tissue blob."""
    wall = 4 * s
    c, r = np.array([64 * s, 2 * s, z_dome - 55 * s]), np.array([58, 60, 66]) * s
    stom = ellipsoid(c, r, rotation(roll=0.3), under_dome, *cavity.quadrics)
    scene.add(Component("stomach", "fluid", "cavity", Solid([stom], [spleen]), shell_mm=wall,
                        shell_material="muscle", label_priority=20, xray=False))
    y_air = c[1] + r[1] - 0.8 * bubble_h - 8 * s
    gas = stom.shrunk(wall).with_(halfspace([0, -1, 0], -y_air))
    scene.add(Component("gastric_bubble", "air", "fluid", Solid([gas]), label_priority=21,
                        xray=False))


def _ct_liver_veins(scene: Scene, s: float, z_top: float, y_spine_front: float) -> None:
    """CT: the IVC rising in front of the spine to meet the right, middle and left hepatic
    veins just under the dome (unenhanced blood, a little darker than liver), then leaving
    for the right atrium; drawn only inside the liver, so never in lung or fat."""
    conf = np.array([-38 * s, -8 * s, z_top - 9 * s])  # the confluence, under the dome
    ivc = np.array([[-22 * s, y_spine_front + 18 * s, z_top - 150 * s],
                    [-30 * s, y_spine_front + 25 * s, z_top - 40 * s], conf,
                    conf + np.array([8, 6, 25]) * s])
    veins = [Tubes.from_polyline(ivc, np.array([11, 11, 9, 9]) * s)]
    for mid, end, r in (([-35, -12, -6], [-80, -20, -25], 6.5),  # right
                        ([-8, 30, -8], [-15, 65, -30], 5.5),  # middle
                        ([25, 25, -8], [55, 40, -25], 5.0)):  # left
        pts = np.array([conf, conf + np.array(mid) * s, conf + np.array(end) * s])
        veins.append(Tubes.from_polyline(pts, np.array([r, 0.65 * r, 0.4 * r]) * s))
    scene.add(Component("liver", "blood", "liver", tubes=Tubes.concat(veins), xray=False,
                        show_with="liver"))


def _kyphosis(z: float, s: float) -> float:
    """Posterior offset (mm) of the thoracic spine: its normal kyphosis, deepest mid-chest."""
    return 9.0 * s * max(0.0, 1.0 - ((z + 60.0 * s) / (230.0 * s)) ** 2)


def _rhombus(cx: float, cy: float, ax: float, by: float, ztop: float, zbot: float,
             taper: float = 0.5) -> Convex:
    """A prism with a rhombic cross-section (half-diagonals ax across, by deep at mid-height):
    the lung beside it thins linearly to nothing, so on a film it leaves no step edge; it
    widens downward (`taper`: relative change of width top to bottom), as the mediastinum
    does toward the heart, so its sides are not vertical lines either."""
    zm = (ztop + zbot) / 2
    k = taper / (ztop - zbot)  # d(width)/dz relative to ax, negative up
    # sx (x - cx) / ax + sy (y - cy) / by <= 1 + k (zm - z)
    planes = [halfspace([sx / ax, sy / by, k], 1 + sx * cx / ax + sy * cy / by + k * zm)
              for sx in (-1, 1) for sy in (-1, 1)]
    grow = 1 + taper / 2
    return Convex([*planes, halfspace([0, 0, 1], ztop), halfspace([0, 0, -1], -zbot)],
                  (np.array([cx - ax * grow, cy - by * grow, zbot]),
                   np.array([cx + ax * grow, cy + by * grow, ztop])))


def _scaler(center, f):
    center = np.asarray(center, float)

    def fn(p):
        return center + (p - center) * f

    return fn


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


def _stems(s: float, hila: dict, lac: np.ndarray, f: float
           ) -> tuple[dict[str, Tubes], np.ndarray, np.ndarray]:
    """The trunks each lobe's trees grow from: its artery off the hilum (a smooth curve
    tapering from 8.5 mm radius) and its vein from the left atrium. Returns the stems per
    lobe and the start and course of the twelve trees (artery and vein of each lobe)."""
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
                 np.full(6, 7 * s), np.full(6, 4.5 * s), _STEM_PIECES)
    stems = {}
    for i, lobe in enumerate(LOBES):
        rows = slice(i * _STEM_PIECES, (i + 1) * _STEM_PIECES)
        stems[lobe] = Tubes.concat([Tubes(*(x[rows] for x in art[:4])),
                                    Tubes(*(x[rows] for x in vein[:4]))])
    roots = np.stack([root, v_root], axis=1).reshape(-1, 3)
    dirs = np.stack([art[4], vein[4]], axis=1).reshape(-1, 3)
    return stems, roots, dirs


def _lung_trees(rand: Rand, s: float, hila: dict, lac: np.ndarray, f: float,
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
    stems, roots, dirs = _stems(s, hila, lac, f)
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
    r_twig = (0.7 if ct else 0.85) * s
    segs, grp, tip = _grow_tree(roots[k], np.concatenate(targets), counts, r_twig, jitter, 0,
                                exponent=3.0 if ct else 2.7, leaf_size=1 if ct else 2,
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
    t = Tubes(t.p0, t.p1, t.r0 * gain, t.r1 * gain)
    return t.subset(np.minimum(t.r0, t.r1) > 0.12 * s) if film else t


def _grow_tree(roots: np.ndarray, pts: np.ndarray, counts, r_leaf: float, jitter: np.ndarray,
               j0: int, exponent: float = 3.0, leaf_size: int = 2, wobble: float = 2.0,
               dirs: np.ndarray | None = None, pieces: tuple[int, int] = (3, 2)
               ) -> tuple[Tubes, np.ndarray, np.ndarray]:
    """Space-filling branching: each node heads for the centroid of the lung region it serves
    (leaning on its own course, so one daughter runs on nearly straight) and splits that region
    in two across its principal axis; radii follow Murray's law (r^exponent of a parent = sum
    of its children's) and taper continuously into the larger daughter. Every branch is a
    curve (`_bend`) leaving its parent at an acute angle, cut into `pieces` (branches, twigs)
    capsules. Built one generation at a time, every node of a generation in the same numpy
    pass. A node serving `leaf_size` targets or fewer ends in one twig to each of them. One
    tree per root, from the next `counts[k]` targets, setting out along `dirs[k]` (default:
    toward its targets). Returns the segments, the tree (root index) of each and a mask of
    the twigs' last pieces (their tips)."""
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
            seg = _bend(a, ta, a + _lean(ta, pts[_ranges(starts[leaf], sizes[leaf])] - a),
                        np.full(n, r_leaf), np.full(n, 0.8 * r_leaf), pieces[1])
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
        seg = _bend(pos, tan, q, r_leaf * sizes ** (1 / exponent),
                    r_leaf * big ** (1 / exponent), pieces[0])
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


def _ribs(rand: Rand, s, zT, cav_ab, y_cav, hv, adjust: Adjust) -> dict:
    """Twelve pairs of ribs as tubes following the inner chest wall: posterior arcs nearly
    horizontal by the spine, then curving down round the side; anterior arcs sloping down
    toward the (radiolucent) costal cartilage."""
    ends = [2.55, 2.45, 2.4, 2.35, 2.3, 2.25, 2.15, 2.0, 1.85, 1.65, 1.35, 1.0]
    drops = [32, 62, 78, 88, 95, 100, 104, 100, 90, 72, 48, 30]
    comps: dict[str, Component] = {}
    centerlines: dict[tuple[str, int], np.ndarray] = {}
    parts: dict[tuple[str, str], list[Tubes]] = {}
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
            r_rib = (4.2 + 1.8 * t) * s * (0.8 if k == 1 else 1.0)
            pts = []
            for ph, zz, rr in zip(phis, z, r_rib, strict=True):
                a, b = cav_ab(zz)
                pts.append([sx * (a + rr + 1.5) * np.sin(ph), y_cav - (b + rr + 1.5) * np.cos(ph),
                            zz])
            pts = np.array(pts)
            centerlines[(side, k)] = pts
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
                    parts.setdefault((side, arc), []).append(seg)
    for (side, arc), lst in parts.items():
        comps[f"{side}_{arc}"] = Component(
            "ribs", "rib", "muscle", tubes=Tubes.concat(lst), shell_mm=1.3 * s,
            shell_material="cortical", label_priority=8, blur_px=1.4, outline=1.3 * s,
            xray_gain=0.62 if arc == "ant" else 1.0)
    return {"components": comps, "centerlines": centerlines}


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
        yk = y_b - _kyphosis(zc_k, s)
        c = np.array([0.0, yk, zc_k])
        bodies.append(Convex(
            [cylinder_q(c, [rx, ry]), halfspace([0, 0, 1], zc_k + half_h),
             halfspace([0, 0, -1], -(zc_k - half_h)),
             ellipsoid_q(c, [rx * 1.18, ry * 1.22, half_h * 1.55])],
            (c - np.array([rx, ry, half_h]), c + np.array([rx, ry, half_h]))))
    scene.add(Component("spine", "cancellous", "cavity", Solid(bodies), shell_mm=1.8 * s,
                        shell_material="cortical", label_priority=9, label_min_mm=3,
                        xray_gain=0.22 if not elderly else 0.18, ct=False,
                        xray_texture="spine_sign",
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
            yb = y_b - ry - _kyphosis(z, s)
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


def _sternum(scene: Scene, s, zT, y_cav, b_mid) -> None:
    y_f = y_cav + b_mid + 6 * s
    top, bot = zT(2.3), zT(9.2)
    n = np.array([0, np.cos(0.28), -np.sin(0.28)])  # leaning: the top sits further back
    mid = np.array([0, y_f, (top + bot) / 2])
    d = float(n @ mid)
    st = Convex([halfspace(n, d), halfspace(-n, -(d - 11 * s)),
                 halfspace([1, 0, 0], 15 * s), halfspace([-1, 0, 0], 15 * s),
                 halfspace([0, 0, 1], top), halfspace([0, 0, -1], -bot)],
                (np.array([-15 * s, y_f - 40 * s, bot]), np.array([15 * s, y_f + 30 * s, top])))
    # on a frontal film the sternum hides in the spine's shadow; on a lateral it stands out
    scene.add(Component("sternum", "cancellous", "muscle", Solid([st]), shell_mm=1.2 * s,
                        shell_material="cortical", label_priority=9, label_min_mm=3,
                        xray_gain=0.25, view_gain={"lateral": 0.6}))


def _shoulders(scene: Scene, rand: Rand, s, zT, a_mid, b_mid, y_cav, rx_b, z_top, view,
               body: list[Convex]) -> None:
    """Clavicles, scapulae and humeri; on frontal films also the glenoids, acromia, humeral
    shafts and the soft tissue of the shoulders and of the arms hanging at the sides."""
    clav_parts, scap_pieces, scap_film, hum_pieces = [], [], [], []
    girdle, shafts, soft = [], [], []
    protract = 34 * s if view == "pa" else 4 * s
    for sx in (-1.0, 1.0):
        zc = zT(1) - 4 * s + rand.uniform(-6, 6) * s
        head = np.array([sx * (rx_b - 14 * s), y_cav - 22 * s, zT(1) - 6 * s])
        clav_parts.append(_clavicle(sx, s, zT, y_cav + b_mid, y_cav, head, zc))
        # scapula: a thin triangular plate on the back of the chest
        b = b_mid + 10 * s
        S = np.array([sx * (52 * s + protract), y_cav - b, zT(1.8)])
        I_ = np.array([sx * (78 * s + protract), y_cav - b + 6 * s, zT(7.2)])
        G = np.array([sx * (a_mid + 18 * s + protract * 0.3), y_cav - 40 * s, zT(2.2)])
        scap_pieces.append(_plate(S, I_, G, 3 * s))
        # films: the plate's lateral angle carries the glenoid, just medial to the head
        scap_film.append(_plate(S, I_, head + np.array([-sx * 30 * s, -12 * s, -12 * s]),
                                3 * s))
        hum_pieces.append(ellipsoid(head, np.array([24, 24, 26]) * s))
        girdle.append(_girdle_tubes(sx, s, S, head))
        shafts.append(_humeral_shaft(sx, s, head))
        # the arm hangs a little abducted: in the field's edge, apart from the chest below
        # the axilla; the deltoid rounds the shoulder over the humeral head
        elbow = np.array([sx * (rx_b + 64 * s), y_cav - 6 * s, head[2] - 310 * s])
        top = head + np.array([sx * 6 * s, 0, 14 * s])
        arm = ellipsoid((top + elbow) / 2, [40 * s, 44 * s, np.linalg.norm(top - elbow) / 2],
                        axis_rotation(top - elbow))
        deltoid = ellipsoid(head + np.array([sx * 8 * s, 0, 6 * s]), np.array([40, 46, 50]) * s)
        soft.append(Solid([deltoid], body))
        soft.append(Solid([arm], [*body, deltoid]))
    scene.add(Component("clavicle", "rib", "muscle", tubes=Tubes.concat(clav_parts),
                        shell_mm=1.5 * s, shell_material="cortical", label_priority=11,
                        blur_px=1.4, outline=1.5 * s, xray_gain=1.4))
    scene.add(Component("scapula", "cortical", "muscle", Solid(scap_pieces), label_priority=7,
                        label_min_mm=3, xray_gain=0.55, xray=False))
    scene.add(Component("scapula", "cortical", "muscle", Solid(scap_film), label_priority=7,
                        label_min_mm=3, xray_gain=0.55, ct=False))
    # arms are raised out of the field for a lateral film (and for CT: no shafts, no arms)
    scene.add(Component("humerus", "rib", "muscle", Solid(hum_pieces), shell_mm=2.0 * s,
                        shell_material="cortical", label_priority=11, label_min_mm=3,
                        film_views=("pa", "ap")))
    scene.add(Component("humerus", "rib", "muscle", Solid(shafts, hum_pieces), shell_mm=2.0 * s,
                        shell_material="cortical", label_priority=11, label_min_mm=3,
                        film_views=("pa", "ap"), ct=False))
    scene.add(Component("scapula", "rib", "muscle", tubes=Tubes.concat(girdle),
                        shell_mm=2.0 * s, shell_material="cortical", label_priority=11,
                        blur_px=1.4, outline=1.5 * s, film_views=("pa", "ap"), ct=False))
    for piece in soft:
        scene.add(Component("muscle", "soft", "air", piece, label_priority=1, ct=False,
                            film_views=("pa", "ap")))


def _clavicle(sx: float, s: float, zT, y_front: float, y_cav: float, head: np.ndarray,
              zc: float) -> Tubes:
    """An S-curved clavicle from the manubrium (low, anterior, bulbous end) rising to the
    acromioclavicular joint above the humeral head (flat, broad end)."""
    x_ac = abs(head[0]) - 18 * s
    z_med, z_lat = zc - 10 * s, head[2] + 22 * s
    fx = np.array([0.13, 0.33, 0.58, 0.8, 0.93, 1.0])
    gz = np.array([0.0, 0.12, 0.38, 0.65, 0.87, 1.0])  # flat medially, sweeping up laterally
    ys = np.array([y_front + 2 * s, y_front - 2 * s, y_front - 14 * s, y_cav + 40 * s,
                   y_cav + 10 * s, head[1] + 8 * s])
    pts = np.stack([sx * fx * x_ac, ys, z_med + gz * (z_lat - z_med)], axis=1)
    return Tubes.from_polyline(pts, np.array([8, 6, 5.5, 5.5, 6, 7.5]) * s)


def _plate(S: np.ndarray, I_: np.ndarray, G: np.ndarray, half: float) -> Convex:
    """A flat triangular plate (the scapular blade) through three corners."""
    n = np.cross(I_ - S, G - S)
    n /= np.linalg.norm(n)
    qs = [halfspace(n, n @ S + half), halfspace(-n, -(n @ S - half))]
    for P, Q, R in ((S, I_, G), (I_, G, S), (G, S, I_)):
        e = np.cross(n, Q - P)
        e /= np.linalg.norm(e)
        if e @ (R - P) > 0:
            e = -e
        qs.append(halfspace(e, e @ P))
    pts3 = np.array([S, I_, G])
    return Convex(qs, (pts3.min(axis=0) - 4 * half / 3, pts3.max(axis=0) + 4 * half / 3))


def _girdle_tubes(sx: float, s: float, S: np.ndarray, head: np.ndarray) -> Tubes:
    """Film-only bones round the shoulder joint: the glenoid rim medial to the head and the
    scapular spine running up into the acromion over the head."""
    glen = head + np.array([-sx * 27 * s, -6 * s, 0])
    up = np.array([0, 0, 17 * s])
    glenoid = Tubes.from_polyline(np.array([glen + up, glen, glen - up]), np.array([5, 8, 5]) * s)
    spine_root = S + np.array([sx * 6 * s, 4 * s, -16 * s])
    acromion = Tubes.from_polyline(np.array([
        spine_root, head + np.array([-sx * 40 * s, -34 * s, 26 * s]),
        head + np.array([-sx * 8 * s, -10 * s, 38 * s]),
        head + np.array([sx * 12 * s, -4 * s, 34 * s])]), np.array([3, 4.5, 7, 6]) * s)
    return Tubes.concat([glenoid, acromion])


def _humeral_shaft(sx: float, s: float, head: np.ndarray) -> Convex:
    """The shaft as a solid: a cylinder rounded off inside the head (which is cut out of it),
    so the neck merges into the head with no edge (a tube's end cap left a ring there)."""
    down = np.array([sx * 0.2, 0.02, -1.0])
    down /= np.linalg.norm(down)
    R = axis_rotation(down)
    end = head + down * 320 * s
    tip = ellipsoid_q(head + down * 150 * s, [60 * s, 60 * s, 158 * s], R)
    lo = np.minimum(head, end) - 14 * s
    hi = np.maximum(head, end) + 14 * s
    return Convex([cylinder_q(head, [11.5 * s, 11.5 * s], R), tip,
                   halfspace(down, float(down @ end))], (lo, hi))


def box_convex(lo, hi) -> Convex:
    return box(lo, hi)


def _lateral_film(scene: Scene, s: float, zT, cavity: Convex, wall: Convex,
                  lung_holes: list[Convex], body: list[Convex]) -> None:
    """Lateral-film-only corrections to the oval chest model. A real thorax is widest at the
    back (the lungs fill the paravertebral gutters beside the spine), so on a lateral the
    posterior lungs overlie the vertebral bodies; the paraspinal muscles bulge behind the
    spine, so the back of the body lies well behind the spinous processes; the clavicles,
    lifted with the raised arms, are crossed obliquely rather than along their length."""
    (cc, _R, cr) = cavity.quadrics[0].params
    gutter = ellipsoid(cc + np.array([0, -0.42 * cr[1], -8 * s]),
                       cr * np.array([1.0, 0.62, 0.97]), None,
                       halfspace([0, -1, 0], cr[1] - cc[1] - 6 * s))
    scene.add(Component("lung_gutter", "lung", "muscle", Solid([gutter], [cavity, *lung_holes]),
                        labelled=False, ct=False))
    # filled in only outside the torso as the film shows it (clipped to the wall)
    shown = [Convex([*piece.quadrics, *wall.quadrics], piece.bounds) for piece in body]
    torso = body[0]
    wc, _Rw, wr = wall.quadrics[0].params
    # the back outline: the wall's back curve, 28 mm further back
    top = torso.bounds[1][2] + 40 * s  # rounded off above the shoulders, into the neck
    bulge = ellipsoid([0, 50 * s - torso.bounds[1][1], zT(9)], [70 * s, 80 * s, top - zT(9)],
                      None, ellipsoid_q(wc - np.array([0, 14 * s, 0]),
                                        wr + np.array([0, 14 * s, 100 * s])))
    scene.add(Component("muscle", "muscle", "air", Solid([bulge], shown), labelled=False,
                        ct=False))
    for comp in scene.find("clavicle"):
        comp.view_gain = {"lateral": 0.5}
    for comp in scene.find("sternum"):
        comp.film_views = ("pa", "ap")
    # the aortic arch (the CT tube: ascending, arch, descending) outlined by lung above the
    # hila; frontal films draw only the knob
    for comp in scene.find("aorta"):
        if comp.tubes is not None:
            comp.xray, comp.xray_gain = True, 6.0
    scene.add(Component("sternum", "cancellous", "muscle", _lateral_sternum(s, zT, cc, cr),
                        shell_mm=0.8 * s, shell_material="cortical", label_priority=9,
                        label_min_mm=3, xray_gain=1.0, ct=False))
    # the end plates are seen edge-on: a thinner cortex keeps the bodies from reading as
    # hollow boxes
    for comp in scene.find("spine"):
        if comp.solid is not None and comp.xray:
            comp.shell_mm = 0.8 * s
        elif comp.xray:  # the neural arches: pedicles and spinous processes behind the bodies
            comp.view_gain = {"lateral": 1.2}


def _lateral_sternum(s: float, zT, cc: np.ndarray, cr: np.ndarray) -> Solid:
    """The sternum as a lateral film shows it: a gently curved plate just in front of the
    cavity, so it slopes forward from the manubrium (set back at the thoracic inlet) to the
    xiphoid; a wider, thicker manubrium meets the body at the sternal angle (T4-5)."""

    def front(z: float) -> np.ndarray:
        f = np.sqrt(max(1e-4, 1 - ((z - cc[2]) / cr[2]) ** 2))
        return np.array([0.0, cc[1] + cr[1] * f + 6 * s, z])

    pieces = []
    angle = zT(4.4)
    for z0, z1, half_w, thick in ((zT(2.3), angle + 2 * s, 25 * s, 14 * s),
                                  (angle - 2 * s, zT(6.6), 15 * s, 11 * s),
                                  (zT(6.6), zT(9.2), 15 * s, 10 * s)):
        p0, p1 = front(z0), front(z1)
        t = p1 - p0
        n = np.array([0.0, -t[2], t[1]]) / np.hypot(t[1], t[2])  # anterior unit normal
        d = float(n @ p0)
        lo = np.array([-half_w, min(p0[1], p1[1]) - thick - 2 * s, z1])
        hi = np.array([half_w, max(p0[1], p1[1]) + 2 * s, z0])
        pieces.append(Convex([halfspace(n, d), halfspace(-n, -(d - thick)),
                              halfspace([1, 0, 0], half_w), halfspace([-1, 0, 0], half_w),
                              halfspace([0, 0, 1], z0), halfspace([0, 0, -1], -z1)], (lo, hi)))
    return Solid(pieces)
