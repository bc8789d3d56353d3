"""DICOM export: synthetic-data attributes, HU round trip, per-modality IODs, SEG labels, the
invisible mark inside the pixels, dciodvfy (when dicom3tools is installed), and the CLI."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.pixels import apply_modality_lut

from imagine_med.cli import main
from imagine_med.engine.base import RenderResult
from imagine_med.engine.registry import RENDERERS
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
        ds = D.build_dataset(res, job_id=JOB, variant=2, modality=mod, prompt="p", sex="female")
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


@pytest.mark.skipif(shutil.which("dciodvfy") is None, reason="dicom3tools (dciodvfy) not installed")
@pytest.mark.parametrize("mod", list(CASES))
def test_dciodvfy_finds_no_errors(exported, mod: str, tmp_path: Path) -> None:
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


@pytest.mark.skipif(("phantom", "ct") not in RENDERERS, reason="phantom CT engine not installed")
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


@pytest.mark.skipif(("phantom", "xray") not in RENDERERS, reason="phantom engine not installed")
def test_generate_dicom_only_writes_case_json_and_no_png(tmp_path: Path) -> None:
    rc = main(["generate", "PA chest x-ray --seed 2", "--out", str(tmp_path), "--format", "dicom"])
    assert rc == 0
    names = {p.name for p in tmp_path.iterdir()}
    assert {"variant-1.dcm", "case.json"} <= names
    assert not any(n.endswith(".png") for n in names)
    assert verify_file(tmp_path / "variant-1.dcm").marked


@pytest.mark.skipif(("phantom", "ct") not in RENDERERS, reason="phantom CT engine not installed")
def test_rerender_dicom_for_a_stored_job_matches_its_pngs(tmp_path: Path) -> None:
    """The bot's DICOM button: from a finished job's spec + seeds, same job id, same pixels."""
    from imagine_med.case import render_case, write_case
    from imagine_med.prompt import parse

    spec = parse("axial chest CT --seed 8")[0]
    result = render_case(spec)
    write_case(result, tmp_path / "png", job_id="c0ffee0001")
    paths = D.rerender_dicom(
        spec.model_dump(mode="json"), result.seeds, tmp_path / "dcm", job_id="c0ffee0001"
    )
    assert "variant-1.dcm" in paths and "case.json" in paths
    res = verify_file(paths["variant-1.dcm"])
    assert res.marked and res.job_tag == "c0ffee0001" and res.variant == "1"


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
    if shutil.which("dciodvfy") is None:
        return
    out = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, timeout=60)
    lines = (out.stdout + out.stderr).splitlines()
    assert [ln for ln in lines if ln.startswith("Error") and "(0x0008,0x001c)" not in ln] == []
    assert not [ln for ln in lines if "View Position" in ln]


@pytest.mark.skipif(("phantom", "xray") not in RENDERERS, reason="phantom engine not installed")
def test_dicom_of_a_variation_job_shows_the_posted_picture(tmp_path: Path) -> None:
    """The bot's DICOM button re-renders a job: a variation must be re-rendered as one (from its
    parent's seed), not as a fresh case with the same seeds."""
    import uuid
    import zipfile

    from imagine_med.bot.casefiles import dicom_zip
    from imagine_med.bot.jobs import JobView
    from imagine_med.case import render_case
    from imagine_med.prompt import parse
    from imagine_med.queue.tasks import follow_up_kwargs

    spec = parse("PA chest x-ray, right upper lobe consolidation --size 128")[0]
    params = {"parent_id": "p", "variant": 1, "parent_seed": 77, "strength": "strong"}
    posted = render_case(spec, seed=123, **follow_up_kwargs("variation", params))
    job = JobView(id=f"var-{uuid.uuid4().hex}", kind="variation", state="done", owner="U1",
                  platform="slack", channel="C1", prompt=spec.prompt, spec=spec,
                  params=params, seeds=posted.seeds)
    with zipfile.ZipFile(dicom_zip(job, 1)) as z:
        z.extract("variant-1.dcm", tmp_path)
    shown = pydicom.dcmread(tmp_path / "variant-1.dcm").pixel_array
    want = D.write_dicom_case(posted, tmp_path / "posted")["variant-1.dcm"]
    fresh = render_case(spec, seeds=posted.seeds).variants[0]
    assert np.array_equal(shown, pydicom.dcmread(want).pixel_array)
    assert not np.array_equal(fresh.pixels, posted.variants[0].pixels)
