"""DICOM export: every file says, in its attributes AND in its pixels, that it is synthetic.

Each variant becomes one single-frame image of the IOD that fits the modality:

| spec modality | IOD (SOP class)                | Modality | pixels                               |
|---------------|--------------------------------|----------|--------------------------------------|
| ct            | CT Image                       | CT       | HU via RescaleSlope/Intercept        |
| mri           | MR Image                       | MR       | display image in 16-bit container    |
| xray          | CR Image (DX when tags say DX) | CR / DX  | 8-bit display image                  |
| us            | Ultrasound Image               | US       | 8-bit display image                  |
| histo         | VL Microscopic Image           | GM       | RGB                                  |
| derm, fundus  | VL Photographic Image          | XC       | RGB                                  |

An ultrasound cine (RenderResult.frames) is the one exception: a US Multi-frame Image.

Always: SyntheticData (0008,001C) = YES, ImageType DERIVED\\SECONDARY, BurnedInAnnotation YES (the
"SYNTHETIC - NOT FOR DIAGNOSIS" band is part of the pixels), PatientIdentityRemoved YES, patient
name SYNTHETIC^CASE, patient id SYNTH-<job id>, and no date, physician or institution. The pixels
carry the same invisible mark as the PNGs (for CT it is added in HU, scaled by the window, so a
viewer applying the stored window shows the marked image). The label map goes into a DICOM SEG
(highdicom) referencing the image. UIDs are derived from the job id: same job, same files.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian

from imagine_med import __version__
from imagine_med.errors import UserError
from imagine_med.provenance import watermark as wm
from imagine_med.provenance.stamp import key_material, mark_image, payload_for
from imagine_med.provenance.visible import add_label_band

PATIENT_NAME = "SYNTHETIC^CASE"
MANUFACTURER = "imagine-med (synthetic)"
# Stored CT values are HU - HU_MIN: room below air's -1024 keeps the mark's negative half there.
HU_MIN = -2048
MARK_MIN_WIDTH_HU = 255.0  # the CT mark's scale is at least 1 HU per unit (narrow head windows)


@dataclass(frozen=True)
class Iod:
    sop_class: str
    modality: str
    kind: str  # "ct" | "mr" | "gray8" | "rgb"


IODS: dict[str, Iod] = {
    "ct": Iod("1.2.840.10008.5.1.4.1.1.2", "CT", "ct"),
    "mri": Iod("1.2.840.10008.5.1.4.1.1.4", "MR", "mr"),
    "xray": Iod("1.2.840.10008.5.1.4.1.1.1", "CR", "gray8"),
    "xray-dx": Iod("1.2.840.10008.5.1.4.1.1.1.1", "DX", "gray8"),
    "us": Iod("1.2.840.10008.5.1.4.1.1.6.1", "US", "gray8"),
    "histo": Iod("1.2.840.10008.5.1.4.1.1.77.1.2", "GM", "rgb"),
    "derm": Iod("1.2.840.10008.5.1.4.1.1.77.1.4", "XC", "rgb"),
    "fundus": Iod("1.2.840.10008.5.1.4.1.1.77.1.4", "XC", "rgb"),
}


# Engines' view tags -> DICOM View Position (defined terms: AP, PA, LL, RL, ...); a lateral
# chest film is taken left side to the detector (LL). Patient Orientation is the direction of
# the image rows, then columns, as displayed: frontal films face the viewer (patient's left on
# the image right), laterals show the patient's front on the image left.
VIEW_POSITION = {"PA": "PA", "AP": "AP", "LATERAL": "LL", "LL": "LL", "RL": "RL"}
PATIENT_ORIENTATION = {"PA": ["L", "F"], "AP": ["L", "F"], "LL": ["P", "F"], "RL": ["A", "F"]}


# MR: the simulated sequence's family by the engines' sequence names -> Scanning Sequence and
# Sequence Variant (PS3.3 C.8.3.1 defined terms). Unknown names stay "RM" (research mode).
MR_SCANNING = {
    "t1": (["SE"], "NONE"), "t1c": (["SE"], "NONE"), "pd": (["SE"], "SK"),
    "t2": (["SE"], "SK"), "flair": (["SE", "IR"], "SK"), "stir": (["SE", "IR"], "SK"),
    "dwi": (["SE", "EP"], "NONE"), "adc": (["SE", "EP"], "NONE"),
    "swi": (["GR"], "SP"), "gre": (["GR"], "SP"),
}
# The engines' region words -> Body Part Examined; regions here are unpaired (no Laterality).
BODY_PART = {"brain": "HEAD", "head": "HEAD"}
# Cross-sections: direction cosines of the image rows and columns (LPS) per plane, with the
# patient's left on the image right (axial, coronal) and anterior on the left (sagittal).
PLANE_ORIENTATION = {"axial": [1, 0, 0, 0, 1, 0], "coronal": [1, 0, 0, 0, 0, -1],
                     "sagittal": [0, 1, 0, 0, 0, -1]}
MR_FIELD_MHZ = 42.577478  # 1H gyromagnetic ratio / 2 pi, MHz per tesla


def _ds_number(text: Any) -> str:
    try:
        return f"{float(text):.6g}"
    except (TypeError, ValueError):
        return ""


def _mr_sequence(ds: Dataset, tags: dict[str, str]) -> None:
    """MR Image module attributes from the engine's sequence tags (TR/TE/TI in ms, field)."""
    seq = str(tags.get("sequence", "")).lower()
    scanning, variant = MR_SCANNING.get(seq, (["RM"], "NONE"))
    ds.ScanningSequence = scanning if len(scanning) > 1 else scanning[0]
    ds.SequenceVariant = variant
    ds.ScanOptions = ""
    ds.MRAcquisitionType = "2D"
    ds.RepetitionTime = _ds_number(tags.get("tr_ms"))
    ds.EchoTime = _ds_number(tags.get("te_ms"))
    ds.EchoTrainLength = ""
    if "IR" in scanning or tags.get("ti_ms"):
        ds.InversionTime = _ds_number(tags.get("ti_ms"))  # type 2C: present with IR
    if tags.get("flip_deg"):
        ds.FlipAngle = _ds_number(tags["flip_deg"])
    field = str(tags.get("field", "")).upper().rstrip("T")
    if _ds_number(field):
        ds.MagneticFieldStrength = _ds_number(field)
        ds.ImagingFrequency = f"{float(field) * MR_FIELD_MHZ:.6g}"
    ds.ImagedNucleus = "1H"
    name = (tags.get("sequence_description") or seq.upper())
    ds.SequenceName = name.encode("ascii", "ignore").decode()[:16]
    if seq == "adc":
        ds.ImageType = ["DERIVED", "SECONDARY", "DIFFUSION MAP"]


def _body_part(ds: Dataset, tags: dict[str, str]) -> None:
    """Region and plane of a cross-section where the engine says them (the head)."""
    part = BODY_PART.get(str(tags.get("region", "")).lower())
    if part is None:
        return
    ds.BodyPartExamined = part
    if not ds.get("Laterality"):
        del ds.Laterality  # unpaired: absent, not empty
    orientation = PLANE_ORIENTATION.get(str(tags.get("plane", "")).lower())
    if orientation is not None:
        ds.ImageOrientationPatient = orientation


def _eye(ds: Dataset, tags: dict[str, str]) -> None:
    """A fundus photograph (issue 17): the eye is paired, so Image Laterality says which
    one (the series' Laterality is then absent, as dciodvfy's condition wants)."""
    if str(tags.get("modality", "")) != "fundus":
        return
    ds.BodyPartExamined = "EYE"
    side = {"OD": "R", "OS": "L"}.get(str(tags.get("laterality", "")))
    if side:
        ds.ImageLaterality = side
        if "Laterality" in ds:
            del ds.Laterality


class DicomExportError(UserError, ValueError):
    """A result that cannot be exported as asked; `message` is user-safe."""


def fit_window(raw: np.ndarray, display: np.ndarray) -> tuple[float, float]:
    """The window (center, width) that maps `raw` onto the engine's 8-bit `display`, fitted on the
    unclipped pixels; engines differ in how they name windows, the pixels never lie."""
    r = np.asarray(raw, dtype=np.float64).ravel()
    d = np.asarray(display, dtype=np.float64).ravel()
    m = (d > 2) & (d < 253)
    if m.sum() < 16 or np.ptp(r[m]) == 0:
        lo, hi = float(np.percentile(r, 1)), float(np.percentile(r, 99))
        hi = hi if hi > lo else lo + 1.0
        return (lo + hi) / 2.0, hi - lo
    slope, intercept = np.polyfit(r[m], d[m], 1)
    if slope <= 0:
        raise DicomExportError("the display image is not a windowing of the raw values")
    width = 255.0 / slope
    lo = -intercept / slope
    return round(lo + width / 2.0, 1), round(width, 1)


def tag_window(tags: dict[str, str]) -> tuple[float, float] | None:
    """The window the engine says it applied (window_center / window_width tags), if any. A
    posted image carries the invisible mark, which lifts clipped pixels (air and bone under a
    narrow 80 HU brain window) off 0 and 255, so fitting on it alone would be thrown off."""
    try:
        wc, ww = float(tags["window_center"]), float(tags["window_width"])
    except (KeyError, TypeError, ValueError):
        return None
    return (wc, ww) if ww > 0 else None


def _uid(job_id: str, *parts: Any) -> str:
    """A 2.25 (UUID-derived) UID from a hash of the job and the parts: the same job exports the
    same UIDs, and no registered root is needed. (pydicom's generate_uid ignores its entropy
    sources when prefix is None.)"""
    blob = "|".join(["imagine-med", job_id, *map(str, parts)]).encode()
    return f"2.25.{int.from_bytes(hashlib.sha256(blob).digest()[:16], 'big')}"


def _iod_for(modality: str, tags: dict[str, str]) -> Iod:
    if modality == "xray" and tags.get("modality", "").upper() == "DX":
        return IODS["xray-dx"]
    if modality not in IODS:
        raise DicomExportError(f"no DICOM mapping for modality {modality!r}")
    return IODS[modality]


def _lo(text: str) -> str:
    """A Long String value: at most 64 bytes as stored (UTF-8), never a split character."""
    return text.encode("utf-8")[:64].decode("utf-8", "ignore")


def _base(job_id: str, iod: Iod, variant: int, sex: str | None, description: str) -> Dataset:
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID = iod.sop_class
    ds.SOPInstanceUID = _uid(job_id, "image", variant)
    ds.InstanceCreatorUID = _uid("imagine-med", "creator")
    # Patient: nobody.
    ds.PatientName = PATIENT_NAME
    ds.PatientID = f"SYNTH-{job_id}"[:64]
    ds.PatientBirthDate = ""
    ds.PatientSex = {"male": "M", "female": "F"}.get(sex or "", "O")
    ds.PatientIdentityRemoved = "YES"
    ds.DeidentificationMethod = "Synthetic image generated by imagine-med; no real patient"
    # Study / series
    ds.StudyInstanceUID = _uid(job_id, "study")
    ds.StudyDate = ""
    ds.StudyTime = ""
    ds.ReferringPhysicianName = ""
    ds.StudyID = job_id[:16]
    ds.AccessionNumber = ""
    ds.StudyDescription = "SYNTHETIC - NOT FOR DIAGNOSIS"
    ds.Modality = iod.modality
    ds.SeriesInstanceUID = _uid(job_id, "series", iod.modality)
    ds.SeriesNumber = 1
    # The canonical description of the case (CaseSpec.describe), never the prompt's own words:
    # free text may carry identifiers that moderation missed, and DICOM tags travel far.
    ds.SeriesDescription = _lo(f"SYNTHETIC {description.replace(' · ', ', ')}".strip())
    ds.Manufacturer = MANUFACTURER
    ds.ManufacturerModelName = "imagine-med"
    ds.SoftwareVersions = __version__
    ds.InstanceNumber = variant
    ds.PatientOrientation = ""
    ds.Laterality = ""
    ds.SyntheticData = "YES"
    ds.ImageType = ["DERIVED", "SECONDARY"]
    ds.BurnedInAnnotation = "YES"
    ds.RecognizableVisualFeatures = "NO"
    ds.ImageComments = "Synthetic image for teaching. Not a real patient. Not for diagnosis."
    return ds


def _pixels_gray(ds: Dataset, a: np.ndarray, bits: int) -> None:
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = a.shape
    ds.BitsAllocated = bits
    ds.BitsStored = bits
    ds.HighBit = bits - 1
    ds.PixelRepresentation = 1 if a.dtype == np.int16 else 0
    ds.PixelData = np.ascontiguousarray(a).tobytes()


def _plane(ds: Dataset, job_id: str, spacing: tuple[float, float]) -> None:
    ds.FrameOfReferenceUID = _uid(job_id, "frame")
    ds.PositionReferenceIndicator = ""
    ds.PixelSpacing = [f"{spacing[0]:.6g}", f"{spacing[1]:.6g}"]
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.ImagePositionPatient = [0, 0, 0]
    ds.SliceThickness = f"{max(spacing):.6g}"  # nominal (a 2-D image); SEG needs a value


def build_dataset(
    variant_result: Any,
    *,
    job_id: str,
    variant: int,
    modality: str,
    description: str = "",
    sex: str | None = None,
    settings: Any = None,
    posted: Image.Image | None = None,
) -> Dataset:
    """One RenderResult -> one marked, labelled DICOM image dataset (not yet saved).

    `posted`: the variant exactly as it was posted (label band and invisible mark already in
    it), for an export of a finished job; its pixels are stored as they are, so the DICOM shows
    what the chat showed. Without it (a fresh render) the band and the mark are added here.
    `description` goes into SeriesDescription: pass the spec's canonical description."""
    v = variant_result
    iod = _iod_for(modality, v.tags)
    key, key_id = key_material(settings)
    display = Image.fromarray(v.pixels)
    labelled = add_label_band(display) if posted is None else posted
    ds = _base(job_id, iod, variant, sex, description)
    # CT is marked in HU below; everything else stores the marked display image.
    if iod.modality == "US" and v.pixels.ndim == 3:  # colour Doppler: an RGB US image
        iod = Iod(iod.sop_class, "US", "rgb")
    marked_img = labelled if iod.kind == "ct" or posted is not None else (
        mark_image(labelled, job_id, variant, key, key_id) or labelled
    )
    if iod.kind == "ct":
        if v.raw is None or (v.raw_unit or "").upper() != "HU":
            raise DicomExportError("CT export needs the engine's raw values in HU")
        raw = np.asarray(v.raw, dtype=np.float64)
        if raw.shape != v.pixels.shape[:2]:
            raise DicomExportError(f"raw HU {raw.shape} does not match pixels {v.pixels.shape}")
        gray = np.asarray(display.convert("L"), dtype=np.float64)
        wc, ww = tag_window(v.tags) or fit_window(raw, gray)
        lo = wc - ww / 2.0
        band_l = np.asarray(labelled.convert("L"))
        base = band_l.astype(np.float64) * (ww / 255.0) + lo
        base[: raw.shape[0]] = raw  # exact HU above the band, the band's text in window units
        if min(band_l.shape) >= wm.MIN_EMBED:
            _, delta = wm.embed_with_delta(band_l, payload_for(job_id, variant, key_id), key)
            # In HU, scaled by the engine's window and unclipped, so air below the window keeps
            # it too. Re-windowing narrower magnifies it, but no more than the image's own noise
            # and texture, which the mark's strength follows (measured: a 400 HU scale instead
            # made it undetectable under the phantom's CT noise).
            # Never under 1 HU a unit: a head's 80 HU brain window would round it away.
            scale = max(ww, MARK_MIN_WIDTH_HU) / 255.0
            if posted is None:
                base = base + delta * scale
            else:  # the posted band already carries its mark: add it to the HU rows only
                base[: raw.shape[0]] += delta[: raw.shape[0]] * scale
        hu = np.clip(np.rint(base), HU_MIN, HU_MIN + 65535)
        ds.ImageType = ["DERIVED", "SECONDARY", "AXIAL"]
        ds.PatientPosition = ""
        ds.RescaleIntercept = HU_MIN
        ds.RescaleSlope = 1
        ds.RescaleType = "HU"
        ds.WindowCenter = f"{wc:.6g}"
        ds.WindowWidth = f"{ww:.6g}"
        ds.KVP = ""
        ds.AcquisitionNumber = ""
        _plane(ds, job_id, v.pixel_spacing_mm)
        _body_part(ds, v.tags)
        _pixels_gray(ds, (hu - HU_MIN).astype(np.uint16), 16)
    elif iod.kind == "mr":
        ds.ImageType = ["DERIVED", "SECONDARY", "OTHER"]
        ds.PatientPosition = ""
        _mr_sequence(ds, v.tags)
        if v.raw is not None and (v.raw_unit or "").upper() == "MR":
            # the simulated magnitude signal (ADC in 1e-6 mm^2/s), marked like CT's HU
            sig, wc, ww = _mr_signal(v, display, labelled, posted, job_id, variant, key,
                                     key_id)
            ds.WindowCenter = f"{wc:.6g}"
            ds.WindowWidth = f"{ww:.6g}"
            gray = np.clip(np.rint(sig), 0, 65535).astype(np.uint16)
        else:
            gray = np.asarray(marked_img.convert("L"), dtype=np.uint16)
            ds.WindowCenter = "127.5"
            ds.WindowWidth = "255"
        _plane(ds, job_id, v.pixel_spacing_mm)
        _body_part(ds, v.tags)
        _pixels_gray(ds, gray, 16)
    elif iod.kind == "gray8":
        gray = np.asarray(marked_img.convert("L"), dtype=np.uint8)
        if iod.modality in ("CR", "DX"):
            del ds.Laterality  # CR/DX: not allowed without a paired body part
            ds.BodyPartExamined = str(v.tags.get("region", "CHEST")).upper()[:16]
            view = VIEW_POSITION.get(str(v.tags.get("view", "")).upper(), "")
            ds.ViewPosition = view
            ds.PatientOrientation = PATIENT_ORIENTATION.get(view, "")
            ds.ImagerPixelSpacing = [f"{s:.6g}" for s in v.pixel_spacing_mm]
        if iod.modality == "DX":
            _dx_modules(ds)
        _pixels_gray(ds, gray, 8)
    else:
        rgb = np.asarray(marked_img.convert("RGB"), dtype=np.uint8)
        ds.SamplesPerPixel = 3
        ds.PhotometricInterpretation = "RGB"
        ds.PlanarConfiguration = 0
        ds.Rows, ds.Columns = rgb.shape[:2]
        ds.BitsAllocated = 8
        ds.BitsStored = 8
        ds.HighBit = 7
        ds.PixelRepresentation = 0
        ds.AcquisitionContextSequence = []
        ds.LossyImageCompression = "00"
        ds.PixelData = rgb.tobytes()
        _eye(ds, v.tags)
    if iod.modality == "US":
        ds.LossyImageCompression = "00"
        _us_modules(ds, v.tags, v.pixel_spacing_mm)
        if getattr(v, "frames", None) is not None and iod.kind == "gray8":
            _us_cine(ds, v, job_id, variant, key, key_id)
    return ds


US_MULTIFRAME = "1.2.840.10008.5.1.4.1.1.3.1"  # Ultrasound Multi-frame Image Storage


def _us_cine(ds: Dataset, v: Any, job_id: str, variant: int, key: Any, key_id: Any) -> None:
    """A cine clip as one US Multi-frame image: frame 1 is the still as stored above (the
    posted picture for a stored job), every later frame gets the same label band and the same
    invisible mark; Cine module from the engine's frame time."""
    frames = np.asarray(v.frames, dtype=np.uint8)
    first = np.frombuffer(ds.PixelData, np.uint8).reshape(int(ds.Rows), int(ds.Columns))
    out = [first]
    for f in frames[1:]:
        band = add_label_band(Image.fromarray(f))
        out.append(np.asarray((mark_image(band, job_id, variant, key, key_id) or band)
                              .convert("L"), dtype=np.uint8))
    stack = np.stack(out)
    ds.SOPClassUID = US_MULTIFRAME
    ds.NumberOfFrames = len(stack)
    ms = float(v.tags.get("frame_time_ms", 50.0))
    ds.FrameTime = f"{ms:.6g}"
    ds.FrameIncrementPointer = pydicom.tag.Tag("FrameTime")
    ds.CineRate = round(1000.0 / ms)
    ds.RecommendedDisplayFrameRate = round(1000.0 / ms)
    ds.PreferredPlaybackSequencing = 0  # looping
    ds.StartTrim = 1
    ds.StopTrim = len(stack)
    ds.ActualFrameDuration = round(ms)
    ds.PixelData = np.ascontiguousarray(stack).tobytes()


# Ultrasound (issue 16): the engine's region -> Body Part Examined (unpaired: no Laterality)
US_BODY_PART = {"ruq": "ABDOMEN", "luq": "ABDOMEN", "carotid": "NECK", "heart": "HEART"}


def _us_modules(ds: Dataset, tags: dict[str, str], spacing: tuple[float, float]) -> None:
    """US Image attributes from the engine's tags: body part, and a US Region Calibration region
    over the whole image with its physical spacing (cm) and transducer frequency, so a viewer's
    calipers measure in centimetres."""
    part = US_BODY_PART.get(str(tags.get("region", "")).lower())
    if part:  # an unpaired body part: Laterality absent, not empty
        ds.BodyPartExamined = part
        if "Laterality" in ds:
            del ds.Laterality
    if "AcquisitionContextSequence" in ds:
        del ds.AcquisitionContextSequence
    region = Dataset()
    region.RegionSpatialFormat = 1  # 2D
    region.RegionDataType = 2 if tags.get("doppler") else 1  # colour flow / tissue
    region.RegionFlags = 0
    region.RegionLocationMinX0 = 0
    region.RegionLocationMinY0 = 0
    region.RegionLocationMaxX1 = int(ds.Columns) - 1
    region.RegionLocationMaxY1 = int(ds.Rows) - 1
    region.PhysicalUnitsXDirection = 3  # cm
    region.PhysicalUnitsYDirection = 3
    region.PhysicalDeltaX = float(spacing[1]) / 10.0
    region.PhysicalDeltaY = float(spacing[0]) / 10.0
    region.ReferencePixelX0 = 0
    region.ReferencePixelY0 = 0
    if tags.get("frequency_mhz"):
        region.TransducerFrequency = round(float(tags["frequency_mhz"]) * 1000)  # kHz
    ds.SequenceOfUltrasoundRegions = [region]


def _dx_modules(ds: Dataset) -> None:
    """The DX Series, DX Image, DX Anatomy, detector and positioning attributes a DX (for
    presentation) image needs; the synthetic film has no detector or positioner to describe."""
    ds.PresentationIntentType = "FOR PRESENTATION"
    ds.ImageType = ["DERIVED", "SECONDARY", ""]  # DX: value 3 is type 2 (empty allowed)
    ds.ImageLaterality = "U"  # unpaired: the chest
    region = Dataset()
    if ds.BodyPartExamined == "CHEST":  # PS3.16 Annex L: CHEST <-> SCT 43799004 "Chest"
        region.CodeValue, region.CodingSchemeDesignator = "43799004", "SCT"
        region.CodeMeaning = "Chest"
    ds.AnatomicRegionSequence = [region] if "CodeValue" in region else []
    ds.WindowCenter, ds.WindowWidth = "127.5", "255"
    ds.PixelIntensityRelationship = "LIN"
    ds.PixelIntensityRelationshipSign = -1  # bone is bright: high values = less beam
    ds.RescaleIntercept = 0
    ds.RescaleSlope = 1
    ds.RescaleType = "US"
    ds.PresentationLUTShape = "IDENTITY"
    ds.LossyImageCompression = "00"
    ds.DetectorType = ""
    ds.PositionerType = ""
    ds.AcquisitionContextSequence = []
    if not ds.PatientOrientation:  # type 1 for DX: a frontal film unless the view says else
        ds.PatientOrientation = ["L", "F"]


def _file_meta(ds: Dataset) -> FileMetaDataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = _uid("imagine-med", "implementation")
    meta.ImplementationVersionName = f"IMAGINEMED{__version__}"[:16]
    return meta


def save_dataset(ds: Dataset, path: Path | str) -> None:
    ds.file_meta = _file_meta(ds)
    ds.save_as(path, enforce_file_format=True)


def build_seg(
    image: Dataset, label_map: np.ndarray, labels: dict[int, str], job_id: str,
    masks: dict[str, np.ndarray] | None = None,
) -> Dataset:
    """A DICOM SEG over `image` (highdicom): one segment per label id of the label map, or,
    given `masks` (a projection's overlapping structures), one segment per mask, segments
    overlapping where the structures do."""
    import highdicom as hd
    from pydicom.sr.codedict import codes

    logging.getLogger("highdicom").setLevel(logging.WARNING)  # it logs every copied module

    rows, cols = int(image.Rows), int(image.Columns)
    if masks:
        names = [k for k in sorted(masks) if np.any(masks[k])]
        if not names:
            raise DicomExportError("the masks are empty")
        full = np.zeros((1, rows, cols, len(names)), dtype=bool)
        for n, k in enumerate(names):
            m = masks[k]
            full[0, : m.shape[0], : m.shape[1], n] = m
        seg_labels = names
    else:
        ids = sorted(i for i in labels if i != 0 and np.any(label_map == i))
        if not ids:
            raise DicomExportError("the label map is empty")
        full = np.zeros((rows, cols), dtype=np.uint8)
        for n, i in enumerate(ids, start=1):
            full[: label_map.shape[0], : label_map.shape[1]][label_map == i] = n
        seg_labels = [labels[i] for i in ids]
    algo = hd.AlgorithmIdentificationSequence(
        name="imagine-med", version=__version__, family=codes.cid7162.ArtificialIntelligence
    )
    segments = [
        hd.seg.SegmentDescription(
            segment_number=n,
            segment_label=name[:64],
            segmented_property_category=codes.SCT.Tissue,
            segmented_property_type=codes.SCT.Tissue,
            algorithm_type=hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC,
            algorithm_identification=algo,
        )
        for n, name in enumerate(seg_labels, start=1)
    ]
    seg = hd.seg.Segmentation(
        source_images=[image],
        pixel_array=full,
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=segments,
        series_instance_uid=_uid(job_id, "seg-series"),
        series_number=2,
        sop_instance_uid=_uid(job_id, "seg", image.InstanceNumber),
        instance_number=int(image.InstanceNumber),
        manufacturer=MANUFACTURER,
        manufacturer_model_name="imagine-med",
        software_versions=__version__,
        device_serial_number="0",
        content_label="LABELS",
        content_description="Synthetic ground-truth labels",
        omit_empty_frames=False,
    )
    seg.SyntheticData = "YES"
    if "PatientOrientation" not in seg:
        seg.PatientOrientation = ""
    seg.PatientIdentityRemoved = "YES"
    return seg


def write_dicom_case(
    result: Any,
    out_dir: Path | str,
    job_id: str | None = None,
    *,
    write_json: bool = False,
    settings: Any = None,
) -> dict[str, Path]:
    """variant-N.dcm (+ variant-N.seg.dcm where highdicom can build it) for a CaseResult, and
    case.json when `write_json` (a DICOM-only export still needs its answer key). The job id
    defaults to the one `write_case` uses, so PNG and DICOM of one case verify alike."""
    from imagine_med.case import case_document
    from imagine_med.provenance.stamp import case_job_id, provenance_document

    job_id = job_id or case_job_id(result)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    skipped: dict[str, str] = {}
    spec = result.spec
    for i, v in enumerate(result.variants, start=1):
        ds = build_dataset(
            v, job_id=job_id, variant=i, modality=spec.modality, description=spec.describe(),
            sex=spec.sex, settings=settings,
        )
        p = out / f"variant-{i}.dcm"
        save_dataset(ds, p)
        paths[p.name] = p
        try:
            seg = build_seg(pydicom.dcmread(p), v.label_map, v.labels, job_id, v.masks)
        except (DicomExportError, ValueError, TypeError, AttributeError) as exc:
            skipped[f"variant-{i}.seg.dcm"] = str(getattr(exc, "message", exc))[:200]
            continue
        sp = out / f"variant-{i}.seg.dcm"
        seg.save_as(sp)
        paths[sp.name] = sp
    if skipped:
        (out / "dicom-notes.json").write_text(json.dumps({"seg_skipped": skipped}, indent=2))
    if write_json:
        doc = case_document(result)
        doc["provenance"] = provenance_document(job_id, result.engine, settings)
        cp = out / "case.json"
        cp.write_text(json.dumps(doc, indent=2) + "\n")
        paths[cp.name] = cp
    return paths


def _mr_signal(v: Any, display: Image.Image, labelled: Image.Image, posted: Any, job_id: str,
               variant: int, key: Any, key_id: Any) -> tuple[np.ndarray, float, float]:
    """MR pixels in the engine's signal units: the raw signal above the band, the band's text
    in window units, the invisible mark scaled by the window (as for CT)."""
    raw = np.asarray(v.raw, dtype=np.float64)
    if raw.shape != v.pixels.shape[:2]:
        raise DicomExportError(f"raw MR {raw.shape} does not match pixels {v.pixels.shape}")
    gray = np.asarray(display.convert("L"), dtype=np.float64)
    wc, ww = tag_window(v.tags) or fit_window(raw, gray)
    band_l = np.asarray(labelled.convert("L"))
    base = band_l.astype(np.float64) * (ww / 255.0) + (wc - ww / 2.0)
    base[: raw.shape[0]] = raw
    if min(band_l.shape) >= wm.MIN_EMBED:
        _, delta = wm.embed_with_delta(band_l, payload_for(job_id, variant, key_id), key)
        if posted is None:
            base = base + delta * (ww / 255.0)
        else:
            base[: raw.shape[0]] += delta[: raw.shape[0]] * (ww / 255.0)
    return base, wc, ww


# A finished job's CT values, stored beside its public files (the PNGs hold only the windowed
# picture): 16-bit PNG of HU + RAW_OFFSET, lossless. The leading "_" keeps it out of exports.
RAW_NAME = "_variant-{index}.hu.png"
RAW_OFFSET = 32768
RAW_MR_NAME = "_variant-{index}.mr.png"  # MR signal (uint16, as the engine rounded it)
RAW_CINE_NAME = "_variant-{index}.cine.png"  # US cine frames, stacked down the image (uint8)


def write_raw_hu(result: Any, out_dir: Path | str) -> dict[str, Path]:
    """`_variant-N.hu.png` for each variant that has HU values (CT), so a later DICOM export of
    the job can store exact HU without rendering again (`.mr.png` for MR signal, `.cine.png`
    for an ultrasound cine's frames)."""
    out = Path(out_dir)
    paths: dict[str, Path] = {}
    for i, v in enumerate(result.variants, start=1):
        if getattr(v, "frames", None) is not None:  # an ultrasound cine: frames one under another
            p = out / RAW_CINE_NAME.format(index=i)
            Image.fromarray(np.concatenate(list(np.asarray(v.frames, np.uint8)))).save(p)
            paths[p.name] = p
        if v.raw is not None and (v.raw_unit or "").upper() == "MR":
            p = out / RAW_MR_NAME.format(index=i)
            Image.fromarray(np.clip(np.rint(v.raw), 0, 65535).astype(np.uint16)).save(p)
            paths[p.name] = p
            continue
        if v.raw is None or (v.raw_unit or "").upper() != "HU":
            continue
        hu = np.clip(np.rint(np.asarray(v.raw, dtype=np.float64)), -RAW_OFFSET, RAW_OFFSET - 1)
        p = out / RAW_NAME.format(index=i)
        Image.fromarray((hu + RAW_OFFSET).astype(np.uint16)).save(p)
        paths[p.name] = p
    return paths


def read_raw_hu(path: Path | str) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im).astype(np.int32) - RAW_OFFSET


def write_dicom_from_files(
    files: dict[str, Path],
    out_dir: Path | str,
    *,
    variants: list[int] | None = None,
    settings: Any = None,
) -> dict[str, Path]:
    """DICOM of a finished job from its stored files (the queue's `dicom` job): each
    variant-N.png exactly as posted (band and mark included), its label map, its HU where the
    job stored them, and case.json for the spec and spacing. Nothing is rendered again, so the
    export shows the posted picture even where a render is not reproducible (diffusion).
    `variants`: the indexes to export (default: all). Writes variant-N.dcm, variant-N.seg.dcm
    and case.json; the job id (UIDs, mark) is the one the posted PNGs carry."""
    from imagine_med.case import read_masks
    from imagine_med.engine.base import RenderResult
    from imagine_med.prompt.spec import CaseSpec

    if "case.json" not in files:
        raise DicomExportError("this job has no case.json to export from")
    doc = json.loads(Path(files["case.json"]).read_text())
    job_id = (doc.get("provenance") or {}).get("job_id")
    if not job_id:
        raise DicomExportError("this job's case.json has no provenance id")
    spec = CaseSpec.model_validate(doc["spec"])
    entries = [e for e in doc.get("variants") or []
               if variants is None or int(e["index"]) in variants]
    if not entries:
        raise DicomExportError(f"this job has no variant {variants}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for e in entries:
        i, h = int(e["index"]), int(e["height"])
        image, labels_image = files.get(e["image"]), files.get(e["labels_image"])
        if image is None or labels_image is None:
            raise DicomExportError(f"variant {i}'s stored images are missing")
        with Image.open(image) as im:
            posted = im.convert("L" if im.mode in ("L", "I", "I;16") else "RGB")
        label_map = np.asarray(Image.open(labels_image).convert("L"))[:h]
        raw_path = files.get(RAW_NAME.format(index=i))
        raw = read_raw_hu(raw_path) if raw_path is not None else None
        unit = "HU" if raw is not None else None
        mr_path = files.get(RAW_MR_NAME.format(index=i))
        if raw is None and mr_path is not None:
            with Image.open(mr_path) as im:
                raw, unit = np.asarray(im).astype(np.int32), "MR"
        frames = None
        cine_path = files.get(RAW_CINE_NAME.format(index=i))
        if cine_path is not None:
            with Image.open(cine_path) as im:
                strip = np.asarray(im.convert("L"))
            frames = strip.reshape(-1, h, strip.shape[1])
        v = RenderResult(
            frames=frames,
            pixels=np.asarray(posted)[:h], label_map=label_map,
            labels={int(k): n for k, n in (e.get("labels") or {}).items()}, findings=[],
            pixel_spacing_mm=tuple(e.get("pixel_spacing_mm") or doc["pixel_spacing_mm"]),
            answer_key="", tags=dict(e.get("tags") or {}), raw=raw,
            raw_unit=unit,
        )
        ds = build_dataset(v, job_id=job_id, variant=i, modality=spec.modality,
                           description=spec.describe(), sex=spec.sex, settings=settings,
                           posted=posted)
        masks_path = files.get(e.get("masks") or "")
        masks = read_masks(masks_path) if masks_path is not None else None
        p = out / f"variant-{i}.dcm"
        save_dataset(ds, p)
        paths[p.name] = p
        try:
            seg = build_seg(pydicom.dcmread(p), v.label_map, v.labels, job_id, masks)
        except (DicomExportError, ValueError, TypeError, AttributeError):
            continue  # an image without labels (or a label map SEG cannot hold): image only
        sp = out / f"variant-{i}.seg.dcm"
        seg.save_as(sp)
        paths[sp.name] = sp
    cp = out / "case.json"
    cp.write_text(Path(files["case.json"]).read_text())
    paths[cp.name] = cp
    return paths
