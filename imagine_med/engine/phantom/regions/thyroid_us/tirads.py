"""ACR TI-RADS read off a rendered thyroid frame: every feature measured from the label map
and the displayed grey levels, then points and the TR level (Tessler et al., JACR 2017).

- composition: the share of the nodule that is cystic (label `cystic_component`): >= 75%
  cystic (a thin wall is all that is solid at this resolution) 0, spongiform (>= 8 small
  cystic spaces over >= 25% of it: their septa take the rest) 0, mixed 1, solid (< 10%) 2;
- echogenicity of the solid part (off cyst walls, foci and their shadows) against the gland
  at the same depths and the strap muscle (mean dB): anechoic
  0, hyper- or isoechoic (above gland - 2 dB) 1, hypoechoic 2, very hypoechoic (below the
  strap muscle) 3;
- shape: taller than wide (vertical extent > horizontal on this transverse view) 3;
- margin: lobulated or irregular (solidity, area over convex hull, < 0.93) 2; extrathyroidal
  extension (the nodule touches the strap muscle) 3; else smooth 0;
- echogenic foci (label `echogenic_focus`): punctate (pieces < 1 mm, no shadow) 3; peripheral
  (pieces on the nodule's rim over >= 1/4 of it) 2; macrocalcification (>= 1 mm) 1; none 0.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from scipy.spatial import ConvexHull

from imagine_med.engine.phantom.regions.thyroid_us.anatomy import LABELS

POINTS = {
    "composition": {"cystic": 0, "spongiform": 0, "mixed": 1, "solid": 2},
    "echogenicity": {"anechoic": 0, "hyperechoic": 1, "isoechoic": 1, "hypoechoic": 2,
                     "very_hypoechoic": 3},
    "shape": {"wider": 0, "taller": 3},
    "margin": {"smooth": 0, "lobulated": 2, "extrathyroidal": 3},
    "foci": {"none": 0, "macro": 1, "peripheral": 2, "punctate": 3},
}
ISO_DB = 2.0  # within this of the gland: iso- (or hyper-) echoic
LOBULATED_SOLIDITY = 0.93


def tr_level(points: int) -> int:
    return 1 if points == 0 else 2 if points <= 2 else 3 if points == 3 else \
        4 if points <= 6 else 5


def _db(grey: np.ndarray, mask: np.ndarray, dr: float) -> float:
    return float(grey[mask].mean()) * dr / 255.0


def read_nodule(labels: np.ndarray, grey: np.ndarray, px: float, dr: float,
                nodule: np.ndarray) -> dict:
    """Features, points and sizes of one nodule (`nodule`: its pixels, all its labels)."""
    cyst = nodule & (labels == LABELS["cystic_component"])
    foci = nodule & (labels == LABELS["echogenic_focus"])
    solid = nodule & (labels == LABELS["nodule"])
    area = nodule.sum()
    share = cyst.sum() / area
    _, n_cysts = ndimage.label(cyst)
    if share >= 0.75:  # "cystic or almost completely cystic" (a thin wall is all that is solid)
        comp = "cystic"
    elif n_cysts >= 8 and share >= 0.25:
        comp = "spongiform"
    elif share >= 0.1:
        comp = "mixed"
    else:
        comp = "solid"
    thyroid = ndimage.binary_erosion(labels == LABELS["thyroid"], iterations=2)
    # the strap muscle's own echo, off its bright fascial borders
    muscle = ndimage.binary_erosion(labels == LABELS["strap_muscle"],
                                    iterations=max(1, round(0.6 / px)))
    # the solid part away from cyst walls and foci (their partial volume is not its echo)
    # and out of the shadow a calcification casts below it
    # (and the enhancement a cyst lends what lies below it)
    shadowed = np.maximum.accumulate(ndimage.binary_dilation(foci | cyst, iterations=2), axis=0)
    core = solid & ~shadowed & ~ndimage.binary_dilation(cyst | foci,
                                                        iterations=max(1, round(0.6 / px)))
    core = ndimage.binary_erosion(core, iterations=1)
    core = core if core.sum() > 10 else solid
    # against the gland at the same depths (the TGC never matches the gland's attenuation)
    rows = np.zeros_like(thyroid)
    rows[np.unique(np.nonzero(core)[0])] = True
    ref = thyroid & rows if (thyroid & rows).sum() > 20 else thyroid
    rel = _db(grey, core, dr) - _db(grey, ref, dr) if core.any() and ref.any() else 0.0
    if comp == "cystic":
        echo = "anechoic"
    elif rel >= ISO_DB:
        echo = "hyperechoic"
    elif rel >= -ISO_DB:
        echo = "isoechoic"
    elif muscle.any() and _db(grey, core, dr) < _db(grey, muscle, dr):
        echo = "very_hypoechoic"
    else:
        echo = "hypoechoic"
    ys, xs = np.nonzero(nodule)
    tall, wide = (np.ptp(ys) + 1) * px, (np.ptp(xs) + 1) * px
    shape = "taller" if tall > wide else "wider"
    # extension: the nodule lies within the strap muscle layer (muscle beside it, left or
    # right), not just under it
    beside = ndimage.binary_dilation(nodule, np.ones((1, 3), bool), iterations=2) & ~nodule
    touches = beside & (labels == LABELS["strap_muscle"])
    filled = ndimage.binary_fill_holes(nodule)
    fy, fx = np.nonzero(filled)
    pts = np.column_stack([fx, fy]).astype(float)
    solidity = float(filled.sum() / max(ConvexHull(pts).volume, 1.0)) if len(pts) > 4 else 1.0
    margin = "extrathyroidal" if touches.sum() * px * px >= 0.5 else \
        "lobulated" if solidity < LOBULATED_SOLIDITY else "smooth"
    fpieces, n_foci = ndimage.label(foci)
    sizes = [max(s[0].stop - s[0].start, s[1].stop - s[1].start) * px
             for s in ndimage.find_objects(fpieces)]
    rim = filled & ~ndimage.binary_erosion(filled, iterations=max(1, round(1.2 / px)))
    on_rim = [bool((fpieces[sl] == i + 1)[rim[sl]].any())
              for i, sl in enumerate(ndimage.find_objects(fpieces))]
    if not n_foci:
        foci_kind = "none"
    elif max(sizes) < 1.0:
        foci_kind = "punctate"
    elif sum(on_rim) >= 4:
        foci_kind = "peripheral"
    else:
        foci_kind = "macro"
    feats = {"composition": comp, "echogenicity": echo, "shape": shape, "margin": margin,
             "foci": foci_kind}
    # ACR: a spongiform nodule scores 0 and is not scored further
    points = 0 if comp == "spongiform" else sum(POINTS[k][v] for k, v in feats.items())
    return {"features": feats, "points": points, "tr": tr_level(points),
            "size_mm": round(float(max(tall, wide)), 1), "ap_mm": round(float(tall), 1),
            "transverse_mm": round(float(wide), 1), "cystic_percent": round(100 * share, 1),
            "echo_vs_gland_db": round(rel, 1), "solidity": round(solidity, 3),
            "foci": int(n_foci)}


WORDS = {
    "cystic": "cystic", "spongiform": "spongiform", "mixed": "mixed cystic and solid",
    "solid": "solid", "anechoic": "anechoic", "hyperechoic": "hyperechoic",
    "isoechoic": "isoechoic", "hypoechoic": "hypoechoic",
    "very_hypoechoic": "very hypoechoic (darker than the strap muscles)",
    "wider": "wider than tall", "taller": "taller than wide", "smooth": "smooth margin",
    "lobulated": "lobulated margin", "extrathyroidal": "extrathyroidal extension",
    "none": "no echogenic foci", "macro": "a macrocalcification",
    "peripheral": "peripheral (rim) calcification", "punctate": "punctate echogenic foci",
}
ADVICE = {1: "benign: no FNA", 2: "not suspicious: no FNA",
          3: "mildly suspicious: FNA if >= 25 mm, follow-up if >= 15 mm",
          4: "moderately suspicious: FNA if >= 15 mm, follow-up if >= 10 mm",
          5: "highly suspicious: FNA if >= 10 mm, follow-up if >= 5 mm"}


def sentence(lobe: str, m: dict) -> str:
    f = m["features"]
    parts = [WORDS[f[k]] for k in ("composition", "echogenicity", "shape", "margin", "foci")]
    return (f"A {m['size_mm']:.0f} mm nodule in the {lobe} lobe ({m['transverse_mm']:.0f} x "
            f"{m['ap_mm']:.0f} mm, transverse x AP): " + ", ".join(parts)
            + f". ACR TI-RADS {m['points']} points: TR{m['tr']} ({ADVICE[m['tr']]}).")
