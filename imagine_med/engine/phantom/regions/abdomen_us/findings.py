"""Abdominal ultrasound findings: each one's shape or tissue change, and its key sentence.

- gallstones: round stones lying on the dependent (deep) wall of the gallbladder, toward the
  neck; each a calcified mixed stone (tissues: gallstone), so the beam behind it is lost to
  reflection and attenuation: a clean posterior acoustic shadow. `size_mm` sets the largest
  stone (default 12 mm for one, 8 mm for several), severity the number (mild 1, moderate 3,
  severe 6).
- free_fluid: anechoic fluid in the hepatorenal space (Morison's pouch) or, on a left view, the
  splenorenal space; depth by severity (mild 4 mm, moderate 9 mm, severe 16 mm) or `size_mm`.
- steatosis: fatty liver, grade 1-3 (mild/moderate/severe, or "grade N" in the prompt): the
  liver scatters about 4 dB more a grade and attenuates more (tissues.py `liver_fatty_N`).
Sentences are written from measurements of the rendered frame (`measure`), never from the
request alone.
"""

from __future__ import annotations

import re

import numpy as np
from scipy import ndimage

from imagine_med.engine.base import EngineError
from imagine_med.engine.phantom.regions.abdomen_us.anatomy import LABELS, AbdomenPlane, Ellipse
from imagine_med.engine.phantom.regions.base import PlacedFinding
from imagine_med.engine.phantom.tissues import TISSUES
from imagine_med.prompt.spec import Finding

ALIASES = {"gallstones": "gallstones", "ascites": "free_fluid", "free_fluid": "free_fluid",
           "steatosis": "steatosis"}
SUPPORTED = ("gallstones", "free_fluid", "steatosis")
GRADE_OF = {"mild": 1, "moderate": 2, "severe": 3}


def grade_from(finding: Finding, prompt: str) -> int:
    m = re.search(r"grade\s*([0-3])", prompt.lower())
    if m:
        return int(m.group(1))
    return GRADE_OF.get(finding.severity or "", 1 if finding.severity is None else 2)


def place(plane: AbdomenPlane, f: Finding, rng: np.random.Generator, prompt: str
          ) -> PlacedFinding:
    name = ALIASES.get(f.name)
    if name is None:
        raise EngineError(f"The ultrasound phantom has no model of {f.name.replace('_', ' ')}; "
                          f"it draws: gallstones, free fluid (ascites, Morison's pouch), "
                          f"fatty liver (steatosis).")
    if name == "gallstones":
        return _stones(plane, f, rng)
    if name == "free_fluid":
        depth = f.size_mm or {"mild": 4.0, "moderate": 9.0, "severe": 16.0}.get(
            f.severity or "moderate", 9.0)
        plane.fluid_mm = float(np.clip(depth, 2.0, 30.0))
        k = plane.kidney
        return PlacedFinding("free_fluid", "left" if plane.view == "luq" else "right",
                             "splenorenal" if plane.view == "luq" else "morison_pouch",
                             f.modifiers, (k.cx, k.cy - k.b, 0.0), {"depth_mm": plane.fluid_mm})
    if plane.organ != "liver":
        raise EngineError("Fatty liver is drawn on a right upper quadrant view; this view "
                          "shows the spleen.")
    grade = grade_from(f, prompt)
    if grade > 0:
        plane.organ_tissue = TISSUES[f"liver_fatty_{grade}"]
    plane.fatty_grade = grade
    return PlacedFinding("steatosis", "right", "liver", f.modifiers, (0.0, 60.0, 0.0),
                         {"grade": float(grade)})


def _stones(plane: AbdomenPlane, f: Finding, rng: np.random.Generator) -> PlacedFinding:
    g = plane.gallbladder
    if g is None:
        raise EngineError("Gallstones are drawn on a right upper quadrant view; this view has "
                          "no gallbladder.")
    n = {"mild": 1, "moderate": 3, "severe": 6}.get(f.severity or "", 1)
    if "multiple" in f.modifiers and n == 1:
        n = 3
    largest = float(np.clip(f.size_mm or (12.0 if n == 1 else 8.0), 3.0, 2 * g.b - 2.0))
    sizes = [largest] + [largest * rng.uniform(0.55, 0.95) for _ in range(n - 1)]
    # the deepest point of the lumen, then along the deep wall toward the neck (image left)
    t = np.linspace(0, 2 * np.pi, 720, endpoint=False)
    pts = np.array([g.point(float(tt)) for tt in t])
    deep = int(np.argmax(pts[:, 1]))
    x = pts[deep, 0] + largest * 0.3
    for d in sizes:
        r = d / 2
        ys = np.linspace(g.cy - g.b * 2, g.cy + g.b * 2, 400)
        inside = g.q(np.full_like(ys, x), ys) < 1.0 - 0.4 / g.b
        if not inside.any():
            break
        y = float(ys[inside].max()) - r - 0.4
        plane.stones.append(Ellipse(float(x), y, r, r * rng.uniform(0.85, 1.0),
                                    rng.uniform(0, np.pi)))
        x -= d * rng.uniform(0.85, 1.0)
    s0 = plane.stones[0]
    return PlacedFinding("gallstones", "right", "gallbladder", f.modifiers, (s0.cx, s0.cy, 0.0),
                         {"count": float(len(plane.stones)), "largest_mm": largest})


# --- measured from the output -------------------------------------------------------------

def _db(grey: np.ndarray, mask: np.ndarray, dr: float) -> float:
    return float(grey[mask].mean()) * dr / 255.0 if mask.any() else float("nan")


def measure(p: PlacedFinding, labels: np.ndarray, grey: np.ndarray, px: float, dr: float
            ) -> tuple[bool, dict[str, float], tuple[int, int, int, int] | None]:
    """(present, measurements, bbox) from the label map and the displayed grey levels."""
    m: dict[str, float] = {}
    if p.name == "gallstones":
        mask = labels == LABELS["stone"]
        # the stone label can be cut by a near-field shadow of another stone: count pieces
        pieces, n = ndimage.label(mask)
        if n:
            sizes = []
            for sl in ndimage.find_objects(pieces):
                h, w = sl[0].stop - sl[0].start, sl[1].stop - sl[1].start
                sizes.append(max(h, w) * px)
            m["count"] = float(n)
            m["largest_mm"] = round(max(sizes), 1)
        shadow = labels == LABELS["shadow"]
        if shadow.any():
            m["shadow_depth_mm"] = round(float(np.ptp(np.nonzero(shadow)[0]) + 1) * px, 1)
            m["shadow_contrast_db"] = round(shadow_contrast(labels, grey, px, dr), 1)
    elif p.name == "free_fluid":
        mask = labels == LABELS["free_fluid"]
        if mask.any():
            dist = ndimage.distance_transform_edt(mask)
            m["depth_mm"] = round(float(dist.max()) * 2 * px, 1)
            m["area_mm2"] = round(float(mask.sum()) * px * px, 0)
    elif p.name == "steatosis":
        mask = labels == LABELS["liver"]
        cortex = labels == LABELS["kidney_cortex"]
        if mask.any() and cortex.any():
            m["liver_kidney_db"] = round(_db(grey, mask, dr) - _db(grey, cortex, dr), 1)
        m["grade"] = p.params.get("grade", 0.0)
    lab = LABELS["stone"] if p.name == "gallstones" else LABELS.get(
        p.name if p.name != "steatosis" else "liver")
    ys, xs = np.nonzero(labels == lab)
    bbox = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1) if len(xs) \
        else None
    present = bbox is not None and (p.name != "gallstones" or "count" in m)
    return present, m, bbox


def shadow_contrast(labels: np.ndarray, grey: np.ndarray, px: float, dr: float) -> float:
    """dB between the 2 cm below the stones (inside the shadow) and the liver beside it at the
    same depths: what a sonographer calls a clean shadow (> 15 dB)."""
    stone = labels == LABELS["stone"]
    shadow = labels == LABELS["shadow"]
    ys, _xs = np.nonzero(stone)
    top = ys.max() + 1
    rows = slice(top, min(labels.shape[0], top + round(20.0 / px)))
    band = np.zeros_like(shadow)
    band[rows] = True
    below = shadow & band
    ref = (labels == LABELS["liver"]) & band
    if not below.any() or not ref.any():
        return float("nan")
    return _db(grey, ref, dr) - _db(grey, below, dr)


def sentence(p: PlacedFinding, present: bool, m: dict[str, float]) -> str:
    if p.name == "gallstones":
        if not present:
            return "The requested gallstones are not in this plane."
        n = int(m["count"])
        what = "A mobile echogenic calculus" if n == 1 else f"{n} mobile echogenic calculi"
        txt = (f"{what} in the dependent gallbladder, the largest {m['largest_mm']:.0f} mm, ")
        if "shadow_contrast_db" in m and m["shadow_contrast_db"] == m["shadow_contrast_db"]:
            txt += (f"with a clean posterior acoustic shadow ({m['shadow_contrast_db']:.0f} dB "
                    f"below the adjacent liver). ")
        else:
            txt += "without a measurable shadow in this plane. "
        return txt + ("The gallbladder wall is thin; no pericholecystic fluid (cholelithiasis "
                      "without sonographic signs of cholecystitis; stones move when the "
                      "patient turns).")
    if p.name == "free_fluid":
        space = "splenorenal space" if p.location == "splenorenal" else \
            "hepatorenal space (Morison's pouch)"
        if not present:
            return f"No free fluid is seen in the {space} in this plane."
        return (f"Anechoic free fluid in the {space}, {m['depth_mm']:.0f} mm deep: a positive "
                f"FAST view.")
    grade = int(m.get("grade", 0))
    rel = m.get("liver_kidney_db")
    cmp = f" ({rel:+.0f} dB against the renal cortex)" if rel is not None else ""
    if grade == 0:
        return f"Normal liver echogenicity{cmp}."
    extra = {1: "portal vein walls and diaphragm still well seen",
             2: "portal vein walls blurred, diaphragm still seen",
             3: "deep liver and diaphragm poorly seen (posterior attenuation)"}[grade]
    return (f"Diffusely increased liver echogenicity{cmp}, {extra}: fatty liver, grade "
            f"{grade}.")
