"""Check where an image came from: PNG, JPEG (anything Pillow reads) or DICOM, as bytes or a file.

The keyed invisible mark decides "marked"; metadata (PNG chunks, DICOM attributes) is reported as
what the file *claims*, since anyone can strip or write it. The bot calls `verify_bytes` on an
attached image; `imagine-med verify` calls `verify_file`.
"""

from __future__ import annotations

import io
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from imagine_med.errors import UserError
from imagine_med.provenance import watermark as wm
from imagine_med.provenance.metadata import read_png_fields
from imagine_med.settings import Settings, get_settings

MAX_PIXELS = 50_000_000  # refuse decompression bombs politely


class ImageReadError(UserError, ValueError):
    """The bytes are not an image we can read; `message` is user-safe."""


@dataclass
class VerifyResult:
    name: str
    marked: bool
    job_tag: str | None = None  # 10 hex digits: the job id itself for ids made by imagine-med
    variant: str | None = None  # "grid" or "1".."7"
    key_id: str | None = None
    confidence: float = 0.0  # 1 - p_false when marked, else 0
    p_false: float = 1.0  # bound on the chance an unmarked image reads like this
    sync_z: float = 0.0
    bit_agreement: float = 0.5
    claims: dict[str, str] = field(default_factory=dict)
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        """One human line, shared by the CLI and the bot."""
        if self.error:
            return f"{self.name}: error: {self.error}"
        if not self.marked:
            claim = ""
            if self.claims.get("synthetic") or self.claims.get("SyntheticData"):
                claim = " (its metadata claims imagine-med origin, but the mark is absent)"
            return (
                f"{self.name}: NOT marked{claim}; no imagine-med watermark found "
                f"(best sync z={self.sync_z:.1f})"
            )
        return (
            f"{self.name}: MARKED synthetic (imagine-med): job {self.job_tag}, variant "
            f"{self.variant}, key {self.key_id}; confidence {self.confidence:.9f} "
            f"(bit agreement {self.bit_agreement:.0%}, sync z={self.sync_z:.1f})"
        )


def _to_uint8(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    lo, hi = float(np.min(a)), float(np.max(a))
    if hi <= lo:
        return np.zeros(a.shape, np.uint8)
    return np.clip(np.rint((a - lo) * 255.0 / (hi - lo)), 0, 255).astype(np.uint8)


def _dicom_pixels(data: bytes) -> tuple[np.ndarray, dict[str, str]]:
    import pydicom
    from pydicom.pixels import apply_modality_lut

    try:
        ds = pydicom.dcmread(io.BytesIO(data))
    except Exception as exc:  # pydicom raises many types for bad files
        raise ImageReadError(f"not a readable DICOM file ({exc.__class__.__name__})") from exc
    claims = {
        k: str(ds.get(k, ""))
        for k in ("SyntheticData", "PatientName", "Modality", "BurnedInAnnotation")
        if k in ds
    }
    if ds.get("Modality", "") == "SEG":
        raise ImageReadError(
            "a DICOM segmentation (the labels), not an image: verify the image it references"
        )
    if "PixelData" not in ds:
        raise ImageReadError(f"DICOM object without an image ({ds.get('Modality', '?')})")
    try:
        arr = ds.pixel_array
    except Exception as exc:
        raise ImageReadError(f"cannot decode the DICOM pixels ({exc})") from exc
    if int(ds.get("NumberOfFrames", 1) or 1) > 1:
        arr = arr[0]
    if ds.get("PhotometricInterpretation", "") in ("RGB", "YBR_FULL", "YBR_FULL_422"):
        if ds.PhotometricInterpretation != "RGB":
            from pydicom.pixels import convert_color_space

            arr = convert_color_space(arr, ds.PhotometricInterpretation, "RGB")
        return arr.astype(np.uint8), claims
    if "WindowCenter" in ds and "WindowWidth" in ds:
        # The stored window, linear but NOT clipped: values far outside it (air in CT) still
        # carry the mark, and the detector whitens its input, so the scale does not matter.
        wc = float(np.atleast_1d(ds.WindowCenter)[0])
        ww = float(np.atleast_1d(ds.WindowWidth)[0])
        arr = (np.asarray(apply_modality_lut(arr, ds), np.float64) - (wc - ww / 2)) * (255 / ww)
        if ds.get("PhotometricInterpretation", "") == "MONOCHROME1":
            arr = 255 - arr
        return arr.astype(np.float32), claims
    elif arr.dtype != np.uint8:
        arr = _to_uint8(arr)
    if ds.get("PhotometricInterpretation", "") == "MONOCHROME1":
        arr = 255 - arr
    return arr, claims


def load_pixels(data: bytes) -> tuple[np.ndarray, dict[str, str]]:
    """Decode image bytes to (H, W) or (H, W, 3) pixels on a 0-255 scale (uint8, or float32 for
    windowed DICOM), plus the metadata claims found."""
    if len(data) >= 132 and data[128:132] == b"DICM":
        return _dicom_pixels(data)
    try:
        with Image.open(io.BytesIO(data)) as im:
            if im.width * im.height > MAX_PIXELS:
                raise ImageReadError(f"image too large ({im.width}x{im.height})")
            claims = read_png_fields(im.info)
            if im.mode in ("L", "RGB"):
                arr = np.asarray(im)
            elif im.mode in ("I;16", "I;16B", "I", "F"):
                arr = _to_uint8(np.asarray(im))
            else:
                arr = np.asarray(im.convert("RGB"))
    except UnidentifiedImageError as exc:
        raise ImageReadError(
            "not an image we can read (PNG, JPEG, WebP, TIFF, BMP, GIF or DICOM)"
        ) from exc
    except (OSError, Image.DecompressionBombError) as exc:
        raise ImageReadError(f"cannot decode the image ({exc})") from exc
    return arr, claims


def verify_bytes(
    data: bytes, name: str = "image", settings: Settings | None = None
) -> VerifyResult:
    """Look for our mark in one image's bytes."""
    s = settings or get_settings()
    key = s.watermark_key.get_secret_value().encode("utf-8")
    try:
        pixels, claims = load_pixels(data)
    except ImageReadError as exc:
        return VerifyResult(name=name, marked=False, error=exc.message)
    _c2pa_claims(data, claims, s)
    det = wm.detect(pixels, key)
    res = VerifyResult(
        name=name, marked=det.marked, confidence=det.confidence, p_false=det.p_false,
        sync_z=round(det.sync_z, 2), bit_agreement=round(det.agreement, 4), claims=claims,
    )
    if det.marked and det.payload is not None:
        p = det.payload
        res.job_tag = p.job_hex
        res.variant = "grid" if p.variant == 0 else str(p.variant)
        res.key_id = (
            s.watermark_key_id if p.key_bits == wm.key_bits(s.watermark_key_id)
            else f"unknown (key bits {p.key_bits})"
        )
    return res


def _c2pa_claims(data: bytes, claims: dict[str, str], s: Settings) -> None:
    """Add the C2PA manifest's validation state to the claims, when the extra is installed."""
    from imagine_med.provenance import c2pa_sign

    if not c2pa_sign.available():
        return
    mime = "application/dicom" if data[128:132] == b"DICM" else None
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        mime = "image/png"
    elif data[:3] == b"\xff\xd8\xff":
        mime = "image/jpeg"
    if mime is None or mime == "application/dicom":
        return
    ca = s.data_dir / "c2pa" / "ca.pem"
    found = c2pa_sign.read_manifest(data, mime, ca.read_bytes() if ca.exists() else None)
    if found:
        claims["c2pa"] = str(found["state"])


def verify_file(path: Path | str, settings: Settings | None = None) -> VerifyResult:
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        return VerifyResult(name=str(p), marked=False, error=f"cannot read file ({exc.strerror})")
    return verify_bytes(data, name=str(p), settings=settings)
