"""Lateral-film-only corrections to the oval chest model (a frontal film and CT do not need
them): the paravertebral lung gutters, the lifted clavicles and the aortic arch outlined by
lung."""

from __future__ import annotations

import numpy as np

from imagine_med.engine.phantom.geometry import Convex, Solid, ellipsoid, halfspace
from imagine_med.engine.phantom.scene import Component, Scene

# how far (mm at body size 1) the paravertebral gutters' lung sits below the cavity's centre:
# chosen so the film's lower thoracic spine is 23-38 grey levels darker than T3 (seeds 7, 21, 42,
# 384 px), from path lengths alone (tests/test_phantom_lateral.py)
GUTTER_DROP_MM = 24.0


def lateral_film(scene: Scene, s: float, cavity: Convex, lung_holes: list[Convex]) -> None:
    """Lateral-film-only corrections to the oval chest model. A real thorax is widest at the
    back (the lungs fill the paravertebral gutters beside the spine), so on a lateral the
    posterior lungs overlie the vertebral bodies, more of them low down (the "spine sign": the
    gutters are deepest at the back of the lower chest, where the posterior costophrenic
    recesses reach T12, and shallow beside the upper spine under the narrow apices; the
    gutter's centre is set GUTTER_DROP_MM below the cavity's; the paraspinal muscles' bulge
    behind the spine is part of the film body's outline, thorax.body_profile). The clavicles,
    lifted with the raised arms, are crossed obliquely rather than along their length."""
    (cc, _R, cr) = cavity.quadrics[0].params
    gutter = ellipsoid(cc + np.array([0, -0.42 * cr[1], -GUTTER_DROP_MM * s]),
                       cr * np.array([1.0, 0.62, 0.97]), None,
                       halfspace([0, -1, 0], cr[1] - cc[1] - 6 * s))
    scene.add(Component("lung_gutter", "lung", "muscle", Solid([gutter], [cavity, *lung_holes]),
                        labelled=False, ct=False))
    for comp in scene.find("clavicle"):
        # a lateral sees them end-on over the apices: a third of their frontal density
        comp.view_gain = {"lateral": 0.36}
    # the aortic arch (the CT tube: ascending, arch, descending) outlined by lung above the
    # hila; frontal films draw only the knob
    for comp in scene.find("aorta"):
        if comp.tubes is not None:
            comp.xray, comp.xray_gain = True, 6.0
