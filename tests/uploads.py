"""Uploads the intake must judge, made the way they arrive: a real-looking DICOM with a patient
in its header, a scan with a name burned in, a photograph, a decompression bomb."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image, ImageDraw, ImageFont


def scan_like(size: int = 512, seed: int = 0) -> np.ndarray:
    """A grey, textured, round 'scan' (no text): what a photo of a film looks like to us."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    r = np.hypot(yy - size / 2, xx - size / 2) / (size / 2)
    img = np.where(r < 0.85, 120 + 40 * np.cos(6 * r), 10) + rng.normal(0, 8, (size, size))
    return np.clip(img, 0, 255).astype(np.uint8)


def burned_in(text: str = "DOE, JOHN 12/03/1961", size: int = 512) -> bytes:
    """A scan with a patient's name and birth date burned into its corner, as PACS prints."""
    im = Image.fromarray(scan_like(size)).convert("L")
    d = ImageDraw.Draw(im)
    d.text((12, 12), text, fill=255, font=ImageFont.load_default(size=max(14, size // 24)))
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


def dicom_with_patient(name: str = "DOE^JOHN") -> bytes:
    """A CT image as a scanner writes it, with the patient in its header."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CTImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, meta.MediaStorageSOPInstanceUID
    ds.PatientName, ds.PatientID, ds.PatientBirthDate = name, "MRN0012345", "19610312"
    ds.Modality, ds.StudyInstanceUID, ds.SeriesInstanceUID = "CT", generate_uid(), generate_uid()
    px = (scan_like(256).astype(np.int16) * 4 - 1000)
    ds.Rows, ds.Columns = px.shape
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
    ds.RescaleIntercept, ds.RescaleSlope = 0, 1
    ds.PixelData = px.tobytes()
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


def bomb_png(side: int = 20000) -> bytes:
    """A valid 1-bit PNG of side x side zeros: ~50 kB on disk, 1.6 GB as RGBA once decoded."""
    row = b"\x00" + b"\x00" * ((side + 7) // 8)
    comp = zlib.compressobj(9)
    body = b"".join(comp.compress(row) for _ in range(side)) + comp.flush()

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", body)
            + chunk(b"IEND", b""))


def jpeg_with_exif() -> bytes:
    im = Image.fromarray(scan_like(256)).convert("RGB")
    exif = Image.Exif()
    exif[0x010F] = "ScannerMaker"  # Make
    exif[0x9003] = "2024:03:12 10:00:00"  # DateTimeOriginal
    buf = io.BytesIO()
    im.save(buf, format="JPEG", exif=exif.tobytes())
    return buf.getvalue()
