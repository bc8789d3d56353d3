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


# ---- issue 14, second part: the remaining findings, measured on the written files ----------
def _mask(lab: np.ndarray, *names: str) -> np.ndarray:
    return np.isin(lab, [LABELS[n] for n in names])


def _vs_mirror(pix: np.ndarray, lab: np.ndarray, mask: np.ndarray) -> tuple[float, float]:
    other = mask[:, ::-1] & ~mask & np.isin(lab, (GREY, WHITE, *range(10, 16)))
    return float(pix[mask].mean()), float(pix[other].mean())


def test_extradural_lentiform_dense_with_fracture(tmp_path):
    _, doc = _case("axial CT head, acute left extradural haematoma, brain window", tmp_path,
                   level="basal_ganglia", width=192, height=192)
    pix = np.asarray(Image.open(tmp_path / "variant-1.png").convert("L"))[:192].astype(float)
    lab = np.asarray(Image.open(tmp_path / "variant-1.labels.png"))[:192]
    edh = lab == LABELS["extradural_haematoma"]
    assert edh.sum() > 30 and np.nonzero(edh)[1].min() > 96  # patient's left: image right
    hu = _hu(pix, 40, 80)
    assert hu[edh].mean() > np.median(hu[np.isin(lab, (GREY, WHITE))]) + 20
    m = doc["findings"][0]["measurements"]
    # lentiform: thick for its length (a subdural crescent is long and thin)
    assert m["max_thickness_mm"] >= 8 and m["max_diameter_mm"] / m["max_thickness_mm"] < 6
    assert m["fracture_px"] > 0 and m["volume_ml"] > 5 and "midline_shift_mm" in m
    assert "lentiform" in doc["findings"][0]["description"]


def test_subarachnoid_blood_dense_on_ct_bright_on_flair(tmp_path):
    out = {}
    for what in ("CT head", "FLAIR brain MRI"):
        d = tmp_path / what.split()[0]
        _case(f"axial {what}, subarachnoid haemorrhage", d, level="third_ventricle",
              width=192, height=192)
        pix = np.asarray(Image.open(d / "variant-1.png").convert("L"))[:192].astype(float)
        lab = np.asarray(Image.open(d / "variant-1.labels.png"))[:192]
        sah = lab == LABELS["subarachnoid_haemorrhage"]
        assert sah.sum() > 20
        out[what] = (pix[sah].mean(), pix[np.isin(lab, (GREY, WHITE))].mean(),
                     pix[np.isin(lab, (*VENTRICLES, LABELS["third_ventricle"]))].mean())
    sah, brain, vent = out["CT head"]
    assert sah > brain + 20 and sah > vent + 40  # hyperdense, unlike the clear CSF
    sah, brain, vent = out["FLAIR brain MRI"]
    assert sah > 1.3 * brain and sah > 3 * vent  # not nulled like CSF


def test_meningioma_extra_axial_enhancing_with_dural_tail(tmp_path):
    means = {}
    for seq in ("t1", "t1c"):
        _, doc = _case(f"axial {seq} brain MRI, left meningioma", tmp_path / seq,
                       width=192, height=192)
        pix = np.asarray(Image.open(tmp_path / seq / "variant-1.png").convert("L"))[:192]
        lab = np.asarray(Image.open(tmp_path / seq / "variant-1.labels.png"))[:192]
        men = lab == LABELS["meningioma"]
        assert men.sum() > 30 and np.nonzero(men)[1].min() > 96
        means[seq] = _vs_mirror(pix.astype(float), lab, men)
        # extra-axial: it touches the skull's inner table (a dilation reaches bone)
        from scipy.ndimage import binary_dilation
        assert (binary_dilation(men, iterations=3) & (lab == LABELS["skull"])).any()
        if seq == "t1c":
            assert (lab == LABELS["dural_tail"]).sum() > 0
            assert "dural tail" in doc["findings"][0]["description"]
    assert means["t1c"][0] > 1.4 * means["t1c"][1]  # enhances against the mirror
    assert means["t1c"][0] > 1.3 * means["t1"][0]


def test_metastases_multiple_with_oedema(tmp_path):
    _, doc = _case("axial t1c brain MRI, multiple brain metastases", tmp_path, width=192,
                   height=192)
    lab = np.asarray(Image.open(tmp_path / "variant-1.labels.png"))[:192]
    m = doc["findings"][0]["measurements"]
    assert m["count_in_slice"] >= 2 and (lab == LABELS["oedema"]).sum() > (
        lab == LABELS["metastases"]).sum()
    pix = np.asarray(Image.open(tmp_path / "variant-1.png").convert("L"))[:192].astype(float)
    a, b = _vs_mirror(pix, lab, lab == LABELS["metastases"])
    assert a > 1.2 * b


def test_ms_plaques_periventricular_ovoid_and_active_enhance(tmp_path):
    from scipy.ndimage import label as cc

    ratios = {}
    for seq in ("flair", "t1", "t1c"):
        _, doc = _case(f"axial {seq} brain MRI, multiple sclerosis, active plaques",
                       tmp_path / seq, width=256, height=256)
        pix = np.asarray(Image.open(tmp_path / seq / "variant-1.png").convert("L"))[:256]
        lab = np.asarray(Image.open(tmp_path / seq / "variant-1.labels.png"))[:256]
        plaque = _mask(lab, "ms_plaques", "active_plaque")
        assert doc["findings"][0]["measurements"]["count_in_slice"] >= 3
        ratios[seq] = pix[lab == LABELS["active_plaque"]].mean() / pix[lab == WHITE].mean()
        if seq == "flair":
            assert pix[plaque].mean() > 1.4 * pix[lab == WHITE].mean()
            # periventricular and ovoid, long axis across (perpendicular to) the ventricle
            lv = _mask(lab, "lateral_ventricle_left", "lateral_ventricle_right")
            from scipy.ndimage import binary_dilation
            near = binary_dilation(lv, iterations=int(4 / 0.9))
            comp, n = cc(plaque)
            peri = [i for i in range(1, n + 1) if ((comp == i) & near).any()]
            assert len(peri) >= 2
            wide = [np.ptp(np.nonzero(comp == i)[1]) >= np.ptp(np.nonzero(comp == i)[0])
                    for i in peri]
            assert sum(wide) >= len(wide) / 2  # axial: across the AP-running ventricles
    assert ratios["t1c"] > 1.25 * ratios["t1"]


def test_hydrocephalus_evans_index_and_atrophy_widens_sulci(tmp_path):
    _, hydro = _case("axial t2 brain MRI, hydrocephalus", tmp_path / "h", width=192,
                     height=192)
    _case("axial t2 brain MRI", tmp_path / "n", width=192, height=192,
                      level="lateral_ventricles")
    _, atro = _case("axial t2 brain MRI, cerebral atrophy", tmp_path / "a", width=192,
                    height=192, level="lateral_ventricles")
    hm = hydro["findings"][0]["measurements"]
    assert hm["evans_index"] > 0.3
    lab = np.asarray(Image.open(tmp_path / "h" / "variant-1.labels.png"))[:192]
    assert (lab == LABELS["hydrocephalus"]).any()
    am = atro["findings"][0]["measurements"]
    lab_n = np.asarray(Image.open(tmp_path / "n" / "variant-1.labels.png"))[:192]
    lab_a = np.asarray(Image.open(tmp_path / "a" / "variant-1.labels.png"))[:192]
    assert (lab_a == LABELS["atrophy"]).sum() > 100
    inside_n = np.isin(lab_n, range(3, 30)) | (lab_n >= 100)
    csf_n = (lab_n == LABELS["csf"]).sum() / inside_n.sum()
    assert am["sulcal_csf_fraction"] > 1.5 * csf_n
    assert "Evans index" in hydro["findings"][0]["description"]


def test_abscess_restricts_diffusion_centrally_rim_enhances(tmp_path):
    got = {}
    for seq in ("dwi", "adc", "t1c", "t2"):
        _, doc = _case(f"axial {seq} brain MRI, right frontal brain abscess", tmp_path / seq,
                       width=192, height=192)
        pix = np.asarray(Image.open(tmp_path / seq / "variant-1.png").convert("L"))[:192]
        lab = np.asarray(Image.open(tmp_path / seq / "variant-1.labels.png"))[:192]
        core = lab == LABELS["brain_abscess"]
        assert core.sum() > 20 and np.nonzero(core)[1].max() < 96  # right: image left
        a, b = _vs_mirror(pix.astype(float), lab, core)
        wall = float(pix[lab == LABELS["abscess_wall"]].mean())
        got[seq] = (a, b, wall)
        if seq == "dwi":
            assert "restricts diffusion" in doc["answer_key"]
            assert doc["findings"][0]["measurements"]["volume_ml"] > 3
    assert got["dwi"][0] > 1.5 * got["dwi"][1]
    assert got["adc"][0] < 0.75 * got["adc"][1]
    assert got["t1c"][2] > 1.3 * got["t1c"][0]  # the rim enhances, the pus does not
    assert got["t2"][2] < got["t2"][0]  # T2-dark capsule round bright pus


@pytest.mark.parametrize("stage,t1,t2", [
    ("hyperacute", "iso", "bright"), ("acute", "iso", "dark"), ("early subacute", "bright", "dark"),
    ("late subacute", "bright", "bright"), ("chronic", "dark", "bright")])
def test_haemorrhage_five_stages(tmp_path, stage, t1, t2):
    got = {}
    for seq in ("t1", "t2"):
        _case(f"axial {seq} brain MRI, {stage} left haemorrhage", tmp_path / seq,
              level="basal_ganglia")
        pix, lab = _variant(tmp_path / seq)
        got[seq] = _mirror_ratio(pix, lab, LABELS["haemorrhage"])
    word = {"t1": t1, "t2": t2}
    for seq, r in got.items():
        if word[seq] == "bright":
            assert r > 1.15, (seq, r)
        elif word[seq] == "dark":
            assert r < 0.87, (seq, r)
        else:
            assert 0.8 < r < 1.2, (seq, r)


@pytest.mark.parametrize("plane", ["coronal", "sagittal"])
def test_coronal_and_sagittal_planes(tmp_path, plane):
    _, doc = _case(f"{plane} t2 brain MRI, acute left MCA infarct", tmp_path)
    pix, lab = _variant(tmp_path)
    assert doc["variants"][0]["tags"]["plane"] == plane
    assert (lab == WHITE).any() and (lab == GREY).any()
    marker = np.nonzero(lab == LABELS["side_marker"])
    assert len(marker[1]) and marker[1].max() < SIZE / 2  # the marker sits top left
    inf = lab == LABELS["infarct"]
    if plane == "coronal":
        assert inf.any() and np.nonzero(inf)[1].min() > SIZE / 2  # left on image right
        assert _mirror_ratio(pix, lab, LABELS["infarct"]) > 1.2
    else:
        # sagittal through the infarct's centre; superior is up: the vertex row is above
        # the brainstem's rows
        rows_gm = np.nonzero(lab == GREY)[0]
        rows_bs = np.nonzero(lab == LABELS["brainstem"])[0]
        assert inf.any() and (not len(rows_bs) or rows_gm.min() < rows_bs.min())


def test_age_changes_infant_unmyelinated_elderly_wmh(tmp_path):
    def means(seq: str, age: int) -> tuple[float, float, np.ndarray, np.ndarray]:
        d = tmp_path / f"{seq}{age}"
        _case(f"axial {seq} brain MRI", d, age=age, level="lateral_ventricles")
        pix, lab = _variant(d)
        return pix[lab == WHITE].mean(), pix[lab == GREY].mean(), pix, lab

    w, g, _, _ = means("t1", 0)
    assert w < g  # unmyelinated: the adult T1 order (white > grey) inverted
    w, g, _, _ = means("t2", 0)
    assert w > g
    from scipy.ndimage import binary_dilation

    peri = {}
    for age in (30, 85):
        _, _, pix, lab = means("flair", age)
        near = binary_dilation(np.isin(lab, VENTRICLES), iterations=3) & (lab == WHITE)
        peri[age] = pix[near].mean() / pix[lab == WHITE].mean()
    assert peri[85] > peri[30] * 1.1  # periventricular white-matter hyperintensities
