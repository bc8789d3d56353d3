"""Breast immunohistochemistry on the written files: HER2 rings by score, nuclear percents
(256 px at 20x: 128 um fields)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from imagine_med.case import render_case, write_case
from imagine_med.engine.phantom.physics import microscopy
from imagine_med.engine.phantom.regions.breast_tissue.model import LABELS
from imagine_med.prompt import parse

SIZE = 256


def _written(prompt: str, out: Path, seed: int = 3):
    spec = parse(prompt)[0].model_copy(update={"width": SIZE, "height": SIZE})
    write_case(render_case(spec, seed=seed), out)
    doc = json.loads((out / "case.json").read_text())
    for i, v in enumerate(doc["variants"], 1):
        rgb = np.asarray(Image.open(out / f"variant-{i}.png").convert("RGB"))[:SIZE]
        lab = np.asarray(Image.open(out / f"variant-{i}.labels.png"))[:SIZE]
        i0 = tuple(float(x) for x in v["tags"]["i0"].split(","))
        dab = microscopy.deconvolve(rgb, "ihc", i0)[..., 1]
        yield v, lab, dab


def _cells(lab: np.ndarray) -> tuple[np.ndarray, list[int]]:
    comp, n = ndimage.label(np.isin(lab, [LABELS["tumour_cytoplasm"], LABELS["tumour_nucleus"]]))
    edge = set(np.unique(np.concatenate([comp[0], comp[-1], comp[:, 0], comp[:, -1]])))
    return comp, [k for k in range(1, n + 1) if k not in edge]


def _complete_ring_fraction(lab: np.ndarray, dab: np.ndarray) -> float:
    """Tumour cells whose whole membrane (the ring round the cell in the label map) is
    brown (deconvolved DAB >= 0.3 on 90% of it)."""
    comp, ids = _cells(lab)
    membrane = lab == LABELS["tumour_membrane"]
    complete = 0
    for sl, k in zip(ndimage.find_objects(comp), range(1, comp.max() + 1), strict=True):
        if k not in ids:
            continue
        grow = tuple(slice(max(0, s.start - 3), s.stop + 3) for s in sl)
        cell = comp[grow] == k
        ring = ndimage.binary_dilation(cell, iterations=2) & ~cell & membrane[grow]
        if ring.sum() >= 8 and (dab[grow][ring] >= 0.3).mean() >= 0.9:
            complete += 1
    return complete / max(len(ids), 1)


@pytest.mark.parametrize(("prompt", "score"), [
    ("breast carcinoma, IHC HER2 3+", 3), ("breast carcinoma, IHC HER2 score 0", 0)])
def test_her2_rings(tmp_path, prompt, score):
    for v, lab, dab in _written(prompt, tmp_path):
        frac = _complete_ring_fraction(lab, dab)
        if score == 3:
            assert frac > 0.10, frac
        else:
            assert frac == 0.0, frac
        assert v["findings"][0]["measurements"]["her2_score"] == score
        assert f"score {score}" in v["answer_key"]


@pytest.mark.parametrize(("prompt", "pct"), [
    ("breast carcinoma, IHC ER 80%", 80), ("breast carcinoma, IHC Ki-67 30%", 30)])
def test_nuclear_percent(tmp_path, prompt, pct):
    for v, lab, dab in _written(prompt, tmp_path):
        comp, n = ndimage.label(lab == LABELS["tumour_nucleus"])
        edge = set(np.unique(np.concatenate([comp[0], comp[-1], comp[:, 0], comp[:, -1]])))
        ids = [k for k in range(1, n + 1) if k not in edge]
        mean = ndimage.mean(dab, comp, ids)
        measured = 100 * np.mean(np.asarray(mean) >= 0.15)
        assert abs(measured - pct) <= 7, measured
        m = v["findings"][0]["measurements"]  # exact up to rounding to whole nuclei
        assert abs(m["positive_percent"] - pct) <= 50 / m["tumour_cells_counted"] + 0.1, m
