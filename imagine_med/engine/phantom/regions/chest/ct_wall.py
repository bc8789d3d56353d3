"""Axial CT detail of the chest wall, drawn on the slice plane only.

The 3D model's wall is a fat envelope over a uniform muscle shell: right for a film's
attenuation, but on an axial slice it reads as a thick grey ring. Here the slice's wall is
re-painted as a reader expects it: skin, subcutaneous fat, pectoralis anteriorly, a thin
intercostal layer on the ribs, serratus/latissimus laterally and the paraspinal muscles either
side of the spine (which also carry the body outline round the spinous process). Ribs get a
cortex and a marrow cavity. Only pixels labelled fat, muscle, rib or outside air change, so
every other structure (and every finding) keeps its pixels.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from imagine_med.engine.phantom.labels import ANATOMY, LUNG_LABELS
from imagine_med.engine.phantom.materials import M
from imagine_med.engine.phantom.regions.chest.ct_crura import draw_crura
from imagine_med.engine.phantom.regions.chest.ct_spine import draw_vertebrae
from imagine_med.engine.phantom.scene import Scene

_FAT, _MUS, _RIB = ANATOMY["subcutaneous_fat"], ANATOMY["muscle"], ANATOMY["ribs"]
_WALL_BONES = (ANATOMY["ribs"], ANATOMY["scapula"], ANATOMY["clavicle"], ANATOMY["humerus"])


def _dist(mask: np.ndarray) -> np.ndarray:
    """Distance (px) from each True pixel to the nearest False one: the larger of the
    chessboard and the scaled city-block chamfer distances, an octagonal lower bound within
    8 % of the Euclidean distance at a fifth of the cost of an exact transform."""
    chess = ndimage.distance_transform_cdt(mask, metric="chessboard").astype(np.float32)
    taxi = ndimage.distance_transform_cdt(mask, metric="taxicab").astype(np.float32)
    return np.maximum(chess, taxi * np.float32(1 / np.sqrt(2)))


def _edt(mask: np.ndarray) -> np.ndarray:
    """Exact Euclidean distance (px) to the nearest False pixel: for outlines a reader sees
    (the skin over the back), where the chamfer bound of `_dist` draws octagon facets."""
    return ndimage.distance_transform_edt(mask).astype(np.float32)


def _near(mask: np.ndarray, r_px: float) -> np.ndarray:
    """Pixels within r_px of a True pixel of mask, computed only on mask's box widened by
    r_px (most of these masks are small)."""
    out = np.zeros(mask.shape, bool)
    rows, cols = np.nonzero(np.any(mask, axis=1))[0], np.nonzero(np.any(mask, axis=0))[0]
    if not len(rows):
        return out
    m = int(np.ceil(r_px)) + 2
    r0, r1 = max(0, rows[0] - m), min(mask.shape[0], rows[-1] + m + 1)
    c0, c1 = max(0, cols[0] - m), min(mask.shape[1], cols[-1] + m + 1)
    out[r0:r1, c0:c1] = _edt(~mask[r0:r1, c0:c1]) <= r_px
    return out


def _bridge(body: np.ndarray, where: np.ndarray, r_px: float) -> np.ndarray:
    """Outside pixels a closing of `body` by r_px adds round `where` (the skin spans the
    notches where the paraspinal bulge meets the flank instead of stepping into them)."""
    out = np.zeros(body.shape, bool)
    rows, cols = np.nonzero(np.any(where, axis=1))[0], np.nonzero(np.any(where, axis=0))[0]
    m = int(np.ceil(r_px)) * 2 + 2
    r0, r1 = max(0, rows[0] - m), min(body.shape[0], rows[-1] + m + 1)
    c0, c1 = max(0, cols[0] - m), min(body.shape[1], cols[-1] + m + 1)
    b = body[r0:r1, c0:c1]
    grown = np.pad(_edt(~b) <= r_px, 1)  # beyond the box: far from the body
    out[r0:r1, c0:c1] = (_edt(grown)[1:-1, 1:-1] > r_px) & ~b
    return out


def refine_wall(hu: np.ndarray, labels: np.ndarray, x: np.ndarray, y: np.ndarray,
                z: np.ndarray, px: float, scene: Scene) -> None:
    """In place: the chest wall of a slice in any plane (x: patient left +, y: anterior +,
    z: superior +, in mm, as arrays that broadcast to the slice: a row, a column or a scalar
    each, so most of the arithmetic stays 1-D). Distances are measured in the slice, which
    is where the wall meets it roughly square-on (the sides on a coronal slice, the front
    and back on a sagittal one)."""
    L = scene.landmarks
    if "y_spine" not in L:
        return
    s = L["size"]
    fat_mm = L["fat"]
    y_sp = L["y_spine"]
    y_back = y_sp - 15 * s  # posterior surface of the vertebral body
    draw_vertebrae(hu, labels, x, y, z, px, scene)
    draw_crura(hu, labels, x, y, z, scene)
    outside = labels == 0
    # paraspinal muscles: two rounded bellies either side of the spinous process
    para = np.zeros(labels.shape, bool)
    for sx in (-1, 1):
        para |= ((x - sx * 22 * s) / (19 * s)) ** 2 + ((y - y_back + 13 * s) / (16 * s)) ** 2 <= 1
    # ... and the muscle round the spinous process, which on some slices reaches further back
    arch = (labels == ANATOMY["spine"]) & (y < y_back - 6 * s)
    vertical = np.ndim(z) > 0 and np.shape(z)[0] > 1  # rows run head to foot
    if arch.any():
        round_arch = _near(arch, 5 * s / px)
        if vertical:  # one muscle mass behind the column of spinous processes, not a comb
            k = int(L["hv"] * 1.2 / px) | 1
            cols = np.flatnonzero(round_arch.any(axis=0))
            box = np.s_[:, max(0, cols[0] - 1):cols[-1] + 2]
            round_arch[box] = ndimage.binary_closing(round_arch[box], np.ones((k, 1), bool))
        # ... but not behind the bellies' backs (y_back - 29 s): the spinous processes lie in
        # the midline furrow between them, not under a keel
        para |= round_arch & (y < y_back) & (y > y_back - 27 * s)
    para &= np.isin(labels, (0, _FAT, _MUS))
    grow = para & outside
    body = ~outside | para
    # the fat over the back follows the muscle bulge (a thinner layer than elsewhere)
    cover = max(3.0, 0.55 * fat_mm) / px
    if grow.any():
        near = _near(para, cover)
        add_fat = near & outside & ~para & (y < y_back)
        add_fat |= _bridge(body | add_fat, near, 35.0 / px) & (y < y_back)
        labels[add_fat] = _FAT
        hu[add_fat] = M["fat"].hu
        body |= add_fat
    labels[para] = _MUS
    hu[para] = M["muscle"].hu

    wall = np.isin(labels, (_FAT, _MUS)) & ~para
    contents = body & ~wall & ~para & ~np.isin(labels, _WALL_BONES)
    d_cav = _dist(~contents) * px
    # pectoralis: a lens anteriorly, thickest at mid-clavicular line, none at the midline
    ax = np.abs(x)
    pec_t = 15 * s * np.clip(1 - ((ax - 68 * s) / (52 * s)) ** 2, 0, 1) * (y > 0.15 * np.abs(x))
    pec_t = pec_t * (z > L["t7"])  # the pectoralis ends at about the sixth rib in front
    # serratus / latissimus: a thin band round the back and sides
    lat_t = 7 * s * (y < 0.35 * (ax - 40 * s)) * (ax > 35 * s)
    muscle_t = 3.5 * s + np.maximum(pec_t, lat_t)
    d_skin = _dist(body) * px
    # deeper than the subcutaneous fat (shoulder girdle, neck): muscle, not a fat pad
    keep = wall & ((d_cav <= muscle_t) | (d_skin > fat_mm + 10 * s))
    # intercostal muscle round the ribs, and the scapular muscles round the blade
    for lid, mm in ((_RIB, 2.5 * s), (ANATOMY["scapula"], 9 * s)):
        bone = labels == lid
        if bone.any():
            keep |= wall & _near(bone, mm / px)
    to_fat = wall & ~keep
    labels[to_fat], hu[to_fat] = _FAT, M["fat"].hu
    labels[keep], hu[keep] = _MUS, M["muscle"].hu
    # skin: a thin soft-tissue line on the outline
    skin = body & (d_skin <= 1.6) & np.isin(labels, (_FAT, _MUS))
    hu[skin] = 20.0
    # the scapular blade is a thin plate (a few mm), not the model's thick slab
    scap = labels == ANATOMY["scapula"]
    if scap.any():
        k = round(1.8 * s / px)
        if k >= 1:
            rim = scap & ~ndimage.binary_erosion(scap, iterations=k)
            labels[rim], hu[rim] = _MUS, M["muscle"].hu
    # ribs: cortex round a marrow cavity
    rib = labels == _RIB
    if rib.any():
        marrow = ndimage.binary_erosion(rib, iterations=max(1, round(1.4 * s / px)))
        hu[rib & ~marrow] = M["cortical"].hu
        hu[marrow] = 330.0
    _pericardium(hu, labels, px)
    _mediastinum(hu, labels, y, px, 25.0 if vertical else 15.0)
    _dependent_density(hu, labels, y, L)


def _pericardium(hu: np.ndarray, labels: np.ndarray, px: float) -> None:
    """The heart's outline as a reader sees it without contrast: a thin pericardial line
    over a band of epicardial fat (2-6 mm, thickest in a few places round the outline, as in
    the grooves and at the apex) over the myocardium and blood, instead of a uniform blob."""
    heart = labels == ANATOMY["heart"]
    if heart.sum() < 50:
        return
    rows, cols = np.nonzero(np.any(heart, axis=1))[0], np.nonzero(np.any(heart, axis=0))[0]
    box = np.s_[max(0, rows[0] - 1):rows[-1] + 2, max(0, cols[0] - 1):cols[-1] + 2]
    h = heart[box]
    d = _dist(h) * px  # mm inside the outline
    rr, cc = np.nonzero(h)
    ang = np.arctan2(np.arange(h.shape[0])[:, None] - rr.mean(),
                     np.arange(h.shape[1])[None, :] - cc.mean())
    t = 2.0 + 4.0 * np.clip(np.sin(3 * ang + 0.7), 0, 1) ** 2
    fat = h & (d > 1.3) & (d <= 1.3 + t)
    labels[box][fat] = ANATOMY["mediastinal_fat"]
    hu[box][fat] = M["fat"].hu


_LUNG = tuple(ANATOMY[n] for n in LUNG_LABELS)


def _dependent_density(hu: np.ndarray, labels: np.ndarray, y: np.ndarray, L: dict) -> None:
    """Supine lungs are denser toward the back (blood and less air in the dependent part):
    about 80 HU from front to back, centred on the lung's own value."""
    lung = np.isin(labels, _LUNG)
    if not lung.any():
        return
    depth = np.clip((L["y_cav"] + L["b_mid"] - y) / (2 * L["b_mid"]), 0, 1)
    hu += np.where(lung, -35.0 + 80.0 * depth ** 1.5, 0.0)


_MEDIASTINAL = tuple(ANATOMY[n] for n in ("aorta", "svc", "pulmonary_artery", "esophagus",
                                          "trachea", "heart", "sternum"))
_LUNGISH = tuple(ANATOMY[n] for n in (*LUNG_LABELS, "pulmonary_vessels", "fissure"))


def _mediastinum(hu: np.ndarray, labels: np.ndarray, y: np.ndarray, px: float,
                 reach_mm: float) -> None:
    """Mediastinal fat between the great vessels, airway, oesophagus, heart,
    sternum and vertebral body, wherever they lie within `reach_mm` of each other: the 3D
    lungs reach too far medially, which left the vessels floating in lung and a sharp air
    triangle behind the sternum (a longer reach on coronal and sagittal slices, where the
    structures stack over a longer span)."""
    pts = np.isin(labels, _MEDIASTINAL)
    spine = labels == ANATOMY["spine"]
    if spine.any():
        ys = np.broadcast_to(y, labels.shape)[spine]
        pts |= spine & (y >= np.median(ys))  # the front half of the vertebral body
    if pts.sum() < 10:
        return
    # a closing (dilate, then erode, by R): fills the fat between neighbouring structures but
    # not the wide wedges a convex hull would add in front of the heart or beside the spine
    R = reach_mm / px
    grown = _near(pts, R)
    inside = np.zeros(grown.shape, bool)
    rows, cols = np.nonzero(np.any(grown, axis=1))[0], np.nonzero(np.any(grown, axis=0))[0]
    box = slice(max(0, rows[0] - 1), rows[-1] + 2), slice(max(0, cols[0] - 1), cols[-1] + 2)
    inside[box] = _dist(grown[box]) > R + 1.5 / px
    fill = inside & np.isin(labels, _LUNGISH)
    labels[fill] = ANATOMY["mediastinal_fat"]
    hu[fill] = M["cavity"].hu
