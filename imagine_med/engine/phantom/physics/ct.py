"""CT of any region that gives tissue fractions: HU by partial volume, then the grain of
filtered back-projection, then a window.

HU per tissue come from `tissues.py` (physics.md "CT numbers", "Neuro additions"). Head
windows (W/L) from physics.md: brain 80/40, subdural 200/75, stroke 40/40, bone 2800/600.
"""

from __future__ import annotations

import numpy as np

from imagine_med.engine.phantom.regions.base import Sample


def ct_noise(shape, rng: np.random.Generator, sigma: float, px: float) -> np.ndarray:
    """White noise through a ramp x Hann filter: the grain of filtered back-projection."""
    h, w = shape
    white = rng.standard_normal((h, w))
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.rfftfreq(w)[None, :]
    f = np.sqrt(fx**2 + fy**2)
    cutoff = 0.5 * min(1.0, 0.7 / px)
    filt = f * np.where(f < cutoff, 0.5 + 0.5 * np.cos(np.pi * f / cutoff), 0.0)
    n = np.fft.irfft2(np.fft.rfft2(white) * filt, s=(h, w))
    return n * (sigma / (n.std() + 1e-9))


def window(hu: np.ndarray, center: float, width: float) -> np.ndarray:
    lo = center - width / 2
    return (np.clip((hu - lo) / width, 0, 1) * 255 + 0.5).astype(np.uint8)


HEAD_WINDOWS: dict[str, tuple[float, float]] = {  # name -> (centre, width)
    "brain": (40.0, 80.0), "subdural": (75.0, 200.0), "stroke": (40.0, 40.0),
    "bone": (600.0, 2800.0),
}
HEAD_NOISE_HU = 3.5  # sd in brain with a soft head kernel at a routine head dose


def hu_image(sample: Sample) -> np.ndarray:
    """Partial-volume HU: each pixel's fractions times their tissues' CT numbers; air where
    no tissue is."""
    hu = sample.mix(lambda t: t.hu + 1000.0)
    return hu - np.float32(1000.0)


def render_ct(sample: Sample, rng: np.random.Generator, px: float,
              noise_hu: float = HEAD_NOISE_HU) -> np.ndarray:
    """HU with scanner noise (air stays near -1000: its noise is cut by the reconstruction
    mask outside the body, as scanners do)."""
    hu = hu_image(sample)
    body = hu > -900
    return np.where(body, hu + ct_noise(hu.shape, rng, noise_hu, px).astype(np.float32),
                    np.float32(-1000.0) + np.float32(noise_hu) * rng.standard_normal(
                        hu.shape).astype(np.float32))


__all__ = ["HEAD_WINDOWS", "hu_image", "render_ct", "window"]
