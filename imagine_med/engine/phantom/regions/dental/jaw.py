"""The jaws in the focal layer, as path lengths along the beam (mm) per tissue on the film's
nominal grid (s along the unrolled arch, z up, occlusal plane at z = 0 in front).

Sizes (adult, mm): mandibular body ~30-33 high at the molars, 9-13 thick buccolingually, cortex
~2 mm on the plates and 3-4 mm at the lower border; ramus ~6-8 thick; bigonial width ~95;
condyle ~20 mediolateral (along the beam) by ~10 anteroposterior; maxillary sinus floor dips
between the molar roots; hard palate ~25-28 above the occlusal plane in front (Gray's Anatomy;
Whaites & Drage, normal panoramic anatomy). Children scale by `size` (0.7 at 5 years).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage

from imagine_med.engine.phantom.physics.panoramic import Grid


@dataclass(frozen=True)
class JawShape:
    """Per-patient jaw numbers (nominal mm); `size` scales a child's jaws."""

    size: float = 1.0
    smile: float = 0.0022  # occlusal curve on the film (mm per mm^2): the panoramic 'smile'
    body_height: float = 31.0
    crest_below_occ: float = 9.5
    ramus_s: float = 84.0  # |s| of the ramus's anterior border at the occlusal level
    condyle_z: float = 30.0
    sinus_floor: float = 21.0
    palate_z: float = 27.0
    bone_loss_mm: float = 0.0  # periodontal: crest lowered from ~1.5 mm below the CEJ


def occlusal(s: np.ndarray | float, shape: JawShape) -> np.ndarray | float:
    return shape.smile * np.asarray(s) ** 2 / shape.size


def _polygon(grid: Grid, pts: list[tuple[float, float]]) -> np.ndarray:
    """A filled polygon given in (s, z) mm, as a boolean mask on the grid."""
    px = grid.px
    s0, z0 = grid.s[0], grid.z[0]
    img = Image.new("L", (len(grid.s), len(grid.z)), 0)
    ImageDraw.Draw(img).polygon([((s - s0) / px, (z0 - z) / px) for s, z in pts], fill=1)
    return np.asarray(img, bool)


def _depth(mask: np.ndarray, px: float) -> np.ndarray:
    """Distance (mm) from each inside point to the outline."""
    return ndimage.distance_transform_edt(mask) * px


def _plate(mask: np.ndarray, px: float, thick: np.ndarray | float, cortex: np.ndarray | float,
           edge: float) -> tuple[np.ndarray, np.ndarray]:
    """A bone plate of buccolingual `thick` with `cortex` on each face: total and cancellous
    chords, rounded over `edge` mm at the outline (tangent rays cross more cortex there)."""
    d = _depth(mask, px)
    total = thick * np.sqrt(np.clip(d / edge, 0.0, 1.0))
    inner = np.clip(thick - 2 * np.asarray(cortex), 0.0, None)
    canc = inner * np.sqrt(np.clip((d - np.asarray(cortex)) / edge, 0.0, 1.0))
    return np.where(mask, total, 0.0), np.where(mask, canc, 0.0)


def mandible_outline(shape: JawShape, side: int) -> list[tuple[float, float]]:
    """One half (side -1 patient right, +1 left) from the midline to the condyle, (s, z)."""
    k = shape.size
    crest = -shape.crest_below_occ * k - shape.bone_loss_mm
    lower = crest - shape.body_height * k
    pts = []
    for s in np.linspace(0, 76 * k, 12):  # alveolar crest, front to back
        pts.append((side * s, crest + shape.smile * s * s / k))
    rs = shape.ramus_s * k
    pts += [(side * rs, occlusal(rs, shape) + 4 * k),  # anterior border of the ramus
            (side * (rs - 3 * k), occlusal(rs, shape) + 24 * k),  # coronoid tip
            (side * (rs + 4 * k), occlusal(rs, shape) + 16 * k),  # sigmoid notch
            (side * (rs + 11 * k), shape.condyle_z * k - 6 * k),  # condylar neck
            (side * (rs + 10 * k), shape.condyle_z * k + 4 * k),  # condyle top
            (side * (rs + 18 * k), shape.condyle_z * k + 1 * k),
            (side * (rs + 19 * k), shape.condyle_z * k - 8 * k),
            (side * (rs + 14 * k), lower + 30 * k + shape.smile * (rs ** 2) / k * 0.3),
            (side * (rs + 6 * k), lower + 7 * k + 0.0012 * rs ** 2),  # angle
            ]
    for s in np.linspace(78 * k, 0, 12):  # lower border back to front
        pts.append((side * s, lower + 0.0012 * s * s / k))
    return pts


def mandible(grid: Grid, shape: JawShape) -> dict[str, np.ndarray]:
    """Cortical and cancellous chords of the mandible, and its masks (body, condyles)."""
    S, Z = np.meshgrid(grid.s, grid.z)
    k = shape.size
    mask = _polygon(grid, mandible_outline(shape, -1)) | _polygon(grid, mandible_outline(shape, 1))
    thick = (8.5 + 3.5 * np.clip(np.abs(S) / (70 * k), 0, 1)) * k
    rs = shape.ramus_s * k
    to_ramus = np.clip((np.abs(S) - (rs - 14 * k)) / (14 * k), 0, 1)  # body -> ramus plate
    thick = thick + (7.0 * k - thick) * to_ramus
    cz = shape.condyle_z * k
    condyle = (((np.abs(S) - (rs + 14 * k)) / (6 * k)) ** 2 + ((Z - cz) / (7 * k)) ** 2) < 1.0
    thick = np.where(condyle & mask, 18.0 * k, thick)  # the condyle's long axis lies in the beam
    lower = -shape.crest_below_occ * k - shape.body_height * k + 0.0012 * S * S / k
    cortex = np.where(lower + 6 * k > Z, 3.5, 1.8) * min(1.0, k + 0.2)
    total, canc = _plate(mask, grid.px, thick, cortex, 2.5 * k)
    return {"cortical": total - canc, "cancellous": canc, "mask": mask,
            "condyle_right": condyle & mask & (S < 0), "condyle_left": condyle & mask & (S > 0)}


def canal(grid: Grid, shape: JawShape) -> np.ndarray:
    """Chord (mm) of the mandibular canal (~3 mm across): from the mandibular foramen in the
    ramus down and forward under the molar roots to the mental foramen below the premolars."""
    k = shape.size
    S, Z = np.meshgrid(grid.s, grid.z)
    a = np.abs(S)
    crest = -shape.crest_below_occ * k
    # centre height along |s|: high in the ramus, lowest under the molars, rising to the
    # mental foramen at |s| ~ 26
    zc = np.interp(a, [24 * k, 30 * k, 55 * k, 75 * k, 88 * k, 92 * k],
                   [crest - 13 * k, crest - 17 * k, crest - 19.5 * k, crest - 15 * k,
                    crest + 3 * k, crest + 9 * k])
    r = 1.5 * k
    inside = (a > 26 * k) & (a < 90 * k)
    return np.where(inside, 2 * np.sqrt(np.clip(r * r - (Z - zc) ** 2, 0, None)), 0.0)


def maxilla(grid: Grid, shape: JawShape) -> dict[str, np.ndarray]:
    """Maxilla (alveolar process, palate, zygomatic buttress and arch), sinuses, nasal cavity,
    orbits' floors: chords and masks."""
    S, Z = np.meshgrid(grid.s, grid.z)
    k = shape.size
    a = np.abs(S)
    crest = shape.crest_below_occ * k + shape.bone_loss_mm + occlusal(S, shape)
    top = 58 * k
    tuber = 66 * k
    alv = (crest < Z) & (top > Z) & (a < tuber + 4 * k - np.clip(Z - crest - 8 * k, 0, None) * 0.3)
    zyg = (a > 40 * k) & (a < 108 * k) & (np.abs(Z - (36 * k + 0.05 * (a - 40 * k))) < 4.5 * k)
    mask = alv | zyg
    thick = np.where(zyg & ~alv, 4.5 * k, 10.0 * k)
    total, canc = _plate(mask, grid.px, thick, 1.6, 2.0 * k)
    # maxillary sinuses: air cavities whose floor dips toward the molar roots
    floor = shape.sinus_floor * k + 2.5 * k * np.cos((a - 48 * k) / (9 * k) * np.pi / 2) ** 2 \
        * (np.abs(a - 48 * k) < 9 * k) * -1.0
    # a rounded box (superellipse) whose floor dips between the molar roots
    q = ((a - 40.5 * k) / (23.5 * k)) ** 4 + ((Z - 37 * k) / (17 * k)) ** 4
    sinus_w = (q < 1.0) & (floor < Z)
    sd = _depth(sinus_w, grid.px)
    sinus_air = np.where(sinus_w, 11.0 * k * np.sqrt(np.clip(sd / (6 * k), 0, 1)), 0.0)
    nasal = ((a / (16 * k)) ** 4 + ((Z - 45 * k) / (16 * k)) ** 4 < 1) & \
        (shape.palate_z * k + 2 * k < Z)
    nd = _depth(nasal, grid.px)
    nasal_air = np.where(nasal, 12.0 * k * np.sqrt(np.clip(nd / (5 * k), 0, 1)), 0.0)
    septum = nasal & (a < 1.2 * k)
    # hard palate: seen edge-on as a dense horizontal band above the upper apices
    pz = shape.palate_z * k
    palate = (a < 60 * k) & (np.abs(Z - pz) < 2.5 * k)
    palate_cort = np.where(palate, 12.0 * k * np.sqrt(np.clip(1 - ((Z - pz) / (2.5 * k)) ** 2,
                                                                  0, 1)) * np.clip(
        (60 * k - a) / (10 * k), 0, 1), 0.0)
    air = sinus_air + nasal_air
    canc = np.clip(canc - 0.5 * air, 0, None)
    cort = np.clip(total - canc - 0.2 * air, 0, None) + palate_cort + np.where(septum, 8.0, 0.0)
    return {"cortical": cort, "cancellous": canc, "air": air, "mask": mask | palate,
            "sinus_right": sinus_w & (S < 0), "sinus_left": sinus_w & (S > 0),
            "nasal": nasal, "palate": palate}


def soft_tissue(grid: Grid, shape: JawShape) -> dict[str, np.ndarray]:
    """Water-equivalent soft tissue along each ray (face, tongue, neck) and the air in the
    pharynx and between tongue and palate (the dark bands of every panoramic film)."""
    S, Z = np.meshgrid(grid.s, grid.z)
    k = shape.size
    a = np.abs(S)
    soft = 95.0 * k + 25.0 * k * np.exp(-((Z + 20 * k) / (60 * k)) ** 2)
    # pharyngeal airway: a band crossing the rami, ~12 mm of air
    pharynx = np.exp(-(((a - 92 * k) - 0.35 * (Z + 10 * k)) / (6 * k)) ** 2) * \
        np.clip((22 * k - Z) / (10 * k), 0, 1) * 12.0 * k
    # palatoglossal space: air between the tongue's dorsum and the palate
    pg = np.exp(-((Z - 16 * k - 0.0015 * S * S / k) / (3.5 * k)) ** 2) * 8.0 * k * \
        np.clip((75 * k - a) / (20 * k), 0, 1)
    return {"soft": soft, "air": pharynx + pg}


def spine(grid: Grid, shape: JawShape) -> np.ndarray:
    """Bone chord of the upper cervical spine (C2-C4 bodies and lateral masses, ~45 mm wide)
    drawn as if in the layer at s = 0; physics.panoramic places it as its ghost."""
    S, Z = np.meshgrid(grid.s, grid.z)
    k = shape.size
    out = np.zeros_like(S)
    for zc in (-5 * k, -22 * k, -39 * k, -56 * k):  # vertebral bodies, rounded corners
        q = (np.abs(S) / (22 * k)) ** 4 + (np.abs(Z - zc) / (7.5 * k)) ** 4
        out += 14.0 * k * np.sqrt(np.clip(1 - q, 0, 1))
    q = (S / (5 * k)) ** 2 + ((Z - 8 * k) / (7 * k)) ** 2  # the dens
    return out + 8.0 * k * np.sqrt(np.clip(1 - q, 0, 1))


def hyoid(grid: Grid, shape: JawShape) -> np.ndarray:
    """Bone chord of the hyoid (body and greater horns) drawn at s = 0 in the layer."""
    S, Z = np.meshgrid(grid.s, grid.z)
    k = shape.size
    zc = -50 * k + 0.004 * S * S / k
    q = (S / (22 * k)) ** 4 + ((Z - zc) / (2.5 * k)) ** 2
    return 9.0 * k * np.sqrt(np.clip(1 - q, 0, 1))
