"""Inflammatory skin conditions as clinical photographs (an 80 mm field of skin): plaque
psoriasis, eczema, tinea corporis and urticaria, each with its distribution.

Morphology (Rook's Textbook of Dermatology, 9th ed.; Bolognia, Dermatology, 4th ed.):
- psoriasis: well-demarcated salmon-pink plaques with thick silvery-white scale;
- eczema: ill-defined erythema, papules, excoriations (linear crusts), lichenified skin lines;
- tinea corporis: annular plaques with a raised, scaly, red active border and central clearing;
- urticaria: pale, raised, polycyclic wheals with a red flare, of many sizes.
Erythema is dermal blood, so on darker skin it shows as violaceous or brown-grey through the
epidermal melanin: the optics do this, no per-tone colour is chosen. The key is measured from
the label map and the photograph (`measure_rash`), never from what was built.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from imagine_med.engine.phantom.physics.skin_optics import (
    colour_keys,
    ita_of_lab,
    pixels_of,
    srgb_to_lab,
)
from imagine_med.engine.phantom.regions.skin.lesions import LABELS, Lesion, window
from imagine_med.engine.phantom.regions.skin.skin import (
    F32,
    TRUNCATE,
    Field,
    blur_coarse,
    noise,
)
from imagine_med.engine.phantom.regions.skin.skin import LABELS as SKIN_LABELS

RASHES = ("psoriasis", "eczema", "tinea", "urticaria")
RASH_FIELD_MM = 80.0
# label ids that make up a rash's lesions (the plaque, patch or wheal and what lies on it)
RASH_PARTS = (LABELS["lesion"], LABELS["scale"], LABELS["wheal"], LABELS["active_border"],
              LABELS["excoriation"])


WOBBLE = 0.12  # an edge's wobble: fraction of the radius per unit of its noise field


def _ellipse(f: Field, cx: float, cy: float, a: float, b: float, rot: float, edge: float,
             wobble: np.ndarray | None = None, sl=np.s_[:, :]) -> np.ndarray:
    """0-1 inside an ellipse (semi-axes a, b mm), soft over `edge` mm, edge optionally
    wobbled by a noise field (fractions of the radius); on the window `sl` of the field.
    The field's x varies along rows and y down columns only (`make_field`): the offsets
    are one row and one column, and each step after the rotation works in place."""
    dx, dy = f.x[sl][:1] - F32(cx), f.y[sl][:, :1] - F32(cy)
    cos, sin = F32(np.cos(rot)), F32(np.sin(rot))
    u = dx * cos + dy * sin
    v = -dx * sin + dy * cos
    u /= F32(a)  # r = sqrt((u / a)^2 + (v / b)^2), in u
    np.square(u, out=u)
    v /= F32(b)
    np.square(v, out=v)
    u += v
    r = np.sqrt(u, out=u)
    if wobble is not None:
        grow = F32(WOBBLE) * wobble[sl]
        grow += F32(1)
        r *= grow
    np.subtract(F32(1), r, out=r)  # clip((1 - r) min(a, b) / edge + 0.5, 0, 1)
    r *= F32(min(a, b) / edge)
    r += F32(0.5)
    return np.clip(r, 0, 1, out=r)


def _reach(f: Field, a: float, b: float, edge: float, wobble: np.ndarray | None = None
           ) -> float:
    """mm from an `_ellipse`'s centre beyond which it is exactly 0 (its soft edge ends at
    r = 1 + edge / 2 min(a, b); a wobble shrinking r by at most its field's minimum), with
    1% to spare for float32 rounding; the whole field where the wobble could reach r = 0."""
    shrink = 1.0 if wobble is None else 1.0 + WOBBLE * float(wobble.min())
    whole = 2.0 * f.width_mm
    if shrink <= 0.05:
        return whole
    return min(whole, 1.01 * max(a, b) * (1.0 + 0.5 * edge / min(a, b)) / shrink)


def _blur_reach(f: Field, sigma: float) -> float:
    """mm a gaussian_filter of `sigma` px spreads a shape, plus a pixel: a window that much
    wider than the shape's support blurs to the full image's values (the zeros it reflects
    at its inner edges are zeros there too)."""
    return (int(TRUNCATE * sigma + 0.5) + 1) * f.px


def _centres(rng, n: int, half: float, gap: float, sizes: list[float]) -> list[tuple]:
    """Up to n lesion centres in the field, keeping their edges `gap` mm apart."""
    out: list[tuple[float, float, float]] = []
    for size in sizes[:n]:
        for _ in range(60):
            c = (rng.uniform(-half + 0.4 * size, half - 0.4 * size),
                 rng.uniform(-half + 0.4 * size, half - 0.4 * size))
            if all(np.hypot(c[0] - x, c[1] - y) > (size + s) / 2 + gap for x, y, s in out):
                out.append((c[0], c[1], size))
                break
    return out


# Each lesion below is drawn on the window of the field it can reach (`window`, `_reach`):
# outside it every layer it adds is exactly 0, so the result is the full field's, bit for bit.


def psoriasis(rng, f: Field, lesion: Lesion) -> None:
    """Plaque psoriasis: 2-4 sharply bounded oval plaques 10-32 mm across, salmon-pink,
    raised, under thick silvery-white scale that cracks into plates."""
    half = f.width_mm / 2
    sizes = sorted(rng.uniform(10, 32, 4).tolist(), reverse=True)
    relief = np.zeros_like(f.x)
    surface = np.zeros_like(f.x)
    wob = noise(rng, f.x.shape, int(f.width_mm / 8))
    cracking = noise(rng, f.x.shape, int(f.width_mm / 1.5))  # cracks where it crosses 0
    flakes = noise(rng, f.x.shape, int(f.width_mm / 0.7))
    sigma = 1.2 / f.px  # the scale thins over ~1 mm inside the plaque's edge
    for cx, cy, size in _centres(rng, int(rng.integers(2, 5)), half, 3.0, sizes):
        a, b, rot = size / 2, size / 2 * rng.uniform(0.6, 0.9), rng.uniform(0, np.pi)
        reach = _reach(f, a, b, 0.35, wob)
        sl = window(f, cx, cy, reach + _blur_reach(f, sigma))
        core = window(f, cx, cy, reach)  # inside sl; the plaque is 0 beyond it
        if sl is None or core is None:  # (no plaque in the image: no scale either)
            continue
        on_core = _ellipse(f, cx, cy, a, b, rot, 0.35, wob, core)
        lesion.paint(on_core, core, blood=0.85, scatter=0.4)  # + 0 beyond the core: skipped
        lesion.label(on_core > 0.5, "lesion", core)
        plaque = np.zeros_like(f.x[sl])  # on the scale's wider window
        plaque[core[0].start - sl[0].start:core[0].stop - sl[0].start,
               core[1].start - sl[1].start:core[1].stop - sl[1].start] = on_core
        # a silvery layer thickest in the middle, thinning to a red rim, split by fine cracks
        scale = _psoriatic_scale(plaque, cracking[sl], flakes[sl], sigma)
        lesion.paint(scale, sl, blood=-0.3)
        np.maximum(surface[sl], scale, out=surface[sl])
        lesion.label((scale > 0.5) & (plaque > 0.5), "scale", sl)
        relief[sl] += plaque * F32(0.8) + scale * F32(0.2)
    lesion.relief = relief
    surface *= F32(0.7)
    lesion.surface = surface


def _psoriatic_scale(plaque: np.ndarray, cracking: np.ndarray, flakes: np.ndarray,
                     sigma: float) -> np.ndarray:
    """A plaque's silvery scale 0-1: thickest in the middle (its blur * 1.6 - 0.55), flaky
    (0.62 + 0.15 flakes), split where the cracking field crosses 0 (1 - 0.8 exp(-(c /
    0.15)^2)); in place on two window-sized planes."""
    scale = blur_coarse(plaque, sigma)
    scale *= F32(1.6)
    scale -= F32(0.55)
    np.clip(scale, 0, 1, out=scale)
    flaky = F32(0.15) * flakes
    flaky += F32(0.62)
    scale *= flaky
    np.clip(scale, 0, 1, out=scale)
    crack = np.divide(cracking, F32(0.15), out=flaky)
    np.square(crack, out=crack)
    np.negative(crack, out=crack)
    np.exp(crack, out=crack)
    crack *= F32(0.8)
    np.subtract(F32(1), crack, out=crack)
    scale *= crack
    return scale


PAPULE_MM = 0.45  # papule radius


def eczema(rng, f: Field, lesion: Lesion) -> None:
    """Eczema: ill-defined erythematous patches fading into normal skin, scattered papules,
    linear excoriations with crust, exaggerated skin lines (lichenification)."""
    half = f.width_mm / 2
    field = np.zeros_like(f.x)
    for cx, cy, size in _centres(rng, int(rng.integers(2, 4)), half, -6.0,
                                 sorted(rng.uniform(25, 50, 3).tolist(), reverse=True)):
        wob = noise(rng, f.x.shape, int(f.width_mm / 6))
        a, b, rot = size / 2, size / 2 * rng.uniform(0.6, 0.9), rng.uniform(0, np.pi)
        sl = window(f, cx, cy, _reach(f, a, b, 6.0, wob))
        if sl is not None:
            np.maximum(field[sl], _ellipse(f, cx, cy, a, b, rot, 6.0, wob, sl), out=field[sl])
    lesion.paint(field, blood=0.6, mel_junction=0.15)
    patch = field > 0.5
    lesion.label(patch, "lesion")
    n_pap = int(rng.integers(40, 80))
    inside = np.flatnonzero(patch)  # np.nonzero's pixels, in its order, as flat indices
    relief = np.abs(noise(rng, f.x.shape, int(f.width_mm / 0.8)))
    relief *= field * F32(0.25)
    for k in rng.choice(len(inside), size=min(n_pap, len(inside)), replace=False) \
            if len(inside) else []:
        x, y = float(f.x.flat[inside[k]]), float(f.y.flat[inside[k]])
        sl = window(f, x, y, _reach(f, PAPULE_MM, PAPULE_MM, 0.2))
        pap = _ellipse(f, x, y, PAPULE_MM, PAPULE_MM, 0, 0.2, None, sl)
        lesion.paint(pap, sl, blood=0.7)
        relief[sl] += pap * F32(0.6)
    for _ in range(int(rng.integers(4, 9))):  # excoriations: scratch lines with crust
        k = int(rng.integers(len(inside))) if len(inside) else 0
        if not len(inside):
            break
        x0, y0 = float(f.x.flat[inside[k]]), float(f.y.flat[inside[k]])
        ang, length = rng.uniform(0, np.pi), rng.uniform(3, 8)
        # the scratch fades to 0 within width / 2 + 0.04 mm of its centre line
        sl = window(f, x0 + length / 2 * np.cos(ang), y0 + length / 2 * np.sin(ang),
                    length / 2 + 0.3)
        line = _segment(f, x0, y0, ang, length, 0.3, sl)
        lesion.paint(line, sl, blood=2.2, mel_dermal=0.4, keratin=0.6)
        lesion.label(line > 0.5, "excoriation", sl)
    lesion.relief = relief


def _segment(f: Field, x0: float, y0: float, ang: float, length: float, width: float,
             sl=np.s_[:, :]) -> np.ndarray:
    dx, dy = f.x[sl] - F32(x0), f.y[sl] - F32(y0)
    t = np.clip(dx * F32(np.cos(ang)) + dy * F32(np.sin(ang)), 0, length)
    d = np.hypot(dx - t * F32(np.cos(ang)), dy - t * F32(np.sin(ang)))
    return np.clip((F32(width / 2) - d) / F32(0.08) + 0.5, 0, 1).astype(F32)


def tinea(rng, f: Field, lesion: Lesion) -> None:
    """Tinea corporis: 1-3 annular plaques 18-40 mm across; a raised scaly red border 2-4 mm
    wide advancing outward, the centre cleared to near-normal (slightly brown) skin."""
    half = f.width_mm / 2
    relief = np.zeros_like(f.x)
    surface = np.zeros_like(f.x)
    flakes = noise(rng, f.x.shape, int(f.width_mm / 0.7))
    for cx, cy, size in _centres(rng, int(rng.integers(1, 4)), half, 3.0,
                                 sorted(rng.uniform(18, 40, 3).tolist(), reverse=True)):
        wob = noise(rng, f.x.shape, int(f.width_mm / 10))
        a, b, rot = size / 2, size / 2 * rng.uniform(0.75, 0.95), rng.uniform(0, np.pi)
        w = rng.uniform(2.0, 4.0)
        sl = window(f, cx, cy, max(_reach(f, a, b, 0.4, wob),
                                   _reach(f, a - w, b - w, 1.2, wob)))
        if sl is None:
            continue
        outer = _ellipse(f, cx, cy, a, b, rot, 0.4, wob, sl)
        inner = _ellipse(f, cx, cy, a - w, b - w, rot, 1.2, wob, sl)
        border = np.clip(outer - inner, 0, 1)
        lesion.paint(border, sl, blood=1.4)
        lesion.paint(inner, sl, blood=0.05, mel_junction=0.25)
        scale = np.clip(flakes[sl] * 0.25 + 0.35, 0, 1) * border
        np.maximum(surface[sl], 0.4 * scale, out=surface[sl])
        lesion.label(inner > 0.5, "lesion", sl)
        lesion.label(border > 0.5, "active_border", sl)
        relief[sl] += border * F32(0.7)
    lesion.relief = relief
    lesion.surface = surface


def urticaria(rng, f: Field, lesion: Lesion) -> None:
    """Urticaria: 5-12 wheals 4-28 mm, polycyclic (merged round blobs), pale oedematous
    centres raised above the skin with a red flare round them."""
    half = f.width_mm / 2
    relief = np.zeros_like(f.x)
    sizes = sorted(rng.uniform(4, 28, 12).tolist(), reverse=True)
    sigma = 1.5 / f.px  # the flare spreads ~1.5 mm beyond the wheal
    for cx, cy, size in _centres(rng, int(rng.integers(5, 13)), half, 2.5, sizes):
        lobes = [(*rng.normal(0, size / 6, 2), size / 2 * rng.uniform(0.55, 0.85))
                 for _ in range(int(rng.integers(1, 4)))]  # polycyclic: a few merged lobes
        reach = max(np.hypot(ox, oy) + _reach(f, r, r, 0.6) for ox, oy, r in lobes)
        sl = window(f, cx, cy, reach + _blur_reach(f, sigma))
        core = window(f, cx, cy, reach)  # inside sl; the wheal is 0 beyond it
        if sl is None or core is None:  # (no wheal in the image: a flare of 0 too)
            continue
        wheal = np.zeros_like(f.x[core])
        for ox, oy, r in lobes:
            wheal = np.maximum(wheal, _ellipse(f, cx + ox, cy + oy, r, r, 0, 0.6, None, core))
        spread = np.zeros_like(f.x[sl])  # the wheal on the flare's wider window
        spread[core[0].start - sl[0].start:core[0].stop - sl[0].start,
               core[1].start - sl[1].start:core[1].stop - sl[1].start] = wheal
        flare = np.clip(blur_coarse(spread, sigma) * 1.6 - spread, 0, 1)
        lesion.paint(flare, sl, blood=0.8)
        lesion.paint(wheal, core, scatter=0.9, blood=0.25)  # + 0 beyond the core: skipped
        lesion.label(wheal > 0.5, "wheal", core)
        relief[core] += wheal * F32(0.9)
    lesion.relief = relief


BUILDERS = {"psoriasis": psoriasis, "eczema": eczema, "tinea": tinea, "urticaria": urticaria}


def measure_rash(rgb: np.ndarray, labels: np.ndarray, px: float) -> dict[str, float]:
    """Counts, sizes, cover and colour of a rash from its written label map and image:
    lesions are the connected pieces of the rash's labels; erythema is the CIELAB a* of the
    lesions over that of the clear skin; scale the share of plaque covered by scale; for an
    annulus, the border's a* over its centre's (central clearing)."""
    parts = np.isin(labels, RASH_PARTS)
    skin = labels == SKIN_LABELS["skin"]
    a_star, skin_lab = _lab_reads(rgb, skin)
    out: dict[str, float] = {"ita": round(ita_of_lab(skin_lab), 1) if skin.any()
                             else float("nan")}
    scaly = labels == LABELS["scale"]
    red = parts & ~scaly  # erythema is read where no scale covers it
    pieces, n = ndimage.label(_inside_frame(parts))
    if not n:
        return out
    sizes = np.bincount(pieces.ravel(), minlength=n + 1)[1:]  # pixels per piece
    keep = sizes * px * px >= 3.0  # a lesion is >= 3 mm2; smaller specks are papules
    diam = 2 * np.sqrt(sizes[keep] * px * px / np.pi)
    out |= {"lesions": int(keep.sum()), "cover_percent": round(100 * parts.mean(), 1),
            "diameter_min_mm": round(float(diam.min()), 1) if len(diam) else 0.0,
            "diameter_max_mm": round(float(diam.max()), 1) if len(diam) else 0.0,
            "erythema_a": round(float(a_star[red].mean() - a_star[skin].mean()), 1)
            if red.any() else 0.0}
    plaque = np.isin(labels, (LABELS["lesion"], LABELS["scale"]))
    if scaly.any() and plaque.any():
        out["scale_percent"] = round(100 * float(scaly.sum() / plaque.sum()), 1)
    border = labels == LABELS["active_border"]
    centre = labels == LABELS["lesion"]
    if border.any() and centre.any():
        out["border_minus_centre_a"] = round(float(a_star[border].mean()
                                                   - a_star[centre].mean()), 1)
    for name in ("wheal", "excoriation"):
        m = labels == LABELS[name]
        if m.any():
            out[f"{name}s"] = int(ndimage.label(m)[1])
    return out


def _lab_reads(rgb: np.ndarray, skin: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """What `measure_rash` reads of the image's CIELAB: the a* plane (contiguous: masks
    pick from it fast) and the clear skin's pixels (n, 3), as `srgb_to_lab` and `pixels_of`
    give them; gathered by colour key (`colour_keys`) from Lab tables indexed by key,
    without the (H, W, 3) image in between."""
    found = colour_keys(rgb)
    if found is None:
        lab = srgb_to_lab(rgb)
        return np.ascontiguousarray(lab[..., 1]), pixels_of(lab, skin)
    key, keys, lab_of = found
    by_key = np.zeros((keys[-1] + 1, 3), lab_of.dtype)
    by_key[keys] = lab_of
    a_by_key = np.ascontiguousarray(by_key[:, 1])
    return (np.take(a_by_key, key),
            np.take(by_key, np.compress(skin.ravel(), key.ravel()), axis=0))


CLOSING_STEPS = 2  # the lesion pieces' closing (iterations), which sets the frame below


def _inside_frame(mask: np.ndarray) -> np.ndarray:
    """`ndimage.binary_closing(mask, iterations=2) & mask`, without the closing: a closing
    keeps every pixel of the mask but where its erosion meets the image's edge (counted
    empty), so the AND is the mask less a frame 2 pixels wide."""
    k = CLOSING_STEPS
    out = np.zeros_like(mask)
    out[k:-k, k:-k] = mask[k:-k, k:-k]
    return out


def rash_sentence(name: str, m: dict[str, float]) -> str:
    """The key's description of a rash from `measure_rash` numbers."""
    if not m.get("lesions"):
        return f"No {name} lesion is in the field."
    n, lo, hi = int(m["lesions"]), m["diameter_min_mm"], m["diameter_max_mm"]
    size = f"{lo:.0f} mm" if n == 1 else f"{lo:.0f}-{hi:.0f} mm"
    ery = f"erythema a* +{m['erythema_a']:.0f} over the clear skin"
    cover = f"{m['cover_percent']:.0f}% of the field"
    if name == "psoriasis":
        return (f"Plaque psoriasis: {n} well-demarcated plaque{'s' * (n > 1)} ({size}, {cover}), "
                f"{m.get('scale_percent', 0):.0f}% covered by silvery-white scale; {ery}.")
    if name == "eczema":
        return (f"Eczema: ill-defined erythematous patches over {cover} ({ery}) with papules "
                f"and {int(m.get('excoriations', 0))} excoriations.")
    if name == "tinea":
        clear = m.get("border_minus_centre_a", 0.0)
        return (f"Tinea corporis: {n} annular plaque{'s' * (n > 1)} ({size}) with a raised scaly "
                f"red border and central clearing (border a* {clear:+.0f} over the centre).")
    return (f"Urticaria: {int(m.get('wheals', n))} pale, raised wheals ({size}) with a red "
            f"flare; {ery}.")
