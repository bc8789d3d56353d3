"""Exports of a case list: a PPTX python-pptx reopens with a question and an answer slide per
case, a PDF whose page count matches, a ZIP of DICOM studies; every image in them keeps the
band, the mark and the synthetic metadata of the image it came from."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pydicom
import pytest
from PIL import Image
from teaching_support import SIZE, tiny_set  # noqa: F401

from imagine_med.provenance.verify import verify_bytes
from imagine_med.teaching.cases import cases_from_caseset
from imagine_med.teaching.export import export_dicom_zip, export_pdf, export_pptx
from imagine_med.teaching.overlay import finding_label_ids

MARK_LEVELS = 20  # largest change the invisible mark makes to a pixel, with margin (seen: 11)


@pytest.fixture(scope="module")
def cases(tiny_set):  # noqa: F811
    return cases_from_caseset(tiny_set)[:5]


def _pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def _pictures(slide) -> list[bytes]:
    return [s.image.blob for s in slide.shapes if s.shape_type == 13]  # MSO_SHAPE_TYPE.PICTURE


def _finding_words(case) -> set[str]:
    return {f["name"].replace("_", " ") for f in case.findings}


def test_pptx_question_then_answer_slide_per_case_with_key_in_notes(cases, tmp_path):
    from pptx import Presentation

    path = export_pptx(cases, tmp_path / "deck.pptx")
    prs = Presentation(str(path))
    slides = list(prs.slides)
    assert len(slides) == 1 + 2 * len(cases)
    assert "SyntheticData=YES" in prs.core_properties.keywords
    for k, case in enumerate(cases):
        q, a = slides[1 + 2 * k], slides[2 + 2 * k]
        original = case.image.read_bytes()
        (q_png,), (a_png,) = _pictures(q), _pictures(a)
        assert q_png == original  # the posted file itself: band, mark and metadata
        q_text = " ".join(s.text_frame.text for s in q.shapes if s.has_text_frame).lower()
        assert not any(w in q_text for w in _finding_words(case))  # no answer on the question
        assert case.answer_key and case.answer_key in a.notes_slide.notes_text_frame.text
        assert case.answer_key in q.notes_slide.notes_text_frame.text
        a_text = " ".join(s.text_frame.text for s in a.shapes if s.has_text_frame).lower()
        assert all(w in a_text for w in _finding_words(case))
        _check_answer_image(case, a_png)


def _check_answer_image(case, png: bytes) -> None:
    """The overlay changed pixels only where the case's findings are labelled, the band is the
    posted band, and the file verifies as the same case (metadata, and the mark wherever the
    posted image's own mark reads)."""
    orig, ans = _pixels(case.image.read_bytes()), _pixels(png)
    labels = np.asarray(Image.open(case.labels))
    ids = set().union(*finding_label_ids(case).values()) if case.findings else set()
    near = np.isin(labels, sorted(ids))
    from scipy import ndimage

    near = ndimage.binary_dilation(near, iterations=1)
    # the fresh mark moves pixels by a few levels everywhere (PSNR ~40 dB); the overlay by
    # tens (a 35% blend towards a saturated colour)
    changed = np.abs(ans.astype(int) - orig.astype(int)).max(axis=2) > MARK_LEVELS
    assert not (changed & ~near).any()
    assert (changed & near).any() == bool(ids)
    assert not changed[SIZE:].any()  # the band as posted
    res, ref = verify_bytes(png), verify_bytes(case.image.read_bytes())
    assert res.claims.get("synthetic") == "yes"
    if ref.marked:
        assert res.marked and res.job_tag == ref.job_tag


def test_pdf_pages_match_and_images_are_lossless(cases, tmp_path):
    import pypdf

    path = export_pdf(cases, tmp_path / "handout.pdf")
    reader = pypdf.PdfReader(str(path))
    assert len(reader.pages) == 1 + 2 * len(cases)
    assert "SyntheticData=YES" in reader.metadata["/Keywords"]
    for k, case in enumerate(cases):
        q = reader.pages[1 + k]
        (img,) = q.images
        got = np.asarray(img.image.convert("RGB"))
        assert np.array_equal(got, _pixels(case.image.read_bytes()))  # mark and band intact
        text = q.extract_text().lower()
        assert not any(w in text for w in _finding_words(case))
        answer = reader.pages[1 + len(cases) + k]
        assert case.title in answer.extract_text()
        (a_img,) = answer.images
        buf = io.BytesIO()
        a_img.image.convert("RGB").save(buf, "PNG")
        res, ref = verify_bytes(buf.getvalue()), verify_bytes(case.image.read_bytes())
        if ref.marked:
            assert res.marked and res.job_tag == ref.job_tag


def test_dicom_zip_holds_one_synthetic_study_per_case(cases, tmp_path):
    path = export_dicom_zip(cases, tmp_path / "studies.zip")
    with zipfile.ZipFile(path) as z:
        studies = set()
        for case in cases:
            data = z.read(f"{case.case_id}/variant-1.dcm")
            ds = pydicom.dcmread(io.BytesIO(data))
            assert ds.SyntheticData == "YES" and ds.BurnedInAnnotation == "YES"
            assert ds.Rows == Image.open(case.image).height  # the band is in the pixels
            studies.add(ds.StudyInstanceUID)
            ref = verify_bytes(case.image.read_bytes())
            if ref.marked:
                assert verify_bytes(data).job_tag == ref.job_tag
            if case.findings:
                seg = pydicom.dcmread(io.BytesIO(z.read(f"{case.case_id}/variant-1.seg.dcm")))
                assert seg.SyntheticData == "YES"
                names = {s.SegmentLabel for s in seg.SegmentSequence}
                assert {f["name"] for f in case.findings} <= names
        assert len(studies) == len(cases)


def test_cli_export_writes_all_three(tiny_set, tmp_path):  # noqa: F811
    from imagine_med.cli import main

    out = [tmp_path / "d.pptx", tmp_path / "h.pdf", tmp_path / "s.zip"]
    code = main(["export", str(tiny_set), "--pptx", str(out[0]), "--pdf", str(out[1]),
                 "--dicom-zip", str(out[2])])
    assert code == 0 and all(p.stat().st_size > 0 for p in out)
    assert main(["export", str(tiny_set)]) == 2  # nothing asked for
    assert main(["export", str(tmp_path / "nothing-here"), "--pdf", str(out[1])]) == 2


def test_ct_case_set_exports_dicom_in_hounsfield_units(tmp_path):
    """A CT set keeps each case's HU beside its PNG, so its DICOM holds CT numbers: the
    consolidation reads as soft tissue, the aerated lung as air-like, on the case's labels."""
    from imagine_med.engine.phantom.labels import ANATOMY, FINDINGS
    from imagine_med.teaching.caseset import build_caseset
    from imagine_med.teaching.plan import CaseSetRequest

    build_caseset(CaseSetRequest("axial CT chest", ("RLL consolidation",), 1, 0.0, 2, 128),
                  tmp_path / "ct")
    (case,) = cases_from_caseset(tmp_path / "ct")
    with zipfile.ZipFile(export_dicom_zip([case], tmp_path / "ct.zip")) as z:
        ds = pydicom.dcmread(io.BytesIO(z.read(f"{case.case_id}/variant-1.dcm")))
    assert ds.Modality == "CT" and ds.SyntheticData == "YES"
    hu = ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    labels = np.asarray(Image.open(case.labels))
    assert np.median(hu[labels == FINDINGS["consolidation"]]) > -100
    assert np.median(hu[np.isin(labels, [ANATOMY["lung_lul"], ANATOMY["lung_lll"]])]) < -500
