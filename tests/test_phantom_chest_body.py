"""The film body as one smooth surface (issue 23, soft tissues), measured on written files
(variant-N.masks.npz for the outline, the PNG for the rest): the skin outline from the neck
over the shoulder has no corner,
the neck is much narrower than the shoulders, the aortic knuckle bulges the left superior
mediastinal border, and a lateral film shows one back outline."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage, stats
from skimage import measure

from imagine_med.case import read_masks, render_case, write_case
from imagine_med.prompt import parse

SIZE = 384
# chord for the outline's turning angle: a few mm, several times the coarse ray grid's
# spacing (~2.5 mm at this size) so the grid's steps are not read as shape
CHORD_MM = 10.0
SMOOTH_MM = 3.5
# the sharpest bend allowed: a real outline's tightest curves (neck into trapezius, over
# the shoulder) have radii of 20 mm or more, which turn a 10 mm chord by at most ~30
# degrees; the box model's roof planes met the neck column and the cap in corners that
# turned it 40-48 degrees (seeds 31, 8, 5, two variants each); this surface 12-21
MAX_TURN_DEG = 30.0
# neck breadth (at the film's top) over shoulder breadth (the widest span above mid-lung):
# adults about 110-130 mm over 400-480 mm (0.24-0.33); measured 0.29-0.34 here
NECK_SHOULDER = (0.24, 0.36)


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
        "lat_31": "lateral chest x-ray, normal, adult man --seed 31",
        "lat_8": "lateral chest x-ray, normal, adult woman --seed 8",
    }
    return {k: _case(p, tmp_path_factory.mktemp(k)) for k, p in prompts.items()}


def _body(m: dict[str, np.ndarray], px: float) -> np.ndarray:
    """The body's silhouette from the written masks (every soft tissue the beam crosses for
    over 3 mm: the skin line's position, free of the bone near it that bends a grey-level
    iso-line), smoothed over SMOOTH_MM (the masks come from the coarse ray grid)."""
    body = m["subcutaneous_fat"] | m["muscle"] | m["axillary_fold"]
    return ndimage.gaussian_filter(body.astype(float), SMOOTH_MM / px)


def _outer_outlines(m: dict[str, np.ndarray], px: float, rows: int) -> list[np.ndarray]:
    """Each side's outer skin outline (row, col) from the film's top edge (the neck) down to
    `rows`: the silhouette's half-level contour on each half that reaches the top edge."""
    sm = _body(m, px)
    W = sm.shape[1]
    out = []
    for x0, x1 in ((0, W // 2), (W // 2, W)):
        cs = [c + np.array([0, x0]) for c in measure.find_contours(sm[:, x0:x1], 0.5)
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
    """Along each side's outer outline (the masks' body silhouette), from the neck at the
    film's top over the trapezius and the shoulder to 20 mm below the humeral head's top, no
    10 mm chord turns from the last by more than MAX_TURN_DEG: a smooth surface, not planes
    meeting a column. (Further down the arm, a separate solid, takes over: not judged.)"""
    for _pix, m, px in films[case]:
        hum = np.flatnonzero(m["humerus"].any(1))
        for c in _outer_outlines(m, px, int(hum.min() + 20 / px)):
            assert np.ptp(c[:, 1]) * px > 60, "outline too short to judge"
            turn = _max_turn(c, CHORD_MM / px)
            assert turn < MAX_TURN_DEG, f"{case}: the outline turns {turn:.0f} deg in a chord"


@pytest.mark.parametrize("case", ["pa_31", "pa_8", "ap_31", "ap_5"])
def test_neck_narrower_than_shoulders(films, case):
    """The neck at the film's top edge against the shoulders' breadth (the outline's widest
    span above the lungs' mid-height): a real adult ratio."""
    for _pix, m, px in films[case]:
        body = _body(m, px) > 0.5
        top, bottom = _lung_rows(m)

        span = [float(np.ptp(np.flatnonzero(row))) for row in body[3: (top + bottom) // 2]]
        neck, shoulders = span[0], max(span)
        assert NECK_SHOULDER[0] < neck / shoulders < NECK_SHOULDER[1], \
            f"{case}: neck {neck * px:.0f} mm over shoulders {shoulders * px:.0f} mm"


# the border's level between the brightest mediastinum and the lung: a third of the way up,
# so a mediastinal structure greyer than the spine's bright edges beside it (the knuckle)
# still counts as mediastinum
EDGE_LEVEL = 1 / 3


def _border(pix: np.ndarray, m: dict[str, np.ndarray], px: float, side: int) -> np.ndarray:
    """Per row, the mediastinal border's distance (px) from the trachea's centre on one side
    (+1: the patient's left, the image's right): where the smoothed film falls to EDGE_LEVEL
    of the way from that lung's level on the row up to the brightest mediastinum beside the
    trachea."""
    sm = ndimage.gaussian_filter(pix, 2.0 / px)
    tc = int(np.median(np.nonzero(m["trachea"])[1]))
    near, far = round(14 / px), round(90 / px)
    out = np.full(pix.shape[0], np.nan)
    for r in range(pix.shape[0]):
        row = sm[r, tc + near: tc + far] if side > 0 else sm[r, tc - near: tc - far: -1]
        if row.size < 10:
            continue
        # from the row's brightest point near the midline (not its first pixel, which may
        # fall on a disc space or a pedicle) outwards
        top = int(np.argmax(row[: row.size // 2]))
        hi, lo = row[top], np.percentile(row, 10)
        fall = np.flatnonzero(row[top:] < lo + EDGE_LEVEL * (hi - lo))
        if len(fall) and hi - lo > 8:
            out[r] = top + fall[0] + near
    return out


def _at(border: np.ndarray, r: int) -> float:
    return float(np.nanmedian(border[r - 2: r + 3]))


def _knuckle_row(aorta: np.ndarray) -> int:
    """The aortic knuckle's row: where the aorta's mask reaches furthest to the patient's
    left (the image's right), the middle of the rows within a pixel of that reach."""
    reach = np.where(aorta.any(1), aorta.shape[1] - 1 - np.argmax(aorta[:, ::-1], 1), -1)
    return int(np.median(np.flatnonzero(reach >= reach.max() - 1)))


@pytest.mark.parametrize("case", ["pa_31", "pa_8", "ap_31", "ap_5"])
def test_aortic_knuckle_bulges_the_left_mediastinal_border(films, case):
    """The left superior mediastinal border at the aortic knuckle (the row where the aorta's
    mask reaches furthest left) lies further out than 25 mm above it (the left subclavian
    artery's border) and 25 mm below it (the aortopulmonary window): the width profile is not
    monotone."""
    for pix, m, px in films[case]:
        k = _knuckle_row(m["aorta"])
        border = _border(pix, m, px, 1)
        d = round(25 / px)
        at, above, below = _at(border, k), _at(border, k - d), _at(border, k + d)
        assert at - above > 3 / px and at - below > 2 / px, \
            f"{case}: border {above * px:.0f} / {at * px:.0f} / {below * px:.0f} mm"


# a second contour behind the spine: the box model's torso edge, where the film fell to
# 31-43 of 255 and rose again by 9-12 levels into the paraspinal bulge outside it (measured
# on the written films, seeds 31 and 8); the smoothed noise rebounds by 1-2 levels
MAX_REBOUND = 5.0


@pytest.mark.parametrize("case", ["lat_31", "lat_8"])
def test_lateral_film_has_one_back_outline(films, case):
    """Along rows through the lungs' middle third, from the vertebral bodies' back to the
    film's edge, the film only falls (body to air, once): it never rises again by more than
    MAX_REBOUND, as it did where a torso contour lay inside the back outline."""
    for pix, m, px in films[case]:
        top, bottom = _lung_rows(m)
        sm = ndimage.gaussian_filter(pix, 1.5 / px)
        rows = [r for r in range(top + (bottom - top) // 3, top + 2 * (bottom - top) // 3, 4)
                if m["vertebral_bodies"][r].any()]  # not in a disc space
        assert len(rows) > 8
        for r in rows:
            prof = sm[r, int(np.flatnonzero(m["vertebral_bodies"][r]).max()):]
            rebound = float((prof - np.minimum.accumulate(prof)).max())
            assert prof[0] - prof[-1] > 40, "no back outline on the row"
            assert rebound < MAX_REBOUND, f"{case} row {r}: the film rises {rebound:.0f} again"


@pytest.mark.parametrize("case", ["pa_31", "pa_8", "ap_31", "ap_5"])
def test_right_mediastinal_border_widens_downward(films, case):
    """The right superior mediastinal border (the SVC) slopes out as it descends from 50 mm
    above the aortic knuckle's level to 10 mm below it (fitted slope over 0.03 mm per mm);
    the straight column it replaced narrowed toward the carina (-0.05 to -0.15)."""
    for pix, m, px in films[case]:
        k = int(np.flatnonzero(m["aorta"].any(1)).mean())
        rows = np.arange(k - round(50 / px), k + round(10 / px))
        border = _border(pix, m, px, -1)[rows]
        ok = np.isfinite(border)
        # Theil-Sen: rows where the half-level lands on a pedicle or rib edge do not tilt it
        slope = stats.theilslopes(border[ok], rows[ok])[0]
        assert slope > 0.03, f"{case}: the right border's slope {slope:+.2f}"
