"""The abdominal film's answer key, measured from its label map: bowel calibres, air-fluid
levels (count, width, tilt), the volvulus loop, free gas, calculi and foreign bodies."""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from skimage.morphology import skeletonize

from imagine_med.engine.phantom.regions.abdomen_xr.labels import BOWEL, COLON, LABELS, NAMES

GAS_IDS = [LABELS[n] for n in BOWEL if n != "bowel_fluid"]
SB_LIMIT, COLON_LIMIT, CAECUM_LIMIT = 30.0, 60.0, 90.0  # the 3-6-9 rule, mm


def _lumen(lab: np.ndarray, names: tuple[str, ...], fluid_pieces: np.ndarray | None
           ) -> np.ndarray:
    """Segments' gas pixels and the fluid pieces that touch them (erect films)."""
    gas = np.isin(lab, [LABELS[n] for n in names])
    if fluid_pieces is None or not gas.any():
        return gas
    touch = np.unique(fluid_pieces[ndimage.binary_dilation(gas, iterations=2)])
    return gas | np.isin(fluid_pieces, touch[touch > 0])


class Calibre:
    """A lumen's calibre as a radiologist reads it, across the loop: twice the distance to the
    wall along the lumen's centre line (its skeleton), the 75th percentile over the part of the
    centre line inside a segment (bends and blind ends do not inflate it). One distance
    transform and one skeleton per lumen, shared by its segments."""

    def __init__(self, mask: np.ndarray, px: float) -> None:
        # at half resolution: loops of interest are >= 10 pixels across
        self.step = 2 if px < 1.0 else 1
        mask = mask[::self.step, ::self.step]
        self.mask, self.px = mask, px * self.step
        self.edt = ndimage.distance_transform_edt(mask) if mask.any() else None
        self.skel = skeletonize(mask) if mask.any() else None

    def of(self, where: np.ndarray) -> float:
        where = where[::self.step, ::self.step]
        if self.edt is None or not (self.mask & where).any():
            return 0.0
        skel = self.skel & where
        vals = self.edt[skel] if skel.any() else self.edt[self.mask & where]
        return float(2 * np.percentile(vals, 75.0) * self.px)


def levels(lab: np.ndarray, px: float, min_mm: float = 10.0) -> list[dict]:
    """Air-fluid levels: the top edges of fluid pieces with bowel gas right above them."""
    fluid = lab == LABELS["bowel_fluid"]
    gas = np.isin(lab, GAS_IDS)
    above = np.zeros_like(gas)
    above[1:] = gas[:-1]
    edge = fluid & above
    pieces, _n = ndimage.label(edge, np.ones((3, 3), bool))
    out = []
    for i, box in enumerate(ndimage.find_objects(pieces), start=1):
        if box is None:
            continue
        ys, xs = np.nonzero(pieces[box] == i)
        width = (xs.max() - xs.min() + 1) * px
        if width < min_mm:
            continue
        r, c = ys[0] + box[0].start, xs[0] + box[1].start
        out.append({"row": float(ys.mean() + box[0].start), "width_mm": round(width, 1),
                    "loop": NAMES.get(int(lab[r - 1, c]), ""),
                    "tilt_mm": round((ys.max() - ys.min()) * px, 2),
                    "x": float(xs.mean() + box[1].start)})
    return out


def measure(lab: np.ndarray, px: float) -> dict:
    cols = np.nonzero((lab > 0).any(axis=0))[0]
    mid = (cols.min() + cols.max()) / 2 if len(cols) else lab.shape[1] / 2
    m: dict = {"diameter_mm": {}, "levels": levels(lab, px), "mid": mid}
    # calibres: the largest circle inside the lumen whose centre lies in the segment (colon
    # segments share one lumen, so a short caecum is measured against the whole colon's wall)
    fluid = lab == LABELS["bowel_fluid"]
    pieces = ndimage.label(fluid)[0] if fluid.any() else None
    colon = Calibre(_lumen(lab, COLON, pieces), px)
    for name in ("small_bowel", "stomach"):
        lumen = _lumen(lab, (name,), pieces)
        m["diameter_mm"][name] = round(Calibre(lumen, px).of(lumen), 1)
    for name in COLON:
        m["diameter_mm"][name] = round(colon.of(lab == LABELS[name]), 1)
    sig = lab == LABELS["sigmoid_colon"]
    if sig.any():
        ys, xs = np.nonzero(sig)
        top = ys.argmin()
        m["sigmoid_apex"] = {"x": float(xs[top]), "row": float(ys[top]),
                             "patient_side": "right" if xs[top] < mid else "left"}
    m["free_air_cm2"] = round(float((lab == LABELS["free_air"]).sum()) * px * px / 100, 1)
    for name in ("renal_stone", "ureteric_stone", "gallstone", "foreign_body"):
        pieces, _n = ndimage.label(lab == LABELS[name])
        rows = []
        for i, box in enumerate(ndimage.find_objects(pieces), start=1):
            ys, xs = np.nonzero(pieces[box] == i)
            rows.append({"size_mm": round(max(np.ptp(ys) + 1, np.ptp(xs) + 1) * px, 1),
                         "side": "right" if xs.mean() + box[1].start < mid else "left",
                         "x": float(xs.mean() + box[1].start),
                         "row": float(ys.mean() + box[0].start)})
        m[name] = rows
    return m


def sentences(m: dict, ab, magnification: float) -> str:
    d = m["diameter_mm"]
    view = "erect" if ab.erect else "supine"
    parts = [f"Abdominal radiograph, {view} AP, synthetic, age {ab.age:g}."]
    colon = max(d[s] for s in COLON if s != "caecum")
    if d["small_bowel"] > SB_LIMIT:
        parts.append(f"Dilated small bowel, {d['small_bowel'] / 10:.1f} cm (> 3 cm), central, "
                     "with valvulae conniventes crossing the lumen.")
    if d["sigmoid_colon"] > 60:
        apex = m.get("sigmoid_apex", {})
        parts.append(f"A grossly dilated inverted-U sigmoid loop ({d['sigmoid_colon'] / 10:.1f} "
                     f"cm) rising from the pelvis to the {apex.get('patient_side', 'right')} "
                     "upper abdomen, its apposed walls a dense central line (coffee bean): "
                     "sigmoid volvulus.")
    elif colon > COLON_LIMIT or d["caecum"] > CAECUM_LIMIT:
        parts.append(f"Dilated colon, {colon / 10:.1f} cm (> 6 cm), caecum "
                     f"{d['caecum'] / 10:.1f} cm, with haustra; collapsed beyond the "
                     "obstruction.")
    if m["levels"]:
        sb = [lv for lv in m["levels"] if lv["loop"] == "small_bowel"]
        parts.append(f"{len(m['levels'])} air-fluid levels ({len(sb)} in small bowel; widest "
                     f"{max(lv['width_mm'] for lv in m['levels']) / 10:.1f} cm), each "
                     "horizontal.")
    if m["free_air_cm2"] > 2:
        parts.append("Free intraperitoneal gas: " + (
            "crescents under the hemidiaphragms." if ab.erect else
            "a large central lucency with both sides of the bowel wall outlined "
            "(Rigler's sign)."))
    for name, say in (("renal_stone", "renal calculus"), ("ureteric_stone", "ureteric calculus"),
                      ("gallstone", "gallstone"), ("foreign_body", "metallic foreign body")):
        rows = m[name]
        if rows:
            sizes = ", ".join(f"{r['size_mm']:.0f} mm" for r in rows)
            parts.append(f"{len(rows)} {say}{'s' if len(rows) > 1 else ''} "
                         f"({rows[0]['side']}): {sizes}.")
    if len(parts) == 1:
        parts.append("Normal bowel gas pattern.")
    parts.append(f"Sizes at the patient (film magnification {magnification:.2f}); the "
                 "patient's right is on the viewer's left.")
    return " ".join(parts)
