"""The shared projection physics (physics/radiography.py): line integrals, magnification and
the projected label map, checked against closed-form values."""

from __future__ import annotations

import numpy as np

from imagine_med.engine.phantom.physics.radiography import (
    EXTREMITY,
    Beam,
    Block,
    Klass,
    VoxelGrid,
    chord,
    expose,
    mu_per_mm,
    project,
)

CLASSES = [Klass(None, "muscle"), Klass("bone", "cortical_bone", 2),
           Klass("pin", "cortical_bone", 5)]


def _cube(n: int, depth: int) -> np.ndarray:
    ids = np.ones((n, n, depth), np.uint8)
    ids[n // 2 - 1:n // 2 + 1, n // 2 - 1:n // 2 + 1, :3] = 2  # a labelled pin on the ray axis
    return ids


def test_parallel_line_integral_and_labels():
    grid = VoxelGrid(0.5, 40, 40, 40, 500.0)
    ids = _cube(20, 20)
    proj = project([Block(ids, (10, 10, 10))], CLASSES, grid, Beam(None), (40, 40), 0.5,
                   container="muscle")
    # 20 voxels of 0.5 mm of bone in muscle: (mu_bone - mu_muscle) * 10 mm at the block centre
    expect = (mu_per_mm("cortical_bone") - mu_per_mm("muscle")) * 10.0
    assert abs(float(proj.line[15, 15]) - expect) < 1e-4
    assert float(proj.line[2, 2]) == 0.0  # outside the block
    names = proj.label_names
    assert names[proj.labels[15, 15]] == "bone"
    assert names[proj.labels[20, 20]] == "pin"  # higher priority wins along the ray
    assert proj.labels[2, 2] == 0


def test_divergent_beam_magnifies_by_sid_over_distance():
    """A block halfway between source and detector projects twice as wide."""
    grid = VoxelGrid(0.5, 200, 200, 20, 495.0)
    ids = np.ones((40, 40, 20), np.uint8)
    proj = project([Block(ids, (80, 80, 0))], CLASSES, grid, Beam(1000.0), (200, 200), 0.5,
                   container="muscle")
    cols = np.flatnonzero(proj.labels[100] > 0)
    width_mm = (cols.max() - cols.min() + 1) * 0.5
    assert abs(width_mm - 2 * 20.0) <= 1.0


def test_expose_attenuates_and_chord_is_exact():
    rng = np.random.default_rng(0)
    line = np.zeros((64, 64), np.float32)
    line[:, 32:] = 2.0
    q = expose(line, 0.2, rng, EXTREMITY)
    assert q[:, 40:].mean() > q[:, :24].mean() + 1.5  # Beer-Lambert: -log signal ~ integral
    # a circle of radius 10 cut at distance 6: chord 16
    c = chord(np.array(10.0), np.array(10.0), np.array(6.0), 0.0, 1.0)
    assert abs(float(c) - 16.0) < 1e-6
