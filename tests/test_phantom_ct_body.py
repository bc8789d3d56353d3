"""CT anatomy a reader checks at a glance (issue 23's CT list): a vertebral body shaped like
one, with trabeculae; the diaphragmatic crura beside the aorta; a back whose outline is a
smooth curve, not octagon facets; a spleen that wraps the stomach with a hollow visceral
surface. Measured on rendered slices (HU and label maps)."""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from skimage.morphology import convex_hull_image

from imagine_med.engine.phantom.labels import ANATOMY
from imagine_med.engine.phantom.regions.chest.ct_slice import make_plane, render_slice
from imagine_med.engine.phantom.regions.chest.region import build
from imagine_med.prompt.spec import CaseSpec

SPINE, AORTA, CRUS = ANATOMY["spine"], ANATOMY["aorta"], ANATOMY["diaphragm"]
SPLEEN, STOMACH = ANATOMY["spleen"], ANATOMY["stomach"]


def _axial(seed: int, level, size: int = 384):
    spec = CaseSpec(modality="ct", region="chest", width=size, height=size, plane="axial")
    b = build(spec, seed, 0.0, None, "ct")
    L = b.scene.landmarks
    p = make_plane(b.scene, "axial", level(L), size, size)
    hu, lab = render_slice(b.scene, p, np.random.default_rng(seed))
    return hu.astype(float), lab, p, L


def _row(p, y_mm: float) -> int:
    return round((p.cv - y_mm) / p.px + (p.height - 1) / 2)


def _col(p, x_mm: float) -> int:
    return round((x_mm - p.cu) / p.px + (p.width - 1) / 2)


def _mid_body(L) -> float:
    return L["t7"] + 5 * L["size"]  # within a vertebral body, clear of its end plates


def _body(lab, p, L) -> np.ndarray:
    """The vertebral body's connected bone (with the arch it carries)."""
    comp = ndimage.label(lab == SPINE)[0]
    return comp == comp[_row(p, L["y_spine"]), _col(p, 0.0)]


def test_vertebral_body_is_heart_shaped_not_an_ellipse():
    for seed in (1, 4, 9):
        _hu, lab, p, L = _axial(seed, _mid_body)
        body = _body(lab, p, L)
        # widths half-way to the front and half-way to the back (in front of the pedicles):
        # equal for the old elliptical column, the front narrower for a thoracic body
        half = 7.5 * L["size"]
        front, back = (body[_row(p, L["y_spine"] + d)].sum() for d in (half, -half))
        assert front < 0.9 * back, (seed, front, back)


def test_cancellous_bone_has_trabeculae_that_follow_the_patient():
    cores = []
    for seed in (1, 2):
        hu, lab, p, L = _axial(seed, _mid_body)
        body = _body(lab, p, L)
        body[_row(p, L["y_spine"] - 13 * L["size"]) :] = False  # the body, not its arch
        core = ndimage.binary_erosion(body, iterations=round(4 / p.px))
        # 3 mm smoothing removes the ~11 HU pixel noise; the trabecular pattern (plates a
        # few mm apart, about 60-160 HU over the marrow) survives it
        smooth = ndimage.uniform_filter(hu, round(2 / p.px))
        assert np.std(smooth[core]) > 25, seed
        cores.append(smooth[core][:400])
    n = min(len(c) for c in cores)
    assert abs(np.corrcoef(cores[0][:n], cores[1][:n])[0, 1]) < 0.5  # each patient's own


def test_crura_flank_the_aorta_below_the_hiatus_and_meet_in_front_above_it():
    for seed in (1, 3):
        hu, lab, p, _ = _axial(seed, lambda L: L["t12"] - 12 * L["size"])
        aorta = lab == AORTA
        ar, ac = (np.mean(v) for v in np.nonzero(aorta))
        crus = lab == CRUS
        near = ndimage.binary_dilation(aorta, iterations=round(14 / p.px))
        # each limb's thickness beside the aorta: twice its deepest inside point
        depth = ndimage.distance_transform_edt(crus & near) * p.px
        right, left = 2 * depth[:, : round(ac)].max(), 2 * depth[:, round(ac) :].max()
        assert min(right, left) >= 2.5, (seed, right, left)  # a limb on each side
        # a fat plane separates each limb from the aorta and from the organs round it
        ring = ndimage.binary_dilation(crus & near, iterations=2) & ~crus & ~aorta
        assert np.median(hu[ring]) < -40, seed
        # below the hiatus the aorta's front is bare
        r_front = round(ar - np.sqrt(aorta.sum() / np.pi) - 4 / p.px)
        assert not crus[r_front - 3:r_front + 1, round(ac)].any(), seed
        _hu2, lab2, p2, _ = _axial(seed, lambda L: L["t12"] + 6 * L["size"])
        aorta2 = lab2 == AORTA
        ac2 = np.mean(np.nonzero(aorta2)[1])
        top = np.flatnonzero(aorta2[:, round(ac2)])[0]
        # above it, the median arcuate ligament: crus straight in front of the aorta
        assert (lab2[top - round(8 / p2.px):top, round(ac2)] == CRUS).any(), seed


def _sharpest_turn_deg(body: np.ndarray, p, L, chord_mm: float = 5.0) -> float:
    """The largest change of direction between neighbouring 5 mm chords of the back's
    outline beside the spine (|x| > 15 mm, so the midline furrow does not count): chamfer
    facets meet at 45 deg corners, a smooth back turns a little over every chord."""
    cols = np.flatnonzero(body.any(axis=0))
    x = (cols - (p.width - 1) / 2) * p.px + p.cu
    y = np.array([np.flatnonzero(body[:, c])[-1] for c in cols]) * p.px
    keep = (np.abs(x) > 15) & (y > _row(p, L["y_spine"] - 10 * L["size"]) * p.px)
    k = max(1, round(chord_mm / p.px))
    worst = 0.0
    for side in (x < 0, x > 0):
        xs, ys = x[keep & side], y[keep & side]
        ang = np.degrees(np.arctan2(ys[k:] - ys[:-k], xs[k:] - xs[:-k]))
        worst = max(worst, float(np.abs(ang[k:] - ang[:-k]).max()))
    return worst


def test_the_back_is_a_smooth_curve_not_octagon_facets():
    # (the chamfer-distance outline turned 40-45 deg at its corners on these two seeds)
    for seed in (1, 5):
        _hu, lab, p, L = _axial(seed, lambda L: L["t5"])
        body = ndimage.binary_fill_holes(lab != 0)
        assert _sharpest_turn_deg(body, p, L) < 30, seed


def test_spleen_wraps_the_stomach_with_a_hollow_visceral_surface():
    for seed in (1, 2, 3):
        hu, lab, p, _ = _axial(seed, lambda L: L["z_dome_left"] - 60 * L["size"])
        spleen = lab == SPLEEN
        assert spleen.sum() * p.px**2 > 600, seed
        # a crescent: well short of its convex hull (an ellipse's section fills it)
        solidity = spleen.sum() / convex_hull_image(spleen).sum()
        assert solidity < 0.85, (seed, solidity)
        # lateral and behind the stomach, across a fat plane (never touching its wall)
        stomach = ndimage.binary_fill_holes((lab == STOMACH) | (lab == ANATOMY["gastric_bubble"]))
        sr, sc = (np.mean(v) for v in np.nonzero(spleen))
        gr, gc = (np.mean(v) for v in np.nonzero(stomach))
        assert sc > gc and sr > gr  # patient left (image right), posterior (lower rows)
        touching = ndimage.binary_dilation(spleen, iterations=1) & stomach
        assert touching.sum() == 0, seed
        gap = ndimage.binary_dilation(spleen, iterations=round(2.5 / p.px)) & ~spleen & \
            ndimage.binary_dilation(stomach, iterations=round(2.5 / p.px))
        assert np.median(hu[gap]) < -30, seed
