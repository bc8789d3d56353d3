"""Acquisition artefacts, as options, from the physics that makes them.

- **Gibbs (truncation) ringing, MRI**: an MR image is the Fourier transform of a finite
  k-space. Acquiring only the central `lines` phase-encoding lines (left-right here) convolves
  the object with a sinc, so every sharp edge (skull and scalp fat against CSF, CSF against
  cortex) rings with a period of about two acquired pixels: bright and dark bands parallel to
  the edge, fading inward. The image is transformed, the phase-encoding axis cut to `lines`
  (a rectangular window, no apodisation: that is what makes it ring) and transformed back.
- **Beam hardening, CT**: a polychromatic beam hardens as it crosses bone, so long bone paths
  are under-attenuated and filtered back-projection paints dark streaks between dense bones
  (the "Hounsfield bar" between the petrous temporal bones) and cupping inside the skull.
  Model: the water-corrected projection loses a quadratic term, p' = p - k p_bone^2, where
  p_bone is the bone's line integral; the error sinogram -k p_bone^2 is reconstructed by
  filtered back-projection and added to the image. k from the usual single-material water
  correction left uncorrected for bone (Brooks & Di Chiro, 1976; Hsieh, Computed Tomography,
  2nd ed., ch. 7), tuned so the petrous streak reads tens of HU, as on unenhanced head CT.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

GIBBS_LINES_FRACTION = 0.35  # phase-encoding lines kept, of the display matrix
BONE_HU = 300.0  # bone fraction 0 here ...
BONE_FULL_HU = 1500.0  # ... and 1 at cortical bone
HARDENING_BETA = 0.012  # projection lost per (cm of bone)^2 (a few % through both petrous
# bones, ~4 cm of bone: tuned so the petrous streak reads tens of HU, as on head CT)
ANGLES = 180  # projections for the error sinogram (fewer leave angular aliasing streaks)
WORK_PX = 192  # the error image is reconstructed on this grid and enlarged


def gibbs_ringing(image: np.ndarray, lines: int) -> np.ndarray:
    """The magnitude image seen through `lines` phase-encoding lines (columns' axis: left-
    right); frequency encoding (rows) is left whole."""
    k = np.fft.fftshift(np.fft.fft(image.astype(np.float64), axis=1), axes=1)
    n = image.shape[1]
    keep = np.zeros(n, bool)
    c = n // 2
    keep[c - lines // 2: c - lines // 2 + lines] = True
    k[:, ~keep] = 0.0
    out = np.abs(np.fft.ifft(np.fft.ifftshift(k, axes=1), axis=1))
    return out.astype(np.float32)


def bandwidth_lines(image: np.ndarray, floor: float = 1e-3) -> int:
    """How many phase-encoding lines an image holds: the width of the band of column
    frequencies carrying more than `floor` of the peak power (read back off the pixels)."""
    power = np.abs(np.fft.fftshift(np.fft.fft(image.astype(np.float64), axis=1), axes=1)) ** 2
    profile = power.mean(axis=0)
    on = np.nonzero(profile > floor * profile.max())[0]
    return int(on.max() - on.min() + 1) if len(on) else 0


def _radon(img: np.ndarray, angles: np.ndarray, d_cm: float) -> np.ndarray:
    """Parallel-beam line integrals (value x cm) of `img`, one column per angle."""
    return np.stack([ndimage.rotate(img, a, reshape=False, order=1).sum(axis=0) * d_cm
                     for a in angles], axis=1)


def _backproject(sino: np.ndarray, angles: np.ndarray, n: int, d_cm: float) -> np.ndarray:
    """Filtered back-projection (Ram-Lak ramp |nu|, nu in cycles/cm) of a parallel-beam
    sinogram of line integrals: the image in value per cm."""
    ramp = np.abs(np.fft.fftfreq(sino.shape[0])) / d_cm
    filtered = np.real(np.fft.ifft(np.fft.fft(sino, axis=0) * ramp[:, None], axis=0))
    out = np.zeros((n, n))
    for i, a in enumerate(angles):
        out += ndimage.rotate(np.tile(filtered[:, i], (n, 1)), -a, reshape=False, order=1)
    return out * np.pi / len(angles)


MU_WATER_CM = 0.19  # linear attenuation of water at ~70 keV (physics.md), for HU


def beam_hardening(hu: np.ndarray, px_mm: float, beta: float = HARDENING_BETA) -> np.ndarray:
    """HU with the beam-hardening error of the slice's bone added: each ray's projection
    loses beta x (bone path in cm)^2, reconstructed by filtered back-projection (dark streaks
    between dense bones, slight cupping)."""
    n = hu.shape[0]
    scale = WORK_PX / max(hu.shape)
    d_cm = px_mm / 10.0 / scale  # a work pixel's size
    bone = np.clip((hu - BONE_HU) / (BONE_FULL_HU - BONE_HU), 0, 1)  # bone fraction
    small = ndimage.zoom(bone, scale, order=1)
    angles = np.linspace(0.0, 180.0, ANGLES, endpoint=False)
    path = _radon(small, angles, d_cm)  # cm of bone along each ray
    mu_err = _backproject(-beta * path ** 2, angles, small.shape[0], d_cm)
    err = ndimage.zoom(1000.0 * mu_err / MU_WATER_CM, n / small.shape[0], order=1)
    return (hu + err[: hu.shape[0], : hu.shape[1]].astype(np.float32)).astype(np.float32)
