"""The phantom head's must-show properties, measured on the written files (128 px)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from imagine_med.case import render_case, write_case
from imagine_med.engine.phantom.regions.head.anatomy import LABELS
from imagine_med.prompt import parse

SEED_PROMPT = ("Create a T2-weighted axial brain MRI slice at the level of the basal ganglia "
               "demonstrating an acute left MCA territory infarct.")
SIZE = 128
GREY, WHITE = LABELS["grey_matter"], LABELS["white_matter"]
VENTRICLES = (LABELS["lateral_ventricle_left"], LABELS["lateral_ventricle_right"])


def _case(prompt: str, out: Path, seed: int = 5, **extra):
    spec = parse(prompt)[0].model_copy(update={"width": SIZE, "height": SIZE, **extra})
    result = render_case(spec, seed=seed)
    write_case(result, out)
    return result, json.loads((out / "case.json").read_text())


def _variant(out: Path, i: int = 1) -> tuple[np.ndarray, np.ndarray]:
    pix = np.asarray(Image.open(out / f"variant-{i}.png").convert("L"))[:SIZE].astype(float)
    lab = np.asarray(Image.open(out / f"variant-{i}.labels.png"))[:SIZE]
    return pix, lab


def _mirror_ratio(pix: np.ndarray, lab: np.ndarray, label: int) -> float:
    mask = lab == label
    other = mask[:, ::-1] & ~mask & np.isin(lab, (GREY, WHITE, *range(10, 16)))
    return float(pix[mask].mean() / pix[other].mean())


def test_seed_prompt_infarct_left_mca_on_image_right_and_t2_bright(tmp_path):
    _, doc = _case(SEED_PROMPT, tmp_path)
    assert doc["spec"]["sequence"] == "t2" and doc["spec"]["level"] == "basal_ganglia"
    f = doc["findings"][0]
    assert (f["name"], f["laterality"], f["location"]) == ("infarct", "left", "mca")
    for i in range(1, 5):
        v = doc["variants"][i - 1]
        assert v["tags"]["plane"] == "axial" and v["tags"]["level"] == "basal_ganglia"
        pix, lab = _variant(tmp_path, i)
        infarct = lab == LABELS["infarct"]
        assert infarct.sum() > 50
        assert np.nonzero(infarct)[1].min() > SIZE / 2  # patient's left: image right
        assert (lab == LABELS["lentiform"]).any() and (lab == LABELS["thalamus"]).any()
        assert _mirror_ratio(pix, lab, LABELS["infarct"]) > 1.2
        assert (lab[:, : SIZE // 2] == LABELS["side_marker"]).any()  # R marker, image left
        assert "left MCA territory" in v["answer_key"]


@pytest.mark.parametrize("seq", ["t1", "t2", "flair"])
def test_contrast_order_on_label_means(tmp_path, seq):
    _case(f"axial {seq} brain MRI at the level of the lateral ventricles", tmp_path)
    pix, lab = _variant(tmp_path)
    white, grey = pix[lab == WHITE].mean(), pix[lab == GREY].mean()
    csf = pix[np.isin(lab, VENTRICLES)].mean()
    if seq == "t1":
        assert white > grey > csf
    elif seq == "t2":
        assert csf > grey > white
    else:
        assert csf < white


def test_hyperacute_infarct_dwi_bright_adc_dark_flair_normal(tmp_path):
    prompt = "axial {} brain MRI at the level of the basal ganglia, hyperacute left MCA infarct"
    ratios = {}
    for seq in ("dwi", "adc", "flair"):
        _case(prompt.format(seq), tmp_path / seq)
        pix, lab = _variant(tmp_path / seq)
        ratios[seq] = _mirror_ratio(pix, lab, LABELS["infarct"])
    assert ratios["dwi"] > 1.2
    assert ratios["adc"] < 0.8
    assert 0.88 < ratios["flair"] < 1.12


def test_t1c_glioblastoma_rim_enhances(tmp_path):
    prompt = "axial {} brain MRI, left frontal glioblastoma"
    rim_to_wm = {}
    for seq in ("t1", "t1c"):
        _, doc = _case(prompt.format(seq), tmp_path / seq)
        pix, lab = _variant(tmp_path / seq)
        rim, core = pix[lab == LABELS["glioma"]].mean(), pix[lab == LABELS["necrosis"]].mean()
        rim_to_wm[seq] = rim / pix[lab == WHITE].mean()
        if seq == "t1c":
            assert rim > 1.3 * core
            assert "enhancing rim" in doc["answer_key"]
    assert rim_to_wm["t1c"] > 1.3 * rim_to_wm["t1"]


def _hu(pix: np.ndarray, centre: float, width: float) -> np.ndarray:
    return centre - width / 2 + pix / 255.0 * width


def test_head_ct_medians_and_subdural(tmp_path):
    result, doc = _case("axial CT head, acute right subdural haematoma, brain window",
                        tmp_path, level="lateral_ventricles")
    pix, lab = _variant(tmp_path)
    hu = _hu(pix, 40, 80)
    assert 33 <= np.median(hu[lab == GREY]) <= 42
    assert 23 <= np.median(hu[lab == WHITE]) <= 31
    assert 0 <= np.median(hu[np.isin(lab, VENTRICLES)]) <= 15
    raw = result.variants[0].raw  # the HU written to DICOM
    assert np.median(raw[lab == LABELS["skull"]]) > 700
    sdh = lab == LABELS["subdural_haematoma"]
    assert sdh.any() and np.nonzero(sdh)[1].max() < SIZE / 2  # patient's right: image left
    assert pix[sdh].mean() > pix[np.isin(lab, (GREY, WHITE))].mean() + 20
    f = doc["findings"][0]
    assert f["measurements"]["midline_shift_mm"] >= 2
    assert "midline shift" in f["description"]
    assert 3 <= f["measurements"]["max_thickness_mm"] <= 20  # built 10 mm at its thickest


def test_normal_study_says_normal(tmp_path):
    _, doc = _case("axial T2 brain MRI", tmp_path)
    assert doc["findings"] == [] and doc["answer_key"].startswith("Normal")
