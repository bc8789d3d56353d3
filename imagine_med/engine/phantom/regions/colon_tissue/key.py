"""The colonic biopsy's answer key, measured from the rendered labels and nuclei."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from imagine_med.engine.phantom.regions.colon_tissue.model import LABELS
from imagine_med.engine.phantom.regions.histo_measure import (
    components,
    mitoses,
    nucleus_diameters,
)

EPITHELIUM = {"normal": ("crypt_epithelium", "epithelial_nucleus"),
              "adenoma": ("adenoma_epithelium", "adenoma_nucleus"),
              "carcinoma": ("carcinoma_epithelium", "tumour_nucleus")}


def crypts(labels: np.ndarray, kind: str) -> tuple[np.ndarray, list[int]]:
    """Crypts (or glands) wholly in the field: the epithelial ring with what it encloses."""
    ring = np.isin(labels, [LABELS[x] for x in EPITHELIUM[kind]] + [LABELS["goblet_mucin"]])
    filled = ndimage.binary_fill_holes(ring)
    comp, ids = components(filled, min_px=80)
    if not ids:
        return comp, ids
    own = np.bincount(comp.ravel(), (labels == LABELS[EPITHELIUM[kind][0]]).ravel(),
                      comp.max() + 1)
    return comp, [k for k in ids if own[k] >= 80]   # not a stray cup of another kind


def nucleus_elongation(instances: np.ndarray, nuclei: list[dict], cls: str) -> float:
    """Median long/short axis ratio of the class's nuclei (second moments of their pixels)."""
    out = []
    objs = ndimage.find_objects(instances)
    for d in nuclei:
        if d["class"] != cls or d["id"] > len(objs) or objs[d["id"] - 1] is None:
            continue
        sl = objs[d["id"] - 1]
        ys, xs = np.nonzero(instances[sl] == d["id"])
        if len(ys) < 8:
            continue
        lam = np.linalg.eigvalsh(np.cov(np.stack([xs, ys]).astype(float)) + np.eye(2) / 12)
        out.append(float(np.sqrt(lam[1] / lam[0])))
    return round(float(np.median(out)), 2) if out else 0.0


def measure(labels, instances, nuclei, px, kind: str) -> dict[str, float]:
    comp, ids = crypts(labels, kind)
    gob_comp, _ = ndimage.label(labels == LABELS["goblet_mucin"])
    per = []
    for k in ids:
        inside = np.unique(gob_comp[(comp == k) & (gob_comp > 0)])
        per.append(len(inside))
    cls = {"normal": "epithelial", "adenoma": "adenoma", "carcinoma": "tumour"}[kind]
    diam = nucleus_diameters(instances, nuclei, px, (cls,))
    area_mm2 = labels.size * px * px / 1e6
    mit = mitoses(nuclei, instances)
    return {"crypts_counted": float(len(ids)),
            "goblet_cells_per_crypt": round(float(np.mean(per)), 1) if per else 0.0,
            "epithelial_nucleus_median_um": round(float(np.median(diam)), 2) if diam else 0.0,
            "nucleus_elongation": nucleus_elongation(instances, nuclei, cls),
            "mitoses_in_field": float(mit),
            "mitoses_per_mm2": round(mit / area_mm2, 1)}


def report(fld, stain, mag, px, wanted, antibody, seen):
    cv = fld.canvas
    kind = {"adenoma": "adenoma", "adenocarcinoma": "carcinoma"}.get(fld.finding or "", "normal")
    m = measure(cv.labels, cv.instances, cv.nuclei, px, kind)
    stain_name = {"he": "H&E", "pas": "PAS", "pas_d": "PAS-D"}[stain]
    found = []
    if kind == "normal" or kind == "adenoma":
        mn = measure(cv.labels, cv.instances, cv.nuclei, px, "normal")
        m.update({f"normal_{k}": v for k, v in mn.items()})
    cut = ("cut perpendicular to the surface: crypts as parallel test tubes from the surface "
           "epithelium to the muscularis mucosae" if mag <= 10 else "crypts cut across")
    head = f"Colonic mucosa, {stain_name}, {mag}x objective ({px:.2f} um per pixel), {cut}."
    if kind == "normal":
        body = (f" {int(m['crypts_counted'])} crypts wholly in view, evenly spaced in lamina "
                f"propria with lymphocytes and plasma cells; {m['goblet_cells_per_crypt']:.0f} "
                "goblet cells per crypt on average; basal nuclei, median "
                f"{m['epithelial_nucleus_median_um']:.1f} um. No dysplasia.")
    elif kind == "adenoma":
        s = (f"Tubular adenoma with low-grade dysplasia: {int(m['crypts_counted'])} crowded "
             "dysplastic crypts wholly in view with elongated (pencillate), hyperchromatic, "
             f"stratified nuclei (long/short axis {m['nucleus_elongation']:.1f}), goblet cells "
             f"depleted ({m['goblet_cells_per_crypt']:.1f} per crypt"
             + (f" against {m['normal_goblet_cells_per_crypt']:.0f} in the normal crypts at "
                "the edge" if m["normal_crypts_counted"] else "") + "), "
             f"{int(m['mitoses_in_field'])} mitoses in the field.")
        found.append(("adenoma", "adenoma_epithelium", "tubular", s))
        body = " " + s
    else:
        s = (f"Invasive adenocarcinoma: irregular, angulated glands of varying size "
             f"({int(m['crypts_counted'])} wholly in view) lined by cells with large "
             f"pleomorphic nuclei (median {m['epithelial_nucleus_median_um']:.1f} um), no "
             "goblet cells, luminal dirty necrosis, in desmoplastic stroma; "
             f"{int(m['mitoses_in_field'])} mitoses in the field "
             f"({m['mitoses_per_mm2']:.0f} per mm2).")
        found.append(("adenocarcinoma", "carcinoma_epithelium", "invasive", s))
        body = " " + s
    if stain in ("pas", "pas_d"):
        body += (" PAS: goblet-cell mucin and basement membranes magenta"
                 + (" (diastase-resistant)." if stain == "pas_d" else "."))
    return head + body, found, m
