"""Skin photographs from optical columns: a layered reflectance model per colour channel.

Steps (one column per pixel, three wavelengths: R 620, G 545, B 460 nm):
1. stratum corneum: corneal melanin (black, almost flat spectrum), double pass;
2. epidermis: melanin at the dermo-epidermal junction, absorption ~ lambda^-3.5 (brown);
3. papillary dermis: collagen backscatter, stronger at short wavelengths (Rayleigh-like);
4. reticular dermis: Kubelka-Munk reflectance of blood (oxy/deoxyhaemoglobin) and
   collagen scatter; melanin deep in the dermis absorbs what comes back from below, so what
   is left is the bluish papillary backscatter: blue-grey (the Tyndall effect);
5. display: white-balanced exposure, sRGB gamma; dermoscopy polarised (no surface glare),
   clinical photographs add specular highlights on the skin relief.
Numbers are relative units chosen so that skin types I-VI land in their ITA ranges
(physics.md "Dermoscopy additions"); `ita` converts an image back to ITA degrees.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from imagine_med.engine.phantom.tissues import SKIN_OPTICS as T

F32 = np.float32


@dataclass
class Columns:
    """Per pixel (H, W) float32 maps, in the optics' relative units."""

    mel_corneal: np.ndarray    # black pigment in the stratum corneum
    mel_junction: np.ndarray   # epidermal melanin (skin tone + junctional pigment)
    mel_dermal: np.ndarray     # melanin (melanophages, nests) in the dermis
    blood: np.ndarray          # dermal blood volume fraction
    scatter: np.ndarray        # collagen scatter (1 normal; > 1 fibrosis, regression, cysts)
    keratin: np.ndarray        # yellowish keratin (seborrhoeic keratosis, crust)


LAYERS = ("mel_corneal", "mel_junction", "mel_dermal", "blood", "scatter", "keratin")


def _spec(name: str) -> np.ndarray:
    return np.asarray(T[name], F32)


def reflectance(c: Columns) -> np.ndarray:
    """(H, W, 3) diffuse reflectance in [0, 1]."""
    out = np.empty((*c.blood.shape, 3), F32)
    flat = zero_layers(c)
    for ch in range(3):
        out[..., ch] = reflectance_channel(c, ch, flat)
    return out


def zero_layers(c: Columns) -> tuple[bool, bool, bool]:
    """Whether corneal melanin, keratin and dermal melanin are all zero (`reflectance_channel`
    skips their terms)."""
    return not c.mel_corneal.any(), not c.keratin.any(), not c.mel_dermal.any()


def reflectance_channel(c: Columns, ch: int,
                        flat: tuple[bool, bool, bool] = (False, False, False),
                        capped: np.ndarray | None = None) -> np.ndarray:
    """One channel's (H, W) diffuse reflectance: Kubelka-Munk dermis under the papillary
    backscatter, seen through the corneal, epidermal and keratin pigment (double pass).
    Worked in place (few full-size temporaries); `flat` (`zero_layers`): corneal melanin,
    keratin, dermal melanin all zero (their terms, exactly 0 or x1, are skipped); `capped`:
    min(scatter, 3), the papillary backscatter's share, if made already (the same for every
    channel)."""
    a_c, a_e, a_d = _spec("mel_corneal"), _spec("mel_epidermal"), _spec("mel_dermal")
    a_hb, k0, a_k = _spec("blood"), _spec("dermis_k"), _spec("keratin")
    rp0, s0 = _spec("papillary_backscatter"), _spec("dermis_s")
    q = c.blood * a_hb[ch]
    q += k0[ch]  # absorption k
    t = c.scatter * s0[ch]  # scatter s
    q /= t  # q = k / s
    np.multiply(q, 2.0, out=t)
    r_inf = q * q
    r_inf += t
    np.sqrt(r_inf, out=r_inf)
    q += 1.0
    np.subtract(q, r_inf, out=r_inf)  # R_inf = 1 + q - sqrt(q^2 + 2q)
    if capped is None:
        rp = np.minimum(c.scatter, F32(3.0))
        rp *= rp0[ch]
    else:
        rp = capped * rp0[ch]
    deep = r_inf  # exp(0) = 1: no dermal melanin leaves R_inf as it is
    if not flat[2]:
        deep = c.mel_dermal * (-2.0 * a_d[ch])
        np.exp(deep, out=deep)
        deep *= r_inf
    np.subtract(1.0, rp, out=t)
    np.square(t, out=t)
    t *= deep
    t += rp  # rd = rp + (1 - rp)^2 * deep
    # the double pass, exp(-2 (sum of a x pigment)): the -2 goes into each coefficient (a
    # power of two: the same products, rounded the same)
    top = c.mel_junction * (F32(-2.0) * a_e[ch]) if flat[0] \
        else c.mel_corneal * (F32(-2.0) * a_c[ch])
    if not flat[0]:
        top += c.mel_junction * (F32(-2.0) * a_e[ch])
    if not flat[1]:
        top += c.keratin * (F32(-2.0) * a_k[ch])
    np.exp(top, out=top)
    top *= t
    return top


_LUT_N = 8192
_LIN = np.linspace(0.0, 1.0, _LUT_N)
_SRGB_LUT = np.clip(np.round(255.0 * np.where(
    _LIN <= 0.0031308, 12.92 * _LIN, 1.055 * _LIN ** (1 / 2.4) - 0.055)), 0, 255
).astype(np.uint8)


def to_srgb(refl: np.ndarray, exposure: float = 1.0, scratch: bool = False) -> np.ndarray:
    """Linear reflectance -> sRGB uint8 (a white-balanced camera over a white standard);
    the gamma is a table of 8192 steps (finer than the 8-bit output near black).
    `scratch`: float32 `refl` may be overwritten (no temporaries)."""
    if not (scratch and refl.dtype == F32):
        lin = np.clip(refl * F32(exposure * (_LUT_N - 1)), 0.0, _LUT_N - 1)
        return _SRGB_LUT[(lin + F32(0.5)).astype(np.int32)]
    refl *= F32(exposure * (_LUT_N - 1))
    np.maximum(refl, 0.0, out=refl)  # np.clip's values, by two plain ufuncs (cheaper)
    np.minimum(refl, _LUT_N - 1, out=refl)
    refl += F32(0.5)
    index = np.empty(refl.shape, np.int32)
    np.copyto(index, refl, casting="unsafe")  # astype's truncation, into one buffer
    return np.take(_SRGB_LUT, index)


def _srgb_linear(c: np.ndarray) -> np.ndarray:
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


# the sRGB decoding of every 8-bit code: a lookup instead of a power per pixel (same values)
_LINEAR_OF_CODE = _srgb_linear(np.arange(256).astype(F32) / 255.0)


def srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB uint8 (..., 3) -> CIELAB (D65), float32. A photograph has a few thousand
    colours among its pixels, so an image's are converted once each (`_lab_by_colour`)."""
    if rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[0] * rgb.shape[1] >= _BY_COLOUR:
        return _lab_by_colour(rgb)
    return _lab(rgb)


def _lab(rgb: np.ndarray) -> np.ndarray:
    """srgb_to_lab, pixel by pixel."""
    lin = _LINEAR_OF_CODE[rgb] if rgb.dtype == np.uint8 \
        else _srgb_linear(rgb.astype(F32) / 255.0)
    m = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722],
                  [0.0193, 0.1192, 0.9505]], F32)
    xyz = lin @ m.T / np.array([0.95047, 1.0, 1.08883], F32)
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    lab = np.empty_like(f)
    lab[..., 0] = 116 * f[..., 1] - 16
    lab[..., 1] = 500 * (f[..., 0] - f[..., 1])
    lab[..., 2] = 200 * (f[..., 1] - f[..., 2])
    return lab


_BY_COLOUR = 65536  # pixels from which an image is converted colour by colour
_MAX_PAIRS = 4096  # (red, green) pairs up to which the colour table stays small (4 MB)


def _lab_by_colour(rgb: np.ndarray) -> np.ndarray:
    """`_lab` of an (H, W, 3) uint8 image, each distinct colour converted once and the
    values gathered back to its pixels (`colour_keys`): the same numbers (each pixel's Lab
    depends on its own colour only; checked equal in tests)."""
    found = colour_keys(rgb)
    if found is None:
        return _lab(rgb)
    key, keys, lab_of = found
    colour_of = np.zeros(keys[-1] + 1, np.int32)
    colour_of[keys] = np.arange(len(keys), dtype=np.int32)
    return np.take(lab_of, colour_of[key], axis=0)  # lab_of[...], at half its cost


def colour_keys(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """An (H, W, 3) uint8 image's colours: each pixel's colour key (H, W) int32 (its
    (red, green) pair's number x 256 + blue: a few hundred thousand keys, not 2^24), the
    keys present (ascending) and the `_lab` of each (n, 3); None where the (red, green)
    pairs are too many for small tables. A Lab table indexed by key is the key's gather."""
    rg = rgb[..., 0].astype(np.uint16)
    rg <<= 8
    rg |= rgb[..., 1]
    seen = np.zeros(1 << 16, bool)
    seen[rg] = True
    pairs = np.flatnonzero(seen)
    if len(pairs) > _MAX_PAIRS:
        return None
    pair_of = np.zeros(1 << 16, np.int32)
    pair_of[pairs] = np.arange(len(pairs), dtype=np.int32)
    key = pair_of[rg]
    key <<= 8
    key |= rgb[..., 2]
    seen = np.zeros(len(pairs) << 8, bool)
    seen[key] = True
    keys = np.flatnonzero(seen)
    pair = pairs[keys >> 8]
    colours = np.stack([pair >> 8, pair & 255, keys & 255], axis=1).astype(np.uint8)
    return key, keys, _lab(colours)


def pixels_of(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """image[mask] for an (H, W, C) image and an (H, W) mask (the same array, in the same
    order), by np.compress on the flattened pixels: several times faster than numpy's
    boolean indexing over two of three axes."""
    return np.compress(mask.ravel(), image.reshape(-1, image.shape[-1]), axis=0)


def ita_of_lab(lab: np.ndarray) -> float:
    """ITA degrees of a mean colour: arctan((L* - 50) / b*)."""
    L, b = float(lab[..., 0].mean()), float(lab[..., 2].mean())
    return float(np.degrees(np.arctan2(L - 50.0, b)))


def skin_colour(melanin: float, blood: float, exposure: float) -> np.ndarray:
    """The sRGB colour of plain skin with this epidermal melanin and blood (one pixel)."""
    one = np.ones((1, 1), F32)
    cols = Columns(0 * one, melanin * one, 0 * one, blood * one, one, 0 * one)
    return to_srgb(reflectance(cols), exposure)


def melanin_for_ita(target: float, blood: float, exposure: float) -> float:
    """Epidermal melanin giving plain skin this ITA (30 bisection steps; ITA falls as melanin
    rises). Five steps at a time: the 31 melanins those steps could try are coloured in one
    batch (each pixel as `skin_colour` colours it alone), then the path is followed."""
    lo, hi = 0.0, 8.0
    left = 30
    while left:
        depth = min(5, left)
        mids, level = [], [(lo, hi)]
        for _ in range(depth):  # breadth first; node i's children: 2i+1 (above), 2i+2
            nxt = []
            for a, b in level:
                m = 0.5 * (a + b)
                mids.append(m)
                nxt += [(m, b), (a, m)]
            level = nxt
        above = _ita_of_melanins(mids, blood, exposure) > target
        i = 0
        for _ in range(depth):
            mid = 0.5 * (lo + hi)
            if above[i]:
                lo, i = mid, 2 * i + 1
            else:
                hi, i = mid, 2 * i + 2
        left -= depth
    return 0.5 * (lo + hi)


def _ita_of_melanins(melanins: list[float], blood: float, exposure: float) -> np.ndarray:
    """ITA degrees of plain skin at each epidermal melanin (one pixel each)."""
    one = np.ones((len(melanins), 1), F32)
    mel = np.asarray(melanins, np.float64).astype(F32)[:, None] * one
    cols = Columns(0 * one, mel, 0 * one, blood * one, one, 0 * one)
    lab = srgb_to_lab(to_srgb(reflectance(cols), exposure))[:, 0, :]
    return np.array([float(np.degrees(np.arctan2(float(L) - 50.0, float(b))))  # ita_of_lab's
                     for L, b in zip(lab[:, 0], lab[:, 2], strict=True)])


def specular(relief: np.ndarray, rng: np.random.Generator, strength: float) -> np.ndarray:
    """Highlights of a non-polarised flash on the skin's relief (clinical photographs):
    bright where the surface faces the light, in small glints."""
    gy, gx = np.gradient(relief)
    facing = np.clip(1.0 - 6.0 * np.hypot(gx - 0.04, gy + 0.04), 0.0, 1.0)
    return (strength * facing ** 8).astype(F32)


def specular_rows(relief: np.ndarray, rows: slice, strength: float) -> np.ndarray:
    """`specular(relief, rng, strength)[rows]`, value for value, from the rows next to the
    band only (np.gradient's central differences inside, one-sided at the image's first and
    last rows), in place: `photograph` makes its flash a band at a time, in the cache."""
    h = relief.shape[0]
    r0, r1, _ = rows.indices(h)
    lo, hi = max(0, r0 - 1), min(h, r1 + 1)
    part = relief[lo:hi]
    gy = np.empty((r1 - r0, relief.shape[1]), relief.dtype)
    a, b = r0 + (r0 == 0), r1 - (r1 == h)  # the band's rows with a neighbour each side
    np.subtract(part[a + 1 - lo:b + 1 - lo], part[a - 1 - lo:b - 1 - lo], out=gy[a - r0:b - r0])
    gy[a - r0:b - r0] /= 2.0
    if r0 == 0:
        np.subtract(part[1], part[0], out=gy[0])
    if r1 == h:
        np.subtract(part[-1], part[-2], out=gy[-1])
    band = part[r0 - lo:r1 - lo]
    gx = np.empty_like(gy)
    np.subtract(band[:, 2:], band[:, :-2], out=gx[:, 1:-1])
    gx[:, 1:-1] /= 2.0
    np.subtract(band[:, 1], band[:, 0], out=gx[:, 0])
    np.subtract(band[:, -1], band[:, -2], out=gx[:, -1])
    gx -= 0.04  # clip(1 - 6 hypot(gx - 0.04, gy + 0.04), 0, 1) ** 8 x strength
    gy += 0.04
    facing = _hypot(gx, gy)
    facing *= 6.0
    np.subtract(1.0, facing, out=facing)
    np.clip(facing, 0.0, 1.0, out=facing)
    # x^8, exactly, where numpy's float32 power is 5x slower on vectors holding zeros: the
    # zeros raised as ones (1 - 1 = 0 after), the other lanes' values the same
    dark = facing == 0
    facing += dark
    np.power(facing, 8, out=facing)
    facing -= dark
    facing *= strength
    return facing


def _hypot(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """np.hypot of float32 arrays, value for value: glibc's hypotf is sqrt(x^2 + y^2) worked
    in double and rounded once (as lesions._distance uses it), at a fifth of its cost."""
    xd, yd = x.astype(np.float64), y.astype(np.float64)
    xd *= xd
    yd *= yd
    xd += yd
    np.sqrt(xd, out=xd)
    return xd.astype(x.dtype)
