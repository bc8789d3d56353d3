"""The seeded, parametric 3D chest, built in named steps: the frame (sizes, levels, cavity),
thorax (body wall, breasts), mediastinum (heart, great vessels, airway), abdomen (domes,
liver, stomach, spleen), lungs (lobes, fissures, trees) and bones (ribs, spine, sternum,
shoulder girdle). Findings and devices are added afterwards (findings.py, devices.py).

`Adjust` carries what pathology changes in the normal anatomy (heart size, dome height,
mediastinal shift, recoil of a lung, ...), so the disease is built into the model rather than
painted on an image. The steps draw from one seeded stream in a fixed order.
"""

from __future__ import annotations

import numpy as np

from imagine_med.engine.phantom.regions.chest.abdomen import abdomen
from imagine_med.engine.phantom.regions.chest.bones import bones
from imagine_med.engine.phantom.regions.chest.frame import Adjust, Anatomy, Rand, make_frame
from imagine_med.engine.phantom.regions.chest.lungs import lungs
from imagine_med.engine.phantom.regions.chest.mediastinum import mediastinum
from imagine_med.engine.phantom.regions.chest.thorax import body_wall, breasts


def build_anatomy(rand: Rand, sex: str, age: int, posture: str, adjust: Adjust,
                  view: str = "pa") -> Anatomy:
    fr = make_frame(rand, sex, age, posture, adjust, view)
    w = body_wall(fr)
    breasts(fr, w)
    mt = mediastinum(fr)
    ab = abdomen(fr)
    lu = lungs(fr, mt, ab)
    rib_lines = bones(fr, w.body_pieces, w.rx_b, w.z_top,
                      [ab.dome_r_c, ab.dome_l_c, mt.para])
    s, scene = fr.s, fr.scene
    fr.land["thorax_width"] = mt.thorax
    scene.params.update({"kx": ab.kx, "ky": ab.ky, "s": s, "elderly": float(fr.elderly)})
    scene.points.update({"hilum_right": mt.hila["right"], "hilum_left": mt.hila["left"],
                         "knob": mt.knob_c,
                         "dome_right_apex": np.array([-58 * s, 8 * s, fr.z_dome_r]),
                         "dome_left_apex": np.array([56 * s, 4 * s, fr.z_dome_l]),
                         "root": mt.root, "trachea_top": mt.trachea[0], "svc_bot": mt.svc_bot,
                         "svc_top": mt.svc_top,
                         "heart_apex": mt.hc + mt.Rh[:, 2] * mt.hr[2] * 0.8})
    return Anatomy(scene, lu.lobe_pieces, lu.lobe_holes, lu.side_env, lu.side_holes, fr.cavity,
                   {"right": ab.dome_r, "left": ab.dome_l}, mt.heart, mt.hila, lu.trees,
                   lu.bronchi, rib_lines, w.body_pieces, fr.comps, lu.air_bronchi)
