"""Fetal biometry (issue 16): the head, abdominal and femur planes measured on the written label
maps against Hadlock's regressions (written here: Radiology 1984;152:497), for several ages."""

from __future__ import annotations

import math
from functools import partial

import numpy as np
import pytest
from scipy import ndimage
from us_support import written_case, written_variant

from imagine_med.engine.phantom.regions.pelvis_us.fetal import LABELS as L
from imagine_med.prompt import parse

SIZE = 384
# Hadlock 1984: GA weeks = c0 + c1 x + c2 x^2 + c3 x^3, x in cm
HADLOCK = {
    "bpd": (9.54, 1.482, 0.1676, 0.0),
    "hc": (8.96, 0.540, 0.0, 0.0003),
    "ac": (8.14, 0.753, 0.0036, 0.0),
    "fl": (10.35, 2.460, 0.170, 0.0),
}


def _ga(p: str, mm: float) -> float:
    c0, c1, c2, c3 = HADLOCK[p]
    x = mm / 10
    return c0 + c1 * x + c2 * x * x + c3 * x**3


def _expected(p: str, weeks: float) -> float:
    """The size (mm) Hadlock's regression gives at `weeks`, by a fine search."""
    mm = np.linspace(1, 450, 90000)
    return float(mm[np.argmin(np.abs(_ga(p, mm) - weeks))])


_case = partial(written_case, seed=3, size=SIZE)


_variant = partial(written_variant, size=SIZE)


def _ellipse(mask: np.ndarray) -> tuple[float, float, np.ndarray, np.ndarray]:
    """Semi-axes (px), centre and minor axis of a filled region from its second moments."""
    ys, xs = np.nonzero(mask)
    pts = np.stack([xs, ys], 1).astype(float)
    c = pts.mean(0)
    w, v = np.linalg.eigh(np.cov((pts - c).T, bias=True))
    return 2 * math.sqrt(w[1]), 2 * math.sqrt(w[0]), c, v[:, 0]


def _perimeter(a: float, b: float) -> float:
    return math.pi * (3 * (a + b) - math.sqrt((3 * a + b) * (a + 3 * b)))


def _first(mask: np.ndarray, c: np.ndarray, d: np.ndarray) -> float:
    """Distance (px) from c along d to the first pixel where `mask` holds."""
    for s in np.arange(0, max(mask.shape), 0.25):
        x, y = round(c[0] + s * d[0]), round(c[1] + s * d[1])
        if not (0 <= x < mask.shape[1] and 0 <= y < mask.shape[0]) or mask[y, x]:
            return s
    return float("nan")


@pytest.mark.parametrize("weeks", [16, 22, 28, 36])
def test_head_plane_bpd_and_hc_date_the_pregnancy(tmp_path, weeks):
    doc = _case(f"obstetric ultrasound, {weeks} weeks, BPD and head circumference", tmp_path)
    for i, v in enumerate(doc["variants"], 1):
        pix, lab = _variant(tmp_path, i)
        px = v["pixel_spacing_mm"][0]
        head = ndimage.binary_fill_holes(
            np.isin(
                lab,
                [
                    L["fetal_skull"],
                    L["fetal_brain"],
                    L["falx"],
                    L["thalamus"],
                    L["cavum_septi_pellucidi"],
                ],
            )
        )
        a, b, c, minor = _ellipse(head)
        up = minor if minor[1] < 0 else -minor
        bpd = (_first(~head, c, up) + _first(lab == L["fetal_skull"], c, -up)) * px
        hc = _perimeter(a, b) * px
        assert abs(bpd / _expected("bpd", weeks) - 1) < 0.05, (bpd, _expected("bpd", weeks))
        assert abs(hc / _expected("hc", weeks) - 1) < 0.05, (hc, _expected("hc", weeks))
        assert abs(_ga("bpd", bpd) - weeks) <= 1.0 and abs(_ga("hc", hc) - weeks) <= 1.0
        m = v["findings"][0]["measurements"]
        assert abs(m["bpd_mm"] - bpd) < 1.0 and abs(m["hc_mm"] - hc) < 3.0
        assert abs(m["ga_hc_weeks"] - weeks) <= 1.0 and "Hadlock" in v["answer_key"]
        # the skull is bright, the brain darker, the thalami darker still; the falx in the
        # midline and the cavum septi pellucidi on it, in the front half
        skull = pix[lab == L["fetal_skull"]].mean()
        brain = pix[ndimage.binary_erosion(lab == L["fetal_brain"], iterations=2)].mean()
        assert skull > 1.5 * brain and pix[lab == L["thalamus"]].mean() < brain
        for part in ("falx", "thalamus", "cavum_septi_pellucidi"):
            assert (lab == L[part]).any(), part


@pytest.mark.parametrize("weeks", [18, 26, 34, 39])
def test_abdominal_circumference_dates_the_pregnancy(tmp_path, weeks):
    doc = _case(f"obstetric ultrasound, {weeks} weeks, abdominal circumference", tmp_path)
    for i, v in enumerate(doc["variants"], 1):
        pix, lab = _variant(tmp_path, i)
        px = v["pixel_spacing_mm"][0]
        body = ndimage.binary_fill_holes(
            np.isin(lab, [L["fetal_abdomen"], L["stomach"], L["umbilical_vein"], L["fetal_spine"]])
        )
        a, b, *_ = _ellipse(body)
        ac = _perimeter(a, b) * px
        assert abs(ac / _expected("ac", weeks) - 1) < 0.05 and abs(_ga("ac", ac) - weeks) <= 1
        assert abs(v["findings"][0]["measurements"]["ac_mm"] - ac) < 3.0
        # the stomach bubble anechoic against the liver, the spine bright
        liver = pix[ndimage.binary_erosion(lab == L["fetal_abdomen"], iterations=2)].mean()
        stomach = ndimage.binary_erosion(lab == L["stomach"], iterations=2)
        assert pix[stomach].mean() < 0.3 * liver
        # (its near surface, the brightest pixel down each column: bone shadows its far half)
        spine = np.where(lab == L["fetal_spine"], pix, -1).max(axis=0)
        assert spine[spine >= 0].mean() > 1.5 * liver


@pytest.mark.parametrize("weeks", [15, 21, 30, 38])
def test_femur_length_dates_the_pregnancy_and_the_bone_shadows(tmp_path, weeks):
    doc = _case(f"obstetric ultrasound, {weeks} weeks, femur length", tmp_path)
    for i, v in enumerate(doc["variants"], 1):
        pix, lab = _variant(tmp_path, i)
        px = v["pixel_spacing_mm"][0]
        bone = lab == L["femur"]
        ys, xs = np.nonzero(bone)
        pts = np.stack([xs, ys], 1).astype(float)
        pts -= pts.mean(0)
        axis = np.linalg.eigh(pts.T @ pts)[1][:, -1]
        fl = (float(np.ptp(pts @ axis)) + 1.0) * px
        assert abs(fl / _expected("fl", weeks) - 1) < 0.05 and abs(_ga("fl", fl) - weeks) <= 1
        assert abs(v["findings"][0]["measurements"]["fl_mm"] - fl) < 1.0
        # bright bone, and a shadow under its middle: the 5 mm below it darker than the thigh
        # beside the bone at the same depth
        thigh = pix[ndimage.binary_erosion(lab == L["fetal_thigh"], iterations=2)].mean()
        edge = np.where(bone, pix, -1).max(axis=0)  # its near surface down each column
        assert edge[edge >= 0].mean() > 1.8 * thigh
        mid = (xs > np.percentile(xs, 35)) & (xs < np.percentile(xs, 65))
        below = np.zeros_like(bone)
        for x, y in zip(xs[mid], ys[mid], strict=True):
            below[y + 3 : y + 3 + int(5 / px), x] = True
        below &= lab != L["femur"]
        assert pix[below].mean() < 0.5 * thigh


def test_anatomy_scan_words_give_a_second_trimester_plane(tmp_path):
    doc = _case("20 week anatomy scan", tmp_path, seed=11)
    views = {v["tags"]["view"] for v in doc["variants"]}
    assert views <= {"fetal_head", "fetal_abdomen", "fetal_femur"} and views
    assert all("20w" in v["answer_key"] for v in doc["variants"])


def test_weeks_of_pregnancy_are_not_the_patients_age():
    assert parse("20 week anatomy scan")[0].age is None
    assert parse("obstetric ultrasound, 8 week intrauterine pregnancy")[0].age is None
    infant = parse("6 week old infant chest x-ray")[0]
    assert infant.age is not None and infant.age < 1
