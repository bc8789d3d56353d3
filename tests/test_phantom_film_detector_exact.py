"""The film's image side runs its float steps in place for speed; these check that each such
function gives, bit for bit, what the plain written-out computation gives (the physics as
physics.md states it), on film-sized inputs."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from scipy import fft as sfft
from scipy import ndimage

from imagine_med.engine.phantom import xray
from imagine_med.engine.phantom.physics import dr
from imagine_med.engine.phantom.physics.radiography import CHEST, EXTREMITY, expose, resize


def _bits(a: np.ndarray) -> bytes:
    return np.ascontiguousarray(a).tobytes()  # -0.0 and 0.0 differ here, unlike ==


def _plain_expose(line, px, rng, exposure):
    h, w = line.shape
    primary = np.exp(-line.astype(np.float32))
    sc = ndimage.gaussian_filter(primary[::8, ::8], exposure.scatter_sigma_mm / (px * 8),
                                 mode="nearest")
    total = primary + exposure.scatter_fraction * resize(sc, h, w)
    n0 = np.float32(exposure.quanta_per_08mm * (px / 0.8) ** 2)
    counts = total * n0
    noisy = counts + np.sqrt(counts) * rng.standard_normal((h, w), dtype=np.float32)
    det = ndimage.gaussian_filter(np.maximum(noisy / n0, 1e-5),
                                  max(exposure.blur_mm / px, 0.4), truncate=3)
    return -np.log(det)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("exposure", [CHEST, EXTREMITY])
def test_expose_is_the_written_out_physics(dtype, exposure):
    yy, xx = np.mgrid[0:200, 0:240]
    line = (2.5 * np.exp(-((yy - 100) ** 2 + (xx - 120) ** 2) / 4000.0)).astype(dtype)
    got = expose(line, 0.85, np.random.default_rng(5), exposure)
    want = _plain_expose(line, 0.85, np.random.default_rng(5), exposure)
    assert got.dtype == want.dtype and _bits(got) == _bits(want)


def test_band_curve_is_the_written_out_curve():
    x = (np.random.default_rng(1).standard_normal((300, 310)) * 0.08).astype(np.float32)
    a = np.abs(x) * np.float32(1 / dr.CURVE_KNEE)
    np.power(a, np.float32(dr.CURVE_EXP), out=a, where=a < 1)
    want = np.copysign(a, x) * np.float32(dr.CURVE_KNEE)
    assert _bits(dr._curve(x)) == _bits(want)


def _plain_lung_texture(lung, tex_seed, px, H, W):
    seed = tex_seed * 31 + xray.LUNG_TEXTURE_SEED
    field = dr.power_law_field((H, W), xray.LUNG_TEXTURE_BETA, seed,
                               px / xray.LUNG_TEXTURE_MAX_MM)
    res = np.sqrt(max(xray.LUNG_TEXTURE_MAX_MM - 2 * px, 0.0) / (xray.LUNG_TEXTURE_MAX_MM - 0.8))
    amp = np.float32(xray.LUNG_TEXTURE_SD * res) * np.sqrt(
        np.clip(resize(lung.astype(np.float32), H, W), 0, None) / np.float32(100.0))
    return amp * field


def test_lung_texture_is_the_written_out_texture():
    yy, xx = np.mgrid[0:171, 0:171]
    lung = np.clip(150.0 - np.hypot(yy - 80, xx - 60), 0, None)  # mm of lung per coarse ray
    lengths = {xray.LUNG_LABELS[0]: lung, xray.LUNG_LABELS[1]: lung / 3}
    scene = SimpleNamespace(params={"tex_seed": 4})
    got = xray._lung_texture(lengths, scene, SimpleNamespace(px=0.85), 512, 512)
    want = _plain_lung_texture(lung + lung / 3, 4, 0.85, 512, 512)
    assert _bits(got) == _bits(want)


def _plain_process(q, px, lung, reference):
    """dr.process written out band by band at full resolution: every blur brought to the
    film's grid, every band's curve taken there (the pyramid takes the bands from 2.5 mm up,
    and their curves, on the 2.5 mm blur's half grid)."""
    inside = q > dr.AIR_Q
    iy, ix = ndimage.distance_transform_edt(~inside[::2, ::2], return_distances=False,
                                            return_indices=True)
    qf = np.where(inside, q, resize(q[::2, ::2][iy, ix], *q.shape)).astype(np.float32)
    b = [qf, dr.blur_mm(qf, dr.BAND_SIGMAS_MM[0], px)]
    b.append(dr.blur_mm(b[1], float(np.sqrt(dr.BAND_SIGMAS_MM[1] ** 2
                                              - dr.BAND_SIGMAS_MM[0] ** 2)), px,
                        max_step=2, cells=1.2))
    b += [dr.blur_mm(qf, s, px) for s in dr.BAND_SIGMAS_MM[2:]]
    ref, rpx = reference
    bs = dr.blur_mm(ref.astype(np.float32), dr.BAND_SIGMAS_MM[-1], rpx)
    step = round(q.shape[0] / ref.shape[0])
    ls = lung[step // 2::step, step // 2::step][:bs.shape[0], :bs.shape[1]]
    body = q[step // 2::step, step // 2::step][:bs.shape[0], :bs.shape[1]] > 0.3
    rows = np.flatnonzero(ls.any(axis=1))
    chest = body.copy()
    chest[: rows.min()] = False
    chest[rows.max() + 1:] = False
    lo = np.percentile(bs[ls], 5)
    span = np.percentile(bs[chest], 99) - lo
    t = dr.BASE_GAIN * (b[-1] - lo) / span
    for k, gain in enumerate(dr.BAND_GAINS):
        band = (b[k] - b[k + 1]) / span
        t = t + gain * (dr._curve(band) if 0 < k < len(dr.BAND_GAINS) - 1 else band)
    v = (t - dr.T_LO) * (dr.DENSE_GREY - dr.LUNG_GREY) / (dr.T_HI - dr.T_LO) + dr.LUNG_GREY
    s = dr.SHOULDER
    v = np.where(v > s, s + (1 - s) * (1 - np.exp(-(v - s) / (1 - s))), v) * 255
    v[q < 0.05] = np.minimum(v[q < 0.05], 10)
    return np.clip(v, 0, 255).astype(np.uint8)


def test_band_pyramid_is_the_full_resolution_band_sum():
    """The coarse bands summed on the half grid (their curves there, as a Laplacian pyramid
    applies them) give the film the plain full-resolution sum gives, within a grey level
    but for rare pixels where a band's curve bends between two half-grid samples."""
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[0:512, 0:512].astype(np.float32)
    body = np.clip(1 - ((yy - 256) / 240) ** 2 - ((xx - 256) / 200) ** 4, 0, None)
    lungs = (np.hypot((yy - 230) / 150, (np.abs(xx - 256) - 95) / 60) < 1)
    smooth = ndimage.gaussian_filter(rng.standard_normal((512, 512)), 6) * 8
    line = (3.2 * body - 1.4 * lungs + smooth * body).astype(np.float32)
    q = expose(line, 0.82, np.random.default_rng(5), CHEST)
    reference = (dr.scattered(line[1::3, 1::3].astype(np.float64), 0.82 * 3), 0.82 * 3)
    got = dr.process(q, 0.82, lungs, reference)
    want = _plain_process(q, 0.82, lungs, reference)
    d = np.abs(got.astype(int) - want.astype(int))
    assert (d <= 1).mean() > 0.997 and d.max() <= 3, ((d <= 1).mean(), d.max())


def _plain_power_law_field(shape, beta, seed, f_min):
    rng = np.random.default_rng(seed)
    fy = np.fft.fftfreq(shape[0]).astype(np.float32)[:, None]
    fx = np.fft.rfftfreq(shape[1]).astype(np.float32)[None, :]
    amp = np.maximum(np.sqrt(fx**2 + fy**2), np.float32(f_min)) ** np.float32(-beta / 2)
    amp[0, 0] = 0.0
    spec = np.empty(amp.shape, np.complex64)
    spec.real = rng.standard_normal(amp.shape) * amp
    spec.imag = rng.standard_normal(amp.shape) * amp
    field = sfft.irfft2(spec, s=shape)
    return field / (field.std() + np.float32(1e-12))


@pytest.mark.parametrize("shape", [(512, 512), (301, 257)])
def test_power_law_field_is_the_written_out_field(shape):
    got = dr.power_law_field(shape, 3.0, 11, 0.07)
    assert _bits(got) == _bits(_plain_power_law_field(shape, 3.0, 11, 0.07))


def _plain_bone_texture(tex_seed, px, H, W):
    n = min(xray.BONE_TEXTURE_TILE, max(H, W))
    rng = np.random.default_rng(tex_seed * 31 + xray.BONE_TEXTURE_SEED)
    f = np.hypot(np.fft.fftfreq(n)[:, None], np.fft.rfftfreq(n)[None, :]) / px
    amp = ((f >= 1 / xray.BONE_TEXTURE_MM[1]) & (f <= 1 / xray.BONE_TEXTURE_MM[0]))
    spec = (rng.standard_normal(amp.shape) + 1j * rng.standard_normal(amp.shape)) \
        * amp.astype(np.float32)
    field = np.fft.irfft2(spec, s=(n, n)).astype(np.float32)
    field /= field.std() + 1e-12
    ridge = ndimage.gaussian_filter(np.exp(-np.square(field / np.float32(0.5))), 0.5 / px,
                                    mode="wrap")
    ridge = ridge - ridge.mean()
    ridge = ridge / (ridge.std() + 1e-12)
    return np.tile(ridge, (-(-H // n), -(-W // n)))[:H, :W]


@pytest.mark.parametrize("px", [0.82, 1.3, 4.4])
@pytest.mark.parametrize("tex_seed", [3, 7, 11])
def test_bone_texture_is_the_written_out_texture(px, tex_seed):
    got = xray._bone_texture(SimpleNamespace(params={"tex_seed": tex_seed}),
                             SimpleNamespace(px=px), 512, 512)
    assert _bits(got) == _bits(_plain_bone_texture(tex_seed, px, 512, 512))
