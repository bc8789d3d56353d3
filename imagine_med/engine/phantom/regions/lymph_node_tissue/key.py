"""The lymph node's answer key, measured from the rendered labels, nuclei and DAB map."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from imagine_med.engine.phantom.regions.histo_measure import (
    components,
    mitoses,
    nucleus_diameters,
    visible_nuclei,
)
from imagine_med.engine.phantom.regions.lymph_node_tissue.model import B_CELLS, LABELS

FOLLICLE = [LABELS[k] for k in ("mantle_zone", "germinal_centre", "centroblast", "centrocyte",
                                "macrophage")]
GC = [LABELS[k] for k in ("germinal_centre", "centroblast", "centrocyte", "macrophage")]
POSITIVE = 0.2   # mean DAB OD on a cell's membrane ring read as CD20-positive


def membrane_dab(instances: np.ndarray, dab: np.ndarray, ids: list[int]) -> dict[int, float]:
    """Mean DAB in the 1-2 pixel ring round each nucleus (its membrane at this scale)."""
    grown = ndimage.grey_dilation(instances, size=(3, 3))
    ring = (instances == 0) & (grown > 0)
    lab = np.where(ring, grown, 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        vals = np.nan_to_num(ndimage.mean(dab, lab, ids)) if ids else []
    return {i: float(v) for i, v in zip(ids, vals, strict=True)}


def measure(fld, px: float, dab: np.ndarray | None) -> dict[str, float]:
    cv = fld.canvas
    lab, inst = cv.labels, cv.instances
    # a follicle: mantle and germinal centre with the nuclei in them (closing over 4 um)
    close = max(1, round(4.0 / px))
    fol_mask = ndimage.binary_closing(np.isin(lab, FOLLICLE) | (
        (lab == LABELS["b_lymphocyte"]) & ndimage.binary_dilation(
            lab == LABELS["mantle_zone"], iterations=close)), iterations=close)
    big = max(400, int((40.0 / px) ** 2))
    _, fol_ids = components(fol_mask, big)
    all_fol, n_fol = ndimage.label(fol_mask)
    n_fol = int(sum(np.bincount(all_fol.ravel())[1:] >= big))
    all_gc, n_gc = ndimage.label(ndimage.binary_closing(np.isin(lab, GC), iterations=close))
    inside = 0
    for k in range(1, n_gc + 1):
        g = all_gc == k
        if g.sum() < big:
            continue
        ring = ndimage.binary_dilation(g, iterations=3) & ~g
        inside += (np.isin(lab[ring], FOLLICLE)).mean() > 0.9
    seen = visible_nuclei(inst, cv.nuclei)
    count = {}
    for d in seen:
        count[d["class"]] = count.get(d["class"], 0) + 1
    n_cells = max(len(seen), 1)
    m = {"follicles_in_view": float(n_fol), "follicles_wholly_in_view": float(len(fol_ids)),
         "germinal_centres": float(int(sum(np.bincount(all_gc.ravel())[1:] >= big))),
         "germinal_centres_inside_follicles": float(inside),
         "cells_counted": float(len(seen)),
         "mitoses_in_field": float(mitoses(cv.nuclei, inst))}
    small = nucleus_diameters(inst, cv.nuclei, px, ("b_lymphocyte", "t_lymphocyte"))
    large = nucleus_diameters(inst, cv.nuclei, px, ("lymphoma", "centroblast", "tumour"))
    m["small_lymphocyte_nucleus_um"] = round(float(np.median(small)), 2) if small else 0.0
    m["large_cell_nucleus_um"] = round(float(np.median(large)), 2) if large else 0.0
    m["large_cell_percent"] = round(100.0 * (count.get("lymphoma", 0) + count.get(
        "centroblast", 0)) / n_cells, 1)
    met = lab == LABELS["metastasis"]
    if met.any():
        ys, xs = np.nonzero(met)
        m["metastasis_extent_mm"] = round(float(max(np.ptp(ys), np.ptp(xs)) + 1) * px / 1000, 3)
        m["metastasis_area_percent"] = round(100.0 * met.mean(), 1)
        m["tumour_cells"] = float(count.get("tumour", 0))
    if dab is not None:
        ids = [d["id"] for d in seen]
        ring = membrane_dab(inst, dab, ids)
        b = [ring[d["id"]] >= POSITIVE for d in seen if d["class"] in B_CELLS]
        t = [ring[d["id"]] >= POSITIVE for d in seen if d["class"] not in B_CELLS]
        m["cd20_positive_percent"] = round(100.0 * (sum(b) + sum(t)) / n_cells, 1)
        m["cd20_positive_b_percent"] = round(100.0 * np.mean(b), 1) if b else 0.0
        m["cd20_positive_other_percent"] = round(100.0 * np.mean(t), 1) if t else 0.0
    return m


def report(fld, stain, mag, px, wanted, antibody, seen):
    dab = seen[..., 1] if stain == "ihc" else None
    m = measure(fld, px, dab if antibody == "cd20" else None)
    stain_name = "H&E" if stain == "he" else (
        f"{antibody.upper()} immunohistochemistry (DAB, haematoxylin)")
    head = f"Lymph node, {stain_name}, {mag}x objective ({px:.2f} um per pixel)."
    found = []
    if fld.finding == "lymphoma":
        s = (f"Diffuse large B-cell lymphoma: the architecture is effaced (no follicles or "
             f"sinuses; {int(m['follicles_in_view'])} follicles seen) by sheets of large "
             f"atypical lymphoid cells ({m['large_cell_percent']:.0f}% of "
             f"{int(m['cells_counted'])} cells; nuclei median {m['large_cell_nucleus_um']:.1f} "
             f"um against {m['small_lymphocyte_nucleus_um']:.1f} um for the residual small "
             f"lymphocytes), {int(m['mitoses_in_field'])} mitoses in the field.")
        found.append(("lymphoma", "lymphoma", "diffuse_large_b_cell", s))
    else:
        cap = "Capsule and subcapsular sinus; " if (fld.canvas.labels == LABELS[
            "capsule"]).any() else ""
        s_norm = (f"{cap}{int(m['follicles_in_view'])} lymphoid "
                  f"follicles in view with {int(m['germinal_centres'])} germinal centres "
                  "(pale centroblasts, centrocytes and tingible-body macrophages within a dark "
                  "mantle of small lymphocytes); paracortex of small T lymphocytes; small "
                  f"lymphocyte nuclei median {m['small_lymphocyte_nucleus_um']:.1f} um.")
        if fld.finding == "metastases":
            ext = m.get("metastasis_extent_mm", 0.0)
            size = ("macrometastasis" if ext > 2.0 else "micrometastasis" if ext > 0.2
                    else "isolated tumour cells")
            s = (f"Metastatic carcinoma: a cohesive nest of {int(m.get('tumour_cells', 0))} "
                 "large polygonal tumour cells with eosinophilic cytoplasm and vesicular "
                 f"nuclei in the subcapsular sinus and cortex, {ext:.2f} mm across in this "
                 f"field ({size} if this is all of it), {m.get('metastasis_area_percent', 0):.0f}"
                 "% of the field.")
            found.append(("metastases", "metastasis", "carcinoma", s))
            head += " " + s + " " + s_norm
        else:
            head += " " + s_norm + " Reactive pattern; no metastasis or lymphoma."
    if dab is not None and antibody == "ck7":
        lab = fld.canvas.labels
        met = np.isin(lab, [LABELS["metastasis"], LABELS["cell_membrane"]])
        lym = np.isin(lab, [LABELS["mantle_zone"], LABELS["paracortex"],
                            LABELS["germinal_centre"]])
        m["ck7_tumour_dab"] = round(float(dab[met].mean()), 3) if met.any() else 0.0
        m["ck7_lymphoid_dab"] = round(float(dab[lym].mean()), 3) if lym.any() else 0.0
        head += (" CK7: " + ("strong cytoplasmic and membranous staining of the carcinoma "
                             f"cells (mean DAB {m['ck7_tumour_dab']:.2f}), " if met.any() else
                             "no cytokeratin-positive cells; ")
                 + f"lymphoid cells negative ({m['ck7_lymphoid_dab']:.2f}).")
    if dab is not None and antibody == "cd20":
        head += (f" CD20: membranous staining of B cells ({m['cd20_positive_b_percent']:.0f}% "
                 f"of B cells positive; {m['cd20_positive_other_percent']:.0f}% of T cells, "
                 "macrophages and other cells), so follicles"
                 + (" and the lymphoma sheets" if fld.finding == "lymphoma" else "")
                 + " are brown and the paracortex mostly blue.")
    if found and fld.finding == "lymphoma":
        head = found[0][3] + " " + head
    return head, found, m
