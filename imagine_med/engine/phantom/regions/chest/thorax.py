"""Thorax step: the body wall (skin-side fat over a muscle layer: torso, shoulder cap, neck),
the film-only outline for the lateral view, the thoracic cavity's fat and the breasts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from imagine_med.engine.phantom.geometry import (
    Convex,
    Solid,
    cylinder_q,
    ellipsoid,
    ellipsoid_q,
    halfspace,
    rotation,
)
from imagine_med.engine.phantom.regions.chest.frame import SIDES, Frame
from imagine_med.engine.phantom.scene import Component


@dataclass
class Wall:
    """The body wall as later steps need it: its top, outer radii, pieces and the front curve
    (`wall`) the lateral film clips the outline to."""

    z_top: float
    rx_b: float
    ry_b: float
    torso: Convex
    body_pieces: list[Convex]
    wall: Convex


def body_wall(fr: Frame) -> Wall:
    """The fat envelope with a muscle layer inside, and the cavity's mediastinal fat."""
    s, zT, a_mid, b_mid, fat, scene = fr.s, fr.zT, fr.a_mid, fr.b_mid, fr.fat, fr.scene
    cavity, cav_center, cav_radii, y_cav = fr.cavity, fr.cav_center, fr.cav_radii, fr.y_cav
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
    supraclavicular_fossae(fr, torso, cap, neck_r, z_top)
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
    return Wall(z_top, rx_b, ry_b, torso, body_pieces, wall)


def supraclavicular_fossae(fr: Frame, torso: Convex, cap: Convex, neck_r: np.ndarray,
                    z_top: float) -> None:
    """Films: the supraclavicular fossae, the hollows of the front of the shoulder between
    neck and clavicle (a surface dip: air where the cap's fat would be, so a darker oval
    above each clavicle instead of the cap's even density). The skin itself is not drawn:
    2 mm of dermis over fat differs by 0.0012/mm (a line of a grey level or two along the
    outline, measured) and costs a body-sized solid; the skin line a film shows is the
    body's own edge against air."""
    s, scene = fr.s, fr.scene
    z = z_top + 12 * s
    x = neck_r[0] + 28 * s
    rx_b, ry_b = cap.bounds[1][0], cap.bounds[1][1]
    # the front of the cap there (its ellipsoid: half-axes rx_b, ry_b, 62 mm about z_top)
    y = ry_b * float(np.sqrt(max(1e-4, 1 - (x / rx_b) ** 2 - (12 / 62) ** 2)))
    for sx in (-1.0, 1.0):
        c = np.array([sx * x, y, z])
        fossa = ellipsoid(c, np.array([26, 14, 18]) * s, rotation(roll=-sx * 0.45))
        # inside the body: the part in the shoulder cap and the part in the torso below it
        hollow = [Convex([*fossa.quadrics, *part.quadrics], fossa.bounds)
                  for part in (cap, torso)]
        scene.add(Component("subcutaneous_fat", "air", "fat", Solid(hollow),
                            labelled=False, ct=False, film_views=("pa", "ap")))


def breasts(fr: Frame, w: Wall) -> None:
    """Breasts by sex and age (from 13 years), hanging upright and flattened supine."""
    s, age, rand, scene, posture = fr.s, fr.age, fr.rand, fr.scene, fr.posture
    rx_b, ry_b, z_dome_r, torso = w.rx_b, w.ry_b, fr.z_dome_r, w.torso
    if not fr.female or age < 13:
        return
    bsz = s * rand.uniform(0.8, 1.25) * min(1.0, (age - 12) / 6)
    # habitus: breast volume follows body fat (the subcutaneous layer's draw; a woman's mean
    # is 20 mm at body size 1), so a slim woman's shadows are smaller than a heavy one's
    bsz *= float(np.clip(fr.fat / (20 * s), 0.6, 1.6)) ** 0.5
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

