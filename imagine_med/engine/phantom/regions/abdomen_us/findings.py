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
from imagine_med.engine.phantom.regions.abdomen_us import lesions
from imagine_med.engine.phantom.regions.abdomen_us.anatomy import LABELS, AbdomenPlane, Ellipse
from imagine_med.engine.phantom.regions.base import PlacedFinding
from imagine_med.engine.phantom.tissues import TISSUES
from imagine_med.prompt.spec import Finding

ALIASES = {"gallstones": "gallstones", "ascites": "free_fluid", "free_fluid": "free_fluid",
           "steatosis": "steatosis", "hydronephrosis": "hydronephrosis", "cyst": "cyst",
           "cholecystitis": "cholecystitis", "renal_stone": "renal_stone"}
SUPPORTED = ("gallstones", "free_fluid", "steatosis", "hydronephrosis", "cyst", "cholecystitis",
             "renal_stone")
RENAL_REFERENCE = ("kidney_cortex", "kidney_medulla", "renal_sinus", "perirenal_fat",
                   "posterior_muscle")  # what lies beside a renal stone's shadow
GRADE_OF = {"mild": 1, "moderate": 2, "severe": 3}


def grade_from(finding: Finding, prompt: str) -> int:
    m = re.search(r"grade\s*([0-3])", prompt.lower())
    if m:
        return int(m.group(1))
    return GRADE_OF.get(finding.severity or "", 1 if finding.severity is None else 2)


def place(plane: AbdomenPlane, f: Finding, rng: np.random.Generator, prompt: str,
          region: str | None = None) -> PlacedFinding:
    if f.name in lesions.NAMES:
        return lesions.place(plane, f, rng, prompt)
    name = ALIASES.get(f.name)
    if name is None:
        raise EngineError(f"The ultrasound phantom has no model of {f.name.replace('_', ' ')}; "
                          f"it draws: gallstones, sludge, gallbladder polyp, cholecystitis, "
                          f"dilated CBD, free fluid (ascites, Morison's pouch), fatty liver "
                          f"(steatosis), liver haemangioma, liver metastases, hydronephrosis, "
                          f"kidney stone, angiomyolipoma, liver or renal cyst.")
    if name == "gallstones":
        return _stones(plane, f, rng)
    if name == "hydronephrosis":
        return _hydro(plane, f)
    if name == "cyst":
        return _cyst(plane, f, rng, region)
    if name == "cholecystitis":
        return _cholecystitis(plane, f, rng)
    if name == "renal_stone":
        return _renal_stone(plane, f, rng)
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


def _hydro(plane: AbdomenPlane, f: Finding) -> PlacedFinding:
    """Urine distends the pelvis (and, from moderate, the calyces, which balloon into the
    pyramids; severe thins the cortex): grade 1-3 from mild/moderate/severe."""
    grade = GRADE_OF.get(f.severity or "moderate", 2)
    k, sn = plane.kidney, plane.sinus
    ap = {1: 7.0, 2: 13.0, 3: 22.0}[grade]  # renal pelvis AP diameter (mm)
    plane.pelvis.append(Ellipse(sn.cx, sn.cy, sn.a * (0.55 + 0.12 * grade), ap / 2, sn.angle))
    if grade >= 2:
        for p in plane.pyramids:
            px, py = sn.cx + 0.8 * (p.cx - sn.cx), sn.cy + 0.8 * (p.cy - sn.cy)
            r = 1.5 + 1.8 * grade
            # each calyx joined to the pelvis by its infundibulum
            plane.pelvis.append(Ellipse((px + sn.cx) / 2, (py + sn.cy) / 2,
                                        float(np.hypot(px - sn.cx, py - sn.cy)) / 2, 1.2 * grade,
                                        float(np.arctan2(py - sn.cy, px - sn.cx))))
            plane.pelvis.append(Ellipse(px, py, r * 1.2, r, p.angle))
    if grade == 3:
        plane.pyramids = []
    return PlacedFinding("hydronephrosis", "left" if plane.view == "luq" else "right", "kidney",
                         f.modifiers, (k.cx, k.cy, 0.0), {"grade": float(grade),
                                                          "pelvis_ap_mm": ap})


def _cyst(plane: AbdomenPlane, f: Finding, rng: np.random.Generator, region: str | None
          ) -> PlacedFinding:
    """A simple cyst: anechoic, round, thin-walled, with enhancement behind it; in the kidney
    (renal prompts) at a pole, else in the liver away from the gallbladder."""
    d = float(np.clip(f.size_mm or {"mild": 15.0, "moderate": 25.0, "severe": 45.0}.get(
        f.severity or "moderate", 25.0), 5.0, 80.0))
    r = d / 2
    if region == "kidney" or f.location == "kidney" or plane.gallbladder is None:
        k = plane.kidney
        cx, cy = k.point(np.pi * rng.uniform(0.85, 1.15), 0.85)
        organ = "kidney"
    else:
        g = plane.gallbladder
        cy = float(min(g.cy + g.b + r + rng.uniform(6.0, 12.0),
                       plane.kidney.cy - plane.kidney.b - r - 8))
        cy = max(cy, sum(plane.wall) + r + 6.0)
        reach = (plane.radius_mm + cy) * 0.45 - r - 3.0  # inside the 60-degree sector
        cx = float(np.clip(g.cx + g.a * 0.6 + rng.uniform(-5.0, 10.0), -reach, reach))
        organ = "liver"
    plane.cysts.append((organ, Ellipse(float(cx), float(cy), r, r * rng.uniform(0.85, 1.0),
                                       rng.uniform(0, np.pi))))
    return PlacedFinding("cyst", "left" if plane.view == "luq" else "right", organ,
                         f.modifiers, (float(cx), float(cy), 0.0), {"diameter_mm": d})


def _cholecystitis(plane: AbdomenPlane, f: Finding, rng: np.random.Generator
                   ) -> PlacedFinding:
    """Acute (calculous) cholecystitis: the wall thickened (mild 4, moderate 5.5, severe 7 mm),
    a rim of pericholecystic fluid, and a stone unless 'acalculous' or stones are asked."""
    if plane.gallbladder is None:
        raise EngineError("Cholecystitis is drawn on a right upper quadrant view.")
    wall = {"mild": 4.0, "moderate": 5.5, "severe": 7.0}.get(f.severity or "moderate", 5.5)
    plane.gb_wall_mm = float(np.clip(f.size_mm or wall, 3.5, 12.0))
    plane.pericholecystic_mm = 2.5 if (f.severity or "moderate") != "mild" else 1.5
    g = plane.gallbladder
    if not plane.stones and "acalculous" not in f.modifiers:
        _stones(plane, Finding(name="gallstones", size_mm=10.0), rng)
    return PlacedFinding("cholecystitis", "right", "gallbladder", f.modifiers,
                         (g.cx, g.cy, 0.0), {"wall_mm": plane.gb_wall_mm})


def _renal_stone(plane: AbdomenPlane, f: Finding, rng: np.random.Generator) -> PlacedFinding:
    """A calculus in the renal sinus (default 8 mm; 'size_mm' sets it, 3-20 mm): a bright
    echo with a posterior acoustic shadow through the kidney and the tissue behind it."""
    sn = plane.sinus
    d = float(np.clip(f.size_mm or {"mild": 5.0, "moderate": 8.0, "severe": 14.0}.get(
        f.severity or "moderate", 8.0), 3.0, 20.0))
    cx, cy = sn.point(rng.uniform(0, 2 * np.pi), rng.uniform(0.0, 0.4))
    plane.renal_stones.append(Ellipse(cx, cy, d / 2, d / 2 * rng.uniform(0.8, 1.0),
                                      rng.uniform(0, np.pi)))
    return PlacedFinding("renal_stone", "left" if plane.view == "luq" else "right", "kidney",
                         f.modifiers, (cx, cy, 0.0), {"size_mm": d})


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
    if p.name in lesions.NAMES:
        present, m = lesions.measure(p, labels, grey, px, dr)
        ys, xs = np.nonzero(labels == LABELS[lesions.LABEL_OF[p.name]])
        bbox = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1) \
            if len(xs) else None
        return present, m, bbox
    if p.name in ("gallstones", "renal_stone"):
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
            m["shadow_contrast_db"] = round(shadow_contrast(
                labels, grey, px, dr, ("liver",) if p.name == "gallstones" else RENAL_REFERENCE),
                1)
    elif p.name == "free_fluid":
        mask = labels == LABELS["free_fluid"]
        if mask.any():
            dist = ndimage.distance_transform_edt(mask)
            m["depth_mm"] = round(float(dist.max()) * 2 * px, 1)
            m["area_mm2"] = round(float(mask.sum()) * px * px, 0)
    elif p.name == "hydronephrosis":
        mask = labels == LABELS["hydronephrosis"]
        if mask.any():
            pieces, n = ndimage.label(mask)
            sizes = ndimage.sum(mask, pieces, range(1, n + 1))
            big = pieces == (int(np.argmax(sizes)) + 1)
            m["pelvis_ap_mm"] = round(float(ndimage.distance_transform_edt(big).max()) * 2 * px,
                                      1)
            m["grade"] = p.params.get("grade", 0.0)
    elif p.name == "cyst":
        mask = labels == LABELS["cyst"]
        if mask.any():
            ys, xs = np.nonzero(mask)
            m["diameter_mm"] = round(float(max(np.ptp(ys), np.ptp(xs)) + 1) * px, 1)
            inner = ndimage.binary_erosion(mask, iterations=2)
            liver = labels == LABELS["liver"]
            if inner.any() and liver.any():
                m["contrast_db"] = round(_db(grey, inner, dr) - _db(grey, liver, dr), 1)
    elif p.name == "cholecystitis":
        wall = labels == LABELS["gallbladder_wall"]
        if wall.any():
            m["wall_mm"] = round(float(ndimage.distance_transform_edt(wall).max()) * 2 * px, 1)
        m["pericholecystic_fluid"] = float((labels == LABELS["pericholecystic_fluid"]).any())
    elif p.name == "steatosis":
        mask = labels == LABELS["liver"]
        cortex = labels == LABELS["kidney_cortex"]
        if mask.any() and cortex.any():
            m["liver_kidney_db"] = round(_db(grey, mask, dr) - _db(grey, cortex, dr), 1)
        m["grade"] = p.params.get("grade", 0.0)
    lab = {"gallstones": LABELS["stone"], "renal_stone": LABELS["stone"],
           "steatosis": LABELS["liver"],
           "cholecystitis": LABELS["gallbladder_wall"]}.get(p.name, LABELS.get(p.name))
    ys, xs = np.nonzero(labels == lab)
    bbox = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1) if len(xs) \
        else None
    present = bbox is not None and (p.name not in ("gallstones", "renal_stone")
                                    or "count" in m)
    return present, m, bbox


def shadow_contrast(labels: np.ndarray, grey: np.ndarray, px: float, dr: float,
                    beside: tuple[str, ...] = ("liver",)) -> float:
    """dB between the 2 cm below the stones (inside the shadow) and the tissue beside it at
    the same depths (`beside` labels): what a sonographer calls a clean shadow (> 15 dB)."""
    stone = labels == LABELS["stone"]
    shadow = labels == LABELS["shadow"]
    ys, _xs = np.nonzero(stone)
    top = ys.max() + 1
    rows = slice(top, min(labels.shape[0], top + round(20.0 / px)))
    band = np.zeros_like(shadow)
    band[rows] = True
    below = shadow & band
    ref = np.isin(labels, [LABELS[b] for b in beside]) & band
    if not below.any() or not ref.any():
        return float("nan")
    return _db(grey, ref, dr) - _db(grey, below, dr)


def sentence(p: PlacedFinding, present: bool, m: dict[str, float]) -> str:
    if p.name in lesions.NAMES:
        return lesions.sentence(p, present, m)
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
    if p.name == "renal_stone":
        if not present:
            return "The requested renal calculus is not in this plane."
        sh = m.get("shadow_contrast_db", float("nan"))
        shadow = (f"with a posterior acoustic shadow ({sh:.0f} dB below the kidney beside it)"
                  if sh == sh else "without a measurable shadow in this plane")
        return (f"An echogenic calculus in the renal sinus, {m['largest_mm']:.0f} mm, "
                f"{shadow}: nephrolithiasis.")
    if p.name == "hydronephrosis":
        if not present:
            return "The requested hydronephrosis is not in this plane."
        grade = int(m["grade"])
        what = {1: "mild (grade 1): the renal pelvis alone is distended",
                2: "moderate (grade 2): the pelvis and calyces are dilated, cortex preserved",
                3: "severe (grade 3): ballooned calyces with a thinned cortex"}[grade]
        return (f"Hydronephrosis, {what}; renal pelvis {m['pelvis_ap_mm']:.0f} mm "
                "anteroposterior.")
    if p.name == "cyst":
        if not present:
            return "The requested cyst is not in this plane."
        where = "renal" if p.location == "kidney" else "hepatic"
        c = f", {-m['contrast_db']:.0f} dB below the liver" if "contrast_db" in m else ""
        return (f"A simple {where} cyst, {m['diameter_mm']:.0f} mm: anechoic{c}, thin-walled, "
                "with posterior acoustic enhancement.")
    if p.name == "cholecystitis":
        if "wall_mm" not in m:
            return "The gallbladder is not in this plane."
        fluid = " with pericholecystic fluid" if m.get("pericholecystic_fluid") else ""
        return (f"The gallbladder wall is thickened to {m['wall_mm']:.0f} mm (normal < 3 mm)"
                f"{fluid}: acute cholecystitis (a sonographic Murphy's sign is elicited at "
                "the bedside, not seen on a still image).")
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
