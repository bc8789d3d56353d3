"""What every phantom renderer of a region shares, so each renderer module is only its region's
steps: the engine's name and version, and a batch that fans the variants out over the render
pool (engine.parallel) with a cancellation check between each variant's stages."""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from imagine_med.engine.base import ProgressFn, RenderRequest, RenderResult, no_progress
from imagine_med.engine.parallel import fan_out
from imagine_med.engine.phantom.version import VERSION


class PhantomRenderer(ABC):
    """A subclass sets `modality` and writes `render(request, progress)` for one variant."""

    engine = "phantom"
    version = VERSION
    modality: str

    @abstractmethod
    def render(self, request: RenderRequest, progress: ProgressFn = no_progress) -> RenderResult:
        """One variant: the region's model, its physics, its measured key."""

    def render_batch(self, requests: list[RenderRequest], progress: ProgressFn = no_progress
                     ) -> list[RenderResult]:
        # warm: the pool's processes import the subclass's module before their first variant
        return fan_out(self.render, requests, progress, warm=(type(self).__module__,),
                       staged=self.render)


def mask_bbox(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """A finding's box in pixels (x0, y0, x1, y1; end exclusive) from its mask; None when the
    image does not show it."""
    ys, xs = np.nonzero(mask)
    if not len(ys):
        return None
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def mask_box(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """(row0, row1, col0, col1), end exclusive, round a mask's pixels; None if empty (rows
    and columns by `any`, not np.nonzero's full index lists)."""
    rows = np.flatnonzero(mask.any(axis=1))
    if not len(rows):
        return None
    cols = np.flatnonzero(mask[rows[0]:rows[-1] + 1].any(axis=0))
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
