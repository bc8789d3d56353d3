"""Contact sheet of bone disease on limb films: `python -m
imagine_med.engine.gallery_limb_disease docs/gallery` writes phantom-bone-disease.png (the
hand normal, osteoporotic, rheumatoid and osteoarthritic, zoomed on the joints; tumours: giant
cell tumour, osteosarcoma, Ewing sarcoma, a sclerotic metastasis; Paget's disease and hip
osteoarthritis by Kellgren-Lawrence grade; an osteoid osteoma; an osteoporotic Colles)."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from imagine_med.engine.gallery_limb import _render, _tile
from imagine_med.engine.sheet import contact_sheet, sheet_main

# caption, prompt, the label to centre a 2x zoomed tile on (None: the whole film)
DISEASE_TILES = (
    ("hand, 75 F, normal", "PA x-ray of the left hand, woman aged 75", "metacarpal_3"),
    ("osteoporosis", "PA x-ray of the left hand, osteoporosis, woman aged 75", "metacarpal_3"),
    (
        "rheumatoid: erosions, MCP/PIP",
        "PA x-ray of the left hand, rheumatoid arthritis, woman aged 60",
        "metacarpal_3",
    ),
    (
        "OA: DIP/PIP osteophytes",
        "PA x-ray of the left hand, osteoarthritis, woman aged 70",
        "proximal_phalanx_3",
    ),
    ("giant cell tumour", "PA x-ray of the left wrist, giant cell tumour, age 30", None),
    ("osteosarcoma", "AP x-ray of the left shoulder, osteosarcoma, age 15", "tumour"),
    ("Ewing sarcoma", "AP x-ray of the left hip, Ewing sarcoma, age 14", "tumour"),
    ("sclerotic metastasis", "AP x-ray of the left hip, sclerotic metastasis, age 70", "tumour"),
    ("osteoid osteoma (solid)", "AP x-ray of the left hip, osteoid osteoma, age 16", "tumour"),
    (
        "osteoporotic Colles",
        "lateral x-ray of the left wrist, osteoporotic Colles fracture, woman aged 80",
        None,
    ),
    ("Paget's disease", "AP x-ray of the left hip, Paget's disease, age 75", None),
    ("hip OA, KL 0", "AP x-ray of the left hip, osteoarthritis KL 0, age 70", "femoral_head"),
    ("hip OA, KL 1", "AP x-ray of the left hip, osteoarthritis KL 1, age 70", "femoral_head"),
    ("hip OA, KL 2", "AP x-ray of the left hip, osteoarthritis KL 2, age 70", "femoral_head"),
    ("hip OA, KL 3", "AP x-ray of the left hip, osteoarthritis KL 3, age 70", "femoral_head"),
    ("hip OA, KL 4", "AP x-ray of the left hip, osteoarthritis KL 4, age 70", "femoral_head"),
)


def _zoomed(prompt: str, label: str | None, size: int, seed: int):
    """The film at twice the size, cropped to `size` round the label's centre (a finding
    too small to read on a whole film at contact-sheet size)."""
    if label is None:
        return _render(prompt, size, seed)
    res = _render(prompt, 2 * size, seed)
    ids = [k for k, v in res.labels.items() if v == label]
    ys, xs = np.nonzero(np.isin(res.label_map, ids))
    cy, cx = (int(ys.mean()), int(xs.mean())) if len(ys) else (size, size)
    if label.startswith(("metacarpal", "proximal_phalanx")):  # its distal end: the joints
        cy = int(ys.min()) + size // 8
    y0 = int(np.clip(cy - size // 2, 0, size))
    x0 = int(np.clip(cx - size // 2, 0, size))
    window = (slice(y0, y0 + size), slice(x0, x0 + size))
    return replace(
        res,
        pixels=np.ascontiguousarray(res.pixels[window]),
        label_map=np.ascontiguousarray(res.label_map[window]),
    )


def build_disease_sheet(out_dir: Path, size: int = 256, seed: int = 11) -> Path:
    tiles = [_tile(_zoomed(p, lab, size, seed), c) for c, p, lab in DISEASE_TILES]
    path = out_dir / "phantom-bone-disease.png"
    contact_sheet(tiles, 4).convert("L").save(path, optimize=True)  # grey: a third the bytes
    return path


def build(out_dir: Path, size: int, seed: int) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    return [build_disease_sheet(out_dir, size, seed)]


def main(argv: list[str] | None = None) -> int:
    return sheet_main(argv, __doc__, 256, build)


if __name__ == "__main__":
    sys.exit(main())
