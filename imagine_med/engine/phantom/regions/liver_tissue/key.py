"""Measurements of a rendered liver field, from its label and instance maps only, and the
sentences a pathologist would write from them.

Counting rule (stated in the key): hepatocytes wholly inside the field, i.e. the connected
regions of hepatocyte cytoplasm, nucleus and fat (cell borders separate them) that do not
touch the image edge. A hepatocyte is steatotic when it holds a fat droplet.
Grades: physics.md "Histology additions" (S0 < 5%, S1 5-33%, S2 34-66%, S3 > 66%).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from imagine_med.engine.phantom.regions.liver_tissue.model import LABELS

CELL_PARTS = ("hepatocyte", "hepatocyte_nucleus", "fat_droplet", "microvesicular_fat")
MIN_CELL_UM2 = 60.0


@dataclass
class Cells:
    """Hepatocytes found in the label map: component image, ids wholly inside the field."""

    components: np.ndarray
    inner: np.ndarray
    steatotic: np.ndarray   # bool per inner id: holds a macrovesicular droplet
    micro: np.ndarray       # bool per inner id: holds microvesicles
    extra: dict[str, float] = field(default_factory=dict)


def hepatocytes(labels: np.ndarray, px: float) -> Cells:
    parts = np.isin(labels, [LABELS[n] for n in CELL_PARTS])
    comp, n = ndimage.label(parts)
    edge = np.unique(np.concatenate([comp[0], comp[-1], comp[:, 0], comp[:, -1]]))
    area = np.bincount(comp.ravel(), minlength=n + 1) * px * px
    fat = np.bincount(comp.ravel(), weights=(labels == LABELS["fat_droplet"]).ravel(),
                      minlength=n + 1) * px * px
    mic = np.bincount(comp.ravel(), weights=(labels == LABELS["microvesicular_fat"]).ravel(),
                      minlength=n + 1)
    ok = np.ones(n + 1, bool)
    ok[0] = False
    ok[edge] = False
    ok &= area >= MIN_CELL_UM2
    inner = np.nonzero(ok)[0]
    return Cells(comp, inner, fat[inner] >= 4.0, mic[inner] > 0)


def nucleus_sizes(instances: np.ndarray, classes: dict[int, str], px: float,
                  kind: str = "hepatocyte") -> np.ndarray:
    """Equivalent diameters (um) of the nuclei of one class that do not touch the edge."""
    area = np.bincount(instances.ravel(), minlength=max(classes, default=0) + 1)
    edge = set(np.unique(np.concatenate([instances[0], instances[-1], instances[:, 0],
                                         instances[:, -1]])).tolist())
    ids = [i for i, c in classes.items() if c == kind and i not in edge and area[i] > 0]
    return np.sqrt(4 * area[ids] / np.pi) * px if ids else np.zeros(0)


def red_cell_sizes(labels: np.ndarray, px: float) -> np.ndarray:
    """Diameters (um) of lone red cells: the long axis (4 x sqrt of the larger second
    moment), a disc's diameter however it is tilted; touching and cut ones left out."""
    comp, _ = ndimage.label(labels == LABELS["red_cell"])
    out = []
    for k, sl in enumerate(ndimage.find_objects(comp), 1):
        if sl is None or 0 in (sl[0].start, sl[1].start) or sl[0].stop == labels.shape[0] \
                or sl[1].stop == labels.shape[1]:
            continue
        ys, xs = np.nonzero(comp[sl] == k)
        if len(ys) < 5:
            continue
        lam = np.linalg.eigvalsh(np.cov(np.stack([xs, ys]).astype(float)))
        out.append(4 * np.sqrt(lam[-1] + 1 / 12) * px)
    d = np.asarray(out)
    return d[d < 9.0] if len(d) else d


def nucleus_displacement(cells: Cells, instances: np.ndarray, px: float) -> tuple[float, float]:
    """Mean distance (as a fraction of the cell's equivalent radius) from each inner
    hepatocyte's centroid to its nucleus centroid: steatotic cells, other cells."""
    comp = cells.components
    ids = cells.inner
    if not len(ids):
        return 0.0, 0.0
    nuc = instances > 0
    idx = np.arange(comp.size)
    ys, xs = np.divmod(idx, comp.shape[1])
    flat = comp.ravel()
    n = comp.max() + 1
    cnt = np.bincount(flat, minlength=n).astype(float)
    cx = np.bincount(flat, xs, n) / np.maximum(cnt, 1)
    cy = np.bincount(flat, ys, n) / np.maximum(cnt, 1)
    ncnt = np.bincount(flat, nuc.ravel(), n)
    nx = np.bincount(flat, xs * nuc.ravel(), n) / np.maximum(ncnt, 1)
    ny = np.bincount(flat, ys * nuc.ravel(), n) / np.maximum(ncnt, 1)
    rad = np.sqrt(cnt / np.pi)
    off = np.hypot(nx - cx, ny - cy) / np.maximum(rad, 1)
    has = ncnt[ids] > 0
    st = cells.steatotic & has
    other = ~cells.steatotic & has
    return (float(off[ids][st].mean()) if st.any() else 0.0,
            float(off[ids][other].mean()) if other.any() else 0.0)


def grade(percent: float) -> str:
    if percent < 5:
        return "S0"
    if percent <= 33:
        return "S1"
    if percent <= 66:
        return "S2"
    return "S3"


FEW_CELLS = 20


def steatosis_sentence(n: int, k: int, pct: float, shift: float) -> str:
    if n == 0:
        return ("Macrovesicular steatosis: large clear fat vacuoles push hepatocyte nuclei to "
                "the cell edge; no hepatocyte lies wholly within this small field, so no "
                "percentage is given (ask for a larger image or a lower power).")
    few = (f" Only {n} whole hepatocytes are in this field: the percentage is a rough one."
           if n < FEW_CELLS else "")
    return (f"Macrovesicular steatosis: {k} of {n} hepatocytes wholly within the field "
            f"({pct:.0f}%) hold a single large clear fat vacuole that fills the cell and "
            f"pushes the flattened nucleus to its edge (nucleus {shift:.0%} of the cell radius "
            f"off centre); grade {grade(pct)} ({_grade_range(pct)} of hepatocytes).{few}")


def _grade_range(pct: float) -> str:
    return {"S0": "under 5%", "S1": "5-33%", "S2": "34-66%", "S3": "over 66%"}[grade(pct)]


def micro_sentence(n: int, k: int) -> str:
    pct = 100.0 * k / max(n, 1)
    return (f"Microvesicular steatosis: {k} of {n} hepatocytes ({pct:.0f}%) have a foamy "
            f"cytoplasm of many tiny fat vacuoles around a central nucleus.")


FIBROSIS_WORDS = {
    1: "Portal fibrosis: portal tracts fibrously expanded with short spurs, no septa",
    2: "Periportal fibrosis: fibrous septa extend from the portal tracts into the lobule "
       "without bridging",
    3: "Bridging fibrosis: fibrous septa link portal tracts to each other and to the central "
       "vein",
    4: "Cirrhosis: regenerative hepatocyte nodules surrounded by fibrous septa",
}


def fibrosis_measures(labels: np.ndarray, px: float) -> dict[str, float]:
    """Collagen proportionate area (portal stroma and septa over the tissue in the field),
    septa seen and how many cross the field (touch two edges)."""
    collagen = np.isin(labels, [LABELS["portal_tract"], LABELS["fibrous_septum"]])
    septal = np.isin(labels, [LABELS["fibrous_septum"], LABELS["lymphocyte"]])
    comp, n = ndimage.label(septal)
    crossing = 0
    for k in range(1, n + 1):
        edges = [(comp[0] == k).any(), (comp[-1] == k).any(), (comp[:, 0] == k).any(),
                 (comp[:, -1] == k).any()]
        crossing += sum(edges) >= 2
    return {"collagen_area_percent": round(100.0 * collagen.mean(), 1),
            "septa_seen": float(n), "septa_crossing_field": float(crossing)}


def fibrosis_sentence(stage: int, fm: dict[str, float]) -> str:
    cross = int(fm["septa_crossing_field"])
    seen = (f"; {cross} septum{'s' if cross != 1 else ''} cross{'es' if cross == 1 else ''} "
            "the field") if cross else ""
    return (f"{FIBROSIS_WORDS[stage]} (stage F{stage} of 4){seen}; collagen occupies "
            f"{fm['collagen_area_percent']:.0f}% of the field.")


def inflammation(fld) -> dict[str, float]:
    """Lymphocytes seen (nuclei in the instance map), by where they lie: in portal stroma,
    at the interface (within 0.4 of a tract's radius outside it), or in the lobule."""
    cv = fld.canvas
    seen = set(np.unique(cv.instances).tolist())
    portal = interface = lobular = 0
    for nuc in cv.nuclei:
        if nuc["class"] != "lymphocyte" or nuc["id"] not in seen:
            continue
        x, y = nuc["x_um"] + cv.x0, nuc["y_um"] + cv.y0
        rel = min(np.hypot(x - tx, y - ty) / tr for tx, ty, tr in fld.lobule.portal)
        if rel < 0.9:
            portal += 1
        elif rel < 1.45:
            interface += 1
        else:
            lobular += 1
    return {"portal_lymphocytes": float(portal), "interface_lymphocytes": float(interface),
            "lobular_lymphocytes": float(lobular)}


def hepatitis_sentence(hm: dict[str, float]) -> str:
    p, i, lo = (int(hm[k]) for k in ("portal_lymphocytes", "interface_lymphocytes",
                                     "lobular_lymphocytes"))
    where = (f"a dense portal lymphocytic infiltrate ({p} lymphocytes in the portal tract "
             f"here) spilling across the limiting plate (interface hepatitis, {i} lymphocytes "
             "among the periportal hepatocytes)") if p + i else (
        "no portal tract in this field")
    return (f"Chronic hepatitis: {where}; {lo} lymphocytes in the lobule, some in small "
            "lobular foci.")


def _areas(labels: np.ndarray, parts: list[int], px: float) -> list[float]:
    comp, n = ndimage.label(np.isin(labels, parts))
    if n == 0:
        return []
    edge = set(np.unique(np.concatenate([comp[0], comp[-1], comp[:, 0], comp[:, -1]])).tolist())
    area = np.bincount(comp.ravel(), minlength=n + 1) * px * px
    return [float(area[k]) for k in range(1, n + 1) if k not in edge and area[k] >= MIN_CELL_UM2]


def trabecular_thickness(labels: np.ndarray, px: float, cell_um: float) -> float:
    """Trabecula width in cells: a band of width W has a mean distance to its edge of W/4,
    so W = 4 x the mean distance of tumour pixels to the nearest sinusoid; over the cell
    size."""
    tumour = np.isin(labels, [LABELS["hcc"], LABELS["hepatocyte_nucleus"],
                              LABELS["cell_border"]])
    if not tumour.any():
        return 0.0
    dist = ndimage.distance_transform_edt(tumour)
    return round(4 * float(dist[tumour].mean()) * px / cell_um, 1)


def extra_findings(fld, px: float, asked: set[str]):
    """(finding, label, modifier, sentence, measurements) for steatohepatitis, cholestasis
    and hepatocellular carcinoma, measured from the rendered labels and nuclei."""
    from imagine_med.engine.phantom.regions.histo_measure import mitoses

    cv = fld.canvas
    lab = cv.labels
    out = []
    area_mm2 = lab.size * px * px / 1e6
    if "steatohepatitis" in asked:
        balloon = _areas(lab, [LABELS["ballooned_hepatocyte"], LABELS["mallory_denk_body"],
                               LABELS["hepatocyte_nucleus"]], px)
        _, nb = ndimage.label(np.isin(lab, [LABELS["ballooned_hepatocyte"],
                                                LABELS["mallory_denk_body"]]))
        normal = _areas(lab, [LABELS["hepatocyte"]], px)
        _, n_md = ndimage.label(lab == LABELS["mallory_denk_body"])
        lym = sum(1 for d in cv.nuclei if d["class"] == "lymphocyte"
                  and d["id"] in set(np.unique(cv.instances).tolist()))
        mm = {"ballooned_hepatocytes": float(nb), "mallory_denk_bodies": float(n_md),
              "ballooned_area_ratio": round(float(np.median(balloon) / np.median(normal)), 2)
              if balloon and normal else 0.0,
              "lobular_inflammatory_foci": float(fld.inflammatory_foci),
              "lobular_lymphocytes": float(lym)}
        s = (f"Steatohepatitis: {nb} ballooned hepatocytes (enlarged about "
             f"{mm['ballooned_area_ratio']:.1f}x a normal hepatocyte, with rarefied, wispy "
             f"cytoplasm), {n_md} with ropey eosinophilic Mallory-Denk bodies; lobular "
             f"inflammation ({fld.inflammatory_foci} foci, {lym} lymphocytes in the field) "
             "with steatosis.")
        out.append(("steatohepatitis", "ballooned_hepatocyte", "ballooning", s, mm))
    if "cholestasis" in asked:
        _, n = ndimage.label(lab == LABELS["bile_plug"])
        mm = {"bile_plugs": float(n), "bile_plugs_per_mm2": round(n / area_mm2, 1)}
        s = (f"Cholestasis: {n} green-brown bile plugs in dilated canaliculi between "
             f"hepatocytes ({mm['bile_plugs_per_mm2']:.0f} per mm2), most around the central "
             "vein (zone 3).")
        out.append(("cholestasis", "bile_plug", "canalicular", s, mm))
    if "hepatocellular_carcinoma" in asked:
        mit = mitoses(cv.nuclei, cv.instances)
        from imagine_med.engine.phantom.regions.liver_tissue.findings import HCC

        thick = trabecular_thickness(lab, px, HCC["cell_spacing"])
        sizes = nucleus_sizes(cv.instances, {d["id"]: d["class"] for d in cv.nuclei}, px,
                              "tumour")
        mm = {"trabecular_thickness_cells": thick, "mitoses_in_field": float(mit),
              "mitoses_per_mm2": round(mit / area_mm2, 1),
              "tumour_nucleus_median_um": round(float(np.median(sizes)), 2)
              if len(sizes) else 0.0}
        s = (f"Hepatocellular carcinoma: thick trabeculae (median {thick:.0f} cells across; "
             "normal plates are one to two) separated by endothelium-lined sinusoids, no "
             "portal tracts; atypical hepatocytes with enlarged nuclei (median "
             f"{mm['tumour_nucleus_median_um']:.1f} um) and nucleoli; {mit} mitoses in the "
             f"field ({mm['mitoses_per_mm2']:.0f} per mm2).")
        out.append(("hepatocellular_carcinoma", "hcc", "trabecular", s, mm))
    return out
