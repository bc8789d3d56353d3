"""A parsed sketch and a prompt's spec made into the spec of a sketch job."""

from __future__ import annotations

import numpy as np

from imagine_med.engine.phantom.sketch.parse import SketchError, encode_labels
from imagine_med.prompt.spec import CaseSpec

SIZE_STEP = 8  # image sides are kept multiples of 8 (as the parser's --size and --ar give)


def sketch_spec(spec: CaseSpec, labels: np.ndarray) -> CaseSpec:
    """`spec` (what the prompt asked: modality, view, sequence, window, size) rendering
    `labels` instead of a region's model. The image keeps the sketch's aspect ratio at the
    spec's width."""
    if spec.engine != "phantom":
        raise SketchError("A sketch is rendered by the phantom engine; drop --engine.")
    h, w = labels.shape
    width = spec.width
    height = int(np.clip(round(width * h / w / SIZE_STEP) * SIZE_STEP, 64, 2048))
    doc = spec.model_dump()
    doc.update(region="sketch", sketch=encode_labels(labels), width=width, height=height)
    return CaseSpec.model_validate(doc)
