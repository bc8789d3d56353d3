"""Positioning and voxels: each view as a radiographer sets it (the beam's direction in the
limb frame, what is up and what is right on the image), the limb's bones voxelised in the
beam's frame (one block per bone), and the soft tissue's path length in closed form.

Display (radiological convention, physics.md): frontal views (PA, AP, oblique) are seen as
if facing the patient, distal up, so a left wrist shows its radial (thumb) side, the
patient's left, on the image right and a right wrist on the image left. Laterals are shown
distal up with the dorsum to the image right for either side. The PA oblique is the hand
turned 45 degrees thumb-up (semi-pronated) from the PA.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from imagine_med.engine.phantom.physics.radiography import (
    Beam,
    Block,
    Klass,
    VoxelGrid,
    chord,
    mu_per_mm,
)
from imagine_med.engine.phantom.regions.limb.anatomy import Bone, Wrist
from imagine_med.engine.phantom.regions.limb.fracture import Fracture
from imagine_med.engine.phantom.regions.limb.lesions import Diseased
from imagine_med.engine.phantom.regions.limb.shapes import LongBone, texture

VIEWS = ("pa", "ap", "lateral", "oblique")
ANKLE_VIEWS = ("ap", "mortise", "lateral")
SID_MM = 1000.0  # extremity films: 100 cm focus-to-detector
TABLE_GAP_MM = 8.0  # limb surface to detector (cassette cover)
VOXEL_MM = (0.45, 0.7)  # voxel size range: ~2.2 detector pixels, within these bounds

LABEL_PRIORITY: dict[str, int] = {
    "fracture_line": 60, "fragment_butterfly": 46, "fragment_distal": 45,
    "radius_physis": 43, "radius_epiphysis": 42, "radius_metaphysis": 41,
    "ulna_physis": 38, "ulna_epiphysis": 37, "ulna_metaphysis": 36,
    "radius": 30, "ulna": 28, "scaphoid": 27, "lunate": 26, "triquetrum": 26, "pisiform": 25,
    "trapezium": 26, "trapezoid": 26, "capitate": 26, "hamate": 26,
    "metacarpal_1": 24, "metacarpal_2": 24, "metacarpal_3": 24, "metacarpal_4": 24,
    "metacarpal_5": 24, "callus": 10,
    "fibula_physis": 39, "fibula_epiphysis": 38, "fibula_metaphysis": 37,
    "tibia_physis": 35, "tibia_epiphysis": 34, "tibia_metaphysis": 33,
    "fibula": 32, "tibia": 31, "talus": 27, "calcaneus": 24, "navicular": 23, "cuboid": 23,
    "humerus": 31, "capitellum": 33, "anterior_fat_pad": 9, "posterior_fat_pad": 9,
    "femoral_head": 31, "femur": 30, "acetabulum": 29, "pelvis": 28,
    "humeral_head": 32, "glenoid": 33, "scapula": 29, "clavicle": 28,  # glenoid whole (Y)
    **{f"{k}_phalanx_{r}": 21 for r in range(1, 6) for k in ("proximal", "middle", "distal")},
    # bone disease (lesions.py): above the bones they lie in
    "erosion": 58, "tumour": 57, "tumour_margin": 56, "cyst": 55, "osteophyte": 54,
    "periosteal_solid": 53, "periosteal_lamellated": 53, "periosteal_sunburst": 53,
    "codman_triangle": 53, "sclerosis": 52, "lytic_front": 51, "hill_sachs": 50,
    # the knee and foot (knee.py, foot.py) and a segmental fracture's free segment
    "fragment_segment": 46, "femur_physis": 36, "femur_epiphysis": 35, "femur_metaphysis": 34,
    "patella": 29, "subchondral_sclerosis": 33, "effusion_fat": 9,
    "haemarthrosis": 8, **{f"metatarsal_{r}": 24 for r in range(1, 6)},
    "medial_cuneiform": 23, "intermediate_cuneiform": 23, "lateral_cuneiform": 23,
}


MORTISE_DEG = 15.0  # internal rotation of the leg for a mortise view
# a region's own positioning (knee.py, foot.py register theirs): (view, side) -> u, v, w
REGION_AXES: dict[str, Callable[[str, str], tuple[np.ndarray, np.ndarray, np.ndarray]]] = {}


def axes(view: str, side: str, region: str = "wrist"
         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(u image right, v image down, w beam) as unit vectors in the limb frame. The wrist
    is shown distal (fingers) up, the ankle distal (foot) down; x is the lateral side
    (radius, fibula) in both, y volar / anterior."""
    if region in REGION_AXES:
        return REGION_AXES[region](view, side)
    down = region in ("ankle", "elbow", "hip", "shoulder")  # the limb's far end shown down
    v = np.array([0.0, 0.0, 1.0 if down else -1.0])
    mirror = 1.0 if side == "left" else -1.0
    c45 = np.sqrt(0.5)
    if view == "scapular_y":  # the beam along the blade, lateral -> medial, front right
        return np.array([0.0, 1.0, 0.0]), v, np.array([-1.0, 0.0, 0.0])
    if view == "lateral" and region in ("ankle", "elbow"):  # beam lateral -> medial,
        return np.array([0.0, 1.0, 0.0]), v, np.array([-1.0, 0.0, 0.0])
    if view == "mortise":
        t = np.radians(MORTISE_DEG)
        return (mirror * np.array([np.cos(t), -np.sin(t), 0.0]), v,
                np.array([-np.sin(t), -np.cos(t), 0.0]))
    if view == "lateral":  # radial side up, beam radial -> ulnar, dorsum on the right
        return np.array([0.0, -1.0, 0.0]), v, np.array([-1.0, 0.0, 0.0])
    if view == "oblique":
        return mirror * np.array([c45, c45, 0.0]), v, np.array([-c45, c45, 0.0])
    w = np.array([0.0, 1.0, 0.0]) if view == "pa" else np.array([0.0, -1.0, 0.0])
    return mirror * np.array([1.0, 0.0, 0.0]), v, w


@dataclass
class Geometry:
    """A view of one limb: axes, the voxel grid, the beam, the detector and its pixels."""

    view: str
    side: str
    u: np.ndarray
    v: np.ndarray
    w: np.ndarray
    centre: np.ndarray  # limb point on the central ray at the limb's mid-depth
    grid: VoxelGrid
    beam: Beam
    shape: tuple[int, int]
    px_det: float
    px_obj: float  # pixel spacing at the limb's mid-plane (what measurements use)

    def to_limb(self, u: np.ndarray, v: np.ndarray, w: np.ndarray) -> np.ndarray:
        """Beam-frame coordinates (broadcasting 1D arrays) -> limb xyz, last axis."""
        wc = self.grid.w0_mm + self.grid.depth * self.grid.voxel_mm / 2
        return (self.centre + u[..., None] * self.u + v[..., None] * self.v
                + (w[..., None] - wc) * self.w)

    def to_beam(self, p: np.ndarray) -> np.ndarray:
        wc = self.grid.w0_mm + self.grid.depth * self.grid.voxel_mm / 2
        d = p - self.centre
        return np.stack([d @ self.u, d @ self.v, d @ self.w + wc], axis=-1)


def geometry(wrist: Wrist, view: str, side: str, width: int, height: int,
             parallel: bool = False) -> Geometry:
    s = wrist.scale
    u, v, w = axes(view, side, wrist.region)
    fov_h, fov_w = wrist.fov_mm
    px_obj = max(fov_h * s / height, fov_w * s / width)
    vox = float(np.clip(wrist.voxel_px * px_obj, VOXEL_MM[0],
                        max(VOXEL_MM[1], wrist.voxel_max_mm)))
    depth_mm = 110.0 * s  # the limb and a displaced hand
    e = wrist.envelope
    zc = wrist.centre[2] * s
    across = view in ("lateral", "scapular_y")  # the beam along x: the envelope's A
    half = float(np.interp(zc, e["z"], e["A"] if across else e["B"]))
    wc = SID_MM - TABLE_GAP_MM - half
    m = 1.0 if parallel else SID_MM / wc
    rows = int(np.ceil(height * px_obj * 1.08 / vox)) + 2  # margin: magnification varies
    cols = int(np.ceil(width * px_obj * 1.08 / vox)) + 2  # with depth
    depth = int(np.ceil(depth_mm / vox))
    grid = VoxelGrid(vox, rows, cols, depth, wc - depth * vox / 2)
    centre = np.array(wrist.centre) * s
    return Geometry(view, side, u, v, w, centre, grid, Beam(None if parallel else SID_MM),
                    (height, width), px_obj * m, px_obj)


class Classes:
    """Voxel ids: one per (label, tissue) pair, id 0 the container (muscle)."""

    def __init__(self, labels_only: bool = False) -> None:
        self.labels_only = labels_only
        self.items: list[Klass] = [Klass(None, "muscle", 0)]
        self.index: dict[tuple[str | None, str], int] = {}

    def id(self, label: str | None, tissue: str) -> int:
        key = (label, tissue)
        if key not in self.index:
            self.index[key] = len(self.items)
            self.items.append(Klass(label, tissue, LABEL_PRIORITY.get(label or "", 1)))
        return self.index[key]


def _bbox(geo: Geometry, corners_limb: np.ndarray, margin: float) -> tuple[slice, ...] | None:
    b = geo.to_beam(corners_limb)
    g = geo.grid
    lo = b.min(axis=0) - margin
    hi = b.max(axis=0) + margin
    j0 = max(0, int(np.floor(lo[0] / g.voxel_mm + g.cols / 2)))
    j1 = min(g.cols, int(np.ceil(hi[0] / g.voxel_mm + g.cols / 2)) + 1)
    i0 = max(0, int(np.floor(lo[1] / g.voxel_mm + g.rows / 2)))
    i1 = min(g.rows, int(np.ceil(hi[1] / g.voxel_mm + g.rows / 2)) + 1)
    k0 = max(0, int(np.floor((lo[2] - g.w0_mm) / g.voxel_mm)))
    k1 = min(g.depth, int(np.ceil((hi[2] - g.w0_mm) / g.voxel_mm)) + 1)
    if i1 <= i0 or j1 <= j0 or k1 <= k0:
        return None
    return slice(i0, i1), slice(j0, j1), slice(k0, k1)


def _corners(bone: Bone) -> np.ndarray:
    lo, hi = bone.shape.bounds()
    c = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1])
                  for z in (lo[2], hi[2])])
    return c


def _local_coords(geo: Geometry, bone: Bone, box: tuple[slice, ...]
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    g = geo.grid
    u, v, w = g.centres(box[0].start, box[1].start, box[2].start,
                        (box[0].stop - box[0].start, box[1].stop - box[1].start,
                         box[2].stop - box[2].start))
    # local = (limb - centre) @ rot, limb = centre_g + u U + v V + (w - wc) W: linear in u, v, w
    wc = g.w0_mm + g.depth * g.voxel_mm / 2
    R = bone.rot
    base = (geo.centre - bone.centre - wc * geo.w) @ R
    du, dv, dw = geo.u @ R, geo.v @ R, geo.w @ R
    out = []
    for a in range(3):  # keep each coordinate only as wide as the axes it depends on
        c = np.full((1, 1, 1), base[a], np.float32)
        for vec, arr, shape in ((dv, v, (-1, 1, 1)), (du, u, (1, -1, 1)), (dw, w, (1, 1, -1))):
            if abs(vec[a]) > 1e-9:
                c = c + (arr * np.float32(vec[a])).reshape(shape)
        out.append(c.astype(np.float32))
    return out[0], out[1], out[2]


def _tissue_ids(bone: Bone, cls: Classes, x, y, z, inside, d, t, names: tuple[str, ...],
                vox: float, ids: np.ndarray, where: np.ndarray | None = None) -> None:
    """Write cortex / cancellous (textured) / marrow / growth plate ids of `bone` at the
    points `inside` (& `where`) with local coordinates x, y, z; `names` label the zones
    (shaft, metaphysis, physis, epiphysis)."""
    sel = inside if where is None else inside & where
    if not sel.any():
        return
    if bone.tissue is not None:  # a soft solid: one tissue throughout
        ids[sel] = cls.id(names[0], bone.tissue)
        return
    shape = sel.shape
    xs, ys, zs, ds, ts = (np.broadcast_to(a, shape)[sel] for a in (x, y, z, d, t))
    zone = np.zeros(xs.shape, np.int8)  # 0 shaft, 1 metaphysis, 2 physis, 3 epiphysis
    cortex = ds < ts
    ph = bone.physis
    if ph is not None:
        dz = zs - ph.z_mid(xs)
        h = ph.thick_mm / 2
        zone[(dz < -h) & (dz > -h - ph.meta_mm)] = 1
        zone[np.abs(dz) <= h] = 2
        zone[dz > h] = 3
        plate = ((zone == 3) & (dz - h < 0.45)) | ((dz < -h) & (dz > -h - 0.7))
        cortex &= ~plate  # the epiphysis' bony plate and the zone of provisional
        dense_plate = plate  # calcification: dense cancellous, not cortex
    if cls.labels_only:  # a label projection: one tissue per label will do
        kind = np.zeros(xs.shape, np.int8)
    else:
        canc = np.asarray(bone.shape.is_cancellous(zs)) | (zone > 0)
        spic = texture(xs, ys, zs, vox, bone.tex_offset)
        kind = np.where(cortex, 0, np.where(canc & spic, 1, 2))
        if isinstance(bone.shape, Diseased):  # fewer, thinner or coarser trabeculae
            kind = bone.shape.trabeculae(xs, ys, zs, kind, vox)
    if ph is not None:
        kind[dense_plate] = 1
    kind[zone == 2] = 3
    lut = np.array([[cls.id(n, tissue) for tissue in
                     ("cortical_bone", "trabecular_bone", "bone_marrow", "growth_cartilage")]
                    for n in names], np.uint8)
    out = lut[np.minimum(zone, len(names) - 1), kind]
    if ph is not None and not ph.epiphysis_ossified:
        out[zone >= 2] = 0  # plate and epiphysis still cartilage: soft tissue on a film
    if isinstance(bone.shape, Diseased):  # erosions, tumour, osteophytes: own labels
        bone.shape.paint(cls, xs, ys, zs, ds, out)
    ids[sel] = out


def _zone_names(bone: Bone, child: bool, base: str) -> tuple[str, ...]:
    if not child or bone.physis is None:
        return (base,)
    return (base, f"{bone.name}_metaphysis", f"{bone.name}_physis", f"{bone.name}_epiphysis")


def voxelise_bone(geo: Geometry, bone: Bone, cls: Classes, fracture: Fracture | None = None
                  ) -> list[Block]:
    """One bone (and its parts) as blocks of ids in the view's grid: one block, or for a
    displaced fracture the proximal part (with the gap, a butterfly, the callus) and the
    moved distal fragment in a block of its own. Where impacted fragments overlap, both
    blocks hold bone, so the projection adds them: the dense band of impaction."""
    f = fracture
    moved = f is not None and (np.any(f.shift_mm != 0) or any(f.angles_deg))
    corners = bone.to_limb(_corners(bone))
    margin = 1.0
    if f is not None:
        margin += f.healing.get("callus_mm", 0.0) + f.buckle_mm + 1.0
    for part in bone.parts:
        corners = np.vstack([corners, part.to_limb(_corners(part))])
    blocks = []
    box = _bbox(geo, corners, margin)
    if box is not None:
        ids = np.zeros(tuple(sl.stop - sl.start for sl in box), np.uint8)
        own = _within(box, _bbox(geo, bone.to_limb(_corners(bone)), margin))
        names = _zone_names(bone, bone.physis is not None, bone.name)
        if own is not None:  # the bone itself on its own box; its parts on theirs
            inner, local = own
            x, y, z = _local_coords(geo, bone, inner)
            view = ids[local]
            if f is None:
                d, t = bone.shape.depth(x, y, z)
                _tissue_ids(bone, cls, x, y, z, np.broadcast_to(d > 0, view.shape), d, t,
                            names, geo.grid.voxel_mm, view)
            else:
                _proximal(bone, f, cls, x, y, z, names, geo.grid.voxel_mm, view, moved)
        for part in bone.parts:
            if moved and _distal_part(bone, part, f):
                continue  # it goes with the distal fragment
            sub = _within(box, _bbox(geo, part.to_limb(_corners(part)), 1.0))
            if sub is None:
                continue  # evaluated on its own box only: parts are small, bones long
            inner, local = sub
            qx, qy, qz = _local_coords(geo, part, inner)
            d, t = part.shape.depth(qx, qy, qz)
            view = ids[local]
            _tissue_ids(part, cls, qx, qy, qz, np.broadcast_to(d > 0, view.shape) & (view == 0),
                        d, t, (part.name,), geo.grid.voxel_mm, view)
        if ids.any():
            blocks.append(Block(ids, (box[0].start, box[1].start, box[2].start)))
    if f is not None and moved:
        b = _distal_block(geo, bone, f, cls)
        if b is not None:
            blocks.append(b)
    return blocks


def _within(box: tuple[slice, ...], inner: tuple[slice, ...] | None
            ) -> tuple[tuple[slice, ...], tuple[slice, ...]] | None:
    """`inner` clipped to `box`, in grid indices and relative to the box."""
    if inner is None:
        return None
    grid_sl, rel = [], []
    for a, b in zip(box, inner, strict=True):
        lo, hi = max(a.start, b.start), min(a.stop, b.stop)
        if hi <= lo:
            return None
        grid_sl.append(slice(lo, hi))
        rel.append(slice(lo - a.start, hi - a.start))
    return tuple(grid_sl), tuple(rel)


def _distal_part(bone: Bone, part: Bone, f: Fracture | None) -> bool:
    """A part (a condyle, a malleolus) lying beyond the cut moves with the distal fragment."""
    if f is None:
        return False
    c = bone.to_local(part.centre[None, :])[0]
    return bool(f.surface(np.array(c[0]), np.array(c[1]), np.array(c[2])) > 0)


def _cut(f: Fracture, x, y, z) -> np.ndarray:
    return f.cut_where(x, y, z) > 0 if f.cut_where is not None else np.ones((1, 1, 1), bool)


def _proximal(bone: Bone, f: Fracture, cls: Classes, x, y, z, names: tuple[str, ...],
              vox: float, ids: np.ndarray, moved: bool) -> None:
    """The unmoved part of a fractured bone: bone proximal to the cut (all of it when
    nothing moved), the gap as the fracture line, a butterfly, a buckle, a crushed physis,
    the callus."""
    full = ids.shape
    g = f.gap_mm / 2
    d, t = bone.shape.depth(x, y, z)
    inside = np.broadcast_to(d > 0, full)
    sp = f.surface(x, y, z)
    cut = _cut(f, x, y, z)
    keep = (sp < -g) | (~cut & (sp < 0)) if moved else ~(cut & (np.abs(sp) <= g))
    but = np.zeros(full, bool)
    if f.split is not None:
        keep = keep & (np.abs(f.split(x, y, z)) > g)
    if f.butterfly is not None:
        bs = f.butterfly_shift_mm if f.butterfly_shift_mm is not None \
            else 1.8 * max(bone.shape.a[-1] / 13.0, 0.5)  # type: ignore[union-attr]
        bx = x - bs
        db, tb = bone.shape.depth(bx, y, z)
        wb = f.butterfly(bx, y, z)
        but = np.broadcast_to((db > 0) & (wb > g), full)
        keep = keep & (f.butterfly(x, y, z) <= -g)
        _tissue_ids(bone, cls, bx, y, z, but, db, tb, (f.butterfly_label,), vox, ids)
    _tissue_ids(bone, cls, x, y, z, inside & keep & ~but, d, t, names, vox, ids)
    if g > 0:
        line = inside & cut & (np.abs(sp) <= g) & (ids == 0)
        if f.butterfly is not None and f.butterfly_label != "fragment_butterfly":
            line |= inside & np.broadcast_to(np.abs(f.butterfly(x, y, z)) <= g, full) & (ids == 0)
        if f.split is not None:
            line |= inside & np.broadcast_to(np.abs(f.split(x, y, z)) <= g, full) & (ids == 0)
        ids[line] = cls.id("fracture_line", "blood_acute" if f.weeks < 4 else "callus_woven")
    if f.buckle_mm > 0:
        width = 1.6 * max(bone.shape.a[-1] / 13, 0.4)  # type: ignore[union-attr]
        bump = f.buckle_mm * np.exp(-((z - f.level_mm) / width) ** 2)
        bulge = np.broadcast_to((d + bump > 0) & (d <= 0), full)
        band = inside & np.broadcast_to(np.abs(z - f.level_mm) < 0.9, full)
        ids[bulge | band] = cls.id("fracture_line", "impacted_bone")
    if f.crush is not None and bone.physis is not None:
        # Salter-Harris V: the epiphysis sinks into the plate (narrowed) over the crushed
        # part, and a band of crushed, denser cartilage lies in the plate's middle
        dz = np.broadcast_to(z - bone.physis.z_mid(x), full)
        h = bone.physis.thick_mm / 2
        crushed = inside & np.broadcast_to(f.crush(x, y, z) > 0, full)
        epi = names[-1] if len(names) == 4 else bone.name
        ids[crushed & (dz > 0.2 * h) & (dz <= h)] = cls.id(epi, "trabecular_bone")
        band = max(0.3 * h, 1.05 * vox) / 2  # at least a voxel, or it would not be drawn
        ids[crushed & (np.abs(dz + 0.4 * h) <= band)] = cls.id("fracture_line",
                                                                 "impacted_bone")
    _callus(f, cls, z, np.where(sp < g, d, 1.0) if moved else d, ids)


def _callus(f: Fracture, cls: Classes, z, d, ids: np.ndarray) -> None:
    """Periosteal callus: a spindle-shaped shell on the bone's outer surface, thickest at the
    fracture, over `callus_len_mm` (each fragment gets its half, in its own frame)."""
    cm = f.healing.get("callus_mm", 0.0)
    if cm <= 0:
        return
    half = f.healing["callus_len_mm"] / 2
    dist = np.abs(z - f.level_mm)
    taper = np.clip(1 - dist / max(half, 1e-3), 0, 1) ** 0.5
    shell = (dist < half) & (d <= 0) & (d + cm * taper > 0)
    cuff = np.broadcast_to(shell, ids.shape) & (ids == 0)
    tissue = ("callus_soft", "callus_woven", "callus_mature")[int(f.healing["callus_tissue"])]
    ids[cuff] = cls.id("callus", tissue)


def _distal_block(geo: Geometry, bone: Bone, f: Fracture, cls: Classes) -> Block | None:
    """The moved distal fragment, each voxel traced back to where it was before the injury;
    the bone's own shape on its own (moved) box, each moving part on its own."""
    lc = _corners(bone)
    reach = bone.physis.meta_mm + 6.0 if f.salter_harris else f.reach_mm
    lc[:, 2] = np.maximum(lc[:, 2], f.level_mm - reach)  # the distal part only

    def forward(local_pts: np.ndarray) -> np.ndarray:
        return bone.to_limb((local_pts - f.pivot) @ f.rot.T + f.pivot + f.shift_mm)

    moving = [p for p in bone.parts if _distal_part(bone, p, f)]
    own_corners = forward(lc)
    part_corners = [forward(bone.to_local(p.to_limb(_corners(p)))) for p in moving]
    box = _bbox(geo, np.vstack([own_corners, *part_corners]), 1.5)
    if box is None:
        return None
    ids = np.zeros(tuple(sl.stop - sl.start for sl in box), np.uint8)
    g = f.gap_mm / 2
    own = _within(box, _bbox(geo, own_corners, 1.5))
    if own is not None:
        inner, local = own
        x, y, z = _local_coords(geo, bone, inner)
        view = ids[local]
        qx, qy, qz = f.to_original(x, y, z)
        d, t = bone.shape.depth(qx, qy, qz)
        s = f.surface(qx, qy, qz)
        cut = _cut(f, qx, qy, qz)
        keep = (d > 0) & ((s > g) | (~cut & (s >= 0)))
        if f.butterfly is not None:
            keep &= f.butterfly(qx, qy, qz) <= -g
        if f.split is not None:
            keep &= np.abs(f.split(qx, qy, qz)) > g
        names = _zone_names(bone, True, bone.name) if bone.physis is not None \
            else ("fragment_distal",)
        _tissue_ids(bone, cls, qx, qy, qz, keep, d, t, names, geo.grid.voxel_mm, view)
        if g > 0:
            line = (d > 0) & cut & (np.abs(s) <= g) & (view == 0)
            if f.split is not None:
                line |= (d > 0) & (s > g) & (np.abs(f.split(qx, qy, qz)) <= g) & (view == 0)
            view[line] = cls.id("fracture_line",
                                "blood_acute" if f.weeks < 4 else "callus_woven")
        _callus(f, cls, qz, np.where(s > -g, d, 1.0), view)  # on the fragment's side only
    for part, corners in zip(moving, part_corners, strict=True):
        sub = _within(box, _bbox(geo, corners, 1.0))
        if sub is None:
            continue
        inner, local = sub
        x, y, z = _local_coords(geo, bone, inner)
        qx, qy, qz = f.to_original(x, y, z)  # back to the limb as it was, then the part's frame
        full = np.broadcast_shapes(np.shape(qx), np.shape(qy), np.shape(qz))
        Q = np.stack([np.broadcast_to(a, full) for a in (qx, qy, qz)], -1)
        L = (Q @ bone.rot.T + bone.centre - part.centre) @ part.rot
        px_, py_, pz_ = L[..., 0], L[..., 1], L[..., 2]
        dp, tp = part.shape.depth(px_, py_, pz_)
        view = ids[local]
        _tissue_ids(part, cls, px_, py_, pz_, (dp > 0) & (view == 0), dp, tp, (part.name,),
                    geo.grid.voxel_mm, view)
    if not ids.any():
        return None
    return Block(ids, (box[0].start, box[1].start, box[2].start))


def soft_tissue(geo: Geometry, wrist: Wrist, step: int = 2
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(line integral of the soft tissue relative to nothing, body mask) on the detector: the
    envelope is an elliptic cylinder of fat over muscle whose axes vary along the limb, so
    its path length along each ray is a chord in closed form (and the foot an ellipsoid).
    Returns (line integral, body mask, the part of the body to set the film's window on)."""
    H, W = geo.shape
    m = geo.px_det / geo.px_obj
    rows = np.arange(0, H, step, dtype=np.float32)
    cols = np.arange(0, W, step, dtype=np.float32)
    vv = (rows - (H - 1) / 2) * geo.px_det / m
    uu = (cols - (W - 1) / 2) * geo.px_det / m
    if wrist.blob is not None:
        return _blob_tissue(geo, wrist, uu, vv)
    e = wrist.envelope
    zc = geo.centre[2] + vv * float(geo.v[2])  # image rows run along the limb
    A = np.interp(zc, e["z"], e["A"])[:, None]
    B = np.interp(zc, e["z"], e["B"])[:, None]
    x0 = np.interp(zc, e["z"], e["x0"])[:, None]
    y0 = np.interp(zc, e["z"], e["y0"])[:, None] if "y0" in e else 0.0  # the foot's sole
    fat = np.interp(zc, e["z"], e["fat"])[:, None]
    # the ray's point at u in the x-y plane, and its direction
    px = geo.centre[0] + uu[None, :] * geo.u[0] - x0
    py = geo.centre[1] + uu[None, :] * geo.u[1] - y0
    dx, dy = float(geo.w[0]), float(geo.w[1])
    s = px * (-dy) + py * dx
    outer = chord(A, B, s, dx, dy)
    inner = chord(np.maximum(A - fat, 1), np.maximum(B - fat, 1), s, dx, dy)
    if wrist.fingers:
        fingers = _finger_chords(wrist, zc[:, None], px + x0, py + y0, geo.w)
        extra = np.maximum(fingers - outer, 0.0)
        outer = outer + extra
        inner = inner + np.maximum(extra - 2 * fat, 0.0)
    if wrist.foot is not None:
        foot = _foot_chord(wrist, zc[:, None], px + x0, py + y0, dx, dy)
        extra = np.maximum(foot - outer, 0.0)  # the foot beyond the leg: fat-lined muscle
        outer = outer + extra
        inner = inner + np.maximum(extra - 2 * fat, 0.0)
    line = mu_per_mm("fat") * (outer - inner) + mu_per_mm("muscle") * inner
    from imagine_med.engine.phantom.physics.radiography import resize

    full = resize(line.astype(np.float32), H, W)
    body = resize((outer > 0).astype(np.uint8), H, W, nearest=True) > 0
    if wrist.foot is not None:  # the film's window is set on the leg, not the foot
        leg = resize((foot <= 0).astype(np.uint8), H, W, nearest=True) > 0
        return full, body, body & leg
    return full, body, body


def _ellipsoid_chord(p: np.ndarray, d: np.ndarray, c: np.ndarray, r: np.ndarray
                     ) -> np.ndarray:
    """Chord of the lines p + t d (p: (..., 3)) through the ellipsoid |(x - c) / r| <= 1."""
    e, f = (p - c) / r, d / r
    A = float(f @ f)
    B = 2 * (e @ f)
    C = (e * e).sum(-1) - 1
    return np.sqrt(np.maximum(B * B - 4 * A * C, 0.0)) / A


def _blob_tissue(geo: Geometry, limb: Wrist, uu: np.ndarray, vv: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Soft tissue as one ellipsoid with a fat shell, rays in any direction (a view along
    the limb)."""
    from imagine_med.engine.phantom.physics.radiography import resize

    H, W = geo.shape
    s = limb.scale
    c = np.array(limb.blob[:3]) * s  # type: ignore[index]
    r = np.array(limb.blob[3:]) * s  # type: ignore[index]
    fat = float(np.interp(0.0, limb.envelope["z"], limb.envelope["fat"]))
    p = geo.centre + vv[:, None, None] * geo.v + uu[None, :, None] * geo.u
    outer = _ellipsoid_chord(p, geo.w, c, r)
    inner = _ellipsoid_chord(p, geo.w, c, np.maximum(r - fat, 1.0))
    line = mu_per_mm("fat") * (outer - inner) + mu_per_mm("muscle") * inner
    full = resize(line.astype(np.float32), H, W)
    body = resize((outer > 0).astype(np.uint8), H, W, nearest=True) > 0
    return full, body, body


def _finger_chords(limb: Wrist, z: np.ndarray, px: np.ndarray, py: np.ndarray,
                   w: np.ndarray) -> np.ndarray:
    """Path length of the rays through the fingers' soft tissue (cylinders round each
    finger; the longest where fingers overlap on a lateral): a ray meets a cylinder of radius
    r whose axis it passes at distance d over 2 sqrt(r^2 - d^2) / sin(angle)."""
    out = np.zeros(np.broadcast_shapes(z.shape, px.shape), np.float32)
    for p0, p1, r in limb.fingers:
        a = (p1 - p0) / np.linalg.norm(p1 - p0)
        n = np.cross(w, a)
        sin = float(np.linalg.norm(n))
        if sin < 1e-3:
            continue
        n = n / sin
        # the ray's point (px, py, z) against the axis: distance along n, position along a
        rx, ry, rz = px - p0[0], py - p0[1], z - p0[2]
        d = rx * n[0] + ry * n[1] + rz * n[2]
        # where the ray passes the axis: solve along a in the plane normal to n
        m = np.cross(n, w)  # in-plane direction perpendicular to the ray
        t_m = (rx * m[0] + ry * m[1] + rz * m[2]) / max(float(a @ m), 1e-6)
        length = float(np.linalg.norm(p1 - p0))
        inside = (t_m > 0) & (t_m < length)
        c = 2 * np.sqrt(np.clip(r * r - d * d, 0, None)) / sin
        out = np.maximum(out, np.where(inside, c, 0.0).astype(np.float32))
    return out


def _foot_chord(limb: Wrist, z: np.ndarray, px: np.ndarray, py: np.ndarray, dx: float,
                dy: float) -> np.ndarray:
    """Path length of horizontal rays through the foot, an ellipsoid (centre x0, y0, z0,
    semi-axes ax, ay, az): the roots of |(p + t d - c) / r| = 1."""
    x0, y0, z0, ax, ay, az = (v * limb.scale for v in limb.foot)  # type: ignore[union-attr]
    ex, ey = (px - x0) / ax, (py - y0) / ay
    ez2 = ((z - z0) / az) ** 2
    A = (dx / ax) ** 2 + (dy / ay) ** 2
    B = 2 * (ex * dx / ax + ey * dy / ay)
    C = ex * ex + ey * ey + ez2 - 1
    return np.sqrt(np.maximum(B * B - 4 * A * C, 0.0)) / A


def voxelise(geo: Geometry, wrist: Wrist, fracture: Fracture | None,
             only: tuple[str, ...] | None = None, labels_only: bool = False
             ) -> tuple[list[Block], Classes]:
    cls = Classes(labels_only)
    blocks = []
    for bone in wrist.bones:
        if only is not None and bone.name not in only:
            continue
        f = fracture if fracture is not None and fracture.bone == bone.name else None
        blocks.extend(voxelise_bone(geo, bone, cls, f))
    return blocks, cls


__all__ = ["VIEWS", "Geometry", "LongBone", "geometry", "soft_tissue", "voxelise"]
