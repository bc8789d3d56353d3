"""COCO JSON (the detection/segmentation format AI courses use): boxes and masks per finding.

Masks are COCO's uncompressed RLE (`{"counts": [...], "size": [h, w]}`, column-major runs
starting with background), written here so the package needs no compiled dependency;
`pycocotools` reads them (the tests decode every mask with it and compare with the label map).
"""

from __future__ import annotations

from typing import Any

import numpy as np

INFO = {
    "description": "imagine-med synthetic case set (SYNTHETIC: not real patients, not for "
                   "diagnosis)",
    "contributor": "imagine-med phantom engine",
}


def rle_encode(mask: np.ndarray) -> dict[str, Any]:
    """COCO uncompressed RLE of a boolean (H, W) mask: run lengths over the column-major
    (Fortran-order) pixels, the first run counting zeros (possibly none)."""
    flat = np.asarray(mask, dtype=bool).ravel(order="F")
    change = np.flatnonzero(np.diff(flat.astype(np.int8))) + 1
    edges = np.concatenate(([0], change, [flat.size]))
    runs = np.diff(edges).tolist()
    if flat.size and flat[0]:
        runs = [0, *runs]
    return {"counts": [int(r) for r in runs], "size": [int(mask.shape[0]), int(mask.shape[1])]}


def annotation(mask: np.ndarray, category_id: int, image_id: int, ann_id: int,
               attributes: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """One COCO annotation (bbox [x, y, w, h] in pixels, area = mask pixels), None when the
    mask is empty."""
    ys, xs = np.nonzero(mask)
    if not len(xs):
        return None
    x0, y0 = int(xs.min()), int(ys.min())
    doc = {
        "id": ann_id, "image_id": image_id, "category_id": category_id,
        "bbox": [x0, y0, int(xs.max()) + 1 - x0, int(ys.max()) + 1 - y0],
        "area": int(mask.sum()), "segmentation": rle_encode(mask), "iscrowd": 0,
    }
    if attributes:
        doc["attributes"] = attributes
    return doc


def document(images: list[dict[str, Any]], annotations: list[dict[str, Any]],
             categories: dict[int, str]) -> dict[str, Any]:
    """The whole COCO file; annotation ids renumbered 1..n in image order."""
    for i, a in enumerate(annotations, start=1):
        a["id"] = i
    return {
        "info": INFO,
        "licenses": [],
        "images": images,
        "annotations": annotations,
        "categories": [{"id": k, "name": v, "supercategory": "finding"}
                       for k, v in sorted(categories.items())],
    }
