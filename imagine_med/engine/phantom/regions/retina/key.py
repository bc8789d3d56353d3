"""Measurements of a fundus photograph from its label map, and the answer key's sentences.

Everything here reads the label map and the pixel spacing only (never the built model):
disc and cup diameters by second moments (an ellipse's vertical diameter is 4 sigma of its
rows, sub-pixel exact), the fovea's centroid, vessel calibres where they cross the ring
1.0-1.5 disc diameters from the disc centre (area / ring width per crossing piece), and
one connected piece per lesion with its quadrant from its centroid.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

from imagine_med.engine.phantom.regions.retina.labels import LABELS
from imagine_med.engine.phantom.regions.retina.lesions import (
    DR_KINDS,
    GRADE_NAMES,
    QUADRANTS,
    icdr_grade,
)

EIGHT = np.ones((3, 3), bool)


def _moments(mask: np.ndarray, at: tuple[int, int] = (0, 0)
             ) -> tuple[float, float, float, float] | None:
    """Centroid and 4-sigma diameters (x, y); `mask` may be a box of the image whose
    corner is `at` (row, col): the coordinates are the image's either way."""
    ys, xs = np.nonzero(mask)
    if len(ys) < 3:
        return None
    ys, xs = ys + at[0], xs + at[1]
    return float(xs.mean()), float(ys.mean()), 4 * float(xs.std()), 4 * float(ys.std())


def _boxes(labels: np.ndarray) -> list:
    """Each label id's bounding box (None where absent), from one pass over the map."""
    return ndimage.find_objects(labels, max_label=256)


def _union(*boxes) -> tuple[slice, slice] | None:
    boxes = [b for b in boxes if b is not None]
    if not boxes:
        return None
    return (slice(min(b[0].start for b in boxes), max(b[0].stop for b in boxes)),
            slice(min(b[1].start for b in boxes), max(b[1].stop for b in boxes)))


def _box_moments(labels: np.ndarray, ids: tuple[int, ...], boxes: list
                 ) -> tuple[float, float, float, float] | None:
    box = _union(*(boxes[i - 1] for i in ids))
    if box is None:
        return None
    return _moments(np.isin(labels[box], ids), (box[0].start, box[1].start))


def disc_and_fovea(labels: np.ndarray, px: float, boxes: list | None = None
                   ) -> dict[str, float]:
    boxes = _boxes(labels) if boxes is None else boxes
    disc = _box_moments(labels, (LABELS["optic_disc"], LABELS["optic_cup"]), boxes)
    cup = _box_moments(labels, (LABELS["optic_cup"],), boxes)
    fov = _box_moments(labels, (LABELS["fovea"],), boxes)
    out: dict[str, float] = {}
    if disc is None:
        return out
    dx, dy, dw, dh = disc
    out |= {"disc_x": dx, "disc_y": dy, "disc_height_mm": dh * px, "disc_width_mm": dw * px}
    if cup is not None:
        out["cdr"] = cup[3] / dh
        out["cdr_horizontal"] = cup[2] / dw
    if fov is not None:
        fx, fy = fov[0], fov[1]
        dd = (dh + dw) / 2
        out |= {"fovea_x": fx, "fovea_y": fy,
                "disc_fovea_dd": math.hypot(fx - dx, fy - dy) / dd,
                "disc_fovea_mm": math.hypot(fx - dx, fy - dy) * px,
                "fovea_below_deg": math.degrees(math.atan2(fy - dy, abs(fx - dx)))}
    return out


def rims(labels: np.ndarray, geo: dict[str, float], px: float) -> dict[str, float]:
    """Neural rim widths (mm) at the four poles: along the row and column through the
    disc's centroid, from the disc's edge to the cup's; nasal is the side away from the fovea."""
    if "fovea_x" not in geo:
        return {}
    x, y = round(geo["disc_x"]), round(geo["disc_y"])
    disc = np.isin(labels, (LABELS["optic_disc"], LABELS["optic_cup"]))
    cup = labels == LABELS["optic_cup"]
    col_d, col_c = np.nonzero(disc[:, x])[0], np.nonzero(cup[:, x])[0]
    row_d, row_c = np.nonzero(disc[y, :])[0], np.nonzero(cup[y, :])[0]
    if not (len(col_d) and len(col_c) and len(row_d) and len(row_c)):
        return {}
    right = row_d.max() - row_c.max()
    left = row_c.min() - row_d.min()
    nasal_right = geo["disc_x"] > geo["fovea_x"]
    # the inferotemporal rim (where glaucoma notches first): along a ray from the centroid
    tx = -1.0 if nasal_right else 1.0
    ray = np.arange(0, 2 * max(len(col_d), len(row_d)), 0.5)
    dx, dy = tx * 0.447 * ray, 0.894 * ray  # 63 degrees below the horizontal, temporal
    xs = np.clip(np.rint(geo["disc_x"] + dx).astype(int), 0, labels.shape[1] - 1)
    ys = np.clip(np.rint(geo["disc_y"] + dy).astype(int), 0, labels.shape[0] - 1)
    on_d, on_c = disc[ys, xs], cup[ys, xs]
    rim_it = (ray[on_d].max() - (ray[on_c].max() if on_c.any() else 0.0)) * px \
        if on_d.any() else 0.0
    return {"rim_inferotemporal_mm": float(rim_it),
            "rim_superior_mm": (col_c.min() - col_d.min()) * px,
            "rim_inferior_mm": (col_d.max() - col_c.max()) * px,
            "rim_nasal_mm": (right if nasal_right else left) * px,
            "rim_temporal_mm": (left if nasal_right else right) * px}


def vessel_calibre(labels: np.ndarray, geo: dict[str, float], px: float
                   ) -> dict[str, float]:
    """Mean calibre (mm) of the two widest arteries and veins crossing the ring 1.0-1.5 DD
    from the disc centre (zone B: 0.5-1 DD from the margin), and their ratio. A piece's
    calibre is its area over its length, the length from the spread of its pixels along
    its main axis (a bar of length l has variance l^2/12): sub-pixel, whatever the angle.
    Pieces touching the other kind (a crossing cuts the one behind) are left out."""
    if "disc_fovea_dd" not in geo:
        return {}
    dd = (geo["disc_height_mm"] + geo["disc_width_mm"]) / 2 / px
    box = _around(labels.shape, geo["disc_x"], geo["disc_y"], 1.5 * dd)
    labels = labels[box]  # the ring's box (a margin round it): the same pieces
    yy, xx = np.ogrid[box]
    r = np.hypot(xx - geo["disc_x"], yy - geo["disc_y"])
    ring = (r >= 1.0 * dd) & (r < 1.5 * dd)
    out = {}
    for kind in ("artery", "vein"):
        full = np.isin(labels, (LABELS[kind],) if kind == "artery"
                       else (LABELS["vein"], LABELS["venous_beading"]))
        other = np.isin(labels, (LABELS["vein"], LABELS["venous_beading"])
                        if kind == "artery" else (LABELS["artery"],))
        lab, n = ndimage.label(ring & full, EIGHT)
        pieces = []
        for sl, i in zip(ndimage.find_objects(lab), range(1, n + 1), strict=True):
            grown = tuple(slice(max(0, x.start - 1), x.stop + 1) for x in sl)
            cut = (ndimage.binary_dilation(lab[grown] == i, EIGHT) & other[grown]).sum()
            ys, xs = np.nonzero(lab[sl] == i)
            if len(ys) < 8:
                continue
            lam = np.linalg.eigvalsh(np.cov(np.stack([xs, ys]).astype(float)))
            length = math.sqrt(12 * max(lam[-1], 1e-6))  # a bar's length from its spread
            if length >= 0.35 * dd:  # pieces crossing most of the ring's width
                # a crossing vessel in front hides about its own width of this one
                pieces.append((len(ys), (len(ys) + 0.5 * cut) / length))
        if not pieces:
            return {}
        # the two widest: the temporal arcade vessels (a crossing only narrows a piece)
        widths = sorted((w_ for _, w_ in pieces), reverse=True)[:2]
        out[f"{kind}_calibre_mm"] = float(np.mean(widths)) * px
    out["va_ratio"] = out["vein_calibre_mm"] / out["artery_calibre_mm"]
    return out


def _around(shape: tuple[int, int], x: float, y: float, radius: float
            ) -> tuple[slice, slice]:
    """The box of a circle (pixels) with a 2-pixel margin, clipped to the image."""
    h, w = shape
    return (slice(max(0, math.floor(y - radius) - 2), min(h, math.ceil(y + radius) + 3)),
            slice(max(0, math.floor(x - radius) - 2), min(w, math.ceil(x + radius) + 3)))


def _pieces(mask: np.ndarray, at: tuple[int, int] = (0, 0)
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Connected pieces (8-neighbour) of a mask: each pixel's piece (raster order) and its
    row and column in the image (the mask's corner at `at`)."""
    lab, _ = ndimage.label(mask, EIGHT)
    ys, xs = np.nonzero(lab)
    ids = lab[ys, xs]
    return ids, ys + at[0], xs + at[1]


def lesion_table(labels: np.ndarray, geo: dict[str, float]) -> dict[str, dict[str, int]]:
    """{kind: {quadrant: count}}: connected pieces (8-neighbour) of each lesion label, by
    the quadrant of the fovea their centroid lies in (nasal on the disc's side). All lesion
    labels are labelled together once; a piece holding one kind is that kind's piece, the
    few that touch another kind are split by kind on their own box."""
    table: dict[str, dict[str, int]] = {}
    if "fovea_x" not in geo:
        return table
    fx, fy = geo["fovea_x"], geo["fovea_y"]
    nasal_right = geo["disc_x"] > fx
    counts = np.bincount(labels.ravel(), minlength=256)
    kinds = {lid: kind for kind, lid in LABELS.items() if lid >= 100 and counts[lid]}
    if not kinds:
        return table
    for lid in sorted(kinds, key=list(LABELS.values()).index):
        table[kinds[lid]] = dict.fromkeys(QUADRANTS, 0)

    def count(kind: int, cys: np.ndarray, cxs: np.ndarray) -> None:
        row = table[kinds[kind]]
        for cy, cx in zip(cys, cxs, strict=True):
            q = ("supero" if cy < fy else "infero") + \
                ("nasal" if (cx > fx) == nasal_right else "temporal")
            row[q] += 1

    mask = np.isin(labels, list(kinds))
    lab, n = ndimage.label(mask, EIGHT)
    ys, xs = np.nonzero(lab)
    ids = lab[ys, xs]
    kind_px = labels[ys, xs]
    kind_of = np.zeros(n + 1, labels.dtype)
    kind_of[ids] = kind_px  # one of each piece's kinds: a piece is pure if all agree
    pure = np.bincount(ids, kind_px != kind_of[ids], n + 1)[1:] == 0
    kind_of = kind_of[1:]
    cnt = np.bincount(ids, minlength=n + 1)[1:]
    cys = np.bincount(ids, ys, n + 1)[1:] / cnt
    cxs = np.bincount(ids, xs, n + 1)[1:] / cnt
    for lid in kinds:
        sel = pure & (kind_of == lid)
        count(lid, cys[sel], cxs[sel])
    boxes = ndimage.find_objects(lab)
    for i in np.flatnonzero(~pure):
        box = boxes[i]
        sub, one = labels[box], lab[box] == i + 1
        for lid in np.unique(sub[one]).tolist():
            pid, pys, pxs = _pieces(one & (sub == lid), (box[0].start, box[1].start))
            m = int(pid.max())
            pc = np.bincount(pid, minlength=m + 1)[1:]
            count(lid, np.bincount(pid, pys, m + 1)[1:] / pc,
                  np.bincount(pid, pxs, m + 1)[1:] / pc)
    return table


def _ring(labels: np.ndarray, geo: dict[str, float], px: float, r0: float, r1: float
          ) -> np.ndarray:
    """The ring r0-r1 mm round the foveal centre (worked out on its box only)."""
    box = _around(labels.shape, geo["fovea_x"], geo["fovea_y"], r1 / px)
    yy, xx = np.ogrid[box]
    r = np.hypot(xx - geo["fovea_x"], yy - geo["fovea_y"]) * px
    out = np.zeros(labels.shape, bool)
    out[box] = (r >= r0) & (r < r1)
    return out


def areas(labels: np.ndarray, geo: dict[str, float], px: float) -> dict[str, dict]:
    """Each area label's size (mm2, % of the photographed field), the quadrant of its
    centroid, and how much of the ring 0.25-0.6 mm round the foveal centre it covers
    (>= half: the fovea is involved, e.g. a macula-off detachment, subfoveal CNV)."""
    out: dict[str, dict] = {}
    if "fovea_x" not in geo:
        return out
    field = (labels > 0).sum()
    ring = None
    for kind in ("detached_retina", "retinal_whitening", "geographic_atrophy",
                 "subretinal_haemorrhage", "cnv_membrane", "vitreous_haemorrhage"):
        mask = labels == LABELS[kind]
        n = int(mask.sum())
        if not n:
            continue
        ys, xs = np.nonzero(mask)
        ring = _ring(labels, geo, px, 0.25, 0.6) if ring is None else ring
        nasal_right = geo["disc_x"] > geo["fovea_x"]
        cy, cx = ys.mean(), xs.mean()
        quad = ("supero" if cy < geo["fovea_y"] else "infero") + \
            ("nasal" if (cx > geo["fovea_x"]) == nasal_right else "temporal")
        # pieces: vessels crossing a patch do not split it (closed over a vessel's width)
        _, pieces = ndimage.label(ndimage.binary_closing(
            mask, EIGHT, iterations=max(1, round(0.1 / px)), border_value=0), EIGHT)
        out[kind] = {"area_mm2": n * px * px, "percent_of_field": 100.0 * n / max(field, 1),
                     "quadrant": quad, "pieces": int(pieces),
                     "fovea_cover": float(mask[ring].mean()),
                     "inferior_share": float((ys > geo["fovea_y"]).mean()),
                     "diameter_mm": 2 * math.sqrt(n / math.pi) * px}
    return out


def colour(rgb: np.ndarray, labels: np.ndarray, geo: dict[str, float], px: float
           ) -> dict[str, float]:
    """Read off the photograph: the neural rim's green/red ratio (a pale, atrophic rim is
    whiter: green rises toward red) and the fovea's green against the ring 0.6-1.2 mm round
    it (a cherry-red spot: the foveola dark red inside a whitened macula)."""
    out: dict[str, float] = {}
    rim = labels == LABELS["optic_disc"]
    if rim.sum() > 8:
        r, g = rgb[rim, 0].astype(float).mean(), rgb[rim, 1].astype(float).mean()
        out["rim_green_red"] = g / max(r, 1.0)
    if "fovea_x" in geo:
        fov = labels == LABELS["fovea"]
        ring = _ring(labels, geo, px, 0.6, 1.2) & (labels != LABELS["artery"]) \
            & (labels != LABELS["vein"])
        if fov.sum() > 3 and ring.sum() > 8:
            out["fovea_to_macula_green"] = float(rgb[fov, 1].astype(float).mean()
                                                 / max(rgb[ring, 1].astype(float).mean(), 1))
    return out


def measure(labels: np.ndarray, px: float, rgb: np.ndarray | None = None) -> dict:
    geo = disc_and_fovea(labels, px)
    geo |= rims(labels, geo, px)
    geo |= vessel_calibre(labels, geo, px)
    table = lesion_table(labels, geo)
    grade, why = icdr_grade(table)
    dmo = False
    if "fovea_x" in geo:
        ex = np.nonzero(labels == LABELS["hard_exudate"])
        if len(ex[0]):
            d = np.hypot(ex[1] - geo["fovea_x"], ex[0] - geo["fovea_y"]) * px
            dmo = bool(d.min() <= 0.5)
    return {"geo": geo, "table": table, "grade": grade, "why": why, "dmo": dmo,
            "areas": areas(labels, geo, px),
            "colour": colour(rgb, labels, geo, px) if rgb is not None else {}}


def _count_text(table: dict[str, dict[str, int]]) -> str:
    parts = []
    for kind in (*DR_KINDS, "drusen"):
        if kind in table and sum(table[kind].values()):
            per = ", ".join(f"{q} {c}" for q, c in table[kind].items() if c)
            parts.append(f"{kind.replace('_', ' ')} {sum(table[kind].values())} ({per})")
    return "; ".join(parts)


def sentences(eye_side: str, m: dict, findings: list[str], age: int, sex: str) -> str:
    geo, table = m["geo"], m["table"]
    side = "Right eye (OD)" if eye_side == "right" else "Left eye (OS)"
    out = [f"{side}, macula-centred 45-degree fundus photograph, {age}-year-old {sex}."]
    if "cdr" in geo:
        r = {k: geo.get(f"rim_{k}_mm", 0.0) for k in ("inferior", "superior", "nasal",
                                                        "temporal")}
        isnt = r["inferior"] >= r["superior"] >= r["nasal"] >= r["temporal"]
        cdr = geo["cdr"]
        verdict = "normal" if cdr <= 0.45 else ("borderline" if cdr <= 0.6 else
                                                "enlarged, suspicious of glaucoma")
        out.append(
            f"Optic disc {geo['disc_height_mm']:.2f} x {geo['disc_width_mm']:.2f} mm "
            f"(vertical x horizontal); vertical cup-to-disc ratio {cdr:.2f} ({verdict}); "
            "neural rim " + ("follows the ISNT rule" if isnt else "breaks the ISNT rule")
            + f" (I {r['inferior']:.2f}, S {r['superior']:.2f}, N {r['nasal']:.2f}, "
            f"T {r['temporal']:.2f} mm).")
        it = geo.get("rim_inferotemporal_mm")
        if it is not None and it < 0.5 * min(r["inferior"], r["superior"]):
            out.append(f"The inferotemporal rim is notched to {it:.2f} mm.")
    if "disc_haemorrhage" in table:
        out.append("A splinter haemorrhage crosses the disc margin (Drance haemorrhage).")
    if "disc_fovea_dd" in geo:
        out.append(f"Fovea {geo['disc_fovea_dd']:.2f} disc diameters "
                   f"({geo['disc_fovea_mm']:.1f} mm) temporal to the disc centre, "
                   f"{geo['fovea_below_deg']:.1f} degrees below it.")
    if "va_ratio" in geo:
        out.append(f"Vessels: veins {geo['vein_calibre_mm'] * 1000:.0f} um and arteries "
                   f"{geo['artery_calibre_mm'] * 1000:.0f} um near the disc, vein/artery "
                   f"ratio {geo['va_ratio']:.2f}.")
    if "diabetic_retinopathy" in findings:
        g = m["grade"]
        out.append(f"Diabetic retinopathy, ICDR grade {g} ({GRADE_NAMES[g]})"
                   + (f": {'; '.join(m['why'])}." if m["why"] else "."))
        counts = _count_text({k: v for k, v in table.items() if k != "drusen"})
        if counts:
            out.append(f"Lesions by quadrant: {counts}.")
        out.append("Exudates within 500 um of the fovea: diabetic macular oedema."
                   if m["dmo"] else "No exudates within 500 um of the fovea.")
    if "macular_degeneration" in findings and "drusen" in table:
        n = sum(table["drusen"].values())
        out.append(f"Age-related macular degeneration: {n} drusen round the fovea.")
    if "retinal_vein_occlusion" in findings:
        heme = {q: sum(table.get(k, {}).get(q, 0) for k in ("flame_haemorrhage",
                                                              "dot_blot_haemorrhage"))
                for q in QUADRANTS}
        hit = [q for q, c in heme.items() if c >= 8]
        kind = "central" if len(hit) >= 3 else "branch"
        where = ", ".join(f"{q} {c}" for q, c in heme.items() if c)
        out.append(f"Retinal vein occlusion ({kind}: haemorrhages by quadrant {where}); "
                   "dilated, tortuous veins.")
    if "hypertensive_retinopathy" in findings:
        va = f" (vein/artery ratio {geo['va_ratio']:.2f})" if "va_ratio" in geo else ""
        extra = [f"{k.replace('_', ' ')} {sum(table[k].values())}" for k in
                 ("flame_haemorrhage", "cotton_wool_spot", "hard_exudate") if k in table]
        out.append(f"Hypertensive retinopathy: generalised arteriolar narrowing{va}, "
                   "arteriovenous nicking where arteries cross veins"
                   + (f"; {', '.join(extra)}" if extra else "") + ".")
    if "papilloedema" in findings:
        out.append("Swollen optic disc: blurred margins, the cup filled in, peripapillary "
                   "vessels obscured at the margin (papilloedema).")
    out += _area_sentences(m, findings)
    if not findings:
        out.append("No retinopathy.")
    return " ".join(out)


# Thresholds from this camera's own photographs (20 seeds each, at 256 and 768 px): rim
# green/red normal 0.60-0.68, severe glaucoma (some pallor) 0.69-0.76, optic atrophy
# 0.77-0.87; fovea/macula green normal 0.90-0.97, central artery occlusion 0.31-0.55.
PALE_RIM_GREEN_RED = 0.72
CHERRY_RED_RATIO = 0.7


def _area_sentences(m: dict, findings: list[str]) -> list[str]:
    a, c, table = m["areas"], m["colour"], m["table"]
    out = []
    if "optic_atrophy" in findings and "rim_green_red" in c:
        pale = c["rim_green_red"] > PALE_RIM_GREEN_RED
        out.append(f"Optic disc {'pale (optic atrophy)' if pale else 'not measurably pale'}: "
                   f"neural rim green/red {c['rim_green_red']:.2f} "
                   f"(pallor above {PALE_RIM_GREEN_RED:.2f}).")
    if "retinal_artery_occlusion" in findings and "retinal_whitening" in a:
        w = a["retinal_whitening"]
        central = w["percent_of_field"] >= 20
        spot = c.get("fovea_to_macula_green")
        cherry = central and spot is not None and spot < CHERRY_RED_RATIO
        half = "inferior" if w["inferior_share"] > 0.5 else "superior"
        share = 100 * max(w["inferior_share"], 1 - w["inferior_share"])
        where = "" if central else (f", the {half} hemiretina: {share:.0f}% of it on that "
                                    "side of the horizontal raphe")
        out.append(f"Retinal artery occlusion ({'central' if central else 'branch'}): ischaemic "
                   f"retinal whitening over {w['area_mm2']:.1f} mm2 "
                   f"({w['percent_of_field']:.0f}% of the field{where}), attenuated arteries"
                   + (f"; cherry-red spot at the fovea (fovea/macula green {spot:.2f})."
                      if cherry else "."))
    if "retinal_detachment" in findings and "detached_retina" in a:
        d = a["detached_retina"]
        off = d["fovea_cover"] >= 0.5
        out.append(f"Retinal detachment, {d['quadrant']}: grey, folded retina over "
                   f"{d['percent_of_field']:.0f}% of the field ({d['area_mm2']:.0f} mm2), "
                   + ("macula off (the fovea is detached)." if off else "macula on."))
    if "laser_scars" in findings and "laser_scar" in table:
        n = sum(table["laser_scar"].values())
        out.append(f"Panretinal photocoagulation: {n} laser scars in the mid-periphery, "
                   "the macula spared.")
    if "vitreous_haemorrhage" in findings and "vitreous_haemorrhage" in a:
        v = a["vitreous_haemorrhage"]
        out.append(f"Vitreous haemorrhage obscures {v['percent_of_field']:.0f}% of the view, "
                   f"{100 * v['inferior_share']:.0f}% of it below the fovea (blood settles "
                   "inferiorly).")
    if "macular_degeneration" in findings:
        if "geographic_atrophy" in a:
            g = a["geographic_atrophy"]
            out.append(f"Geographic atrophy: {g['pieces']} patch"
                       + ("es" if g["pieces"] > 1 else "") + f", {g['area_mm2']:.1f} mm2, "
                       + ("involving" if g["fovea_cover"] >= 0.5 else "sparing")
                       + " the fovea; choroidal vessels visible through it.")
        if "cnv_membrane" in a:
            n = a["cnv_membrane"]
            h = a.get("subretinal_haemorrhage", {}).get("area_mm2", 0.0)
            where = "subfoveal" if n["fovea_cover"] >= 0.5 else "juxtafoveal"
            out.append(f"Neovascular (wet) AMD: a {where} grey-green membrane "
                       f"{n['diameter_mm']:.1f} mm across"
                       + (f" with {h:.1f} mm2 of subretinal haemorrhage." if h else "."))
    return out
