"""Spectral Doppler on the linear vessel views (issue 16), read from the written trace: the
peak systolic velocity from the pixels' envelope against the flow model's, flow toward the
probe above the baseline and away below it, the femoral trace's reversal, and aliasing when
the scale is below the peak."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy.ndimage import binary_dilation, median_filter
from us_support import written_case

SIZE = 384
GATE_ID, ARTERY_ID, VEIN_ID = 62, 20, 21  # the carotid and femoral views share 20 and 21


_case = partial(written_case, seed=8, size=SIZE)


def _gate_on(out: Path, i: int, lumen_id: int) -> float:
    """Share of the gate's drawn pixels (sample volume bars, angle cursor; the beam line runs
    through tissue) beside the given lumen label."""
    lab = np.asarray(Image.open(out / f"variant-{i}.labels.png"))[:SIZE]
    gate = lab == GATE_ID
    return float((gate & binary_dilation(lab == lumen_id)).sum() / max(1, gate.sum()))


def _panel(out: Path, i: int, tags: dict) -> tuple[np.ndarray, int, float, float]:
    """(signal mask of the spectral display, baseline row within it, cm/s at its top row,
    cm/s per row), from the written PNG and the display geometry in the tags."""
    pix = np.asarray(Image.open(out / f"variant-{i}.png").convert("L"))[:SIZE]
    r0, n = int(tags["spectrum_top_row"]), int(tags["spectrum_rows"])
    c0, c1 = int(tags["spectrum_left_col"]), int(tags["spectrum_right_col"])
    sig = median_filter(pix[r0 : r0 + n, c0:c1], size=3) >= 100
    top, bottom = float(tags["velocity_top_cm_s"]), float(tags["velocity_bottom_cm_s"])
    return sig, int(tags["baseline_row"]) - r0, top, (top - bottom) / n


@pytest.mark.parametrize(
    "prompt", ["carotid doppler with spectral trace", "femoral artery spectral doppler"]
)
def test_peak_systolic_velocity_read_from_the_pixels_matches_the_flow_model(tmp_path, prompt):
    doc = _case(prompt, tmp_path)
    for i, v in enumerate(doc["variants"], 1):
        sig, base, top, per_row = _panel(tmp_path, i, v["tags"])
        first = np.argmax(sig, axis=0)
        has = sig.any(axis=0) & (first < base)
        psv = top - (first[has].min() + 0.5) * per_row
        m = v["findings"][0]["measurements"]
        assert abs(psv / m["flow_model_psv_cm_s"] - 1) < 0.10, (psv, m)
        assert abs(m["psv_cm_s"] / m["flow_model_psv_cm_s"] - 1) < 0.10
        assert f"PSV {m['psv_cm_s']:.0f} cm/s" in v["answer_key"]
        # arterial flow toward the probe: above the baseline; the carotid never below it, the
        # femoral artery's early-diastolic reversal below it in a minority of the sweep
        above = sig[: base - 2].any(axis=0).mean()
        below = sig[base + 3 :].any(axis=0).mean()
        assert v["tags"]["flow_toward_probe"] == "yes"
        # (over the carotid the beam line crosses the jugular on its way down)
        on = _gate_on(tmp_path, i, ARTERY_ID)
        assert on > 0.35 and on > 2 * _gate_on(tmp_path, i, VEIN_ID)
        if "carotid" in prompt:  # forward flow all through the cycle
            assert above > 0.9 and below < 0.01 and m["edv_cm_s"] > 0.15 * m["psv_cm_s"]
        else:  # forward in systole, reversed early in diastole, then none
            assert 0.15 < above < 0.7 and 0.05 < below < 0.4
            assert m["reverse_peak_cm_s"] < -5
            assert "triphasic" in v["answer_key"]


def test_vein_gate_shows_flow_away_below_the_baseline(tmp_path):
    doc = _case("jugular vein spectral doppler", tmp_path)
    for i, v in enumerate(doc["variants"], 1):
        sig, base, _, _ = _panel(tmp_path, i, v["tags"])
        assert v["tags"]["flow_toward_probe"] == "no"
        on = _gate_on(tmp_path, i, VEIN_ID)
        assert on > 0.35 and on > 2 * _gate_on(tmp_path, i, ARTERY_ID)
        assert sig[base + 3 :].any(axis=0).mean() > 0.9 and not sig[: base - 2].any()
        assert "below the baseline" in v["answer_key"]


def test_a_scale_below_the_peak_wraps_the_spectrum(tmp_path):
    doc = _case("carotid spectral doppler, scale 50 cm/s", tmp_path)
    for i, v in enumerate(doc["variants"], 1):
        sig, base, top, _ = _panel(tmp_path, i, v["tags"])
        assert top == 50 and v["findings"][0]["measurements"]["flow_model_psv_cm_s"] > 60
        # the systolic peaks leave the top edge and come back in at the bottom edge, in the
        # same columns, and nothing else lies below the baseline
        wrapped = sig[:2].any(axis=0) & sig[-2:].any(axis=0)
        assert wrapped.sum() >= 3
        below = sig[base + 3 :].any(axis=0)
        # the flanks touch the top edge; between them the whole band may have wrapped
        near_top = binary_dilation(sig[:3].any(axis=0), iterations=12)
        assert (below & ~near_top).mean() < 0.01
        assert "aliasing" in v["answer_key"]


def test_triplex_colours_only_the_lumens_round_the_gate(tmp_path):
    from imagine_med.engine.phantom.regions.vessels_us.leg import LABELS as LEG

    doc = _case("femoral artery colour and spectral doppler", tmp_path)
    for i, v in enumerate(doc["variants"], 1):
        rgb = np.asarray(Image.open(tmp_path / f"variant-{i}.png").convert("RGB"))[:SIZE]
        lab = np.asarray(Image.open(tmp_path / f"variant-{i}.labels.png"))[:SIZE]
        top = int(v["tags"]["spectrum_top_row"])
        r, g, b = (rgb[:top, :, k].astype(int) for k in range(3))
        colour = ((r - g > 60) | (b - g > 60)) & (np.abs(r - b) > 60)
        lumen = np.isin(lab[:top], [LEG["artery"], LEG["vein"]])
        assert colour.sum() > 200 and lumen[colour].mean() > 0.98
        # the artery toward the probe (red), the vein away (blue), as on the trace
        art = colour & (lab[:top] == LEG["artery"])
        assert (r[art] > b[art]).mean() > 0.9
        assert (lab[:top] == 62).sum() > 20  # the gate is drawn
        assert v["answer_key"].startswith("Triplex")
