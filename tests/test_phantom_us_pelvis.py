"""Pelvic ultrasound (issue 16): early pregnancy dated by the crown-rump length measured on
the written label map (Robinson's formula, written here), and the pelvic FAST view."""

from __future__ import annotations

import math
from functools import partial

import numpy as np
import pytest
from scipy import ndimage
from us_support import written_case, written_variant

from imagine_med.case import render_case
from imagine_med.engine.base import EngineError
from imagine_med.engine.phantom.regions.pelvis_us.anatomy import LABELS as L
from imagine_med.prompt import parse

SIZE = 256


_case = partial(written_case, seed=5, size=SIZE)


_variant = partial(written_variant, size=SIZE)


def _length(mask: np.ndarray, px: float) -> float:
    ys, xs = np.nonzero(mask)
    pts = np.stack([xs, ys], 1).astype(float)
    pts -= pts.mean(0)
    axis = np.linalg.eigh(pts.T @ pts)[1][:, -1]
    return (float(np.ptp(pts @ axis)) + 1.0) * px


@pytest.mark.parametrize("weeks", [7, 8, 10])
def test_crl_dates_the_pregnancy_it_was_asked_for(tmp_path, weeks):
    doc = _case(f"obstetric ultrasound, {weeks} week intrauterine pregnancy", tmp_path)
    for i, v in enumerate(doc["variants"], 1):
        _, lab = _variant(tmp_path, i)
        px = v["pixel_spacing_mm"][0]
        crl = _length(lab == L["embryo"], px)
        days = 8.052 * math.sqrt(crl) + 23.73  # Robinson and Fleming 1975
        assert abs(days - 7 * weeks) <= 4.0, (crl, days)
        m = v["findings"][0]["measurements"]
        assert abs(m["crl_mm"] - crl) < 0.6 and f"{weeks} weeks" in v["answer_key"]
        # the sac lies in the uterus: round it only decidua, the embryo and the yolk sac
        sac = ndimage.binary_fill_holes(np.isin(lab, [L["gestational_sac"], L["embryo"],
                                                      L["yolk_sac"]]))
        rim = ndimage.binary_dilation(sac, iterations=2) & ~sac
        assert np.isin(lab[rim], [L["decidua"]]).mean() > 0.9
        for part in ("embryo", "yolk_sac"):
            assert (lab == L[part]).any() and sac[lab == L[part]].all()


def test_pelvic_fast_view_shows_anechoic_fluid_behind_the_uterus(tmp_path):
    doc = _case("FAST scan, free fluid in the pouch of Douglas, female", tmp_path)
    for i, v in enumerate(doc["variants"], 1):
        pix, lab = _variant(tmp_path, i)
        assert v["tags"]["region"] == "pelvis"
        fluid = lab == L["free_fluid"]
        uterus = ndimage.binary_erosion(lab == L["uterus"], iterations=2)
        assert fluid.sum() > 30 and uterus.any()
        assert np.nonzero(fluid)[0].mean() > np.nonzero(lab == L["bladder"])[0].max() - 5
        inner = ndimage.binary_erosion(fluid, iterations=2)  # off the bright edges
        assert inner.sum() > 5 and pix[inner].mean() < 0.1 * pix[uterus].mean()  # anechoic
        assert "positive pelvic FAST view" in v["answer_key"]


def test_male_pelvis_has_a_prostate_and_no_pregnancy(tmp_path):
    doc = _case("pelvic ultrasound, normal, male", tmp_path)
    _, lab = _variant(tmp_path, 1)
    assert (lab == L["prostate"]).any() and not (lab == L["uterus"]).any()
    assert "rectovesical" in doc["answer_key"]
    spec = parse("pelvic ultrasound, early pregnancy, male")[0].model_copy(
        update={"width": 64, "height": 64})
    with pytest.raises(EngineError, match="female"):
        render_case(spec, seed=1)
