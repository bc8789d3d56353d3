"""Fundus findings that cover an area (issue 17): artery occlusion, detachment, optic
atrophy, laser scars, vitreous haemorrhage, geographic atrophy and wet AMD.

Each property is measured here on the written files (variant PNG, label PNG, case.json),
against the same seed's normal eye where a change is the point, with the test's own code.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from imagine_med.case import render_case, write_case
from imagine_med.engine.phantom.regions.retina.labels import LABELS as L
from imagine_med.prompt import parse

SIZE = 256
SEEDS = [61, 62]


def _case(prompt: str, out: Path, seeds=SEEDS) -> tuple[dict, list[np.ndarray], list[np.ndarray]]:
    spec = parse(prompt)[0].model_copy(update={"width": SIZE, "height": SIZE})
    write_case(render_case(spec, seeds=seeds, seed=seeds[0]), out)
    doc = json.loads((out / "case.json").read_text())
    rgb = [np.asarray(Image.open(out / f"variant-{i}.png").convert("RGB"))[:SIZE, :SIZE]
           .astype(float) for i in range(1, len(seeds) + 1)]
    lab = [np.asarray(Image.open(out / f"variant-{i}.labels.png"))[:SIZE, :SIZE]
           for i in range(1, len(seeds) + 1)]
    return doc, rgb, lab


def _fovea(lab: np.ndarray) -> tuple[float, float]:
    ys, xs = np.nonzero(lab == L["fovea"])
    return xs.mean(), ys.mean()


def _ring(lab: np.ndarray, px: float, r0: float, r1: float) -> np.ndarray:
    fx, fy = _fovea(lab)
    yy, xx = np.mgrid[0:lab.shape[0], 0:lab.shape[1]]
    r = np.hypot(xx - fx, yy - fy) * px
    return (r >= r0) & (r < r1)


def _px(doc: dict) -> float:
    return doc["variants"][0]["pixel_spacing_mm"][0]


@pytest.fixture(scope="module")
def normal(tmp_path_factory):
    return _case("fundus photo, normal", tmp_path_factory.mktemp("normal"))


def test_central_artery_occlusion_whitens_and_leaves_a_cherry_red_spot(tmp_path, normal):
    doc, rgb, lab = _case("fundus photo, CRAO with a cherry red spot", tmp_path)
    _, nrgb, nlab = normal
    px = _px(doc)
    for i in range(len(SEEDS)):
        assert (lab[i] == L["retinal_whitening"]).sum() * px * px > 15  # mm2 of posterior pole

        def spot(img, la):  # fovea's green over the macular ring's (vessels left out)
            ring = _ring(la, px, 0.6, 1.2) & ~np.isin(la, (L["artery"], L["vein"]))
            return img[la == L["fovea"], 1].mean() / img[ring, 1].mean()
        assert spot(rgb[i], lab[i]) < 0.75 * spot(nrgb[i], nlab[i])
        # the occluded arteries' columns are thinner: fewer artery pixels than the same eye
        assert (lab[i] == L["artery"]).sum() < 0.8 * (nlab[i] == L["artery"]).sum()
        assert "cherry-red spot" in doc["variants"][i]["answer_key"]


def test_branch_artery_occlusion_respects_the_horizontal_raphe(tmp_path):
    doc, _, lab = _case("fundus photo OD, BRAO superotemporal", tmp_path)
    for i in range(len(SEEDS)):
        ys, xs = np.nonzero(lab[i] == L["retinal_whitening"])
        fx, fy = _fovea(lab[i])
        assert len(ys) > 100 and (ys < fy + 1).all()  # superior only: the raphe is its edge
        disc_x = np.nonzero(lab[i] == L["optic_disc"])[1].mean()
        # OD: the disc on the image right; the temporal arcade runs from it to the left
        assert disc_x > fx and (xs < disc_x).mean() > 0.95
        key = doc["variants"][i]["answer_key"]
        share = 100 * (ys <= fy).mean()
        assert "(branch)" in key and f"superior hemiretina: {share:.0f}%" in key


@pytest.mark.parametrize("status", ["off", "on"])
def test_detachment_macula_on_or_off_from_the_label_map(tmp_path, status, normal):
    doc, rgb, lab = _case(f"fundus photo, retinal detachment, macula {status}", tmp_path)
    px = _px(doc)
    for i in range(len(SEEDS)):
        det = lab[i] == L["detached_retina"]
        cover = det[_ring(lab[i], px, 0.25, 0.6)].mean()
        assert (cover > 0.5) if status == "off" else (cover == 0)
        assert f"macula {status}" in doc["variants"][i]["answer_key"]
        # grey: the detached retina's colour is less saturated than the attached retina's
        att = lab[i] == L["retina"]
        sat = (rgb[i].max(axis=2) - rgb[i].min(axis=2)) / (rgb[i].max(axis=2) + 1)
        assert sat[det].mean() < 0.75 * sat[att].mean()


def test_optic_atrophy_pales_the_rim(tmp_path, normal):
    doc, rgb, lab = _case("fundus photo, optic atrophy", tmp_path)
    _, nrgb, nlab = normal
    for i in range(len(SEEDS)):
        def gr(img, la):
            rim = la == L["optic_disc"]
            return img[rim, 1].mean() / img[rim, 0].mean()
        assert gr(rgb[i], lab[i]) > gr(nrgb[i], nlab[i]) + 0.15
        key = doc["variants"][i]["answer_key"]
        assert "pale (optic atrophy)" in key


def test_laser_scars_counted_and_sparing_the_macula(tmp_path):
    doc, rgb, lab = _case("fundus photo OD, PDR with PRP laser scars", tmp_path)
    px = _px(doc)
    for i in range(len(SEEDS)):
        scars = lab[i] == L["laser_scar"]
        _, n = ndimage.label(scars, np.ones((3, 3), bool))
        assert n >= 50
        assert not (scars & _ring(lab[i], px, 0, 3.0)).any()
        meas = {f["name"]: f["measurements"] for f in doc["variants"][i]["findings"]}
        assert meas["laser_scars"]["laser_scar_count"] == n
        # a healed burn is a pale centre in a pigmented ring: darker edge than centre
        core = ndimage.binary_erosion(scars, iterations=1)
        edge = scars & ~core
        assert rgb[i][core].mean() > rgb[i][edge].mean()


def test_vitreous_haemorrhage_settles_below_and_hides_the_vessels(tmp_path, normal):
    _, rgb, lab = _case("fundus photo, dense vitreous haemorrhage", tmp_path)
    _, nrgb, nlab = normal
    for i in range(len(SEEDS)):
        vh = lab[i] == L["vitreous_haemorrhage"]
        ys, _ = np.nonzero(vh)
        _, fy = _fovea(nlab[i])
        assert (ys > fy).mean() > 0.7
        # the same eye (the vitreous blood changes nothing behind it): vessel contrast
        # (green of the retina beside the vessels minus the vessels') behind the veil is
        # much lower than without it
        vessel = np.isin(nlab[i], (L["artery"], L["vein"])) & vh
        beside = ndimage.binary_dilation(vessel, iterations=3) & ~vessel & vh \
            & np.isin(nlab[i], (L["retina"], L["macula"]))

        def contrast(img, beside=beside, vessel=vessel):
            return img[beside, 1].mean() - img[vessel, 1].mean()
        assert vessel.sum() > 50 and contrast(rgb[i]) < 0.5 * contrast(nrgb[i])


def test_wet_and_dry_amd(tmp_path):
    doc, rgb, lab = _case("fundus photo OS, wet AMD", tmp_path / "wet")
    for i in range(len(SEEDS)):
        blood = lab[i] == L["subretinal_haemorrhage"]
        cnv = lab[i] == L["cnv_membrane"]
        assert blood.any() and cnv.any()
        assert rgb[i][blood, 1].mean() < rgb[i][lab[i] == L["retina"], 1].mean()
        assert "Neovascular (wet) AMD" in doc["variants"][i]["answer_key"]
    doc, rgb, lab = _case("fundus photo OD, geographic atrophy", tmp_path / "dry")
    px = _px(doc)
    for i in range(len(SEEDS)):
        ga = lab[i] == L["geographic_atrophy"]
        area = ga.sum() * px * px
        assert rgb[i][ga].mean() > rgb[i][lab[i] == L["macula"]].mean()
        key = doc["variants"][i]["answer_key"]
        assert f"{area:.1f} mm2" in key  # the key's area is the label's


@pytest.mark.parametrize("text,name,mods", [
    ("fundus photo, wet AMD", "macular_degeneration", {"neovascular"}),
    ("fundus photo OD, geographic atrophy", "macular_degeneration", {"geographic_atrophy"}),
    ("fundus photo, retinal detachment macula off", "retinal_detachment", {"macula_off"}),
    ("fundus photo, CRAO", "retinal_artery_occlusion", set()),
    ("fundus photo, pale optic disc", "optic_atrophy", set()),
    ("fundus photo, panretinal photocoagulation", "laser_scars", set()),
    ("fundus photo, vitreous hemorrhage", "vitreous_haemorrhage", set()),
])
def test_clinical_phrasing_is_understood(text, name, mods):
    f = parse(text)[0].findings
    assert f and f[0].name == name and mods <= set(f[0].modifiers)
