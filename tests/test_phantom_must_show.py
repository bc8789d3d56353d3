"""The phantom chest engine's must-show properties, checked on the written output files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from imagine_med.case import render_case, write_case
from imagine_med.engine.phantom.labels import ANATOMY, FINDINGS, LUNG_LABELS
from imagine_med.prompt import parse

RUL_PROMPT = "PA chest x-ray, right upper lobe consolidation, adult male --seed 7"
LUNG_IDS = [ANATOMY[n] for n in LUNG_LABELS]
HEART = ANATOMY["heart"]


def _case(prompt: str, out: Path, **overrides):
    spec = parse(prompt)[0]
    if overrides:
        spec = spec.model_copy(update=overrides)
    result = render_case(spec)
    write_case(result, out)
    doc = json.loads((out / "case.json").read_text())
    return result, doc


def _variant(out: Path, i: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """(pixels, labels) of variant i without the label band below the image."""
    pix = np.asarray(Image.open(out / f"variant-{i}.png").convert("L"))[:height]
    lab = np.asarray(Image.open(out / f"variant-{i}.labels.png"))[:height]
    return pix.astype(float), lab


def _dome_row(lab: np.ndarray, image_left: bool) -> float:
    """Height of a hemidiaphragm as the row where the lung ends, measured lateral to the
    heart (60-80% of the way from the midline to the lung's outer edge)."""
    lung = np.isin(lab, LUNG_IDS)
    cols = np.flatnonzero(lung.any(axis=0))
    mid = lab.shape[1] / 2
    edge = cols.min() if image_left else cols.max()
    band = [round(mid + f * (edge - mid)) for f in np.linspace(0.6, 0.8, 9)]
    return float(np.median([np.flatnonzero(lung[:, c]).max() for c in band]))


def ctr(lab: np.ndarray, heart_ids=(HEART,)) -> float:
    heart = np.isin(lab, heart_ids)
    lung = np.isin(lab, LUNG_IDS)
    hx = np.flatnonzero(heart.any(axis=0))
    widths = [np.ptp(np.flatnonzero(row)) for row in lung if row.sum() > 2]
    return float((hx.max() - hx.min() + 1) / (max(widths) + 1))


@pytest.fixture(scope="module")
def rul_case(tmp_path_factory):
    out = tmp_path_factory.mktemp("rul")
    result, doc = _case(RUL_PROMPT, out)
    return out, result, doc


def test_rul_consolidation_geometry(rul_case):
    out, _result, doc = rul_case
    h = doc["size"]["height"]
    w = doc["size"]["width"]
    assert doc["spec"]["findings"][0]["location"] == "rul"
    cons = FINDINGS["consolidation"]
    for i in range(1, 5):
        pix, lab = _variant(out, i, h)
        mask = lab == cons
        assert mask.sum() > 500, f"variant {i}: consolidation label too small"
        ys, xs = np.nonzero(mask)
        lung_rows = np.flatnonzero(np.isin(lab, LUNG_IDS).any(axis=1))
        top, bottom = lung_rows.min(), lung_rows.max()
        # image-left (patient's right) upper zone
        assert xs.mean() < w / 2
        assert (xs < w / 2).mean() > 0.9
        assert ys.mean() < top + 0.5 * (bottom - top)
        # heart mostly right of the image midline
        hx = np.nonzero(lab == HEART)[1]
        assert (hx > w / 2).mean() > 0.55
        # the right hemidiaphragm (image left) is higher: a smaller row number
        assert _dome_row(lab, image_left=True) < _dome_row(lab, image_left=False)
        # the consolidated zone is brighter than the mirror zone of the other lung
        lateral = mask & (np.arange(w)[None, :] < w * 0.42)
        mirror = lateral[:, ::-1]
        assert pix[lateral].mean() > pix[mirror].mean() + 12


def test_answer_key_and_findings_in_case_json(rul_case):
    _out, _result, doc = rul_case
    key = doc["answer_key"].lower()
    assert "right upper lobe" in key and "horizontal fissure" in key and "air bronchogram" in key
    f = doc["findings"][0]
    assert f["name"] == "consolidation" and f["laterality"] == "right"
    x0, y0, x1, y1 = f["bbox"]
    assert x1 <= doc["size"]["width"] / 2 + 2 and x0 < x1 and y0 < y1
    assert doc["labels"][str(FINDINGS["consolidation"])] == "consolidation"


def test_same_prompt_same_bytes_and_seeds_differ(rul_case, tmp_path):
    out, _result, _doc = rul_case
    again = tmp_path / "again"
    _case(RUL_PROMPT, again)
    for name in ("variant-1.png", "variant-3.labels.png", "variant-2.masks.npz", "grid.png"):
        assert (out / name).read_bytes() == (again / name).read_bytes(), name
    labs = [np.asarray(Image.open(out / f"variant-{i}.labels.png")) for i in range(1, 5)]
    for i in range(4):
        for j in range(i + 1, 4):
            differ = (labs[i] != labs[j]).mean()
            assert differ > 0.01, f"variants {i + 1} and {j + 1} share their anatomy"


@pytest.fixture(scope="module")
def normal_pa(tmp_path_factory):
    out = tmp_path_factory.mktemp("normal")
    _case("PA chest x-ray, normal, adult female --seed 21", out)
    return out


def test_ctr_normal(normal_pa):
    doc = json.loads((normal_pa / "case.json").read_text())
    for i in range(1, 5):
        _pix, lab = _variant(normal_pa, i, doc["size"]["height"])
        assert 0.42 <= ctr(lab) <= 0.50, f"variant {i}: CTR {ctr(lab):.3f}"


def test_ctr_cardiomegaly(tmp_path):
    out = tmp_path / "cm"
    _case("PA chest x-ray, cardiomegaly --seed 5", out)
    doc = json.loads((out / "case.json").read_text())
    for i in range(1, 5):
        _pix, lab = _variant(out, i, doc["size"]["height"])
        value = ctr(lab, heart_ids=(HEART, FINDINGS["cardiomegaly"]))
        assert value > 0.55, f"variant {i}: CTR {value:.3f}"


def test_ct_hounsfield_units(tmp_path):
    out = tmp_path / "ct"
    result, _doc = _case("CT chest axial at the lung bases --seed 4", out)
    names = {v: k for k, v in ANATOMY.items()}
    for i, v in enumerate(result.variants, start=1):
        assert v.raw is not None and v.raw_unit == "HU"
        lab = np.asarray(Image.open(out / f"variant-{i}.labels.png"))[: v.raw.shape[0]]
        hu = v.raw.astype(float)
        assert np.array_equal(lab, v.label_map)

        def med(ids, hu=hu, lab=lab):
            return float(np.median(hu[np.isin(lab, ids)]))

        assert abs(med(LUNG_IDS) - (-850)) <= 30
        assert abs(med([ANATOMY["subcutaneous_fat"]]) - (-100)) <= 30
        assert abs(med([ANATOMY["muscle"]]) - 45) <= 30
        assert abs(med([ANATOMY["liver"]]) - 55) <= 30
        assert abs(med([0]) - (-1000)) <= 30
        assert med([ANATOMY[n] for n in ("spine", "ribs", "sternum", "scapula")]) > 300
        assert set(np.unique(lab)) - {0} <= set(names) | set(FINDINGS.values())
    # the heart sits higher than the lung bases: check it on a slice through the heart
    out2 = tmp_path / "ct2"
    result2, _ = _case("CT chest axial heart level --seed 4", out2, level="heart")
    for v in result2.variants:
        heart = v.label_map == HEART
        assert heart.sum() > 500
        assert abs(float(np.median(v.raw[heart])) - 40) <= 30
        # radiological orientation: patient's left on the viewer's right, anterior at the top
        hy, hx = np.nonzero(heart)
        sy, _sx = np.nonzero(v.label_map == ANATOMY["spine"])
        assert hx.mean() > v.label_map.shape[1] / 2
        assert sy.mean() > hy.mean()
