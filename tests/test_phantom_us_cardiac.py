"""Cardiac ultrasound (issue 16): the phased-array probe and the subcostal pericardial view of
a FAST scan, measured on the written files (PNG, label PNG, case.json)."""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest
from scipy import ndimage
from us_support import written_case, written_variant

from imagine_med.engine.base import RenderRequest
from imagine_med.engine.phantom.regions.heart_us.anatomy import LABELS as H
from imagine_med.engine.registry import get_renderer
from imagine_med.prompt import parse

HEART = ("myocardium", "right_ventricle", "left_ventricle", "right_atrium", "left_atrium")

SIZE = 384
MARKS = (60, 61)  # side marker, depth scale and focus marker: drawn outside the field


_case = partial(written_case, seed=5, size=SIZE)


_variant = partial(written_variant, size=SIZE)


def outside_field(v: dict, shape: tuple[int, int], margin_px: float = 1.0) -> np.ndarray:
    """Pixels more than `margin_px` outside the sector the tags describe: apex pixel, apex
    distance behind the face, sector angle, depth."""
    px = v["pixel_spacing_mm"][0]
    tags = v["tags"]
    col, row = (float(t) for t in tags["apex_px"].split(","))
    radius = float(tags["apex_behind_face_mm"])
    half = np.radians(float(tags["sector_deg"]) / 2)
    ii, jj = np.mgrid[: shape[0], : shape[1]].astype(float)
    dx, dy = (jj - col) * px, (ii - row) * px
    r = np.hypot(dx, dy)
    th = np.arctan2(dx, dy)
    m = margin_px * px
    depth = float(tags["depth_mm"])
    return (r < radius - m) | (r > radius + depth + m) | (np.abs(th) * r > half * r + m)


def across_beam(v: dict, lab: np.ndarray, cos_min: float = 0.87) -> np.ndarray:
    """Pixels where the heart's surface faces the beam: the outward normal (the gradient of
    the distance from the heart) within 30 degrees of the line from the sector's apex."""
    heart = np.isin(lab, [H[n] for n in (*HEART, "valve")])
    dist = ndimage.distance_transform_edt(~ndimage.binary_fill_holes(heart))
    gy, gx = np.gradient(ndimage.gaussian_filter(dist, 2.0))
    col, row = (float(t) for t in v["tags"]["apex_px"].split(","))
    ii, jj = np.mgrid[: lab.shape[0], : lab.shape[1]].astype(float)
    by, bx = ii - row, jj - col
    cos = (gx * bx + gy * by) / (np.hypot(gx, gy) * np.hypot(bx, by) + 1e-9)
    return np.abs(cos) > cos_min


@pytest.mark.parametrize(("words", "mm"), [("small", 6.0), ("moderate", 15.0), ("25 mm", 25.0)])
def test_pericardial_effusion_depth_and_anechoic(tmp_path, words, mm):
    doc = _case(f"subxiphoid ultrasound, {words} pericardial effusion", tmp_path, size=512)
    grade = "small" if mm < 10 else "moderate" if mm <= 20 else "large"
    for i, v in enumerate(doc["variants"], 1):
        pix, lab = _variant(tmp_path, i, size=512)
        px = v["pixel_spacing_mm"][0]
        fluid = lab == H["pericardial_effusion"]
        dist = ndimage.distance_transform_edt(fluid) * px
        assert abs(dist.max() * 2 - mm) <= 3.0, (words, dist.max() * 2)
        # anechoic where a FAST reader looks, between the liver and the right ventricle: the
        # rim's core (2 mm clear of the walls' echoes, whose pulse tails reach ~1.3 mm) where
        # the beam crosses it within 20 degrees of its normal (oblique to a beam ~3-5 mm wide,
        # a rim's walls smear along the beam)
        heart = np.isin(lab, [H[n] for n in HEART])
        anterior = np.arange(lab.shape[0])[:, None] < np.nonzero(heart)[0].mean()
        core = (dist >= 2.0) & across_beam(v, lab, 0.94) & anterior
        myo = ndimage.binary_erosion(lab == H["myocardium"], iterations=2)
        assert core.sum() > 100
        assert pix[core].mean() < 0.05 * pix[myo].mean(), (pix[core].mean(), pix[myo].mean())
        # the pericardium outside the fluid: a bright line, > 8 dB over the myocardium
        peri = lab == H["pericardium"]
        dr = float(v["tags"]["dynamic_range_db"])
        assert (pix[peri].mean() - pix[myo].mean()) * dr / 255 > 8.0
        assert f"A {grade} pericardial effusion" in v["answer_key"]
        assert v["tags"]["probe"] == "phased"


def test_normal_subcostal_view_has_four_chambers_and_no_effusion(tmp_path):
    doc = _case("echo, subcostal view", tmp_path, seed=11)
    for i, v in enumerate(doc["variants"], 1):
        _pix, lab = _variant(tmp_path, i)
        assert not (lab == H["pericardial_effusion"]).any()
        for name in ("right_ventricle", "left_ventricle", "right_atrium", "left_atrium"):
            assert (lab == H[name]).sum() > 50, name
        ys_rv = np.nonzero(lab == H["right_ventricle"])[0]
        ys_lv = np.nonzero(lab == H["left_ventricle"])[0]
        assert ys_rv.mean() < ys_lv.mean()  # the right heart nearest the probe
        ys_liver = np.nonzero(lab == H["liver"])[0]
        assert np.median(ys_liver) < ys_rv.mean()  # the liver is the near-field window
        assert "No pericardial effusion" in v["answer_key"]


def test_phased_sector_nothing_outside_and_apex_at_the_skin(tmp_path):
    prompt = "cardiac probe ultrasound, subcostal four chamber view"
    doc = _case(prompt, tmp_path, size=320)
    for i, v in enumerate(doc["variants"], 1):
        pix, lab = _variant(tmp_path, i, size=320)
        out = outside_field(v, pix.shape)
        marks = np.isin(lab, MARKS)
        # outside the sector the tags describe: no anatomy label, black up to the invisible
        # watermark (it adds its clipped positive half to black areas); the marks lie there
        assert (lab[out & ~marks] == 0).all()
        assert pix[out & ~marks].mean() <= 1.0 and np.percentile(pix[out & ~marks], 99) <= 8
        assert marks.any() and out[marks].mean() > 0.98
        # the apex: the field's top narrows to a point at the skin (no footprint arc)
        field = (lab > 0) & ~marks
        top = np.nonzero(field.any(axis=1))[0].min()
        px = v["pixel_spacing_mm"][0]
        assert np.ptp(np.nonzero(field[top + 2])[0]) * px < 6.0
        # 90 degrees: 8 cm from the apex, 40 degrees either side are still in the field
        _col, row = (float(t) for t in v["tags"]["apex_px"].split(","))
        r80 = round(row + 80.0 / px * np.cos(np.radians(40)))
        span = np.ptp(np.nonzero(field[r80])[0]) * px
        assert span > 2 * 80.0 * np.sin(np.radians(40)) - 4
    # before the watermark, exactly nothing outside the sector
    spec = parse(prompt)[0].model_copy(update={"width": 320, "height": 320})
    res = get_renderer("phantom", "us", spec.region).render(RenderRequest(spec, 5, 320, 320))
    v = {"pixel_spacing_mm": res.pixel_spacing_mm, "tags": res.tags}
    out = outside_field(v, res.pixels.shape) & ~np.isin(res.label_map, MARKS)
    assert res.pixels[out].max() == 0


def test_curvilinear_sector_nothing_outside(tmp_path):
    doc = _case("RUQ ultrasound, 12 mm gallstone", tmp_path, size=256)
    for i, v in enumerate(doc["variants"], 1):
        pix, lab = _variant(tmp_path, i, size=256)
        out = outside_field(v, pix.shape) & ~np.isin(lab, MARKS)
        assert (lab[out] == 0).all() and pix[out].mean() <= 1.0


def test_fast_scan_renders_its_four_views(tmp_path):
    doc = _case("FAST scan, 12 mm pericardial effusion", tmp_path, size=256)
    views = [v["tags"]["view"] for v in doc["variants"]]
    assert views == ["ruq", "luq", "sagittal", "pericardial"]
    assert [v["tags"]["probe"] for v in doc["variants"]] == ["curvilinear"] * 3 + ["phased"]
    ages = {v["tags"]["age"] for v in doc["variants"]}
    assert len(ages) == 1  # one patient
    for i, v in enumerate(doc["variants"], 1):
        _, lab = _variant(tmp_path, i, size=256)
        names = set(v["labels"].values())
        if i == 4:
            assert "pericardial_effusion" in names
            px = v["pixel_spacing_mm"][0]
            depth = ndimage.distance_transform_edt(lab == H["pericardial_effusion"]).max() * 2
            assert abs(depth * px - 12.0) <= 3.0
        else:
            assert "free_fluid" not in names and "pericardial_effusion" not in names
    doc = _case("FAST scan, free fluid", tmp_path / "fluid", size=256)
    has = ["free_fluid" in set(v["labels"].values()) for v in doc["variants"]]
    assert has == [True, True, True, False]
    assert "No pericardial effusion" in doc["variants"][3]["answer_key"]


def test_tamponade_rv_collapse_measured(tmp_path):
    doc = _case("echo, large pericardial effusion with tamponade", tmp_path)
    plain = _case("echo, large pericardial effusion", tmp_path / "plain")
    for i, (v, w) in enumerate(zip(doc["variants"], plain["variants"], strict=True), 1):
        _, lab = _variant(tmp_path, i)
        _, lab0 = _variant(tmp_path / "plain", i)

        def ratio(lb: np.ndarray) -> float:
            rv = ndimage.distance_transform_edt(lb == H["right_ventricle"]).max()
            lv = ndimage.distance_transform_edt(lb == H["left_ventricle"]).max()
            return float(rv / lv)

        assert ratio(lab) < 0.4 < 0.55 < ratio(lab0)
        assert "tamponade" in v["answer_key"] and "tamponade" not in w["answer_key"]
