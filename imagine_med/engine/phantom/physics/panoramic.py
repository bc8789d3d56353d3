"""Panoramic (rotational) tomography: the focal trough, its two magnifications, its blur and its
ghosts.

A panoramic unit turns a narrow vertical slit beam around a moving rotation centre behind the
arch while the detector travels past the slit. A point at distance r from the rotation centre
(toward the detector) is swept by the beam at speed w r; the detector moves at the speed that
keeps points at r_f (the focal layer) still. From that one fact:
- vertical magnification is ordinary projection: M_v(r) = D_sd / (D_f - r_f + r), D_f the source
  to focal-layer distance and D_sd the source to detector distance;
- horizontal magnification is a speed ratio: M_h(r) = M_v(r_f) r_f / r;
- a point off the layer smears across the slit width: blur = slit |1 - M_h / M_v| (detector mm).
So structures lingual to the trough (r < r_f) look wide, buccal ones narrow, both blurred; and a
structure between the source and the rotation centre (r < 0: the far ramus, the spine, the hyoid)
has negative M_h: a reversed, wider, very blurred ghost on the opposite side, higher because the
beam climbs (about 7 degrees) from the source to the detector. The trough is narrow in front
(rotation centre close, r_f small) and wide at the back (McDavid et al., "Dimensions of the
focal trough in panoramic radiography", JADA 1983; Langland & Langlais, Principles of Dental
Imaging; Whaites & Drage, Essentials of Dental Radiography and Radiology, ch. 15). Physics.md:
panoramic magnification ~1.2-1.3; objects outside the trough blur; ghosts on the opposite side,
higher.

Images here are in *nominal* millimetres: focal-layer objects land at their true (s, z) along the
unrolled arch (s, arc length, negative on the patient's right = viewer's left; z up); the
detector's magnification M_v(r_f) is reported as the pixel spacing's scale.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

D_SD = 520.0  # source to detector, mm (typical units: 480-540)
D_F = 416.0  # source to focal layer, mm: M = 520 / 416 = 1.25 in the layer
SLIT_MM = 4.0  # slit width at the detector, mm
TILT_DEG = 7.0  # the beam climbs from source to detector (negative angulation of the tube)
R_F_FRONT = 30.0  # rotation centre to focal layer at the incisors, mm
R_F_BACK = 75.0  # ... at the molars and rami
FOCAL_MAG = D_SD / D_F


@dataclass(frozen=True)
class Trough:
    """The unit's geometry; `r_f(s)` grows from the front of the arch to the back."""

    d_sd: float = D_SD
    d_f: float = D_F
    slit_mm: float = SLIT_MM
    tilt_deg: float = TILT_DEG
    r_front: float = R_F_FRONT
    r_back: float = R_F_BACK
    half_arch: float = 45.0  # |s| (mm) beyond which r_f is r_back (the canine-premolar turn)

    def r_f(self, s: float) -> float:
        t = min(1.0, abs(s) / self.half_arch)
        return self.r_front + (self.r_back - self.r_front) * t * t * (3 - 2 * t)

    def m_v(self, s: float, delta: float) -> float:
        """Vertical magnification of a point `delta` mm from the layer (toward the detector)."""
        rf = self.r_f(s)
        return self.d_sd / (self.d_f - rf + rf + delta)

    def m_h(self, s: float, delta: float) -> float:
        """Horizontal magnification: the detector's speed over the beam's speed at the point."""
        rf = self.r_f(s)
        r = rf + delta
        if abs(r) < 1e-3:
            r = 1e-3
        return FOCAL_MAG * rf / r

    def ratio(self, s: float, delta: float) -> float:
        """M_h / M_v: 1 in the layer, > 1 lingual (wide), < 1 buccal (narrow), < 0 a ghost."""
        return self.m_h(s, delta) / self.m_v(s, delta)

    def blur_mm(self, s: float, delta: float) -> float:
        """Horizontal smear of a point `delta` from the layer, detector mm."""
        return self.slit_mm * abs(1.0 - self.ratio(s, delta))

    def rise_mm(self, s: float, delta: float, z: float) -> float:
        """Nominal height at which a point at height z lands: the beam's climb lifts points
        nearer the source (delta < 0) and its divergence scales them by M_v / M_focal."""
        z_src = -self.d_f * np.tan(np.radians(self.tilt_deg))
        m = self.m_v(s, delta)
        y_det = z_src + (z - z_src) * m
        y_focal0 = z_src * (1 - FOCAL_MAG)
        return (y_det - y_focal0) / FOCAL_MAG

    def half_width(self, s: float, blur_tol_mm: float = 0.5) -> tuple[float, float]:
        """How far lingual and buccal of the layer (mm) the blur stays under `blur_tol_mm`:
        the trough's depth at s (narrow in front, wide behind)."""
        d = np.linspace(-30, 30, 601)
        ok = np.array([self.blur_mm(s, x) <= blur_tol_mm for x in d])
        inside = d[ok]
        return float(-inside.min()), float(inside.max())


@dataclass(frozen=True)
class Grid:
    """The image's nominal grid: column centres s (mm), row centres z (mm, top first)."""

    s: np.ndarray
    z: np.ndarray

    @property
    def px(self) -> float:
        return float(self.s[1] - self.s[0])


def place(thick: np.ndarray, grid: Grid, trough: Trough, s_obj: float, delta: float,
          s_img: float | None = None) -> np.ndarray:
    """Image one structure that lies `delta` mm off the focal layer.

    `thick` is its path-length map (mm along the beam) drawn on `grid` as if it were in the
    layer; it is centred at arch position `s_obj` and crossed by the beam that images column
    `s_img` (its own column for a near-layer structure; the mirror column for a ghost). Returns
    the map as the moving detector records it: scaled by M_h and M_v about its centre, lifted by
    the beam's climb, smeared horizontally by the slit."""
    s_img = s_obj if s_img is None else s_img
    ratio = trough.ratio(s_img, delta)
    vscale = trough.m_v(s_img, delta) / FOCAL_MAG
    px = grid.px
    # image (row, col) -> object (row, col): col_o = c_obj + (col - c_img) / ratio
    c_obj = (s_obj - grid.s[0]) / px
    c_img = (s_img - grid.s[0]) / px
    z_top = grid.z[0]
    # rows: z_img = rise(z_obj); rise is affine in z with slope vscale
    z0_img = trough.rise_mm(s_img, delta, 0.0)
    # z_obj = (z_img - z0_img) / vscale; row = (z_top - z) / px
    row_scale = 1.0 / vscale
    row_off = (z_top - (z_top - z0_img) / vscale) / px  # so row_o = row_i * row_scale + off
    matrix = np.array([row_scale, 1.0 / ratio])
    offset = np.array([row_off - 0.0, c_obj - c_img / ratio])
    # affine_transform maps output index o to input index matrix*o + offset
    out = ndimage.affine_transform(thick, matrix, offset=offset, order=1, mode="constant",
                                   cval=0.0, prefilter=False)
    if abs(ratio) < 1:
        out *= 1.0  # path length along the beam does not change with the sweep speed
    sigma = trough.blur_mm(s_img, delta) / FOCAL_MAG / 2.355 / px
    if sigma > 0.3:
        out = ndimage.gaussian_filter1d(out, sigma, axis=1, mode="constant")
    return out


def expose(mu_path: np.ndarray, rng: np.random.Generator, *, photons: float = 4000.0,
           lo: float = 0.35, hi: float = 2.2, detector_px: float = 0.7) -> np.ndarray:
    """Attenuation line integral (dimensionless, sum mu L) -> display grey (0-1, bone bright).

    Beer-Lambert (I = I0 exp(-A)), Poisson quantum noise at `photons` per pixel unattenuated,
    detector blur (`detector_px` pixels), log, then a window from `lo` to `hi` and the mild
    unsharp mask every digital panoramic unit applies."""
    primary = photons * np.exp(-mu_path)
    counts = rng.poisson(np.maximum(primary, 0.0)).astype(np.float32)
    counts = ndimage.gaussian_filter(counts, detector_px)
    a = -np.log(np.maximum(counts, 0.5) / photons)
    sharp = a + 0.6 * (a - ndimage.gaussian_filter(a, 6.0))
    g = (sharp - lo) / (hi - lo)
    return np.clip(g, 0.0, 1.0) ** 0.9
