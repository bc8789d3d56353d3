"""The ultrasound tests' way to a written case: render a prompt at a test size and read
back a variant's pixels (grey) and label map, cropped to the image (below it, the label band
of a written PNG)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from imagine_med.case import render_case, write_case
from imagine_med.prompt import parse


def written_case(prompt: str, out: Path, seed: int, size: int) -> dict:
    spec = parse(prompt)[0].model_copy(update={"width": size, "height": size})
    write_case(render_case(spec, seed=seed), out)
    return json.loads((out / "case.json").read_text())


def written_variant(out: Path, i: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    pix = np.asarray(Image.open(out / f"variant-{i}.png").convert("L"))[:size].astype(float)
    lab = np.asarray(Image.open(out / f"variant-{i}.labels.png"))[:size]
    return pix, lab
