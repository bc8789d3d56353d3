"""More abdominal ultrasound findings (issue 16): gallbladder sludge and polyps, a dilated
common bile duct, liver haemangioma and metastases, renal angiomyolipoma.

Each has a builder (changes the plane), a measurement read from the rendered frame (label map
and displayed grey levels) and a sonographer's sentence written from that measurement.

- sludge: low-level echoes layering in the dependent gallbladder under a level that is
  horizontal (gravity acts along the beam's depth axis with the patient supine); severity
  sets how much of the lumen's depth it fills (mild 25%, moderate 40%, severe 60%).
- gallbladder_polyp: a round echogenic projection from the non-dependent (anterior) wall,
  non-shadowing and non-mobile (default 6 mm; `size_mm` 2-20 mm). A polyp of 10 mm or more
  is the usual threshold for surgical review (cholecystectomy).
- cbd_dilatation: the common bile duct in its long axis, anterior to the portal vein at the
  porta hepatis; calibre from `size_mm` (default 10 mm; normal <= 6 mm).
- haemangioma: a well-defined homogeneous hyperechoic liver lesion (15/25/45 mm or
  `size_mm`), low attenuation (mild posterior enhancement).
- metastases: several liver lesions (mild 2, moderate 4, severe 7, "N metastases" in the
  prompt, 1 for "solitary"/"metastasis"), target lesions (echogenic centre, hypoechoic halo) by
  default, hypoechoic ones for "hypoechoic"; `size_mm` sets the largest (default 20 mm).
- angiomyolipoma: a very echogenic cortical renal lesion (fat), as bright as the renal sinus
  or brighter, attenuating (8/15/30 mm or `size_mm`).
"""

from __future__ import annotations

import math
import re

import numpy as np
from scipy import ndimage

from imagine_med.engine.base import EngineError
from imagine_med.engine.phantom.regions.abdomen_us.anatomy import (
    LABELS,
    AbdomenPlane,
    Duct,
    Ellipse,
)
from imagine_med.engine.phantom.regions.base import PlacedFinding
from imagine_med.prompt.spec import Finding

NAMES = (
    "sludge",
    "gallbladder_polyp",
    "cbd_dilatation",
    "haemangioma",
    "metastases",
    "angiomyolipoma",
)
LABEL_OF = {
    "sludge": "sludge",
    "gallbladder_polyp": "polyp",
    "cbd_dilatation": "cbd",
    "haemangioma": "haemangioma",
    "metastases": "metastasis",
    "angiomyolipoma": "angiomyolipoma",
}
CBD_NORMAL_MM = 6.0  # upper limit of a normal common bile duct (adult, no cholecystectomy)
POLYP_SURGICAL_MM = 10.0  # a gallbladder polyp >= 10 mm: surgical review
SECTOR_HALF_DEG = 30.0  # the default curvilinear sector (physics/ultrasound.Probe)
WORD_COUNT = {
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "a couple of": 2,
    "a few": 3,
    "several": 4,
    "numerous": 8,
    "innumerable": 10,
}
MET_WORDS = r"(?:metastases|metastasis|mets|lesions|deposits|secondaries)"


def place(plane: AbdomenPlane, f: Finding, rng: np.random.Generator, prompt: str) -> PlacedFinding:
    side = "left" if plane.view == "luq" else "right"
    if f.name == "angiomyolipoma":
        return _aml(plane, f, rng, side)
    if plane.organ != "liver":
        raise EngineError(
            f"{f.name.replace('_', ' ').capitalize()} is drawn on a right upper "
            "quadrant view; this view shows the spleen."
        )
    if f.name == "haemangioma":
        return _haemangioma(plane, f, rng)
    if f.name == "metastases":
        return _metastases(plane, f, rng, prompt)
    if plane.gallbladder is None:
        raise EngineError("This finding is drawn on a right upper quadrant view.")
    if f.name == "sludge":
        return _sludge(plane, f)
    if f.name == "gallbladder_polyp":
        return _polyp(plane, f, rng)
    return _cbd(plane, f)


# --- builders ---------------------------------------------------------------------------------


def _sludge(plane: AbdomenPlane, f: Finding) -> PlacedFinding:
    """A level across the lumen at the requested share of its depth from the bottom."""
    g = plane.gallbladder
    assert g is not None
    share = {"mild": 0.25, "moderate": 0.4, "severe": 0.6}.get(f.severity or "moderate", 0.4)
    top, bottom = _lumen_rows(g)
    plane.sludge_level = float(bottom - share * (bottom - top))
    return PlacedFinding(
        "sludge",
        "right",
        "gallbladder",
        f.modifiers,
        (g.cx, bottom, 0.0),
        {"share": share, "level_mm": plane.sludge_level},
    )


def _lumen_rows(g: Ellipse) -> tuple[float, float]:
    """The gallbladder body's shallowest and deepest depth (mm)."""
    t = np.linspace(0, 2 * np.pi, 360, endpoint=False)
    ys = [g.point(float(tt))[1] for tt in t]
    return min(ys), max(ys)


def _polyp(plane: AbdomenPlane, f: Finding, rng: np.random.Generator) -> PlacedFinding:
    """On the anterior wall, in the body's middle third, hanging into the bile."""
    g = plane.gallbladder
    assert g is not None
    d = float(np.clip(f.size_mm or 6.0, 2.0, min(20.0, 2 * g.b - 3.0)))
    r = d / 2
    x = g.cx + rng.uniform(-0.3, 0.3) * g.a
    ys = np.linspace(g.cy - 2 * g.b, g.cy + 2 * g.b, 800)
    inside = g.q(np.full_like(ys, x), ys) < 1.0
    y = float(ys[inside].min()) + r * 0.85  # touching the wall, a stalk's width into it
    plane.polyps.append(Ellipse(float(x), y, r, r * rng.uniform(0.8, 0.95), rng.uniform(-0.3, 0.3)))
    return PlacedFinding(
        "gallbladder_polyp", "right", "gallbladder", f.modifiers, (float(x), y, 0.0), {"size_mm": d}
    )


def _cbd(plane: AbdomenPlane, f: Finding) -> PlacedFinding:
    """The duct's long axis over the portal vein, sloping deeper toward the pancreas (image
    right, caudal); the portal vein moves deeper if the gallbladder neck leaves no room."""
    cal = float(np.clip(f.size_mm or 10.0, 2.0, 25.0))
    r = cal / 2
    i, (name, pv) = next((k, v) for k, v in enumerate(plane.veins) if v[0] == "portal_vein")
    slope = math.radians(18.0)
    half = 16.0  # a 32 mm segment
    # the duct's floor lies 2.5 mm (hepatic artery, sheaths) over the vein's roof
    cy = pv.cy - pv.b - 1.4 - 2.5 - 0.8 - r
    neck = plane.gb_neck or plane.gallbladder
    assert neck is not None
    duct = Duct(
        pv.cx - half * math.cos(slope),
        cy - half * math.sin(slope),
        pv.cx + half * math.cos(slope),
        cy + half * math.sin(slope),
        r,
    )
    push = _clearance(duct, plane, r)
    if push > 0:  # move the porta (vein and duct) deeper
        pv = Ellipse(pv.cx, pv.cy + push, pv.a, pv.b, pv.angle)
        plane.veins[i] = (name, pv)
        duct = Duct(duct.x0, duct.y0 + push, duct.x1, duct.y1 + push, r)
    plane.cbd = duct
    return PlacedFinding(
        "cbd_dilatation",
        "right",
        "porta_hepatis",
        f.modifiers,
        ((duct.x0 + duct.x1) / 2, (duct.y0 + duct.y1) / 2, 0.0),
        {"calibre_mm": cal},
    )


def _clearance(duct: Duct, plane: AbdomenPlane, r: float) -> float:
    """How far (mm) the duct must move deeper to clear the gallbladder (wall and 2 mm)."""
    need = 0.0
    xs = np.linspace(duct.x0, duct.x1, 40, dtype=np.float32)
    for e in (plane.gallbladder, plane.gb_neck):
        if e is None:
            continue
        grown = e.grown(plane.gb_wall_mm + 2.0 + r + 0.8)
        for push in np.arange(0.0, 60.0, 0.5, dtype=np.float32):
            ys = (
                np.float32(duct.y0)
                + (xs - np.float32(duct.x0)) * np.float32((duct.y1 - duct.y0) / (duct.x1 - duct.x0))
                + push
            )
            if (grown.q(xs, ys) >= 1.0).all():
                need = max(need, float(push))
                break
    return need


def _free_spot(
    plane: AbdomenPlane,
    r: float,
    rng: np.random.Generator,
    taken: list[tuple[float, float, float]],
    margin: float = 3.0,
    tries: int = 600,
) -> tuple[float, float] | None:
    """A centre for a round liver lesion of radius r that stays inside the sector and the
    liver: clear of the gallbladder, vessels, duct, kidney, diaphragm, bowel and `taken`
    ((x, y, r) of lesions already placed) by `margin` mm."""
    wall = sum(plane.wall)
    big_r = plane.radius_mm
    k = plane.kidney
    cx, cy, rd = plane.diaphragm
    for _ in range(tries):
        depth = rng.uniform(wall + r + 5.0, 135.0 - r)
        rr = big_r + depth
        lim = math.radians(SECTOR_HALF_DEG) - math.asin(min(1.0, (r + 2.0) / rr))
        th = rng.uniform(-lim, lim)
        x, y = rr * math.sin(th), rr * math.cos(th) - big_r
        px, py = np.float32(x), np.float32(y)
        gb_grow = plane.gb_wall_mm + 2.5 + r + margin
        keep_out = [
            (plane.gallbladder, gb_grow),
            (plane.gb_neck, gb_grow),
            (k, 5.0 + r + margin + 3.0),
        ]
        keep_out += [(v, 1.4 + r + margin) for _, v in plane.veins]
        keep_out += [(e, 0.8 + r + margin) for _, e in plane.cysts]
        if any(e is not None and float(e.grown(g).q(px, py)) < 1.0 for e, g in keep_out):
            continue
        if plane.cbd is not None and float(plane.cbd.distance(px, py)) < (
            plane.cbd.r + 0.8 + r + margin
        ):
            continue
        if math.hypot(x - cx, y - cy) - rd > -(4.0 + r + margin):  # diaphragm and lung
            continue
        if (y - (wall + 6.0 + (x - 40.0) * 0.85)) / 1.31 < r + margin:  # bowel at the tip
            continue
        if y + r + margin > k.cy + k.b + 14.0 - (x - k.cx) * 0.45 and x > -30.0 - r:
            continue
        if any(math.hypot(x - tx, y - ty) < r + tr + margin for tx, ty, tr in taken):
            continue
        return x, y
    return None


def _haemangioma(plane: AbdomenPlane, f: Finding, rng: np.random.Generator) -> PlacedFinding:
    d = float(
        np.clip(
            f.size_mm
            or {"mild": 15.0, "moderate": 25.0, "severe": 45.0}.get(f.severity or "moderate", 25.0),
            5.0,
            70.0,
        )
    )
    r = d / 2
    taken = [(e.cx, e.cy, e.a) for _, _, e in plane.liver_lesions]
    spot = _free_spot(plane, r, rng, taken) or _free_spot(plane, r, rng, taken, margin=0.0)
    if spot is None:
        raise EngineError(
            f"A {d:.0f} mm haemangioma does not fit in this liver view; ask for a smaller one."
        )
    x, y = spot
    plane.liver_lesions.append(
        (
            "haemangioma",
            "haemangioma",
            Ellipse(x, y, r, r * rng.uniform(0.8, 0.95), rng.uniform(0, np.pi)),
        )
    )
    return PlacedFinding(
        "haemangioma", "right", "liver", f.modifiers, (x, y, 0.0), {"diameter_mm": d}
    )


def metastasis_count(f: Finding, prompt: str) -> int:
    """From "5 liver metastases", "three mets", "solitary metastasis", else by severity (or
    4 when the prompt says several without a number)."""
    text = prompt.lower()
    m = re.search(r"\b(\d{1,2})\s+(?:[a-z]+\s+){0,3}?" + MET_WORDS, text)
    if m:
        return int(np.clip(int(m.group(1)), 1, 12))
    for word, n in WORD_COUNT.items():
        if re.search(rf"\b{word}\s+(?:[a-z]+\s+){{0,3}}?{MET_WORDS}", text):
            return n
    if re.search(r"\b(solitary|single|a|one)\s+(?:[a-z]+\s+){0,2}?(metastasis|lesion)\b", text):
        return 1
    return {"mild": 2, "moderate": 4, "severe": 7}.get(f.severity or "moderate", 4)


def _metastases(
    plane: AbdomenPlane, f: Finding, rng: np.random.Generator, prompt: str
) -> PlacedFinding:
    n = metastasis_count(f, prompt)
    target = "hypoechoic" not in f.modifiers or "target" in f.modifiers
    largest = float(np.clip(f.size_mm or 20.0, 6.0, 50.0))
    sizes = sorted(
        [largest] + [largest * rng.uniform(0.4, 0.9) for _ in range(n - 1)], reverse=True
    )
    taken = [(e.cx, e.cy, e.a) for _, _, e in plane.liver_lesions]
    placed = []
    for d0 in sizes:
        for d in (d0, d0 * 0.8, d0 * 0.65):  # a crowded plane takes a smaller lesion
            r = d / 2
            spot = _free_spot(plane, r, rng, taken)
            if spot is not None:
                break
        if spot is None:
            continue
        x, y = spot
        taken.append((x, y, r))
        placed.append(d)
        ang, ecc = rng.uniform(0, np.pi), rng.uniform(0.85, 1.0)
        halo = max(2.5, 0.3 * r)  # the hypoechoic rim
        plane.liver_lesions.append(
            ("metastasis", "metastasis_halo", Ellipse(x, y, r, r * ecc, ang))
        )
        plane.liver_lesions.append(
            (
                "metastasis",
                "metastasis_core" if target else "metastasis",
                Ellipse(x, y, r - halo, (r - halo) * ecc, ang),
            )
        )
    if not placed:
        raise EngineError(
            "The metastases do not fit in this liver view; ask for fewer or smaller ones."
        )
    x0, y0 = taken[len(taken) - len(placed)][:2]
    return PlacedFinding(
        "metastases",
        "right",
        "liver",
        f.modifiers,
        (x0, y0, 0.0),
        {"count": float(len(placed)), "largest_mm": max(placed), "target": float(target)},
    )


def _aml(plane: AbdomenPlane, f: Finding, rng: np.random.Generator, side: str) -> PlacedFinding:
    """In the cortex of the anterior lip, bulging a little through the capsule (the
    sector's part of the kidney), clear of a cyst."""
    d = float(
        np.clip(
            f.size_mm
            or {"mild": 8.0, "moderate": 15.0, "severe": 30.0}.get(f.severity or "moderate", 15.0),
            4.0,
            50.0,
        )
    )
    r = d / 2
    k = plane.kidney
    best = None
    # the anterior lip (toward the probe, between the pyramids, clear of the sinus) first
    ts = [
        *rng.permutation(np.linspace(1.3 * np.pi, 1.7 * np.pi, 9)),
        *rng.permutation(np.linspace(0.55 * np.pi, 1.25 * np.pi, 15)),
    ]
    for t in ts:
        x, y = k.point(float(t), float(np.clip(1.0 - r / (2 * k.b), 0.7, 0.9)))
        rr = math.hypot(x, y + plane.radius_mm)
        th = math.degrees(math.atan2(x, y + plane.radius_mm))
        if abs(th) > SECTOR_HALF_DEG - math.degrees(math.asin(min(1.0, (r + 2) / rr))):
            continue
        if any(math.hypot(x - e.cx, y - e.cy) < r + e.a + 2.0 for _, e in plane.cysts):
            continue
        best = (x, y)
        break
    if best is None:
        best = k.point(np.pi, 0.7)
    x, y = best
    plane.amls.append(Ellipse(x, y, r, r * rng.uniform(0.8, 0.95), rng.uniform(0, np.pi)))
    return PlacedFinding(
        "angiomyolipoma", side, "kidney", f.modifiers, (x, y, 0.0), {"diameter_mm": d}
    )


# --- measured from the output -----------------------------------------------------------------


def _db(grey: np.ndarray, mask: np.ndarray, dr: float) -> float:
    return float(grey[mask].mean()) * dr / 255.0 if mask.any() else float("nan")


def _inner(mask: np.ndarray, n: int = 1) -> np.ndarray:
    inner = ndimage.binary_erosion(mask, iterations=n)
    return inner if inner.sum() >= 10 else mask


def _extent_mm(mask: np.ndarray, px: float) -> float:
    ys, xs = np.nonzero(mask)
    return float(max(np.ptp(ys), np.ptp(xs)) + 1) * px


def _same_rows(
    labels: np.ndarray, rows: slice, names: tuple[str, ...], away: np.ndarray
) -> np.ndarray:
    """Pixels with one of `names` in `rows`, in columns untouched by `away`."""
    band = np.zeros(labels.shape, bool)
    band[rows] = True
    cols = away.any(axis=0)
    return band & np.isin(labels, [LABELS[n] for n in names]) & ~cols[None, :]


def below_contrast(
    labels: np.ndarray,
    grey: np.ndarray,
    mask: np.ndarray,
    px: float,
    dr: float,
    depth_mm: float = 20.0,
    beside: tuple[str, ...] = ("liver",),
    skip: tuple[str, ...] = (),
) -> float:
    """dB of the `depth_mm` below `mask` (its central columns, `skip` labels left out) minus
    the `beside` tissue in the same rows, in columns clear of the gallbladder and of `mask`:
    negative is a shadow, positive enhancement."""
    ys, xs = np.nonzero(mask)
    top = ys.max() + 1
    rows = slice(top, min(labels.shape[0], top + round(depth_mm / px)))
    lo, hi = int(np.percentile(xs, 30)), int(np.percentile(xs, 70)) + 1
    under = np.zeros(labels.shape, bool)
    under[rows, lo:hi] = True
    under &= ~np.isin(labels, [LABELS[n] for n in skip]) & (labels != 0)
    gb = np.isin(
        labels,
        [
            LABELS[n]
            for n in ("gallbladder", "gallbladder_wall", "sludge", "stone", "shadow", "polyp")
        ],
    )
    ref = _same_rows(labels, rows, beside, mask | gb)
    if under.sum() < 10 or ref.sum() < 10:
        return float("nan")
    return _db(grey, under, dr) - _db(grey, ref, dr)


def duct_calibre(mask: np.ndarray, px: float) -> float:
    """The tube's width across its long axis: area per unit length, in 2-pixel slices along
    the principal axis over its central 60% (round ends left out), the median slice."""
    ys, xs = np.nonzero(mask)
    pts = np.stack([xs, ys], 1).astype(np.float64)
    pts -= pts.mean(0)
    axis = np.linalg.svd(pts, full_matrices=False)[2][0]
    u = pts @ axis
    lo, hi = np.percentile(u, 20), np.percentile(u, 80)
    bins = np.arange(lo, hi, 2.0)
    counts = np.histogram(u, bins)[0]
    if not len(counts):
        return float(np.sqrt(mask.sum())) * px
    return float(np.median(counts) / 2.0) * px


def measure(
    p: PlacedFinding, labels: np.ndarray, grey: np.ndarray, px: float, dr: float
) -> tuple[bool, dict[str, float]]:
    mask = labels == LABELS[LABEL_OF[p.name]]
    m: dict[str, float] = {}
    if not mask.any():
        return False, m
    liver = _inner(labels == LABELS["liver"], 2)
    if p.name == "sludge":
        bile = _inner(labels == LABELS["gallbladder"], 2)
        m["depth_mm"] = round(float(mask.sum(axis=0).max()) * px, 1)
        m["sludge_bile_db"] = round(_db(grey, _inner(mask), dr) - _db(grey, bile, dr), 1)
        m["sludge_liver_db"] = round(_db(grey, _inner(mask), dr) - _db(grey, liver, dr), 1)
        m["level_tilt_deg"] = round(_level_tilt(mask), 1)
        m["below_db"] = round(
            below_contrast(labels, grey, mask, px, dr, skip=("gallbladder_wall", "sludge")), 1
        )
    elif p.name == "gallbladder_polyp":
        m["size_mm"] = round(_extent_mm(mask, px), 1)
        m["polyp_liver_db"] = round(_db(grey, mask, dr) - _db(grey, liver, dr), 1)
        ys, xs = np.nonzero(mask)
        top = ys.min()
        above = labels[max(0, top - 3) : top, xs[ys == top].min() : xs[ys == top].max() + 1]
        m["on_anterior_wall"] = float((above == LABELS["gallbladder_wall"]).any())
    elif p.name == "cbd_dilatation":
        m["calibre_mm"] = round(duct_calibre(mask, px), 1)
        pv = labels == LABELS["portal_vein"]
        if pv.any():
            m["anterior_to_portal_vein"] = float(
                np.nonzero(mask)[0].mean() < np.nonzero(pv)[0].mean()
            )
    elif p.name == "haemangioma":
        m["diameter_mm"] = round(_extent_mm(mask, px), 1)
        m["contrast_db"] = round(_db(grey, _inner(mask, 2), dr) - _db(grey, liver, dr), 1)
        below = below_contrast(labels, grey, mask, px, dr, depth_mm=10.0, skip=("haemangioma",))
        if below == below:
            m["below_db"] = round(below, 1)
    elif p.name == "metastases":
        pieces, n = ndimage.label(mask)
        sizes = [_extent_mm(pieces == i, px) for i in range(1, n + 1)]
        m["count"] = float(n)
        m["largest_mm"] = round(max(sizes), 1)
        m["smallest_mm"] = round(min(sizes), 1)
        rim = ndimage.binary_erosion(mask, iterations=1) & ~ndimage.binary_erosion(
            mask, iterations=max(2, round(1.6 / px))
        )
        core = ndimage.binary_erosion(mask, iterations=max(2, round(3.0 / px)))
        m["halo_liver_db"] = round(_db(grey, rim, dr) - _db(grey, liver, dr), 1)
        if core.sum() >= 5:
            m["centre_liver_db"] = round(_db(grey, core, dr) - _db(grey, liver, dr), 1)
    elif p.name == "angiomyolipoma":
        m["diameter_mm"] = round(_extent_mm(mask, px), 1)
        sinus = _inner(labels == LABELS["renal_sinus"], 1)
        m["aml_liver_db"] = round(_db(grey, _inner(mask), dr) - _db(grey, liver, dr), 1)
        m["aml_sinus_db"] = round(_db(grey, _inner(mask), dr) - _db(grey, sinus, dr), 1)
        below = below_contrast(
            labels,
            grey,
            mask,
            px,
            dr,
            depth_mm=10.0,
            beside=(
                "kidney_cortex",
                "kidney_medulla",
                "renal_sinus",
                "perirenal_fat",
                "posterior_muscle",
            ),
            skip=("angiomyolipoma",),
        )
        if below == below:
            m["below_db"] = round(below, 1)
    return True, m


def _level_tilt(mask: np.ndarray) -> float:
    """The fluid-sludge level's slope (degrees): a line through the top of the sludge in the
    central 60% of its columns."""
    cols = np.nonzero(mask.any(axis=0))[0]
    lo, hi = np.percentile(cols, 20), np.percentile(cols, 80)
    use = cols[(cols >= lo) & (cols <= hi)]
    if len(use) < 3:
        return 0.0
    tops = np.array([np.nonzero(mask[:, c])[0].min() for c in use], float)
    slope = np.polyfit(use.astype(float), tops, 1)[0]
    return math.degrees(math.atan(slope))


def sentence(p: PlacedFinding, present: bool, m: dict[str, float]) -> str:
    what = {
        "sludge": "gallbladder sludge",
        "gallbladder_polyp": "gallbladder polyp",
        "cbd_dilatation": "common bile duct",
        "haemangioma": "haemangioma",
        "metastases": "liver metastases",
        "angiomyolipoma": "angiomyolipoma",
    }[p.name]
    if not present:
        return f"The requested {what} is not in this plane."
    if p.name == "sludge":
        level = (
            "a horizontal fluid-sludge level"
            if abs(m["level_tilt_deg"]) < 5
            else f"a fluid-sludge level tilted {m['level_tilt_deg']:.0f} degrees"
        )
        below = m["below_db"]
        shadow = (
            f"no posterior acoustic shadow (the 2 cm below {below:+.0f} dB against the "
            "liver beside it)"
            if below == below and below > -6
            else "no shadow measurable in this plane"
            if below != below
            else f"tissue below {below:+.0f} dB against the liver beside it"
        )
        return (
            f"Low-level echoes layer in the dependent gallbladder, {m['depth_mm']:.0f} mm "
            f"deep, under {level}: {m['sludge_bile_db']:+.0f} dB over the bile, "
            f"{m['sludge_liver_db']:+.0f} dB against the liver, with {shadow}: biliary "
            "sludge (it moves slowly when the patient turns)."
        )
    if p.name == "gallbladder_polyp":
        where = (
            "the non-dependent (anterior) wall"
            if m.get("on_anterior_wall")
            else "the gallbladder wall"
        )
        txt = (
            f"A {m['size_mm']:.0f} mm echogenic polypoid projection from {where}, "
            f"{m['polyp_liver_db']:+.0f} dB against the liver, without an acoustic shadow "
            "and not moving with position: gallbladder polyp"
        )
        if m["size_mm"] >= POLYP_SURGICAL_MM:
            return txt + " (>= 10 mm: surgical review threshold; cholecystectomy is advised)."
        return txt + " (< 10 mm: ultrasound follow-up rather than surgery)."
    if p.name == "cbd_dilatation":
        cal = m["calibre_mm"]
        where = (
            " anterior to the portal vein at the porta hepatis"
            if m.get("anterior_to_portal_vein")
            else " at the porta hepatis"
        )
        if cal > CBD_NORMAL_MM:
            return (
                f"The common bile duct{where} measures {cal:.0f} mm (normal <= "
                f"{CBD_NORMAL_MM:.0f} mm): dilated CBD {cal:.0f} mm; look for a distal "
                "obstructing stone or mass."
            )
        return (
            f"The common bile duct{where} measures {cal:.0f} mm: normal calibre (<= "
            f"{CBD_NORMAL_MM:.0f} mm)."
        )
    if p.name == "haemangioma":
        enh = m.get("below_db")
        behind = (
            f", with posterior acoustic enhancement ({enh:+.0f} dB)"
            if enh is not None and enh > 2
            else ""
        )
        return (
            f"A well-defined homogeneous hyperechoic liver lesion, {m['diameter_mm']:.0f} "
            f"mm, {m['contrast_db']:+.0f} dB over the liver{behind}: typical of a "
            "haemangioma (confirm with MRI if atypical or the patient has a cancer)."
        )
    if p.name == "metastases":
        n = int(m["count"])
        kind = (
            "target (bull's-eye) lesions: an echogenic centre "
            f"({m['centre_liver_db']:+.0f} dB) inside a hypoechoic halo"
            if p.params.get("target") and "centre_liver_db" in m
            else "hypoechoic lesions with a darker halo"
        )
        many = f"{n} liver lesions" if n > 1 else "A solitary liver lesion"
        sizes = (
            f"{m['smallest_mm']:.0f}-{m['largest_mm']:.0f} mm"
            if n > 1
            else f"{m['largest_mm']:.0f} mm"
        )
        return (
            f"{many}, {sizes}, {kind} ({m['halo_liver_db']:+.0f} dB against the liver): "
            f"{'multiple ' if n > 1 else ''}liver metastases until proven otherwise."
        )
    sh = m.get("below_db")
    shadow = (
        f", with a posterior acoustic shadow ({sh:+.0f} dB)" if sh is not None and sh < -3 else ""
    )
    return (
        f"A well-defined very echogenic renal cortical lesion, {m['diameter_mm']:.0f} mm, "
        f"{m['aml_sinus_db']:+.0f} dB against the renal sinus and "
        f"{m['aml_liver_db']:+.0f} dB over the liver{shadow}: angiomyolipoma (fat); CT or "
        "MRI confirms the fat if atypical."
    )
