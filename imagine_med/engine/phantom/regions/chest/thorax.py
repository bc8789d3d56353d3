"""Thorax step: the body wall (skin-side fat over a muscle layer: torso, shoulder cap, neck),
the film-only outline for the lateral view, the thoracic cavity's fat and the breasts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from imagine_med.engine.phantom.geometry import (
    Convex,
    Profile,
    Solid,
    cylinder_q,
    ellipsoid,
    ellipsoid_q,
    halfspace,
    rotation,
    smoothstep,
)
from imagine_med.engine.phantom.regions.chest.frame import SIDES, Frame
from imagine_med.engine.phantom.scene import Component


@dataclass
class Wall:
    """The body wall as later steps need it: its top, outer radii and pieces."""

    z_top: float
    rx_b: float
    ry_b: float
    torso: Convex
    body_pieces: list[Convex]


def body_wall(fr: Frame) -> Wall:
    """The fat envelope with a muscle layer inside, and the cavity's mediastinal fat. Films
    get the body as one smooth surface (`body_profile`); CT slices keep the box model (a
    torso column, a shoulder cap roofed by two planes and a neck), which a slice shows only
    in cross-section."""
    s, zT, a_mid, b_mid, fat, scene = fr.s, fr.zT, fr.a_mid, fr.b_mid, fr.fat, fr.scene
    z_top = zT(1) + 18 * s
    rx_b, ry_b = a_mid + 14 * s + fat, b_mid + 14 * s + fat * 0.9
    neck_r = np.array([52, 50]) * s * (1.0 + fat / (100 * s))
    if fr.view == "ct":
        torso, body_pieces = _box_body(fr, rx_b, ry_b, neck_r, z_top)
    else:
        outer = body_profile(fr, rx_b, ry_b, neck_r, z_top)
        torso = Convex([outer], outer.box())
        inner = Profile(outer.z, outer.a - fat, outer.b - 0.9 * fat, outer.cy)
        body_pieces = [torso]
        scene.add(Component("subcutaneous_fat", "fat", "air", Solid([torso]), label_priority=1,
                            ct=False))
        scene.add(Component("muscle", "muscle", "fat", Solid([Convex([inner], inner.box())]),
                            label_priority=2, ct=False))
    # the thoracic cavity (and upper abdomen): mediastinal / extrapleural fat by default
    cav_piece = fr.cavity.with_(halfspace([0, 0, 1], z_top - 4 * s))
    scene.add(Component("mediastinal_fat", "cavity", "muscle", Solid([cav_piece]),
                        label_priority=3, label_min_mm=30))
    return Wall(z_top, rx_b, ry_b, torso, body_pieces)


# the body outline's levels (mm at body size 1, from the humeral head's centre and the top of
# the torso): the shoulder is widest at the humeral head, the deltoid reaching ~44 mm beyond
# it (rx_b + 30); the neck meets the trapezius ~80 mm above the torso's top (adult shoulder
# slope ~20-25 degrees from the horizontal between acromion and neck); the arm leaves the
# chest wall ~70 mm below the head (the axilla)
SHOULDER_REACH = 30.0
NECK_BASE = 80.0
AXILLA_DROP = 70.0
PARASPINAL_BULGE = 20.0  # lateral film: the back's muscle bulge behind the ribs' curve


def body_profile(fr: Frame, rx_b: float, ry_b: float, neck_r: np.ndarray, z_top: float
                 ) -> Profile:
    """The skin surface for films as height profiles: the flanks curve gently in toward the
    waist, rise over the shoulders (widest at the humeral heads; arms raised on a lateral,
    so no shoulder there) and turn through the trapezius' convex-concave slope into the
    neck, which narrows upward; the depth falls from the chest's to the neck's over the
    same span. Every join is a smoothstep, so the outline has no corner. The skin itself is
    not drawn: 2 mm of dermis over fat differs by 0.0012/mm (a line of a grey level or two,
    measured) and would cost a body-sized solid; a film's skin line is this surface's edge
    against air."""
    s, zT = fr.s, fr.zT
    z = np.arange(zT(16), z_top + 300 * s, 1.0)
    z_sh = zT(1) - 6 * s
    z_ax, z_nb = z_sh - AXILLA_DROP * s, z_top + NECK_BASE * s
    flank = rx_b * np.sqrt(np.maximum(1 - ((z - (z_sh - 60 * s)) / (720 * s)) ** 2, 0.0))
    taper = np.sqrt(np.maximum(1 - ((z - (z_top - 40 * s)) / (400 * s)) ** 2, 1e-4))
    neck_a, neck_b = neck_r[0] * taper, neck_r[1] * 1.06 * taper
    if fr.view == "lateral":
        # the beam runs along x: the width is path length only, not outline. The arms are
        # raised, so the shoulder girdle's bulk leaves the beam: the width rounds off over
        # the cavity's top (the wall's ellipse, 14 mm + fat outside the cavity, 85 mm above)
        dome = rx_b * np.sqrt(np.maximum(1 - ((z - fr.zc) / (fr.rz_cav + 85 * s)) ** 2, 0.0))
        a = np.maximum(dome, neck_a)
    else:
        rise = smoothstep((z - z_ax) / (z_sh - z_ax))
        shoulder = flank + (np.interp(z_sh, z, flank) + SHOULDER_REACH * s - flank) * rise
        # the slope's start eased (u^1.4): the shoulder stays full over the acromion, which
        # sits ~40 mm above the humeral head's centre, before the trapezius falls to the neck
        u = np.clip((z - z_sh) / (z_nb - z_sh), 0.0, 1.0) ** 1.4
        a = shoulder + (neck_a - shoulder) * smoothstep(u)
    deep = smoothstep((z - (z_top - 30 * s)) / (z_nb - z_top + 30 * s))
    # lateral: one back outline, the paraspinal muscles' bulge being the body's own (even
    # with height, so it adds alike behind the upper and the lower spine: the spine sign)
    bulge = PARASPINAL_BULGE * s if fr.view == "lateral" else 0.0
    front = ry_b + (8 * s + neck_b - ry_b) * deep
    back = -(ry_b + bulge) + (8 * s - neck_b + ry_b + bulge) * deep
    return Profile(z, a, (front - back) / 2, (front + back) / 2)


def _box_body(fr: Frame, rx_b: float, ry_b: float, neck_r: np.ndarray, z_top: float
              ) -> tuple[Convex, list[Convex]]:
    """CT's body: a torso column, a shoulder cap roofed by two planes, a neck; each with a
    muscle layer under the fat. Returns the torso and the body's pieces."""
    s, zT, fat, scene = fr.s, fr.zT, fr.fat, fr.scene
    # the flanks curve in toward the waist (a tall ellipsoid clips the cylinder)
    z_waist = z_top + 40 * s

    def waist(rx: float, ry: float):
        return ellipsoid_q([0, 0, z_waist], [rx * 1.1, ry * 1.25, 620 * s])

    torso = Convex([cylinder_q([0, 0, 0], [rx_b, ry_b]), halfspace([0, 0, 1], z_top),
                    waist(rx_b, ry_b)],
                   (np.array([-rx_b, -ry_b, zT(14)]), np.array([rx_b, ry_b, z_top])))
    # the trapezius slopes from the neck down to the shoulder tips: two planes roof the cap
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
    scene.add(Component("subcutaneous_fat", "fat", "air", Solid([torso]), label_priority=1))
    scene.add(Component("subcutaneous_fat", "fat", "air", Solid([cap.with_()]),
                        label_priority=1))
    scene.add(Component("muscle", "muscle", "air", Solid([neck], [cap]), label_priority=1))
    mrx, mry = rx_b - fat, ry_b - fat * 0.9
    torso_m = Convex([cylinder_q([0, 0, 0], [mrx, mry]), halfspace([0, 0, 1], z_top),
                      waist(mrx, mry)],
                     (np.array([-mrx, -mry, zT(14)]), np.array([mrx, mry, z_top])))
    cap_m = ellipsoid([0, 0, z_top], [mrx, mry, 62 * s - fat], None,
                      halfspace([0, 0, -1], -z_top), *roof(fat))
    scene.add(Component("muscle", "muscle", "fat", Solid([torso_m]), label_priority=2))
    scene.add(Component("muscle", "muscle", "fat", Solid([cap_m]), label_priority=2))
    return torso, [torso, cap]


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

