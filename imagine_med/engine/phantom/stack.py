"""A stack of slices around a rendered variant's level, for the web case viewer.

Scrolling through neighbouring slices is how a radiologist reads a CT or MRI; one slice shows a
nodule as a disc, a stack shows it appear, grow and vanish. The stack is built from the same
phantom as the variant (same spec and seed; for the chest also the variation and lesion
placement) and cut at the variant's level plus and minus `step_mm`, so the centre slice is the
variant's own plane with its own noise: the same raw values, pixel for pixel. Chest CT (HU),
head CT (HU) and brain MRI (the sequence's signal, as stored in DICOM) are stacked.
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

# Slice spacing and count: 5 mm is a routine CT reconstruction interval and a common MRI slice
# thickness (thin slices are for reformatting); 9 slices cover 4 cm, enough to scroll through a
# lesion.
DEFAULT_STEP_MM = 5.0
DEFAULT_COUNT = 9
MAX_COUNT = 41


@dataclass
class StackSlice:
    offset: int  # slices from the variant's own plane (0 = that plane)
    level_mm: float
    raw: np.ndarray  # int16 HU (CT) or uint16 MR signal, HxW
    labels: np.ndarray  # uint8 HxW
    names: dict[int, str]


def _offsets(count: int) -> range:
    half = count // 2
    return range(-half, count - half)


def _check(spec: CaseSpec, count: int, step_mm: float) -> str:
    if count < 1 or count > MAX_COUNT:
        raise EngineError(f"A stack has 1 to {MAX_COUNT} slices, not {count}.")
    if not 0.5 <= step_mm <= 20:
        raise EngineError(f"Slice spacing is 0.5 to 20 mm, not {step_mm:g}.")
    plane = (spec.plane or "axial").lower()
    if plane not in CT_PLANES:
        raise EngineError(f"Planes are axial, coronal and sagittal; not '{plane}'.")
    return plane


def slice_stack(spec: CaseSpec, seed: int, *, variation: float = 0.0,
                base_seed: int | None = None, count: int = DEFAULT_COUNT,
                step_mm: float = DEFAULT_STEP_MM,
                progress: ProgressFn = no_progress) -> list[StackSlice]:
    """`count` slices centred on the variant's level. Raises EngineError for what has no
    phantom volume to slice (radiographs, ultrasound, slides, photographs, sketches)."""
    from imagine_med.engine.phantom.renderer_head import is_head

    plane = _check(spec, count, step_mm)
    if spec.engine != "phantom" or spec.region == "sketch":
        raise EngineError("Slice stacks are made of the phantom's CT and MRI volumes.")
    if spec.modality == "mri" or (spec.modality == "ct" and is_head(spec)):
        if not is_head(spec) and spec.region is not None:
            raise EngineError("Slice stacks of MRI are made for the brain phantom.")
        return _head_stack(spec, seed, plane, count, step_mm, progress)
    if spec.modality != "ct" or (spec.region or "chest") != "chest":
        raise EngineError("Slice stacks are made for phantom CT (chest, head) and brain MRI.")
    progress(0.05, "anatomy")
    b = build(spec, seed, variation, base_seed, "ct", level_target(spec, plane))
    centre, _ = slice_level(spec, b, plane)
    out = []
    for i, k in enumerate(_offsets(count)):
        level = centre + k * step_mm
        p = make_plane(b.scene, plane, level, spec.width, spec.height)
        # the variant's own noise stream on its own plane; a distinct one on each neighbour
        rng = _seed_rng(seed, 2) if k == 0 else _seed_rng(seed, 1000 + k)
        hu, labels = render_slice(b.scene, p, rng)
        out.append(StackSlice(k, round(float(level), 2),
                              np.clip(np.round(hu), -1024, 3071).astype(np.int16), labels,
                              _labels_present(labels)))
        progress(0.1 + 0.9 * (i + 1) / count, "slices")
    return out


def _head_stack(spec: CaseSpec, seed: int, plane: str, count: int, step_mm: float,
                progress: ProgressFn) -> list[StackSlice]:
    """As renderer_head's PhantomHeadCT / PhantomMRI, at each level (same seeds at the centre)."""
    from imagine_med.engine.phantom.physics.ct import render_ct
    from imagine_med.engine.phantom.physics.mri import SEQUENCES, render_mri
    from imagine_med.engine.phantom.regions.head.anatomy import LABELS
    from imagine_med.engine.phantom.renderer_head import _REGION, make_grid
    from imagine_med.engine.phantom.renderer_head import slice_level as head_level

    seq = (spec.sequence or "t2").lower()
    if spec.modality == "mri" and seq not in SEQUENCES:
        raise EngineError(f"Unknown MRI sequence '{seq}'. Use: {', '.join(SEQUENCES)}.")
    field = "3T" if "3t" in (spec.prompt or "").lower().replace(" ", "") else "1.5T"
    progress(0.05, "anatomy")
    head = _REGION.build(spec, seed)
    centre, _ = head_level(spec, head, plane)
    names = {v: k for k, v in LABELS.items()}
    out = []
    for i, k in enumerate(_offsets(count)):
        grid = make_grid(head, plane, centre + k * step_mm, spec.width, spec.height)
        sample = head.sample(grid)
        labels = sample.label_map()
        stream = [] if k == 0 else [1000 + k]
        if spec.modality == "ct":
            hu = render_ct(sample, np.random.default_rng([seed, 2, *stream]), grid.px)
            raw = np.clip(np.round(hu), -1024, 3071).astype(np.int16)
        else:
            image, _ = render_mri(sample, seq, field, np.random.default_rng([seed, 3, *stream]))
            raw = np.clip(np.round(image), 0, 65535).astype(np.uint16)
        out.append(StackSlice(k, round(float(grid.level_mm), 2), raw, labels,
                              {int(j): names[int(j)] for j in np.unique(labels) if j}))
        progress(0.1 + 0.9 * (i + 1) / count, "slices")
    return out
