"""Lungs step: two lungs in the cavity, cut into lobes by the oblique and horizontal fissures
(planes on films, gently curved sheets on CT), the fissures themselves as pleural sheets, and
each lobe's vascular and bronchial trees (trees.py) with the hilar trunks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from imagine_med.engine.phantom.geometry import (
    Convex,
    Solid,
    Tubes,
    ellipsoid,
    ellipsoid_q,
    halfspace,
    up_paraboloid_above,
)
from imagine_med.engine.phantom.regions.chest.abdomen import Abdomen
from imagine_med.engine.phantom.regions.chest.frame import LOBE_SIDE, LOBES, SIDES, Frame, rhombus
from imagine_med.engine.phantom.regions.chest.mediastinum import Mediastinum
from imagine_med.engine.phantom.regions.chest.trees import lung_trees
from imagine_med.engine.phantom.scene import Component

# The lobes' vessel trees on a film, denser than blood. Each tree starts at its stem's
# calibre and divides it by Murray's law (trees.MURRAY_EXPONENT): 87 ml of blood (seed 31,
# after the fade of the outer third), whose path lengths add where branches cross
# (xray._splat_round; overwriting kept 60 ml of it and needed 1.8). What is left: a lung's
# arteries and veins outside the capillaries hold ~250-350 ml of its ~450 ml of blood
# (Guyton & Hall), mostly in vessels finer than the trees' twigs; at 1.0 the markings are
# ~20% fainter (docs/phantom.md, "Gains that remain").
VESSEL_FILM_GAIN = 1.25


@dataclass
class Lungs:
    """Lobes (and the holes each keeps out of) and their trees, for findings to follow."""

    lobe_pieces: dict[str, Convex]
    lobe_holes: dict[str, list[Convex]]
    side_env: dict[str, Convex]
    side_holes: dict[str, list[Convex]]
    trees: dict[str, Tubes]
    bronchi: dict[str, Tubes]
    air_bronchi: dict[str, Tubes]


def lungs(fr: Frame, mt: Mediastinum, ab: Abdomen) -> Lungs:
    """Lobes, fissures and trees; draws the fissures' tilt and heights, then the trees."""
    s, zT, shift, view, land, scene, comps = fr.s, fr.zT, fr.shift, fr.view, fr.land, \
        fr.scene, fr.comps
    z_dome_r, z_dome_l, cav_center, cav_radii = fr.z_dome_r, fr.z_dome_l, fr.cav_center, \
        fr.cav_radii
    y_cav, b_mid, a_mid, apex_z, rand, adjust, posture = fr.y_cav, fr.b_mid, fr.a_mid, \
        fr.apex_z, fr.rand, fr.adjust, fr.posture
    dome_r_c, dome_l_c = ab.dome_r_c, ab.dome_l_c
    med, med_low, para, svc, knob, desc, trunk = mt.med, mt.med_low, mt.para, mt.svc, mt.knob, \
        mt.desc, mt.trunk
    heart_main, heart_ra, heart_la, heart_lv = mt.heart
    hila, lac, f = mt.hila, mt.lac, mt.f
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
    ant_med = rhombus(shift * 0.6, y_cav + b_mid * 0.55, 16 * s, b_mid * 0.6, zT(-2),
                       zT(12))
    if view in ("ct", "lateral"):  # a slice, or a lateral film's retrosternal clear space:
        # only the thin triangle of thymic fat behind the sternum
        ant_med = rhombus(shift * 0.6, y_cav + b_mid * 0.75, 9 * s, b_mid * 0.4, zT(-2),
                           zT(12))
    common_holes = [dome_r_c, dome_l_c, med, *mt.inlet, med_low, para, ant_med]
    if view == "ct":  # above the arch the neck's structures part the apices into two caps
        top = apex_z + 10 * s
        common_holes.append(ellipsoid([shift * 0.5, y_cav - 8 * s, top],
                                      [26 * s, 0.75 * b_mid, top - land["z_arch"]]))
    side_holes = {"right": [*common_holes, heart_ra, heart_main, heart_la, svc],
                  "left": [*common_holes, heart_main, heart_la, heart_lv, knob, mt.lsa, desc,
                            trunk]}

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
    trees, bronchi, air_bronchi, stems = lung_trees(rand, s, hila, lac, f, lobe_pieces,
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
        # the finer of the two tube blurs: deposited at sub-pixel accuracy, they need no more
        comps[f"vessels_{lobe}"] = scene.add(Component(
            "pulmonary_vessels", "blood", "lung", tubes=trees[lobe], label_priority=17,
                            blur_px=0.8, xray_gain=VESSEL_FILM_GAIN, fade_with="consolidation",
                            labelled=True, label_min_mm=2.5))
        # air in aerated lung: next to nothing on a film, until a consolidation fills the
        # lobe round them (findings: the container becomes consolidation, air bronchograms)
        comps[f"bronchi_{lobe}"] = scene.add(Component(
            "airway", "air", "lung", tubes=bronchi[lobe], label_priority=17,
                            blur_px=0.6, shell_mm=0.8, shell_material="soft",
                            show_with="consolidation", labelled=False))

    return Lungs(lobe_pieces, lobe_holes, side_env, side_holes, trees, bronchi, air_bronchi)
