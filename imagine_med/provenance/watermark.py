"""The invisible mark: a keyed, periodic, band-limited pattern in the luminance.

Design (why each part is there):

* **Luminance only.** The same delta is added to R, G and B, so any grayscale conversion
  (PIL 'L', ITU-R 601/709 Y) keeps it intact, and 4:2:0 chroma subsampling cannot touch it.
* **A periodic tile.** The pattern repeats every `T` pixels. The detector finds the period from
  12 strong "template" bins in the whitened spectrum (so a rescale is undone; plain
  autocorrelation was measured to be too weak on textured images), refines it on the sync peak,
  and folds the image onto one tile, each pixel weighted by 1 / local variance; the unknown crop
  offset then becomes a cyclic shift, found by correlating with a keyed synchronisation
  pattern. That is how the mark survives crops and screenshots.
* **Defined in the tile's Fourier domain.** Every coefficient sits on a DFT bin (ky, kx) of the
  tile with 4 <= |k| <= 20 cycles per tile: mid frequencies that outlive JPEG quality 70 and a 50%
  downscale, and a bin means the same thing whatever the tile's size in pixels, so the detector
  reads bins straight from the folded tile's FFT without resampling.
* **Keyed.** Bin phases, the split between sync and payload bins and the MAC all come from HMACs
  of the secret key, so nobody without it can detect, read or forge the mark.
* **Payload.** 40-bit job tag, 3-bit variant (0 = the grid), 5-bit key id, then a 24-bit keyed
  MAC; a K=9 rate-1/3 convolutional code (`ecc.py`, soft Viterbi) spreads these 72 bits over 240
  coded bits, each owning two bins. Bins much louder than typical are damped before voting.
* **False positives.** A file counts as marked only when the decoded 24-bit keyed MAC matches:
  2^-24 = 6e-8 for a message decoded from an unmarked image (the MAC is an HMAC, so noise cannot
  aim at it). At most `MAX_CANDIDATES` messages are decoded per image (one per period
  hypothesis, and only where the sync peak reaches `DECODE_Z`), so P(false positive) <=
  4 * 2^-24 = 2.4e-7 per image, whatever the image. `tests/test_watermark.py` and
  `bench/watermark.py` check it empirically on >= 1000 unmarked images.
* **Strength.** The delta follows local texture (8x8 block standard deviation) and is scaled to
  a PSNR of 40.6 +- 0.15 dB (never below 40 dB); black areas get the clipped positive half.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from scipy import fft as sfft
from scipy import ndimage

from imagine_med.provenance import ecc

SCHEME = "imagine-med-wm/1"
T = 128  # nominal tile (bins are defined per tile, so the pixel size may be a multiple)
R_LO, R_HI = 4, 20  # radius of the band, in cycles per tile
JOB_BITS, VARIANT_BITS, KEY_BITS, MAC_BITS = 40, 3, 5, 24
PAYLOAD_BITS = JOB_BITS + VARIANT_BITS + KEY_BITS
MESSAGE_BITS = PAYLOAD_BITS + MAC_BITS
BINS_PER_BIT = 2
DECODE_Z = 4.0  # decode a hypothesis only when its sync peak reaches this (saves time)
REFINE_Z = 4.3  # refine a period hypothesis only when its coarse sync peak reaches this
CLEAR_Z = 8.0  # ... and only below this: a peak this clear decodes as it is
MAX_CANDIDATES = 4  # period hypotheses tried per image
SCAN_BIAS = 1.0025  # see _scan_periods
TARGET_PSNR_DB = 40.6
MIN_PSNR_DB = 40.0
MIN_PERIOD = 44.0  # below this the band's top bins fold over Nyquist
MIN_EMBED = T  # smallest side (px) that gets a mark: one full tile
ROLE_SYNC, ROLE_TEMPLATE = -1, -2
N_TPL = 12  # strong bins that make the scale findable (see `_scan_periods`)
TPL_R = (12, 18)
TPL_SHARE = 0.3  # share of the mark's energy in the template


class WatermarkError(ValueError):
    """Bad input to the mark (e.g. an image too small to carry it); message is user-safe."""


@dataclass(frozen=True)
class Payload:
    job_tag: int  # 40 bits
    variant: int  # 0 = grid, 1-7 = variant number
    key_bits: int  # 5 bits derived from the key id

    def __post_init__(self) -> None:
        if not 0 <= self.job_tag < 1 << JOB_BITS:
            raise WatermarkError(f"job tag must fit in {JOB_BITS} bits")
        if not 0 <= self.variant < 1 << VARIANT_BITS:
            raise WatermarkError(f"variant must be 0-{(1 << VARIANT_BITS) - 1}, got {self.variant}")
        if not 0 <= self.key_bits < 1 << KEY_BITS:
            raise WatermarkError(f"key bits must fit in {KEY_BITS} bits")

    @property
    def job_hex(self) -> str:
        return f"{self.job_tag:010x}"

    def to_int(self) -> int:
        return (self.job_tag << (VARIANT_BITS + KEY_BITS)) | (self.variant << KEY_BITS) | (
            self.key_bits
        )

    @classmethod
    def from_int(cls, value: int) -> Payload:
        return cls(
            job_tag=value >> (VARIANT_BITS + KEY_BITS),
            variant=(value >> KEY_BITS) & ((1 << VARIANT_BITS) - 1),
            key_bits=value & ((1 << KEY_BITS) - 1),
        )


def job_tag(job_id: str) -> int:
    """The 40-bit tag carried for a job id: the id itself when it is 10 hex digits (our own ids),
    else the first 40 bits of its SHA-256."""
    s = job_id.strip().lower()
    if len(s) == JOB_BITS // 4 and all(c in "0123456789abcdef" for c in s):
        return int(s, 16)
    return int.from_bytes(hashlib.sha256(job_id.encode()).digest()[:5], "big")


def key_bits(key_id: str) -> int:
    return hashlib.sha256(key_id.encode()).digest()[0] >> (8 - KEY_BITS)


@dataclass(frozen=True)
class _Code:
    """Everything derived from the key: bins, phases and their roles."""

    ky: np.ndarray  # bin rows (signed), half plane
    kx: np.ndarray  # bin columns (>= 0)
    phase: np.ndarray  # complex carrier per bin (amplitude and keyed phase)
    role: np.ndarray  # ROLE_SYNC, ROLE_TEMPLATE, else the coded-bit index
    mac_key: bytes

    @property
    def sync(self) -> np.ndarray:
        """Bins whose content is known to the detector (sync and template)."""
        return self.role < 0

    @property
    def template(self) -> np.ndarray:
        return self.role == ROLE_TEMPLATE


@lru_cache(maxsize=8)
def _code(key: bytes) -> _Code:
    seed = hmac.new(key, b"imagine-med/wm/carriers/v1", hashlib.sha256).digest()
    rng = np.random.Generator(np.random.PCG64(int.from_bytes(seed, "big")))
    ky, kx = np.meshgrid(np.arange(-R_HI, R_HI + 1), np.arange(0, R_HI + 1), indexing="ij")
    r = np.hypot(ky, kx)
    half = (kx > 0) | ((kx == 0) & (ky > 0))
    keep = (r >= R_LO) & (r <= R_HI) & half
    ky, kx, r = ky[keep], kx[keep], r[keep]
    n = ky.size
    role = np.full(n, ROLE_SYNC, dtype=np.int64)
    # Template: one strong bin per angular sector, away from the axes (crop edges live there).
    angle = np.arctan2(ky, kx) % np.pi
    ok = (r >= TPL_R[0]) & (r <= TPL_R[1]) & (np.abs(ky) >= 2) & (kx >= 2)
    for s in range(N_TPL):
        lo, hi = s * np.pi / N_TPL, (s + 1) * np.pi / N_TPL
        cand = np.nonzero(ok & (angle >= lo) & (angle < hi))[0]
        if cand.size:
            role[rng.choice(cand)] = ROLE_TEMPLATE
    free = np.nonzero(role == ROLE_SYNC)[0]
    n_coded = ecc.coded_length(MESSAGE_BITS)
    n_payload = n_coded * BINS_PER_BIT
    if n_payload >= free.size:
        raise RuntimeError("band too small for the payload")  # pragma: no cover - constants
    perm = rng.permutation(free)
    role[perm[:n_payload]] = np.arange(n_payload) % n_coded
    phase = np.exp(2j * np.pi * rng.random(n))
    n_tpl = int(np.sum(role == ROLE_TEMPLATE))
    amp = np.ones(n)
    amp[role == ROLE_TEMPLATE] = math.sqrt(TPL_SHARE / (1 - TPL_SHARE) * (n - n_tpl) / n_tpl)
    mac_key = hmac.new(key, b"imagine-med/wm/mac/v1", hashlib.sha256).digest()
    return _Code(ky=ky, kx=kx, phase=phase * amp, role=role, mac_key=mac_key)


def _message_bits(payload: Payload, code: _Code) -> np.ndarray:
    p = payload.to_int()
    pb = p.to_bytes(PAYLOAD_BITS // 8, "big")
    mac = int.from_bytes(hmac.new(code.mac_key, pb, hashlib.sha256).digest()[:4], "big")
    mac >>= 32 - MAC_BITS
    value = (p << MAC_BITS) | mac
    return np.array([(value >> (MESSAGE_BITS - 1 - i)) & 1 for i in range(MESSAGE_BITS)], np.uint8)


def _bits_to_int(bits: np.ndarray) -> int:
    v = 0
    for b in bits:
        v = (v << 1) | int(b)
    return v


def _coefficients(payload: Payload, code: _Code) -> np.ndarray:
    coded = ecc.encode(_message_bits(payload, code))
    sign = np.where(code.sync, 1.0, 1.0 - 2.0 * coded[np.maximum(code.role, 0)])
    return sign * code.phase


def tile_size(height: int, width: int) -> int:
    """Tile size in pixels for an image: larger images get a larger tile, so the mark outlives a
    chat client shrinking them to a thumbnail."""
    m = min(height, width)
    return T * (1 if m < 900 else 2 if m < 1800 else 3)


@lru_cache(maxsize=32)
def _tile(payload: Payload, key: bytes, size: int) -> np.ndarray:
    code = _code(key)
    spec = np.zeros((size, size // 2 + 1), dtype=np.complex128)
    spec[code.ky % size, code.kx] = _coefficients(payload, code)
    # kx == 0 bins need their mirror for a real pattern; irfft2 takes care of the rest.
    z = code.kx == 0
    spec[(-code.ky[z]) % size, 0] = np.conj(spec[code.ky[z] % size, 0])
    tile = sfft.irfft2(spec, s=(size, size))
    return (tile / tile.std()).astype(np.float32)


def luminance(pixels: np.ndarray) -> np.ndarray:
    """ITU-R 601 luma as float32 (what PIL's convert('L') computes)."""
    a = np.asarray(pixels)
    if a.ndim == 2:
        return a.astype(np.float32)
    a = a[..., :3].astype(np.float32)
    return a[..., 0] * 0.299 + a[..., 1] * 0.587 + a[..., 2] * 0.114


def _texture_mask(y: np.ndarray) -> np.ndarray:
    """Gain in [0.5, 2] from the standard deviation of 8x8 blocks (smoothed over 3x3 blocks):
    stronger in texture, where it is masked and where JPEG keeps it. Blocks, not a sliding
    window, because that is 10x cheaper at 1024 px (the embed time budget is 50 ms)."""
    b = 8
    h, w = y.shape
    hb, wb = -(-h // b), -(-w // b)
    pad = np.pad(y, ((0, hb * b - h), (0, wb * b - w)), mode="edge")
    sd = pad.reshape(hb, b, wb, b).std(axis=(1, 3))
    sd = ndimage.uniform_filter(sd, 3, mode="nearest")
    gain = np.clip(0.5 + sd / 12.0, 0.5, 2.0).astype(np.float32)
    return np.repeat(np.repeat(gain, b, axis=0), b, axis=1)[:h, :w]


def embed_with_delta(
    pixels: np.ndarray, payload: Payload, key: bytes
) -> tuple[np.ndarray, np.ndarray]:
    """(marked uint8 copy, the unclipped luminance delta it was made from). The delta lets a
    caller mark other units too (DICOM CT adds it in HU, scaled by the window, so air far below
    the window still carries the whole mark)."""
    a = np.asarray(pixels)
    if a.dtype != np.uint8 or a.ndim not in (2, 3):
        raise WatermarkError("the mark needs an 8-bit grayscale or RGB image")
    h, w = a.shape[:2]
    if min(h, w) < MIN_EMBED:
        raise WatermarkError(f"image {w}x{h} is too small to carry the mark (min {MIN_EMBED} px)")
    size = tile_size(h, w)
    tile = _tile(payload, key, size)
    pattern = np.tile(tile, (h // size + 1, w // size + 1))[:h, :w]
    delta = pattern * _texture_mask(luminance(a))
    base = a.astype(np.float32)
    # Scale to the target PSNR as measured after clipping and rounding (clipping at black and
    # white removes part of the distortion). The gain is searched on every 7th pixel (7x
    # cheaper, still deterministic), then the full image is checked against the 40 dB floor.
    flat_base = base.reshape(h * w, -1)[::7]
    flat_delta = delta.reshape(-1, 1)[::7]
    gain = 255.0 / 10 ** (TARGET_PSNR_DB / 20) / (float(np.sqrt(np.mean(delta**2))) + 1e-12)
    for _ in range(6):
        got = _psnr_after(flat_base, flat_delta, gain)
        if abs(got - TARGET_PSNR_DB) <= 0.1:
            break
        gain *= 10 ** ((got - TARGET_PSNR_DB) / 20)
    while True:
        d = np.rint(gain * delta)  # one integer delta for all three channels
        out = np.clip(base + (d if a.ndim == 2 else d[..., None]), 0, 255)
        got = psnr(out, base)
        if got >= MIN_PSNR_DB + 0.05:
            break
        gain *= 10 ** ((got - MIN_PSNR_DB - 0.2) / 20)
    return out.astype(np.uint8), (gain * delta).astype(np.float32)


def _psnr_after(base: np.ndarray, delta: np.ndarray, gain: float) -> float:
    out = np.clip(base + np.rint(gain * delta), 0, 255)
    mse = float(np.mean((out - base) ** 2))
    return 10 * math.log10(255.0**2 / max(mse, 1e-12))


def embed(pixels: np.ndarray, payload: Payload, key: bytes) -> np.ndarray:
    """Return a marked copy of `pixels` (uint8, (H, W) or (H, W, 3)); deterministic."""
    return embed_with_delta(pixels, payload, key)[0]


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * math.log10(255.0**2 / mse)


# ----------------------------------------------------------------------------------- detection


@dataclass(frozen=True)
class Detection:
    """What the detector found. `marked` is True only for a MAC-valid payload."""

    marked: bool
    payload: Payload | None
    sync_z: float  # best synchronisation peak, in null standard deviations
    agreement: float  # fraction of coded bits agreeing with the decoded codeword (0.5 = chance)
    period: tuple[float, float] | None  # detected tile period in pixels (y, x)
    p_false: float  # upper bound on the probability that an unmarked image reads like this
    # soft coded bits at the strongest sync peak (for measuring raw bit accuracy)
    soft: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def confidence(self) -> float:
        return 0.0 if not self.marked else 1.0 - self.p_false


def _whiten(y: np.ndarray) -> np.ndarray:
    """Spectrally flattened image spectrum (rfft layout): the host becomes roughly white noise,
    so the mark's bins stand out, and the crop edges' cross on the axes is dropped."""
    y = y - y.mean()
    X = sfft.rfft2(y, workers=-1)
    env = ndimage.uniform_filter(np.abs(X).astype(np.float32), size=11, mode="nearest") + 1e-3
    H, Wd = y.shape
    fy = np.abs(sfft.fftfreq(H))[:, None]
    fx = sfft.rfftfreq(Wd)[None, :]
    f = np.hypot(fy, fx)
    band = (f > 0.01) & (f < 0.48) & (fy > 1.5 / H) & (fx > 1.5 / Wd)
    return np.where(band, X / env, 0)


def _scan_periods(power: np.ndarray, shape: tuple[int, int], code: _Code) -> list[float]:
    """Tile periods (pixels) where the template's bins carry unusual power, best first.

    For a period P the template bin (ky, kx) sits at image bin (ky*H/P, kx*W/P); the score is
    the whitened power there (bilinear between bins), summed over the template and smoothed
    over +-0.15% of P. Peaks closer than 3% are one hypothesis. Measured accuracy: ~0.3%,
    with a bias of about -0.25% that `SCAN_BIAS` removes; `_best_fold` does the rest."""
    H, Wd = shape
    pmax = min(H, Wd) / 1.6
    if pmax <= MIN_PERIOD:
        return []
    step = 0.4 / (TPL_R[1] * max(H, Wd) / MIN_PERIOD)  # <= 0.4 bin shift per step
    periods = np.exp(np.arange(math.log(MIN_PERIOD), math.log(pmax), step))
    t = code.template
    fy = code.ky[t][None, :] * H / periods[:, None]
    fx = code.kx[t][None, :] * Wd / periods[:, None]
    y0, x0 = np.floor(fy).astype(np.int64), np.floor(fx).astype(np.int64)
    ay, ax = fy - y0, fx - x0
    score = np.zeros(periods.size)
    for oy, wy in ((0, 1 - ay), (1, ay)):
        for ox, wx in ((0, 1 - ax), (1, ax)):
            v = power[(y0 + oy) % H, np.clip(x0 + ox, 0, power.shape[1] - 1)]
            score += (wy * wx * v).sum(axis=1)
    score = ndimage.uniform_filter1d(score, max(1, round(0.003 / step)), mode="nearest")
    win = max(1, round(0.03 / step))
    peak = score == ndimage.maximum_filter1d(score, 2 * win + 1, mode="nearest")
    idx = np.nonzero(peak)[0]
    idx = idx[np.argsort(score[idx])[::-1]][:MAX_CANDIDATES]
    out = []
    for i in idx:
        off = 0.0
        if 0 < i < score.size - 1:
            a, b, c = score[i - 1 : i + 2]
            den = a - 2 * b + c
            off = float(np.clip(0.5 * (a - c) / den, -0.5, 0.5)) if den < 0 else 0.0
        out.append(float(math.exp(math.log(periods[i]) + off * step)) * SCAN_BIAS)
    return out


def _band_image(W: np.ndarray, shape: tuple[int, int], p: float) -> tuple[np.ndarray, float]:
    """The whitened image, resampled (exactly, by cropping its spectrum) to about 96 samples
    per tile period: all the mark's bins survive and folding gets ~8x cheaper at 512 px."""
    H, Wd = shape
    ky = min(H // 2, math.ceil(H * 48 / p))
    kx = min(Wd // 2, math.ceil(Wd * 48 / p))
    sub = np.concatenate([W[:ky, : kx + 1], W[H - ky :, : kx + 1]], axis=0)
    w = sfft.irfft2(sub, s=(2 * ky, 2 * kx), workers=-1)
    return w, 2 * ky / H, 2 * kx / Wd


def _fold_index(shape: tuple[int, int], py: float, px: float) -> tuple[np.ndarray, int, int]:
    h, wd = shape
    ny, nx = math.ceil(py), math.ceil(px)
    iy = np.floor((np.arange(h) % py) * (ny / py)).astype(np.int64).clip(0, ny - 1)
    ix = np.floor((np.arange(wd) % px) * (nx / px)).astype(np.int64).clip(0, nx - 1)
    return (iy[:, None] * nx + ix[None, :]).ravel(), ny, nx


def _weights(w: np.ndarray, p: float) -> np.ndarray:
    """1 / local variance of the whitened image: quiet areas, where the mark dominates the host
    (black background, flat tissue), count most in the fold. The floor (a tenth of the mean)
    matters: after JPEG, black areas hold no mark, only faint ringing, and unbounded weights
    would let that ringing drown the rest (measured: 10/19 -> 16/19 decoded at q70)."""
    var = ndimage.uniform_filter(w * w, size=max(3, round(p / 4)), mode="reflect")
    return 1.0 / (var + 0.1 * float(var.mean()) + 1e-12)


def _fold(wx: np.ndarray, wt: np.ndarray, shape: tuple[int, int], py: float, px: float):
    """Weighted average of the whitened image (`wx` = w * weight) onto one tile of
    ceil(py) x ceil(px) samples, pixel (y, x) landing on ((y mod py), (x mod px))."""
    idx, ny, nx = _fold_index(shape, py, px)
    s = np.bincount(idx, weights=wx, minlength=ny * nx)
    c = np.bincount(idx, weights=wt, minlength=ny * nx)
    return (s / np.maximum(c, 1e-12)).reshape(ny, nx)


def _read_tile(folded: np.ndarray, code: _Code) -> tuple[float, np.ndarray]:
    """Sync z-score (max over all T*T cyclic shifts, against their mean and spread) and the soft
    coded bits at that shift. Only the unit-amplitude sync bins vote on the shift: the few
    strong template bins would give the correlation large sidelobes."""
    ny = folded.shape[0]
    g = sfft.rfft2(folded)[code.ky % ny, code.kx]  # half-plane bins: all of a real tile
    # Bins much louder than typical hold host structure (or the intermodulation of a mark
    # clipped at black), not mark: damp them so a few cannot outvote the rest.
    mag = np.abs(g)
    g = g / (np.maximum(1.5 * float(np.median(mag)), mag) + 1e-12)
    gc = g * np.conj(code.phase)
    plain = code.role == ROLE_SYNC
    acc = np.zeros((T, T // 2 + 1), dtype=np.complex128)
    acc[code.ky[plain] % T, code.kx[plain]] = gc[plain]
    flat = sfft.irfft2(acc, s=(T, T)).ravel()  # ~ sum Re(g conj(c) e^{2 pi i k.d / T})
    i = int(np.argmax(flat))
    z = (flat[i] - float(flat.mean())) / (float(flat.std()) + 1e-12)
    dy, dx = divmod(i, T)
    vals = (gc * np.exp(2j * np.pi * (code.ky * dy + code.kx * dx) / T)).real
    pay = code.role >= 0
    soft = np.bincount(code.role[pay], weights=vals[pay], minlength=ecc.coded_length(MESSAGE_BITS))
    return float(z), soft


def _best_fold(
    W: np.ndarray, shape: tuple[int, int], p: float, code: _Code
) -> tuple[float, float, float, np.ndarray]:
    """Refine a coarse period by the sync peak itself (the template only locates it to ~1%):
    a uniform-scale grid, then, if anything is there, a finer step and each axis on its own."""
    w, ry, rx = _band_image(W, shape, p)
    wt = _weights(w, p * ry)
    wx = (w * wt).ravel()
    wt = wt.ravel()
    best = (-1.0, p, p, np.zeros(0))

    def trial(py: float, px: float) -> None:
        nonlocal best
        z, soft = _read_tile(_fold(wx, wt, w.shape, py * ry, px * rx), code)
        if z > best[0]:
            best = (z, py, px, soft)

    for f in (-0.003, 0.0, 0.003):
        trial(p * (1 + f), p * (1 + f))
    if best[0] < REFINE_Z or best[0] >= CLEAR_Z:
        return best
    _, py0, px0, _ = best
    for f in (-0.0015, 0.0015):
        trial(py0 * (1 + f), px0 * (1 + f))
    _, py1, px1, _ = best
    for f in (-0.002, 0.002):
        trial(py1 * (1 + f), px1)
    for f in (-0.002, 0.002):
        trial(best[1], px1 * (1 + f))
    return best


def _decimate(y: np.ndarray) -> tuple[np.ndarray, int]:
    """Box-average large images down to ~560 px (the mark's band survives; 4x less work)."""
    d = max(1, round(min(y.shape) / 560))
    if d == 1:
        return y, 1
    h, w = y.shape[0] // d, y.shape[1] // d
    out = np.zeros((h, w), dtype=np.float32)
    for i in range(d):
        for j in range(d):
            out += y[i : i + h * d : d, j : j + w * d : d]
    return out / (d * d), d


def detect(pixels: np.ndarray, key: bytes) -> Detection:
    """Look for the mark in an 8-bit image of any size (already decoded from PNG/JPEG/DICOM)."""
    y = luminance(pixels)
    none = Detection(False, None, 0.0, 0.5, None, 1.0)
    if min(y.shape) < MIN_PERIOD:
        return none
    y, d = _decimate(y)
    code = _code(key)
    W = _whiten(y)
    periods = _scan_periods(np.abs(W) ** 2, y.shape, code)[: MAX_CANDIDATES - 2]
    # The unscaled tile sizes are always worth a try: they cover small or cropped originals
    # whose few periods the template scan cannot see.
    for t in sorted({tile_size(*y.shape) / d, T / d}):
        if t >= MIN_PERIOD and all(abs(p - t) > 0.01 * t for p in periods):
            periods.append(t)
    best = none
    n_coded = ecc.coded_length(MESSAGE_BITS)
    for p in periods:
        z, py, px, soft = _best_fold(W, y.shape, p, code)
        if z < DECODE_Z:
            if z > best.sync_z:
                best = Detection(False, None, z, 0.5, (py * d, px * d), 1.0, soft)
            continue
        bits, _ = ecc.viterbi(soft, MESSAGE_BITS)
        value = _bits_to_int(bits)
        payload = Payload.from_int(value >> MAC_BITS)
        ok = _bits_to_int(_message_bits(payload, code)) == value
        agree = float(np.mean((soft < 0) == (ecc.encode(bits)[:n_coded] == 1)))
        p_false = MAX_CANDIDATES * 2.0**-MAC_BITS
        det = Detection(ok, payload if ok else None, z, agree, (py * d, px * d), p_false, soft)
        if ok:
            return det
        if z > best.sync_z:
            best = Detection(False, None, z, agree, det.period, 1.0, soft)
    return best
