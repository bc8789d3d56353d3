"""The panoramic film's answer key, measured from its label map (never from the request):
which teeth show (FDI), on which side of the film, and each finding's size and place."""

from __future__ import annotations

import re

import numpy as np
from scipy import ndimage

from imagine_med.engine.phantom.regions.dental.dentition import tooth_name
from imagine_med.engine.phantom.regions.dental.labels import LABELS, NAMES

_TOOTH = re.compile(r"(tooth|germ)_(\d\d)(?:_(enamel|pulp))?$")


# label id -> FDI number of an erupted tooth (0 for anything else), and -> its part
FDI_OF = np.zeros(256, np.int32)
for _name, _id in LABELS.items():
    _m = _TOOTH.match(_name)
    if _m and _m.group(1) == "tooth":
        FDI_OF[_id] = int(_m.group(2))


class Teeth:
    """Each erupted tooth's pixels (dentine, enamel and pulp labels together) as a bounding
    box and a mask within it: one pass over the label map (find_objects), not one per tooth."""

    def __init__(self, lab: np.ndarray) -> None:
        fdi = FDI_OF[lab]
        self.fdi_map = fdi
        self.boxes: dict[int, tuple[slice, slice]] = {}
        objs = ndimage.find_objects(fdi)
        for f, box in enumerate(objs, start=1):
            if box is not None:
                self.boxes[f] = box

    def __iter__(self):
        return iter(self.boxes)

    def __contains__(self, fdi: int) -> bool:
        return fdi in self.boxes

    def mask(self, fdi: int) -> tuple[tuple[slice, slice], np.ndarray]:
        box = self.boxes[fdi]
        return box, self.fdi_map[box] == fdi

    def centre(self, fdi: int) -> tuple[float, float]:
        box, m = self.mask(fdi)
        ys, xs = np.nonzero(m)
        return float(xs.mean() + box[1].start), float(ys.mean() + box[0].start)


def tooth_masks(lab: np.ndarray) -> dict[int, np.ndarray]:
    """FDI -> full-size mask of every pixel of that erupted tooth."""
    fdi = FDI_OF[lab]
    return {int(f): fdi == f for f in np.unique(fdi) if f}


def germs(lab: np.ndarray) -> list[int]:
    return sorted(int(m.group(2)) for v in np.unique(lab)
                  for m in [_TOOTH.match(NAMES.get(int(v), ""))] if m and m.group(1) == "germ")


def _axis_deg(mask: np.ndarray) -> float:
    """Long-axis angle of a blob from vertical (degrees, 0-90) by its second moments."""
    ys, xs = np.nonzero(mask)
    _w, v = np.linalg.eigh(np.cov(np.vstack([xs - xs.mean(), ys - ys.mean()])))
    vx, vy = v[:, -1]
    return float(np.degrees(np.arctan2(abs(vx), abs(vy))))


def _nearest_tooth(blob: np.ndarray, box: tuple[slice, slice], teeth: Teeth) -> int | None:
    """The tooth with the most pixels in a 3-pixel ring around the blob (found in its box)."""
    pad = 4
    r0, c0 = max(0, box[0].start - pad), max(0, box[1].start - pad)
    r1 = min(teeth.fdi_map.shape[0], box[0].stop + pad)
    c1 = min(teeth.fdi_map.shape[1], box[1].stop + pad)
    local = np.zeros((r1 - r0, c1 - c0), bool)
    local[box[0].start - r0:box[0].stop - r0, box[1].start - c0:box[1].stop - c0] = blob
    ring = ndimage.binary_dilation(local, iterations=3) & ~local
    near = teeth.fdi_map[r0:r1, c0:c1][ring]
    near = near[near > 0]
    if not len(near):
        return None
    vals, counts = np.unique(near, return_counts=True)
    return int(vals[np.argmax(counts)])


def measure(lab: np.ndarray, px: float) -> dict:
    """Everything the key says, from the label map and the nominal pixel size (mm)."""
    teeth = Teeth(lab)
    width = lab.shape[1]
    cols = np.nonzero((lab > 0).any(axis=0))[0]
    mid = (cols.min() + cols.max()) / 2 if len(cols) else width / 2
    sides = {}
    for fdi in teeth:
        x, y = teeth.centre(fdi)
        sides[fdi] = {"x": x, "y": y, "viewer": "left" if x < mid else "right"}
    out: dict = {"teeth": sorted(teeth), "germs": germs(lab), "sides": sides, "findings": {}}
    for name in ("caries", "periapical_lesion", "restoration", "implant", "root_filling"):
        pieces, _n = ndimage.label(lab == LABELS[name])
        rows = []
        for i, box in enumerate(ndimage.find_objects(pieces), start=1):
            if box is None:
                continue
            blob = pieces[box] == i
            area = float(blob.sum()) * px * px
            if area < 0.5:
                continue
            ys, xs = np.nonzero(blob)
            rows.append({"tooth": _nearest_tooth(blob, box, teeth),
                         "diameter_mm": round(2 * np.sqrt(area / np.pi), 2),
                         "height_mm": round((ys.max() - ys.min() + 1) * px, 2),
                         "width_mm": round((xs.max() - xs.min() + 1) * px, 2),
                         "x": float(xs.mean() + box[1].start),
                         "y": float(ys.mean() + box[0].start)})
        out["findings"][name] = rows
    out["findings"]["impacted"] = _impactions(teeth, sides)
    out["crest_mm"] = _crest_to_cej(lab, teeth, px)
    out["fracture"] = _fracture(lab, px)
    return out


def winter(angle: float) -> str:
    """Winter's classification of a third molar's angle to the second molar's long axis."""
    if angle < 10:
        return "vertical"
    if angle < 80:
        return "mesioangular"
    return "horizontal"


def _impactions(teeth: Teeth, sides: dict) -> list[dict]:
    rows = []
    for third, second in ((38, 37), (48, 47), (18, 17), (28, 27)):
        if third in teeth and second in teeth:
            ang = abs(_axis_deg(teeth.mask(third)[1]) - _axis_deg(teeth.mask(second)[1]))
            # below the second molar's crown (lower jaw) or above it (upper): held in bone
            drop = (sides[third]["y"] - sides[second]["y"]) * (1 if third > 30 else -1)
            if ang >= 10 or drop > 20:
                rows.append({"tooth": third, "angle_deg": round(ang, 1),
                             "winter": winter(ang)})
    return rows


def _crest_to_cej(lab: np.ndarray, teeth: Teeth, px: float) -> float | None:
    """Mean distance (mm) from the CEJ (lowest enamel row) to the alveolar crest (top of the
    mandible label beside the tooth) over the erupted lower permanent teeth 31-37, 41-47."""
    bone = (lab == LABELS["mandible"]) | (lab == LABELS["mandibular_canal"])
    d = []
    for fdi in teeth:
        if fdi // 10 not in (3, 4) or fdi % 10 == 8:
            continue
        box, m = teeth.mask(fdi)
        enamel = lab[box] == LABELS[f"tooth_{fdi}_enamel"]
        if not enamel.any():
            continue
        xs = np.nonzero(m)[1] + box[1].start
        cej = np.nonzero(enamel)[0].max() + box[0].start
        for x in (xs.min() - 2, xs.max() + 2):
            if not 0 <= x < lab.shape[1]:
                continue
            col = np.nonzero(bone[:, x])[0]
            col = col[col > cej - 4]
            if len(col):
                d.append((col.min() - cej) * px)
    return round(float(np.median(d)), 2) if d else None


def _fracture(lab: np.ndarray, px: float) -> dict | None:
    gap = lab == LABELS["fracture_line"]
    if not gap.any():
        return None
    ys, xs = np.nonzero(gap)
    x0 = round(xs[ys > ys.max() - 3 / px].mean())  # where it meets the lower border
    bone = lab > 0
    bone &= ~np.isin(lab, [LABELS[n] for n in ("ghost_spine", "ghost_ramus", "hyoid")])
    lows = []
    for dx in (-1, 1):
        vals = []
        for k in range(int(3 / px), int(8 / px)):
            x = x0 + dx * k
            col = np.nonzero(bone[:, x] & (np.arange(lab.shape[0]) > ys.mean()))[0]
            if len(col):
                vals.append(col.max())
        lows.append(np.median(vals) if vals else np.nan)
    step = abs(lows[1] - lows[0]) * px
    return {"step_mm": round(float(step), 2), "x": float(xs.mean()),
            "length_mm": round((ys.max() - ys.min() + 1) * px, 1)}


def sentences(m: dict, body, magnification: float) -> str:
    """The key in words, from the measurements."""
    t = m["teeth"]
    primary = [f for f in t if f >= 50]
    perm = [f for f in t if f < 50]
    parts = [f"Panoramic radiograph (orthopantomogram), synthetic, age {body.age:g}: "
             f"{len(t)} erupted teeth ({len(perm)} permanent, {len(primary)} primary)"]
    if m["germs"]:
        parts[-1] += f", {len(m['germs'])} developing permanent teeth in their crypts"
    parts[-1] += "."
    missing = [f for f in (q * 10 + p for q in (1, 2, 3, 4) for p in range(1, 9))
               if f not in t and f not in m["germs"]]
    if perm and not primary and missing:
        parts.append("Not seen: " + ", ".join(str(f) for f in missing) + ".")
    for row in m["findings"]["caries"]:
        parts.append(f"Caries in {row['tooth']} ({tooth_name(row['tooth'])}), "
                     f"{row['diameter_mm']:.1f} mm.")
    for row in m["findings"]["periapical_lesion"]:
        parts.append(f"Periapical radiolucency at the apex of {row['tooth']} "
                     f"({tooth_name(row['tooth'])}), {row['diameter_mm']:.1f} mm across.")
    for row in m["findings"]["restoration"]:
        parts.append(f"Restoration in {row['tooth']} ({tooth_name(row['tooth'])}).")
    for row in m["findings"]["root_filling"]:
        parts.append(f"Root filling in {row['tooth']}.")
    for row in m["findings"]["implant"]:
        parts.append(f"Titanium implant, {row['height_mm']:.1f} mm long, with a crown.")
    for row in m["findings"]["impacted"]:
        parts.append(f"Impacted {row['tooth']} ({tooth_name(row['tooth'])}): "
                     f"{row['winter']} (Winter), {row['angle_deg']:.0f} degrees to the "
                     f"second molar.")
    if m["crest_mm"] is not None and m["crest_mm"] > 3.0:
        parts.append(f"Horizontal alveolar bone loss: crest {m['crest_mm']:.1f} mm below the "
                     "cementoenamel junctions (normal <= 2 mm).")
    if m["fracture"] is not None:
        parts.append(f"Mandibular fracture line with a {m['fracture']['step_mm']:.1f} mm step "
                     "at the lower border.")
    parts.append(f"Sizes are at the focal layer (film magnification {magnification:.2f}); "
                 "the patient's right is on the viewer's left.")
    return " ".join(parts)


def intraoral_sentences(m: dict, body, view: str) -> str:
    """The key of a bitewing or periapical film, from its label map's measurements."""
    t = m["teeth"]
    name = "Bitewing" if view == "bitewing" else "Periapical"
    parts = [f"{name} radiograph, synthetic, age {body.age:g}: teeth "
             + ", ".join(str(f) for f in t) + "."]
    for row in m["findings"]["caries"]:
        if row["tooth"]:
            parts.append(f"Caries in {row['tooth']} ({tooth_name(row['tooth'])}), "
                         f"{row['diameter_mm']:.1f} mm.")
    for row in m["findings"]["restoration"]:
        if row["tooth"]:
            parts.append(f"Restoration in {row['tooth']}.")
    for row in m["findings"]["periapical_lesion"]:
        if row["tooth"]:
            parts.append(f"Periapical radiolucency at {row['tooth']}, "
                         f"{row['diameter_mm']:.1f} mm.")
    if m["crest_mm"] is not None and m["crest_mm"] > 3.0:
        parts.append(f"Alveolar crest {m['crest_mm']:.1f} mm below the cementoenamel "
                     "junctions.")
    parts.append("Mounted as if facing the patient: the patient's right on the viewer's left.")
    return " ".join(parts)
