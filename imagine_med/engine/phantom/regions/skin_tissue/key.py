"""The skin biopsy's answer key, measured from the rendered labels and nuclei."""

from __future__ import annotations

import numpy as np

from imagine_med.engine.phantom.regions.histo_measure import (
    components,
    mitoses,
    nucleus_diameters,
)
from imagine_med.engine.phantom.regions.skin_tissue.model import LABELS

EPIDERMIS = [LABELS[k] for k in ("stratum_granulosum", "stratum_spinosum", "stratum_basale",
                                 "keratinocyte_nucleus", "basal_nucleus")]


def epidermal_thickness(labels: np.ndarray, px: float) -> float:
    """Median over columns of the living epidermis' thickness (um)."""
    epi = np.isin(labels, EPIDERMIS)
    cols = epi.sum(axis=0)
    return round(float(np.median(cols[cols > 0])) * px, 1) if cols.any() else 0.0


def palisade_alignment(instances, nuclei, labels, px) -> float:
    """Fraction of BCC nuclei touching the nest's edge whose long axis points at the edge
    (within 30 degrees of the local normal): the palisade."""
    from scipy import ndimage

    nest = np.isin(labels, [LABELS["bcc_nest"], LABELS["bcc_nucleus"]])
    inside = ndimage.distance_transform_edt(nest)
    gy, gx = np.gradient(ndimage.gaussian_filter(inside, 2.0))
    objs = ndimage.find_objects(instances)
    good = total = 0
    for d in nuclei:
        if d["class"] != "bcc" or d["id"] > len(objs) or objs[d["id"] - 1] is None:
            continue
        sl = objs[d["id"] - 1]
        ys, xs = np.nonzero(instances[sl] == d["id"])
        if len(ys) < 8:
            continue
        ys, xs = ys + sl[0].start, xs + sl[1].start
        if inside[ys, xs].min() * px > 2.5:
            continue
        cov = np.cov(np.stack([xs, ys]).astype(float))
        _, v = np.linalg.eigh(cov)
        axis = v[:, 1]
        nrm = np.array([gx[ys, xs].mean(), gy[ys, xs].mean()])
        if np.linalg.norm(nrm) < 1e-6:
            continue
        cosang = abs(axis @ nrm) / np.linalg.norm(nrm)
        total += 1
        good += cosang > np.cos(np.radians(30))
    return round(good / total, 3) if total else 0.0


def breslow_mm(labels: np.ndarray, px: float, y0_px: np.ndarray | None = None) -> float:
    """Breslow thickness: from the top of the granular layer to the deepest tumour cell,
    measured per column, the greatest (mm)."""
    tumour = np.isin(labels, [LABELS["melanoma"], LABELS["melanoma_nucleus"], LABELS["melanin"]])
    gran = labels == LABELS["stratum_granulosum"]
    best = 0.0
    for c in np.nonzero(tumour.any(axis=0))[0]:
        g = np.nonzero(gran[:, c])[0]
        if not len(g):
            continue
        deepest = np.nonzero(tumour[:, c])[0].max()
        best = max(best, (deepest - g.min() + 1) * px / 1000.0)
    return round(best, 2)


def report(fld, stain, mag, px, wanted, antibody, seen):
    cv = fld.canvas
    lab, inst = cv.labels, cv.instances
    area_mm2 = lab.size * px * px / 1e6
    mit = mitoses(cv.nuclei, inst)
    m = {"epidermal_thickness_um": epidermal_thickness(lab, px),
         "mitoses_in_field": float(mit), "mitoses_per_mm2": round(mit / area_mm2, 1)}
    ker = nucleus_diameters(inst, cv.nuclei, px, ("keratinocyte",))
    m["keratinocyte_nucleus_um"] = round(float(np.median(ker)), 2) if ker else 0.0
    head = (f"Skin, H&E, {mag}x objective ({px:.2f} um per pixel). Epidermis "
            f"{m['epidermal_thickness_um']:.0f} um thick with basket-weave stratum corneum, "
            "a granular layer, spinous layer and a single basal row on the basement membrane; "
            "rete ridges; papillary and reticular dermis with vessels and fibroblasts.")
    found = []
    if fld.finding == "basal_cell_carcinoma":
        comp, _ = components(np.isin(lab, [LABELS["bcc_nest"], LABELS["bcc_nucleus"]]), 50)
        n_all = len(np.unique(comp)) - 1
        m["bcc_nests"] = float(n_all)
        m["palisade_aligned_fraction"] = palisade_alignment(inst, cv.nuclei, lab, px)
        m["retraction_cleft_percent"] = round(100.0 * (lab == LABELS["retraction_cleft"]).mean(),
                                              1)
        bcc = nucleus_diameters(inst, cv.nuclei, px, ("bcc",))
        m["bcc_nucleus_um"] = round(float(np.median(bcc)), 2) if bcc else 0.0
        s = (f"Nodular basal cell carcinoma: {n_all} nests of basaloid cells with scant "
             "cytoplasm extending from the epidermis into the dermis, peripheral palisading "
             f"({100 * m['palisade_aligned_fraction']:.0f}% of the outermost nuclei aligned "
             "perpendicular to the edge), retraction clefts and myxoid stroma; "
             f"{int(mit)} mitoses in the field.")
        found.append(("basal_cell_carcinoma", "bcc_nest", "nodular", s))
    elif fld.finding == "melanoma":
        m["breslow_mm"] = breslow_mm(lab, px)
        mel = nucleus_diameters(inst, cv.nuclei, px, ("melanoma",))
        m["melanoma_nucleus_um"] = round(float(np.median(mel)), 2) if mel else 0.0
        m["dermal_mitoses_per_mm2"] = m["mitoses_per_mm2"]
        s = (f"Invasive melanoma: junctional nests and pagetoid melanocytes in the epidermis "
             "over a dermal nodule of atypical epithelioid melanocytes (nuclei median "
             f"{m['melanoma_nucleus_um']:.1f} um with prominent nucleoli), melanin pigment; "
             f"Breslow thickness at least {m['breslow_mm']:.2f} mm in this field; "
             f"{int(mit)} dermal mitoses ({m['mitoses_per_mm2']:.0f} per mm2).")
        found.append(("melanoma", "melanoma", "invasive", s))
    else:
        head += " No dysplasia or tumour."
    return " ".join([f[3] for f in found] + [head]), found, m
