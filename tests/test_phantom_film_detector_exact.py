"""The film's image side runs its float steps in place for speed; these check that each such
function gives, bit for bit, what the plain written-out computation gives (the physics as
physics.md states it), on film-sized inputs."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
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
    amp = xray.LUNG_TEXTURE_SD * res * np.sqrt(
        np.clip(resize(lung.astype(np.float32), H, W), 0, None) / 100.0)
    return (amp * field).astype(np.float32)


def test_lung_texture_is_the_written_out_texture():
    yy, xx = np.mgrid[0:171, 0:171]
    lung = np.clip(150.0 - np.hypot(yy - 80, xx - 60), 0, None)  # mm of lung per coarse ray
    lengths = {xray.LUNG_LABELS[0]: lung, xray.LUNG_LABELS[1]: lung / 3}
    scene = SimpleNamespace(params={"tex_seed": 4})
    got = xray._lung_texture(lengths, scene, SimpleNamespace(px=0.85), 512, 512)
    want = _plain_lung_texture(lung + lung / 3, 4, 0.85, 512, 512)
    assert _bits(got) == _bits(want)
