"""CT renderer: the 3D model's components painted on one slice plane, in HU, with CT noise.

Only the slice plane is evaluated (at full resolution), so a slice costs a few sign tests per
pixel. Partial volume is a slight blur; the noise is white noise shaped by a ramp filter, the
fine, isotropic grain that filtered back-projection gives real scans.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage

from imagine_med.engine.phantom.geometry import Convex, Solid, Tubes
from imagine_med.engine.phantom.labels import label_id
from imagine_med.engine.phantom.materials import M
from imagine_med.engine.phantom.physics.ct import ct_noise
from imagine_med.engine.phantom.regions.chest.ct_wall import refine_wall
from imagine_med.engine.phantom.scene import Scene

WINDOWS = {"lung": (-600.0, 1500.0), "mediastinum": (40.0, 400.0), "bone": (400.0, 1800.0),
           "soft_tissue": (50.0, 350.0)}
VERTEBRAL = {f"t{k}": f"t{k}" for k in range(1, 13)}


@dataclass
class Plane:
    """An axis-aligned slice: pixel (row, col) -> patient point; radiological orientation."""

    name: str  # axial | coronal | sagittal
    level: float  # z (axial), y (coronal) or x (sagittal) in mm
    width: int
    height: int
    px: float
    cu: float  # patient coordinate at the image centre along columns
    cv: float  # ... along rows

    def coords(self, r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
        cols = (np.arange(c0, c1) - (self.width - 1) / 2) * self.px
        rows = (np.arange(r0, r1) - (self.height - 1) / 2) * self.px
        cc, rr = np.meshgrid(cols, rows)
        out = np.empty((*cc.shape, 3))
        if self.name == "axial":  # columns: patient right->left; rows: anterior->posterior
            out[..., 0], out[..., 1], out[..., 2] = self.cu + cc, self.cv - rr, self.level
        elif self.name == "coronal":  # columns: right->left; rows: superior->inferior
            out[..., 0], out[..., 1], out[..., 2] = self.cu + cc, self.level, self.cv - rr
        else:  # sagittal: columns anterior->posterior; rows superior->inferior
            out[..., 0], out[..., 1], out[..., 2] = self.level, self.cu - cc, self.cv - rr
        return out

    def grid(self, r0: int, r1: int, c0: int, c1: int) -> tuple:
        """(x, y, z) of pixels [r0:r1, c0:c1] as broadcastable arrays: rows and columns each
        vary along one patient axis, the third is the plane's level."""
        cols = (np.arange(c0, c1) - (self.width - 1) / 2) * self.px
        rows = (np.arange(r0, r1) - (self.height - 1) / 2) * self.px
        u = cols[None, :]
        v = rows[:, None]
        if self.name == "axial":
            return self.cu + u, self.cv - v, np.float64(self.level)
        if self.name == "coronal":
            return self.cu + u, np.float64(self.level), self.cv - v
        return np.float64(self.level), self.cu - u, self.cv - v

    def axes(self) -> tuple[int, int, int]:
        """(patient axis of columns, of rows, normal axis)."""
        return {"axial": (0, 1, 2), "coronal": (0, 2, 1), "sagittal": (1, 2, 0)}[self.name]

    def crop(self, lo: np.ndarray, hi: np.ndarray) -> tuple[int, int, int, int] | None:
        """Pixel box (r0, r1, c0, c1) covering the box [lo, hi], None if it misses the plane."""
        au, av, an = self.axes()
        if not (lo[an] <= self.level <= hi[an]):
            return None
        sign_u = -1.0 if self.name == "sagittal" else 1.0
        us = sorted([(lo[au] - self.cu) * sign_u, (hi[au] - self.cu) * sign_u])
        vs = sorted([-(lo[av] - self.cv), -(hi[av] - self.cv)])
        c0 = int(np.floor(us[0] / self.px + (self.width - 1) / 2)) - 1
        c1 = int(np.ceil(us[1] / self.px + (self.width - 1) / 2)) + 2
        r0 = int(np.floor(vs[0] / self.px + (self.height - 1) / 2)) - 1
        r1 = int(np.ceil(vs[1] / self.px + (self.height - 1) / 2)) + 2
        c0, r0 = max(c0, 0), max(r0, 0)
        c1, r1 = min(c1, self.width), min(r1, self.height)
        if c1 <= c0 or r1 <= r0:
            return None
        return r0, r1, c0, c1


def make_plane(scene: Scene, plane: str, level: float, width: int, height: int) -> Plane:
    L = scene.landmarks
    s = L["size"]
    half_w = L["a_mid"] + 14 * s + L["fat"] + 15 * s
    half_d = L["b_mid"] + 14 * s + L["fat"] + 15 * s
    top = L["z_apex"] + 45 * s
    bottom = min(L["z_dome_left"], L["z_dome_right"]) - 95 * s
    if plane == "axial":
        px = max(2 * half_w / width, 2 * half_d / height)
        return Plane(plane, level, width, height, px, 0.0, 0.0)
    across = 2 * half_w if plane == "coronal" else 2 * half_d
    px = max(across / width, (top - bottom) / height)
    return Plane(plane, level, width, height, px, 0.0, (top + bottom) / 2)


def _solid_mask(solid: Solid, plane: Plane, piece: Convex, crop) -> np.ndarray:
    r0, r1, c0, c1 = crop
    xyz = plane.grid(r0, r1, c0, c1)
    m = piece.inside_xyz(*xyz).copy()
    if m.any():
        for h in solid.holes:
            lo, hi = h.bounds
            hc = plane.crop(lo, hi)
            if hc is None:
                continue
            # test a hole only on its own box within the piece's (most holes are small)
            a0, a1 = max(hc[0], r0), min(hc[1], r1)
            b0, b1 = max(hc[2], c0), min(hc[3], c1)
            if a1 <= a0 or b1 <= b0:
                continue
            box = m[a0 - r0:a1 - r0, b0 - c0:b1 - c0]
            if box.any():
                box &= ~h.inside_xyz(*plane.grid(a0, a1, b0, b1))
    return m


def _tube_pairs(t: Tubes, plane: Plane, pad: float = 0.0):
    """Every (segment, pixel-in-its-box) pair of the segments near the plane, for one
    vectorised pass: ((u, v) patient coordinates of the pixels, the segments boxed, the box
    of each pair, rows, cols, union box), or None. `pad` (mm) widens the segments' reach
    along the plane normal (a slab)."""
    au, av, an = plane.axes()
    rmax = np.maximum(t.r0, t.r1)
    reach = rmax + pad
    d0 = t.p0[:, an] - plane.level
    d1 = t.p1[:, an] - plane.level
    near = np.flatnonzero((np.minimum(d0, d1) <= reach) & (np.maximum(d0, d1) >= -reach))
    if not len(near):
        return None
    # only the part of a segment within its reach of the plane can touch it: clip each
    # segment to that part before boxing it (an oblique vessel's box shrinks to its cut)
    a, b, e0, e1 = t.p0[near], t.p1[near], d0[near], d1[near]
    dn = e1 - e0
    safe = np.where(np.abs(dn) > 1e-9, dn, 1e-9)
    ta, tb = (-reach[near] - e0) / safe, (reach[near] - e0) / safe
    rr = rmax[near]  # in the plane, a tube reaches its radius round its axis
    lo_t = np.where(np.abs(dn) > 1e-9, np.clip(np.minimum(ta, tb), 0, 1), 0.0)
    hi_t = np.where(np.abs(dn) > 1e-9, np.clip(np.maximum(ta, tb), 0, 1), 1.0)
    ab = b - a
    qa, qb = a + lo_t[:, None] * ab, a + hi_t[:, None] * ab
    su = -1.0 if plane.name == "sagittal" else 1.0
    cols = np.sort(np.stack([(qa[:, au] - plane.cu) * su, (qb[:, au] - plane.cu) * su]), 0)
    rows = np.sort(np.stack([plane.cv - qa[:, av], plane.cv - qb[:, av]]), 0)
    c0 = np.floor((cols[0] - rr) / plane.px + (plane.width - 1) / 2).astype(int) - 1
    c1 = np.ceil((cols[1] + rr) / plane.px + (plane.width - 1) / 2).astype(int) + 2
    r0 = np.floor((rows[0] - rr) / plane.px + (plane.height - 1) / 2).astype(int) - 1
    r1 = np.ceil((rows[1] + rr) / plane.px + (plane.height - 1) / 2).astype(int) + 2
    c0, r0 = np.maximum(c0, 0), np.maximum(r0, 0)
    c1, r1 = np.minimum(c1, plane.width), np.minimum(r1, plane.height)
    ok = (c1 > c0) & (r1 > r0)
    if not ok.any():
        return None
    seg, r0, r1, c0, c1 = near[ok], r0[ok], r1[ok], c0[ok], c1[ok]
    hh, ww = r1 - r0, c1 - c0
    n = hh * ww
    owner = np.repeat(np.arange(len(seg)), n)
    k = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
    rows = r0[owner] + k // ww[owner]
    cols = c0[owner] + k % ww[owner]
    pu = plane.cu + su * (cols - (plane.width - 1) / 2) * plane.px
    pv = plane.cv - (rows - (plane.height - 1) / 2) * plane.px
    return (pu, pv), seg, owner, rows, cols, (r0.min(), r1.max(), c0.min(), c1.max())


def _axis_gap(t: Tubes, plane: Plane, pix: tuple, seg: np.ndarray, owner: np.ndarray
              ) -> tuple[np.ndarray, ...]:
    """Offset (along columns, rows and the normal) from each pixel to the nearest point of
    its segment's axis, and the tube's radius there; per-axis arrays, not (N, 3) rows,
    which numpy handles several times faster."""
    au, av, an = plane.axes()
    a, ab = t.p0[seg], t.p1[seg] - t.p0[seg]
    inv = 1.0 / np.maximum((ab * ab).sum(axis=1), 1e-9)
    du, dv, dn = (pix[0] - a[owner, au], pix[1] - a[owner, av], plane.level - a[owner, an])
    bu, bv, bn = ab[owner, au], ab[owner, av], ab[owner, an]
    u = np.clip((du * bu + dv * bv + dn * bn) * inv[owner], 0, 1)
    gu, gv, gn = du - u * bu, dv - u * bv, dn - u * bn
    r0 = t.r0[seg][owner]
    rad = r0 + u * (t.r1[seg][owner] - r0)
    return gu, gv, gn, rad


def _tube_sd(t: Tubes, plane: Plane, flat: tuple[float, float, float] | None = None
             ) -> tuple[np.ndarray, tuple[int, int, int, int]] | None:
    """Signed distance (mm) to a tube set on the plane pixels near it, all segments at once;
    with `flat` (f, x0, y0), tubes of elliptical section, f times as thick along the
    horizontal ray from the vertical axis through (x0, y0) as across it (ribs)."""
    found = _tube_pairs(t, plane)
    if found is None:
        return None
    pix, seg, owner, rows, cols, (R0, R1, C0, C1) = found
    gu, gv, gn, rad = _axis_gap(t, plane, pix, seg, owner)
    if flat is None:
        sd = np.sqrt(gu * gu + gv * gv + gn * gn) - rad
    else:  # across the chest wall (radially from the axis through flat[1:]) the tube is
        # flat[0] times as thick as along it
        g = [gu, gv, gn]
        au, av, an = plane.axes()
        p = {au: pix[0], av: pix[1], an: plane.level}
        gx, gy = g[(au, av, an).index(0)], g[(au, av, an).index(1)]
        ox, oy = p[0] - gx - flat[1], p[1] - gy - flat[2]
        inv = 1.0 / np.maximum(np.sqrt(ox * ox + oy * oy), 1e-6)
        g_r = (gx * ox + gy * oy) * inv
        sd = np.sqrt(gu * gu + gv * gv + gn * gn + g_r * g_r * (1 / flat[0] ** 2 - 1)) - rad
    img = np.full((R1 - R0, C1 - C0), np.inf)
    np.minimum.at(img, (rows - R0, cols - C0), sd)
    return img, (R0, R1, C0, C1)


RIB_FLAT = 0.55  # a rib is about half as thick (through the chest wall) as it is tall
SLAB_MM = 1.0  # half the reconstructed slice thickness seen by the lung vessels


def _tube_cover(t: Tubes, plane: Plane, slab: float = SLAB_MM
                ) -> tuple[np.ndarray, tuple[int, int, int, int]] | None:
    """Fraction of each pixel a tube set fills, seen through a slab `slab` mm either side of
    the plane: a vessel crossing the slice is a round dot, one lying in it a short branching
    line, and one thinner than a pixel a fainter dot (partial volume), never a broken dash."""
    found = _tube_pairs(t, plane, slab + 0.5 * plane.px)
    if found is None:
        return None
    pix, seg, owner, rows, cols, (R0, R1, C0, C1) = found
    gu, gv, gn, rad = _axis_gap(t, plane, pix, seg, owner)
    gn = np.maximum(np.abs(gn) - slab, 0.0)
    dist = np.sqrt(gu * gu + gv * gv + gn * gn)
    px = plane.px
    # partial volume across the slab: a thin vessel lying in the slice fills only 2r of its
    # thickness (a grey line), one crossing it fills the whole depth (a bright dot)
    ab = t.p1[seg] - t.p0[seg]
    an = plane.axes()[2]
    sin2 = 1 - ab[:, an] ** 2 / np.maximum((ab * ab).sum(axis=1), 1e-9)
    flat = (1.0 / (slab * np.sqrt(np.maximum(sin2, 1e-4))))[owner]
    cov = (np.clip((rad + 0.5 * px - dist) / px, 0, 1) * np.minimum(1.0, 2 * rad / px)
           * np.minimum(1.0, rad * flat))
    img = np.zeros((R1 - R0, C1 - C0))
    np.maximum.at(img, (rows - R0, cols - C0), cov)
    return img, (R0, R1, C0, C1)


def render_slice(scene: Scene, plane: Plane, rng: np.random.Generator, noise_hu: float = 11.0
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Returns (HU float32 HxW, label map uint8). Above 640 px the anatomy is evaluated on a
    coarser grid and interpolated; the noise grain is always added at full resolution."""
    H, W = plane.height, plane.width
    f = int(np.ceil(max(H, W) / 640))
    if f > 1:
        coarse = Plane(plane.name, plane.level, -(-W // f), -(-H // f), plane.px * f,
                       plane.cu, plane.cv)
        hu_c, lab_c = _paint(scene, coarse)
        hu = np.asarray(Image.fromarray(hu_c.astype(np.float32)).resize((W, H), Image.BICUBIC))
        labels = np.asarray(Image.fromarray(lab_c).resize((W, H), Image.NEAREST))
        hu = ndimage.gaussian_filter(hu.astype(np.float64), 0.5)
    else:
        hu, labels = _paint(scene, plane)
        hu = ndimage.gaussian_filter(hu, 0.55)
    hu += ct_noise((H, W), rng, noise_hu, plane.px)
    return hu.astype(np.float32), labels


def paint_order(scene: Scene) -> list:
    """Painter's order: anatomy, then diffuse lung disease, then the mediastinal tubes (the
    lungs are not carved round all of them: the ascending aorta would be painted over), then
    the vessels and airways (seen through ground glass, emphysema and reticulation on CT),
    then focal findings and devices."""
    def rank(c) -> float:
        tree = c.label in ("pulmonary_vessels", "airway")
        if c.finding is None:
            if c.tubes is not None and c.label in _GREAT_TUBES:
                return 1.5
            return 2 if tree else 0
        if tree:
            return 4  # air bronchograms on top of their consolidation
        return 1 if c.finding in _DIFFUSE else 3

    return sorted(scene.components, key=rank)


_DIFFUSE = {"emphysema", "pulmonary_edema", "fibrosis"}
_GREAT_TUBES = {"aorta", "svc", "pulmonary_artery", "esophagus", "trachea"}


def _paint(scene: Scene, plane: Plane) -> tuple[np.ndarray, np.ndarray]:
    H, W = plane.height, plane.width
    hu = np.full((H, W), -1000.0)
    labels = np.zeros((H, W), np.uint8)
    for comp in paint_order(scene):
        if not comp.ct:
            continue
        lid = label_id(comp.label) if comp.labelled else None
        val = M[comp.material].hu
        shell_val = M[comp.shell_material].hu if comp.shell_material else None
        if comp.solid is not None:
            inner = comp.solid.shrunk(comp.shell_mm) if comp.shell_mm > 0 else None
            for k, piece in enumerate(comp.solid.pieces):
                crop = plane.crop(*piece.bounds)
                if crop is None:
                    continue
                m = _solid_mask(comp.solid, plane, piece, crop)
                if not m.any():
                    continue
                r0, r1, c0, c1 = crop
                sub = hu[r0:r1, c0:c1]
                if comp.ct_label_only:
                    if lid is not None:
                        labels[r0:r1, c0:c1][m] = lid
                    continue
                if comp.ct_texture is not None:
                    pts = plane.coords(r0, r1, c0, c1)[m]
                    sub[m] = comp.ct_texture(pts)
                else:
                    sub[m] = val
                if inner is not None:
                    core = _solid_mask(inner, plane, inner.pieces[k], crop)
                    sub[m & ~core] = shell_val
                if lid is not None:
                    labels[r0:r1, c0:c1][m] = lid
        elif comp.tubes is not None and len(comp.tubes) and comp.label == "pulmonary_vessels":
            found = _blend_tubes(hu, comp.tubes, plane, val)
            if found is not None and lid is not None:
                cov, (r0, r1, c0, c1) = found
                labels[r0:r1, c0:c1][cov >= 0.5] = lid
        elif comp.tubes is not None and len(comp.tubes) and _lung_bronchi(comp):
            _paint_bronchi(hu, comp.tubes, plane, val, shell_val)
        elif comp.tubes is not None and len(comp.tubes) and comp.label == "airway" and (
                comp.finding == "consolidation"):
            _paint_bronchograms(hu, labels, comp.tubes, plane, val)
        elif comp.tubes is not None and len(comp.tubes):
            flat = (RIB_FLAT, 0.0, scene.landmarks["y_cav"]) if comp.label == "ribs" else None
            found = _tube_sd(comp.tubes, plane, flat)
            if found is not None:
                sd, (r0, r1, c0, c1) = found
                m = sd <= 0
                if comp.show_with is not None:  # e.g. hepatic veins: inside the liver only
                    m &= labels[r0:r1, c0:c1] == label_id(comp.show_with)
                sub = hu[r0:r1, c0:c1]
                if comp.shell_mm > 0 and shell_val is not None:
                    sub[m & (sd > -comp.shell_mm)] = shell_val
                    sub[sd <= -comp.shell_mm] = val
                else:
                    sub[m] = val
                if lid is not None:
                    labels[r0:r1, c0:c1][m] = lid
    refine_wall(hu, labels, *plane.grid(0, H, 0, W), plane.px, scene)
    return hu, labels


def _lung_bronchi(comp) -> bool:
    """The lobes' bronchial trees (not the air bronchograms of a consolidation)."""
    return comp.label == "airway" and comp.finding is None and comp.shell_material is not None


BRONCHUS_LUMEN = 0.72  # lumen radius / outer radius: a wall about a seventh of the diameter
BRONCHUS_WALL = 0.8  # mm, at least: the wall of a small bronchus still shows as a fine line


def _blend_tubes(hu: np.ndarray, t: Tubes, plane: Plane, value: float,
                 only: np.ndarray | None = None):
    """Blend `value` into the slice by the fraction of each pixel the tubes fill (partial
    volume, `_tube_cover`), where `only` (a full-slice mask) allows; the cover and its box,
    or None where the tubes miss the slice."""
    found = _tube_cover(t, plane)
    if found is not None:
        cov, (r0, r1, c0, c1) = found
        sub = hu[r0:r1, c0:c1]
        sub += (value - sub) * (cov if only is None else cov * only[r0:r1, c0:c1])
    return found


def _paint_bronchi(hu: np.ndarray, t: Tubes, plane: Plane, air: float, wall: float) -> None:
    """Bronchi as thin-walled air tubes with the vessels' partial volume: a ring beside its
    artery where one crosses the slice, a pair of thin lines where one runs in it."""
    if _blend_tubes(hu, t, plane, wall) is None:
        return
    lumen = Tubes(t.p0, t.p1, t.r0 - np.maximum(t.r0 * (1 - BRONCHUS_LUMEN), BRONCHUS_WALL),
                  t.r1 - np.maximum(t.r1 * (1 - BRONCHUS_LUMEN), BRONCHUS_WALL))
    _blend_tubes(hu, lumen, plane, air)


def _paint_bronchograms(hu: np.ndarray, labels: np.ndarray, t: Tubes, plane: Plane,
                        air: float) -> None:
    """Air bronchograms: the bronchial lumens, with partial volume, only where the slice shows
    consolidation (their walls vanish into it): dark branching tubes and dots, labelled
    `air_bronchogram` so the answer key names them only where a slice shows them."""
    lumen = Tubes(t.p0, t.p1, t.r0 * BRONCHUS_LUMEN, t.r1 * BRONCHUS_LUMEN)
    inside = labels == label_id("consolidation")
    found = _blend_tubes(hu, lumen, plane, air, only=inside)
    if found is not None:  # labelled where the lumen fills at least half a pixel
        cov, (r0, r1, c0, c1) = found
        labels[r0:r1, c0:c1][(cov >= 0.5) & inside[r0:r1, c0:c1]] = label_id("air_bronchogram")
