"""Digital radiography of the chest: the multi-frequency processing that makes a DR chest film
look the way it does (the detector itself is physics/radiography.expose), and the lung
parenchyma's power-law texture.

A chest unit does not put the log signal through one global curve. It splits the image into
frequency bands (a Laplacian pyramid: MUSICA, Vuylsteke & Schoeters 1994; Agfa, Philips
UNIQUE and Fuji MFP work alike), compresses the coarsest band hard (latitude reduction: lungs,
mediastinum and abdomen all fit the display) and boosts the middle bands through a
compressive curve, so small, faint structure (vessels, the trachea, the spine behind the
heart, rib cortex) gains contrast more than big, strong edges. Band limits, gains and the
curve's exponent below are those of that family of methods, tuned on the phantom's films.
"""

from __future__ import annotations

import numpy as np
from scipy import fft as sfft
from scipy import ndimage

from imagine_med.engine.phantom.filters import gaussian_filter_fast
from imagine_med.engine.phantom.physics.radiography import CHEST
from imagine_med.engine.phantom.physics.radiography import resize as _resize

# Band edges: Gaussian sigmas in mm. Bands are differences of successive blurs; the last blur
# is the base (the coarse density everything rides on).
BAND_SIGMAS_MM = (0.8, 2.5, 7.0, 20.0, 55.0)
# Gain per band, finest first: noise as it is; vessels, cortex and fissures boosted; the
# trachea, ribs and heart borders (7-20 mm) boosted a little; mediastinum-sized shapes kept.
BAND_GAINS = (1.0, 1.5, 1.4, 1.0, 0.55)
BASE_GAIN = 0.45  # latitude reduction of the coarse band (1 = none)
CURVE_EXP = 0.8  # band curve: sign(x) |x|^p, p < 1 lifts faint detail more than strong edges
CURVE_KNEE = 0.06  # ... above this (fraction of the display range) the curve is ~linear
LUNG_GREY, DENSE_GREY = 0.13, 0.86  # display fractions of the lung and dense-chest ends
SHOULDER = 0.8  # display fraction above which the look-up table rolls off
# the processed signal (in units of the lung-to-dense-chest base span) put at LUNG_GREY and
# DENSE_GREY: the bands carry the lungs' dark end below the base's and bone above it (the 5th
# and 99th percentiles of normal films' processed signal, seeds 3, 7, 12)
T_LO, T_HI = -0.15, 0.9
AIR_Q = 0.3  # log signal below which a pixel is direct beam (air round the body)




def blur_mm(img: np.ndarray, sigma_mm: float, px: float, max_step: int = 1 << 30,
            cells: float = 1.5, shape: tuple[int, int] | None = None) -> np.ndarray:
    """Gaussian blur by `sigma_mm`, on a grid coarsened so the kernel is ~`cells` cells wide
    (the result is smooth, so bilinear upsampling loses little), brought to `shape` (the
    image's own by default; a coarser one is a pyramid level's grid)."""
    s = sigma_mm / px
    step = min(max(1, int(s / cells)), max_step)
    if step == 1:
        return gaussian_filter_fast(img, s, mode="nearest", truncate=3)
    small = img[step // 2::step, step // 2::step]
    out = gaussian_filter_fast(small, s / step, mode="nearest", truncate=3)
    return _resize(out, *(shape or img.shape))


def power_law_field(shape: tuple[int, int], beta: float, seed: int, f_min: float
                    ) -> np.ndarray:
    """Zero-mean, unit-variance noise whose power spectrum falls as 1/f^beta above `f_min`
    (cycles per pixel; flat below it): the statistics of anatomical background in
    radiographs (lung parenchyma: acini, lobules, small vessels and interstitium, far too
    fine and many to model one by one), with nothing larger than a lobule or two."""
    rng = np.random.default_rng(seed)
    h, w = shape
    # single precision throughout (scipy's FFT keeps it): a texture needs no more
    fy = np.fft.fftfreq(h).astype(np.float32)[:, None]
    fx = np.fft.rfftfreq(w).astype(np.float32)[None, :]
    f = np.maximum(np.sqrt(fx**2 + fy**2), np.float32(f_min))
    amp = f ** np.float32(-beta / 2)
    amp[0, 0] = 0.0
    spec = np.empty(amp.shape, np.complex64)
    # the draws of the double version, each product rounded straight into its part
    np.multiply(rng.standard_normal(amp.shape), amp, out=spec.real, casting="unsafe")
    np.multiply(rng.standard_normal(amp.shape), amp, out=spec.imag, casting="unsafe")
    field = sfft.irfft2(spec, s=(h, w))
    return field / (field.std() + np.float32(1e-12))


def _curve(x: np.ndarray) -> np.ndarray:
    """MUSICA's band curve: below the knee |x|^p (faint detail lifted), linear above it
    (worked in one new array: each step in place, the same roundings as fresh arrays)."""
    a = np.abs(x)
    a *= np.float32(1 / CURVE_KNEE)
    low = a < 1
    np.power(a, np.float32(CURVE_EXP), out=a, where=low)
    np.copysign(a, x, out=a)
    a *= np.float32(CURVE_KNEE)
    return a


def scattered(line: np.ndarray, px: float) -> np.ndarray:
    """The noiseless log signal of line integrals with scatter (for display anchors)."""
    primary = np.exp(-line)
    # the scatter kernel is tens of mm wide: blurred on a half grid and brought back
    sc = ndimage.gaussian_filter(primary[1::2, 1::2], CHEST.scatter_sigma_mm / (2 * px),
                                 mode="nearest")
    sc = _resize(sc, *primary.shape)
    return -np.log(primary + CHEST.scatter_fraction * sc)


def process(q: np.ndarray, px: float, lung: np.ndarray | None,
            reference: tuple[np.ndarray, float] | None = None) -> np.ndarray:
    """Log signal -> 8-bit film (white = dense): bands, their curves and gains over the
    compressed base, on a display range a chest unit's histogram analysis would set: the
    lungs' darker end near LUNG_GREY, the dense chest near DENSE_GREY (the abdomen below may
    burn out). `reference` (a noiseless log signal of the normal anatomy and its mm per
    pixel) sets that range, so a diffuse lung disease shows as lungs turned whiter instead of
    being ranged away; without it the image itself does."""
    # the air round the body is filled with the body's own edge values before the bands are
    # taken, as processing units mask the direct beam: otherwise the skin's huge step rings
    # through the coarse bands as a dark halo inside the body outline
    inside = q > AIR_Q
    qf = q
    if inside.any() and not inside.all():
        # each air pixel takes the value of the nearest body pixel (on a half grid: the
        # fill is smooth), so the outline is no step at all for the bands
        hs = q[::2, ::2]
        iy, ix = ndimage.distance_transform_edt(~inside[::2, ::2], return_distances=False,
                                                return_indices=True)  # the nearest only
        near = _resize(hs[iy, ix], *q.shape)
        qf = np.where(inside, q, near).astype(np.float32, copy=False)
    fine = blur_mm(qf, BAND_SIGMAS_MM[0], px)
    half = _second_blur(fine, px)
    coarse = [blur_mm(qf, s, px, shape=half.shape) for s in BAND_SIGMAS_MM[2:]]
    base = coarse[-1]  # the base on the 2.5 mm blur's grid
    if reference is not None:
        ref, rpx = reference
        bs = blur_mm(ref.astype(np.float32), BAND_SIGMAS_MM[-1], rpx)
        step = max(1, round(q.shape[0] / ref.shape[0]))
        sub = (slice(step // 2, None, step), slice(step // 2, None, step))
    else:  # the base's own grid: the half grid, or the full one where the 2.5 mm blur
        bs = base  # needs no coarsening (a sketch's wide pixels)
        step = max(1, round(q.shape[0] / bs.shape[0]))
        sub = (slice(None, None, step), slice(None, None, step))
    h, w = bs.shape
    qs = q[sub][:h, :w]
    body = qs > 0.3
    if body.sum() < 50:
        body = np.ones_like(bs, bool)
    chest = body
    lo_ref = bs[body]
    ls = lung[sub][:h, :w] if lung is not None else None
    if ls is not None and ls.sum() > 50:
        lo_ref = bs[ls]
        rows = np.flatnonzero(ls.any(axis=1))
        chest = body.copy()
        chest[: rows.min()] = False
        chest[rows.max() + 1:] = False
    lo = float(np.percentile(lo_ref, 5))
    hi = float(np.percentile(bs[chest], 99))
    span = max(hi - lo, 1e-6)
    # the display: t -> (t - T_LO) / (T_HI - T_LO) * (DENSE_GREY - LUNG_GREY) + LUNG_GREY, in
    # grey levels, folded into the gains
    scale = 255 * (DENSE_GREY - LUNG_GREY) / (T_HI - T_LO)
    offset = 255 * LUNG_GREY - T_LO * scale
    # the coarse bands (2.5 mm and up) and the base on the half grid, as a Laplacian pyramid
    # keeps them: their curves at that level, one upsample of their sum
    rest = _coarse_sum(half, coarse, lo, span, scale, offset)
    # the fine bands at full resolution: the noise band linear, the 0.8-2.5 mm band curved
    out = np.subtract(qf, fine, dtype=np.float32)
    out *= np.float32(BAND_GAINS[0] * scale / span)
    out += _resize(rest, *q.shape)
    out += _curve_scaled(np.subtract(fine, _resize(half, *q.shape)), span,
                         BAND_GAINS[1] * scale)
    # a soft shoulder so the brightest bone is not clipped flat
    top = 255 * SHOULDER
    over = out > top  # the curve only where it bends
    roll = 255 * (1 - SHOULDER)
    out[over] = top + roll * (1 - np.exp(-(out[over] - top) / roll))
    np.minimum(out, np.float32(10), out=out, where=q < 0.05)  # the direct beam stays dark
    return np.clip(out, 0, 255, out=out).astype(np.uint8)


def _second_blur(fine: np.ndarray, px: float) -> np.ndarray:
    """The 2.5 mm blur, from the 0.8 mm one (Gaussians compose: sigmas add in quadrature),
    which is smooth enough to be sampled on a half grid without aliasing the noise into it:
    on that grid (full resolution where the pixels are too coarse for one)."""
    s = float(np.sqrt(BAND_SIGMAS_MM[1] ** 2 - BAND_SIGMAS_MM[0] ** 2)) / px
    step = min(max(1, int(s / 1.2)), 2)
    small = fine[step // 2::step, step // 2::step]
    return ndimage.gaussian_filter(small, s / step, mode="nearest", truncate=3)


def _coarse_sum(half: np.ndarray, coarse: list[np.ndarray], lo: float, span: float,
                scale: float, offset: float) -> np.ndarray:
    """Display grey of the bands from 2.5 mm up and the compressed base, on the half grid:
    each band's curve and gain, the base's latitude reduction, the display's offset."""
    blurs = [half, *coarse]
    acc = np.subtract(coarse[-1], np.float32(lo), dtype=np.float32)
    acc *= np.float32(BASE_GAIN * scale / span)
    acc += np.float32(offset)
    for k in range(2, len(BAND_GAINS)):
        d = np.subtract(blurs[k - 2], blurs[k - 1])
        gain = BAND_GAINS[k] * scale
        if k < len(BAND_GAINS) - 1:
            acc += _curve_scaled(d, span, gain)
        else:
            d *= np.float32(gain / span)
            acc += d
    return acc


def _curve_scaled(d: np.ndarray, span: float, gain: float) -> np.ndarray:
    """gain * _curve(d / span), in place on `d` with the scalings folded together."""
    a = np.abs(d)
    a *= np.float32(1 / (span * CURVE_KNEE))
    np.power(a, np.float32(CURVE_EXP), out=a, where=a < 1)
    np.copysign(a, d, out=a)
    a *= np.float32(gain * CURVE_KNEE)
    return a
