"""Ovaries on transverse pelvic ultrasound (issue 16), measured on the written label maps:
laterality (the patient's right on the image left), antral follicles counted and sized,
polycystic ovarian morphology by the 2018 guideline's thresholds (written here), a simple cyst
and a dermoid with their acoustic signs."""

from __future__ import annotations

import math
from functools import partial

import numpy as np
from scipy import ndimage
from us_support import written_case, written_variant

from imagine_med.engine.phantom.regions.pelvis_us.ovaries import LABELS as L

SIZE = 384


_case = partial(written_case, seed=4, size=SIZE)


_variant = partial(written_variant, size=SIZE)


def _follicles(lab: np.ndarray, px: float) -> dict[str, list[float]]:
    """Equal-area diameters (mm) of the follicles in each ovary (the ovary their rim touches)."""
    out: dict[str, list[float]] = {"right": [], "left": []}
    comps, n = ndimage.label(lab == L["follicle"])
    for i in range(1, n + 1):
        comp = comps == i
        ring = ndimage.binary_dilation(comp, iterations=2) & ~comp
        votes = {s: (lab[ring] == L[f"ovary_{s}"]).sum() for s in out}
        out[max(votes, key=votes.get)].append(2 * math.sqrt(comp.sum() / math.pi) * px)
    return out


def _volume_ml(mask: np.ndarray, px: float) -> float:
    ys, xs = np.nonzero(mask)
    w = np.linalg.eigvalsh(np.cov(np.stack([xs, ys]).astype(float), bias=True))
    long_mm, short_mm = 4 * math.sqrt(w[1]) * px, 4 * math.sqrt(w[0]) * px
    return math.pi / 6 * long_mm * short_mm**2 / 1000


def _ovary(lab: np.ndarray, side: str) -> np.ndarray:
    own = lab == L[f"ovary_{side}"]
    return ndimage.binary_fill_holes(
        own
        | (
            ndimage.binary_dilation(own, iterations=3)
            & np.isin(lab, [L["follicle"], L["ovarian_cyst"], L["dermoid"]])
        )
    )


def test_normal_ovaries_sit_either_side_with_counted_follicles(tmp_path):
    doc = _case("pelvic ultrasound, ovaries with follicles", tmp_path)
    for i, v in enumerate(doc["variants"], 1):
        pix, lab = _variant(tmp_path, i)
        px = v["pixel_spacing_mm"][0]
        right, left = (np.nonzero(lab == L[f"ovary_{s}"])[1].mean() for s in ("right", "left"))
        uterus = np.nonzero(lab == L["uterus"])[1].mean()
        assert right < uterus < left  # the patient's right on the image left
        assert "right on the image left" in v["answer_key"]
        fol = _follicles(lab, px)
        assert sum(2 <= d <= 9 for s in fol for d in fol[s]) >= 3
        for side in ("right", "left"):
            counted = [d for d in fol[side] if 2 <= d <= 9]
            assert len(counted) < 20 and _volume_ml(_ovary(lab, side), px) < 10
            said = f"{len(counted)} antral follicle"
            assert (
                said in v["answer_key"].split(f"The {side} ovary")[1].split(".")[1]
                or said in v["answer_key"].split(f"The {side} ovary")[1]
            )
        assert "polycystic" not in v["answer_key"]
        # follicles anechoic against the ovarian stroma
        stroma = pix[
            ndimage.binary_erosion(np.isin(lab, [L["ovary_right"], L["ovary_left"]]), iterations=1)
        ].mean()
        comps, n = ndimage.label(lab == L["follicle"])
        big = np.isin(comps, [k for k in range(1, n + 1) if (comps == k).sum() * px * px > 12])
        inner = ndimage.binary_erosion(big, iterations=2)  # off the blurred edges
        assert inner.sum() > 5 and pix[inner].mean() < 0.35 * stroma


def test_polycystic_ovaries_have_twenty_follicles_or_ten_ml(tmp_path):
    doc = _case("pelvic ultrasound, polycystic ovaries", tmp_path)
    for i, v in enumerate(doc["variants"], 1):
        _, lab = _variant(tmp_path, i)
        px = v["pixel_spacing_mm"][0]
        fol = _follicles(lab, px)
        for side in ("right", "left"):
            counted = [d for d in fol[side] if 2 <= d <= 9]
            assert len(counted) >= 20 or _volume_ml(_ovary(lab, side), px) >= 10
            m = v["findings"][0]["measurements"]
            assert abs(m[f"{side}_follicles_2_9mm"] - len(counted)) <= 1
        assert "polycystic ovarian morphology" in v["answer_key"]


def test_simple_cyst_is_anechoic_with_enhancement_on_the_asked_side(tmp_path):
    doc = _case("pelvic ultrasound, 45 mm simple cyst of the right ovary", tmp_path)
    for i, v in enumerate(doc["variants"], 1):
        pix, lab = _variant(tmp_path, i)
        px = v["pixel_spacing_mm"][0]
        cyst = lab == L["ovarian_cyst"]
        d = 2 * math.sqrt(ndimage.binary_fill_holes(cyst).sum() / math.pi) * px
        assert abs(d / 45.0 - 1) < 0.12, d
        assert np.nonzero(cyst)[1].mean() < np.nonzero(lab == L["uterus"])[1].mean()
        inner = ndimage.binary_erosion(ndimage.binary_fill_holes(cyst), iterations=int(3 / px))
        uterus = pix[ndimage.binary_erosion(lab == L["uterus"], iterations=3)].mean()
        assert pix[inner].mean() < 0.1 * uterus
        # through-transmission: the 8 mm under the cyst brighter than beside it at that depth
        ys, xs = np.nonzero(inner)
        cols = np.arange(np.percentile(xs, 30), np.percentile(xs, 70)).astype(int)
        y0 = max(ys[xs == c].max() for c in cols) + int(3 / px)
        band = slice(y0, y0 + int(8 / px))
        under = pix[band, cols].mean()
        beside = pix[band, cols + int(50 / px)].mean()
        assert under > 1.3 * beside, (under, beside)
        assert "simple cyst" in v["answer_key"]


def test_dermoid_plug_is_bright_and_shadows(tmp_path):
    doc = _case("pelvic ultrasound, left ovarian dermoid", tmp_path)
    for i, v in enumerate(doc["variants"], 1):
        pix, lab = _variant(tmp_path, i)
        px = v["pixel_spacing_mm"][0]
        derm = lab == L["dermoid"]
        assert np.nonzero(derm)[1].mean() > np.nonzero(lab == L["uterus"])[1].mean()  # left
        # the plug: the brightest run down each middle column of the dermoid
        ys, xs = np.nonzero(derm)
        cols = np.arange(np.percentile(xs, 40), np.percentile(xs, 60)).astype(int)
        peak = np.array([pix[ys[xs == c], c].max() for c in cols])
        uterus = pix[ndimage.binary_erosion(lab == L["uterus"], iterations=3)].mean()
        assert peak.mean() > 1.5 * uterus
        # the shadow: the 8 mm past the far wall, on the darker half of the columns across
        # the dermoid (the sector's beams fan out, so the shadow leans off the vertical)
        cols = np.arange(np.percentile(xs, 20), np.percentile(xs, 80)).astype(int)
        y0 = [ys[xs == c].max() + int(3 / px) for c in cols]  # past the blurred far wall
        below = np.sort([pix[y : y + int(8 / px), c].mean() for y, c in zip(y0, cols, strict=True)])
        assert below[: len(below) // 2].mean() < 0.35 * uterus
        assert "dermoid" in v["answer_key"] and "shadow" in v["answer_key"]
