"""What every engine takes and returns.

An engine renders ONE variant of a `CaseSpec` for one seed. The job layer (`imagine_med.case`)
calls it four times (or in one batch, for engines that prefer it), adds the visible label,
composes the grid and writes the public output files.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from imagine_med.errors import UserError
from imagine_med.prompt.spec import CaseSpec

# progress(fraction in [0, 1], short stage name)
ProgressFn = Callable[[float, str], None]


def no_progress(_fraction: float, _stage: str) -> None:
    return None


class EngineError(UserError):
    """A request an engine cannot serve; `message` is safe to show to the user."""


@dataclass(frozen=True)
class FindingResult:
    """Where a requested finding ended up in the image (bbox in pixels: x0, y0, x1, y1; None
    where the image does not show it). `measurements` are taken from the rendered image
    (sizes in mm, ratios, percentages), never copied from the request."""

    name: str
    label_id: int
    bbox: tuple[int, int, int, int] | None
    laterality: str | None = None
    location: str | None = None
    description: str = ""
    measurements: dict[str, float] = field(default_factory=dict)


@dataclass
class RenderResult:
    """One rendered variant.

    `pixels` is the display image (H, W) or (H, W, 3) uint8. `raw` keeps physical values where
    they exist (CT in HU as float32/int16) for DICOM export. `label_map` is (H, W) uint8 with
    0 = background and `labels` naming every id that occurs.
    """

    pixels: np.ndarray
    label_map: np.ndarray
    labels: dict[int, str]
    findings: list[FindingResult]
    pixel_spacing_mm: tuple[float, float]
    answer_key: str
    tags: dict[str, str] = field(default_factory=dict)
    raw: np.ndarray | None = None
    raw_unit: str | None = None
    # histology: a 16-bit nucleus instance map (0 = none) and one {"id", "class", ...} per id
    instances: np.ndarray | None = None
    nuclei: list[dict] | None = None
    # projections: one boolean (H, W) mask per structure, overlapping (a film shows the heart
    # through an effusion; the label map keeps one label per pixel)
    masks: dict[str, np.ndarray] | None = None
    # ultrasound cine (a "cine loop" prompt): (frames, H, W) uint8 display frames, frame 0 the
    # still in `pixels`; exported as one US Multi-frame DICOM (tags["frame_time_ms"])
    frames: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.pixels.dtype != np.uint8:
            raise TypeError(f"pixels must be uint8, got {self.pixels.dtype}")
        if self.label_map.shape != self.pixels.shape[:2]:
            raise ValueError(
                f"label map {self.label_map.shape} does not match pixels {self.pixels.shape[:2]}"
            )


@dataclass(frozen=True)
class RenderRequest:
    """One variant to render. `variation` in [0, 1] asks for anatomy near `base_seed`'s (V buttons);
    `init` carries a previous variant's pixels for image-to-image engines (Refine, upscale)."""

    spec: CaseSpec
    seed: int
    width: int
    height: int
    variation: float = 0.0
    base_seed: int | None = None
    init: np.ndarray | None = None
    strength: float | None = None


@runtime_checkable
class Renderer(Protocol):
    """Renders one (engine, modality) pair; may keep warm state (models, cached anatomy)."""

    engine: str
    version: str

    def render(self, request: RenderRequest, progress: ProgressFn = no_progress) -> RenderResult:
        ...


def render_all(renderer: Renderer, requests: list[RenderRequest],
               progress: ProgressFn = no_progress) -> list[RenderResult]:
    """Every request through the renderer: one batch where it has `render_batch`, else in turn,
    each variant reporting its share of the overall progress."""
    batch = getattr(renderer, "render_batch", None)
    if batch is not None:
        return list(batch(requests, progress))
    n = len(requests)
    results = []
    for i, req in enumerate(requests):

        def sub(frac: float, stage: str, i: int = i) -> None:
            progress((i + max(0.0, min(1.0, frac))) / n, stage)

        results.append(renderer.render(req, sub))
    return results
