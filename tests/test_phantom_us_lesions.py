"""Abdominal ultrasound lesions (issue 16): gallbladder sludge and polyps, a dilated common bile
duct, liver haemangioma and metastases, renal angiomyolipoma; every property measured on the
written files (PNG, label PNG, case.json) with this file's own code."""

from __future__ import annotations

import io
import re
from functools import partial
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage
from us_support import written_case, written_variant

from imagine_med.case import render_case, write_case
from imagine_med.engine.phantom.regions.abdomen_us.anatomy import LABELS as L
from imagine_med.prompt import parse

SIZE = 384
DR_DB = 60.0  # the display's dynamic range: grey 255 is 60 dB


_case = partial(written_case, seed=5, size=SIZE)


_variant = partial(written_variant, size=SIZE)


def _mean(pix: np.ndarray, lab: np.ndarray, name: str, erode: int = 1) -> float:
    mask = lab == L[name]
    inner = ndimage.binary_erosion(mask, iterations=erode)
    return float(pix[inner if inner.sum() >= 10 else mask].mean())


def _below_vs_beside(
    pix: np.ndarray, lab: np.ndarray, mask: np.ndarray, px: float, skip: list[int]
) -> float:
    """dB: the 2 cm below `mask` in its central columns against liver in the same rows, in
    columns that cross no gallbladder (the reference column)."""
    ys, xs = np.nonzero(mask)
    rows = slice(ys.max() + 1, ys.max() + 1 + round(20 / px))
    cols = slice(int(np.percentile(xs, 30)), int(np.percentile(xs, 70)) + 1)
    below = pix[rows, cols][~np.isin(lab[rows, cols], skip)]
    gb_cols = np.isin(
        lab, [L[n] for n in ("gallbladder", "gallbladder_wall", "sludge", "stone", "shadow")]
    ).any(axis=0)
    ref = np.zeros(lab.shape, bool)
    ref[rows] = True
    ref &= (lab == L["liver"]) & ~gb_cols[None, :]
    assert below.size > 50 and ref.sum() > 50
    return (below.mean() - pix[ref].mean()) * DR_DB / 255


def test_sludge_layers_without_a_shadow_where_a_stone_shadows(tmp_path):
    doc = _case("RUQ ultrasound, gallbladder sludge", tmp_path / "sludge")
    for i, v in enumerate(doc["variants"], 1):
        pix, lab = _variant(tmp_path / "sludge", i)
        px = v["pixel_spacing_mm"][0]
        sludge = lab == L["sludge"]
        s, bile, liver = (_mean(pix, lab, n) for n in ("sludge", "gallbladder", "liver"))
        assert s > 3 * bile and s < liver, (s, bile, liver)
        # dependent: under the bile, its top a horizontal line (central columns)
        ys, xs = np.nonzero(sludge)
        assert ys.mean() > np.nonzero(lab == L["gallbladder"])[0].mean()
        cols = [c for c in np.unique(xs) if np.percentile(xs, 20) <= c <= np.percentile(xs, 80)]
        tops = np.array([ys[xs == c].min() for c in cols])
        assert np.ptp(tops) * px <= 1.5
        below = _below_vs_beside(pix, lab, sludge, px, [L["sludge"], L["gallbladder_wall"]])
        assert abs(below) <= 6.0, below  # no shadow
        assert (
            "fluid-sludge level" in v["answer_key"]
            and "no posterior acoustic shadow" in v["answer_key"]
        )
    # the same patient with a stone: its 2 cm below is a clean shadow
    doc = _case("RUQ ultrasound, 12 mm gallstone", tmp_path / "stone")
    pix, lab = _variant(tmp_path / "stone", 1)
    stone = _below_vs_beside(
        pix, lab, lab == L["stone"], doc["variants"][0]["pixel_spacing_mm"][0], [L["stone"]]
    )
    assert stone <= -15.0, stone


@pytest.mark.parametrize("mm", [6, 12])
def test_polyp_is_sized_on_the_wall_and_thresholded(tmp_path, mm):
    doc = _case(f"gallbladder ultrasound, {mm} mm polyp", tmp_path)
    for i, v in enumerate(doc["variants"], 1):
        pix, lab = _variant(tmp_path, i)
        px = v["pixel_spacing_mm"][0]
        polyp = lab == L["polyp"]
        ys, xs = np.nonzero(polyp)
        size = (max(np.ptp(ys), np.ptp(xs)) + 1) * px
        assert abs(size - mm) <= 2.0, size
        # on the non-dependent wall: the wall lies right above its top, bile right below it
        top = ys.min()
        assert (lab[top - 3 : top, xs[ys == top]] == L["gallbladder_wall"]).any()
        assert ys.mean() < np.nonzero(lab == L["gallbladder"])[0].mean()
        assert _mean(pix, lab, "polyp", 0) > 5 * _mean(pix, lab, "gallbladder")
        key = v["answer_key"]
        measured = v["findings"][0]["measurements"]["size_mm"]
        assert abs(measured - size) <= 1.0
        assert ("surgical review threshold" in key) == (measured >= 10)
        assert re.search(rf"\b{measured:.0f} mm echogenic polypoid", key)


def _calibre(mask: np.ndarray, px: float) -> float:
    """Mean width across the duct's long axis over its straight middle: the pixels of the
    middle half of its length (principal axis) over that length."""
    ys, xs = np.nonzero(mask)
    pts = np.stack([xs, ys], 1).astype(float)
    pts -= pts.mean(0)
    _, _, vt = np.linalg.svd(pts, full_matrices=False)
    u = pts @ vt[0]
    lo, hi = np.percentile(u, [25, 75])
    return float(((u >= lo) & (u < hi)).sum() / (hi - lo)) * px


@pytest.mark.parametrize("mm", [11, 5])
def test_cbd_calibre_from_the_labels(tmp_path, mm):
    doc = _case(f"RUQ ultrasound, common bile duct {mm} mm", tmp_path, size=512)
    for i, v in enumerate(doc["variants"], 1):
        pix, lab = _variant(tmp_path, i, size=512)
        px = v["pixel_spacing_mm"][0]
        duct, pv = lab == L["cbd"], lab == L["portal_vein"]
        cal = _calibre(duct, px)
        assert abs(cal - mm) <= 1.0, cal
        # anterior to the portal vein, over it
        dy, dx = np.nonzero(duct)
        py, pxs = np.nonzero(pv)
        assert dy.max() < py.mean() and dx.min() < pxs.mean() < dx.max()
        assert _mean(pix, lab, "cbd", 3) < 0.1 * _mean(pix, lab, "liver")  # anechoic bile
        key = v["answer_key"]
        got = v["findings"][0]["measurements"]["calibre_mm"]
        assert abs(got - cal) <= 0.6
        assert ("dilated CBD" in key) == (got > 6) and "anterior to the portal vein" in key


def test_haemangioma_is_hyperechoic_and_sized(tmp_path):
    doc = _case("liver ultrasound, 3 cm haemangioma", tmp_path)
    for i, v in enumerate(doc["variants"], 1):
        pix, lab = _variant(tmp_path, i)
        px = v["pixel_spacing_mm"][0]
        h = lab == L["haemangioma"]
        ys, xs = np.nonzero(h)
        assert abs((max(np.ptp(ys), np.ptp(xs)) + 1) * px - 30) <= 3
        assert _mean(pix, lab, "haemangioma", 2) > 1.3 * _mean(pix, lab, "liver")
        assert ndimage.label(h)[1] == 1
        assert "hyperechoic" in v["answer_key"] and "haemangioma" in v["answer_key"]


@pytest.mark.parametrize(
    "prompt, want",
    [
        ("RUQ ultrasound, 5 liver metastases", 5),
        ("liver ultrasound, multiple hypoechoic liver metastases", None),
    ],
)
def test_metastases_count_equals_the_labelled_lesions(tmp_path, prompt, want):
    doc = _case(prompt, tmp_path)
    for i, v in enumerate(doc["variants"], 1):
        pix, lab = _variant(tmp_path, i)
        mets = lab == L["metastasis"]
        n = ndimage.label(mets)[1]
        m = v["findings"][0]["measurements"]
        assert m["count"] == n and (n == want if want else n >= 2)
        assert f"{n} liver lesions" in v["answer_key"]
        # each lesion's rim (the halo, inside its outermost pixel) darker than the liver
        rim = ndimage.binary_erosion(mets) & ~ndimage.binary_erosion(mets, iterations=4)
        assert pix[rim].mean() < 0.8 * _mean(pix, lab, "liver")
        if want:  # target lesions: the centre brighter than the halo
            core = ndimage.binary_erosion(mets, iterations=7)
            assert pix[core].mean() > 1.3 * pix[rim].mean()


def test_angiomyolipoma_is_as_bright_as_the_renal_sinus(tmp_path):
    doc = _case("renal ultrasound, 2 cm angiomyolipoma", tmp_path)
    for i, v in enumerate(doc["variants"], 1):
        pix, lab = _variant(tmp_path, i)
        aml, liver, sinus = (_mean(pix, lab, n) for n in ("angiomyolipoma", "liver", "renal_sinus"))
        assert aml > liver and aml >= 0.8 * sinus, (aml, liver, sinus)
        # the rest of the kidney keeps its corticomedullary differentiation
        assert _mean(pix, lab, "kidney_cortex") > 1.2 * _mean(pix, lab, "kidney_medulla")
        assert "angiomyolipoma" in v["answer_key"]


def _dciodvfy_errors(path: Path) -> list[str]:
    import subprocess

    run = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, timeout=60)
    # dicom3tools predates SyntheticData (0008,001C): its "unrecognized tag" is not an error
    return [
        ln
        for ln in (run.stdout + run.stderr).splitlines()
        if ln.startswith("Error") and "(0x0008,0x001c)" not in ln
    ]


@pytest.mark.parametrize("path", ["generate", "stored"])
def test_cine_is_one_us_multiframe_dicom(tmp_path, path):
    """'cine loop of 8 frames': 8 frames in one US Multi-frame object (frame 1 the posted
    still, later frames moved and re-speckled, all marked), SyntheticData YES, dciodvfy clean;
    a still stays a single-frame US Image."""
    import pydicom
    from tooling import need_program

    from imagine_med.provenance import dicom as D
    from imagine_med.provenance.verify import verify_bytes, verify_file

    spec = parse("RUQ ultrasound, gallstones, cine loop of 8 frames")[0].model_copy(
        update={"width": 512, "height": 512}
    )
    result = render_case(spec, seed=2)
    if path == "generate":
        out = D.write_dicom_case(result, tmp_path / "dcm")
    else:
        files = write_case(result, tmp_path / "job")
        files.update(D.write_raw_hu(result, tmp_path / "job"))
        assert "_variant-1.cine.png" in files
        out = D.write_dicom_from_files(files, tmp_path / "dcm", variants=[1])
    ds = pydicom.dcmread(out["variant-1.dcm"])
    assert ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.3.1" and ds.Modality == "US"
    assert ds.SyntheticData == "YES" and int(ds.NumberOfFrames) == 8
    assert ds.FrameIncrementPointer == pydicom.tag.Tag("FrameTime") and float(ds.FrameTime) > 0
    clip = ds.pixel_array.astype(float)
    assert clip.shape[0] == 8 and clip.shape[2] == 512
    posted = (
        np.asarray(Image.open(tmp_path / "job" / "variant-1.png").convert("L"))
        if path == "stored"
        else None
    )
    if posted is not None:
        assert np.array_equal(clip[0], posted)  # frame 1 is the picture the chat showed
    # the frames move: different from frame 1, but the same scene (correlated, same grey)
    diffs = [np.abs(clip[k] - clip[0])[:512].mean() for k in range(1, 8)]
    assert min(diffs) > 2 and abs(clip[4][:512].mean() - clip[0][:512].mean()) < 5
    assert verify_file(out["variant-1.dcm"]).marked
    later = io.BytesIO()  # a later frame carries the mark too
    Image.fromarray(ds.pixel_array[5]).save(later, "PNG")
    assert verify_bytes(later.getvalue(), name="frame-6.png").marked
    need_program("dciodvfy", "dicom3tools")
    assert _dciodvfy_errors(out["variant-1.dcm"]) == []
    # the default is a still
    still = parse("RUQ ultrasound, gallstones")[0].model_copy(update={"width": 128, "height": 128})
    ds1 = pydicom.dcmread(
        D.write_dicom_case(render_case(still, seed=2), tmp_path / "s")["variant-1.dcm"]
    )
    assert ds1.SOPClassUID == "1.2.840.10008.5.1.4.1.1.6.1" and "NumberOfFrames" not in ds1


def test_hydronephrosis_grades_and_corticomedullary_differentiation(tmp_path):
    """Grades 1-3 dilate the collecting system more each step (largest inscribed diameter of
    the biggest `hydronephrosis` piece, the test's own measure); a normal kidney's cortex is
    brighter than its pyramids."""
    ap = []
    for sev in ("mild", "moderate", "severe"):
        doc = _case(f"renal ultrasound, {sev} hydronephrosis", tmp_path / sev, size=256)
        _, lab = _variant(tmp_path / sev, 1, size=256)
        px = doc["variants"][0]["pixel_spacing_mm"][0]
        pieces, n = ndimage.label(lab == L["hydronephrosis"])
        big = pieces == 1 + int(np.argmax(ndimage.sum(pieces > 0, pieces, range(1, n + 1))))
        ap.append(float(ndimage.distance_transform_edt(big).max()) * 2 * px)
    assert ap[0] < ap[1] < ap[2], ap
    _case("RUQ ultrasound", tmp_path / "normal", size=256)
    pix, lab = _variant(tmp_path / "normal", 1, size=256)
    assert _mean(pix, lab, "kidney_cortex") > 1.3 * _mean(pix, lab, "kidney_medulla")


@pytest.mark.parametrize(
    "prompt, name, size",
    [
        ("RUQ ultrasound, biliary sludge", "sludge", None),
        ("gallbladder ultrasound, 8 mm polyp", "gallbladder_polyp", 8),
        ("RUQ ultrasound, dilated common bile duct 12 mm", "cbd_dilatation", 12),
        ("liver ultrasound, 3 cm hepatic hemangioma", "haemangioma", 30),
        ("RUQ ultrasound, liver mets with bull's eye appearance", "metastases", None),
        ("renal ultrasound, 15 mm renal AML", "angiomyolipoma", 15),
    ],
)
def test_clinical_phrasing_is_understood(prompt, name, size):
    spec = parse(prompt)[0]
    assert spec.modality == "us" and [f.name for f in spec.findings] == [name]
    assert spec.findings[0].size_mm == size
