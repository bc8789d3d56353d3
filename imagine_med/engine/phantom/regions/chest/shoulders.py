"""The shoulder girdle: clavicles, scapulae and humeri; on frontal films also the glenoids,
acromia, humeral shafts and the soft tissue of the shoulders and arms."""

from __future__ import annotations

import numpy as np

from imagine_med.engine.phantom.geometry import (
    Convex,
    Solid,
    Tubes,
    axis_rotation,
    cross3,
    cylinder_q,
    ellipsoid,
    ellipsoid_q,
    halfspace,
)
from imagine_med.engine.phantom.regions.chest.frame import Rand
from imagine_med.engine.phantom.scene import Component, Scene

# film: depth of the trabecular network on each bone's density (xray.BONE_TEXTURE_MM), larger
# where a thick cancellous core lies under a thin cortex (the humeral head) than in a shaft
TRABECULAR = {"rib": 0.15, "clavicle": 0.15, "scapula": 0.15, "humeral_head": 0.18,
              "humeral_shaft": 0.0}  # a shaft is cortex round a marrow cavity


# how far (mm at body size 1) a PA positioning slides each scapula laterally round the chest
# wall: enough that its medial border lies at about the lateral lung edge, as a well-positioned
# PA film shows (the scapulae "rotated off the lung fields")
SCAPULA_PROTRACTION_PA = 40.0

# the film blade's lateral angle (the glenoid's neck) from the humeral head's centre (mm at body
# size 1: medial, forward, up): on the head's back surface (its radius ~24 mm), where the
# glenoid meets it, so the blade lies in the scapular plane, ~60 degrees off the coronal
# plane once protracted (~30-45 at rest, turned further as it slides round the chest), and a
# PA film sees it as a plate ~40 mm across reaching the head, the glenoid overlapping the
# head's medial third as on a real film (the corner was 30 mm medial to the head's centre:
# the blade stood ~73 degrees off the coronal plane, a bar ~20 mm across)
GLENOID_FROM_HEAD = np.array([-14.0, -20.0, -10.0])
# the blade's borders on films (radius mm at s = 1): the lateral border a thick rounded pillar
# from below the glenoid to the inferior angle (~8-10 mm across, the blade's densest part
# after the spine), the medial border a thin rim (Gray's Anatomy)
LATERAL_BORDER_R = (4.5, 3.0)
MEDIAL_BORDER_R = 2.0

# The clavicle's cortex (mm at body size 1), which with its marrow sets its film density from
# path lengths: the two cortices together are about half the midshaft's width on PA films
# (47-54%: Nimsee et al., radiogrammetry of 120 adults), the shaft ~10.9 mm across (Bachoura
# et al. 2013): ~2.7 mm each, round cancellous marrow. (The scapula's film plate is
# materials.scapular_blade: cortical laminae round marrow.)
CLAVICLE_CORTEX_MM = 2.7


def shoulders(scene: Scene, rand: Rand, s, zT, a_mid, b_mid, y_cav, rx_b, z_top, view,
               body: list[Convex]) -> None:
    """Clavicles, scapulae and humeri; on frontal films also the glenoids, acromia, humeral
    shafts and the soft tissue of the shoulders and of the arms hanging at the sides."""
    clav_parts, scap_pieces, scap_film, hum_pieces = [], [], [], []
    girdle, shafts, soft, folds = [], [], [], []
    # PA: the backs of the hands on the hips and the shoulders rolled forward slide each
    # scapula round the chest wall and rotate its inferior angle outward, off the lung; AP
    # (supine, arms at the sides, lying on the scapulae) leaves them over the upper zones
    protract = SCAPULA_PROTRACTION_PA * s if view == "pa" else 4 * s
    rotate_out = 1.25 if view == "pa" else 1.0  # the inferior angle's share of the slide
    for sx in (-1.0, 1.0):
        zc = zT(1) - 4 * s + rand.uniform(-6, 6) * s
        head = np.array([sx * (rx_b - 14 * s), y_cav - 22 * s, zT(1) - 6 * s])
        clav_parts.append(_clavicle(sx, s, zT, y_cav + b_mid, y_cav, head, zc))
        # scapula: a thin triangular plate on the back of the chest
        b = b_mid + 10 * s
        S = np.array([sx * (52 * s + protract), y_cav - b, zT(1.8)])
        I_ = np.array([sx * (78 * s + protract * rotate_out), y_cav - b + 6 * s, zT(7.2)])
        G = np.array([sx * (a_mid + 18 * s + protract * 0.3), y_cav - 40 * s, zT(2.2)])
        scap_pieces.append(_plate(S, I_, G, 3 * s))
        # films: the plate's lateral angle carries the glenoid, against the back of the head
        scap_film.append(_plate(S, I_, head + GLENOID_FROM_HEAD * s * [sx, 1, 1], 3 * s))
        hum_pieces.append(ellipsoid(head, np.array([24, 24, 26]) * s))
        girdle.append(_girdle_tubes(sx, s, S, I_, head))
        shafts.append(_humeral_shaft(sx, s, head))
        # the arm hangs a little abducted: in the field's edge, apart from the chest below
        # the axilla; above, it runs inside the body's shoulder (the deltoid is part of the
        # film body's outline, thorax.body_profile)
        elbow = np.array([sx * (rx_b + 64 * s), y_cav - 6 * s, head[2] - 310 * s])
        top = head + np.array([sx * 6 * s, 0, 30 * s])
        arm = ellipsoid((top + elbow) / 2, [40 * s, 44 * s, np.linalg.norm(top - elbow) / 2],
                        axis_rotation(top - elbow))
        soft.append(Solid([arm], body))
        folds.append(Solid([_axillary_fold(sx, s, head, rx_b, y_cav)], [*body, arm]))
    scene.add(Component("clavicle", "cancellous", "muscle", tubes=Tubes.concat(clav_parts),
                        shell_mm=CLAVICLE_CORTEX_MM * s, shell_material="cortical",
                        film_shell=True, label_priority=11, blur_px=1.4,
                        trabecular=TRABECULAR["clavicle"]))
    scene.add(Component("scapula", "cortical", "muscle", Solid(scap_pieces), label_priority=7,
                        label_min_mm=3, xray=False))
    scene.add(Component("scapula", "scapular_blade", "muscle", Solid(scap_film),
                        label_priority=7, label_min_mm=3, ct=False,
                        trabecular=TRABECULAR["scapula"]))
    # arms are raised out of the field for a lateral film (and for CT: no shafts, no arms)
    scene.add(Component("humerus", "rib", "muscle", Solid(hum_pieces), shell_mm=2.0 * s,
                        shell_material="cortical", label_priority=11, label_min_mm=3,
                        film_views=("pa", "ap"), trabecular=TRABECULAR["humeral_head"]))
    scene.add(Component("humerus", "rib", "muscle", Solid(shafts, hum_pieces), shell_mm=2.0 * s,
                        shell_material="cortical", label_priority=11, label_min_mm=3,
                        film_views=("pa", "ap"), ct=False, trabecular=TRABECULAR["humeral_shaft"]))
    scene.add(Component("scapula", "rib", "muscle", tubes=Tubes.concat(girdle),
                        shell_mm=2.0 * s, shell_material="cortical", label_priority=11,
                        blur_px=1.4, outline=1.5 * s, film_views=("pa", "ap"), ct=False,
                        trabecular=TRABECULAR["scapula"]))
    for piece in soft:
        scene.add(Component("muscle", "soft", "air", piece, label_priority=1, ct=False,
                            film_views=("pa", "ap")))
    for piece in folds:
        scene.add(Component("axillary_fold", "muscle", "air", piece, label_priority=1,
                            label_min_mm=4, ct=False, film_views=("pa", "ap")))


def _axillary_fold(sx: float, s: float, head: np.ndarray, rx_b: float, y_cav: float
                   ) -> Convex:
    """The anterior axillary fold: pectoralis major's free lower edge, a muscle band from the
    humerus below its head down and in to the chest wall at about the 5th rib, bridging the
    gap between arm and chest (outside the body wall, deltoid and arm, which it abuts), so
    the axilla's soft tissue ends in an oblique edge instead of opening below the deltoid."""
    arm_end = head + np.array([sx * 6 * s, 18 * s, -46 * s])
    wall_end = np.array([sx * (rx_b - 22 * s), y_cav + 34 * s, head[2] - 128 * s])
    axis = wall_end - arm_end
    half = float(np.linalg.norm(axis)) / 2 + 12 * s
    return ellipsoid((arm_end + wall_end) / 2, np.array([20, 30, 0]) * s + [0, 0, half],
                     axis_rotation(axis))


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
    n = cross3(I_ - S, G - S)
    n /= np.linalg.norm(n)
    qs = [halfspace(n, n @ S + half), halfspace(-n, -(n @ S - half))]
    for P, Q, R in ((S, I_, G), (I_, G, S), (G, S, I_)):
        e = cross3(n, Q - P)
        e /= np.linalg.norm(e)
        if e @ (R - P) > 0:
            e = -e
        qs.append(halfspace(e, e @ P))
    pts3 = np.array([S, I_, G])
    return Convex(qs, (pts3.min(axis=0) - 4 * half / 3, pts3.max(axis=0) + 4 * half / 3))


def _girdle_tubes(sx: float, s: float, S: np.ndarray, I_: np.ndarray, head: np.ndarray
                  ) -> Tubes:
    """Film-only bones round the shoulder joint and the blade's dense edges: the glenoid
    rim over the head's medial third, the scapular spine running up into the acromion over
    the head, and the blade's lateral border (a thick pillar from below the glenoid to the
    inferior angle) and thin medial border (superior to inferior angle)."""
    glen = head + np.array([-sx * 20 * s, -14 * s, 0])
    up = np.array([0, 0, 17 * s])
    glenoid = Tubes.from_polyline(np.array([glen + up, glen, glen - up]), np.array([5, 8, 5]) * s)
    spine_root = S + np.array([sx * 6 * s, 4 * s, -16 * s])
    acromion = Tubes.from_polyline(np.array([
        spine_root, head + np.array([-sx * 40 * s, -34 * s, 26 * s]),
        head + np.array([-sx * 8 * s, -10 * s, 38 * s]),
        head + np.array([sx * 12 * s, -4 * s, 34 * s])]), np.array([3, 4.5, 7, 6]) * s)
    # the borders run just inside the blade's edges (its corners pulled 4 mm toward the
    # blade's middle), so each is a ridge of the plate, not a rod beside it
    corner = head + GLENOID_FROM_HEAD * s * [sx, 1, 1] - up
    centre = (S + I_ + corner) / 3

    def inside(p: np.ndarray) -> np.ndarray:
        d = centre - p
        return p + d / np.linalg.norm(d) * 4 * s

    lateral = Tubes.from_polyline(np.array([inside(corner), inside(I_)]),
                                  np.array(LATERAL_BORDER_R) * s)
    medial = Tubes.from_polyline(np.array([inside(S), inside(I_)]),
                                 np.array([MEDIAL_BORDER_R] * 2) * s)
    return Tubes.concat([glenoid, acromion, lateral, medial])


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

