"""How the phantom's frontal film reads: the central shadow is one grey (heart and spine strip
close, both well above the lung), the humeral heads are solid bone rather than rings, and a
lobar consolidation is a near-homogeneous opacity."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from imagine_med.case import render_case
from imagine_med.engine.phantom.labels import ANATOMY, FINDINGS, LUNG_LABELS
from imagine_med.prompt import parse

LUNG_IDS = [ANATOMY[n] for n in LUNG_LABELS]


@pytest.fixture(scope="module")
def normal_films():
    res = render_case(parse("PA chest x-ray, normal, adult female --seed 21")[0])
    return [(v.pixels.astype(float), v.label_map) for v in res.variants]


def test_spine_strip_close_to_heart(normal_films):
    """Over the heart's rows, the midline strip (spine, no lung) exceeds the heart beside it by
    less than the heart exceeds the lung: the spine is seen through the heart, not as a column
    brighter than it."""
    for pix, lab in normal_films:
        h, w = lab.shape
        heart = lab == ANATOMY["heart"]
        off = np.abs(np.arange(w)[None, :] - w / 2)
        rows = np.flatnonzero(heart.any(axis=1))
        in_rows = (np.arange(h)[:, None] >= rows.min()) & (np.arange(h)[:, None] <= rows.max())
        strip = pix[heart & (off < 0.03 * w)].mean()
        beside = pix[heart & (off > 0.06 * w)].mean()
        lung = pix[np.isin(lab, LUNG_IDS) & in_rows].mean()
        assert beside - lung > 25, f"heart {beside:.0f} barely above lung {lung:.0f}"
        assert strip - beside < 1.3 * (beside - lung), (
            f"spine strip {strip:.0f} vs heart {beside:.0f} vs lung {lung:.0f}")


def test_humeral_heads_are_solid(normal_films):
    """Each humeral head's interior is brighter than the soft tissue round it (an outline-only
    head reads as a ring: its interior is no brighter than its surroundings)."""
    for pix, lab in normal_films:
        h, w = lab.shape
        hum = lab == ANATOMY["humerus"]
        for side in (np.arange(w) < w // 2, np.arange(w) >= w // 2):
            mask = hum & side[None, :]
            top = np.flatnonzero(mask.any(axis=1)).min()
            head = mask & (np.arange(h)[:, None] < top + 0.09 * h)  # the head's upper part
            core = ndimage.binary_erosion(head, iterations=5)
            ring = ndimage.binary_dilation(head, iterations=6) & ~hum & (lab != 0)
            assert core.sum() > 50
            gain = np.median(pix[core]) - np.median(pix[ring])
            assert gain > 15, f"humeral head interior only {gain:.0f} above its surroundings"


def test_lobar_consolidation_is_homogeneous():
    """Inside a lobar consolidation (away from its edges) the smoothed opacity varies little:
    airspace filling, not a blotchy or cauliflower texture."""
    res = render_case(parse("PA chest x-ray, right upper lobe consolidation --seed 7")[0])
    for v in res.variants:
        pix = v.pixels.astype(float)
        core = ndimage.binary_erosion(v.label_map == FINDINGS["consolidation"], iterations=8)
        assert core.sum() > 2000
        smooth = ndimage.uniform_filter(pix, 9)
        # 15.5 under the single-curve processing; the multi-frequency processing (physics/dr.py)
        # keeps the ribs, clavicle and mediastinum under the opacity at their own contrast
        # (measured up to 21.4 over the four variants), so the ceiling moved to 24: still far
        # below the opacity's own contrast against the lung (~70 grey levels)
        assert smooth[core].std() < 24.0, f"consolidation mottle {smooth[core].std():.1f}"
