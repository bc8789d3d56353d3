"""The shoulder: proximal humerus (head, greater tuberosity, shaft) against the glenoid of a
simplified scapula (glenoid cup, blade, acromion, coracoid) and the lateral clavicle.

Limb frame (mm): x lateral, y anterior, z down the arm; origin the centre of the humeral
head. Adult numbers (one table): head ~46 mm across facing in and up, the glenoid a shallow
cup covering the head's medial third, the acromion ~1 cm above the head, the coracoid in
front; an anterior dislocation (the commonest, a fall on the outstretched, abducted and
externally rotated arm) leaves the head in front of and below the glenoid, under the
coracoid ("subcoracoid").
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from imagine_med.engine.phantom.regions.limb.anatomy import Bone, Wrist, size_scale
from imagine_med.engine.phantom.regions.limb.hip import Cup
from imagine_med.engine.phantom.regions.limb.shapes import LongBone, Ovoid, rotation

ENVELOPE = {
    "z": (-200.0, -60.0, -20.0, 40.0, 120.0, 400.0),
    "A": (130.0, 120.0, 75.0, 55.0, 50.0, 45.0),
    "B": (110.0, 100.0, 70.0, 55.0, 50.0, 45.0),
    "x0": (-90.0, -80.0, -30.0, -5.0, 0.0, 0.0),
    "fat": (12.0, 12.0, 10.0, 9.0, 8.0, 8.0),
}
# scapula and clavicle as ovoids: label, centre, semi-axes, rotation (deg about x, y, z).
# The blade (body) hangs from the glenoid's neck, thin front to back (a scapular lateral
# sees it edge on: the Y's stem); the spine runs from the blade's back up and out to the
# acromion (the Y's posterior arm); the coracoid points forward (the anterior arm).
SCAPULA = (
    ("scapula", (-62.0, -14.0, 55.0), (42.0, 5.0, 58.0), (8.0, 0.0, 0.0)),  # body
    ("scapula", (-2.0, -14.0, -36.0), (28.0, 10.0, 6.0), (0.0, -8.0, 0.0)),  # acromion
    ("scapula", (-30.0, 22.0, -20.0), (10.0, 16.0, 5.5), (-27.0, 0.0, 0.0)),  # coracoid
    ("clavicle", (-70.0, 12.0, -44.0), (75.0, 8.0, 8.0), (0.0, -8.0, 0.0)),
    ("scapula", (-60.0, -16.0, -24.0), (38.0, 4.5, 7.0), (-21.0, 0.0, 0.0)),  # spine
    ("scapula", (-40.0, -14.0, -20.0), (26.0, 4.0, 19.0), (-21.0, 0.0, 0.0)),  # its root
    ("scapula", (-30.0, -6.0, 12.0), (8.0, 9.0, 16.0), (0.0, 0.0, 0.0)),  # glenoid neck
    ("scapula", (-32.0, 6.0, -12.0), (12.0, 9.0, 5.0), (-27.0, 0.0, 0.0)),  # coracoid base
    ("scapula", (-65.0, -16.0, -12.0), (35.0, 3.0, 16.0), (-21.0, 0.0, 0.0)),  # supraspinous
)
POSTERIOR_SHIFT_MM = ((12.5, 15.0), (18.0, 24.0), (0.0, 5.0))  # out, back, down
POSTERIOR_INTERNAL_ROTATION_DEG = (50.0, 70.0)  # the arm locked in internal rotation


def _humerus(s: float) -> Bone:
    shaft = LongBone(
        z_knots=tuple(z * s for z in (0.0, 20.0, 45.0, 90.0, 400.0)),
        a=tuple(v * s for v in (22.0, 18.0, 13.0, 11.5, 11.0)),
        b=tuple(v * s for v in (21.0, 17.0, 12.5, 11.0, 10.5)),
        cx=(0.0,) * 5,
        cortex=tuple(v * s for v in (0.8, 1.2, 2.5, 3.5, 3.5)),
        z_lo=0.0,
        z_hi=400.0 * s,
        dome_lo_mm=-6.0 * s,
        cancellous_from=1e9,
        cancellous_below=50.0 * s,
    )
    hum = Bone("humerus", shaft, np.array([6.0, 0.0, 4.0]) * s, np.eye(3), 31, tex_offset=71)
    hum.parts.append(
        Bone(
            "humeral_head",
            Ovoid(23.0 * s, 23.0 * s, 23.0 * s, 1.0),
            np.zeros(3),
            np.eye(3),
            32,
            tex_offset=73,
        )
    )
    hum.parts.append(
        Bone(
            "humerus",
            Ovoid(10.0 * s, 12.0 * s, 14.0 * s, 0.9),
            np.array([24.0, 2.0, 10.0]) * s,
            np.eye(3),
            31,
            tex_offset=75,
        )
    )  # greater tuberosity
    return hum


def build_shoulder(seed: int, age: float, sex: str) -> Wrist:
    rng = np.random.default_rng([seed, 43])
    s = size_scale(age, sex) * float(1.0 + rng.uniform(-0.05, 0.05))
    glenoid = Cup(25.5 * s, 31.0 * s, (1.0, 0.0, 0.0), cover=-0.72, cortex_mm=1.5)
    bones = [_humerus(s), Bone("glenoid", glenoid, np.zeros(3), np.eye(3), 30, tex_offset=77)]
    for i, (label, c, semi, ang) in enumerate(SCAPULA):
        bones.append(
            Bone(
                label,
                Ovoid(*(v * s for v in semi), 1.2),
                np.array(c) * s,
                rotation(*ang),
                29 if label == "scapula" else 28,
                tex_offset=79 + i,
            )
        )
    env = {k: tuple(v * s for v in vals) for k, vals in ENVELOPE.items()}
    return Wrist(
        bones,
        age,
        sex,
        s,
        env,
        region="shoulder",
        fov_mm=(200.0, 200.0),
        centre=(-20.0, 0.0, 10.0),
        distal_down=True,
        voxel_max_mm=1.3,
        voxel_px=3.0,
    )


def dislocate_anterior(limb: Wrist, seed: int) -> Wrist:
    """Anterior (subcoracoid) dislocation: the humerus moved forward, in and down, the head
    coming to lie under the coracoid, the arm slightly abducted; the posterolateral head
    impacted on the glenoid's anterior rim (a Hill-Sachs lesion)."""
    rng = np.random.default_rng([seed, 47])
    s = limb.scale
    shift = np.array([-rng.uniform(18, 26), rng.uniform(18, 26), rng.uniform(18, 26)]) * s
    R = rotation(0.0, rng.uniform(5, 12), 0.0)
    depth = float(rng.uniform(*HILL_SACHS_DEPTH_MM)) * s
    return _move_humerus(_hill_sachs(limb, depth), R, shift)


HILL_SACHS_DEPTH_MM = (3.0, 6.0)  # impaction of the posterolateral head (Calandra grade II)
HILL_SACHS_WHERE = np.array([0.55, -0.7, -0.45])  # lateral, posterior, superior


def _hill_sachs(limb: Wrist, depth_mm: float) -> Wrist:
    """A wedge-like defect of the posterolateral humeral head: a sphere of radius 2.2x the
    depth centred that far outside the surface bites `depth_mm` into the head."""
    from imagine_med.engine.phantom.regions.limb.lesions import Erosion, wrap

    bones = []
    for b in limb.bones:
        if b.name == "humerus":
            parts = []
            for p in b.parts:
                if p.name == "humeral_head":
                    r = float(p.shape.a)
                    k = HILL_SACHS_WHERE / np.linalg.norm(HILL_SACHS_WHERE)
                    big = 2.2 * depth_mm
                    c = tuple(float(v) for v in k * (r + big - depth_mm))
                    les = Erosion(c, big, "hill_sachs", "fibrous")
                    p = replace(p, shape=wrap(p.shape, les))
                parts.append(p)
            b = replace(b, parts=parts)
        bones.append(b)
    return replace(limb, bones=bones)


def _move_humerus(limb: Wrist, R: np.ndarray, shift: np.ndarray) -> Wrist:
    """The humerus and its parts turned by R about the head's centre and shifted."""
    bones = []
    for b in limb.bones:
        if b.name == "humerus":
            parts = [replace(p, centre=R @ p.centre + shift, rot=R @ p.rot) for p in b.parts]
            b = replace(b, centre=R @ b.centre + shift, rot=R @ b.rot, parts=parts)
        bones.append(b)
    return replace(limb, bones=bones)


def dislocate_posterior(limb: Wrist, seed: int) -> Wrist:
    """Posterior dislocation (a seizure, an electric shock, a fall on the adducted, internally
    rotated arm): the head driven back behind the glenoid and locked there, the arm fixed in
    internal rotation (the greater tuberosity turned forward: the head's outline symmetric,
    a "light bulb", on the AP), the head a little lateral of the glenoid (the AP's widened
    glenohumeral distance, the "rim sign")."""
    rng = np.random.default_rng([seed, 53])
    s = limb.scale
    (xo, xh), (yo, yh), (zo, zh) = POSTERIOR_SHIFT_MM
    shift = np.array([rng.uniform(xo, xh), -rng.uniform(yo, yh), rng.uniform(zo, zh)]) * s
    R = rotation(0.0, 0.0, rng.uniform(*POSTERIOR_INTERNAL_ROTATION_DEG))
    return _move_humerus(limb, R, shift)


CENTRED_MM = 8.0  # Y view: the head's centre within this of the glenoid's is centred


def shoulder_numbers(labels: np.ndarray, px: float, view: str, side: str) -> dict[str, float]:
    """From this film's label map: the humeral head's centre against the glenoid's (the
    glenoid label lies over the head's, so each is whole or nearly). AP: how far below
    (`head_below_glenoid_mm`) and the glenohumeral distance (the glenoid's lateral edge to
    the head's medial edge across the head's middle rows, negative where they overlap).
    Y view: how far anterior (+) or posterior (-) (`head_anterior_mm`)."""
    from imagine_med.engine.phantom.regions.limb.labels import LABELS

    head = labels == LABELS["humeral_head"]
    glen = labels == LABELS["glenoid"]
    if not head.any() or not glen.any():
        return {}
    hy, hx = np.nonzero(head)
    gy, gx = np.nonzero(glen)
    m: dict[str, float] = {}
    seen = float((labels == LABELS["hill_sachs"]).sum()) * px * px
    if seen > 0:
        m["hill_sachs_mm2"] = round(seen, 1)
    if view == "scapular_y":  # anterior on the image right
        m["head_anterior_mm"] = round(float(hx.mean() - gx.mean()) * px, 1)
        return m
    m["head_below_glenoid_mm"] = round(float(hy.mean() - gy.mean()) * px, 1)
    lateral = 1.0 if side == "left" else -1.0  # the patient's left on the image right
    rows = np.arange(int(hy.mean() - 5 / px), int(hy.mean() + 5 / px) + 1)
    gaps = []
    for r in rows:
        hc, gc = np.flatnonzero(head[r]), np.flatnonzero(glen[r])
        if len(hc) and len(gc):
            if lateral > 0:
                gaps.append(hc.min() - gc.max() - 1)
            else:
                gaps.append(gc.min() - hc.max() - 1)
    if gaps:
        m["glenohumeral_distance_mm"] = round(float(np.median(gaps)) * px, 1)
    return m


def where_on_y(head_anterior_mm: float) -> str:
    if head_anterior_mm > CENTRED_MM:
        return "anterior"
    if head_anterior_mm < -CENTRED_MM:
        return "posterior"
    return "centred"


def shoulder_sentence(
    pattern: str | None, m: dict[str, float], view: str, side: str, age: float, cause: str = ""
) -> str:
    who = (
        f"{side.capitalize()} shoulder, {'scapular Y' if view == 'scapular_y' else 'AP'} view, "
        f"age {age:.0f}."
    )
    name = {
        "anterior_dislocation": "Anterior (subcoracoid) dislocation of the shoulder",
        "posterior_shoulder_dislocation": "Posterior dislocation of the shoulder",
        None: "Normal shoulder: no fracture or dislocation",
    }[pattern]
    parts = [f"{name}{cause}."]
    if "head_anterior_mm" in m:
        a = m["head_anterior_mm"]
        pos = where_on_y(a)
        words = {
            "centred": "centred on the glenoid, where the Y's limbs meet",
            "anterior": "anterior to the glenoid, under the coracoid",
            "posterior": "posterior to the glenoid, under the acromion",
        }[pos]
        parts.append(
            f"On the scapular Y view the humeral head lies {words} (its centre "
            f"{abs(a):.0f} mm {'in front of' if a >= 0 else 'behind'} the "
            f"glenoid's)."
        )
    if m.get("hill_sachs_mm2", 0) > 0:
        parts.append(
            f"A Hill-Sachs impaction of the posterolateral humeral head "
            f"({m['hill_sachs_mm2']:.0f} mm^2 on this view)."
        )
    if "head_below_glenoid_mm" in m and pattern == "anterior_dislocation":
        parts.append(
            f"The humeral head lies out of the glenoid, its centre "
            f"{m['head_below_glenoid_mm']:.0f} mm below the glenoid's (level with it "
            "in a normal shoulder), under the coracoid."
        )
    if "glenohumeral_distance_mm" in m and pattern == "posterior_shoulder_dislocation":
        parts.append(
            "The arm is fixed in internal rotation, the head's outline symmetric "
            "(the light bulb sign); the glenohumeral distance is widened to "
            f"{m['glenohumeral_distance_mm']:.0f} mm (normal < 6 mm: the rim sign)."
        )
    parts.append(who)
    return " ".join(parts)
