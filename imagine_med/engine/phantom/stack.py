"""A stack of CT slices around a rendered variant's level, for the web case viewer.

Scrolling through neighbouring slices is how a radiologist reads a CT; one slice shows a nodule
as a disc, a stack shows it appear, grow and vanish. The stack is built from the same phantom
(same spec, seed, variation and lesion placement as the variant) and sliced at the variant's
`level_mm` plus and minus `step_mm`, so slice 0 of the stack is the variant's own plane.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from imagine_med.engine.base import EngineError, ProgressFn, no_progress
from imagine_med.engine.phantom.ct import make_plane, render_slice
from imagine_med.engine.phantom.model import CT_PLANES, build
from imagine_med.engine.phantom.renderer import (
    _labels_present,
    _seed_rng,
    level_target,
    slice_level,
)
from imagine_med.prompt.spec import CaseSpec

# Slice spacing and count: 5 mm is a routine chest CT reconstruction interval (thin 1-1.25 mm
# slices are for reformatting); 9 slices cover 4 cm, enough to scroll through a lesion.
DEFAULT_STEP_MM = 5.0
DEFAULT_COUNT = 9
MAX_COUNT = 41


@dataclass
class StackSlice:
    offset: int  # slices from the variant's own plane (0 = that plane)
    level_mm: float
    hu: np.ndarray  # int16 HxW, Hounsfield units
    labels: np.ndarray  # uint8 HxW
    names: dict[int, str]


def ct_stack(spec: CaseSpec, seed: int, *, variation: float = 0.0, base_seed: int | None = None,
             count: int = DEFAULT_COUNT, step_mm: float = DEFAULT_STEP_MM,
             progress: ProgressFn = no_progress) -> list[StackSlice]:
    """`count` slices (odd; centred on the variant's level) of the chest CT phantom the variant
    was rendered from. Raises EngineError for anything but phantom chest CT."""
    if spec.modality != "ct" or (spec.region or "chest") != "chest":
        raise EngineError("Slice stacks are available for phantom chest CT.")
    if count < 1 or count > MAX_COUNT:
        raise EngineError(f"A stack has 1 to {MAX_COUNT} slices, not {count}.")
    if not 0.5 <= step_mm <= 20:
        raise EngineError(f"Slice spacing is 0.5 to 20 mm, not {step_mm:g}.")
    plane_name = (spec.plane or "axial").lower()
    if plane_name not in CT_PLANES:
        raise EngineError(f"CT planes are axial, coronal and sagittal; not '{plane_name}'.")
    progress(0.05, "anatomy")
    b = build(spec, seed, variation, base_seed, "ct", level_target(spec, plane_name))
    centre, _ = slice_level(spec, b, plane_name)
    half = count // 2
    out = []
    for i, k in enumerate(range(-half, count - half)):
        level = centre + k * step_mm
        plane = make_plane(b.scene, plane_name, level, spec.width, spec.height)
        # the variant's own noise seed for its own plane; a distinct stream for each neighbour
        rng = _seed_rng(seed, 2) if k == 0 else _seed_rng(seed, 1000 + k)
        hu, labels = render_slice(b.scene, plane, rng)
        out.append(StackSlice(k, round(float(level), 2),
                              np.clip(np.round(hu), -1024, 3071).astype(np.int16), labels,
                              _labels_present(labels)))
        progress(0.1 + 0.9 * (i + 1) / count, "slices")
    return out
