"""Compression ultrasound of the leg veins (issue 16), measured on the written split screens:
a patent vein collapses under the probe (< 10% of its lumen left), a thrombosed one does not
(> 70%) and holds echoes; the artery stays round; the artery lateral to the common femoral
vein with the patient's right on the image left."""

from __future__ import annotations

import math
from functools import partial
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage
from us_support import written_case

from imagine_med.engine.phantom.regions.vessels_us.leg import LABELS as L

SIZE = 384


_case = partial(written_case, seed=6, size=SIZE)


def _halves(out: Path, i: int, split: int):
    pix = np.asarray(Image.open(out / f"variant-{i}.png").convert("L"))[:SIZE].astype(float)
    lab = np.asarray(Image.open(out / f"variant-{i}.labels.png"))[:SIZE]
    return (pix[:, :split], lab[:, :split]), (pix[:, split + 1 :], lab[:, split + 1 :])


def _roundness(mask: np.ndarray) -> float:
    ys, xs = np.nonzero(mask)
    w = np.linalg.eigvalsh(np.cov(np.stack([xs, ys]).astype(float), bias=True))
    return math.sqrt(w[0] / w[1])


def _lumen(lab: np.ndarray) -> np.ndarray:
    return np.isin(lab, [L["vein"], L["thrombus"]])


@pytest.mark.parametrize("side", ["right", "left"])
def test_normal_common_femoral_vein_collapses_and_the_artery_stays_round(tmp_path, side):
    doc = _case(f"compression ultrasound of the {side} common femoral vein, normal", tmp_path)
    for i, v in enumerate(doc["variants"], 1):
        (p0, l0), (_p1, l1) = _halves(tmp_path, i, int(v["tags"]["split_column"]))
        a0, a1 = _lumen(l0).sum(), _lumen(l1).sum()
        assert a0 > 100 and a1 < 0.10 * a0
        assert not (l0 == L["thrombus"]).any()
        art0, art1 = l0 == L["artery"], l1 == L["artery"]
        assert _roundness(art1) > 0.85 and 0.8 < art1.sum() / art0.sum() < 1.2
        # the artery lateral: on the image left of the vein in the right leg, right in the left
        ax, vx = np.nonzero(art0)[1].mean(), np.nonzero(_lumen(l0))[1].mean()
        assert (ax < vx) == (side == "right")
        # both lumens anechoic against the muscle
        muscle = p0[ndimage.binary_erosion(l0 == L["muscle"], iterations=3)].mean()
        assert p0[ndimage.binary_erosion(_lumen(l0), iterations=3)].mean() < 0.25 * muscle
        m = v["findings"][0]["measurements"]
        assert abs(m["residual_lumen_percent"] - 100 * a1 / a0) < 2.0
        assert "fully compressible" in v["answer_key"]


@pytest.mark.parametrize("site", ["common femoral", "popliteal"])
def test_thrombosed_vein_does_not_compress_and_holds_echoes(tmp_path, site):
    doc = _case(f"{site} vein compression ultrasound, DVT", tmp_path)
    for i, v in enumerate(doc["variants"], 1):
        (p0, l0), (_p1, l1) = _halves(tmp_path, i, int(v["tags"]["split_column"]))
        a0, a1 = _lumen(l0).sum(), _lumen(l1).sum()
        assert a0 > 50 and a1 > 0.70 * a0
        px = v["pixel_spacing_mm"][0]
        clot = ndimage.binary_erosion(l0 == L["thrombus"], iterations=int(1 / px))
        blood = ndimage.binary_erosion(l0 == L["artery"], iterations=int(1 / px))
        assert clot.sum() > 10 and p0[clot].mean() > 1.5 * p0[blood].mean() + 5
        assert _roundness(l1 == L["artery"]) > 0.85
        if site == "popliteal":  # scanned from behind: the vein superficial to the artery
            assert np.nonzero(_lumen(l0))[0].mean() < np.nonzero(l0 == L["artery"])[0].mean()
        m = v["findings"][0]["measurements"]
        assert abs(m["residual_lumen_percent"] - 100 * a1 / a0) < 2.0
        assert "non-compressible" in v["answer_key"] and "thrombosis" in v["answer_key"]
