"""The film body as one smooth surface (issue 23, soft tissues), measured on written files
(PNG + variant-N.masks.npz): the skin outline from the neck over the shoulder has no corner,
the neck is much narrower than the shoulders, the aortic knuckle bulges the left superior
mediastinal border."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage
from skimage import measure

from imagine_med.case import read_masks, render_case, write_case
from imagine_med.prompt import parse

SIZE = 384
# chord for the outline's turning angle: a few mm, longer than the coarse ray grid's spacing
# (~2.5 mm at this size) so the grid's interpolation is not read as shape
CHORD_MM = 6.0
# the sharpest bend allowed: measured 28-47 degrees on this surface (its shoulder tip and
# neck fillet, smoothsteps of ~10 mm radius, read through the coarse ray grid and noise),
# 79-134 on the box model (roof planes meeting the neck column and the cap); a real outline
# (radii of 20 mm and more) would turn a 6 mm chord by under ~17 degrees
MAX_TURN_DEG = 55.0
# neck breadth over shoulder (bideltoid) breadth: about 120 mm over 380-460 mm in adults
# (0.26-0.32); the film shows less of the neck, whose thin edges fall below the skin level
NECK_SHOULDER = (0.13, 0.40)


def _case(prompt: str, out: Path) -> list[tuple[np.ndarray, dict[str, np.ndarray], float]]:
    spec = parse(prompt)[0].model_copy(update={"width": SIZE, "height": SIZE})
    write_case(render_case(spec), out)
    doc = json.loads((out / "case.json").read_text())
    res = []
    for v in doc["variants"][:2]:
        pix = np.asarray(Image.open(out / v["image"]).convert("L"))[: v["height"]]
        res.append((pix.astype(float), read_masks(out / v["masks"]),
                    float(v["pixel_spacing_mm"][0])))
    return res


@pytest.fixture(scope="module")
def films(tmp_path_factory):
    prompts = {
        "pa_31": "PA chest x-ray, normal, adult man --seed 31",
        "pa_8": "PA chest x-ray, normal, adult woman --seed 8",
        "ap_31": "AP supine chest x-ray, normal, adult man --seed 31",
        "ap_5": "AP supine chest x-ray, normal, adult woman --seed 5",
    }
    return {k: _case(p, tmp_path_factory.mktemp(k)) for k, p in prompts.items()}


def _skin(pix: np.ndarray) -> np.ndarray:
    """The image smoothed over a pixel and the grey level halfway from air to the body's
    edge tissue: the skin line's iso-level."""
    sm = ndimage.gaussian_filter(pix, 1.0)
    air = np.median(sm[:6, :6])
    body = np.percentile(sm, 60)
    return sm, air + 0.15 * (body - air)


def _outer_outlines(pix: np.ndarray, rows: int) -> list[np.ndarray]:
    """Each side's outer skin outline (row, col) from the film's top edge (the neck) down to
    `rows`: the longest iso-contour on each half that reaches the top edge."""
    sm, level = _skin(pix)
    W = pix.shape[1]
    out = []
    for half in (slice(0, W // 2), slice(W // 2, W)):
        mask = np.zeros_like(sm, bool)
        mask[:, half] = True
        cs = [c for c in measure.find_contours(np.where(mask, sm, sm.min()), level)
              if c[:, 0].min() < 2 and len(c) > 40]
        c = max(cs, key=len)
        if c[0, 0] > c[-1, 0]:
            c = c[::-1]
        stop = np.flatnonzero(c[:, 0] > rows)
        out.append(c[3: stop[0] if len(stop) else len(c)])
    return out


def _max_turn(c: np.ndarray, step_px: float) -> float:
    """Largest turn (degrees) between successive chords of `step_px` along the outline."""
    seg = np.hypot(*np.diff(c, axis=0).T)
    arc = np.concatenate([[0], np.cumsum(seg)])
    t = np.arange(0, arc[-1], step_px)
    pts = np.stack([np.interp(t, arc, c[:, 0]), np.interp(t, arc, c[:, 1])], 1)
    ang = np.arctan2(*np.diff(pts, axis=0).T)
    turn = np.angle(np.exp(1j * np.diff(ang)))
    return float(np.degrees(np.abs(turn)).max())


def _lung_rows(m: dict[str, np.ndarray]) -> tuple[int, int]:
    lung = sum(m[k] for k in m if k.startswith("lung_")) > 0
    rows = np.flatnonzero(lung.any(1))
    return int(rows.min()), int(rows.max())


@pytest.mark.parametrize("case", ["pa_31", "pa_8", "ap_31", "ap_5"])
def test_skin_outline_has_no_corner_from_neck_to_shoulder(films, case):
    """Along each side's outer outline, from the neck at the film's top over the trapezius
    to the shoulder's side at the humeral head's centre, no 6 mm chord turns from the last by
    more than MAX_TURN_DEG: a smooth surface, not planes meeting a column. (Below the head
    the arm, a separate solid, takes over the outline: not judged here.)"""
    for pix, m, px in films[case]:
        hum = np.flatnonzero(m["humerus"].any(1))
        for c in _outer_outlines(pix, int(hum.min() + 20 / px)):
            assert np.ptp(c[:, 1]) * px > 60, "outline too short to judge"
            turn = _max_turn(c, CHORD_MM / px)
            assert turn < MAX_TURN_DEG, f"{case}: the outline turns {turn:.0f} deg in a chord"


@pytest.mark.parametrize("case", ["pa_31", "pa_8", "ap_31", "ap_5"])
def test_neck_narrower_than_shoulders(films, case):
    """The neck at the film's top edge against the shoulders' breadth (the outline's widest
    span above the lungs' mid-height): a real adult ratio."""
    for pix, m, px in films[case]:
        sm, level = _skin(pix)
        body = sm > level
        top, bottom = _lung_rows(m)

        span = [float(np.ptp(np.flatnonzero(row))) for row in body[3: (top + bottom) // 2]]
        neck, shoulders = span[0], max(span)
        assert NECK_SHOULDER[0] < neck / shoulders < NECK_SHOULDER[1], \
            f"{case}: neck {neck * px:.0f} mm over shoulders {shoulders * px:.0f} mm"


def _left_border(pix: np.ndarray, m: dict[str, np.ndarray], px: float) -> np.ndarray:
    """Per row, the left (image-right) mediastinal border's distance (px) from the trachea's
    centre: where the smoothed film falls halfway from the mediastinum beside the trachea to
    the left lung's level at that row."""
    sm = ndimage.gaussian_filter(pix, 2.0 / px)
    tr = m["trachea"]
    tc = int(np.median(np.nonzero(tr)[1]))
    out = np.full(pix.shape[0], np.nan)
    for r in range(pix.shape[0]):
        row = sm[r, tc + round(14 / px): tc + round(90 / px)]
        if row.size < 10:
            continue
        hi, lo = row[0], np.percentile(row, 10)
        fall = np.flatnonzero(row < (hi + lo) / 2)
        if len(fall) and hi - lo > 8:
            out[r] = fall[0] + round(14 / px)
    return out


@pytest.mark.parametrize("case", ["pa_31", "pa_8", "ap_31", "ap_5"])
def test_aortic_knuckle_bulges_the_left_mediastinal_border(films, case):
    """The left superior mediastinal border at the aortic knuckle (the centre row of the
    aorta's mask) lies further out than 25 mm above it (the left subclavian artery's border)
    and 25 mm below it (the aortopulmonary window): the width profile is not monotone."""
    for pix, m, px in films[case]:
        rows = np.flatnonzero(m["aorta"].any(1))
        k = int(rows.mean())
        border = _left_border(pix, m, px)
        d = round(25 / px)
        at = np.nanmedian(border[k - 2: k + 3])
        above = np.nanmedian(border[k - d - 2: k - d + 3])
        below = np.nanmedian(border[k + d - 2: k + d + 3])
        assert at - above > 3 / px and at - below > 2 / px, \
            f"{case}: border {above * px:.0f} / {at * px:.0f} / {below * px:.0f} mm"
