"""The exact ray/solid integrals the radiographs rest on agree with brute-force sampling."""

from __future__ import annotations

import numpy as np

from imagine_med.engine.phantom.geometry import (
    Rays,
    Solid,
    dome_q,
    ellipsoid,
    halfspace,
    rotation,
    scale_about,
    union_length,
)


def _sampled_length(solid: Solid, src: np.ndarray, d: np.ndarray, t_max=800.0, step=0.05):
    ts = np.arange(0, t_max, step)
    pts = src[None, :] + ts[:, None] * d[None, :]
    return solid.inside(pts).sum() * step


def test_csg_path_lengths_match_sampling():
    rng = np.random.default_rng(0)
    body = ellipsoid([0, 0, 0], [120, 80, 150], rotation(0.3, 0.2, 0.1), halfspace([0, 0, 1], 60))
    holes = [ellipsoid([20, 0, 10], [40, 50, 45]),
             ellipsoid([-30, 10, -20], [35, 30, 60], rotation(0.5, 0, 0.4)),
             body.with_(dome_q([0, 0, -40], 0.01, 0.008))]
    solid = Solid([body], holes)
    src = np.array([0.0, -600.0, 0.0])
    for _ in range(25):
        target = rng.uniform([-140, 100, -160], [140, 100, 160])
        d = target - src
        d /= np.linalg.norm(d)
        exact = solid.path_length(src, Rays.from_dirs(d[None, :]))[0]
        assert abs(exact - _sampled_length(solid, src, d)) < 0.3


def test_scaled_convex_keeps_half_spaces_exact():
    piece = ellipsoid([0, 0, 0], [100, 60, 120], None, halfspace([1, 0, 0], 10),
                      halfspace([0, 0, -1], 30))
    shrunk = scale_about(piece, [-40, 0, -20], [0.6, 0.8, 0.6])
    src = np.array([0.0, -500.0, 0.0])
    rng = np.random.default_rng(1)
    for _ in range(20):
        target = rng.uniform([-120, 60, -120], [40, 60, 120])
        d = (target - src) / np.linalg.norm(target - src)
        exact = Solid([shrunk]).path_length(src, Rays.from_dirs(d[None, :]))[0]
        assert abs(exact - _sampled_length(Solid([shrunk]), src, d)) < 0.3


def test_union_length_matches_brute_force():
    rng = np.random.default_rng(2)
    s = rng.uniform(0, 10, (200, 4))
    e = s + rng.uniform(-1, 5, (200, 4))
    e = np.maximum(e, s)
    grid = np.linspace(0, 16, 16001)
    brute = np.array([(((grid[:, None] >= s[i]) & (grid[:, None] < e[i])).any(axis=1)).sum()
                      * (grid[1] - grid[0]) for i in range(len(s))])
    assert np.allclose(union_length(s, e), brute, atol=0.01)


def test_curves_pass_through_their_control_points_without_corners():
    """Catheters and leads are drawn along a spline: it meets every control point, and no two
    consecutive pieces turn by more than ~25 degrees, where the polyline turns by 90."""
    from imagine_med.engine.phantom.geometry import Tubes, catmull_rom

    ctrl = np.array([[0, 0, 0], [40, 0, 0], [40, 40, 0], [80, 40, 20.0]])
    curve = catmull_rom(ctrl, 12)
    assert all(np.min(np.linalg.norm(curve - c, axis=1)) < 1e-9 for c in ctrl)
    seg = np.diff(curve, axis=0)
    seg /= np.linalg.norm(seg, axis=1, keepdims=True)
    turn = np.degrees(np.arccos(np.clip((seg[1:] * seg[:-1]).sum(axis=1), -1, 1)))
    assert turn.max() < 25
    tubes = Tubes.from_curve(ctrl, [1.0, 2.0, 3.0, 4.0], per_segment=12)
    assert tubes.r0[0] == 1.0 and tubes.r1[-1] == 4.0 and np.all(np.diff(tubes.r0) >= 0)


def test_solid_membership_is_the_union_of_pieces_minus_the_holes():
    """Solid.inside prunes (quadric by quadric, holes by their box); the answer must be the
    plain set formula, for several pieces and overlapping holes."""
    rng = np.random.default_rng(5)
    a = ellipsoid([0, 0, 0], [40, 30, 20], rotation(0.3, 0.2, 0.1))
    b = ellipsoid([35, 0, 5], [25, 25, 25]).with_(halfspace([0, 0, 1], 10))
    holes = [ellipsoid([10, 0, 0], [12, 12, 12]), ellipsoid([30, 5, 0], [10, 20, 8])]
    pts = rng.uniform(-60, 60, (20000, 3))
    expected = (a.inside(pts) | b.inside(pts)) & ~holes[0].inside(pts) & ~holes[1].inside(pts)
    got = Solid([a, b], holes).inside(pts)
    assert expected.sum() > 500 and np.array_equal(got, expected)
    assert Solid([a, b], holes).inside(pts.reshape(100, 200, 3)).shape == (100, 200)
