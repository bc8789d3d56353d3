"""The intake of an attached image (issue 24): ours, a sketch, or refused with the reason,
each check run for real (pydicom, Tesseract, OpenCV's cascade, our watermark detector)."""

from __future__ import annotations

import io
import tracemalloc

import numpy as np
import pytest
from PIL import Image

from imagine_med.case import render_case, write_case
from imagine_med.moderation.uploads import inspect_upload
from imagine_med.prompt import parse
from imagine_med.provenance import watermark as wm
from tests.sketches import chest_sketch, png_bytes
from tests.tooling import need, need_program
from tests.uploads import bomb_png, burned_in, dicom_with_patient, jpeg_with_exif, scan_like


@pytest.fixture
def ocr() -> None:
    need_program("tesseract", "tesseract-ocr")
    try:
        import pytesseract  # noqa: F401
        have = True
    except ImportError:
        have = False
    need(have, "pytesseract")


def test_an_image_of_ours_is_recognised_with_its_job_and_variant(tmp_path):
    spec = parse("PA chest x-ray, right lower lobe consolidation --size 256x256")[0]
    write_case(render_case(spec, seed=5), tmp_path, job_id="6f1c2d9e0b7a4f3e8d2c1b0a9f8e7d6c")
    got = inspect_upload((tmp_path / "variant-2.png").read_bytes())
    assert got.kind == "ours"
    assert got.job_tag == f"{wm.job_tag('6f1c2d9e0b7a4f3e8d2c1b0a9f8e7d6c'):010x}"
    assert got.variant == "2"


def test_a_palette_sketch_is_a_sketch():
    got = inspect_upload(png_bytes(chest_sketch(256)))
    assert got.kind == "sketch" and got.labels is not None and got.labels.max() > 0


def test_a_dicom_with_a_patient_name_is_refused_from_its_header():
    got = inspect_upload(dicom_with_patient())
    assert got.kind == "refused"
    assert "PatientName" in got.message and "PatientID" in got.message
    assert "DOE" not in got.message  # the name itself is never repeated
    assert "mark" not in got.checks  # refused before its pixels were decoded


def test_a_png_with_a_burned_in_name_and_date_is_refused(ocr):
    got = inspect_upload(burned_in("DOE, JOHN 12/03/1961"))
    assert got.kind == "refused"
    assert "Text is burned into this image" in got.message
    assert "DOE" not in got.message and "1961" not in got.message
    clean = inspect_upload(png_bytes(Image.fromarray(scan_like(512))))
    assert "Text is burned" not in clean.message  # the same scan without the text passes OCR


def test_a_20000_pixel_png_is_refused_before_decoding():
    data = bomb_png(20000)
    tracemalloc.start()
    try:
        got = inspect_upload(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert got.kind == "refused" and "20000x20000" in got.message
    assert got.checks == ["limits"]
    assert peak < 5_000_000


def test_a_face_is_refused(ocr):
    from skimage import data

    got = inspect_upload(png_bytes(Image.fromarray(data.astronaut())))
    assert got.kind == "refused" and "face" in got.message


def test_other_images_are_refused_or_held_without_their_metadata(ocr):
    data = jpeg_with_exif()
    assert Image.open(io.BytesIO(data)).getexif()  # the upload carries EXIF
    refused = inspect_upload(data)
    assert refused.kind == "refused" and "not one of ours" in refused.message
    held = inspect_upload(data, hold_unknown=True)
    assert held.kind == "held" and held.clean is not None
    kept = Image.open(io.BytesIO(held.clean))
    assert not kept.getexif() and not kept.info.get("exif")
    assert np.asarray(kept).shape[:2] == (256, 256)


def test_unknown_types_are_refused_by_their_bytes():
    got = inspect_upload(b"%PDF-1.7 not an image" * 10)
    assert got.kind == "refused" and "PNG, JPEG or WebP" in got.message


def test_our_image_whose_mark_was_lost_is_told_so(ocr, tmp_path):
    spec = parse("PA chest x-ray --size 512x512")[0]
    paths = write_case(render_case(spec, seed=5), tmp_path)
    shrunk = Image.open(paths["variant-1.png"]).resize((200, 210))  # resized: mark lost
    got = inspect_upload(png_bytes(shrunk.resize((600, 630))))
    assert got.kind == "refused" and "did not verify" in got.message, got


def test_our_band_is_read_through_split_words():
    """OCR splits words where a rounding step moves a glyph's gap; the band still counts, and
    other text does not."""
    from imagine_med.moderation.uploads import _our_band

    assert _our_band("SYNTH ETIC - NOT FOR DIAG\nNOSIS")
    assert _our_band("synthetic - not for diagnosis")
    assert not _our_band("SYNTHESIS OF A DIAGNOSTIC TEST")
    assert not _our_band("SYNTHETIC")
