"""Dermoscopy numbers measured from an output image and its label map (never the request).

ABCD (Stolz; physics.md): TDS = 1.3 A + 0.1 B + 0.5 C + 0.5 D.
- A: mirror the lesion about its two principal axes (through the centroid); an axis counts
  when more than ASYM_LIMIT of the union disagrees in shape or in its zone labels (network,
  structureless, veil, regression, white patch; point structures are skipped).
- B: 8 segments round the centroid; a segment is abrupt when the L* step across +-0.1 mm of
  the label border is at least half the step across +-0.3-0.45 mm (a sharp cut-off).
- C: each lesion pixel goes to the nearest colour of the palette (CIELAB) or to the
  perilesional skin's colour; a palette colour counts from 3 % of the lesion.
- D: network, structureless areas (>= 10 %), dots, globules, streaks, by label presence.
7-point: atypical network (patchy or off-centre), blue-white veil, atypical vessels (2 each);
irregular streaks (on part of the rim), irregular dots/globules (sizes or spread uneven),
irregular blotch (off-centre structureless dark area), regression (1 each).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage
from scipy.spatial.distance import pdist

from imagine_med.engine.phantom.physics.skin_optics import (
    Columns,
    ita_of_lab,
    melanin_for_ita,
    pixels_of,
    reflectance,
    srgb_to_lab,
    to_srgb,
)
from imagine_med.engine.phantom.regions.skin.lesions import LABELS, SEGMENTS
from imagine_med.engine.phantom.regions.skin.skin import EXPOSURE
from imagine_med.engine.phantom.regions.skin.skin import LABELS as SKIN_LABELS
from imagine_med.engine.phantom.renderer_base import mask_box

ASYM_LIMIT = 0.3
MERGE_DE = 8.0  # palette colours closer than this on a patient's skin count as one
COLOUR_SHARE = 0.03
ZONES = (LABELS["lesion"], LABELS["pigment_network"], LABELS["blue_white_veil"],
         LABELS["regression"], LABELS["central_white_patch"])
BODY_SKIP = (LABELS["streaks"], LABELS["vessels"])
COLOURS = ("light brown", "dark brown", "black", "blue-grey", "red", "white")


def palette(m: float = 1.2) -> np.ndarray:
    """CIELAB of the six ABCD colours, from the optics on skin of epidermal melanin `m`
    (each pigment seen through the skin's own melanin, as on that patient)."""
    rows = [  # corneal, junction, dermal, blood, scatter
        (0.0, m + 1.0, 0.0, 0.07, 1.0), (0.0, m + 3.0, 0.0, 0.07, 1.0),
        (2.0, m + 2.5, 0.0, 0.07, 1.0), (0.0, m + 0.6, 2.6, 0.07, 2.2),
        (0.0, 0.6 * m, 0.0, 1.0, 1.0), (0.0, 0.5 * m, 0.0, 0.04, 3.0)]
    a = np.asarray(rows, np.float32)[:, None, :]
    z = np.zeros_like(a[..., 0])
    cols = Columns(a[..., 0], a[..., 1], a[..., 2], a[..., 3], a[..., 4], z)
    return srgb_to_lab(to_srgb(reflectance(cols), EXPOSURE))[:, 0, :]


def skin_melanin(skin_lab: np.ndarray) -> float:
    """The epidermal melanin that gives the perilesional skin its measured ITA."""
    ita = float(np.degrees(np.arctan2(skin_lab[0] - 50.0, skin_lab[2])))
    return melanin_for_ita(ita, 0.07, EXPOSURE)


@dataclass
class Measured:
    present: bool
    m: dict[str, float] = field(default_factory=dict)
    colours: list[str] = field(default_factory=list)
    structures: list[str] = field(default_factory=list)
    seven: list[str] = field(default_factory=list)


def _box(mask: np.ndarray, pad: int) -> tuple[slice, slice] | None:
    """The bounding box of a mask grown by `pad` pixels (clipped to the image), or None."""
    box = mask_box(mask)
    if box is None:
        return None
    r0, r1, c0, c1 = box
    h, w = mask.shape
    return slice(max(0, r0 - pad), min(h, r1 + pad)), slice(max(0, c0 - pad), min(w, c1 + pad))


def body_mask(labels: np.ndarray) -> np.ndarray:
    """The lesion's body: lesion labels without streaks and vessels, hair gaps closed.
    Worked on the lesion's box with a margin wider than the closing reaches (the same
    pixels as over the whole image, at a fraction of the cost)."""
    ids = (labels >= 100) & ~np.isin(labels, BODY_SKIP)
    box = _box(ids, 10)  # closing: 4 dilations then 4 erosions; holes: the margin is open
    if box is None:
        return ids
    sub = ids[box]
    hair = labels[box] == SKIN_LABELS["hair"]
    sub = sub | (hair & ndimage.binary_closing(sub, iterations=4))
    sub = _fill_holes(sub)
    lab, n = ndimage.label(sub)
    if n > 1:
        sizes = np.bincount(lab.ravel(), minlength=n + 1)[1:]
        sub = lab == (1 + int(np.argmax(sizes)))
    out = np.zeros_like(ids)
    out[box] = sub
    return out


def _fill_holes(mask: np.ndarray) -> np.ndarray:
    """ndimage.binary_fill_holes in one labelling: background pieces (4-connected, as its
    propagation) that do not reach the image's edge are holes."""
    bg, n = ndimage.label(~mask)
    if not n:
        return mask
    edge = np.concatenate([bg[0], bg[-1], bg[:, 0], bg[:, -1]])
    open_ = np.zeros(n + 1, bool)
    open_[edge] = True
    open_[0] = False  # the mask itself (0 in the background's labelling)
    return ~open_[bg]


Points = tuple[np.ndarray, np.ndarray]  # np.nonzero of a body (rows, columns), made once


def axes(body: np.ndarray, pts: Points | None = None) -> tuple[float, float, float]:
    """Centroid (row, col) and the major axis angle (radians, image x to the right)."""
    ys, xs = np.nonzero(body) if pts is None else pts
    cy, cx = ys.mean(), xs.mean()
    cov = np.cov(np.vstack([xs - cx, ys - cy]))
    w, v = np.linalg.eigh(cov)
    major = v[:, int(np.argmax(w))]
    return float(cy), float(cx), float(np.arctan2(major[1], major[0]))


def asymmetry(labels: np.ndarray, body: np.ndarray,
              ax: tuple[float, float, float] | None = None, pts: Points | None = None
              ) -> tuple[int, list[float]]:
    pts = np.nonzero(body) if pts is None else pts
    cy, cx, ang = axes(body, pts) if ax is None else ax
    zone = np.where(body, np.where(np.isin(labels, ZONES), labels, 1), 0).astype(np.int16)
    ys, xs = pts
    scores = []
    for a in (ang, ang + np.pi / 2):
        # reflect each body pixel about the line through the centroid at angle a
        dx, dy = xs - cx, ys - cy
        c, s = np.cos(2 * a), np.sin(2 * a)
        mx = np.round(cx + c * dx + s * dy).astype(int)
        my = np.round(cy + s * dx - c * dy).astype(int)
        ok = (mx >= 0) & (my >= 0) & (mx < body.shape[1]) & (my < body.shape[0])
        mirror = np.zeros_like(zone)
        mirror[my[ok], mx[ok]] = zone[ys[ok], xs[ok]]
        union = (zone > 0) | (mirror > 0)
        both = (zone > 1) & (mirror > 1)
        differ = ((zone > 0) != (mirror > 0)) | (both & (zone != mirror))
        scores.append(float(differ[union].mean()))
    return sum(s > ASYM_LIMIT for s in scores), scores


BAND_MM = 0.45  # the widest band `border` reads on either side of the label border


def border(lab_l: np.ndarray, body: np.ndarray, px: float,
           ax: tuple[float, float, float] | None = None,
           outside: np.ndarray | None = None) -> int:
    """Abrupt segments; the distance maps are made on the body's box (margin past the
    widest band) and read only on the pixels within BAND_MM of the border. `outside`: the
    distance (mm) from the body already made (perilesional), if any."""
    cy, cx, ang = axes(body) if ax is None else ax
    box = _box(body, int(BAND_MM / px) + 3)
    sub = body[box]
    d_out = ndimage.distance_transform_edt(~sub) * px if outside is None else outside[box]
    d_in = ndimage.distance_transform_edt(sub) * px
    signed = np.where(sub, -d_in, d_out)
    near = np.abs(signed) < BAND_MM
    ys, xs = np.nonzero(near)
    signed, lab_l = signed[near], lab_l[box][near]
    yy, xx = ys + box[0].start, xs + box[1].start
    seg = (((np.arctan2(yy - cy, xx - cx) - ang) % (2 * np.pi)) / (2 * np.pi) * SEGMENTS
           ).astype(int) % SEGMENTS
    abrupt = 0
    for k in range(SEGMENTS):
        s = seg == k

        def band(lo: float, hi: float, s=s) -> float:
            v = lab_l[s & (signed >= lo) & (signed < hi)]
            return float(np.median(v)) if v.size else np.nan

        near = band(0.03, 0.12) - band(-0.12, -0.03)
        far = band(0.3, 0.45) - band(-0.45, -0.3)
        if np.isfinite(near) and np.isfinite(far) and far > 3.0 and near >= 0.5 * far:
            abrupt += 1
    return abrupt


def colours(lab: np.ndarray, body: np.ndarray, usable: np.ndarray, skin_lab: np.ndarray
            ) -> list[str]:
    pix = pixels_of(lab, body & usable)
    if not pix.size:
        return []
    pal = palette(skin_melanin(skin_lab))
    keep = []  # on dark skin, dermal blue-grey under the epidermis can look black: merged
    for i in range(len(COLOURS)):
        if all(np.linalg.norm(pal[i] - pal[j]) >= MERGE_DE for j in keep):
            keep.append(i)
    refs = np.vstack([pal[keep], skin_lab[None, :]])
    d = np.empty((len(pix), len(refs)), np.result_type(pix, refs))
    for k, ref in enumerate(refs):
        e = pix - ref
        e *= e
        d[:, k] = (e[:, 0] + e[:, 1]) + e[:, 2]
    near = np.argmin(d, axis=1)
    share = np.bincount(near, minlength=len(refs)) / len(near)
    return [COLOURS[i] for k, i in enumerate(keep) if share[k] >= COLOUR_SHARE]


CUTTERS = (SKIN_LABELS["hair"], LABELS["streaks"], LABELS["dots"], LABELS["globules"],
           LABELS["vessels"])


def _pieces(labels: np.ndarray, name: str, px: float, whole: bool = False) -> list[float]:
    """Equivalent diameters (mm) of the connected pieces of one label; `whole`: only the
    pieces no hair or other point structure touches (a cut piece is not the structure)."""
    own = LABELS[name]
    box = _box(labels == own, 2)  # a margin for the one-pixel touch test
    if box is None:
        return []
    labels = labels[box]
    lab, n = ndimage.label(labels == own)
    areas = np.bincount(lab.ravel(), minlength=n + 1)[1:]
    if whole:
        cut = ndimage.binary_dilation(np.isin(labels, [c for c in CUTTERS if c != own]))
        touched = set(np.unique(lab[cut & (lab > 0)]).tolist())
        areas = [a for k, a in enumerate(areas, 1) if k not in touched]
    return [float(2 * np.sqrt(a / np.pi) * px) for a in areas]


def perilesional(labels: np.ndarray, body: np.ndarray, px: float
                 ) -> tuple[np.ndarray, np.ndarray | None]:
    """Skin 1-2 mm outside the lesion (hair and the dark field edge left out), and the
    distance (mm) from the lesion it was read from (inf past 2 mm; None: no lesion)."""
    skin = labels == SKIN_LABELS["skin"]
    box = _box(body, int(2.0 / px) + 2)  # the distance map is only read out to 2 mm
    if box is None:
        return skin, None
    near = np.full(body.shape, np.inf)
    near[box] = ndimage.distance_transform_edt(~body[box]) * px
    ring = skin & (near > 1.0) & (near < 2.0)
    return (ring if ring.sum() > 50 else skin & (near > 1.0)), near


# a pixel must be small enough for a dot (< 0.1 mm) to measure under 0.1 mm: from ~256 px
# across a 12 mm dermoscopy field; coarser images (clinical photographs) give no dot size
DOT_PX = 0.05
MEASURE_PX = 384  # ABCD, ITA and diameter are read at up to this size (structure sizes at full)


def measure(rgb: np.ndarray, labels: np.ndarray, px: float) -> Measured:
    """Everything from the image and label map; large images are read at MEASURE_PX for the
    shape and colour numbers (sub-sampled, cheap), dots and globules at full resolution."""
    step = max(1, -(-max(labels.shape) // MEASURE_PX))
    out = _measure(rgb[::step, ::step], labels[::step, ::step], px * step, step == 1)
    if out.present and step > 1:
        box = labels[_box(labels >= 100, 2)]
        for key_, name in (("dot_max_mm", "dots"), ("globule_min_mm", "globules")):
            whole = _pieces(box, name, px, True)
            out.m.pop(key_, None)
            if whole and (name == "globules" or px <= DOT_PX):
                out.m[key_] = round(max(whole) if name == "dots" else min(whole), 3)
    return out


def _measure(rgb: np.ndarray, labels: np.ndarray, px: float, sizes: bool = True
             ) -> Measured:
    """`sizes`: also the whole dots' and globules' sizes (False when `measure` reads them
    at full resolution instead)."""
    body = body_mask(labels)
    lab = srgb_to_lab(rgb)
    ring, near = perilesional(labels, body, px)
    out = Measured(bool(body.any()))
    ring_lab = pixels_of(lab, ring)
    out.m["ita"] = round(ita_of_lab(ring_lab), 1) if ring.any() else float("nan")
    if not out.present:
        return out
    pts = np.nonzero(body)
    ax = axes(body, pts)
    a, scores = asymmetry(labels, body, ax, pts)
    b = border(lab[..., 0], body, px, ax, near)
    skin_lab = ring_lab.mean(axis=0)
    usable = labels != SKIN_LABELS["hair"]
    out.colours = colours(lab, body, usable, skin_lab)
    area = body.sum()
    counts = np.bincount(labels.ravel(), minlength=256)
    pieces: dict[str, list[float]] = {}

    def sizes_of(name: str) -> list[float]:  # each label's pieces, labelled once
        if name not in pieces:
            pieces[name] = _pieces(labels, name, px) if counts[LABELS[name]] else []
        return pieces[name]

    present = {
        "pigment network": counts[LABELS["pigment_network"]] >= 0.05 * area,
        "structureless areas": counts[list(ZONES[:1] + ZONES[2:])].sum() >= 0.10 * area,
        "dots": len(sizes_of("dots")) >= 2,
        "globules": len(sizes_of("globules")) >= 2,
        "streaks": len(sizes_of("streaks")) >= 2,
    }
    out.structures = [k for k, v in present.items() if v]
    c, d = max(1, len(out.colours)), max(1, len(out.structures))
    tds = 1.3 * a + 0.1 * b + 0.5 * c + 0.5 * d
    ys, xs = pts
    xy = np.column_stack([xs, ys]).astype(float)
    hull = xy[ndimage.binary_erosion(body)[ys, xs] == 0]
    if len(hull) > 400:
        hull = hull[:: len(hull) // 400]
    diam = float(np.sqrt(pdist(hull, "sqeuclidean").max())) * px if len(hull) > 1 else 0.0
    dots, globs = sizes_of("dots"), sizes_of("globules")
    out.seven = _seven_point(labels, body, px, dots + globs, ax, pts)
    out.m.update({
        "tds": round(tds, 2), "asymmetry_axes": a, "border_segments": b,
        "colours": len(out.colours), "structures": len(out.structures),
        "seven_point": sum(SEVEN[k] for k in out.seven), "diameter_mm": round(diam, 1),
        "area_mm2": round(float(area) * px * px, 1),
        "mirror_disagreement_major": round(scores[0], 3),
        "mirror_disagreement_minor": round(scores[1], 3),
        "dots": len(dots), "globules": len(globs),
    })
    if sizes:
        whole_dots, whole_globs = _pieces(labels, "dots", px, True), \
            _pieces(labels, "globules", px, True)
        if whole_dots and px <= DOT_PX:
            out.m["dot_max_mm"] = round(max(whole_dots), 3)
        if whole_globs:
            out.m["globule_min_mm"] = round(min(whole_globs), 3)
    for name in ("milia_like_cyst", "comedo_like_opening", "blue_grey_nests", "lacunae",
                 "follicular_openings", "keratin_mass", "ulceration", "scale",
                 "angulated_lines"):
        n = len(sizes_of(name))
        if n:
            out.m[name] = n
    return out


SEVEN = {"atypical pigment network": 2, "blue-white veil": 2, "atypical vascular pattern": 2,
         "irregular streaks": 1, "irregular dots/globules": 1, "irregular blotch": 1,
         "regression structures": 1}


def _offset(mask: np.ndarray, body: np.ndarray, pts: Points | None = None) -> float:
    """Distance between a zone's centroid and the body's, over the body's radius."""
    by, bx = np.nonzero(body) if pts is None else pts
    zy, zx = np.nonzero(mask)
    r = np.sqrt(body.sum() / np.pi)
    return float(np.hypot(zy.mean() - by.mean(), zx.mean() - bx.mean()) / r)


def _seven_point(labels: np.ndarray, body: np.ndarray, px: float, sizes: list[float],
                 ax: tuple[float, float, float] | None = None, pts: Points | None = None
                 ) -> list[str]:
    found = []
    area = body.sum()
    net = labels == LABELS["pigment_network"]
    if net.sum() >= 0.05 * area and (net.sum() < 0.6 * area or _offset(net, body, pts) > 0.25):
        found.append("atypical pigment network")
    if (labels == LABELS["blue_white_veil"]).any():
        found.append("blue-white veil")
    vessels = labels == LABELS["vessels"]
    if vessels.any() and (labels == LABELS["pigment_network"]).any():
        found.append("atypical vascular pattern")  # vessels within a melanocytic pattern
    streaks = labels == LABELS["streaks"]
    if streaks.any():
        cy, cx, _ = axes(body, pts) if ax is None else ax
        ys, xs = np.nonzero(streaks)
        angles = np.arctan2(ys - cy, xs - cx)
        covered = len(np.unique((angles / (2 * np.pi) * 16).astype(int)))
        if covered < 12:
            found.append("irregular streaks")
    dg = np.isin(labels, (LABELS["dots"], LABELS["globules"]))
    if len(sizes) >= 3 and (np.std(sizes) / np.mean(sizes) > 0.35 or _offset(dg, body, pts) > 0.3):
        found.append("irregular dots/globules")
    blotch = labels == LABELS["lesion"]
    if blotch.sum() >= 0.1 * area and _offset(blotch, body, pts) > 0.3:
        found.append("irregular blotch")
    if (labels == LABELS["regression"]).any():
        found.append("regression structures")
    return found


def category(tds: float) -> str:
    return "benign" if tds < 4.75 else ("suspicious" if tds <= 5.45 else "melanoma")
