"""Measurements taken from a rendered variant's label map (and CT numbers), with its pixel
spacing: what the answer key may state about that image.

Everything here reads only the output arrays, the way a reader with the label map would
measure: sizes in mm, ratios, counts. Nothing reads the request or the model's targets.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from imagine_med.engine.phantom.labels import (
    ANATOMY,
    FEATURES,
    FINDINGS,
    LUNG_LABELS,
    finding_ids,
)

HEART_IDS = (ANATOMY["heart"], FINDINGS["cardiomegaly"])
# what fills the thoracic cavity lateral to the mediastinum: the lungs and whatever replaced
# them in the label map (pleural fluid or air, airspace disease, lesions)
LUNG_FIELD_IDS = (
    *(ANATOMY[n] for n in LUNG_LABELS), ANATOMY["pulmonary_vessels"], ANATOMY["fissure"],
    *(FINDINGS[n] for n in ("consolidation", "pleural_effusion", "pneumothorax", "nodule",
                            "mass", "cavity", "pulmonary_edema", "collapse", "emphysema",
                            "fibrosis", "miliary_nodules")),
    *FEATURES.values(),
)
GAS_HU = -400.0  # CT: below this a lesion's pixel holds gas


def is_in(labels: np.ndarray, ids) -> np.ndarray:
    """np.isin(labels, ids), through a 256-entry table for a uint8 label map (a lookup per
    pixel instead of numpy's sort-based or per-id passes: several times faster at 512 px)."""
    if labels.dtype != np.uint8:
        return np.isin(labels, ids)
    ids = np.asarray(ids, np.int64)
    table = np.zeros(256, bool)
    table[ids[(ids >= 0) & (ids < 256)]] = True  # an id no uint8 holds matches nothing
    return np.take(table, labels)  # table[labels], by the faster gather (~half its time)


def finding_mask(labels: np.ndarray, name: str) -> np.ndarray:
    return is_in(labels, finding_ids(name))


def area_mm2(mask: np.ndarray, spacing: tuple[float, float]) -> float:
    return float(mask.sum() * spacing[0] * spacing[1])


def longest_diameter_mm(mask: np.ndarray, spacing: tuple[float, float]) -> float:
    """The longest chord (Feret diameter) of the largest connected piece, pixel centres
    +1 pixel: how a reader measures a lesion's long axis."""
    lab, n = ndimage.label(mask)
    if n == 0:
        return 0.0
    sizes = np.bincount(lab.ravel())[1:]
    piece = lab == (1 + int(np.argmax(sizes)))
    edge = piece & ~ndimage.binary_erosion(piece)
    ys, xs = np.nonzero(edge)
    pts = np.stack([ys * spacing[0], xs * spacing[1]], axis=1)
    if len(pts) > 600:
        pts = pts[np.linspace(0, len(pts) - 1, 600).astype(int)]
    d = np.sqrt(((pts[:, None, :] - pts[None, :, :]) ** 2).sum(-1)).max()
    return float(d + min(spacing))


def row_span(mask: np.ndarray) -> tuple[int, int, int] | None:
    """(row, first column, last column) of the row whose outermost pixels lie furthest
    apart, or None for an empty mask."""
    rows = np.flatnonzero(mask.any(axis=1))
    if not len(rows):
        return None
    sub = mask[rows]
    first = sub.argmax(axis=1)
    last = sub.shape[1] - 1 - sub[:, ::-1].argmax(axis=1)
    k = int(np.argmax(last - first))
    return int(rows[k]), int(first[k]), int(last[k])


def ctr(labels: np.ndarray) -> float | None:
    """Cardiothoracic ratio on a frontal film or an axial slice: the heart's greatest width
    over the greatest width of the lung fields (inner margins of the chest wall), both in
    pixel columns; None where the image shows no heart or no lungs."""
    heart = is_in(labels, HEART_IDS)
    thorax = row_span(is_in(labels, LUNG_FIELD_IDS))
    cols = np.flatnonzero(heart.any(axis=0))
    if not len(cols) or thorax is None:
        return None
    return float((cols.max() - cols.min() + 1) / (thorax[2] - thorax[1] + 1))


def midline_col(labels: np.ndarray) -> float | None:
    """The column half-way across the widest row of the lung fields."""
    span = row_span(is_in(labels, LUNG_FIELD_IDS))
    return None if span is None else (span[1] + span[2]) / 2


def side_mask(labels: np.ndarray, side: str | None, frontal: bool) -> np.ndarray:
    """Columns of the patient's side on a frontal image (right on the viewer's left); the
    whole image on a lateral film or sagittal slice, or with no side."""
    mid = midline_col(labels)
    cols = np.arange(labels.shape[1])[None, :]
    if not frontal or side not in ("left", "right") or mid is None:
        return np.ones(labels.shape, bool)
    return np.broadcast_to(cols < mid if side == "right" else cols >= mid, labels.shape)


def percent_of_hemithorax(labels: np.ndarray, mask: np.ndarray, side: str | None,
                          frontal: bool) -> float:
    """The finding's share (%) of the lung field on its side (both sides when bilateral)."""
    here = side_mask(labels, side, frontal)
    field = is_in(labels, LUNG_FIELD_IDS) & here
    total = (field | (mask & here)).sum()
    return float(100.0 * (mask & here).sum() / total) if total else 0.0


def trachea_shift_mm(labels: np.ndarray, spacing: tuple[float, float]) -> float | None:
    """How far the trachea's centre lies from the lung fields' midline (mm; + toward the
    viewer's right, i.e. the patient's left on a frontal image)."""
    _ys, xs = np.nonzero(labels == ANATOMY["trachea"])
    mid = midline_col(labels)
    if not len(xs) or mid is None:
        return None
    return float((xs.mean() - mid) * spacing[1])


def carina_row(labels: np.ndarray, tube_id: int | None = None) -> int | None:
    """Frontal film: the row where the airway label (trachea and main bronchi, with a tube
    lying in it) splits in two: the top of the lowest run of rows crossed twice."""
    ids = (ANATOMY["trachea"],) if tube_id is None else (ANATOMY["trachea"], tube_id)
    air = is_in(labels, ids)
    runs = (air[:, 1:] & ~air[:, :-1]).sum(axis=1) + air[:, 0]
    rows = np.flatnonzero(runs >= 2)
    if not len(rows):
        return None
    r = int(rows.max())
    while r > 0 and runs[r - 1] >= 2:
        r -= 1
    return r


def tip_above_carina_mm(labels: np.ndarray, tube_id: int, spacing: tuple[float, float]
                        ) -> float | None:
    """Frontal film: from a tube's lowest pixel down to the carina, in mm."""
    tube = np.flatnonzero((labels == tube_id).any(axis=1))
    carina = carina_row(labels, tube_id)
    if not len(tube) or carina is None:
        return None
    return float((carina - tube.max()) * spacing[0])


def count_pieces(mask: np.ndarray) -> int:
    return int(ndimage.label(mask)[1])


def touches(a: np.ndarray, b: np.ndarray) -> bool:
    """Do two label regions share an edge (4-neighbourhood)?"""
    return bool((ndimage.binary_dilation(a) & b).any())


def gas_fraction(mask: np.ndarray, hu: np.ndarray | None) -> float | None:
    """CT: the share of a region's pixels holding gas; None without CT numbers."""
    if hu is None or not mask.any():
        return None
    return float((hu[mask] < GAS_HU).mean())


# --------------------------------------------------------------------------------------------
# per finding: which numbers a reader would take from this image

BORDERS: dict[str, tuple[int, ...]] = {
    "heart": HEART_IDS,
    "hemidiaphragm": (ANATOMY["diaphragm"], ANATOMY["liver"], ANATOMY["stomach"],
                      ANATOMY["gastric_bubble"], ANATOMY["spleen"]),
    "aortic knuckle": (ANATOMY["aorta"],),
    "right paratracheal stripe": (ANATOMY["trachea"], ANATOMY["svc"]),
}


def lesion_mask(mask: np.ndarray, spacing: tuple[float, float]) -> np.ndarray:
    """A lesion without its spicules (thin strands under ~4 mm across are opened away), so
    its diameter is that of the solid part, as a reader measures it."""
    r = max(1, round(2.0 / min(spacing)))
    yy, xx = np.mgrid[-r:r + 1, -r:r + 1]
    opened = ndimage.binary_opening(mask, structure=(yy ** 2 + xx ** 2) <= r * r)
    return opened if opened.any() else mask


def measure_finding(name: str, labels: np.ndarray, spacing: tuple[float, float], view: str,
                    side: str | None, hu: np.ndarray | None = None) -> dict[str, float]:
    """The measurements of one finding in one image (empty when its label is). `view` is the
    film view (pa, ap, lateral) or CT plane (axial, coronal, sagittal)."""
    mask = finding_mask(labels, name)
    if not mask.any():
        return {}
    frontal = view in ("pa", "ap", "axial", "coronal")
    m: dict[str, float] = {"area_mm2": round(area_mm2(mask, spacing), 1)}
    if name in ("nodule", "mass", "cavity", "hiatus_hernia"):
        m["diameter_mm"] = round(longest_diameter_mm(lesion_mask(mask, spacing), spacing), 1)
    if name == "cavity":
        lumen = labels == FEATURES["cavity_lumen"]
        if lumen.any():
            m["lumen_mm"] = round(longest_diameter_mm(lumen, spacing), 1)
            m["wall_mm"] = round(max(m["diameter_mm"] - m["lumen_mm"], 0.0) / 2, 1)
        gas = gas_fraction(lumen, hu)
        if gas is not None:
            m["gas_percent"] = round(100 * gas, 1)
    if name == "hiatus_hernia":
        gas = gas_fraction(mask, hu)
        if gas is not None:
            m["gas_percent"] = round(100 * gas, 1)
    if name in ("consolidation", "pleural_effusion", "pneumothorax", "pulmonary_edema",
                "collapse", "emphysema", "fibrosis"):
        m["percent"] = round(percent_of_hemithorax(labels, mask, side, frontal), 1)
    if name == "consolidation":
        m["air_bronchogram_mm2"] = round(area_mm2(labels == FEATURES["air_bronchogram"],
                                                  spacing), 1)
    # a CT slice's CTR means something only for a heart asked to be measured (cardiomegaly)
    film_ctr = view in ("pa", "ap") and name in ("cardiomegaly", "pulmonary_edema", "emphysema")
    if film_ctr or (view == "axial" and name == "cardiomegaly"):
        value = ctr(labels)
        if value is not None:
            m["ctr"] = round(value, 3)
    if name == "cardiomegaly":
        cols = np.flatnonzero(is_in(labels, HEART_IDS).any(axis=0))
        m["heart_width_mm"] = round(float((cols.max() - cols.min() + 1) * spacing[1]), 1)
    if name in ("pneumothorax", "collapse", "pleural_effusion") and frontal:
        shift = trachea_shift_mm(labels, spacing)
        if shift is not None:
            m["trachea_shift_mm"] = round(shift, 1)
    if name == "miliary_nodules":
        m["count"] = float(count_pieces(mask))
    if name == "mediastinal_widening":
        span = row_span(mask)
        if span is not None:
            m["width_mm"] = round((span[2] - span[1] + 1) * spacing[1], 1)
    if name == "et_tube" and view in ("pa", "ap"):
        tip = tip_above_carina_mm(labels, FINDINGS["et_tube"], spacing)
        if tip is not None:
            m["tip_above_carina_mm"] = round(tip, 1)
    return {k: float(v) for k, v in m.items()}


def borders_met(labels: np.ndarray, name: str) -> tuple[str, ...]:
    """The outlines (heart, hemidiaphragm, aortic knuckle, paratracheal stripe) that a
    finding's label meets on a film: where a silhouette sign can be claimed."""
    mask = finding_mask(labels, name)
    ys, xs = np.nonzero(mask)
    if not len(ys):
        return ()
    # one dilation, on the finding's box and a pixel round it: the same answer as dilating
    # the whole image once per border, at a fraction of the cost
    y0, x0 = max(int(ys.min()) - 1, 0), max(int(xs.min()) - 1, 0)
    box = (slice(y0, int(ys.max()) + 2), slice(x0, int(xs.max()) + 2))
    near = ndimage.binary_dilation(mask[box]) & ~mask[box]
    seen = labels[box][near]
    return tuple(b for b, ids in BORDERS.items() if np.isin(seen, ids).any())
