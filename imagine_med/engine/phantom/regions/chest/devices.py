"""Devices in the chest, built into the 3D model like findings (so film and CT agree): an
endotracheal tube, an internal jugular central line and a dual-lead pacemaker."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from imagine_med.engine.phantom.geometry import Solid, Tubes, ellipsoid, rotation
from imagine_med.engine.phantom.regions.chest.frame import Anatomy, Rand
from imagine_med.engine.phantom.scene import Component

if TYPE_CHECKING:
    from imagine_med.engine.phantom.regions.chest.findings import Placed


def _add(an: Anatomy, p: Placed, material: str, container: str, solid=None, tubes=None,
         **kw) -> Component:
    kw.setdefault("label_priority", 60)
    return an.scene.add(Component(p.name, material, container, solid=solid, tubes=tubes,
                                  finding=p.name, **kw))


def _et_tube(an: Anatomy, p: Placed, rand: Rand) -> None:
    """A curved tube from the mouth down the midline trachea, its tip 4-6 cm above the
    carina; the wall is faint plastic, the radiopaque stripe along one side is what shows."""
    s = an.scene.landmarks["size"]
    car = an.scene.points["carina"]
    tip_h = (p.size_mm or rand.uniform(40, 60)) * s
    mid = an.scene.points["trachea_top"]
    tip = car + np.array([0, 6 * s, tip_h])
    ctrl = np.array([mid + np.array([4, 60, 190]) * s, mid + np.array([2, 25, 120]) * s,
                     mid + np.array([0, 4, 45]) * s, mid, (mid + tip) / 2, tip])
    _add(an, p, "plastic", "air", tubes=Tubes.from_curve(ctrl, 4.2 * s), blur_px=0.8,
         label_priority=80, label_min_mm=1, xray_gain=1.0)
    stripe = Tubes.from_curve(ctrl + np.array([2.5 * s, 0, 0]), 0.8)
    _add(an, p, "radiopaque", "air", tubes=stripe, blur_px=0.5, label_priority=80)
    p.center = tip
    p.facts["tip_above_carina_mm"] = round(tip_h)


def _central_line(an: Anatomy, p: Placed, rand: Rand) -> None:
    """An internal jugular line: down the neck beside the trachea, a gentle bend into the
    brachiocephalic vein, then the SVC to a tip at the cavo-atrial junction. A left line
    crosses the midline in the left brachiocephalic vein first."""
    s = an.scene.landmarks["size"]
    left = p.side == "left"
    sx = 1 if left else -1
    z_apex = an.scene.landmarks["z_apex"]
    svc_b, svc_t = an.scene.points["svc_bot"], an.scene.points["svc_top"]
    tip = svc_b + np.array([0, 0, -8 * s])
    ctrl = [[sx * 44 * s, 22 * s, z_apex + 120 * s], [sx * 38 * s, 20 * s, z_apex + 40 * s],
            [sx * 30 * s, 18 * s, z_apex]]
    if left:
        ctrl.append([12 * s, 22 * s, svc_t[2] + 12 * s])
    ctrl += [svc_t + np.array([0, 0, 6 * s]), (svc_t + tip) / 2, tip]
    _add(an, p, "radiopaque", "blood", tubes=Tubes.from_curve(np.array(ctrl), 1.1),
         blur_px=0.5, label_priority=80)
    p.center = tip
    p.side = p.side or "right"


def _pacemaker(an: Anatomy, p: Placed, rand: Rand) -> None:
    """A left pectoral generator with a slack loop of lead beside it; the leads run under the
    clavicle, down the brachiocephalic vein and SVC, one hooks into the right atrial appendage
    (J-shape) and one crosses the tricuspid valve to the right ventricular apex."""
    s = an.scene.landmarks["size"]
    L = an.scene.landmarks
    gen_c = np.array([75 * s, L["b_mid"] + L["fat"] + 10 * s, L["t1"] - 30 * s])
    gen = ellipsoid(gen_c, np.array([24, 4.5, 21]) * s, rotation(roll=0.3))
    _add(an, p, "metal", "fat", Solid([gen]), label_priority=81, label_min_mm=1)
    apex = an.scene.points["heart_apex"]
    svc_t = an.scene.points["svc_top"]
    ra = an.scene.points["svc_bot"] + np.array([2, 0, -18]) * s
    loop = [gen_c + np.array([-20, -6, 10]) * s, gen_c + np.array([-8, -6, 24]) * s,
            gen_c + np.array([8, -6, 14]) * s, gen_c + np.array([-4, -6, -2]) * s]
    entry = [[50 * s, 26 * s, L["t1"] - 6 * s], [22 * s, 18 * s, svc_t[2] + 14 * s],
             svc_t + np.array([2, 0, 0]) * s]
    rv = np.array([*loop, *entry, ra, (ra + apex) / 2 + np.array([0, 4, -14]) * s,
                   apex + np.array([-6, 0, 4]) * s])
    atrial = np.array([*(np.array(loop[:2]) - np.array([0, 0, 4 * s])), *entry,
                       ra + np.array([0, 4, 4]) * s, ra + np.array([6, 14, 18]) * s])
    leads = Tubes.concat([Tubes.from_curve(rv, 1.2), Tubes.from_curve(atrial, 1.1)])
    _add(an, p, "metal", "blood", tubes=leads, blur_px=0.5, label_priority=80)
    p.center = gen_c
    p.side = "left"


DEVICE_BUILDERS = {"et_tube": _et_tube, "central_line": _central_line, "pacemaker": _pacemaker}
