"""The `stack` job: CT or MRI slices around one variant's level, for the web case viewer.

A job like any render (a worker runs the phantom; the web process never renders), stored as one
`stack.npz` (raw values: int16 HU or uint16 MR signal, uint8 labels per slice, the slice
positions) and `stack.json` (unit, label names, spacing, the window the variant was shown in)."""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np

from imagine_med.queue.api import JobQueue
from imagine_med.queue.types import JobInfo

NPZ_NAME = "stack.npz"
JSON_NAME = "stack.json"


def _variant_tags(q: JobQueue, parent_id: str, variant: int) -> dict[str, Any]:
    """The variant's DICOM-ish tags from its case.json (its window, for the first view)."""
    path = q.files(parent_id).get("case.json")
    if path is None:
        return {}
    doc = json.loads(path.read_text())
    v = next((v for v in doc.get("variants") or [] if v.get("index") == variant), {})
    return dict(v.get("tags") or {})


def render_stack(q: JobQueue, info: JobInfo, progress: Any
                 ) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """Params parent_id, variant, seed. The parent's own reproduction (base seed, variation
    strength) is applied, so the stack shows the phantom the variant was cut from."""
    from imagine_med.engine.phantom.stack import slice_stack
    from imagine_med.prompt.spec import CaseSpec
    from imagine_med.queue.tasks import follow_up_kwargs

    spec = CaseSpec.model_validate(info.spec)
    parent = q.status(str(info.params["parent_id"]))
    again = follow_up_kwargs(parent.kind, parent.params) if parent is not None else {}
    slices = slice_stack(spec, int(info.params["seed"]), variation=again.get("variation", 0.0),
                      base_seed=again.get("base_seed"), progress=progress)
    buf = io.BytesIO()
    np.savez_compressed(buf, raw=np.stack([s.raw for s in slices]),
                        labels=np.stack([s.labels for s in slices]),
                        level_mm=np.array([s.level_mm for s in slices], dtype=np.float64))
    names: dict[str, str] = {}
    for s in slices:
        names.update({str(k): v for k, v in s.names.items()})
    tags = _variant_tags(q, str(info.params["parent_id"]), int(info.params["variant"]))
    mr = spec.modality == "mri"
    doc = {"variant": int(info.params["variant"]), "plane": spec.plane or "axial",
           "unit": "MR" if mr else "HU", "dtype": "<u2" if mr else "<i2",
           "window_center": float(tags.get("window_center") or 40),
           "window_width": float(tags.get("window_width") or 400),
           "count": len(slices), "centre": len(slices) // 2,
           "level_mm": [s.level_mm for s in slices],
           "step_mm": abs(slices[1].level_mm - slices[0].level_mm) if len(slices) > 1 else 0.0,
           "width": spec.width, "height": spec.height, "labels": names}
    return {NPZ_NAME: q.blobs.put(buf.getvalue(), ".npz"),
            JSON_NAME: q.blobs.put(json.dumps(doc).encode(), ".json")}, []
