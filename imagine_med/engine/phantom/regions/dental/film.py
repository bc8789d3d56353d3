"""The panoramic film of one dental body: jaws and teeth as path-length maps in the focal layer,
findings as changes of those maps, the off-layer structures (far ramus, spine, hyoid, far half of
the palate) through physics/panoramic.py, then exposure and the label map.

Steps: grid -> lower jaw (mandible, canal, lower teeth) -> upper jaw (maxilla, sinuses, palate,
upper teeth) -> findings -> fracture -> soft tissue and air -> ghosts -> expose -> labels."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from imagine_med.engine.phantom.physics.panoramic import Grid, Trough, expose, place
from imagine_med.engine.phantom.regions.dental import findings as fx
from imagine_med.engine.phantom.regions.dental import jaw
from imagine_med.engine.phantom.regions.dental.labels import LABELS, tooth_ids
from imagine_med.engine.phantom.regions.dental.region import DentalBody
from imagine_med.engine.phantom.regions.dental.teeth import Placed, bbox, paths
from imagine_med.engine.phantom.tissues import tissue

S_SPAN, Z_SPAN, Z_MID = 224.0, 112.0, 2.0  # the field, nominal mm (a 2:1 panoramic film)
TOOTH_TISSUES = ("enamel", "dentine", "pulp", "cementum")
MU = {n: tissue(n).mu / 10.0 for n in (  # per mm
    "enamel", "dentine", "pulp", "cementum", "cortical_bone", "cancellous_bone", "amalgam",
    "composite", "titanium", "porcelain", "gutta_percha", "muscle")}
MU["cortical"], MU["cancellous"] = MU["cortical_bone"], MU["cancellous_bone"]
MU_SOFT = MU["muscle"]
MIN_TOOTH_MM = 0.8  # a tooth pixel's label needs this much tooth along the ray
RAMUS_GHOST_DELTA = -95.0  # the far ramus lies ~ the bigonial width lingual of the layer
SPINE_DELTA = -85.0  # cervical spine behind the incisors
HYOID_DELTA = -40.0
PALATE_GHOST_DELTA = -75.0


def field_grid(width: int, height: int) -> tuple[Grid, tuple[int, int], float]:
    """The film's grid fitted into the canvas (letterboxed); returns (grid, (row0, col0), px)."""
    px = max(S_SPAN / width, Z_SPAN / height)
    nw, nh = round(S_SPAN / px), round(Z_SPAN / px)
    nw, nh = min(nw, width), min(nh, height)
    s = (np.arange(nw) - (nw - 1) / 2) * px
    z = Z_MID + ((nh - 1) / 2 - np.arange(nh)) * px
    return Grid(s, z), ((height - nh) // 2, (width - nw) // 2), px


def _teeth(maps: dict[str, np.ndarray], teeth: list[Placed], S: np.ndarray, Z: np.ndarray,
           px: float) -> None:
    """Add each tooth's tissues, displace the bone its root fills, and keep for each pixel the
    tooth with the longest path and which of its parts (enamel, dentine, pulp) dominates."""
    for p in teeth:
        s0, s1, z0, z1 = bbox(p)
        c0 = max(0, int(np.searchsorted(S[0], s0)))
        c1 = min(S.shape[1], int(np.searchsorted(S[0], s1)) + 1)
        r0 = max(0, int(np.searchsorted(-Z[:, 0], -z1)))
        r1 = min(S.shape[0], int(np.searchsorted(-Z[:, 0], -z0)) + 1)
        if c1 <= c0 or r1 <= r0:
            continue
        win = (slice(r0, r1), slice(c0, c1))
        t = paths(p, S[win], Z[win])
        total = t["enamel"] + t["dentine"] + t["pulp"] + t["cementum"]
        for k in TOOTH_TISSUES:
            maps[k][win] += t[k]
        maps["cancellous"][win] -= np.minimum(maps["cancellous"][win], total)
        _socket(maps, win, t["cementum"] > 0, px)
        dent, enam, pulp = tooth_ids(p.tooth.fdi) if p.tooth.erupted else (
            LABELS[f"germ_{p.tooth.fdi}"],) * 3
        att = MU["enamel"] * t["enamel"] + MU["dentine"] * (t["dentine"] + t["cementum"])
        part = np.where(MU["enamel"] * t["enamel"] >= 0.5 * att, enam,
                        np.where(t["pulp"] >= 0.25 * total, pulp, dent))
        better = (total > maps["_best"][win]) & (total > MIN_TOOTH_MM)
        maps["_best"][win] = np.where(better, total, maps["_best"][win])
        maps["_lab"][win] = np.where(better, part, maps["_lab"][win])
        maps["_tooth_path"][win] += total


def _socket(maps: dict[str, np.ndarray], win, root: np.ndarray, px: float) -> None:
    """The periodontal ligament (~0.2 mm, soft) and the lamina dura (the socket's thin cortical
    lining) around a root in bone: a dark line then a bright one on the film."""
    from scipy import ndimage

    if not root.any():
        return
    step = max(1, round(0.25 / px))
    pdl = ndimage.binary_dilation(root, iterations=step) & ~root
    dura = ndimage.binary_dilation(root, iterations=2 * step) & ~root & ~pdl
    bone = maps["cancellous"][win] > 0.5
    c = maps["cancellous"][win]
    maps["cancellous"][win] = np.where(pdl & bone, c * 0.55, c)
    maps["cortical"][win] += np.where(dura & bone, 2.2, 0.0)


def _trabeculae(shape: tuple[int, int], px: float, rng: np.random.Generator) -> np.ndarray:
    """Cancellous bone's texture: a band-passed random field (struts ~0.5-1.5 mm) scaling the
    bone along each ray between ~0.6 and ~1.4."""
    from scipy import ndimage

    n = rng.standard_normal(shape).astype(np.float32)
    b = ndimage.gaussian_filter(n, 0.7 / px) - ndimage.gaussian_filter(n, 2.5 / px)
    b /= b.std() + 1e-6
    return np.clip(1.0 + 0.13 * b, 0.6, 1.4)


FINDING_FN = {"caries": lambda *a: {"caries": fx.caries(*a)},
              "periapical_lesion": lambda *a: {"periapical_lesion": fx.periapical(*a)},
              "restoration": fx.restoration, "implant": fx.implant}


def _window(p: Placed, S: np.ndarray, Z: np.ndarray, pad: float = 8.0) -> tuple[slice, slice]:
    s0, s1, z0, z1 = bbox(p, pad)
    c0, c1 = int(np.searchsorted(S[0], s0)), int(np.searchsorted(S[0], s1)) + 1
    r0, r1 = int(np.searchsorted(-Z[:, 0], -z1)), int(np.searchsorted(-Z[:, 0], -z0)) + 1
    return slice(max(0, r0), min(S.shape[0], r1)), slice(max(0, c0), min(S.shape[1], c1))


def _on_tooth(m: dict[str, np.ndarray], f, p: Placed, S: np.ndarray, Z: np.ndarray) -> None:
    """Run one tooth finding on the window around its tooth (cheap), writing its map changes
    and its label mask (`_mark_<label>`) back into the jaw's maps."""
    fn = FINDING_FN.get(f.name)
    if fn is None:
        return
    win = _window(p, S, Z)
    sub = {k: v[win].copy() for k, v in m.items()}
    got = fn(sub, p, f, S[win], Z[win])
    for k, v in sub.items():
        if k not in m:
            m[k] = np.zeros(S.shape, np.float32)
        m[k][win] = v
    for k, v in got.items():
        key = "_mark_" + k
        if key not in m:
            m[key] = np.zeros(S.shape, np.float32)
        m[key][win] = np.maximum(m[key][win], v.astype(np.float32))


def _empty(shape: tuple[int, ...]) -> dict[str, np.ndarray]:
    m = {k: np.zeros(shape, np.float32) for k in (*TOOTH_TISSUES, "cortical", "cancellous")}
    m |= {k: np.zeros(shape, np.float32) for k in ("_best", "_lab", "_tooth_path")}
    return m


def _finding_tooth(body: DentalBody, fdi: int) -> Placed | None:
    return body.placed(fdi) or body.removed.get(fdi)


@lru_cache(maxsize=12)
def _fixed(width: int, height: int, shape: jaw.JawShape, trough: Trough) -> dict:
    """What depends only on the canvas and the jaw's shape, not on the seed: bone maps, soft
    tissue, and the off-layer shadows (kept warm; a worker renders many films of one size)."""
    grid, _, _px = field_grid(width, height)
    S, _Z = np.meshgrid(grid.s.astype(np.float32), grid.z.astype(np.float32))
    mand = jaw.mandible(grid, shape)
    canal = jaw.canal(grid, shape) * mand["mask"]
    mx = jaw.maxilla(grid, shape)
    soft = jaw.soft_tissue(grid, shape)
    air = soft["air"] + mx["air"]
    soft_a = MU_SOFT * np.clip(soft["soft"] - air, 0, None)
    out = {"mand": mand, "mx": mx, "canal": canal, "soft_base": float(np.median(soft_a)),
           "mand_canc": np.clip(mand["cancellous"] - canal, 0, None),
           "_mandible": mand["mask"].astype(np.float32),
           "_canal": (canal > 1.0).astype(np.float32),
           "_condyle_r": mand["condyle_right"].astype(np.float32),
           "_condyle_l": mand["condyle_left"].astype(np.float32),
           "soft_a": (MU_SOFT * np.clip(soft["soft"] - air, 0, None)).astype(np.float32)}
    ramus_a = (MU["cortical"] * mand["cortical"] + MU["cancellous"] * mand["cancellous"])
    rs = shape.ramus_s * shape.size
    ghosts = np.zeros_like(S)
    for side in (-1.0, 1.0):
        half = np.where(side * S > rs - 6 * shape.size, ramus_a, 0.0)
        ghosts += place(half, grid, trough, side * (rs + 8 * shape.size), RAMUS_GHOST_DELTA,
                        s_img=-side * (rs + 8 * shape.size))
        pal = np.where((side * S > 0) & (side * S < 40) & mx["palate"],
                       MU["cortical"] * mx["cortical"], 0.0)
        ghosts += 0.15 * place(pal, grid, trough, side * 30.0, PALATE_GHOST_DELTA,
                              s_img=-side * 30.0)
    out["ghosts"] = ghosts
    from scipy import ndimage

    spine = ndimage.gaussian_filter(jaw.spine(grid, shape), 1.5 / grid.px)  # rounded end plates
    out["spine"] = place(MU["cortical"] * 0.4 * spine, grid, trough, 0.0, SPINE_DELTA)
    hy = jaw.hyoid(grid, shape) * (np.abs(S) < 12 * shape.size)
    out["hyoid"] = sum(place(MU["cortical"] * hy, grid, trough, 0.0, HYOID_DELTA,
                             s_img=side * 68.0) for side in (-1.0, 1.0))
    for d in (out, mand, mx):  # float32 halves what the cache holds
        for k, v in d.items():
            if isinstance(v, np.ndarray) and v.dtype == np.float64:
                d[k] = v.astype(np.float32)
    return out


def jaw_maps(body: DentalBody, S: np.ndarray, Z: np.ndarray, px: float,
             rng: np.random.Generator, bones: dict[str, np.ndarray],
             masks: dict[str, np.ndarray]) -> tuple[dict, dict]:
    """The layer's two jaws on any grid (the panoramic film's or an intraoral film's): bone
    with its trabeculae, the teeth, the findings on teeth and a fracture; `masks` are the
    mandible's label masks (moved with a fracture's fragment)."""
    lower = _empty(S.shape)
    trab = _trabeculae(S.shape, px, rng)
    lower["cortical"] += bones["mand_cortical"]
    lower["cancellous"] += bones["mand_canc"] * trab
    for k, v in masks.items():
        lower[k] = v.copy()
    _teeth(lower, [p for p in body.teeth if p.up > 0], S, Z, px)
    upper = _empty(S.shape)
    upper["cortical"] += bones["max_cortical"]
    upper["cancellous"] += bones["max_canc"] * trab
    _teeth(upper, [p for p in body.teeth if p.up < 0], S, Z, px)
    fracture = None
    for f in body.findings:
        p = _finding_tooth(body, f.fdi) if f.fdi is not None else None
        if p is None:
            continue
        m = lower if p.up > 0 else upper
        if f.name == "mandibular_fracture":
            fracture = (f, p)
            continue
        _on_tooth(m, f, p, S, Z)
    if fracture is not None:
        f, p = fracture
        gap = fx.fracture(lower, f, p, S, Z, px)
        lower["_mark_fracture_line"] = gap.astype(np.float32)
    return lower, upper


def render(body: DentalBody, width: int, height: int, rng: np.random.Generator,
           trough: Trough | None = None) -> tuple[np.ndarray, np.ndarray, float]:
    """(grey uint8 (H, W), labels uint8 (H, W), nominal mm per pixel)."""
    trough = trough or Trough()
    grid, (row0, col0), px = field_grid(width, height)
    S, Z = np.meshgrid(grid.s.astype(np.float32), grid.z.astype(np.float32))
    shape = body.shape
    fixed = _fixed(width, height, shape, trough)
    mx = fixed["mx"]
    bones = {"mand_cortical": fixed["mand"]["cortical"], "mand_canc": fixed["mand_canc"],
             "max_cortical": mx["cortical"], "max_canc": mx["cancellous"]}
    lower, upper = jaw_maps(body, S, Z, px, rng, bones,
                            {k: fixed[k] for k in ("_mandible", "_canal", "_condyle_r",
                                                   "_condyle_l")})
    # attenuation in the layer
    a = np.zeros(S.shape, np.float32)
    for m in (lower, upper):
        for k, v in m.items():
            if not k.startswith("_"):
                a += MU[k] * v
    a += fixed["soft_a"] + fixed["ghosts"] + fixed["spine"] + fixed["hyoid"]
    # automatic exposure: the window follows the patient's soft-tissue baseline (a child's head
    # attenuates less; units lower kV/mA for children)
    base = fixed["soft_base"]
    grey = expose(a, rng, photons=2.0e5, lo=base - 0.12, hi=base + 1.2 * shape.size)
    labels = _labels(lower, upper, mx, fixed["ghosts"], fixed["spine"], fixed["hyoid"])
    out = np.zeros((height, width), np.uint8)
    lab = np.zeros((height, width), np.uint8)
    h, w = grey.shape
    out[row0:row0 + h, col0:col0 + w] = (grey * 255 + 0.5).astype(np.uint8)
    lab[row0:row0 + h, col0:col0 + w] = labels
    return out, lab, px


def _labels(lower, upper, mx, ghosts, spine_g, hyoid) -> np.ndarray:
    """Priority: findings > teeth > canal > condyles > bones > sinuses and cavities > the
    off-layer shadows; 0 is soft tissue and air."""
    L = LABELS
    lab = np.zeros(lower["cortical"].shape, np.uint8)

    def put(mask, name):
        lab[mask] = L[name]

    put(spine_g > 0.12, "ghost_spine")
    put(ghosts > 0.12, "ghost_ramus")
    put(hyoid > 0.12, "hyoid")
    put(mx["nasal"], "nasal_cavity")
    put(mx["sinus_right"], "maxillary_sinus_right")
    put(mx["sinus_left"], "maxillary_sinus_left")
    put(mx["mask"] & ~mx["sinus_right"] & ~mx["sinus_left"] & ~mx["nasal"], "maxilla")
    put(mx["palate"], "hard_palate")
    put(lower["_mandible"] > 0.5, "mandible")
    put(lower["_condyle_r"] > 0.5, "condyle_right")
    put(lower["_condyle_l"] > 0.5, "condyle_left")
    put((lower["_canal"] > 0.5) & (lower["_mandible"] > 0.5), "mandibular_canal")
    for m in (upper, lower):
        t = m["_lab"] > 0
        lab[t] = m["_lab"][t].astype(np.uint8)
    for m in (upper, lower):
        for k, v in m.items():
            if k.startswith("_mark_"):
                put(v > 0.5, k[len("_mark_"):])
    return lab
