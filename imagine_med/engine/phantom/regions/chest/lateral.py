"""Lateral-film-only corrections to the oval chest model (a frontal film and CT do not need
them): the paravertebral lung gutters, the paraspinal muscle bulge, the lifted clavicles, the
curved lateral sternum, the aortic arch outlined by lung and thinner vertebral end plates."""

from __future__ import annotations

import numpy as np

from imagine_med.engine.phantom.geometry import Convex, Solid, ellipsoid, ellipsoid_q, halfspace
from imagine_med.engine.phantom.scene import Component, Scene


def lateral_film(scene: Scene, s: float, zT, cavity: Convex, wall: Convex,
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
