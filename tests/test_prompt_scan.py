"""Ultrasound machine settings in the prompt (prompt/scan.py): understood in clinical words
and as flags, checked before anything is queued, and visible in the written image (finer
speckle at a higher frequency, a brighter image with more gain) and the key."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from imagine_med.case import render_case, write_case
from imagine_med.engine.phantom.regions.abdomen_us.anatomy import LABELS
from imagine_med.prompt import PromptError, parse


@pytest.mark.parametrize("text, field, value", [
    ("RUQ ultrasound, gallstones, depth 12 cm", "depth_cm", 12.0),
    ("RUQ ultrasound, gallstones, 14 cm deep", "depth_cm", 14.0),
    ("RUQ ultrasound 5 MHz, gallstones", "freq_mhz", 5.0),
    ("carotid doppler 9 MHz", "freq_mhz", 9.0),
    ("RUQ ultrasound, focus 6 cm", "focus_cm", 6.0),
    ("RUQ ultrasound, gain 6 dB", "gain_db", 6.0),
    ("RUQ ultrasound, 50 dB dynamic range", "dynamic_range_db", 50.0),
    ("RUQ ultrasound, dynamic range 70 dB", "dynamic_range_db", 70.0),
    ("RUQ ultrasound, cine", "frames", 12),
    ("RUQ ultrasound, cine 16 frames", "frames", 16),
    ("RUQ ultrasound, video clip --frames 8", "frames", 8),
    ("carotid doppler with aliasing", "scale_cm_s", 10.0),
    ("carotid doppler, scale 20 cm/s", "scale_cm_s", 20.0),
    ("RUQ ultrasound --freq 4 --depth 18 --gain -4 --dr 55", "gain_db", -4.0),
])
def test_settings_are_read_from_words_and_flags(text: str, field: str, value: float) -> None:
    spec = parse(text)[0]
    assert spec.us is not None and getattr(spec.us, field) == value
    assert spec.unparsed == ()


def test_a_depth_is_not_a_finding_size() -> None:
    spec = parse("RUQ ultrasound, gallstones, depth 12 cm")[0]
    assert spec.findings[0].size_mm is None and spec.us.depth_cm == 12
    assert "depth 12 cm" in spec.describe()


@pytest.mark.parametrize("text, says", [
    ("CT chest --depth 12", "does not apply to CT"),
    ("RUQ ultrasound --freq 40", "--freq must be from 1 to 20 MHz"),
    ("RUQ ultrasound 5 MHz --freq 4", "--freq says 4"),
    ("RUQ ultrasound, 100 frames", "from 2 to 64 frames"),
    ("RUQ ultrasound --gain loud", "--gain takes a number in dB"),
])
def test_bad_settings_are_refused_with_a_clear_reason(text: str, says: str) -> None:
    with pytest.raises(PromptError, match=says.replace("(", r"\(")):
        parse(text)


def _liver(prompt: str, out: Path, size: int = 320) -> tuple[list[np.ndarray], dict]:
    spec = parse(prompt)[0].model_copy(update={"width": size, "height": size})
    write_case(render_case(spec, seed=4), out)
    case = json.loads((out / "case.json").read_text())
    crops = []
    for i in range(1, 3):
        pix = np.asarray(Image.open(out / f"variant-{i}.png").convert("L"))[:size].astype(float)
        lab = np.asarray(Image.open(out / f"variant-{i}.labels.png"))[:size]
        liver = ndimage.binary_erosion(lab == LABELS["liver"], iterations=4)
        crops.append(np.where(liver, pix, np.nan))
    return crops, case


def _axial_grain(img: np.ndarray) -> float:
    """Speckle correlation between neighbouring rows (down the beam near the sector's
    centre) on pairs of liver pixels, less the local mean (depth trends are not speckle)."""
    ok = ~np.isnan(img)
    local = ndimage.gaussian_filter(np.where(ok, img, 0), 10) / np.maximum(
        ndimage.gaussian_filter(ok.astype(float), 10), 1e-6)
    v = (img - local)[:, img.shape[1] // 3: 2 * img.shape[1] // 3]
    return float(np.nanmean(v[:-1] * v[1:]) / np.nanmean(v * v))


def test_frequency_and_gain_show_in_the_written_image(tmp_path: Path) -> None:
    low, _ = _liver("RUQ ultrasound --freq 2 --depth 12", tmp_path / "low")
    high, c_high = _liver("RUQ ultrasound --freq 6 --depth 12", tmp_path / "high")
    # the pulse is a third as long at 6 MHz: a much shorter axial speckle grain (measured
    # 0.45 against 0.05-0.08 at 320 px, 12 cm)
    assert _axial_grain(low[0]) > _axial_grain(high[0]) + 0.2
    bright, _ = _liver("RUQ ultrasound --gain 10", tmp_path / "bright")
    dark, _ = _liver("RUQ ultrasound --gain -10", tmp_path / "dark")
    assert np.nanmean(bright[0]) > np.nanmean(dark[0]) + 40  # 20 dB of a 60 dB display
    tags = c_high["variants"][0]["tags"] if "variants" in c_high else c_high["tags"]
    assert float(tags["frequency_mhz"]) == 6 and float(tags["depth_mm"]) == 120


def test_a_frequency_the_probe_cannot_reach_is_said_in_the_key(tmp_path: Path) -> None:
    spec = parse("RUQ ultrasound, 12 MHz")[0].model_copy(update={"width": 192, "height": 192})
    key = render_case(spec, seed=2).variants[0].answer_key
    assert "12 MHz was asked" in key and "6 MHz was used" in key
