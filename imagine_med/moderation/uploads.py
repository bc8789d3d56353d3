"""What an image attached to /imagine-med may be, decided before anything is rendered or kept.

Three things are accepted: an image of ours (the invisible mark verifies: a refine of its job),
a sketch in the palette (engine.phantom.sketch: rendered by the phantom physics), and, only
where an instance enables it, anything else that passed the automatic checks, held for a
moderator with its metadata stripped. A real patient's scan must never be processed, so the
checks run in order of cost and of harm:

1. size, type and pixel count from the file's header, before decoding (decompression bombs);
2. DICOM: patient attributes in the header refuse it outright (pydicom, pixels never read);
3. our mark (provenance.verify) and the sketch palette;
4. faces (OpenCV's bundled Haar cascade; no download, ~50 ms): a face refuses it;
5. burned-in text (Tesseract OCR via pytesseract, ~1 s): a name or date on the pixels refuses it.

Refusals say why, never what was read (the OCR text may be a patient's name).
"""

from __future__ import annotations

import io
import re
import shutil
import struct
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from PIL import Image

from imagine_med.engine.phantom.sketch.parse import SketchError, parse_sketch
from imagine_med.errors import UserError

MAX_UPLOAD_BYTES = 20 * 2**20  # Discord's default attachment limit is 25 MiB
MAX_UPLOAD_PIXELS = 4096 * 4096  # far above any image we make (2048 px, 4x upscale 8192 wide
MAX_UPLOAD_SIDE = 8192  # is a single image: its pixel count stays under this bound)
# DICOM attributes that identify a patient or an encounter (PS3.15 Basic Profile, a subset
# a real scan almost always fills): any one non-empty refuses the file.
PATIENT_ATTRIBUTES = (
    "PatientName", "PatientID", "PatientBirthDate", "PatientAddress", "OtherPatientIDs",
    "OtherPatientNames", "PatientTelephoneNumbers", "PatientMotherBirthName", "AccessionNumber",
    "ReferringPhysicianName", "InstitutionName", "InstitutionAddress", "MedicalRecordLocator",
)
# OCR: a word of 2+ letters or a date-like run of digits is text; a few stray glyphs that
# Tesseract reads into noise are not (at least this many characters in such words)
MIN_TEXT_CHARS = 6
_WORDS = re.compile(r"[A-Za-z]{2,}|\d{1,4}[/.\-]\d{1,2}[/.\-]\d{2,4}|\d{3,}")
OCR_MIN_SIDE = 1000  # Tesseract reads best with text ~20-30 px high: small images are enlarged

Kind = Literal["ours", "sketch", "held", "refused"]


class UploadError(UserError):
    """An upload refused before decoding; `message` says why."""


@dataclass
class Intake:
    """The verdict on one upload. `job_tag`/`variant`: the mark's (ours); `labels`: the parsed
    sketch; `clean`: a metadata-free PNG of the pixels (held for a moderator)."""

    kind: Kind
    message: str = ""
    job_tag: str | None = None
    variant: str | None = None
    labels: np.ndarray | None = None
    clean: bytes | None = None
    checks: list[str] = field(default_factory=list)


def sniff(data: bytes) -> str:
    """The file type from its first bytes: png, jpeg, webp, gif, dicom, or '' (unknown)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if len(data) >= 132 and data[128:132] == b"DICM":
        return "dicom"
    return ""


def header_size(data: bytes, kind: str) -> tuple[int, int]:
    """(width, height) from the header alone: PNG's IHDR read here; other formats through
    Pillow's `open`, which parses the header and decodes nothing until asked."""
    if kind == "png":
        if len(data) < 24 or data[12:16] != b"IHDR":
            raise UploadError("The PNG is damaged (no IHDR header).")
        w, h = struct.unpack(">II", data[16:24])
        return int(w), int(h)
    try:
        with Image.open(io.BytesIO(data)) as im:
            return im.size
    except Exception:
        raise UploadError(f"The {kind.upper()} file could not be read.") from None


def check_limits(data: bytes) -> str:
    """Byte size, type, pixel count: all before decoding. Returns the type."""
    if not data:
        raise UploadError("The attached file is empty.")
    if len(data) > MAX_UPLOAD_BYTES:
        raise UploadError(f"The image is {len(data) / 2**20:.1f} MiB; the limit is "
                          f"{MAX_UPLOAD_BYTES // 2**20} MiB.")
    kind = sniff(data)
    if not kind:
        raise UploadError("Attach a PNG, JPEG or WebP image (or one of our DICOM files); this "
                          "file is none of those.")
    if kind == "dicom":
        return kind
    w, h = header_size(data, kind)
    if w > MAX_UPLOAD_SIDE or h > MAX_UPLOAD_SIDE or w * h > MAX_UPLOAD_PIXELS:
        raise UploadError(f"The image is {w}x{h} pixels; the limit is "
                          f"{MAX_UPLOAD_PIXELS // 10**6} megapixels (e.g. 4096x4096). "
                          "It was not opened.")
    return kind


def dicom_patient_attributes(data: bytes) -> list[str]:
    """Names of the patient attributes a DICOM header fills (pixels are not read)."""
    import pydicom

    try:
        ds = pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True)
    except Exception:
        raise UploadError("The DICOM file could not be read.") from None
    return [k for k in PATIENT_ATTRIBUTES if str(ds.get(k, "") or "").strip()]


def strip_metadata(pixels: np.ndarray) -> bytes:
    """The pixels alone as PNG: no EXIF, no text chunks, no ICC profile, no DICOM header."""
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    return buf.getvalue()


def _gray(pixels: np.ndarray) -> np.ndarray:
    if pixels.ndim == 3:
        return np.asarray(Image.fromarray(pixels[..., :3].astype(np.uint8)).convert("L"))
    return pixels.astype(np.uint8)


def ocr_available() -> bool:
    return shutil.which("tesseract") is not None


def read_text(pixels: np.ndarray) -> str:
    """What Tesseract reads on the image, light-on-dark and dark-on-light (never shown)."""
    import pytesseract

    gray = _gray(pixels)
    img = Image.fromarray(gray)
    if max(img.size) < OCR_MIN_SIDE:
        k = OCR_MIN_SIDE / max(img.size)
        img = img.resize((round(img.width * k), round(img.height * k)), Image.BICUBIC)
    return "\n".join(pytesseract.image_to_string(im, config="--psm 11")
                     for im in (img, Image.fromarray(255 - np.asarray(img))))


LOST_MARK = ("This looks like one of our images (it has our SYNTHETIC band), but its invisible "
             "mark did not verify: it may have been resized, cropped or re-encoded. Attach the "
             "file as the bot posted it (a 512-pixel or larger variant, or the grid), or start "
             "anew.")


def _our_band(text: str) -> bool:
    """Our visible band ("SYNTHETIC - NOT FOR DIAGNOSIS") in the text read. Letters only, with
    spaces and line breaks dropped: OCR splits a word where a grey level of rounding moves a
    glyph's gap (Tesseract read "SYNTH ETIC" on a film one rounding step off)."""
    letters = re.sub(r"[^A-Z]", "", text.upper())
    return "SYNTHETIC" in letters and "DIAGNOSIS" in letters


def faces(pixels: np.ndarray) -> int:
    """Frontal faces OpenCV's bundled Haar cascade finds (the file ships with the wheel)."""
    import cv2

    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    gray = _gray(pixels)
    side = min(gray.shape)
    found = cascade.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5,
                                     minSize=(max(24, side // 12), max(24, side // 12)))
    return len(found)


def _decode(data: bytes) -> np.ndarray:
    from imagine_med.provenance.verify import ImageReadError, load_pixels

    try:
        pixels, _claims = load_pixels(data)
    except ImageReadError as exc:
        raise UploadError(f"The image could not be decoded ({exc.message}).") from None
    if pixels.dtype != np.uint8:
        pixels = np.clip(pixels, 0, 255).astype(np.uint8)
    return pixels


def _ours(data: bytes) -> tuple[str, str] | None:
    from imagine_med.provenance.verify import verify_bytes

    res = verify_bytes(data, "upload")
    if res.marked and res.job_tag:
        return res.job_tag, res.variant or "grid"
    return None


REFUSED_OTHER = ("This image is not one of ours (no imagine-med watermark) and not a sketch "
                 "in the palette, so it cannot be used: real images are not processed here. "
                 "Attach an image the bot made, or a sketch in the palette colours "
                 "(/imagine-med-help shows them).")


def inspect_upload(data: bytes, *, hold_unknown: bool = False) -> Intake:
    """The verdict on one attachment's bytes (see the module's list of checks)."""
    checks: list[str] = []
    try:
        kind = check_limits(data)
    except UploadError as exc:
        return Intake("refused", exc.message, checks=["limits"])
    checks.append("limits")
    if kind == "dicom":
        try:
            found = dicom_patient_attributes(data)
        except UploadError as exc:
            return Intake("refused", exc.message, checks=checks)
        checks.append("dicom")
        if found:
            return Intake("refused", "This DICOM file carries patient attributes in its header ("
                          + ", ".join(found) + "). Real patient data is never processed here; "
                          "nothing was kept.", checks=checks)
    try:
        pixels = _decode(data)
    except UploadError as exc:
        return Intake("refused", exc.message, checks=checks)
    mark = _ours(data)
    checks.append("mark")
    if mark is not None:
        return Intake("ours", job_tag=mark[0], variant=mark[1], checks=checks)
    if kind == "png":
        try:
            labels = parse_sketch(data)
            return Intake("sketch", labels=labels, checks=[*checks, "sketch"])
        except SketchError as exc:
            sketch_error = exc.message
        checks.append("sketch")
    else:
        sketch_error = ""
    if kind == "dicom":
        return Intake("refused", "A DICOM scan that is not one of ours is not accepted, even "
                      "without patient attributes.", checks=checks)
    if faces(pixels):
        # a radiograph's shapes can pass for a face (a chest film's two pedicle rings over the
        # heart did): our own band says it is one of ours that lost its mark
        if _our_band(read_text(pixels)):
            return Intake("refused", LOST_MARK, checks=[*checks, "faces", "ocr"])
        return Intake("refused", "A face was found in this image; photographs of people are "
                      "refused and nothing was kept.", checks=[*checks, "faces"])
    checks.append("faces")
    text = read_text(pixels)
    if sum(len(w) for w in _WORDS.findall(text)) >= MIN_TEXT_CHARS:
        if _our_band(text):
            return Intake("refused", LOST_MARK, checks=[*checks, "ocr"])
        return Intake("refused", "Text is burned into this image (a name, a date or a label "
                      "can identify a patient), so it is refused and nothing was kept.",
                      checks=[*checks, "ocr"])
    checks.append("ocr")
    if hold_unknown:
        return Intake("held", "The image passed the automatic checks; a moderator will look at "
                      "it before it is used.", clean=strip_metadata(pixels), checks=checks)
    hint = f" (As a sketch: {sketch_error})" if sketch_error and "palette" in sketch_error else ""
    return Intake("refused", REFUSED_OTHER + hint, checks=checks)
