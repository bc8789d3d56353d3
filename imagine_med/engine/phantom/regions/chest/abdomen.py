"""Abdomen step: the diaphragm domes (a muscle sheet on CT), the liver under the right dome
with its hepatic veins (CT), the spleen and the stomach under the left dome with its gas."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from imagine_med.engine.phantom.geometry import (
    Convex,
    Quadric,
    Solid,
    Tubes,
    dome_q,
    ellipsoid,
    halfspace,
    rotation,
)
from imagine_med.engine.phantom.materials import M
from imagine_med.engine.phantom.regions.chest.frame import Frame
from imagine_med.engine.phantom.scene import Component, Scene
from imagine_med.engine.phantom.textures import lattice_noise


@dataclass
class Abdomen:
    """The domes as the lungs and findings need them: curvature and the two dome solids."""

    kx: float
    ky: float
    dome_r: Quadric
    dome_l: Quadric
    dome_r_c: Convex
    dome_l_c: Convex


def abdomen(fr: Frame) -> Abdomen:
    """Domes, liver, spleen, stomach and gastric gas; draws the gas bubble's height."""
    s, wf, df, adjust, view, scene, comps = fr.s, fr.wf, fr.df, fr.adjust, fr.view, fr.scene, \
        fr.comps
    z_dome_r, z_dome_l, cavity, cav_center, cav_radii = fr.z_dome_r, fr.z_dome_l, fr.cavity, \
        fr.cav_center, fr.cav_radii
    rand, posture, land, y_cav, b_mid = fr.rand, fr.posture, fr.land, fr.y_cav, fr.b_mid
    kx = 0.0056 / (s * wf) ** 2 * adjust.dome_flatten
    ky = 0.0040 / (s * df) ** 2 * adjust.dome_flatten
    dome_r = dome_q([-58 * s, 8 * s, z_dome_r], kx, ky)
    dome_l = dome_q([56 * s, 4 * s, z_dome_l], kx, ky)
    dome_r_c = Convex([dome_r], (np.array([-400, -400, -600]), np.array([400, 400, z_dome_r])))
    dome_l_c = Convex([dome_l], (np.array([-400, -400, -600]), np.array([400, 400, z_dome_l])))
    dt = 5 * s + adjust.liver_top_drop
    liver_env = ellipsoid([-30 * s, 0, z_dome_r - 95 * s], np.array([165, 125, 115]) * s)
    # the left lobe tapers across the midline in front; behind it the left upper quadrant
    # belongs to the stomach and spleen (a plane through ~(70, 60) and (20, -50) mm)
    left_lobe = halfspace(LEFT_LOBE_NORMAL, LEFT_LOBE_MM * s)
    liver = liver_env.with_(dome_q([-58 * s, 8 * s, z_dome_r - dt], kx, ky), *cavity.quadrics,
                            halfspace([0, 0, 1], z_dome_r - dt), left_lobe)
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
    under_dome = dome_q([56 * s, 4 * s, z_dome_l - 5 * s], kx, ky)
    stom_c, stom_r = np.array([58 * s, 6 * s, z_dome_l - 55 * s]), np.array([52, 58, 66]) * s
    spleen = ellipsoid(SPLEEN_CENTRE * s + [0, 0, z_dome_l], SPLEEN_RADII * s,
                       rotation(yaw=SPLEEN_YAW), under_dome, *cavity.quadrics)
    # the stomach presses the spleen's visceral surface hollow round the hilum, across a
    # thin fat plane; clefts notch its anterior border (Gray's Anatomy, the spleen)
    gastric = ellipsoid(stom_c, stom_r + GASTROSPLENIC_FAT_MM * s, rotation(roll=0.3))
    scene.add(Component("spleen", "spleen", "cavity",
                        Solid([spleen], [gastric, *_spleen_clefts(s, z_dome_l)]),
                        label_priority=19, label_min_mm=20,
                        ct_texture=_spleen_hu(int(scene.params.get("tex_seed", 0)))))
    bubble_h = rand.uniform(14, 32) * s
    _stomach(scene, s, stom_c, stom_r, under_dome, cavity, bubble_h, posture)
    land["z_bubble"] = z_dome_l - 5 * s
    if view == "ct":
        _ct_liver_veins(scene, s, z_dome_r - dt, y_cav - b_mid + 39 * s)
    return Abdomen(kx, ky, dome_r, dome_l, dome_r_c, dome_l_c)


LEFT_LOBE_NORMAL = np.array([0.91, -0.41, 0.0])  # the liver's left edge: left and back
LEFT_LOBE_MM = 39.0
SPLEEN_CENTRE = np.array([102.0, -74.0, -58.0])  # mm at size 1; z relative to the left dome
SPLEEN_RADII = np.array([34.0, 55.0, 55.0])  # thickness, length, height before the hollow
SPLEEN_YAW = 0.5
GASTROSPLENIC_FAT_MM = 3.0


def _spleen_clefts(s: float, z_dome_l: float) -> list[Convex]:
    """Notches in the spleen's anterior (superior) border, in its own frame (local x
    through its thickness, outward; y along its length, forward)."""
    R = rotation(yaw=SPLEEN_YAW)
    c = SPLEEN_CENTRE * s + np.array([0.0, 0.0, z_dome_l])
    return [ellipsoid(c + R @ (np.array([8.0, 52.0, z]) * s), np.array([5.0, 9.0, 2.2]) * s, R)
            for z in (16.0, -8.0)]


def _spleen_hu(seed: int):
    """Unenhanced spleen: homogeneous 45 HU (physics.md) with a faint, coarse mottle of its
    red and white pulp (+-4 HU over ~9 mm), a little below the liver."""
    def hu(points: np.ndarray) -> np.ndarray:
        return M["spleen"].hu + 4.0 * lattice_noise(points, 9.0, seed + 11)
    return hu


def _stomach(scene: Scene, s: float, c: np.ndarray, r: np.ndarray, under_dome: Quadric,
             cavity: Convex, bubble_h: float, posture: str) -> None:
    """One stomach for films and CT: it fills the space under the left dome (a smaller one
    left a fat rim round it on a CT slice), a muscular wall round fluid, and its gas above a
    flat air-fluid level: under the dome upright (the film's gastric bubble), in front
    supine (CT, AP film)."""
    wall = 4 * s
    z_dome = c[2] + 55 * s
    stom = ellipsoid(c, r, rotation(roll=0.3), under_dome, *cavity.quadrics)
    scene.add(Component("stomach", "fluid", "cavity", Solid([stom]), shell_mm=wall,
                        shell_material="muscle", label_priority=20, label_min_mm=20))
    if posture == "upright":
        level = halfspace([0, 0, -1], -(z_dome - 5 * s - bubble_h))
    else:
        level = halfspace([0, -1, 0], -(c[1] + r[1] - 0.8 * bubble_h - 8 * s))
    gas = stom.shrunk(wall).with_(level)
    scene.add(Component("gastric_bubble", "air", "fluid", Solid([gas]), label_priority=21,
                        label_min_mm=6))


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

