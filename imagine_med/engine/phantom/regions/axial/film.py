"""Positioning and filming of the axial skeleton: each view as a radiographer sets it, the
bones voxelised in the beam's frame by the limb's voxeliser (one block per bone), the trunk's
soft tissue in closed form, the film, its side marker and its label map.

Body frame (mm): x the patient's left, y anterior, z caudal. Display (radiological
convention): AP views are seen as if facing the patient, patient's left on the image right,
head up; laterals are hung with the patient facing the image LEFT (anterior on the image
left, as lateral spine films are conventionally displayed), a left lateral (left side to
the detector, beam right -> left). The open-mouth (peg) view is an AP centred on C1-C2.

A part may be built in a frame of its own (each hip in the hip region's frame, x lateral):
`in_frame` gives the same film's geometry expressed in that frame, so its blocks land on the
common grid."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from imagine_med.engine.phantom.physics.radiography import (
    Beam,
    Block,
    Exposure,
    Klass,
    VoxelGrid,
)
from imagine_med.engine.phantom.regions.axial.labels import LABELS, PRIORITY
from imagine_med.engine.phantom.regions.limb.anatomy import Wrist
from imagine_med.engine.phantom.regions.limb.fracture import Fracture
from imagine_med.engine.phantom.regions.limb.views import Classes, Geometry, voxelise_bone

# Trunk films are taken through a grid (Bucky) on thick parts: more scatter than an
# extremity (scatter-to-primary after a 10:1 grid ~0.3-0.5 for the abdomen and pelvis,
# physics.md "Radiograph"), a broader scatter kernel, a standard-resolution detector.
TRUNK = Exposure(0.35, 45.0, 4.0e4, 0.2)
NECK = Exposure(0.2, 30.0, 4.0e4, 0.15)  # the neck: thinner, lateral taken at 150 cm
TABLE_GAP_MM = {"cervical_spine": 15.0, "lumbar_spine": 60.0, "pelvis": 60.0}  # to detector
VOXEL_MIN_MM = 0.7  # a zoomed view (the peg view) keeps voxels this coarse: time, not detail
SID_MM = {"cervical_spine": 1500.0, "lumbar_spine": 1000.0, "pelvis": 1000.0}


class AxialClasses(Classes):
    """Voxel ids with this region's label precedence (labels.PRIORITY)."""

    def id(self, label: str | None, tissue: str) -> int:
        key = (label, tissue)
        if key not in self.index:
            self.index[key] = len(self.items)
            self.items.append(Klass(label, tissue, PRIORITY.get(label or "", 1)))
        return self.index[key]


def axes(view: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(u image right, v image down, w beam) in the body frame."""
    v = np.array([0.0, 0.0, 1.0])
    if view == "lateral":  # anterior on the image left; beam right -> left
        return np.array([0.0, -1.0, 0.0]), v, np.array([1.0, 0.0, 0.0])
    if view == "oblique":  # left posterior oblique: turned 45 deg, the left back down
        c = np.sqrt(0.5)  # (the left pars the Scottie dog's neck), seen as an AP
        return np.array([c, c, 0.0]), v, np.array([c, -c, 0.0])
    return np.array([1.0, 0.0, 0.0]), v, np.array([0.0, -1.0, 0.0])  # AP, open mouth


@dataclass(frozen=True)
class Framing:
    """What a view takes in: field (height, width mm, adult) and its centre (body frame)."""

    fov_mm: tuple[float, float]
    centre: tuple[float, float, float]
    voxel_mm: float | None = None  # finer voxels (a coned view measured for morphometry)


def geometry(
    body: Wrist, view: str, framing: Framing, width: int, height: int, parallel: bool = False
) -> Geometry:
    s = body.scale
    u, v, w = axes(view)
    px_obj = max(framing.fov_mm[0] * s / height, framing.fov_mm[1] * s / width)
    vox = float(np.clip(body.voxel_px * px_obj, VOXEL_MIN_MM, body.voxel_max_mm))
    if framing.voxel_mm is not None:
        vox = framing.voxel_mm * s
    centre = np.array(framing.centre) * s
    e = body.envelope
    half = float(np.interp(centre[2], e["z"], e["A"] if view == "lateral" else e["B"]))
    sid = SID_MM[body.region]
    depth_mm = 2.2 * half
    wc = sid - TABLE_GAP_MM[body.region] - half
    m = 1.0 if parallel else sid / wc
    rows = int(np.ceil(height * px_obj * 1.1 / vox)) + 2
    cols = int(np.ceil(width * px_obj * 1.1 / vox)) + 2
    depth = int(np.ceil(depth_mm / vox))
    grid = VoxelGrid(vox, rows, cols, depth, wc - depth * vox / 2)
    return Geometry(
        view,
        "",
        u,
        v,
        w,
        centre,
        grid,
        Beam(None if parallel else sid),
        (height, width),
        px_obj * m,
        px_obj,
    )


def in_frame(geo: Geometry, origin: np.ndarray, mirror: bool) -> Geometry:
    """The same film seen from a part's own frame: p_part = M (p_body - origin), M flipping x
    when `mirror` (a right hip built in a frame whose x is the patient's right)."""
    M = np.diag([-1.0 if mirror else 1.0, 1.0, 1.0])
    return replace(geo, u=M @ geo.u, v=M @ geo.v, w=M @ geo.w, centre=M @ (geo.centre - origin))


def voxelise_parts(
    geo: Geometry, body: Wrist, cls: AxialClasses, fracture: Fracture | None = None
) -> list[Block]:
    """Every bone (and soft solid) of `body` as blocks on the film's grid."""
    blocks: list[Block] = []
    for bone in body.bones:
        f = fracture if fracture is not None and fracture.bone == bone.name else None
        blocks.extend(voxelise_bone(geo, bone, cls, f))
    return blocks


def side_marker(pixels: np.ndarray, labels: np.ndarray, letter: str, right: bool) -> None:
    """The lead letter in an upper corner of the field."""
    h, w = pixels.shape
    size = max(10, int(min(h, w) * 0.06))
    im = Image.new("L", (w, h), 0)
    x = int(w * 0.88) if right else int(w * 0.05)
    ImageDraw.Draw(im).text(
        (x, int(h * 0.03)), letter, fill=255, font=ImageFont.load_default(size=size)
    )
    m = np.asarray(im) > 128
    pixels[m] = 250
    labels[m] = LABELS["side_marker"]


