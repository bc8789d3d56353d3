"""Plain skin: a seeded patch of layered skin by Fitzpatrick type, seen from above (2D).

Steps: the skin type's ITA target (drawn inside the type's ITA range) -> epidermal melanin
that gives that ITA (physics/skin_optics.melanin_for_ita) -> mottled melanin and blood ->
surface relief (skin furrows, follicular openings) -> hair. Coordinates are millimetres on
the skin, x to the image right, y down; photographs are as seen.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage

from imagine_med.engine.phantom.filters import SCIPY_TRUNCATE, gaussian_filter_cv
from imagine_med.engine.phantom.physics.skin_optics import melanin_for_ita
from imagine_med.engine.phantom.renderer_base import mask_box

F32 = np.float32
TYPES = ("I", "II", "III", "IV", "V", "VI")
# ITA degrees per Fitzpatrick type (physics.md: very light > 55, light 41-55, intermediate
# 28-41, tan 10-28, brown -30 to 10, dark < -30; the open ends closed at 70 and -55)
ITA_RANGE = {"I": (55.0, 70.0), "II": (41.0, 55.0), "III": (28.0, 41.0), "IV": (10.0, 28.0),
             "V": (-30.0, 10.0), "VI": (-55.0, -30.0)}
# body sites: (terminal hairs in a 12 mm field, hair colour darkness 0-1 is set by type)
SITES = {"back": (0, 3), "trunk": (0, 3), "chest": (1, 5), "face": (0, 2), "arm": (2, 6),
         "leg": (2, 6), "scalp": (10, 16),
         # where rashes sit (psoriasis on extensor surfaces, eczema in the flexures): the
         # joints' skin is sparsely haired, the flexures barely
         "elbows": (1, 3), "knees": (1, 4), "extensor_surfaces": (1, 3), "flexures": (0, 2),
         "hands": (1, 4), "wrists": (1, 3), "feet": (1, 4), "ankles": (1, 4),
         "shoulders": (0, 3), "abdomen": (0, 4), "hips": (0, 3)}
DEFAULT_SITE = "back"
EXPOSURE = 1.05
LABELS = {"skin": 1, "hair": 2, "ruler": 3}


@dataclass(frozen=True)
class Field:
    """Pixel centres in mm: `x`, `y` (H, W) and the spacing `px`."""

    x: np.ndarray
    y: np.ndarray
    px: float
    width_mm: float


@lru_cache(maxsize=8)
def make_field(width: int, height: int, width_mm: float) -> Field:
    """The pixel grid of an image size and field: the same for a job's 4 variants, so made
    once (read-only: a region copies what it changes)."""
    px = width_mm / max(width, height)
    xs = (np.arange(width, dtype=F32) - width / 2 + 0.5) * F32(px)
    ys = (np.arange(height, dtype=F32) - height / 2 + 0.5) * F32(px)
    x, y = np.meshgrid(xs, ys)
    x.setflags(write=False)
    y.setflags(write=False)
    return Field(x, y, px, width_mm)


def noise(rng: np.random.Generator, shape: tuple[int, int], cells: int) -> np.ndarray:
    """Smooth noise, about N(0, 1), with `cells` features across the larger side: a coarse
    grid of normal deviates enlarged by bicubic interpolation (Pillow's, as banded matrix
    products: `bicubic_resize`)."""
    h, w = shape
    n = max(2, cells)
    small = rng.standard_normal((max(2, round(n * h / max(h, w))) + 3,
                                 max(2, round(n * w / max(h, w))) + 3)).astype(F32)
    if small.shape[0] * 2 <= h and small.shape[1] * 2 <= w:
        out = bicubic_resize(small, w, h)
    else:  # a grid as fine as the pixels: a shrink's wide kernels suit Pillow's loops
        out = np.array(Image.fromarray(small, mode="F").resize((w, h), Image.BICUBIC), F32)
    out *= F32(1.0 / max(1e-6, float(out[::7, ::7].std())))
    return out


def _cubic(x: np.ndarray) -> np.ndarray:
    """Pillow's bicubic kernel (a = -0.5), term for term as Resample.c writes it."""
    a = -0.5
    x = np.abs(x)
    return np.where(x < 1.0, ((a + 2.0) * x - (a + 3.0)) * x * x + 1,
                    np.where(x < 2.0, (((x - 5) * x + 8) * x - 4) * a, 0.0))


@lru_cache(maxsize=64)
def _bicubic_weights(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) float64 resampling weights, the coefficients Pillow computes for a
    bicubic resize (Resample.c precompute_coeffs: taps, normalisation by their sum taken
    tap by tap, bounds), all output pixels at once."""
    scale = n_in / n_out
    fs = max(scale, 1.0)
    support = 2.0 * fs
    centre = (np.arange(n_out) + 0.5) * scale
    lo = np.maximum((centre - support + 0.5).astype(np.int64), 0)  # C's (int): truncation
    hi = np.minimum((centre + support + 0.5).astype(np.int64), n_in)
    taps = np.arange(int(np.ceil(support)) * 2 + 1)
    on = taps[None, :] < (hi - lo)[:, None]
    k = np.where(on, _cubic((lo[:, None] + taps[None, :] - centre[:, None] + 0.5)
                            * (1.0 / fs)), 0.0)
    total = np.zeros(n_out)
    for t in taps:  # the sum in the C loop's order
        total = total + k[:, t]
    k = np.where(total[:, None] != 0.0, k / np.where(total == 0.0, 1.0, total)[:, None], k)
    out = np.zeros((n_out, n_in))
    rows = np.broadcast_to(np.arange(n_out)[:, None], k.shape)
    out[rows[on], (lo[:, None] + taps[None, :])[on]] = k[on]
    out.setflags(write=False)
    return out


_ROWS_PER_PRODUCT = 262144  # m*n*k up to which OpenBLAS keeps a product on the calling
# thread (SMP_THRESHOLD_MIN * GEMM_MULTITHREAD_THRESHOLD); its helper threads spin, which
# on a shared two-core machine costs more than the product


@lru_cache(maxsize=64)
def _bicubic_bands(n_in: int, n_out: int, k: int) -> tuple[tuple[int, int, int, int,
                                                                 np.ndarray], ...]:
    """`_bicubic_weights` cut into blocks of output rows, each with the input rows its taps
    reach: (o0, o1, i0, i1, weights[o0:o1, i0:i1]); a block's product with k columns about
    _ROWS_PER_PRODUCT at most. The rest of each row is zeros, so the blocks' products are
    the full one's (an upscale's 4 taps per output, not all n_in)."""
    w = _bicubic_weights(n_in, n_out)
    on = w != 0
    first = on.argmax(axis=1)
    last = n_in - on[:, ::-1].argmax(axis=1)
    taps = int((last - first).max())
    rows = max(1, min(n_out, _ROWS_PER_PRODUCT // (k * taps)))
    while rows > 1 and rows * (taps + 1 - (-rows * n_in // n_out)) * k > _ROWS_PER_PRODUCT:
        rows -= 1  # a block spans its rows' taps and the input steps between its rows
    starts = np.arange(0, n_out, rows)
    lo, hi = np.minimum.reduceat(first, starts), np.maximum.reduceat(last, starts)
    out = []
    for o0, i0, i1 in zip(starts.tolist(), lo.tolist(), hi.tolist(), strict=True):
        block = np.ascontiguousarray(w[o0:o0 + rows, i0:i1])
        block.setflags(write=False)
        out.append((o0, min(o0 + rows, n_out), i0, i1, block))
    return tuple(out)


def _resample_rows(x64: np.ndarray, n_out: int) -> np.ndarray:
    """Pillow's bicubic resampling of float64 `x64` along its first axis to n_out rows,
    float32 out: the weight matrix's product, one band of rows at a time."""
    out = np.empty((n_out, x64.shape[1]), F32)
    for o0, o1, i0, i1, block in _bicubic_bands(x64.shape[0], n_out, x64.shape[1]):
        out[o0:o1] = block @ x64[i0:i1]
    return out


def bicubic_resize(small: np.ndarray, width: int, height: int) -> np.ndarray:
    """Pillow's bicubic resize of a float32 image (rows, then columns; float64 sums, float32
    between and after the passes) as banded weight-matrix products: the same values (checked
    against Image.resize) at a fraction of the cost of a Pillow round trip."""
    tmp = _resample_rows(np.ascontiguousarray(small.T, dtype=np.float64), width)
    return _resample_rows(np.ascontiguousarray(tmp.T, dtype=np.float64), height)


TRUNCATE = SCIPY_TRUNCATE  # the blurs' kernel reach, in sigmas


def blur_where_varies(a: np.ndarray, sigma: float) -> np.ndarray:
    """ndimage.gaussian_filter(a, sigma), value for value, blurring only the window round
    where `a` differs from its corner's value (a lesion's pigment on a plain field): every
    pixel farther than the kernel's reach sees that one value on all its taps (reflected
    ones included), so it gets the blur of a constant image. `a` may be a window of a
    larger image if its edges inside that image are a kernel's reach from where it varies.
    The filter's two passes as scipy runs them (down the columns, then along the rows,
    float32 between); the first only on the columns where `a` varies."""
    c = a[0, 0]
    if not a.any():  # a layer the lesion leaves empty: a cheaper test than a != c
        flat = _blur_of_constant(c, sigma, 2)
        if flat == 0 and not np.signbit(flat):
            return np.zeros_like(a)  # calloc'd: no pass over the image
        return np.full_like(a, flat)
    box = mask_box(a != c)
    pad = int(TRUNCATE * sigma + 0.5) + 1
    if box is None:
        return np.full_like(a, _blur_of_constant(c, sigma, 2))
    r0, r1, c0, c1 = box
    rows, cols = slice(max(0, r0 - pad), r1 + pad), slice(max(0, c0 - pad), c1 + pad)
    if a[rows, cols].size > BANDS_FROM * a.size:  # a rash's lesions spread over the field
        return _blur_in_bands(a, sigma, a != c)
    down = np.full_like(a[rows, cols], _blur_of_constant(c, sigma, 1))
    down[:, c0 - cols.start:c1 - cols.start] = ndimage.gaussian_filter1d(
        a[rows, c0:c1], sigma, axis=0)
    out = np.full_like(a, _blur_of_constant(c, sigma, 2))
    out[rows, cols] = ndimage.gaussian_filter1d(down, sigma, axis=1)
    return out


BANDS_FROM = 0.25  # share of the image from which a varying layer is blurred band by band
BLUR_BAND = 48  # rows a band of `_blur_in_bands`: 16 bands at 768


def _blur_in_bands(a: np.ndarray, sigma: float, varies: np.ndarray) -> np.ndarray:
    """ndimage.gaussian_filter(a, sigma), value for value, for a layer that varies (the
    mask `varies`, against its corner's value) in scattered places (plaques, wheals): each
    band of BLUR_BAND output rows is filtered on the window of the rows its taps reach and
    the columns where those rows vary, a kernel's reach wider; every other pixel gets the
    blur of the constant. Exact as `blur_where_varies` is: a window's inner edges lie a
    reach from where it varies, so what it reflects there is the constant the image has."""
    h, w = a.shape
    reach = int(TRUNCATE * sigma + 0.5)
    out = np.full_like(a, _blur_of_constant(a[0, 0], sigma, 2))
    busy = varies.any(axis=1)
    for r0 in range(0, h, BLUR_BAND):
        r1 = min(h, r0 + BLUR_BAND)
        lo, hi = max(0, r0 - reach), min(h, r1 + reach)
        if not busy[lo:hi].any():
            continue
        cols = np.flatnonzero(varies[lo:hi].any(axis=0))
        c0, c1 = max(0, int(cols[0]) - reach), min(w, int(cols[-1]) + 1 + reach)
        out[r0:r1, c0:c1] = gaussian_filter_cv(a[lo:hi, c0:c1], sigma)[r0 - lo:r1 - lo]
    return out


COARSE_SIGMA_PX = 3.5  # a wide blur runs on blocks at most sigma / this across: a gaussian of
# 3.5+ blocks, sampled back bilinearly, is within 0.3 % of its peak of the full one (a
# 28 mm wheal at 768 px, sigma 14.4 px, step 4: 0.0030; tests/test_phantom_measure_fast.py)


def blur_coarse(a: np.ndarray, sigma: float) -> np.ndarray:
    """About ndimage.gaussian_filter(a, sigma) for a wide sigma (an urticarial flare: 14 px at
    768), at a fraction of its taps: block means (step x step), the blur of the rest of the
    variance on that grid, bilinear back to the pixels. Edges reflect, as the filter's do
    (a window cut by the image's border): `a` is mirrored a kernel's reach out first."""
    step = int(sigma / COARSE_SIGMA_PX)
    if step < 2:
        return blur_where_varies(a, sigma)
    h, w = a.shape
    reach = int(TRUNCATE * sigma + 0.5)
    full = np.pad(a, ((reach, reach + (-(h + 2 * reach)) % step),
                      (reach, reach + (-(w + 2 * reach)) % step)), mode="symmetric")
    small = block_means(full, step)
    # a block mean is a box of variance (step^2 - 1) / 12 px^2: blur the rest on the blocks
    small = gaussian_filter_cv(small, np.sqrt(sigma ** 2 - (step ** 2 - 1) / 12) / step,
                               mode="nearest")
    i0, t = _bilinear_taps(h, step, reach)
    rows = small[i0] * (1 - t)[:, None] + small[i0 + 1] * t[:, None]
    j0, u = _bilinear_taps(w, step, reach)
    out = np.take(rows, j0, axis=1)
    out *= 1 - u
    right = np.take(rows, j0 + 1, axis=1)
    right *= u
    out += right
    return out.astype(a.dtype, copy=False)


def block_means(a: np.ndarray, step: int) -> np.ndarray:
    """`a.reshape(h / step, step, w / step, step).mean(axis=(1, 3), dtype=a.dtype)`, value
    for value, at a fraction of its cost: numpy sums such blocks row by row (a row's `step`
    values left to right, as `sum(axis=-1)` does below 8), adds the rows in order, then
    divides; done here as step^2 additions of small strided planes. Other cases (8 or more
    to a row: pairwise sums; one column of blocks: summed in another order) go to numpy's
    mean. tests/test_phantom_measure_fast.py compares the two on many shapes."""
    h, w = a.shape
    blocks = a.reshape(h // step, step, w // step, step)
    if step >= PAIRWISE_BLOCK or w // step < 2:
        return blocks.mean(axis=(1, 3), dtype=a.dtype)
    out = None
    for k in range(step):
        row = blocks[:, k, :, 0] + blocks[:, k, :, 1]
        for m in range(2, step):
            row += blocks[:, k, :, m]
        out = row if out is None else np.add(out, row, out=out)
    out /= a.dtype.type(step * step)
    return out


PAIRWISE_BLOCK = 8  # numpy sums 8 or more contiguous values pairwise (unrolled by 8)


def _bilinear_taps(n: int, step: int, offset: int) -> tuple[np.ndarray, np.ndarray]:
    """For pixels offset..offset + n - 1 of the padded image: the block before each (block
    i's centre at pixel i * step + (step - 1) / 2) and the next block's weight."""
    pos = (np.arange(offset, offset + n) - (step - 1) / 2) / step
    i0 = np.floor(pos).astype(np.int64)
    return i0, (pos - i0).astype(F32)


def _blur_of_constant(c: np.floating, sigma: float, passes: int) -> np.floating:
    """What `passes` of the gaussian filter make of a constant image of value c (its
    rounding: not always c)."""
    return ndimage.gaussian_filter(np.full((3,) * passes, c), sigma)[(1,) * passes]


@dataclass
class Skin:
    """One patient's skin patch: columns of plain skin, relief and hair."""

    skin_type: str
    ita_target: float
    site: str
    melanin: np.ndarray
    blood: np.ndarray
    relief: np.ndarray      # surface height (furrows low), for texture and highlights
    hair: np.ndarray        # hair cover 0-1
    hair_dark: float
    m0: float


def build_skin(rng: np.random.Generator, f: Field, skin_type: str, site: str,
               hair: bool = True) -> Skin:
    """Steps: ITA target -> melanin -> mottling and blood -> relief -> hair (`hair`
    False: shaved or removed, none drawn; the hair's draws are the last of `rng`'s)."""
    lo, hi = ITA_RANGE[skin_type]
    pad = 0.2 * (hi - lo)
    target = float(rng.uniform(lo + pad, hi - pad))
    b0 = float(rng.uniform(0.05, 0.09))
    m0 = melanin_for_ita(target, b0, EXPOSURE)
    shape = f.x.shape
    cells = max(2, int(f.width_mm / 3))
    melanin = noise(rng, shape, cells)  # mottled: m0 (1 + 0.05 noise), in place
    melanin *= F32(0.05)
    melanin += F32(1.0)
    melanin *= F32(m0)
    blood = noise(rng, shape, cells * 2)  # b0 (1 + 0.25 noise)
    blood *= F32(0.25)
    blood += F32(1.0)
    blood *= F32(b0)
    relief = _relief(rng, f)
    cover = _hair(rng, f, site) if hair else np.zeros_like(f.x)
    dark = {"I": 0.45, "II": 0.6, "III": 0.8}.get(skin_type, 1.0)
    return Skin(skin_type, target, site, melanin, blood, relief, cover, dark, m0)


def _relief(rng: np.random.Generator, f: Field) -> np.ndarray:
    """Skin furrows: two crossing families of gently wavy lines ~0.6-1 mm apart (the
    rhomboid skin-line pattern), fading in and out along their length. Computed in place on
    two full-frame planes; the field's x varies along rows and y down columns only
    (`make_field`), so a line's distance starts from one row and one column."""
    shape = f.x.shape
    cells = max(3, int(f.width_mm / 2.0))
    out = None
    base = rng.uniform(0, np.pi)
    for k, ang in enumerate((base, base + rng.uniform(0.9, 1.3))):
        spacing = rng.uniform(0.6, 1.0)
        s = f.x[:1] * F32(np.cos(ang)) + f.y[:, :1] * F32(np.sin(ang))
        s += F32(0.15) * noise(rng, shape, cells)
        s *= F32(np.pi / spacing)
        np.sin(s, out=s)
        depth = noise(rng, shape, cells)
        depth *= F32(0.5)
        depth += F32(0.6)
        np.clip(depth, 0.0, 1.0, out=depth)
        if k:
            depth *= F32(1.0 - 0.3 * k)
        s /= F32(0.12)  # furrow = depth * exp(-(s / 0.12)^2)
        np.square(s, out=s)
        np.negative(s, out=s)
        np.exp(s, out=s)
        depth *= s
        out = depth if out is None else np.maximum(out, depth, out=out)  # furrows >= 0
    np.negative(out, out=out)
    return out


def _hair(rng: np.random.Generator, f: Field, site: str) -> np.ndarray:
    """Terminal hairs: gently curved strands crossing the field (drawn with PIL)."""
    lo, hi = SITES.get(site, SITES[DEFAULT_SITE])
    n = int(rng.integers(lo, hi + 1))
    h, w = f.x.shape
    img = Image.new("L", (w, h), 0)
    d = ImageDraw.Draw(img)
    for _ in range(n):
        ang = rng.uniform(0, np.pi)
        cx, cy = rng.uniform(0.1, 0.9) * w, rng.uniform(0.1, 0.9) * h
        length = rng.uniform(0.5, 1.2) * max(w, h)
        bend = rng.uniform(-0.15, 0.15)
        width = max(1, round(rng.uniform(0.05, 0.09) / f.px))
        t = np.linspace(-0.5, 0.5, 24)
        dx, dy = np.cos(ang), np.sin(ang)
        xs = cx + t * length * dx - bend * length * (t ** 2 - 0.25) * dy
        ys = cy + t * length * dy + bend * length * (t ** 2 - 0.25) * dx
        d.line(list(zip(xs.tolist(), ys.tolist(), strict=True)), fill=255, width=width)
    hair = np.asarray(img, F32)
    hair /= F32(255.0)
    return hair
