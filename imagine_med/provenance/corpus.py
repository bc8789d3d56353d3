"""Images for testing and benchmarking the mark: unmarked real-world pictures, and stand-ins.

`unmarked_images` draws on the photographs scikit-image ships in its wheel (read straight from
its data folder, so nothing is downloaded) and on pydicom's bundled test files (real DICOM
samples), then multiplies them with random crops, rescales, JPEG and grayscale conversions, and
adds synthetic noise, gradients and patterns, until it has as many as asked for. It is what the
false-positive checks run on.

`medical_like` makes cheap stand-ins for engine output (CT with air around the body, a
radiograph, an MR slice, an H&E-like RGB field), for when no engine is installed.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image


def _skimage_files() -> list[Path]:
    try:
        import skimage
    except ImportError:
        return []
    folder = Path(skimage.__file__).parent / "data"
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg"))


def _to_uint8(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    lo, hi = np.percentile(a, [0.5, 99.5])
    if hi <= lo:
        hi = lo + 1
    return np.clip((a - lo) * 255.0 / (hi - lo), 0, 255).astype(np.uint8)


def _pydicom_arrays() -> list[tuple[str, np.ndarray]]:
    try:
        import pydicom
        from pydicom.data import get_testdata_files
    except ImportError:  # pragma: no cover - pydicom is a dependency
        return []
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for f in get_testdata_files():
            try:
                ds = pydicom.dcmread(f)
                a = ds.pixel_array
            except Exception:  # many samples are deliberately odd or compressed
                continue
            while a.ndim > 3 or (a.ndim == 3 and a.shape[-1] not in (3,)):
                a = a[0]
            if min(a.shape[:2]) < 32:
                continue
            out.append((f"pydicom:{Path(f).name}", _to_uint8(a)))
    return out


def base_images(max_side: int = 512) -> list[tuple[str, np.ndarray]]:
    """The real pictures: scikit-image's photographs and pydicom's samples (local files only)."""
    imgs = []
    for p in _skimage_files():
        with Image.open(p) as im:
            im = im.convert("RGB" if im.mode not in ("L", "I;16", "I") else "L")
            im.thumbnail((max_side, max_side))
            imgs.append((f"skimage:{p.name}", np.asarray(im)))
    for name, a in _pydicom_arrays():
        im = Image.fromarray(a)
        im.thumbnail((max_side, max_side))
        imgs.append((name, np.asarray(im)))
    return imgs


def _synthetic(rng: np.random.Generator, side: int) -> np.ndarray:
    h, w = side, int(side * rng.uniform(0.7, 1.4))
    kind = rng.integers(5)
    yy, xx = np.mgrid[:h, :w].astype(np.float64)
    if kind == 0:
        a = rng.normal(128, rng.uniform(2, 60), (h, w))
    elif kind == 1:
        a = xx * rng.uniform(-1, 1) + yy * rng.uniform(-1, 1) + rng.uniform(0, 255)
    elif kind == 2:
        period = rng.uniform(4, 90)
        a = 128 + 100 * np.sign(np.sin(xx * 2 * np.pi / period) * np.sin(yy * 2 * np.pi / period))
    elif kind == 3:  # periodic texture at about our tile size: a hard case for the period search
        p = rng.uniform(40, 200)
        a = 128 + 60 * np.cos(2 * np.pi * (xx / p)) * np.cos(2 * np.pi * (yy / p * 1.3))
        a += rng.normal(0, 10, (h, w))
    else:
        a = np.zeros((h, w)) + rng.integers(0, 256)
    return np.clip(a, 0, 255).astype(np.uint8)


def _augment(a: np.ndarray, rng: np.random.Generator, max_side: int) -> np.ndarray:
    im = Image.fromarray(a)
    if rng.random() < 0.7 and min(im.size) > 96:
        w, h = im.size
        cw, ch = int(w * rng.uniform(0.5, 1.0)), int(h * rng.uniform(0.5, 1.0))
        x0, y0 = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
        im = im.crop((x0, y0, x0 + cw, y0 + ch))
    if rng.random() < 0.6:
        s = rng.uniform(0.5, 1.6)
        im = im.resize((max(8, round(im.width * s)), max(8, round(im.height * s))), Image.BILINEAR)
    im.thumbnail((max_side, max_side))
    if rng.random() < 0.3 and im.mode == "RGB":
        im = im.convert("L")
    if rng.random() < 0.4:
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=int(rng.integers(60, 95)))
        im = Image.open(io.BytesIO(buf.getvalue()))
        im.load()
    return np.asarray(im)


def unmarked_images(n: int, max_side: int = 384, seed: int = 0) -> Iterator[tuple[str, np.ndarray]]:
    """n unmarked uint8 images: the real ones first, then variations and synthetic ones."""
    rng = np.random.default_rng(seed)
    bases = base_images(max_side)
    count = 0
    for name, a in bases:
        if count >= n:
            return
        yield name, a
        count += 1
    i = 0
    while count < n:
        if bases and i % 4 != 3:
            name, a = bases[int(rng.integers(len(bases)))]
            yield f"{name}~{i}", _augment(a, rng, max_side)
        else:
            yield f"synthetic~{i}", _synthetic(rng, int(rng.integers(96, max_side + 1)))
        count += 1
        i += 1


def medical_like(kind: str, seed: int, size: int = 512) -> np.ndarray:
    """A stand-in for engine output: 'ct', 'xray', 'mr' (uint8 gray) or 'histo' (RGB)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size].astype(np.float64) / size
    if kind == "ct":
        rx, ry = rng.uniform(0.36, 0.46), rng.uniform(0.28, 0.4)
        body = ((xx - 0.5) / rx) ** 2 + ((yy - 0.5) / ry) ** 2 < 1
        lung = (((np.abs(xx - 0.5) - 0.17) / 0.12) ** 2 + ((yy - 0.48) / 0.2) ** 2) < 1
        hu = np.where(body, 40.0, -1000.0)
        hu[lung & body] = -850
        hu[((xx - 0.5) / 0.03) ** 2 + ((yy - 0.68) / 0.04) ** 2 < 1] = 700
        hu += np.where(body, rng.normal(0, 12, hu.shape), 0)
        lo, width = -160.0, 400.0
        return np.clip((hu - lo) / width * 255, 0, 255).astype(np.uint8)
    if kind == "xray":
        a = 60 + 120 * np.exp(-(((xx - 0.5) / 0.35) ** 2 + ((yy - 0.5) / 0.45) ** 2))
        for k in range(10):
            a += 25 * np.exp(-((yy - 0.2 - 0.06 * k - 0.1 * (xx - 0.5) ** 2) / 0.008) ** 2)
        a -= 50 * ((((np.abs(xx - 0.5) - 0.18) / 0.12) ** 2 + ((yy - 0.45) / 0.25) ** 2) < 1)
        return np.clip(a + rng.normal(0, 4, a.shape), 0, 255).astype(np.uint8)
    if kind == "mr":
        r = np.hypot((xx - 0.5) / 0.4, (yy - 0.5) / 0.47)
        a = np.where(r < 1, 90 + 40 * np.cos(14 * np.arctan2(yy - 0.5, xx - 0.5)) * (r > 0.6), 0)
        a = np.where(r < 0.3, 200, a) + np.where(r < 1, rng.normal(0, 6, r.shape), 0)
        return np.clip(a, 0, 255).astype(np.uint8)
    if kind == "histo":
        base = np.ones((*xx.shape, 3)) * np.array([235.0, 200.0, 220.0])
        for _ in range(120):
            cx, cy, r = rng.random(), rng.random(), rng.uniform(0.005, 0.02)
            m = ((xx - cx) ** 2 + (yy - cy) ** 2) < r * r
            base[m] = (90, 40, 140)
        return np.clip(base + rng.normal(0, 5, base.shape), 0, 255).astype(np.uint8)
    raise ValueError(f"unknown kind {kind!r}; use ct, xray, mr or histo")
