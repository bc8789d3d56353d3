"""Gaussian blur of float32 images through OpenCV, with scipy's values.

ndimage.gaussian_filter builds a normalised kernel of radius int(truncate * sigma + 0.5),
filters one axis at a time in float64 and rounds to float32 between and after the passes.
OpenCV's separable filter, fed the same kernel in float64, gives the same sums (a symmetric
kernel's) in about half the time; the fundus and skin photographs blur many full frames.
tests/test_phantom_measure_fast.py compares the two value for value.
"""

from __future__ import annotations

import numpy as np

SCIPY_TRUNCATE = 4.0  # ndimage.gaussian_filter's default kernel reach, in sigmas


def gaussian_filter_cv(a: np.ndarray, sigma: float, mode: str = "reflect",
                       truncate: float = SCIPY_TRUNCATE) -> np.ndarray:
    """ndimage.gaussian_filter(a, sigma, mode=mode, truncate=truncate) of a float32 image,
    value for value; edges "reflect" or "nearest"."""
    import cv2  # a core dependency (pyproject), imported on first use (a second or so)

    border = {"reflect": cv2.BORDER_REFLECT, "nearest": cv2.BORDER_REPLICATE}[mode]
    r = int(truncate * float(sigma) + 0.5)
    x = np.arange(-r, r + 1)
    phi = np.exp(-0.5 / (sigma * sigma) * x ** 2)
    phi = phi / phi.sum()
    one = np.ones(1)
    down = cv2.sepFilter2D(a.astype(np.float64), cv2.CV_64F, one, phi,
                           borderType=border).astype(np.float32)
    return cv2.sepFilter2D(down.astype(np.float64), cv2.CV_64F, phi, one,
                           borderType=border).astype(a.dtype)


def gaussian_filter_fast(a: np.ndarray, sigma: float, mode: str = "reflect",
                         truncate: float = SCIPY_TRUNCATE) -> np.ndarray:
    """ndimage.gaussian_filter's values, through OpenCV where that gives them: a 2-D float32
    image at least a kernel wide (a kernel longer than the image reflects more than once,
    which the two libraries fold differently) with reflecting or nearest edges; scipy
    otherwise (a float64 image keeps float64 between its passes)."""
    r = int(truncate * float(sigma) + 0.5)
    if a.dtype != np.float32 or a.ndim != 2 or min(a.shape) <= 2 * r \
            or mode not in ("reflect", "nearest"):
        from scipy import ndimage

        return ndimage.gaussian_filter(a, sigma, mode=mode, truncate=truncate)
    return gaussian_filter_cv(a, sigma, mode, truncate)
