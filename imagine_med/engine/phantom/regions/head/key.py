"""Head measurements and answer-key sentences, read from the rendered output only.

Sizes come from the label map and pixel spacing (measure.py's longest chord), signal and
density from the image against the mirrored region of the other hemisphere, midline shift
from where the midline structures lie between the inner tables, volume from the built 3D
finding sampled on a 2-3 mm grid. A sentence claims only what these numbers show.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from imagine_med.engine.phantom.measure import area_mm2, longest_diameter_mm
from imagine_med.engine.phantom.regions.base import Grid
from imagine_med.engine.phantom.regions.head.anatomy import INTRACRANIAL, LABELS, HeadModel

FINDING_PARTS = {"glioma": ("glioma", "necrosis"), "infarct": ("infarct",),
                 "haemorrhage": ("haemorrhage",), "subdural_haematoma": ("subdural_haematoma",),
                 "meningioma": ("meningioma", "dural_tail"),
                 "ms_plaques": ("ms_plaques", "active_plaque"),
                 "brain_abscess": ("brain_abscess", "abscess_wall")}
MASS_EFFECT = ("subdural_haematoma", "haemorrhage", "glioma", "extradural_haematoma",
               "meningioma", "brain_abscess")
WHAT = {"glioma": "glioblastoma", "extradural_haematoma": "extradural haematoma",
        "subarachnoid_haemorrhage": "subarachnoid haemorrhage", "meningioma": "meningioma",
        "metastases": "metastases", "ms_plaques": "multiple sclerosis plaques",
        "hydrocephalus": "hydrocephalus", "atrophy": "cerebral atrophy",
        "brain_abscess": "cerebral abscess",
        "venous_thrombosis": "superior sagittal sinus thrombosis"}
SEQ_WORDS = {"t1": "T1", "t2": "T2", "flair": "FLAIR", "pd": "PD", "dwi": "DWI",
             "adc": "the ADC map",
             "t1c": "post-contrast T1", "stir": "STIR", "swi": "SWI", "gre": "GRE"}
TERRITORY_WORDS = {"mca": "MCA", "aca": "ACA", "pca": "PCA", "basilar": "vertebrobasilar",
                   "pica": "PICA"}


def finding_mask(labels: np.ndarray, name: str) -> np.ndarray:
    return np.isin(labels, [LABELS[p] for p in FINDING_PARTS.get(name, (name,))])


def mirror(mask: np.ndarray) -> np.ndarray:
    """The same pixels reflected across the head's midline (the image's centre column)."""
    return mask[:, ::-1]


def contrast_to_mirror(image: np.ndarray, mask: np.ndarray, labels: np.ndarray
                       ) -> tuple[float, float] | None:
    """(mean in the finding, mean in the mirrored brain) on the rendered image."""
    other = mirror(mask) & ~mask & np.isin(labels, [LABELS[n] for n in INTRACRANIAL])
    if mask.sum() < 4 or other.sum() < 4:
        return None
    return float(image[mask].mean()), float(image[other].mean())


def midline_shift_mm(labels: np.ndarray, px: float) -> float | None:
    """Largest sideways offset of the falx / septum / third ventricle from the midpoint of
    the inner tables, over the rows that show them; None where none is shown."""
    inside = np.isin(labels, [LABELS[n] for n in INTRACRANIAL])
    lv_r, lv_l = labels == LABELS["lateral_ventricle_right"], labels == LABELS[
        "lateral_ventricle_left"]
    falx = np.isin(labels, [LABELS["dura"], LABELS["third_ventricle"]])
    best = None
    for r in range(labels.shape[0]):
        cols = np.flatnonzero(inside[r])
        if len(cols) < 20:
            continue
        centre = (cols[0] + cols[-1]) / 2
        mark = None
        a, b = np.flatnonzero(lv_r[r]), np.flatnonzero(lv_l[r])
        if len(a) and len(b):
            mark = (a.max() + b.min()) / 2  # the septum pellucidum
        elif falx[r].any():
            near = np.flatnonzero(falx[r])
            near = near[np.abs(near - centre) < 0.25 * len(cols)]
            mark = float(np.median(near)) if len(near) else None
        if mark is not None:
            off = float(abs(mark - centre) * px)
            best = off if best is None else max(best, off)
    return None if best is None else round(best, 1)


def components(mask: np.ndarray) -> int:
    from scipy.ndimage import label

    return int(label(mask)[1])


def evans_index(labels: np.ndarray) -> float | None:
    """Widest span of the frontal horns (rows in front of the ventricles' middle) over the
    widest inner diameter of the skull on this slice; > 0.3 is ventriculomegaly."""
    lv = np.isin(labels, [LABELS["lateral_ventricle_left"], LABELS["lateral_ventricle_right"],
                          LABELS["hydrocephalus"]])
    lv &= ~(labels == LABELS["hydrocephalus"])
    inside = np.isin(labels, [LABELS[n] for n in INTRACRANIAL])
    rows = np.flatnonzero(lv.any(axis=1))
    if len(rows) < 2 or not inside.any():
        return None
    mid = (rows[0] + rows[-1]) / 2
    span = max(np.ptp(np.flatnonzero(lv[r])) + 1 for r in rows if r <= mid)
    skull = max(np.ptp(np.flatnonzero(inside[r])) + 1 for r in np.flatnonzero(inside.any(1)))
    return round(float(span / skull), 3)


def max_thickness_mm(mask: np.ndarray, px: float) -> float:
    """A crescent's thickness where it is thickest: twice the largest distance from inside
    it to its edge (a run along rows or columns would follow the crescent's length)."""
    from scipy.ndimage import distance_transform_edt

    return round(float(2.0 * distance_transform_edt(mask).max()) * px, 1)


def built_extent(head: HeadModel, name: str, center: tuple[float, float, float],
                 reach: float) -> tuple[float, np.ndarray]:
    """Volume (ml) of the built finding and its points (mm, >= half inside), from the
    model on a 2-4 mm grid round its centre: the finding alone (HeadModel.sample_finding)
    unless it lives in the anatomy's CSF spaces (subarachnoid blood, atrophy), which need
    the whole head sampled."""
    finding = next((f for f in head.findings if f.placed.name == name
                    and tuple(f.placed.center) == tuple(center)), None)
    whole = finding is None or getattr(finding, "whole_head_volume", False)
    step = 2.0 if reach <= 45 and not whole else (3.0 if reach <= 60 else 4.0)
    ax = np.arange(-reach, reach + step / 2, step, dtype=np.float32)
    gx, gy, gz = np.meshgrid(center[0] + ax, center[1] + ax, center[2] + ax, indexing="ij")
    grid = Grid(gx, gy, gz, step, "volume", 0.0)
    sample = head.sample(grid) if whole else head.sample_finding(grid, finding)
    frac = np.zeros(gx.shape, np.float32)
    for p in sample.parts:
        if p.label in FINDING_PARTS.get(name, (name,)):
            frac += p.fraction
    pts = np.stack([gx[frac >= 0.5], gy[frac >= 0.5], gz[frac >= 0.5]], axis=1)
    return float(frac.sum() * step**3 / 1000.0), pts


@dataclass
class Seen:
    present: bool
    measurements: dict[str, float]
    contrast: tuple[float, float] | None


def measure(name: str, labels: np.ndarray, image: np.ndarray, px: float) -> Seen:
    mask = finding_mask(labels, name)
    m: dict[str, float] = {}
    present = bool(mask.sum() >= 3)
    if present:
        m["max_diameter_mm"] = round(longest_diameter_mm(mask, (px, px)), 1)
        m["area_mm2"] = round(area_mm2(mask, (px, px)), 1)
        if name in ("subdural_haematoma", "extradural_haematoma"):
            m["max_thickness_mm"] = max_thickness_mm(mask, px)
        if name == "extradural_haematoma":
            m["fracture_px"] = float((labels == LABELS["skull_fracture"]).sum())
        if name in ("metastases", "ms_plaques"):
            m["count_in_slice"] = float(components(mask))
        if name == "ms_plaques":
            m["active_in_slice"] = float(components(labels == LABELS["active_plaque"]))
        if name == "brain_abscess":
            core, wall = labels == LABELS["brain_abscess"], labels == LABELS["abscess_wall"]
            if core.sum() > 3 and wall.sum() > 3:
                m["core_mean"] = round(float(image[core].mean()), 1)
                m["rim_mean"] = round(float(image[wall].mean()), 1)
    if name in ("hydrocephalus", "atrophy"):
        ev = evans_index(labels)
        if ev is not None:
            m["evans_index"] = ev
        inside = np.isin(labels, [LABELS[n] for n in INTRACRANIAL])
        csf = np.isin(labels, [LABELS["csf"], LABELS["atrophy"]])
        m["sulcal_csf_fraction"] = round(float(csf.sum() / max(inside.sum(), 1)), 3)
    if present and name == "venous_thrombosis":  # against the white matter of this image
        wm = labels == LABELS["white_matter"]
        if wm.sum() > 10:
            m["sinus_mean"] = round(float(image[mask].mean()), 1)
            m["white_matter_mean"] = round(float(image[wm].mean()), 1)
    if present and name == "glioma":
        rim, core = labels == LABELS["glioma"], labels == LABELS["necrosis"]
        if rim.sum() > 3 and core.sum() > 3:
            m["rim_mean"] = round(float(image[rim].mean()), 1)
            m["core_mean"] = round(float(image[core].mean()), 1)
    shift = midline_shift_mm(labels, px) if name in MASS_EFFECT else None
    if shift is not None:
        m["midline_shift_mm"] = shift
    contrast = contrast_to_mirror(image, mask, labels) if present else None
    if contrast is not None:
        m["mean"], m["mirror_mean"] = round(contrast[0], 1), round(contrast[1], 1)
    return Seen(present, m, contrast)


def _signal_word(contrast: tuple[float, float] | None, ct: bool) -> str:
    if contrast is None:
        return ""
    a, b = contrast
    if ct:
        if a - b > 8:
            return f"hyperdense ({a:.0f} HU against {b:.0f} HU on the other side)"
        if b - a > 4:
            return f"hypodense ({a:.0f} HU against {b:.0f} HU on the other side)"
        return f"not distinguishable by density ({a:.0f} HU against {b:.0f} HU)"
    ratio = a / max(b, 1e-6)
    if ratio > 1.15:
        return f"high signal ({ratio:.2f} times the other side)"
    if ratio < 0.87:
        return f"low signal ({ratio:.2f} times the other side)"
    return f"no clear signal change ({ratio:.2f} times the other side)"


def sentence(p, seen: Seen, modality: str, seq: str | None, volume_ml: float,
             offset_mm: float | None) -> str:
    """One finding's key sentence from what this image shows."""
    age = (_age(p.modifiers) or "acute").replace("_", " ")
    what = {"infarct": f"{age} infarct",
            "haemorrhage": f"{age} intraparenchymal haemorrhage",
            "subdural_haematoma": f"{age} subdural haematoma",
            "extradural_haematoma": f"{age} extradural haematoma"}.get(p.name, WHAT.get(
                p.name, p.name.replace("_", " ")))
    where = f"the {p.side} {TERRITORY_WORDS.get(p.location, '')} territory" \
        if p.name == "infarct" else f"the {p.side} {str(p.location).replace('_', ' ')}" \
        if p.side else f"the {str(p.location).replace('_', ' ')}"
    if not seen.present:
        away = f" (it lies {offset_mm:.0f} mm from it)" if offset_mm else ""
        return (f"The requested {what} in {where} ({volume_ml:.0f} ml) is not in this "
                f"slice{away}.")
    m = seen.measurements
    on = "on CT" if modality == "ct" else f"on {SEQ_WORDS.get(seq or '', seq)}"
    text = (f"{what[0].upper()}{what[1:]} in {where}, {m['max_diameter_mm']:.0f} mm across on "
            f"this slice ({volume_ml:.0f} ml built)")
    look = _signal_word(seen.contrast, modality == "ct")
    if look:
        text += f", {look} {on}"
    if p.name == "subdural_haematoma":
        text += f"; a crescent up to {m['max_thickness_mm']:.0f} mm thick over the convexity"
    if p.name == "extradural_haematoma":
        text += (f"; a biconvex (lentiform) collection up to {m['max_thickness_mm']:.0f} mm "
                 "thick against the inner table")
        if m.get("fracture_px", 0) > 0:
            text += ", over a skull fracture"
    if p.name == "meningioma":
        text += "; extra-axial, broad-based on the dura"
        if seq == "t1c":
            text += ", enhancing homogeneously with a dural tail"
    if p.name in ("metastases", "ms_plaques") and "count_in_slice" in m:
        text += f"; {m['count_in_slice']:.0f} lesions in this slice"
        if p.name == "ms_plaques":
            text += ", ovoid, periventricular, perpendicular to the ventricles"
            if m.get("active_in_slice") and seq == "t1c":
                text += f", {m['active_in_slice']:.0f} enhancing (active)"
    if "evans_index" in m:
        text += f"; Evans index {m['evans_index']:.2f}"
    if p.name == "brain_abscess" and "core_mean" in m:
        if seq in ("dwi", "adc"):
            text += "; its centre restricts diffusion"
        elif seq == "t1c":
            text += "; a thin smooth enhancing rim"
    if p.name == "venous_thrombosis" and "sinus_mean" in m:
        a, b = m["sinus_mean"], m["white_matter_mean"]
        if modality == "ct":
            text += (f"; the sinus is filled with clot of {a:.0f} HU (flowing blood ~40 HU, "
                     f"white matter {b:.0f} HU): the dense delta (cord) sign")
        elif seq == "t1c":
            text += ("; the clot does not enhance "
                     f"({a / max(b, 1e-6):.2f} times white matter): the empty delta sign")
        elif seq in ("t2", "flair", "swi", "gre"):
            text += (f"; the flow void is lost, the acute clot dark ({a / max(b, 1e-6):.2f} "
                     "times white matter)")
    if p.name == "glioma" and "rim_mean" in m:
        rim, core = m["rim_mean"], m["core_mean"]
        if seq == "t1c" and rim > 1.3 * core:
            text += "; an irregular enhancing rim round a non-enhancing necrotic core"
        else:
            text += "; a thick irregular wall round a necrotic core"
    if m.get("midline_shift_mm", 0) >= 2:
        other = "right" if p.side == "left" else "left"
        text += f"; midline shift {m['midline_shift_mm']:.0f} mm to the {other}"
    return text + "."


def _age(modifiers) -> str | None:
    for a in ("hyperacute", "acute", "subacute", "chronic"):
        if a in modifiers:
            return a
    return None


def normal_sentence(labels: np.ndarray, px: float, age: int, sex: str, what: str) -> str:
    lv = np.isin(labels, [LABELS["lateral_ventricle_left"], LABELS["lateral_ventricle_right"]])
    vent = f" lateral ventricles {lv.any(axis=0).sum() * px:.0f} mm across in total on this " \
        "slice;" if lv.any() else ""
    return (f"Normal {what} of a {age}-year-old {sex}:{vent} no focal abnormality, no "
            "midline shift, no extra-axial collection.")
