"""The pulmonary vessel tree: curved branches leaving their parents at acute angles, and on a
PA film markings that radiate from the hila, fade out over the outer third of the lung and are
larger in the lower zones (upright)."""

from __future__ import annotations

import numpy as np

from imagine_med.engine.phantom.labels import ANATOMY, LUNG_LABELS
from imagine_med.engine.phantom.regions.chest.region import build
from imagine_med.engine.phantom.xray import draw_tubes, make_view, render_film
from imagine_med.prompt.spec import CaseSpec

PA = CaseSpec(modality="xray", region="chest", view="pa")


def _joint_angles(t) -> tuple[np.ndarray, np.ndarray]:
    """Degrees between a piece and each piece that starts where it ends: at forks (two or
    more start there) and along a branch (one does)."""
    ends = {tuple(p): i for i, p in enumerate(np.round(t.p1, 6))}
    starts: dict[tuple, list[int]] = {}
    for i, p in enumerate(np.round(t.p0, 6)):
        starts.setdefault(tuple(p), []).append(i)
    d = t.p1 - t.p0
    d /= np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-9)
    forks, bends = [], []
    for p, outs in starts.items():
        if p in ends:
            a = np.degrees(np.arccos(np.clip(d[outs] @ d[ends[p]], -1, 1)))
            (forks if len(outs) > 1 else bends).extend(a)
    return np.array(forks), np.array(bends)


def test_vessels_branch_at_acute_angles_and_curve_smoothly():
    for seed in (3, 7):
        b = build(PA, seed, 0.0, None, "pa")
        parts = [_joint_angles(t) for t in b.anatomy.trees.values() if len(t)]
        forks = np.concatenate([f for f, _ in parts])
        bends = np.concatenate([c for _, c in parts])
        assert len(forks) > 300
        # daughters leave at 20-45 degrees, not at right angles
        assert 20 < np.median(forks) < 40
        assert np.percentile(forks, 90) < 45
        # each branch is a curve of pieces meeting at small angles (no elbows)
        assert len(bends) > len(forks) / 2
        assert np.percentile(bends, 90) < 25


def test_film_markings_fade_to_the_periphery_and_are_larger_in_the_lower_zones():
    inner, outer, low, high = [], [], [], []
    for seed in (3, 7):
        b = build(PA, seed, 0.0, None, "pa")
        v = make_view(b.scene, "pa", 384, 384)
        _px, lab, _ = render_film(b.scene, v, np.random.default_rng(seed))
        lung = np.isin(lab, [ANATOMY[n] for n in (*LUNG_LABELS, "pulmonary_vessels")])
        # blood along each ray through the lobes' vessels (mm), as the film draws them
        vessel = sum(draw_tubes(c.tubes, v)[0] for name, c in b.anatomy.comps.items()
                     if name.startswith("vessels_"))
        rows, cols = np.indices(lab.shape)
        for side in ("right", "left"):
            u, w, _m = v.project(b.scene.points[f"hilum_{side}"][None])
            hu, hv = float(u[0]), float(w[0])
            half = lung & ((cols < hu) if (u[0] < lab.shape[1] / 2) else (cols > hu))
            dist = np.hypot(cols - hu, rows - hv)
            reach = np.percentile(dist[half], 98)
            inner.append(vessel[half & (dist < reach / 3)].mean())
            outer.append(vessel[half & (dist > 2 * reach / 3)].mean())
            mid = half & (dist > reach / 4) & (dist < 2 * reach / 3)
            low.append(vessel[mid & (rows > hv)].mean())
            high.append(vessel[mid & (rows < hv)].mean())
    # the outer third of the lung shows (almost) no vessels
    assert np.mean(outer) < 0.08 * np.mean(inner)
    # upright: lower-zone vessels larger than upper-zone ones
    assert np.mean(low) > 1.25 * np.mean(high)


def _crossing(t, view, min_px: float = 2.0) -> tuple[int, int, float, float]:
    """Two pieces of a tree that do not meet in 3D but whose projected axes cross near their
    middles at over 40 degrees, both over `min_px` in projected radius: (i, j, u, v)."""
    u0, v0, m0 = view.project(t.p0)
    u1, v1, m1 = view.project(t.p1)
    rho = np.minimum(t.r0 * m0, t.r1 * m1) / view.px
    a, b = np.c_[u0, v0], np.c_[u1 - u0, v1 - v0]
    wide = np.flatnonzero(rho >= min_px)
    for i in wide:
        for j in wide[wide > i]:
            den = b[i, 0] * b[j, 1] - b[i, 1] * b[j, 0]
            cos = abs(b[i] @ b[j]) / max(np.linalg.norm(b[i]) * np.linalg.norm(b[j]), 1e-9)
            if abs(den) < 1e-9 or cos > np.cos(np.radians(40)):
                continue
            d = a[j] - a[i]
            s, r = (d[0] * b[j, 1] - d[1] * b[j, 0]) / den, (d[0] * b[i, 1] - d[1] * b[i, 0]) / den
            ends = np.r_[t.p0[[i, j]], t.p1[[i, j]]]
            apart = min(np.linalg.norm(e - f) for e in ends[[0, 2]] for f in ends[[1, 3]])
            if 0.3 < s < 0.7 and 0.3 < r < 0.7 and apart > 10:
                u, v = a[i] + s * b[i]
                return int(i), int(j), float(u), float(v)
    raise AssertionError("no two wide pieces cross")


def test_film_adds_crossing_vessels():
    """Where two branches of a lobe's tree cross on the film, the beam crosses both: the
    film there is denser than with either branch alone (a drawing that keeps the larger
    path where tubes overlap would show one of them only)."""
    b = build(PA, 31, 0.0, None, "pa")
    v = make_view(b.scene, "pa", 512, 512)
    name = next(n for n in ("vessels_rll", "vessels_lll", "vessels_rul", "vessels_lul")
                if n in b.anatomy.comps)
    comp = b.anatomy.comps[name]
    tubes = comp.tubes
    i, j, u, w = _crossing(tubes, v)
    rows, cols = slice(round(w) - 1, round(w) + 2), slice(round(u) - 1, round(u) + 2)

    def film(drop: int | None) -> float:
        keep = np.ones(len(tubes), bool)
        if drop is not None:
            keep[drop] = False
        comp.tubes = tubes.subset(keep)
        px, _lab, _ = render_film(b.scene, v, np.random.default_rng(5))
        comp.tubes = tubes
        return float(px[rows, cols].astype(float).mean())

    both, without_i, without_j = film(None), film(i), film(j)
    # each branch adds its own density where the two cross (denser = brighter)
    assert both - without_i > 3, (both, without_i, without_j)
    assert both - without_j > 3, (both, without_i, without_j)
