"""Shortcuts on the chest film path that must equal the plain computation they replace:
the coarse masks' packed upsampling, the film's sums on each solid's box, and the costal
cartilages built for all ribs at once (measured on real chest builds)."""

from __future__ import annotations

import numpy as np
import pytest

from imagine_med.engine.phantom.geometry import Tubes
from imagine_med.engine.phantom.labels import LUNG_LABELS
from imagine_med.engine.phantom.regions.chest import bones
from imagine_med.engine.phantom.regions.chest.frame import SIDES
from imagine_med.engine.phantom.regions.chest.renderer import build
from imagine_med.engine.phantom.xray import (
    _lung_sum,
    _nearest,
    _nearest_masks,
    _RayCache,
    make_view,
    solid_lengths_boxed,
)
from imagine_med.prompt import parse

SIZE = 512
SCALE = 3  # render_film's coarse grid at 512 px


@pytest.mark.parametrize("n", [1, 8, 13, 25])
def test_packed_masks_equal_nearest_one_by_one(n: int):
    rng = np.random.default_rng(n)
    coarse = {f"m{i}": rng.random((171, 171)) < (i + 1) / (n + 1) for i in range(n)}
    out = _nearest_masks(coarse, SIZE, SIZE)
    assert list(out) == list(coarse)
    arrays = list(out.values())
    for name, m in coarse.items():
        plain = _nearest(m, SIZE, SIZE)
        assert out[name].dtype == bool and np.array_equal(out[name], plain)
        assert plain.sum() > 0
    # each its own array: a film ORs tube masks into them in place
    assert not any(np.shares_memory(a, b) for i, a in enumerate(arrays) for b in arrays[i + 1:])


@pytest.mark.parametrize("view", ["pa", "lateral"])
def test_lengths_are_nought_outside_a_solids_box(view: str):
    """render_film sums each solid's share (and its shell's inner solid's) on the box
    solid_lengths_boxed gives: outside it every length must be +0 (no -0, which a sum
    would have turned into +0)."""
    spec = parse(f"{view} chest x-ray, left pleural effusion --seed 7")[0]
    scene = build(spec, 7, 0.0, None, view).scene
    cache = _RayCache(make_view(scene, view, SIZE, SIZE), SCALE)
    comps = [c for c in scene.components if c.solid is not None and c.xray]
    cache.count_uses([c.solid for c in comps])
    small = 0
    for c in comps:
        full, sl = solid_lengths_boxed(c.solid, cache)
        outside = np.ones(full.shape, bool)
        outside[sl] = False
        arrays = [full]
        if c.shell_mm > 0 and c.shell_material:
            arrays.append(solid_lengths_boxed(c.solid.shrunk(c.shell_mm), cache)[0])
        for a in arrays:
            assert not a[outside].any() and not np.signbit(a).any()
        small += outside.mean() > 0.5
    assert small >= 10  # most solids are small: their boxes leave most of the grid out


def _plain_cartilage_tubes(tips, s, zT, cav_ab, y_cav):
    """bones._costal_cartilage's centrelines as it built them, rib by rib."""
    attach = {1: 2.9, 2: 4.5, 3: 5.5, 4: 6.4, 5: 7.3, 6: 8.1, 7: 8.8}
    parts = []
    for _side, sx in SIDES.items():
        lines = {}
        for k in range(1, 11):
            phi1, z1, r1 = tips[(_side, k)]
            if k <= 7:
                phi2, z2 = np.pi - 18 * s / cav_ab(zT(attach[k]))[0], zT(attach[k])
            else:
                above = lines[k - 1]
                target = above[len(above) // 2]
                phi2 = np.pi - np.arcsin(min(1.0, abs(target[0]) / cav_ab(target[2])[0]))
                z2 = target[2] - 4 * s
            phis = np.linspace(phi1, phi2, 8)
            t = np.linspace(0.0, 1.0, 8)
            zz = z1 + (z2 - z1) * t ** 0.8
            rr = r1 * 0.9 + (3.2 * s - r1 * 0.9) * t
            line = bones._on_wall(sx, phis, zz, rr, cav_ab, y_cav)
            lines[k] = line
            parts.append(Tubes.from_polyline(line, rr))
    return Tubes.concat(parts)


@pytest.mark.parametrize("seed", [3, 11])
def test_cartilages_at_once_equal_rib_by_rib(seed: int, monkeypatch):
    calls = []
    real = bones._costal_cartilage

    def spy(scene, tips, s, zT, cav_ab, y_cav, age):
        calls.append((tips, s, zT, cav_ab, y_cav, age))
        return real(scene, tips, s, zT, cav_ab, y_cav, age)

    monkeypatch.setattr(bones, "_costal_cartilage", spy)
    spec = parse(f"pa chest x-ray, normal, elderly --seed {seed}")[0]
    scene = build(spec, seed, 0.0, None, "pa").scene
    (tips, s, zT, cav_ab, y_cav, age), = calls
    plain = _plain_cartilage_tubes(tips, s, zT, cav_ab, y_cav)
    built = [c.tubes for c in scene.components if c.label == "costal_cartilage"]
    assert len(built) == 2  # an elderly patient's: plain and calcified stretches
    got = Tubes.concat(built)
    # the same tubes in the same order: the plain stretches, then the calcified ones, as
    # the same draws pick them
    tip_z = np.array([tips[key][1] for key in sorted(tips)])
    rng = np.random.default_rng(np.frombuffer(tip_z.tobytes(), np.uint32))
    share = float(np.clip((age - 35) / 40, 0, 0.75)) ** 1.5  # as _costal_cartilage draws
    calc = rng.uniform(size=len(plain)) < share
    want = Tubes.concat([plain.subset(~calc), plain.subset(calc)])
    got = Tubes.concat(built)
    assert len(plain) == 140 and 0 < calc.sum() < 140
    for a in ("p0", "p1", "r0", "r1"):
        assert np.array_equal(getattr(got, a), getattr(want, a))


def test_lung_sum_equals_numpys_sum_of_the_lobes():
    """xray._lung_sum adds the lobes in place; the texture and the display's lung mask read
    it where they read np.sum(parts, axis=0) before."""
    rng = np.random.default_rng(4)
    lengths = {n: rng.gamma(2.0, 30.0, (171, 171)) for n in LUNG_LABELS[::-1]}
    lengths["heart"] = np.ones((171, 171))
    parts = [lengths[n] for n in LUNG_LABELS]
    assert np.array_equal(_lung_sum(lengths), np.sum(parts, axis=0))
    assert _lung_sum({"heart": lengths["heart"]}) is None
