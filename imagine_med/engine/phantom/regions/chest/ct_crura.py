"""CT diaphragmatic crura: the two muscular limbs that anchor the diaphragm to the lumbar
spine and arch round the aorta, drawn on the slice from closed-form geometry.

Below the domes a reader expects them beside the aorta in every upper-abdominal slice: the
right crus (from L1-L3) larger than the left (L1-L2), both thickening downward, meeting in
front of the aorta at the median arcuate ligament (T12, the aortic hiatus) and parting
above it toward the oesophageal hiatus (T10), where they blend into the domes (Gray's
Anatomy, the diaphragm). Each limb is a band hugging the aorta's wall, so axial, coronal and
sagittal slices of one case agree.
"""

from __future__ import annotations

import numpy as np

from imagine_med.engine.phantom.labels import ANATOMY, LUNG_LABELS
from imagine_med.engine.phantom.materials import M
from imagine_med.engine.phantom.regions.chest.ct_spine import _window
from imagine_med.engine.phantom.scene import Scene

# what gives way: fat and unlabelled soft tissue, the lungs' medial recesses and the model's
# liver, whose ellipsoid reaches the spine where the caudate lobe and bare area abut the crus
_YIELDS = tuple(ANATOMY[n] for n in ("mediastinal_fat", "subcutaneous_fat", "body", "liver",
                                      *LUNG_LABELS))
# thickness (mm) of each crus at its top (T11) and from L1 down; the right is the larger
CRUS_MM = {"right": (3.5, 10.0), "left": (2.5, 6.0)}
FRONT_DEG = 35.0  # below the aortic hiatus the limbs leave the aorta's front 2 x 35 deg bare
BACK_DEG = 160.0  # and reach back round its sides to the vertebral body
BELLY_DEG = 115.0  # each limb is thickest beside the vertebral body
INNER_FAT_MM = 1.5  # retrocrural / periaortic fat between the aortic wall and the limbs
FAT_MM = 2.0  # the fat plane round each limb's outer face


def descending_aorta(scene: Scene) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The descending aorta's centreline below the arch as increasing z knots: (z, x, y, r)."""
    pts = []
    for c in scene.find("aorta"):
        t = c.tubes
        if t is None or not len(t):
            continue
        for a, b, r in zip(t.p0, t.p1, t.r1, strict=True):
            if b[2] < a[2] and abs(b[2] - a[2]) > abs(b[1] - a[1]):  # running down
                pts += [(a[2], a[0], a[1], r), (b[2], b[0], b[1], r)]
    if not pts:
        return (np.zeros(0),) * 4
    arr = np.unique(np.array(pts), axis=0)
    return arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 3]


def draw_crura(hu: np.ndarray, labels: np.ndarray, x, y, z, scene: Scene) -> None:
    """In place: the crura on a slice (x left +, y anterior +, z up, mm, broadcastable)."""
    L = scene.landmarks
    if "t12" not in L:
        return
    za, xa, ya, ra = descending_aorta(scene)
    if not len(za):
        return
    hv = L["hv"]
    z_top, z_hiatus = L["t10"] - 0.5 * hv, L["t12"]
    z_low = {"right": L["t12"] - 3 * hv, "left": L["t12"] - 2 * hv}
    shape = labels.shape
    bx, by, bz = (np.broadcast_to(v, shape) for v in (x, y, z))
    lo = (xa.min() - 40, ya.min() - 40, z_low["right"])
    hi = (xa.max() + 40, ya.max() + 40, z_top)
    box = _window(bx, by, bz, lo, hi)
    if box is None:
        return
    bx, by, bz = bx[box], by[box], bz[box]
    cx, cy, r = (np.interp(bz, za, v) for v in (xa, ya, ra))
    dx, dy = bx - cx, by - cy
    gap = np.hypot(dx, dy) - r  # mm outside the aortic wall
    phi = np.degrees(np.arctan2(dx, dy))  # 0 in front of the aorta, + toward the left
    # growth from the top down to L1, then constant
    grow = np.clip((z_top - bz) / (z_top - (z_hiatus - hv)), 0, 1)
    front = np.where(bz > z_hiatus, -8.0, FRONT_DEG)  # above T12 they meet in front
    crus = np.zeros(bx.shape, bool)
    fat = np.zeros(bx.shape, bool)
    for side, sign in (("right", -1), ("left", 1)):
        t0, t1 = CRUS_MM[side]
        a = sign * phi
        # a tendinous front thickening to a muscular belly beside the vertebral body
        belly = np.clip((a - front) / (BELLY_DEG - front), 0.3, 1.0)
        outer = INNER_FAT_MM + (t0 + (t1 - t0) * grow) * belly
        arc = (a >= front - 12) & (a <= BACK_DEG) & (bz >= z_low[side])
        crus |= arc & (gap >= INNER_FAT_MM) & (gap <= outer) & (a >= front)
        # fat planes on both sides of each limb (retrocrural and round its outer face):
        # muscle against liver would show no edge at all
        fat |= arc & (((gap >= 0) & (gap < INNER_FAT_MM))
                      | ((gap > outer) & (gap <= outer + FAT_MM)))
    lab, h = labels[box], hu[box]
    free = np.isin(lab, _YIELDS)
    fat &= free & ~crus
    lab[fat], h[fat] = ANATOMY["mediastinal_fat"], M["fat"].hu
    crus &= free
    lab[crus], h[crus] = ANATOMY["diaphragm"], M["muscle"].hu
