"""The skin lesions' fast paths give the values of the plain ones they replace (bytes kept)."""

from __future__ import annotations

import numpy as np
import pytest

from imagine_med.engine.phantom.regions.skin.lesions import (
    LABELS,
    _distance,
    _new,
    _pile_up,
    _stamp,
)
from imagine_med.engine.phantom.regions.skin.skin import F32, make_field


@pytest.mark.parametrize("size,mm", [(768, 12.0), (768, 24.0), (301, 12.0)])
def test_distance_is_hypot_value_for_value(size, mm):
    f = make_field(size, size, mm)
    rng = np.random.default_rng(size)
    for cx, cy in rng.uniform(-0.6 * mm, 0.6 * mm, (4, 2)):
        dx, dy = f.x[0] - F32(cx), f.y[:, 0] - F32(cy)
        assert np.array_equal(_distance(dx, dy), np.hypot(f.x - F32(cx), f.y - F32(cy)))


def test_streak_pile_up_equals_stamping_one_disc_at_a_time():
    """Discs across the image's edges and off it, on pigment that reaches the cap of 4."""
    f = make_field(256, 256, 12.0)
    rng = np.random.default_rng(3)
    n = 400
    xs = rng.uniform(-6.3, 6.3, n).tolist()
    ys = rng.uniform(-6.3, 6.3, n).tolist()
    radii = rng.choice([0.04, 0.07], n).tolist()
    fast, plain = _new("melanoma", f, (0.0, 0.0)), _new("melanoma", f, (0.0, 0.0))
    start = rng.uniform(0.0, 3.9, f.x.shape).astype(F32)
    fast.mel_junction[:] = start
    plain.mel_junction[:] = start
    _pile_up(f, fast, xs, ys, radii)
    for cx, cy, r in zip(xs, ys, radii, strict=True):
        got = _stamp(f, cx, cy, r)
        if got is None:
            continue
        sl, soft, hard = got
        soft *= plain.mel_junction[sl] < 4.0
        plain.mel_junction[sl] += soft
        plain.labels[sl][hard] = LABELS["streaks"]
    assert np.array_equal(fast.mel_junction, plain.mel_junction)
    assert np.array_equal(fast.labels, plain.labels)
    assert (fast.labels == LABELS["streaks"]).any()
    assert (fast.mel_junction > start).any() and (fast.mel_junction >= 4.0).any()
