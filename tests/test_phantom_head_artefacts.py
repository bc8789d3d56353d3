"""Head artefacts as options (issue 14): Gibbs ringing on MRI from a truncated k-space, beam
hardening on CT from the bone's path lengths; both measured on the written raw values."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from imagine_med.case import render_case, write_case
from imagine_med.prompt import parse
from imagine_med.provenance.dicom import RAW_MR_NAME, RAW_NAME, RAW_OFFSET, write_raw_hu

SIZE = 256


def _case(prompt: str, out: Path) -> dict:
    spec = parse(prompt)[0].model_copy(update={"width": SIZE, "height": SIZE})
    result = render_case(spec, seed=9, seeds=[9, 10])
    write_case(result, out)
    write_raw_hu(result, out)  # the raw values a job keeps beside its PNGs
    return json.loads((out / "case.json").read_text())


def _raw(out: Path, i: int) -> np.ndarray:
    """The raw values as written: MR signal (16-bit PNG) or HU (16-bit PNG, offset)."""
    mr = out / RAW_MR_NAME.format(index=i)
    if mr.exists():
        return np.asarray(Image.open(mr)).astype(float)[:SIZE]
    return np.asarray(Image.open(out / RAW_NAME.format(index=i))).astype(float)[:SIZE] \
        - RAW_OFFSET


def _band_power(img: np.ndarray) -> np.ndarray:
    power = np.abs(np.fft.fftshift(np.fft.fft(img, axis=1), axes=1)) ** 2
    return power.mean(axis=0)


def test_gibbs_ringing_cuts_k_space_and_rings(tmp_path):
    plain = _case("axial T2 brain MRI, lateral ventricles", tmp_path / "p")
    ring = _case("axial T2 brain MRI, lateral ventricles, with Gibbs ringing", tmp_path / "g")
    for i in (1, 2):
        a, b = _raw(tmp_path / "p", i), _raw(tmp_path / "g", i)
        pa, pb = _band_power(a), _band_power(b)
        outer = np.r_[0:SIZE // 8, SIZE - SIZE // 8:SIZE]  # the highest column frequencies
        # the truncated image has (next to) no power there; the plain one has its noise
        assert pb[outer].mean() < 0.05 * pa[outer].mean()
        assert "Gibbs (truncation) ringing" in ring["variants"][i - 1]["answer_key"]
        assert "Gibbs" not in plain["variants"][i - 1]["answer_key"]


def test_beam_hardening_streaks_the_brain(tmp_path):
    _case("CT head, posterior fossa", tmp_path / "p")
    hard = _case("CT head, posterior fossa, beam hardening artefact", tmp_path / "b")
    for i in (1, 2):
        a, b = _raw(tmp_path / "p", i), _raw(tmp_path / "b", i)
        lab = np.asarray(Image.open(tmp_path / "p" / f"variant-{i}.labels.png"))[:SIZE]
        brain = (lab > 0) & (a > 0) & (a < 80)  # brain-like HU in the clean slice
        diff = (b - a)[brain]
        # streaks: the artefact moves brain HU both ways, by well over the noise (3.5 HU)
        assert np.percentile(diff, 95) - np.percentile(diff, 5) > 8
        assert b[brain].std() > a[brain].std() + 2
        assert "Beam-hardening streaks" in hard["variants"][i - 1]["answer_key"]
