"""DICOM export: synthetic-data attributes, HU round trip, per-modality IODs, SEG labels, the
invisible mark inside the pixels, dciodvfy (when dicom3tools is installed), and the CLI."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.pixels import apply_modality_lut
from tooling import need_program

from imagine_med.cli import main
from imagine_med.engine.base import RenderResult
from imagine_med.provenance import dicom as D
from imagine_med.provenance.corpus import medical_like
from imagine_med.provenance.verify import verify_file

JOB = "0a1b2c3d4e"


def _ct_result(seed: int = 0) -> RenderResult:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:512, :512]
    r = np.hypot(yy - 256, xx - 256)
    hu = np.where(r < 200, 40 + rng.normal(0, 10, r.shape), -1000.0)
    lung = (r < 120) & (xx < 256)
    hu[lung] = -850 + rng.normal(0, 20, int(lung.sum()))
    wc, ww = 40.0, 400.0
    disp = np.clip(np.rint((hu - (wc - ww / 2)) / ww * 255), 0, 255).astype(np.uint8)
    lab = np.zeros(hu.shape, np.uint8)
    lab[r < 200] = 1
    lab[lung] = 10
    return RenderResult(
        pixels=disp, label_map=lab, labels={1: "body", 10: "lung_rul"}, findings=[],
        pixel_spacing_mm=(0.7, 0.7), answer_key="", tags={"modality": "CT"},
        raw=hu.astype(np.float32), raw_unit="HU",
    )


def _result(kind: str, modality_tag: str = "") -> RenderResult:
    px = medical_like(kind, 3)
    lab = np.zeros(px.shape[:2], np.uint8)
    lab[50:150, 60:200] = 2
    lab[300:400, 300:350] = 7
    return RenderResult(
        pixels=px, label_map=lab, labels={2: "organ", 7: "lesion"}, findings=[],
        pixel_spacing_mm=(0.4, 0.4), answer_key="", tags={"modality": modality_tag},
    )


CASES = {
    "ct": (_ct_result, "CT", "1.2.840.10008.5.1.4.1.1.2"),
    "mri": (lambda: _result("mr"), "MR", "1.2.840.10008.5.1.4.1.1.4"),
    "xray": (lambda: _result("xray", "CR"), "CR", "1.2.840.10008.5.1.4.1.1.1"),
    "us": (lambda: _result("mr"), "US", "1.2.840.10008.5.1.4.1.1.6.1"),
    "histo": (lambda: _result("histo"), "GM", "1.2.840.10008.5.1.4.1.1.77.1.2"),
    "derm": (lambda: _result("histo"), "XC", "1.2.840.10008.5.1.4.1.1.77.1.4"),
    "fundus": (lambda: _result("histo"), "XC", "1.2.840.10008.5.1.4.1.1.77.1.4"),
}


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, RenderResult]]:
    out = tmp_path_factory.mktemp("dicom")
    files = {}
    for mod, (make, _, _) in CASES.items():
        res = make()
        ds = D.build_dataset(res, job_id=JOB, variant=2, modality=mod, description="p",
                             sex="female")
        path = out / f"{mod}.dcm"
        D.save_dataset(ds, path)
        files[mod] = (path, res)
    return files


@pytest.mark.parametrize("mod", list(CASES))
def test_every_file_says_synthetic(exported, mod: str) -> None:
    path, _ = exported[mod]
    ds = pydicom.dcmread(path)
    _, modality, sop = CASES[mod]
    assert ds.SyntheticData == "YES"
    assert list(ds.ImageType)[:2] == ["DERIVED", "SECONDARY"]
    assert ds.BurnedInAnnotation == "YES"
    assert ds.PatientIdentityRemoved == "YES"
    assert str(ds.PatientName) == "SYNTHETIC^CASE"
    assert ds.PatientID == f"SYNTH-{JOB}"
    assert ds.Modality == modality and ds.SOPClassUID == sop
    assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
    for real_identifier in ("PatientBirthDate", "ReferringPhysicianName", "AccessionNumber"):
        assert not str(ds.get(real_identifier, ""))
    assert "InstitutionName" not in ds and "OtherPatientIDs" not in ds


@pytest.mark.parametrize("mod", list(CASES))
def test_pixels_carry_the_mark(exported, mod: str) -> None:
    path, _ = exported[mod]
    res = verify_file(path)
    assert res.marked, res.summary()
    assert (res.job_tag, res.variant) == (JOB, "2")
    assert res.claims["SyntheticData"] == "YES"


def test_ct_is_in_hounsfield_units(exported) -> None:
    path, res = exported["ct"]
    ds = pydicom.dcmread(path)
    assert ds.RescaleType == "HU" and float(ds.RescaleSlope) == 1.0
    hu = apply_modality_lut(ds.pixel_array, ds)[:512]
    diff = hu - np.rint(res.raw)
    # the mark is a few HU (the window's 400 HU over 255 levels), nothing else changed
    assert abs(float(np.median(diff))) <= 1
    assert float(np.abs(diff).mean()) < 6
    assert abs(float(hu[res.label_map == 10].mean()) - (-850)) < 5
    assert abs(float(np.atleast_1d(ds.WindowCenter)[0]) - 40) < 1
    assert abs(float(np.atleast_1d(ds.WindowWidth)[0]) - 400) < 2
    assert ds.Rows == 512 + (ds.Rows - 512) and ds.Rows > 512  # the burned-in band rows


def test_ct_without_hu_is_refused_clearly() -> None:
    res = _result("ct")
    with pytest.raises(D.DicomExportError, match="HU"):
        D.build_dataset(res, job_id=JOB, variant=1, modality="ct")


def test_dx_tag_selects_the_dx_iod() -> None:
    ds = D.build_dataset(_result("xray", "DX"), job_id=JOB, variant=1, modality="xray")
    assert ds.Modality == "DX"


def test_uids_are_deterministic_per_job() -> None:
    a = D.build_dataset(_result("xray"), job_id=JOB, variant=1, modality="xray")
    b = D.build_dataset(_result("xray"), job_id=JOB, variant=1, modality="xray")
    c = D.build_dataset(_result("xray"), job_id="ffffffffff", variant=1, modality="xray")
    assert a.SOPInstanceUID == b.SOPInstanceUID != c.SOPInstanceUID
    assert a.StudyInstanceUID == b.StudyInstanceUID


@pytest.mark.parametrize("mod", ["ct", "xray", "histo"])
def test_seg_holds_the_label_map(exported, mod: str, tmp_path: Path) -> None:
    path, res = exported[mod]
    image = pydicom.dcmread(path)
    seg = D.build_seg(image, res.label_map, res.labels, JOB)
    sp = tmp_path / "seg.dcm"
    seg.save_as(sp)
    back = pydicom.dcmread(sp)
    assert back.Modality == "SEG" and back.SyntheticData == "YES"
    labels = [s.SegmentLabel for s in back.SegmentSequence]
    assert labels == [res.labels[i] for i in sorted(res.labels)]
    frames = back.pixel_array.reshape(len(labels), back.Rows, back.Columns)
    for n, i in enumerate(sorted(res.labels)):
        h, w = res.label_map.shape
        assert np.array_equal(frames[n][:h, :w].astype(bool), res.label_map == i)
        assert not frames[n][h:].any()
    ref = back.ReferencedSeriesSequence[0].ReferencedInstanceSequence[0]
    assert ref.ReferencedSOPInstanceUID == image.SOPInstanceUID
    assert "segmentation" in (verify_file(sp).error or "")


@pytest.mark.parametrize("mod", list(CASES))
def test_dciodvfy_finds_no_errors(exported, mod: str, tmp_path: Path) -> None:
    need_program("dciodvfy", "dicom3tools")
    path, res = exported[mod]
    seg = tmp_path / "seg.dcm"
    D.build_seg(pydicom.dcmread(path), res.label_map, res.labels, JOB).save_as(seg)
    for f in (path, seg):
        out = subprocess.run(["dciodvfy", str(f)], capture_output=True, text=True, timeout=60)
        errors = [
            line for line in (out.stdout + out.stderr).splitlines()
            if line.startswith("Error")
            # dicom3tools 2022 predates SyntheticData (0008,001C), a standard attribute since
            # DICOM 2021d (CP 2061): it reports it as unknown.
            and "(0x0008,0x001c)" not in line
        ]
        assert errors == [], f"{f.name}: {errors}"


def test_generate_dicom_end_to_end_with_the_phantom_ct(tmp_path: Path, capsys) -> None:
    out = tmp_path / "case"
    rc = main(["generate", "axial chest CT, lung window --seed 4", "--out", str(out),
               "--format", "both"])
    assert rc == 0, capsys.readouterr()
    for i in range(1, 5):
        ds = pydicom.dcmread(out / f"variant-{i}.dcm")
        assert ds.Modality == "CT" and ds.SyntheticData == "YES" and ds.RescaleType == "HU"
        hu = apply_modality_lut(ds.pixel_array, ds)[:512]  # above the burned-in band
        assert hu.min() >= -1200 and np.percentile(hu, 99) > 100  # air (+- mark) .. bone
        assert (out / f"variant-{i}.seg.dcm").exists()
    dcm, png = verify_file(out / "variant-3.dcm"), verify_file(out / "variant-3.png")
    assert dcm.marked and png.marked
    assert (dcm.job_tag, dcm.variant) == (png.job_tag, png.variant) == (png.job_tag, "3")


def test_generate_dicom_only_writes_case_json_and_no_png(tmp_path: Path) -> None:
    rc = main(["generate", "PA chest x-ray --seed 2", "--out", str(tmp_path), "--format", "dicom"])
    assert rc == 0
    names = {p.name for p in tmp_path.iterdir()}
    assert {"variant-1.dcm", "case.json"} <= names
    assert not any(n.endswith(".png") for n in names)
    assert verify_file(tmp_path / "variant-1.dcm").marked


@pytest.mark.parametrize(("tag", "view", "position", "orientation"), [
    ("CR", "LATERAL", "LL", ["P", "F"]),  # the phantom's lateral: left side to the detector
    ("CR", "PA", "PA", ["L", "F"]),
    ("DX", "AP", "AP", ["L", "F"]),
])
def test_projection_films_name_view_and_orientation(tmp_path: Path, tag: str, view: str,
                                                    position: str, orientation: list[str]
                                                    ) -> None:
    res = _result("xray", tag)
    res.tags.update(view=view, region="chest")
    path = tmp_path / "film.dcm"
    D.save_dataset(D.build_dataset(res, job_id=JOB, variant=1, modality="xray"), path)
    ds = pydicom.dcmread(path)
    assert ds.Modality == tag and ds.ViewPosition == position
    assert list(ds.PatientOrientation) == orientation
    need_program("dciodvfy", "dicom3tools")
    out = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, timeout=60)
    lines = (out.stdout + out.stderr).splitlines()
    assert [ln for ln in lines if ln.startswith("Error") and "(0x0008,0x001c)" not in ln] == []
    assert not [ln for ln in lines if "View Position" in ln]


def _stored_job(tmp_path: Path, prompt: str) -> tuple[dict[str, Path], object]:
    """A finished job's files as a worker stores them: write_case plus the CT values."""
    from imagine_med.case import render_case, write_case
    from imagine_med.prompt import parse

    result = render_case(parse(prompt)[0])
    files = write_case(result, tmp_path / "job")
    files.update(D.write_raw_hu(result, tmp_path / "job"))
    return files, result


def test_export_from_stored_files_holds_the_posted_pixels(tmp_path: Path) -> None:
    """The bot's DICOM button: a worker converts the posted PNG itself, so the DICOM is the
    picture the chat showed (band and mark included), even where a render would differ."""
    from PIL import Image

    files, _ = _stored_job(tmp_path, "PA chest x-ray, left pleural effusion --seed 3")
    out = D.write_dicom_from_files(files, tmp_path / "dcm", variants=[2])
    assert sorted(out) == ["case.json", "variant-2.dcm", "variant-2.seg.dcm"]
    posted = np.asarray(Image.open(files["variant-2.png"]).convert("L"))
    ds = pydicom.dcmread(out["variant-2.dcm"])
    assert np.array_equal(ds.pixel_array, posted)
    dcm, png = verify_file(out["variant-2.dcm"]), verify_file(files["variant-2.png"])
    assert dcm.marked and (dcm.job_tag, dcm.variant) == (png.job_tag, "2")
    seg = pydicom.dcmread(out["variant-2.seg.dcm"])
    labels = np.asarray(Image.open(files["variant-2.labels.png"]))
    assert seg.pixel_array.any() and seg.Rows == labels.shape[0]


def test_ct_export_from_stored_files_keeps_the_hu(tmp_path: Path) -> None:
    files, result = _stored_job(tmp_path, "axial chest CT, lung window --seed 4")
    assert "_variant-1.hu.png" in files
    hu_stored = D.read_raw_hu(files["_variant-1.hu.png"])
    assert np.array_equal(hu_stored, result.variants[0].raw)  # lossless, 16-bit
    out = D.write_dicom_from_files(files, tmp_path / "dcm", variants=[1])
    ds = pydicom.dcmread(out["variant-1.dcm"])
    hu = apply_modality_lut(ds.pixel_array, ds)[: hu_stored.shape[0]]
    # exact HU plus the invisible mark (scaled by the window): close, never re-rendered
    assert np.median(np.abs(hu - hu_stored)) < 20 and ds.RescaleType == "HU"
    dcm, png = verify_file(out["variant-1.dcm"]), verify_file(files["variant-1.png"])
    assert dcm.marked and (dcm.job_tag, dcm.variant) == (png.job_tag, "1")


IDENTIFIERS = ("Jane", "Roe", "MRN", "12345678")


def _strings(ds: pydicom.Dataset) -> list[str]:
    """Every string value in a dataset and its sequences, file meta included."""
    out = []
    for source in (ds.file_meta, ds):
        for elem in source.iterall():
            values = elem.value if elem.VM > 1 else [elem.value]
            out += [str(v) for v in values if isinstance(v, str | pydicom.valuerep.PersonName)]
            if elem.VR in ("UN", "OB") and elem.tag != 0x7FE00010:  # text hidden in bytes
                out.append(bytes(elem.value or b"").decode("latin-1"))
    return out


@pytest.mark.parametrize("path", ["generate", "stored"])
def test_no_prompt_text_reaches_any_dicom_tag(tmp_path: Path, path: str) -> None:
    """Identifiers in the free text (here split by zero-width spaces) must not travel into
    DICOM: SeriesDescription and the rest come from the canonical case description only."""
    prompt = "Jane\u200bRoe\u200bMRN\u200b12345678 PA chest x-ray --size 128 --seed 1"
    files, result = _stored_job(tmp_path, prompt)
    assert "Jane" in result.spec.prompt  # the spec does carry them, so the test can fail
    if path == "generate":
        out = D.write_dicom_case(result, tmp_path / "dcm")
    else:
        out = D.write_dicom_from_files(files, tmp_path / "dcm")
    dicoms = [p for n, p in out.items() if n.endswith(".dcm")]
    assert len(dicoms) == 8  # four images and their SEGs
    for p in dicoms:
        ds = pydicom.dcmread(p)
        strings = _strings(ds)
        assert len(strings) > 20
        leaks = [s for s in strings if any(w in s for w in IDENTIFIERS)]
        assert leaks == [], f"{p.name}: {leaks}"
    ds = pydicom.dcmread(dicoms[0])
    assert "PA chest X-ray" in ds.SeriesDescription


def _dciodvfy_errors(path: Path) -> list[str]:
    out = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, timeout=60)
    return [ln for ln in (out.stdout + out.stderr).splitlines()
            if ln.startswith("Error") and "(0x0008,0x001c)" not in ln]  # see above


# The head (issue 14): MR objects carry the simulated sequence's TR/TE/TI and field; head CT is
# HU. Both from a fresh render (generate) and from a finished job's stored files (the queue's
# DICOM job), each checked by dciodvfy.
HEAD_CASES = {
    "t2": ("axial T2 brain MRI, acute left MCA infarct --size 128 --seed 3",
           ["SE"], 4000.0, 100.0, None),
    "flair": ("coronal FLAIR brain MRI, acute left MCA infarct --size 128 --seed 3",
              ["SE", "IR"], 9000.0, 120.0, (2000.0, 3000.0)),
    "dwi": ("axial DWI head MRI, hyperacute left MCA infarct --size 128 --seed 3",
            ["SE", "EP"], 5000.0, 90.0, None),
    "swi": ("sagittal SWI brain MRI --size 128 --seed 3", ["GR"], 30.0, 20.0, None),
    "ct": ("CT head, acute right subdural haematoma --size 128 --seed 3", None, None, None, None),
}


@pytest.mark.parametrize("path", ["generate", "stored"])
@pytest.mark.parametrize("case", list(HEAD_CASES))
def test_head_mr_and_ct_conform(tmp_path: Path, case: str, path: str) -> None:
    prompt, scanning, tr, te, ti = HEAD_CASES[case]
    files, result = _stored_job(tmp_path, prompt)
    assert result.spec.region == "brain"
    if path == "generate":
        out = D.write_dicom_case(result, tmp_path / "dcm")
    else:
        out = D.write_dicom_from_files(files, tmp_path / "dcm", variants=[1])
    ds = pydicom.dcmread(out["variant-1.dcm"])
    assert ds.SyntheticData == "YES" and ds.BodyPartExamined == "HEAD"
    assert "Laterality" not in ds  # unpaired: absent rather than empty
    plane = result.variants[0].tags["plane"]
    assert list(map(int, ds.ImageOrientationPatient)) == D.PLANE_ORIENTATION[plane]
    if case == "ct":
        assert ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.2" and ds.Modality == "CT"
        assert ds.RescaleType == "HU"
        hu = apply_modality_lut(ds.pixel_array, ds)[:128]
        assert np.percentile(hu, 99.5) > 700  # the skull
        assert abs(float(ds.WindowCenter) - 40) < 5 and abs(float(ds.WindowWidth) - 80) < 10
    else:
        assert ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.4" and ds.Modality == "MR"  # MR Image
        got = [ds.ScanningSequence] if isinstance(ds.ScanningSequence, str) else list(
            ds.ScanningSequence)
        assert got == scanning
        assert float(ds.RepetitionTime) == tr and float(ds.EchoTime) == te
        assert float(ds.MagneticFieldStrength) == 1.5 and ds.ImagedNucleus == "1H"
        if ti is None:
            assert "InversionTime" not in ds
        else:  # FLAIR: the TI that nulls CSF, as the engine computed it
            assert ti[0] < float(ds.InversionTime) < ti[1]
            assert float(ds.InversionTime) == float(result.variants[0].tags["ti_ms"])
    need_program("dciodvfy", "dicom3tools")
    for name in ("variant-1.dcm", "variant-1.seg.dcm"):
        assert _dciodvfy_errors(out[name]) == [], name


@pytest.mark.parametrize("path", ["generate", "stored"])
def test_head_mr_stores_the_signal(tmp_path: Path, path: str) -> None:
    """MR DICOM pixels are the simulated magnitude signal (white matter ~1000), stored beside
    the posted PNG as `_variant-N.mr.png` for a later export, and still carry the mark."""
    files, result = _stored_job(tmp_path, "axial T2 brain MRI --size 512 --seed 3")
    assert "_variant-1.mr.png" in files
    if path == "generate":
        out = D.write_dicom_case(result, tmp_path / "dcm")
    else:
        out = D.write_dicom_from_files(files, tmp_path / "dcm", variants=[1])
    ds = pydicom.dcmread(out["variant-1.dcm"])
    sig = ds.pixel_array[:512].astype(float)
    v = result.variants[0]
    lab = v.label_map
    csf = np.isin(lab, [v_ for v_, n in v.labels.items() if n.startswith("lateral_ventricle")])
    white = lab == next(k for k, n in v.labels.items() if n == "white_matter")
    assert 700 < np.median(sig[white]) < 1400 and sig[csf].mean() > 1.5 * sig[white].mean()
    assert abs(float(ds.WindowCenter) - float(v.tags["window_center"])) < 1
    assert verify_file(out["variant-1.dcm"]).marked  # (the mark needs 512 px here)
    need_program("dciodvfy", "dicom3tools")
    assert _dciodvfy_errors(out["variant-1.dcm"]) == []


def test_head_ct_carries_the_mark(tmp_path: Path) -> None:
    """A head CT's 80 HU brain window scaled the mark below 1 HU, so rounding to whole HU
    erased it; it is now at least 1 HU a unit."""
    from imagine_med.case import render_case
    from imagine_med.prompt import parse

    result = render_case(parse("CT head, acute right subdural haematoma --size 512 --seed 4")[0])
    out = D.write_dicom_case(result, tmp_path / "dcm")
    assert verify_file(out["variant-1.dcm"]).marked
