"""Carpal and elbow dislocations (issue 19): which bone left the radius' axis on a lateral
wrist (perilunate: the capitate; lunate dislocation: the lunate), and the radiocapitellar
line at the elbow, measured with this file's own code on the written label maps."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from imagine_med.case import render_case, write_case
from imagine_med.prompt import parse


def _case(prompt: str, out: Path, size: int = 320) -> tuple[dict, dict[str, int]]:
    spec = parse(prompt)[0].model_copy(update={"width": size, "height": size, "seed": 3})
    write_case(render_case(spec), out)
    doc = json.loads((out / "case.json").read_text())
    return doc, {name: int(k) for k, name in doc["labels"].items()}


def _labels(out: Path, doc: dict, i: int) -> np.ndarray:
    h = doc["variants"][i - 1]["height"]
    return np.asarray(Image.open(out / f"variant-{i}.labels.png"))[:h]


def _off_line_mm(lab: np.ndarray, px: float, line_of: int, point_of: int) -> float:
    """Distance of one label's centroid from another's long axis (its principal component)."""
    ys, xs = np.nonzero(lab == line_of)
    pts = np.stack([xs, ys], axis=1).astype(float)
    c = pts.mean(axis=0)
    d = np.linalg.eigh(np.cov((pts - c).T))[1][:, -1]
    py, px_ = np.nonzero(lab == point_of)
    v = np.array([px_.mean(), py.mean()]) - c
    return float(abs(v[0] * d[1] - v[1] * d[0]) * px)


def _wrist_offsets(prompt: str, out: Path) -> list[tuple[float, float, str]]:
    doc, ids = _case(prompt, out)
    found = []
    for i, v in enumerate(doc["variants"], 1):
        lab = _labels(out, doc, i)
        px = v["pixel_spacing_mm"][0]
        found.append((_off_line_mm(lab, px, ids["radius"], ids["lunate"]),
                      _off_line_mm(lab, px, ids["radius"], ids["capitate"]), v["answer_key"]))
    return found


def test_a_normal_lateral_wrist_has_lunate_and_capitate_on_the_radius_axis(tmp_path: Path):
    # (the lunate's visible label is partly hidden by the capitate's on a normal lateral, so
    # its centroid sits 4-7.5 mm off the axis over seeds 3, 8, 21; the capitate's 0.4-4.3)
    for lunate, capitate, _ in _wrist_offsets("lateral wrist x-ray, normal", tmp_path):
        assert lunate < 8 and capitate < 5, (lunate, capitate)


@pytest.mark.parametrize("prompt, moved, stays, words", [
    ("lateral wrist x-ray, perilunate dislocation", 1, 0, "Perilunate dislocation"),
    ("lateral wrist x-ray, lunate dislocation", 0, 1, "Lunate dislocation"),
])
def test_the_bone_that_left_the_radius_axis_names_the_pattern(tmp_path: Path, prompt: str,
                                                              moved: int, stays: int,
                                                              words: str):
    for offsets in _wrist_offsets(prompt, tmp_path):
        assert offsets[moved] > 8.5, offsets  # beyond a normal wrist's scatter (< 7.5)
        assert offsets[stays] < 8, offsets  # the other one in line
        assert words in offsets[2]


def test_elbow_dislocation_breaks_the_radiocapitellar_line(tmp_path: Path):
    for prompt, lo, hi in (("lateral elbow x-ray, normal, 35 year old", 0, 4),
                           ("lateral elbow x-ray, elbow dislocation, 35 year old", 8, 40)):
        doc, ids = _case(prompt, tmp_path / prompt[-20:].replace(" ", "_"))
        for i, v in enumerate(doc["variants"], 1):
            lab = _labels(tmp_path / prompt[-20:].replace(" ", "_"), doc, i)
            d = _off_line_mm(lab, v["pixel_spacing_mm"][0], ids["radius"], ids["capitellum"])
            assert lo <= d <= hi, (prompt, d)
            if lo:
                assert "radiocapitellar line misses the capitellum" in v["answer_key"]
