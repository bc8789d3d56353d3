"""Ultrasound artefacts as options on the right upper quadrant: the reflectors each needs,
and what the frame shows of each, measured from the pixels.

- reverberation: a gas-filled loop of bowel (hepatic flexure) under the abdominal wall; its
  flat top is a near-total reflector, so echoes bounce between it and the probe face and
  return as bright bands at 2x, 3x ... its depth (`physics.ultrasound.reverberations`).
- comet_tail: calcified foci in the anterior gallbladder wall (adenomyomatosis: crystals in
  Rokitansky-Aschoff sinuses); each rings inside itself, a tapering tail of echoes spaced by
  its own thickness into the bile.
- side_lobe: gas bubbles in a loop of bowel wrapped round the gallbladder's fundus; their
  echoes return on the side lobes of the beams steered into the lumen (pseudo-sludge).
- edge_shadow: no new reflector: bile is slower than liver, so beams grazing the
  gallbladder's rounded edges bend inward and leave thin shadows beyond its lateral edges.
"""

from __future__ import annotations

import numpy as np

from imagine_med.engine.phantom.regions.abdomen_us.anatomy import LABELS, AbdomenPlane, Ellipse

SECTOR_REACH = 0.45  # |x| / (radius + depth) inside a 60-degree sector, with a margin


def artefact_scene(plane: AbdomenPlane, options: set[str], rng: np.random.Generator) -> None:
    """Add the reflectors the requested artefacts need (a right upper quadrant view only)."""
    g = plane.gallbladder
    if g is None:
        return
    wall_bottom = sum(plane.wall)
    if "reverberation" in options:  # flat gas under the wall, right of the gallbladder
        cx, cy = rng.uniform(20.0, 26.0), wall_bottom + rng.uniform(8.0, 10.0)
        gas = Ellipse(cx, cy, rng.uniform(9.0, 11.0), 3.0)
        plane.gas_loops.append((Ellipse(cx, cy + 1.0, gas.a + 5.0, gas.b + 4.0), gas))
    if "comet_tail" in options:  # 2-3 foci in the near (anterior) wall
        r = 1.0 + plane.gb_wall_mm / 2 / g.b
        for t in np.linspace(-0.3, 0.3, int(rng.integers(2, 4))):
            x, y = g.point(float(-np.pi / 2 + t + rng.uniform(-0.05, 0.05)), r)
            plane.crystals.append(Ellipse(x, y, rng.uniform(0.8, 1.0), rng.uniform(0.75, 0.9)))
    if "side_lobe" in options:  # a gassy loop wrapped round the fundus
        gap = plane.gb_wall_mm + 1.9  # bubble centres outside the lumen's edge (mm)
        reach = SECTOR_REACH * (plane.radius_mm + g.cy) - gap - 6.0
        shift = min(0.0, reach - (g.cx + g.a))
        plane.gallbladder = g = Ellipse(g.cx + shift, g.cy, g.a, g.b, g.angle)
        if plane.gb_neck is not None:
            n = plane.gb_neck
            plane.gb_neck = Ellipse(n.cx + shift, n.cy, n.a, n.b, n.angle)
        # along the fundus from above its tip to below it: each bubble deeper and nearer the
        # lumen's axis than the last, so none lies in another's shadow
        for t in np.linspace(-0.45, 1.0, 8):
            c, s = np.cos(g.angle), np.sin(g.angle)
            nu, nv = g.b * np.cos(t), g.a * np.sin(t)  # the outward normal, local axes
            k = np.hypot(nu, nv)
            px, py = g.point(float(t))
            bx = px + gap * (nu * c - nv * s) / k
            by = py + gap * (nu * s + nv * c) / k
            d = rng.uniform(1.4, 1.7)
            plane.gas_loops.append((Ellipse(bx, by, d + 0.4, d + 0.4), Ellipse(bx, by, d, d * 0.8)))


# --- measured from the frame -------------------------------------------------------------


def radial_profile(
    grey: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    radius: float,
    theta: float,
    half_deg: float = 1.0,
    step: float = 0.25,
) -> tuple[np.ndarray, np.ndarray]:
    """Mean grey along the beam line at angle `theta` (+- half_deg), binned by depth below
    the probe face: (depths mm, means)."""
    r = np.hypot(x, y + radius) - radius
    th = np.arctan2(x, y + radius)
    near = (np.abs(th - theta) <= np.radians(half_deg)) & (r >= 0)
    bins = np.round(r[near] / step).astype(int)
    sums = np.bincount(bins, grey[near].astype(float))
    counts = np.bincount(bins)
    ok = counts > 0
    depth = np.nonzero(ok)[0] * step
    return depth, sums[ok] / counts[ok]


def peaks(values: np.ndarray, floor: float) -> np.ndarray:
    """Indices of local maxima above `floor` (the larger of any two within 2 samples)."""
    v = values
    mid = (v[1:-1] >= v[:-2]) & (v[1:-1] > v[2:]) & (v[1:-1] > floor)
    idx = np.nonzero(mid)[0] + 1
    keep: list[int] = []
    for i in idx:
        if keep and i - keep[-1] <= 2:
            if v[i] > v[keep[-1]]:
                keep[-1] = int(i)
            continue
        keep.append(int(i))
    return np.array(keep, int)


def _db(grey: np.ndarray, mask: np.ndarray, dr: float) -> float:
    return float(grey[mask].mean()) * dr / 255.0 if mask.any() else float("nan")


def measure_reverberation(fr, labels: np.ndarray, pixels: np.ndarray) -> dict[str, float]:
    """The gas's depth and the spacing of the bright bands below it, along the beam line
    through the gas's centre."""
    gas = labels == LABELS["bowel_gas"]
    if not gas.any() or not (labels == LABELS["reverberation"]).any():
        return {}
    radius = fr.probe.radius_mm
    th = float(np.median(np.arctan2(fr.x[gas], fr.y[gas] + radius)))
    d, g = radial_profile(pixels, fr.x, fr.y, radius, th)
    d0 = float((np.hypot(fr.x[gas], fr.y[gas] + radius) - radius).min())
    spacing, bands = periodicity(d, g, d0)
    return {"gas_depth_mm": round(d0, 1), "bands": float(bands), "spacing_mm": round(spacing, 1)}


def periodicity(
    depth: np.ndarray, grey: np.ndarray, start: float, min_lag: float = 8.0
) -> tuple[float, int]:
    """The period of echoes repeating below `start` (mm): the lag of the largest
    autocorrelation of the depth profile beyond `min_lag`, and how many bright bands (above
    a sixth of the profile's top) fall within 3 mm of start + k period."""
    step = float(np.median(np.diff(depth)))
    grid = np.arange(start - 2.0, depth.max(), step)
    prof = np.interp(grid, depth, grey)
    lags = np.arange(round(min_lag / step), len(prof) // 2)
    if len(lags) == 0:
        return 0.0, 0
    ac = np.array([float(prof[:-k] @ prof[k:]) for k in lags])
    period = float(lags[int(np.argmax(ac))] * step)
    floor = max(prof) / 6
    bands = 0
    for k in range(1, 8):
        near = np.abs(grid - (start + k * period)) <= 3.0
        if near.any() and prof[near].max() > floor:
            bands += 1
    return period, bands


def measure_comet(fr, labels: np.ndarray, pixels: np.ndarray) -> dict[str, float]:
    """The longest tail's length below its focus, and the foci counted."""
    from scipy import ndimage

    tail = labels == LABELS["comet_tail"]
    foci = labels == LABELS["crystal"]
    if not tail.any():
        return {}
    _, n = ndimage.label(foci)
    radius = fr.probe.radius_mm
    depth = np.hypot(fr.x, fr.y + radius) - radius
    length = float(depth[tail].max() - depth[foci].min()) if foci.any() else 0.0
    return {"foci": float(n), "tail_mm": round(length, 1)}


def measure_side_lobe(labels: np.ndarray, pixels: np.ndarray, dr: float) -> dict[str, float]:
    """The share of the lumen the side-lobe echoes fill and their level against liver."""
    lobe = labels == LABELS["side_lobe"]
    lumen = lobe | (labels == LABELS["gallbladder"])
    if not lobe.any():
        return {}
    return {
        "lumen_percent": round(100.0 * lobe.sum() / lumen.sum(), 1),
        "contrast_db": round(_db(pixels, lobe, dr) - _db(pixels, labels == LABELS["liver"], dr), 1),
    }


def measure_edge_shadow(
    labels: np.ndarray, pixels: np.ndarray, px: float, dr: float
) -> dict[str, float]:
    """The edge shadows' level against liver in the same rows, in the 3 cm below the
    gallbladder."""
    sh = labels == LABELS["edge_shadow"]
    gb = np.isin(labels, [LABELS["gallbladder"], LABELS["gallbladder_wall"]])
    if not sh.any() or not gb.any():
        return {}
    ys = np.nonzero(gb)[0]
    band = np.zeros_like(sh)
    band[ys.min() : min(labels.shape[0], ys.max() + round(30.0 / px))] = True
    ref = (labels == LABELS["liver"]) & band
    near = sh & band
    if not near.any() or not ref.any():
        return {}
    from scipy import ndimage

    _, n = ndimage.label(near)
    return {
        "bands": float(n),
        "contrast_db": round(_db(pixels, ref, dr) - _db(pixels, near, dr), 1),
    }


def sentences(
    fr, labels: np.ndarray, pixels: np.ndarray, options: set[str]
) -> tuple[list[str], dict[str, dict[str, float]]]:
    """One sentence per artefact measured present in this frame."""
    dr = fr.probe.dynamic_range_db
    out, meas = [], {}
    if "reverberation" in options:
        m = meas["reverberation"] = measure_reverberation(fr, labels, pixels)
        if m.get("bands", 0) >= 2:
            out.append(
                f"Reverberation: {int(m['bands'])} evenly spaced bright bands below the "
                f"gas in a bowel loop under the abdominal wall, every {m['spacing_mm']:.0f}"
                f" mm, the gas's own depth ({m['gas_depth_mm']:.0f} mm): echoes bouncing "
                "between the gas and the probe face, not structures."
            )
    if "comet_tail" in options:
        m = meas["comet_tail"] = measure_comet(fr, labels, pixels)
        if m:
            out.append(
                f"Comet-tail artefacts: {int(m['foci'])} echogenic foci in the anterior "
                f"gallbladder wall, each with a tapering tail of closely spaced echoes "
                f"into the bile (up to {m['tail_mm']:.0f} mm): crystals in "
                "Rokitansky-Aschoff sinuses, adenomyomatosis (benign)."
            )
    if "side_lobe" in options:
        m = meas["side_lobe"] = measure_side_lobe(labels, pixels, dr)
        if m:
            out.append(
                f"Side-lobe artefact: low-level echoes in {m['lumen_percent']:.0f}% of "
                f"the gallbladder lumen next to gas in the adjacent bowel "
                f"({-m['contrast_db']:.0f} dB below liver): pseudo-sludge, they do not "
                "layer and move with the probe."
            )
    if "edge_shadow" in options:
        m = meas["edge_shadow"] = measure_edge_shadow(labels, pixels, fr.px, dr)
        if m and m["contrast_db"] >= 3.0:
            out.append(
                f"Refraction edge shadows: thin dark bands beyond the lateral edges of "
                f"the gallbladder ({m['contrast_db']:.0f} dB below the liver beside them): "
                "beams bent at its curved walls, not stones."
            )
    return out, meas


def label_artefacts(fr, labels: np.ndarray) -> dict[str, np.ndarray]:
    """Write each shown artefact into the label map where it outweighs the anatomy (the
    lumen, the shadowed field, the tissue beyond an edge); return the overlapping masks."""
    L = LABELS
    masks: dict[str, np.ndarray] = {}
    lumen = labels == L["gallbladder"]
    masks["gallbladder"] = lumen.copy()
    fluid = np.isin(
        labels,
        [
            L[n]
            for n in (
                "gallbladder",
                "gallbladder_wall",
                "cyst",
                "free_fluid",
                "pericholecystic_fluid",
                "stone",
                "shadow",
                "bowel_gas",
                "crystal",
                "hydronephrosis",
                "side_marker",
                "annotation",
            )
        ],
    )
    radius = fr.probe.radius_mm
    depth = np.hypot(fr.x, fr.y + radius) - radius
    for name, shown in fr.artefacts.items():
        if name == "reverberation":
            gas = labels == L["bowel_gas"]
            beyond = depth > (depth[gas].max() if gas.any() else np.inf)
            where = shown & beyond
        elif name == "comet_tail":
            where = shown & np.isin(labels, [L["gallbladder"], L["gallbladder_wall"]])
        elif name == "side_lobe":
            where = shown & lumen
        else:
            where = shown & ~fluid
        masks[name] = where
        labels[where] = L[name]
    return masks
