"""Dental findings as changes of the path-length maps: each is one function that takes the
film's maps (tissue -> mm along the beam), the placed tooth and its numbers, and returns the
mask its label takes."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from imagine_med.engine.phantom.regions.dental.region import DentalBody, DentalFinding
from imagine_med.engine.phantom.regions.dental.teeth import Placed, frame

Maps = dict[str, np.ndarray]


def impact(body: DentalBody) -> None:
    """Impacted third molars: tipped mesially (crown against the second molar's distal
    surface, Winter's mesioangular) and held below the occlusal plane."""
    for f in body.findings:
        if f.name != "impacted_tooth":
            continue
        for i, p in enumerate(body.teeth):
            if p.tooth.fdi != f.fdi:
                continue
            side = 1.0 if p.s > 0 else -1.0
            ang = np.radians(f.params["angle_deg"])
            # crown toward the midline: for the lower jaw (up = +1) +angle tips toward +s
            angle = -side * ang * p.up
            drop = f.params["depth_mm"] + p.tooth.size.crown * np.sin(ang) * 0.5
            body.teeth[i] = replace(p, angle=angle, z=p.z - p.up * drop,
                                    s=p.s + side * 3.5, tooth=replace(p.tooth, erupted=True))


def caries(m: Maps, p: Placed, f: DentalFinding, S: np.ndarray, Z: np.ndarray) -> np.ndarray:
    """A cavity at the mesial or distal contact area (or occlusal): a cone of enamel and
    dentine lost, `depth_mm` deep from the surface; its label where it takes > 0.6 mm."""
    u, w = frame(p, S, Z)
    sz = p.tooth.size
    surface = int(f.params["surface"])
    depth, width = f.params["depth_mm"], f.params["width_mm"]
    if surface == 2:  # occlusal pit
        cu, cw = 0.0, sz.crown
        du, dw = (u - cu) / (width / 2), (cw - w) / depth
    else:
        sign = -1.0 if surface == 0 else 1.0
        cu, cw = sign * sz.md / 2, 0.62 * sz.crown
        du, dw = (sign * (cu - u)) / depth, (w - cw) / (width / 2)
    inside = (du >= 0) & (du ** 2 + dw ** 2 < 1.0) if surface != 2 else \
        (dw >= 0) & (du ** 2 + dw ** 2 < 1.0)
    lost_depth = 5.0 * np.sqrt(np.clip(1 - du ** 2 - dw ** 2, 0, 1))
    for t in ("enamel", "dentine"):
        take = np.where(inside, np.minimum(m[t], lost_depth), 0.0)
        m[t] = m[t] - take
        lost_depth = lost_depth - take
    return inside & (5.0 * np.sqrt(np.clip(1 - du ** 2 - dw ** 2, 0, 1)) - lost_depth > 0.6)


def periapical(m: Maps, p: Placed, f: DentalFinding, S: np.ndarray, Z: np.ndarray
               ) -> np.ndarray:
    """A granuloma or cyst at the apex: a sphere of bone resorbed (its chord taken from the
    cancellous and some cortical path), with a thin sclerotic rim."""
    sz = p.tooth.size
    r = f.params["diameter_mm"] / 2
    # apex: root length below the CEJ along the axis
    ax = np.array([np.sin(p.angle) * p.up, np.cos(p.angle)])
    cs = p.s - p.up * ax[0] * (sz.root + r * 0.55) * 0 - np.sin(p.angle) * (sz.root + r * 0.5)
    cz = p.z - p.up * np.cos(p.angle) * (sz.root + r * 0.5)
    d2 = (S - cs) ** 2 + (Z - cz) ** 2
    chord = 2 * np.sqrt(np.clip(r * r - d2, 0, None))
    take = np.minimum(m["cancellous"], chord)
    m["cancellous"] = m["cancellous"] - take
    m["cortical"] = m["cortical"] - np.minimum(m["cortical"], 0.35 * np.clip(chord - take, 0,
                                                                              None))
    rim = np.abs(np.sqrt(d2) - r) < 0.35
    m["cortical"] = m["cortical"] + np.where(rim, 1.2, 0.0)
    tooth = m.get("_tooth_path")
    mask = d2 < (r * 0.92) ** 2
    if tooth is not None:
        mask &= tooth < 0.5
    return mask


def restoration(m: Maps, p: Placed, f: DentalFinding, S: np.ndarray, Z: np.ndarray
                ) -> dict[str, np.ndarray]:
    """An occlusal-proximal (MO/DO) filling: a box in the crown replacing enamel and dentine
    with amalgam (opaque) or composite; optionally a root filling down the canals."""
    u, w = frame(p, S, Z)
    sz = p.tooth.size
    box = (np.abs(u + 0.18 * sz.md) < 0.34 * sz.md) & (w > 0.45 * sz.crown) & \
        (w < sz.crown + 0.3)
    take = np.where(box, m["enamel"] + m["dentine"] + m["pulp"], 0.0) * 0.7
    frac = np.where(box, 0.3, 1.0)
    for t in ("enamel", "dentine", "pulp"):
        m[t] = m[t] * frac
    mat = "composite" if f.params["material"] else "amalgam"
    m[mat] = m.get(mat, np.zeros_like(S)) + take
    out = {"restoration": box & (take > 0.8)}
    if f.params.get("root_filled"):
        canal = (w < 0) & (w > -sz.root + 1.0) & (np.abs(u) < 0.5)
        m["gutta_percha"] = m.get("gutta_percha", np.zeros_like(S)) + np.where(canal, 1.0, 0.0)
        out["root_filling"] = canal
    return out


def implant(m: Maps, p: Placed, f: DentalFinding, S: np.ndarray, Z: np.ndarray
            ) -> dict[str, np.ndarray]:
    """A titanium screw implant (4 mm x 10-11.5 mm, threads every 0.8 mm) where the tooth was,
    with a porcelain crown on it."""
    u, w = frame(p, S, Z)
    sz = p.tooth.size
    length, rad = 10.0 if p.up < 0 else 11.5, 2.0
    thread = 0.35 * (np.sin(2 * np.pi * w / 0.8) > 0)
    r_here = rad - 0.6 * np.clip((-w - (length - 2.0)) / 2.0, 0, 1) + thread
    body = (w < -0.3) & (w > -length) & (np.abs(u) < r_here)
    abut = (w >= -0.3) & (w < 2.0) & (np.abs(u) < 1.7)
    chord = 2 * np.sqrt(np.clip(r_here ** 2 - u ** 2, 0, None))
    ti = np.where(body, chord, 0.0) + np.where(abut, 2 * np.sqrt(np.clip(1.7 ** 2 - u ** 2, 0,
                                                                          None)), 0.0)
    m["cancellous"] = m["cancellous"] - np.minimum(m["cancellous"], ti)
    m["titanium"] = m.get("titanium", np.zeros_like(S)) + ti
    a = sz.md / 2
    crown = (w > 0) & (w < sz.crown) & (np.abs(u) < a * np.sqrt(np.clip(
        1 - ((w - sz.crown * 0.45) / (sz.crown * 0.62)) ** 4, 0, 1)))
    chord_c = np.where(crown, 2 * (sz.bl / 2) * np.sqrt(np.clip(1 - (u / a) ** 2, 0, 1)), 0.0)
    m["porcelain"] = m.get("porcelain", np.zeros_like(S)) + chord_c
    return {"implant": body | abut, "crown": crown}


def fracture(lower: Maps, f: DentalFinding, p: Placed, S: np.ndarray, Z: np.ndarray,
             px: float) -> np.ndarray:
    """A complete fracture of the mandibular body distal to tooth `p`: a line through the bone
    at `tilt_deg`, the distal fragment (every lower-jaw map, labels included) dropped by
    `step_mm`, the gap (`gap_mm`) emptied. Returns the gap's mask."""
    side = 1.0 if p.s > 0 else -1.0
    s0 = p.s + side * (p.tooth.size.md / 2 + 0.4)
    t = np.tan(np.radians(f.params["tilt_deg"]))
    line = S - (s0 + t * (Z - p.z))  # signed: > 0 on the +s side
    distal = side * line > 0
    shift = round(f.params["step_mm"] / px)
    for k, arr in lower.items():
        moved = np.zeros_like(arr)
        if shift:
            moved[shift:] = arr[:-shift]
        else:
            moved[:] = arr
        lower[k] = np.where(distal, moved, arr)
    bone = lower["_mandible"] > 0
    gap = (np.abs(line) < f.params["gap_mm"] / 2) & bone
    for k, arr in lower.items():
        if not k.startswith("_"):
            lower[k] = np.where(gap, 0.0, arr)
    return gap
