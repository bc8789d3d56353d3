"""Intraoral films (bitewing, periapical) of the same jaws, through the shared projection
radiography of physics/radiography.py.

The layer's maps (regions/dental/film.jaw_maps) give, per film point, each jaw's path lengths
per tissue and which tooth (and part) wins there. Teeth, restorations and caries become a voxel
block per jaw: at a point whose tooth chord is L, a voxel at depth d (buccolingual, from the
tooth's centre plane) is tooth where |d| < L/2, and inside it pulp where |d| < L_pulp/2,
dentine where |d| < L_dentine+pulp/2, enamel outside that (the model's cross-sections are
concentric ellipses, so this is exact). Bone and soft tissue are the closed-form background.
radiography.project then magnifies the block by depth (a short-cone source ~300 mm from the
sensor) and labels each ray by priority: a finding, then pulp, then dentine, then enamel, so a
ray labelled enamel crossed enamel only (the occlusal cap, the proximal surfaces).

Views (Whaites & Drage, Essentials of Dental Radiography, ch. 8-9): a bitewing shows the crowns
of one side's premolars and molars, upper and lower, in occlusion, and the crestal bone, on a
size-2 sensor (~41 x 31 mm, long side horizontal); a periapical shows one to three teeth whole
with 3-4 mm of bone beyond the apex (sensor upright). Mounted as if facing the patient: the
patient's right on the viewer's left.
"""

from __future__ import annotations

import numpy as np

from imagine_med.engine.phantom.physics.panoramic import Grid
from imagine_med.engine.phantom.physics.radiography import (
    Beam,
    Block,
    Exposure,
    Klass,
    VoxelGrid,
    display,
    expose,
    mu_per_mm,
    project,
    resize,
)
from imagine_med.engine.phantom.regions.dental import jaw
from imagine_med.engine.phantom.regions.dental.film import jaw_maps
from imagine_med.engine.phantom.regions.dental.labels import LABELS, NAMES
from imagine_med.engine.phantom.regions.dental.region import DentalBody

SENSOR_MM = {"bitewing": (41.0, 31.0), "periapical": (31.0, 41.0)}
SID_MM = 300.0  # short-cone source to sensor
DEPTH_MM = 16.0  # the voxel block's buccolingual extent (a molar is ~11 mm)
VOXEL_MM = 0.2
SOFT_MM = 28.0  # cheek, tongue and the jaw itself along the beam (water-equivalent)
# intraoral sensors: a thin part, no grid, little scatter; a fine detector (~0.05 mm blur)
INTRAORAL = Exposure(0.05, 8.0, 2.0e6, 0.05)
MAG = SID_MM / (SID_MM - 8.0)  # teeth ~8 mm in front of the sensor
PRIORITY = {"enamel": 1, "dentine": 2, "pulp": 3, "amalgam": 6, "composite": 6,
            "porcelain": 6, "titanium": 6, "gutta_percha": 6}


def field(body: DentalBody, view: str, side: str, fdi: int | None) -> tuple[float, float]:
    """The film's centre (s, z) on the unrolled arch."""
    sign = -1.0 if side == "right" else 1.0
    if view == "bitewing":
        near = [p for p in body.teeth if p.tooth.erupted and p.tooth.position in (5, 6)
                and (p.s > 0) == (sign > 0)]
        s = float(np.mean([p.s for p in near])) if near else sign * 35.0
        return s + sign * 4.0, float(jaw.occlusal(s, body.shape))
    p = body.placed(fdi) if fdi else None
    if p is None:
        cands = [q for q in body.teeth if q.tooth.erupted and (q.s > 0) == (sign > 0)
                 and q.tooth.position == 6 and q.up > 0]
        p = cands[0] if cands else body.teeth[0]
    mid = p.z + p.up * (p.tooth.size.crown - p.tooth.size.root) / 2
    return p.s, mid


def render(body: DentalBody, view: str, side: str, fdi: int | None, width: int, height: int,
           rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, float]:
    """(pixels, labels (dental ids), mm per pixel at the teeth)."""
    fw, fh = SENSOR_MM[view]
    px = max(fw / width, fh / height)
    nw, nh = min(width, round(fw / px)), min(height, round(fh / px))
    s0, z0 = field(body, view, side, fdi)
    # the jaws on a voxel-sized grid (the teeth's block is cut from it), the film finer
    vx = max(px, VOXEL_MM)
    hc, wc = round(nh * px / vx), round(nw * px / vx)
    grid = Grid((np.arange(wc) - (wc - 1) / 2) * vx + s0, z0 + ((hc - 1) / 2 - np.arange(hc)) * vx)
    S, Z = np.meshgrid(grid.s.astype(np.float32), grid.z.astype(np.float32))
    mand = jaw.mandible(grid, body.shape)
    canal = jaw.canal(grid, body.shape) * mand["mask"]
    mx = jaw.maxilla(grid, body.shape)
    bones = {"mand_cortical": mand["cortical"],
             "mand_canc": np.clip(mand["cancellous"] - canal, 0, None),
             "max_cortical": mx["cortical"], "max_canc": mx["cancellous"]}
    lower, upper = jaw_maps(body, S, Z, vx, rng, bones,
                            {"_mandible": mand["mask"].astype(np.float32)})
    if view == "periapical":  # the sensor sits behind one jaw: the other is not on it
        target = body.placed(fdi) if fdi else None
        other = upper if (target is None or target.up > 0) else lower
        for k in list(other):
            other[k] = np.zeros_like(other[k])
    background = np.zeros(S.shape, np.float32)
    bone_path = np.zeros(S.shape, np.float32)
    for m in (lower, upper):
        background += mu_per_mm("cortical_bone") * m["cortical"]
        background += mu_per_mm("cancellous_bone") * m["cancellous"]
        bone_path += m["cortical"] + m["cancellous"]
    background += mu_per_mm("muscle") * np.clip(SOFT_MM - bone_path, 0, None)
    classes, blocks = _voxels(lower, upper, S.shape, vx)
    depth = round(DEPTH_MM / vx)
    grid3 = VoxelGrid(vx, hc, wc, depth, SID_MM - DEPTH_MM)
    # the sensor sees the teeth magnified SID / (SID - half the block): a film pixel of
    # px * mag at the sensor is px at the teeth
    mag = SID_MM / (SID_MM - DEPTH_MM / 2)
    proj = project(blocks, classes, grid3, Beam(SID_MM), (nh, nw), px * mag, container="muscle",
                   background=resize(background, nh, nw))
    q = expose(proj.line, px * mag, rng, INTRAORAL)
    # metal would take the display's window: cap it just above the densest tooth, so a filling
    # is white and the teeth keep their grey scale (what a sensor's software shows)
    metal_ids = [i for i, n in enumerate(proj.label_names)
                 if n in ("restoration", "implant", "crown", "root_filling")]
    metal = np.isin(proj.labels, metal_ids)
    if metal.any() and (~metal).any():
        top = float(np.percentile(q[~metal], 99.5))
        q = np.minimum(q, top + 0.1 * (top - float(np.median(q[~metal]))))
    pixels = display(q, px * mag, np.ones((nh, nw), bool), edge_gain=0.5)
    lab = np.zeros((hc, wc), np.uint8)
    lab[lower["_mandible"] > 0.5] = LABELS["mandible"]
    lab[(upper["cortical"] + upper["cancellous"]) > 1.0] = LABELS["maxilla"]
    lab = resize(lab, nh, nw, nearest=True).copy()
    for i, n in enumerate(proj.label_names):
        if i and n in LABELS:
            lab[proj.labels == i] = LABELS[n]
    for m in (lower, upper):  # findings in bone (not voxels): where no tooth lies over them
        for k, v in m.items():
            if k.startswith("_mark_") and k[6:] in ("periapical_lesion", "fracture_line"):
                mark = resize((v > 0.5).astype(np.uint8), nh, nw, nearest=True) > 0
                lab[mark & (proj.labels == 0)] = LABELS[k[6:]]
    out = np.zeros((height, width), np.uint8)
    labels = np.zeros((height, width), np.uint8)
    r0, c0 = (height - nh) // 2, (width - nw) // 2
    out[r0:r0 + nh, c0:c0 + nw] = pixels
    labels[r0:r0 + nh, c0:c0 + nw] = lab
    return out, labels, px


def _voxels(lower: dict, upper: dict, shape: tuple[int, int], vx: float
            ) -> tuple[list[Klass], list[Block]]:
    """One voxel block per jaw from the jaw's per-pixel tooth tissue paths and labels."""
    H, W = shape
    depth = round(DEPTH_MM / vx)
    classes: list[Klass] = [Klass(None, "muscle", 0)]
    index: dict[tuple[str, str], int] = {}

    def klass(label: str, tissue: str) -> int:
        key = (label, tissue)
        if key not in index:
            prio = PRIORITY[tissue] + (10 if label in ("restoration", "caries", "implant",
                                                        "crown", "root_filling") else 0)
            index[key] = len(classes)
            classes.append(Klass(label, tissue, prio))
        return index[key]

    blocks = []
    d = (np.arange(depth, dtype=np.float32) + 0.5) * vx - DEPTH_MM / 2
    ad = np.abs(d)[None, None, :]
    for m in (lower, upper):
        tooth_lab = m["_lab"].astype(np.int64)
        mats = {t: m.get(t) for t in ("amalgam", "composite", "porcelain", "titanium",
                                      "gutta_percha") if t in m}
        total = m["enamel"] + m["dentine"] + m["pulp"] + m["cementum"]
        metal = sum(mats.values()) if mats else np.zeros(shape, np.float32)
        if not (total > 0.3).any() and not (metal > 0.1).any():
            continue
        ids = np.zeros((H, W, depth), np.uint8)
        # the tooth a pixel belongs to: its dentine label (strip _enamel/_pulp)
        base = np.zeros(shape, np.int64)
        for lid in np.unique(tooth_lab):
            if lid == 0:
                continue
            name = NAMES[int(lid)]
            base[tooth_lab == lid] = LABELS[name.replace("_enamel", "").replace("_pulp", "")]
        from scipy import ndimage

        h_out = total / 2
        h_dent = (m["dentine"] + m["pulp"] + m["cementum"]) / 2
        h_pulp = m["pulp"] / 2
        for lid, box in enumerate(ndimage.find_objects(base), start=1):
            if box is None:  # each tooth in its own box, not the whole block
                continue
            name = NAMES[lid]
            own = (base[box] == lid)[:, :, None]
            sub = ids[box]
            sub[own & (ad < h_out[box][:, :, None])] = klass(f"{name}_enamel", "enamel")
            sub[own & (ad < h_dent[box][:, :, None])] = klass(name, "dentine")
            sub[own & (ad < h_pulp[box][:, :, None])] = klass(f"{name}_pulp", "pulp")
        for t, arr in mats.items():
            h = (arr / 2)[:, :, None]
            label = "implant" if t == "titanium" else "root_filling" if t == "gutta_percha" \
                else "crown" if t == "porcelain" else "restoration"
            ids[(ad < h) & (h > 0.05)] = klass(label, t)
        if "_mark_caries" in m:  # the cavity: soft tissue where the crown was, labelled
            car = (m["_mark_caries"] > 0.5)[:, :, None]
            ids[car & (ad < 1.5)] = klass("caries", "pulp")
        blocks.append(Block(ids, (0, 0, 0)))
    return classes, blocks
