"""Ultrasound artefacts as options (issue 16): reverberation, comet tails, side lobes and
refraction edge shadows on the right upper quadrant, measured on the written files."""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest
from scipy import ndimage
from us_support import written_case, written_variant

from imagine_med.engine.phantom.regions.abdomen_us.anatomy import LABELS as L
from imagine_med.prompt import parse

SIZE = 512


_case = partial(written_case, seed=5, size=SIZE)


_variant = partial(written_variant, size=SIZE)


def polar(v: dict, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Per pixel: depth below the probe face along its beam line (mm) and the line's angle
    (radians), from the apex the tags give."""
    px = v["pixel_spacing_mm"][0]
    col, row = (float(t) for t in v["tags"]["apex_px"].split(","))
    radius = float(v["tags"]["apex_behind_face_mm"])
    ii, jj = np.mgrid[: shape[0], : shape[1]].astype(float)
    dx, dy = (jj - col) * px, (ii - row) * px
    return np.hypot(dx, dy) - radius, np.arctan2(dx, dy)


def line_profile(pix, depth, angle, theta, half_deg=1.0, step=0.25):
    """Mean grey along one beam line (+- half_deg) in depth bins of `step` mm."""
    near = (np.abs(angle - theta) <= np.radians(half_deg)) & (depth >= 0)
    bins = np.round(depth[near] / step).astype(int)
    sums, counts = np.bincount(bins, pix[near]), np.bincount(bins)
    ok = counts > 0
    return np.nonzero(ok)[0] * step, sums[ok] / counts[ok]


def period(d: np.ndarray, g: np.ndarray, start: float, stop: float, lo: float, hi: float):
    """The lag in [lo, hi] mm with the largest autocorrelation of the profile over
    [start, stop] mm."""
    step = float(np.median(np.diff(d)))
    grid = np.arange(start, stop, step)
    prof = np.interp(grid, d, g)
    prof = prof - np.polyval(np.polyfit(grid, prof, 1), grid)  # the tail's fading, removed
    lags = np.arange(max(1, round(lo / step)), round(hi / step) + 1)
    ac = [float(prof[:-k] @ prof[k:]) / (len(prof) - k) for k in lags]
    return float(lags[int(np.argmax(ac))] * step)


def test_reverberation_bands_repeat_at_the_gas_depth(tmp_path):
    doc = _case("RUQ ultrasound with reverberation", tmp_path)
    for i, v in enumerate(doc["variants"], 1):
        pix, lab = _variant(tmp_path, i)
        depth, angle = polar(v, pix.shape)
        gas = lab == L["bowel_gas"]
        assert gas.any() and (lab == L["reverberation"]).any()
        d0 = float(depth[gas].min())  # the gas's near surface: the reflector's depth
        theta = float(np.median(angle[gas]))
        d, g = line_profile(pix, depth, angle, theta)
        # the echoes below the gas repeat with the gas's own depth as their period
        p = period(d, g, d0 - 2.0, min(d.max(), 3.6 * d0), 0.5 * d0, 1.5 * d0)
        assert abs(p - d0) <= 3.0, (p, d0)
        # bright bands at 2 and 3 times its depth, the later one weaker, over a dark shadow
        band = [g[np.abs(d - k * d0) <= 2.5].max() for k in (2, 3)]
        gap = g[(d > 2 * d0 + 4) & (d < 3 * d0 - 4)]
        assert band[0] > band[1] > 2 * np.median(gap) + 20, (band, np.median(gap))
        assert "Reverberation" in v["answer_key"]
    plain = _case("RUQ ultrasound", tmp_path / "plain")
    assert not any(
        k in str(v["labels"])
        for v in plain["variants"]
        for k in ("reverberation", "bowel_gas", "side_lobe", "comet_tail")
    )
    assert not any("everberation" in v["answer_key"] for v in plain["variants"])


def test_comet_tail_echoes_spaced_by_the_crystal_thickness(tmp_path):
    size = 768
    doc = _case("RUQ ultrasound with comet tail artefact", tmp_path, size=size)
    for i, v in enumerate(doc["variants"], 1):
        pix, lab = _variant(tmp_path, i, size=size)
        depth, angle = polar(v, pix.shape)
        pieces, n = ndimage.label(lab == L["crystal"])
        assert n >= 2 and (lab == L["comet_tail"]).any()
        periods, thicks = [], []
        for k in range(1, n + 1):
            focus = pieces == k
            theta = float(np.median(angle[focus]))
            on_line = np.abs(angle - theta) <= np.radians(0.3)
            thick = float(np.ptp(depth[focus & on_line])) + v["pixel_spacing_mm"][0]
            top = float(depth[focus].min())
            d, g = line_profile(pix, depth, angle, theta, half_deg=0.3, step=0.1)
            periods.append(period(d, g, top + thick, top + 11.0, 0.6 * thick, 1.6 * thick))
            thicks.append(thick)
            # the tail: echoes in the bile below the focus, fading with depth
            tail = (d > top + thick) & (d < top + 8.0)
            far = (d > top + 12.0) & (d < top + 16.0)
            assert g[tail].mean() > 3 * g[far].mean() + 10
        # the echoes repeat with the focus's own thickness (its two faces' round trip)
        assert abs(np.median(periods) - np.median(thicks)) <= 0.5, (periods, thicks)
        assert "Comet-tail" in v["answer_key"]


def _lumen_and_liver(pix, lab, px):
    """The lumen 1.2 mm clear of its wall (the wall's echo tails) and the liver's mean."""
    lumen = ndimage.binary_erosion(
        np.isin(lab, [L["gallbladder"], L["side_lobe"]]), iterations=max(1, round(1.2 / px))
    )
    return lumen, pix[lab == L["liver"]].mean()


def test_side_lobes_put_echoes_in_the_gallbladder_only_with_the_option(tmp_path):
    doc = _case("gallbladder ultrasound with side lobe artefact", tmp_path)
    plain = _case("gallbladder ultrasound", tmp_path / "plain")
    for i, v in enumerate(doc["variants"], 1):
        pix, lab = _variant(tmp_path, i)
        lumen, liver = _lumen_and_liver(pix, lab, v["pixel_spacing_mm"][0])
        # echoes inside the lumen, next to the gas: a patch above a tenth of the liver's level
        lobe = lumen & (lab == L["side_lobe"])
        assert lobe.sum() >= 20 and pix[lobe].mean() > 0.1 * liver, (lobe.sum(), pix[lobe].mean())
        assert (lobe & (pix > 0.2 * liver)).sum() >= 10
        assert "Side-lobe" in v["answer_key"]
        # none without the option: the lumen stays below 5% of the liver
        pix0, lab0 = _variant(tmp_path / "plain", i)
        lumen0, liver0 = _lumen_and_liver(pix0, lab0, v["pixel_spacing_mm"][0])
        assert pix0[lumen0].mean() < 0.05 * liver0
        assert not (lab0 == L["side_lobe"]).any()
        assert "Side-lobe" not in plain["variants"][i - 1]["answer_key"]


def edge_lines(v, pix, lab) -> list[tuple[np.ndarray, list[np.ndarray], float]]:
    """Candidates near each lateral edge of the gallbladder: a beam line (0.5 degree) from 4
    degrees inside its angular edge to the edge, the rows 3-20 mm below the gallbladder's
    deepest point on it, and its neighbours 3 degrees either side over the same rows (off
    the gallbladder)."""
    depth, angle = polar(v, pix.shape)
    gb = np.isin(lab, [L["gallbladder"], L["gallbladder_wall"]])
    half = np.radians(float(v["tags"]["sector_deg"]) / 2)
    lo, hi = float(angle[gb].min()), float(angle[gb].max())
    out = []
    for edge, way in ((lo, -1.0), (hi, 1.0)):
        if abs(edge) > half - np.radians(3.0):  # this edge is cut by the field's side
            continue
        for k in np.arange(-4.0, 0.01, 0.5):
            th = edge + way * np.radians(k)
            on = np.abs(angle - th) <= np.radians(0.25)
            if not (on & gb).any():
                continue
            start = float(depth[on & gb].max())
            rows = (depth > start + 3) & (depth < start + 20) & (lab > 0) & ~gb
            refs = [
                (np.abs(angle - (th + t)) <= np.radians(0.25)) & rows
                for t in (np.radians(3.0), -np.radians(3.0))
            ]
            refs = [r for r in refs if r.sum() >= 10]
            if (on & rows).sum() >= 10 and refs:
                out.append((on & rows, refs, th))
    return out


def contrast_db(v, pix, a, refs) -> float:
    """dB from line `a` up to its brighter neighbour."""
    ref = max(float(pix[r].mean()) for r in refs)
    return (ref - pix[a].mean()) * float(v["tags"]["dynamic_range_db"]) / 255


@pytest.mark.parametrize("seed", [5, 9])
def test_edge_shadows_beyond_the_gallbladder_edges(tmp_path, seed):
    doc = _case("gallbladder ultrasound with edge shadows", tmp_path, seed=seed)
    plain = _case("gallbladder ultrasound", tmp_path / "plain", seed=seed)
    for i, (v, w) in enumerate(zip(doc["variants"], plain["variants"], strict=True), 1):
        pix, lab = _variant(tmp_path, i)
        pix0, _lab0 = _variant(tmp_path / "plain", i)
        pairs = edge_lines(v, pix, lab)
        assert pairs
        best = max(pairs, key=lambda p: contrast_db(v, pix, p[0], p[1]))
        # the line just beyond the edge: >= 6 dB darker than its neighbour at the same depths
        with_option = contrast_db(v, pix, best[0], best[1])
        assert with_option >= 6.0
        # the same lines of the same patient without the option: what contrast they had (the
        # enhancement under the gallbladder, speckle) is >= 6 dB less: the shadow's own depth
        assert contrast_db(w, pix0, best[0], best[1]) <= with_option - 6.0
        assert (lab == L["edge_shadow"]).any() and "edge shadows" in v["answer_key"]
        assert "edge shadow" not in w["answer_key"]


def test_prompt_words_for_probe_view_and_options():
    """Clinical phrasing is understood, not ignored: the cardiac window picks the heart and a
    FAST scan keeps the abdomen as its subject; artefact words are options, not leftovers."""
    spec = parse("subxiphoid view, small pericardial effusion")[0]
    assert (spec.modality, spec.region) == ("us", "heart")
    assert spec.findings[0].name == "pericardial_effusion" and not spec.unparsed
    spec = parse("FAST scan, 12 mm pericardial effusion")[0]
    assert spec.region == "abdomen" and spec.findings[0].size_mm == 12.0
    assert parse("cardiac probe ultrasound")[0].region == "heart"
    assert parse("RUQ ultrasound with a cardiac probe")[0].region == "abdomen"
    for words in (
        "comet tail artefact",
        "side lobe artifact",
        "edge shadows",
        "reverberation artefact",
    ):
        spec = parse(f"gallbladder ultrasound with {words}")[0]
        assert spec.region == "gallbladder" and not spec.unparsed, (words, spec.unparsed)
