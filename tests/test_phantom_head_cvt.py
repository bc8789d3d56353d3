"""Cerebral venous sinus thrombosis (issue 14): the superior sagittal sinus's clot against
the same patient's flowing sinus blood, measured on the written raw values."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from imagine_med.case import render_case, write_case
from imagine_med.engine.phantom.regions.head.anatomy import LABELS as L
from imagine_med.prompt import parse
from imagine_med.provenance.dicom import RAW_MR_NAME, RAW_NAME, RAW_OFFSET, write_raw_hu

SIZE = 256


def _case(prompt: str, out: Path) -> dict:
    spec = parse(prompt)[0].model_copy(update={"width": SIZE, "height": SIZE})
    result = render_case(spec, seed=4, seeds=[4, 5])
    write_case(result, out)
    write_raw_hu(result, out)
    return json.loads((out / "case.json").read_text())


def _raw(out: Path, i: int) -> np.ndarray:
    mr = out / RAW_MR_NAME.format(index=i)
    if mr.exists():
        return np.asarray(Image.open(mr)).astype(float)[:SIZE]
    return np.asarray(Image.open(out / RAW_NAME.format(index=i))).astype(float)[:SIZE] \
        - RAW_OFFSET


def _labels(out: Path, i: int) -> np.ndarray:
    return np.asarray(Image.open(out / f"variant-{i}.labels.png"))[:SIZE]


@pytest.mark.parametrize("study,sign", [("CT head", 1), ("axial T2 brain MRI", -1),
                                        ("axial T1c brain MRI", -1)])
def test_clot_against_flowing_blood(tmp_path, study, sign):
    sick = _case(f"{study}, superior sagittal sinus thrombosis, centrum semiovale", tmp_path / "s")
    _case(f"{study}, centrum semiovale", tmp_path / "n")
    for i in (1, 2):
        clot = _labels(tmp_path / "s", i) == L["venous_thrombosis"]
        flow = _labels(tmp_path / "n", i) == L["venous_sinus"]
        assert clot.sum() > 5 and flow.sum() > 5
        a, b = _raw(tmp_path / "s", i)[clot].mean(), _raw(tmp_path / "n", i)[flow].mean()
        if study == "CT head":  # acute blood 50-90 HU (physics.md) against ~40 flowing
            assert 50 <= a <= 90 and a - b > 15
        else:  # T2: acute clot dark; T1c: no enhancement in it (empty delta)
            assert sign * (a - b) > 0.2 * b
        key = sick["variants"][i - 1]["answer_key"]
        assert "sagittal sinus thrombosis" in key
