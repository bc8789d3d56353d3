"""The renal biopsy's answer key, measured from the rendered labels and nucleus instances."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from imagine_med.engine.phantom.regions.histo_measure import (
    components,
    equivalent_diameters,
    nucleus_diameters,
    ring_coverage,
)
from imagine_med.engine.phantom.regions.kidney_tissue.model import LABELS

GLOMERULAR = [LABELS[k] for k in ("glomerular_tuft", "capillary_lumen", "basement_membrane",
                                  "mesangium", "bowman_space", "podocyte", "mesangial_cell",
                                  "endothelial_cell", "parietal_cell", "kw_nodule", "crescent",
                                  "crescent_cell", "red_cell")]
CRESCENT = [LABELS["crescent"], LABELS["crescent_cell"]]


def glomeruli(labels: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Renal corpuscles wholly in the field: what lies inside a Bowman's capsule."""
    inside = np.isin(labels, GLOMERULAR)
    capsule = labels == LABELS["bowman_capsule"]
    filled = ndimage.binary_fill_holes(capsule | inside) & ~capsule
    return components(filled, min_px=200)


def measure(labels: np.ndarray, instances: np.ndarray, nuclei: list[dict], px: float
            ) -> dict[str, float]:
    comp, ids = glomeruli(labels)
    cover, crescent_cover = [], []
    for k in ids:
        g = comp == k
        cover.append(ring_coverage(labels, g, [LABELS["bowman_capsule"]], 3.0))
        # crescent: directions in which crescent cells lie just inside the capsule
        cover_c = ring_coverage(labels, g, CRESCENT, 2.0 + 6.0 / px) if np.isin(
            labels[g], CRESCENT).any() else 0.0
        crescent_cover.append(cover_c)
    diam = equivalent_diameters(comp, ids, px)
    ncomp, nids = components(labels == LABELS["kw_nodule"], 4)
    nod = equivalent_diameters(ncomp, nids, px)
    _prox, pids = components(np.isin(labels, [LABELS["proximal_tubule"], LABELS["brush_border"],
                                             LABELS["tubular_nucleus"]]), 30)
    _dist, dids = components(labels == LABELS["distal_tubule"], 30)
    _brush, bids = components(labels == LABELS["brush_border"], 3)
    tub = nucleus_diameters(instances, nuclei, px, ("tubular",))
    return {"glomeruli_counted": float(len(ids)),
            "glomerulus_diameter_um": round(float(np.median(diam)), 1) if diam else 0.0,
            "capsule_coverage_min": round(min(cover), 3) if cover else 0.0,
            "kw_nodules": float(len(nids)),
            "kw_nodule_diameter_um": round(float(np.median(nod)), 1) if nod else 0.0,
            "crescent_glomeruli": float(sum(c >= 0.1 for c in crescent_cover)),
            "crescent_percent": round(100.0 * sum(c >= 0.1 for c in crescent_cover)
                                      / max(len(ids), 1), 1),
            "crescent_circumference_percent":
                round(100.0 * max(crescent_cover), 1) if crescent_cover else 0.0,
            "proximal_tubules": float(len(pids)), "distal_tubules": float(len(dids)),
            "brush_border_segments": float(len(bids)),
            "tubular_nucleus_median_um": round(float(np.median(tub)), 2) if tub else 0.0}


def text(stain: str, mag: int, px: float, m: dict[str, float], nodular: bool,
         crescentic: bool) -> tuple[str, list[tuple[str, str, str, str]]]:
    """(the whole key, [(finding, label, modifier, sentence)])."""
    stain_name = {"he": "H&E", "pas": "PAS", "pas_d": "PAS-D"}[stain]
    n = int(m["glomeruli_counted"])
    g = (f"{n} glomerul{'us' if n == 1 else 'i'} wholly in the field (median "
         f"{m['glomerulus_diameter_um']:.0f} um across), each in Bowman's capsule"
         if n else "Glomeruli cut by the field's edge")
    base = (f"Renal cortex, {stain_name}, {mag}x objective ({px:.2f} um per pixel). {g}; "
            "open capillary loops with red cells, mesangium between them; "
            f"{int(m['proximal_tubules'])} proximal tubules (eosinophilic, with brush borders) "
            f"and {int(m['distal_tubules'])} distal tubules wholly in view; tubular nuclei "
            f"median {m['tubular_nucleus_median_um']:.1f} um.")
    if stain in ("pas", "pas_d"):
        base += (" PAS outlines the glomerular and tubular basement membranes, Bowman's "
                 "capsule and the proximal brush borders.")
    found = []
    if nodular:
        s = (f"Diabetic nodular glomerulosclerosis: {int(m['kw_nodules'])} "
             f"Kimmelstiel-Wilson nodules (median {m['kw_nodule_diameter_um']:.0f} um), "
             "acellular and PAS-positive, pushing the capillary loops to the periphery, with "
             "diffuse mesangial expansion.")
        found.append(("glomerulosclerosis", "kw_nodule", "nodular", s))
    if crescentic:
        s = (f"Cellular crescents in {int(m['crescent_glomeruli'])} of {n} glomeruli "
             f"({m['crescent_percent']:.0f}%), filling Bowman's space over up to "
             f"{m['crescent_circumference_percent']:.0f}% of the circumference and "
             "compressing the tuft; fibrin among the crescent cells.")
        found.append(("crescents", "crescent", "cellular", s))
    if not found:
        base += " No glomerular or tubular abnormality."
    return " ".join([f[3] for f in found] + [base]), found


def report(fld, stain, mag, px, wanted, antibody, seen):
    cv = fld.canvas
    m = measure(cv.labels, cv.instances, cv.nuclei, px)
    whole, found = text(stain, mag, px, m, "glomerulosclerosis" in wanted, "crescents" in wanted)
    return whole, found, m
