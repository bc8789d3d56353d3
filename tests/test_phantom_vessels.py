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
