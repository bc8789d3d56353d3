"""CT vertebrae: the posterior elements and spinal canal, drawn analytically on the slice.

The 3D model's vertebral column is one cylinder with a disc texture; films get their own arch
tubes. On a CT slice a reader looks for a vertebra's parts: the body, a round canal closed by
the pedicles (upper half of each level) and the laminae, transverse processes reaching back
and out to meet the rib necks, and a spinous process that slopes down (steeply mid-chest, so
on a sagittal slice the processes overlap like roof tiles). Each part is a closed-form 3D
shape evaluated at the slice's pixels (x, y, z broadcastable arrays), so axial, coronal and
sagittal slices of one case agree; only a box round the spine is evaluated.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from imagine_med.engine.phantom.labels import ANATOMY, FINDINGS, LUNG_LABELS
from imagine_med.engine.phantom.materials import M
from imagine_med.engine.phantom.scene import Scene
from imagine_med.engine.phantom.textures import trabecular_hu

_SPINE, _RIB, _BODY = ANATOMY["spine"], ANATOMY["ribs"], ANATOMY["body"]
# tissue a bone may replace: soft tissue, the lung's medial edge and pleural fluid (the
# model's pleural space reaches round the spine), never another finding
_YIELDS = (*(ANATOMY[n] for n in ("body", "subcutaneous_fat", "muscle", "mediastinal_fat",
                                  "pulmonary_vessels", "fissure", *LUNG_LABELS)),
           FINDINGS["pleural_effusion"])
# spinous process tilt below the horizontal (degrees) by level, C6 (-1) .. L2 (14): steepest
# mid-thoracic, where each process overlaps the one below
_SP_TILT = dict(zip(range(-1, 15), (12, 18, 28, 35, 45, 55, 62, 65, 65, 62, 55, 45, 32, 22,
                                    12, 10), strict=True))
CSF_HU = 20.0  # cord and CSF together


def _capsule(x, y, z, a, b, r0: float, r1: float, fx: float = 1.0, fz: float = 1.0
             ) -> np.ndarray:
    """Signed distance (mm) to a tapered capsule from a to b; along x (z) it is fx (fz) times
    as thick (fx < 1: a thin blade, like a spinous process; fz > 1: a tall one)."""
    ab = np.subtract(b, a)
    dx, dy, dz = x - a[0], y - a[1], z - a[2]
    u = np.clip((dx * ab[0] + dy * ab[1] + dz * ab[2]) / float(ab @ ab), 0, 1)
    gx, gy, gz = (dx - u * ab[0]) / fx, dy - u * ab[1], (dz - u * ab[2]) / fz
    return np.sqrt(gx * gx + gy * gy + gz * gz) - (r0 + u * (r1 - r0))


def _rib_starts(scene: Scene, s: float, y_back: float) -> np.ndarray:
    """The medial ends of the posterior rib arcs (where each rib's tubercle meets its
    transverse process): polyline starts, i.e. segment starts that no segment ends at."""
    out = []
    for c in scene.find("ribs"):
        t = c.tubes
        if t is None or not len(t):
            continue
        ends = {tuple(p) for p in t.p1}
        for p in t.p0:
            if tuple(p) not in ends and abs(p[0]) < 45 * s and p[1] < y_back + 10 * s:
                out.append(p)
    return np.array(out).reshape(-1, 3)


def draw_vertebrae(hu: np.ndarray, labels: np.ndarray, x, y, z, px: float,
                   scene: Scene) -> None:
    """In place: pedicles, laminae, transverse and spinous processes (cancellous bone in a
    cortex), the rib necks running from the tubercles to the vertebral bodies, and the spinal
    canal (soft tissue) behind the bodies."""
    L = scene.landmarks
    s, hv = L["size"], L["hv"]
    y_back = L["y_spine"] - 15 * s  # posterior surface of the vertebral body
    y_c = y_back - 6.5 * s  # canal centre: its front indents the body's back a little
    shape = labels.shape
    bx, by, bz = (np.broadcast_to(v, shape) for v in (x, y, z))
    y_b = L["y_spine"]
    body = _window(bx, by, bz, (-BODY_RX * s, y_b - BODY_RY * s, -np.inf),
                   (BODY_RX * s, y_b + BODY_RY * s, np.inf))
    if body is not None:
        _shape_bodies(hu[body], labels[body], bx[body], by[body], bz[body], s, y_b,
                      int(scene.params.get("tex_seed", 0)))
    box = _window(bx, by, bz, (-42 * s, y_back - 42 * s, -np.inf),
                  (42 * s, y_back + 10 * s, np.inf))
    if box is None:
        return
    bx, by, bz = bx[box], by[box], bz[box]
    lab, h = labels[box], hu[box]
    post = np.zeros(bx.shape, bool)
    neck = np.zeros(bx.shape, bool)
    for k in range(-1, 15):
        for lo, hi, part in _parts(L["t5"] - (k - 5) * hv, k, s, y_back, y_c):
            w = _window(bx, by, bz, lo, hi)
            if w is not None:
                post[w] |= part(bx[w], by[w], bz[w])
    for p in _rib_starts(scene, s, y_back):  # rib neck and head, to the body's side
        head = np.array([np.sign(p[0]) * 16 * s, y_back + 5 * s, p[2] + 0.23 * hv])
        w = _window(bx, by, bz, np.minimum(p, head) - 5 * s, np.maximum(p, head) + 5 * s)
        if w is not None:
            neck[w] |= _capsule(bx[w], by[w], bz[w], p, head, 4 * s, 4.5 * s) <= 0
    free = np.isin(lab, _YIELDS)
    neck &= free
    lab[neck], h[neck] = _RIB, M["rib"].hu
    post &= free
    lab[post], h[post] = _SPINE, M["cancellous"].hu
    canal = (((bx / (8.5 * s)) ** 2 + ((by - y_c) / (7.5 * s)) ** 2) <= 1) & (
        free | (lab == _SPINE))
    lab[canal], h[canal] = _BODY, CSF_HU
    _cortex(h, (lab == _SPINE) & (h >= 200), px)


# the CT column's cross-section (bones._spine): semi-axes 19 x 15 mm at size 1
BODY_RX, BODY_RY = 19.0, 15.0


def body_outline(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Inside a thoracic vertebral body's axial outline, in units of the column's semi-axes
    (u: left +, v: anterior +): rounded in front and a little narrower there (the heart
    shape of a thoracic body), flat-backed with a shallow central concavity where the
    basivertebral veins leave it (Gray's Anatomy, thoracic vertebrae)."""
    half_w = 1.0 - 0.28 * np.clip(v, 0, None)  # tapering toward the front
    front = (u / half_w) ** 2 + v**2 <= 1
    back = np.abs(u / half_w) ** 2.6 + np.abs(v) ** 3.2 <= 1  # squarer posterolateral corners
    inside = np.where(v >= 0, front, back)
    bite = (u / 0.42) ** 2 + ((v + 1.08) / 0.2) ** 2 <= 1  # the posterior concavity
    return inside & ~bite


def _shape_bodies(h: np.ndarray, lab: np.ndarray, x, y, z, s: float, y_b: float,
                  seed: int) -> None:
    """In place: the column's elliptical cross-section trimmed to a vertebral body's outline
    (what it loses becomes paravertebral fat), trabeculae in its cancellous bone and the
    basivertebral vein's channel entering its back. Disc levels (< 200 HU) keep the disc."""
    col = lab == _SPINE
    if not col.any():
        return
    u, v = x / (BODY_RX * s), (y - y_b) / (BODY_RY * s)
    cut = col & (v > -1.05) & ~body_outline(u, v)
    lab[cut], h[cut] = ANATOMY["mediastinal_fat"], M["fat"].hu
    spongy = col & ~cut & (h > 200) & (h < 500)
    if spongy.any():
        pts = np.stack([x[spongy], y[spongy], z[spongy]], axis=1)
        h[spongy] += trabecular_hu(pts, seed)
        # basivertebral vein: a channel from the posterior concavity to the body's centre
        # (200 HU: darker than the trabeculae, still bone to the cortex rim drawn later)
        vein = spongy & (np.abs(u) < 0.06 + 0.2 * np.clip(-v - 0.6, 0, None)) & (v < -0.35)
        h[vein] = 200.0


def _parts(zc: float, k: int, s: float, y_back: float, y_c: float) -> list:
    """Level k's posterior elements (body centre at zc) as (box low, box high, inside test)."""
    v = np.array

    def pedicles(x, y, z):  # posterolateral bars from the upper two thirds of the body
        ped_z = ((z - zc - 2 * s) / (8 * s)) ** 4
        m = (((np.abs(x) - 11 * s) / (3.8 * s)) ** 2 + ((y - y_back + 2 * s) / (9 * s)) ** 4
             + ped_z) <= 1
        # ... which close the canal's front corners against the body
        return m | ((x / (11 * s)) ** 2 + ((y - y_c) / (10 * s)) ** 2 + ped_z <= 1) & (y > y_c)

    def laminae(x, y, z):  # a roof behind the canal meeting at the spinous process,
        dz = z - zc + 0.35 * np.maximum(y_c - y, 0)  # shingled (lower further back)
        return (((np.abs(x / (16 * s)) ** 1.5 + np.abs((y - y_c) / (14 * s)) ** 1.5) <= 1)
                & (y < y_c + s) & (dz > -11 * s) & (dz < 9 * s))

    def transverse(sx):  # out and back from the pedicle-lamina junction
        a, b = v([sx * 12 * s, y_c + s, zc + 2 * s]), v([sx * 28 * s, y_c - 8 * s, zc + 2 * s])
        pad = v([4.5, 4.5, 7.7]) * s  # as tall as the pedicles they spring from
        return (np.minimum(a, b) - pad, np.maximum(a, b) + pad,
                lambda x, y, z: _capsule(x, y, z, a, b, 4.5 * s, 4 * s, fz=1.7) <= 0)

    # spinous process: a thin blade sloping down and back to a tip inside the back muscles
    reach = 19 * s
    base = v([0.0, y_c - 9 * s, zc - 2 * s])
    tip = base + v([0.0, -reach, -reach * np.tan(np.radians(_SP_TILT[k]))])
    return [(v([-15 * s, y_back - 11 * s, zc - 6 * s]), v([15 * s, y_back + 7 * s, zc + 10 * s]),
             pedicles),
            (v([-16 * s, y_c - 14 * s, zc - 16 * s]), v([16 * s, y_c + s, zc + 9 * s]), laminae),
            transverse(-1), transverse(1),
            (np.minimum(base, tip) - 4.5 * s, np.maximum(base, tip) + 4.5 * s,
             lambda x, y, z: _capsule(x, y, z, base, tip, 4.5 * s, 3.5 * s, fx=0.6) <= 0)]


def _window(bx: np.ndarray, by: np.ndarray, bz: np.ndarray, lo, hi
            ) -> tuple[slice, slice] | None:
    """The pixel box of a slice (coordinate grids varying along rows or columns only) that
    holds its points within the 3D box [lo, hi], or None."""
    rows, cols = np.ones(bx.shape[0], bool), np.ones(bx.shape[1], bool)
    for g, a, b in ((bx, lo[0], hi[0]), (by, lo[1], hi[1]), (bz, lo[2], hi[2])):
        if g.shape[0] > 1 and g[0, 0] != g[-1, 0]:
            rows &= (g[:, 0] >= a) & (g[:, 0] <= b)
        else:
            cols &= (g[0, :] >= a) & (g[0, :] <= b)
    r, c = np.flatnonzero(rows), np.flatnonzero(cols)
    if not len(r) or not len(c):
        return None
    return slice(r[0], r[-1] + 1), slice(c[0], c[-1] + 1)


def _cortex(h: np.ndarray, bone: np.ndarray, px: float, mm: float = 1.3) -> None:
    """A cortical rim (within `mm` of the bone's outline in the slice) round cancellous bone;
    a part cut tangentially is all rim, as a thin bone's partial volume is."""
    if bone.any():  # (the box's edge is not an outline: the column runs on past it)
        d = ndimage.distance_transform_edt(np.pad(bone, 1, mode="edge"))[1:-1, 1:-1]
        h[bone & (d * px <= mm)] = M["cortical"].hu
