"""Bright-field microscopy: per-pixel stain concentrations -> an RGB slide scan.

Steps (one per function): stain set -> slide variation -> optical blur -> Beer-Lambert ->
scanner noise -> 8-bit. The inverse (`deconvolve`) uses the same vectors, so a test can
recover the concentration maps from the written RGB (Ruifrok & Johnston's colour
deconvolution).

Optical density vectors: ../shared/reference/physics.md, "Histopathology stains"
(Macenko's H&E reference, Ruifrok-Johnston H-DAB and H-PAS). Concentrations are optical
densities in decadic units
(OD = -log10(I / I0)) per unit of stain: pixel channel c has OD_c = sum_s C_s * v_s[c].
Objective resolution: Abbe/Rayleigh 0.61 lambda / NA at lambda 0.55 um; numerical apertures
of usual plan objectives (4x 0.13, 10x 0.30, 20x 0.75, 40x 0.95). Scanner sampling from
physics.md "Histology additions": ~0.25 um/px at 40x, ~0.5 um/px at 20x.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter

# physics.md, "Histopathology stains" (rows: stains, columns: R, G, B)
STAIN_VECTORS: dict[str, dict[str, tuple[float, float, float]]] = {
    # H&E: Macenko's reference pair (its eosin absorbs some blue, as scanned slides do;
    # Ruifrok-Johnston's (0.65, 0.70, 0.29) / (0.07, 0.99, 0.11) renders eosin magenta)
    "he": {"haematoxylin": (0.5626, 0.7201, 0.4062), "eosin": (0.2159, 0.8012, 0.5581)},
    "he_ruifrok": {"haematoxylin": (0.65, 0.70, 0.29), "eosin": (0.07, 0.99, 0.11)},
    "ihc": {"haematoxylin": (0.650, 0.704, 0.286), "dab": (0.268, 0.570, 0.776)},
    "pas": {"haematoxylin": (0.644, 0.717, 0.267), "pas": (0.175, 0.972, 0.155)},
}
STAIN_VECTORS["pas_d"] = STAIN_VECTORS["pas"]

# magnification -> (um per pixel, numerical aperture)
OBJECTIVES: dict[int, tuple[float, float]] = {
    4: (2.0, 0.13), 10: (1.0, 0.30), 20: (0.5, 0.75), 40: (0.25, 0.95)}
WAVELENGTH_UM = 0.55
# Melanin is a pigment in the tissue, not a stain: brown, absorbing blue most and red least.
# Its OD direction is approximated by Ruifrok-Johnston's DAB vector (also a brown polymer);
# it is added to every stain set's optical density, so it shows on H&E as on IHC.
MELANIN = (0.268, 0.570, 0.776)


@dataclass(frozen=True)
class Slide:
    """One slide's staining and scan: per-stain strength factors (batch-to-batch variation),
    the lamp's white level I0 per channel, focus blur (um) and scanner noise (counts)."""

    stain_set: str
    strength: tuple[float, ...]
    i0: tuple[float, float, float]
    defocus_um: float
    noise: float


def unit_matrix(stain_set: str) -> np.ndarray:
    """3x3: the set's unit vectors as rows, a third row orthogonal to them (the residual
    channel) so the matrix inverts."""
    rows = [np.asarray(v, np.float64) for v in STAIN_VECTORS[stain_set].values()]
    rows = [r / np.linalg.norm(r) for r in rows]
    third = np.cross(rows[0], rows[1])
    # the plain (signed) cross product: orthogonal to both, so the inverse stays well
    # conditioned. Its absolute value, used before, lies close to haematoxylin for H-DAB
    # (condition number 279 against 3 now), which amplified scanner noise ~80x in the
    # unmixed haematoxylin of IHC slides. Only deconvolution reads this row.
    rows.append(third / np.linalg.norm(third))
    return np.stack(rows)


def draw_slide(stain_set: str, rng: np.random.Generator) -> Slide:
    n = len(STAIN_VECTORS[stain_set])
    strength = tuple(float(s) for s in rng.uniform(0.88, 1.12, n))
    white = rng.uniform(238, 246)
    i0 = (white + rng.uniform(-2, 2), white + rng.uniform(-2, 2), white + rng.uniform(0, 3))
    return Slide(stain_set, strength, i0, float(rng.uniform(0.0, 0.25)), 1.2)


def psf_sigma_px(magnification: int, px_um: float, defocus_um: float) -> float:
    """Gaussian sigma (pixels) of the objective's PSF plus a slight defocus."""
    na = OBJECTIVES[magnification][1]
    fwhm = 0.61 * WAVELENGTH_UM / na
    sigma_um = float(np.hypot(fwhm / 2.355, defocus_um))
    return sigma_um / px_um


def blur(conc: np.ndarray, sigma_px: float) -> np.ndarray:
    """Optical blur of the (H, W, S) concentration stack (in OD: thin-specimen approximation)."""
    if sigma_px < 0.15:
        return conc
    return gaussian_filter(conc, sigma=(sigma_px, sigma_px, 0), mode="nearest", truncate=3.0)


def beer_lambert(conc: np.ndarray, slide: Slide) -> np.ndarray:
    """I = I0 * 10^(-OD), OD = C @ V: float RGB in counts."""
    v = unit_matrix(slide.stain_set)[: conc.shape[-1]].astype(np.float32)
    od = conc.astype(np.float32) @ v
    return np.asarray(slide.i0, np.float32) * np.power(np.float32(10.0), -od)


def scan(intensity: np.ndarray, slide: Slide, rng: np.random.Generator) -> np.ndarray:
    """Scanner noise (shot-like, grows with sqrt(I)) and 8-bit quantisation."""
    noise = rng.standard_normal(intensity.shape, dtype=np.float32)
    noisy = intensity + noise * np.float32(slide.noise / np.sqrt(240.0)) * np.sqrt(intensity)
    return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)


def render(conc: np.ndarray, slide: Slide, magnification: int, px_um: float,
           rng: np.random.Generator, pigment: np.ndarray | None = None,
           pigment_vector: tuple[float, float, float] = MELANIN
           ) -> tuple[np.ndarray, np.ndarray]:
    """Scale by the slide's strength, blur, Beer-Lambert, scan. Returns (RGB uint8, the
    concentration maps that went into Beer-Lambert, float32 (H, W, S)). `pigment`: melanin
    OD per pixel (unstained, so no slide strength: melanin, bile), added along
    `pigment_vector`."""
    scaled = conc * np.asarray(slide.strength, np.float32)
    sigma = psf_sigma_px(magnification, px_um, slide.defocus_um)
    seen = blur(scaled, sigma).astype(np.float32)
    light = beer_lambert(seen, slide)
    if pigment is not None and pigment.any():
        mel = blur(pigment[..., None].astype(np.float32), sigma)
        unit = np.asarray(pigment_vector, np.float32) / np.float32(
            np.linalg.norm(pigment_vector))
        light = light * np.power(np.float32(10.0), -mel * unit)
    return scan(light, slide, rng), seen


def deconvolve(rgb: np.ndarray, stain_set: str, i0: tuple[float, float, float]) -> np.ndarray:
    """Colour deconvolution with the same vectors: (H, W, S) concentrations from RGB."""
    od = -np.log10(np.maximum(rgb.astype(np.float64), 1.0) / np.asarray(i0, np.float64))
    conc = od @ np.linalg.inv(unit_matrix(stain_set))
    return conc[..., : len(STAIN_VECTORS[stain_set])]
