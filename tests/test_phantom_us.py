"""Abdominal ultrasound (issue 16): the must-show properties, measured on the written files
(192-256 px), and on the beam-grid envelope through the renderer's `frame` hook."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from imagine_med.case import render_case, write_case
from imagine_med.engine.base import RenderRequest
from imagine_med.engine.phantom.physics.ultrasound import Probe
from imagine_med.engine.phantom.regions.abdomen_us.anatomy import LABELS
from imagine_med.engine.phantom.renderer_us import PhantomUltrasound
from imagine_med.engine.registry import Unavailable, check
from imagine_med.prompt import parse

L = LABELS


def _case(prompt: str, out: Path, size: int = 192, seed: int = 5):
    spec = parse(prompt)[0].model_copy(update={"width": size, "height": size})
    write_case(render_case(spec, seed=seed), out)
    return json.loads((out / "case.json").read_text())


def _variant(out: Path, size: int, i: int = 1) -> tuple[np.ndarray, np.ndarray]:
    pix = np.asarray(Image.open(out / f"variant-{i}.png").convert("L"))[:size].astype(float)
    lab = np.asarray(Image.open(out / f"variant-{i}.labels.png"))[:size]
    return pix, lab


def _mean(pix, lab, name, erode=2):
    m = ndimage.binary_erosion(lab == L[name], iterations=erode) if erode else lab == L[name]
    assert m.sum() > 10, name
    return float(pix[m].mean())


def test_homogeneous_liver_speckle_is_rayleigh():
    """A block of liver filling the whole beam grid (physics alone, the TGC matched to its
    attenuation): envelope mean/sd 1.91 (accept 1.75-2.05), log sd 5.57 dB (5.3-5.9)."""
    from imagine_med.engine.phantom.physics.ultrasound import bmode
    from imagine_med.engine.phantom.regions.base import Part, Sample
    from imagine_med.engine.phantom.tissues import TISSUES

    probe = Probe()
    grid = probe.beam_grid()
    sample = Sample([Part("liver", TISSUES["liver"], np.ones(grid.x.shape, np.float32))],
                    {"liver": 1})
    beam = bmode(sample, probe, np.random.default_rng(3))
    d = probe.depths()
    rows = (d > 20) & (d < 140)
    env, db = beam.envelope[rows, 8:-8], beam.db[rows, 8:-8]
    assert 1.75 <= env.mean() / env.std() <= 2.05, env.mean() / env.std()
    assert 5.3 <= db.std() <= 5.9, db.std()
    # flat with depth: the TGC undoes the liver's own attenuation (within 1.5 dB per 2 cm)
    prof = [20 * np.log10(np.sqrt((beam.envelope[(d > a) & (d < a + 20)] ** 2).mean()))
            for a in range(20, 140, 20)]
    assert np.ptp(prof) < 1.5, prof


def test_speckle_is_rayleigh_before_and_5_6_db_after_compression():
    """In the liver seen through nothing but the wall (no vessel, bile or stone above it),
    the detected envelope is Rayleigh: mean/sd 1.91 (accept 1.75-2.05), log sd 5.57 dB."""
    spec = parse("RUQ ultrasound")[0].model_copy(update={"width": 160, "height": 160})
    fr = PhantomUltrasound().frame(RenderRequest(spec, 11, 160, 160))
    lab = fr.beam_labels
    wall = np.isin(lab, [L["skin"], L["subcutaneous_fat"], L["abdominal_muscle"], L["liver"]])
    clean = np.logical_and.accumulate(wall, axis=0)
    depth = fr.probe.depths()[:, None]
    m = ndimage.binary_erosion((lab == L["liver"]) & clean, iterations=6)
    m &= (depth > 35) & (depth < 110)
    assert m.sum() > 2000
    env = fr.beam.envelope[m]
    ratio = env.mean() / env.std()
    assert 1.75 <= ratio <= 2.05, ratio
    sd_db = float(fr.beam.db[m].std())
    assert 5.0 <= sd_db <= 6.2, sd_db


def test_stone_shadows_and_gallbladder_enhances(tmp_path):
    size = 256
    doc = _case("RUQ ultrasound, 12 mm gallstone", tmp_path, size=size)
    pix, lab = _variant(tmp_path, size)
    px = doc["variants"][0]["pixel_spacing_mm"][0]
    dr = float(doc["variants"][0]["tags"]["dynamic_range_db"])
    # shadow: the 2 cm below the stone against liver in the same rows beside it
    stone = lab == L["stone"]
    ys, xs = np.nonzero(stone)
    rows = slice(ys.max() + 1, ys.max() + 1 + round(20 / px))
    cols = slice(int(np.percentile(xs, 30)), int(np.percentile(xs, 70)) + 1)
    below = pix[rows, cols][lab[rows, cols] != L["stone"]]
    beside = np.zeros_like(stone)
    beside[rows] = True
    beside &= lab == L["liver"]
    shadow_db = (pix[beside].mean() - below.mean()) * dr / 255
    assert shadow_db >= 15, shadow_db
    # enhancement: liver under the bile (columns clear of the stone's shadow) against liver in
    # the same rows with no gallbladder above it
    gb = np.isin(lab, [L["gallbladder"], L["gallbladder_wall"], L["stone"]])
    shadow_cols = np.isin(lab, [L["shadow"], L["stone"]]).any(axis=0)
    under = np.zeros_like(gb)
    seen_gb = np.logical_or.accumulate(gb, axis=0)
    thick = (lab == L["gallbladder"]).sum(axis=0) * px >= 12  # columns crossing >= 12 mm bile
    for c in np.nonzero(thick & ~shadow_cols)[0]:
        bottom = np.nonzero(gb[:, c])[0].max()
        under[bottom + int(3 / px): bottom + int(15 / px), c] = True
    under &= lab == L["liver"]
    assert under.sum() > 50
    rows_u = np.nonzero(under.any(axis=1))[0]
    ref = np.zeros_like(gb)
    ref[rows_u] = True
    ref &= (lab == L["liver"]) & ~seen_gb & ~np.logical_or.accumulate(
        np.isin(lab, [L["portal_vein"], L["hepatic_vein"], L["shadow"]]), axis=0)
    gain_db = (pix[under].mean() - pix[ref].mean()) * dr / 255
    assert gain_db > 3, gain_db
    # the key quotes what the image shows
    f = doc["findings"][0]
    assert f["name"] == "gallstones" and f["measurements"]["count"] == 1
    assert abs(f["measurements"]["largest_mm"] - 12) <= 2.5
    assert f["measurements"]["shadow_contrast_db"] >= 15
    assert "posterior acoustic shadow" in doc["answer_key"]
    names = set(doc["labels"].values())
    assert {"liver", "kidney_cortex", "gallbladder", "stone", "shadow"} <= names


def test_echogenicity_order_and_fluid_lumens(tmp_path):
    size = 192
    _case("RUQ ultrasound", tmp_path / "ruq", size)
    _case("FAST scan, free fluid in the splenorenal recess", tmp_path / "luq", size)
    means = {}
    for i in (1, 2):
        pix, lab = _variant(tmp_path / "ruq", size, i)
        m = {n: _mean(pix, lab, n) for n in ("renal_sinus", "liver", "kidney_cortex",
                                             "kidney_medulla", "gallbladder")}
        pix2, lab2 = _variant(tmp_path / "luq", size, i)
        m["spleen"] = _mean(pix2, lab2, "spleen")
        m["free_fluid"] = _mean(pix2, lab2, "free_fluid", erode=3)
        m["left_cortex"] = _mean(pix2, lab2, "kidney_cortex")
        m["left_medulla"] = _mean(pix2, lab2, "kidney_medulla")
        # each kidney against the organ above it in its own image; liver and spleen (both
        # in the near field) across the two views
        assert m["renal_sinus"] > m["liver"] > m["kidney_cortex"] > m["kidney_medulla"] \
            > m["gallbladder"], m
        assert m["liver"] >= m["spleen"] > m["left_cortex"] > m["left_medulla"], m
        assert m["gallbladder"] < 0.05 * m["liver"], m
        assert m["free_fluid"] < 0.05 * m["liver"], m
        means[i] = m
    # nothing outside the field: unlabelled pixels are black (up to the invisible watermark,
    # which adds its clipped positive half to black areas: PSNR 40 dB), marks sit outside
    pix, lab = _variant(tmp_path / "ruq", size)
    assert pix[lab == 0].mean() <= 1.0 and np.percentile(pix[lab == 0], 99) <= 8
    probe = Probe()
    doc = json.loads((tmp_path / "ruq" / "case.json").read_text())
    px = doc["variants"][0]["pixel_spacing_mm"][0]
    from imagine_med.engine.phantom.renderer_us import display_grid

    x, y, px2 = display_grid(probe, size, size)
    assert px2 == pytest.approx(px)
    inside = probe.to_beam(x, y)[2]
    assert not np.isin(lab[~inside], [v for k, v in L.items()
                                      if k not in ("side_marker", "annotation")]).any()
    outside = ~inside & ~np.isin(lab, [L["side_marker"], L["annotation"]])
    assert pix[outside].mean() <= 1.0
    # before stamping, exactly nothing
    fr = PhantomUltrasound().render(RenderRequest(parse("RUQ ultrasound")[0], 5, size, size))
    assert fr.pixels[~inside & ~np.isin(fr.label_map, [L["side_marker"], L["annotation"]])
                     ].max() == 0


def test_fatty_liver_grade_3_brighter_than_grade_0_against_the_kidney(tmp_path):
    size = 192
    rel = {}
    for grade in (0, 3):
        out = tmp_path / f"g{grade}"
        doc = _case(f"RUQ ultrasound, fatty liver grade {grade}", out, size)
        pix, lab = _variant(out, size)
        rel[grade] = _mean(pix, lab, "liver") - _mean(pix, lab, "kidney_cortex")
        f = doc["findings"][0]
        assert f["name"] == "steatosis" and f["measurements"]["grade"] == grade
    assert rel[3] > rel[0] + 20, rel  # grey levels: about 8 dB and more


def test_fast_fluid_depth_measured_and_refusals(tmp_path):
    doc = _case("FAST scan, 10 mm free fluid in Morison's pouch", tmp_path, 192)
    f = doc["findings"][0]
    assert f["name"] == "free_fluid" and f["location"] == "morison_pouch"
    assert abs(f["measurements"]["depth_mm"] - 10) <= 3
    assert "Morison's pouch" in doc["answer_key"]
    assert "free_fluid" in doc["labels"].values()
    assert check(parse("RUQ ultrasound, gallstones")[0]).target.endswith("us_renderer")
    with pytest.raises(Unavailable):
        check(parse("US knee")[0])


def _rgb(out: Path, size: int, i: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rgb = np.asarray(Image.open(out / f"variant-{i}.png").convert("RGB"))[:size].astype(int)
    lab = np.asarray(Image.open(out / f"variant-{i}.labels.png"))[:size]
    return rgb, lab


@pytest.mark.parametrize("scale", [30, 10])
def test_colour_doppler_inside_lumen_direction_and_aliasing(tmp_path, scale):
    from imagine_med.engine.phantom.regions.vessels_us.anatomy import LABELS as N

    size = 192
    doc = _case(f"carotid colour doppler, scale {scale} cm/s", tmp_path, size)
    assert doc["variants"][0]["tags"]["doppler_scale_cm_s"] == str(scale)
    for i in (1, 2):
        rgb, lab = _rgb(tmp_path, size, i)
        r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
        colour = (np.abs(r - g) > 30) | (np.abs(b - g) > 30)  # above the watermark's +-few
        colour &= lab != N["annotation"]
        lumen = np.isin(lab, [N["carotid_artery"], N["jugular_vein"]])
        assert colour.sum() > 100
        assert not (colour & ~lumen).any()
        # the carotid runs to the head (image left), the jugular to the heart (right); with
        # the box steered 20 degrees to the right the carotid comes toward the probe (red)
        art = colour & (lab == N["carotid_artery"])
        vein = colour & (lab == N["jugular_vein"])
        dist = ndimage.distance_transform_edt(lab == N["carotid_artery"])
        core = art & (dist >= 0.5 * dist.max())
        rim = art & (dist <= 0.25 * dist.max())  # slow flow next to the wall never aliases
        assert (r[rim] > b[rim]).mean() > 0.9
        assert (b[vein] > r[vein]).mean() > 0.9
        wrapped = (b[core] > r[core]).mean()
        if scale == 30:  # peak beam component ~ 0.34 x 40-60 cm/s = 14-20 cm/s < 30
            assert (r[art] > b[art]).mean() > 0.95 and wrapped < 0.05
        else:  # above the 10 cm/s scale the centre of the stream wraps to blue
            assert wrapped > 0.2
    m = next(f for f in doc["findings"] if f["name"] == "carotid_artery")["measurements"]
    assert (m["aliased_core_percent"] > 20) == (scale == 10)
    assert ("aliasing" in doc["answer_key"]) == (scale == 10)


@pytest.mark.parametrize("prompt, photometric, part", [
    ("RUQ ultrasound, gallstones", "MONOCHROME2", "ABDOMEN"),
    ("carotid colour doppler", "RGB", "NECK"),
])
def test_us_dicom_says_synthetic_and_conforms(tmp_path, prompt, photometric, part):
    import subprocess

    import pydicom
    from tooling import need_program

    from imagine_med.provenance import dicom as D

    spec = parse(prompt)[0].model_copy(update={"width": 128, "height": 128})
    result = render_case(spec, seed=2)
    out = D.write_dicom_case(result, tmp_path / "dcm")
    ds = pydicom.dcmread(out["variant-1.dcm"])
    assert ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.6.1" and ds.Modality == "US"
    assert ds.SyntheticData == "YES" and ds.PhotometricInterpretation == photometric
    assert ds.BodyPartExamined == part and "Laterality" not in ds
    region = ds.SequenceOfUltrasoundRegions[0]
    px = result.variants[0].pixel_spacing_mm[0]
    assert region.PhysicalUnitsXDirection == 3 and abs(region.PhysicalDeltaX - px / 10) < 1e-6
    need_program("dciodvfy", "dicom3tools")
    for name in ("variant-1.dcm", "variant-1.seg.dcm"):
        run = subprocess.run(["dciodvfy", str(out[name])], capture_output=True, text=True,
                             timeout=60)
        errors = [ln for ln in (run.stdout + run.stderr).splitlines()
                  if ln.startswith("Error") and "(0x0008,0x001c)" not in ln]
        assert errors == [], (name, errors)


def test_cholecystitis_hydronephrosis_and_cyst_are_measured(tmp_path):
    size = 192
    doc = _case("RUQ ultrasound, acute cholecystitis", tmp_path / "c", size)
    f = doc["findings"][0]
    assert f["name"] == "cholecystitis" and f["measurements"]["wall_mm"] >= 4
    assert f["measurements"]["pericholecystic_fluid"] == 1.0
    assert {"stone", "pericholecystic_fluid"} <= set(doc["labels"].values())
    grades = {}
    for sev in ("mild", "severe"):
        doc = _case(f"renal ultrasound, {sev} hydronephrosis", tmp_path / sev, size)
        f = doc["findings"][0]
        grades[sev] = f["measurements"]["pelvis_ap_mm"]
        if sev == "severe":  # a 7 mm slit at 0.9 mm/px is mostly edge: test the big one
            pix, lab = _variant(tmp_path / sev, size)
            assert _mean(pix, lab, "hydronephrosis") < 0.1 * _mean(pix, lab, "liver")
    assert grades["severe"] > grades["mild"] + 8, grades
    doc = _case("liver ultrasound, 30 mm cyst", tmp_path / "cyst", size)
    f = doc["findings"][0]
    assert abs(f["measurements"]["diameter_mm"] - 30) <= 3
    assert f["measurements"]["contrast_db"] < -15
    assert "posterior acoustic enhancement" in doc["answer_key"]


def test_jugular_thrombosis_has_echoes_and_no_flow(tmp_path):
    from imagine_med.engine.phantom.regions.vessels_us.anatomy import LABELS as N

    size = 192
    doc = _case("carotid colour doppler, jugular vein thrombosis", tmp_path, size)
    rgb, lab = _rgb(tmp_path, size)
    clot = lab == N["thrombus"]
    assert clot.sum() > 200 and not (lab == N["jugular_vein"]).any()
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    colour = (np.abs(r - g) > 30) | (np.abs(b - g) > 30)
    assert not (colour & clot).any()
    assert (colour & (lab == N["carotid_artery"])).sum() > 100  # the artery still flows
    inner = ndimage.binary_erosion(clot, iterations=2)
    art = ndimage.binary_erosion(lab == N["carotid_artery"], iterations=2) & ~colour
    assert g[inner].mean() > 4 * max(1.0, g[art].mean())  # echoes, unlike flowing blood
    f = next(f for f in doc["findings"] if f["name"] == "venous_thrombosis")
    assert f["measurements"]["coloured_percent"] == 0 and f["measurements"]["diameter_mm"] > 6
    assert "thrombosis" in doc["answer_key"]
