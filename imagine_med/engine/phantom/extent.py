"""Where a finding lies in the 3D model: its points, its volume, its distance from a slice.

The answer key of a CT slice that misses a finding says how far away it lies, and the key
quotes a lesion's volume; both come from the built solids (sampled), not from the request.
Sampling uses a fixed generator, so the same model gives the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from imagine_med.engine.phantom.geometry import Solid, Tubes
from imagine_med.engine.phantom.scene import Component, Scene

SAMPLES = 24000  # points per solid piece and pass: ~1% volume error, ~1 mm position error
AXIS_WORDS = {2: ("above", "below"), 1: ("in front of", "behind"),
              0: ("to the left of", "to the right of")}  # +axis word, -axis word


@dataclass(frozen=True)
class Extent:
    """A finding's sampled points (N, 3) in mm and the volume of its solids in ml."""

    points: np.ndarray
    volume_ml: float

    def offset(self, axis: int, level: float) -> float:
        """Signed distance (mm) from the plane `axis = level` to the nearest point of the
        finding: 0 where it crosses the plane, > 0 where it lies on the +axis side."""
        if not len(self.points):
            return float("nan")
        c = self.points[:, axis]
        if c.min() <= level <= c.max():
            return 0.0
        return float(c.min() - level) if c.min() > level else float(c.max() - level)

    def median(self, axis: int) -> float:
        return float(np.median(self.points[:, axis]))


def components(scene: Scene, finding: str, ct: bool) -> list[Component]:
    """The labelled components that make up a finding on CT (ct=True) or a film."""
    return [c for c in scene.components if c.finding == finding and c.labelled
            and (c.ct if ct else c.xray)]


def extent(scene: Scene, finding: str, ct: bool = True) -> Extent:
    rng = np.random.default_rng(20261207)
    pts: list[np.ndarray] = []
    volume = 0.0
    for comp in components(scene, finding, ct):
        if comp.solid is not None:
            for k in range(len(comp.solid.pieces)):
                p, v = _sample_piece(comp.solid, k, rng)
                pts.append(p)
                volume += v
        elif comp.tubes is not None and len(comp.tubes):
            pts.append(_tube_points(comp.tubes))
    allpts = np.concatenate(pts) if pts else np.zeros((0, 3))
    return Extent(allpts, volume / 1000.0)


def _sample_piece(solid: Solid, k: int, rng: np.random.Generator
                  ) -> tuple[np.ndarray, float]:
    """Points inside piece k of the solid (holes removed) and its volume in mm3. A piece's
    box can be far larger than the piece (a lobe clipped to a blob), so a second pass
    samples the box round the first pass's hits."""
    one = Solid([solid.pieces[k]], solid.holes)
    lo, hi = (np.asarray(b, float) for b in solid.pieces[k].bounds)
    lo, hi = np.maximum(lo, -600.0), np.minimum(hi, 600.0)
    for attempt in range(2):
        cand = lo + rng.uniform(0, 1, (SAMPLES, 3)) * (hi - lo)
        hit = cand[one.inside(cand)]
        volume = float(len(hit) / SAMPLES * np.prod(hi - lo))
        if not len(hit) or attempt == 1:
            break
        step = (hi - lo) / SAMPLES ** (1 / 3)
        new_lo = np.maximum(hit.min(axis=0) - 2 * step, lo)
        new_hi = np.minimum(hit.max(axis=0) + 2 * step, hi)
        if np.prod(new_hi - new_lo) > 0.5 * np.prod(hi - lo):
            break
        lo, hi = new_lo, new_hi
    return hit, volume


def _tube_points(t: Tubes, per_segment: int = 6) -> np.ndarray:
    """Points along each tube's axis, pushed out by its radius along every patient axis (the
    extreme points a slice could cut)."""
    f = np.linspace(0, 1, per_segment)[None, :, None]
    axis_pts = t.p0[:, None, :] + f * (t.p1 - t.p0)[:, None, :]
    r = (t.r0[:, None] + f[..., 0] * (t.r1 - t.r0)[:, None])[..., None]
    offsets = np.concatenate([np.eye(3), -np.eye(3), np.zeros((1, 3))])
    pts = axis_pts[:, :, None, :] + r[..., None] * offsets[None, None]
    return pts.reshape(-1, 3)
