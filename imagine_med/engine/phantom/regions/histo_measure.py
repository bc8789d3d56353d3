"""Measurements shared by the organ answer keys, all read from a rendered field's label map
and nucleus instance map (never from what the builder meant to draw)."""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def components(mask: np.ndarray, min_px: int = 1) -> tuple[np.ndarray, list[int]]:
    """Connected components of a mask; ids of those with at least `min_px` pixels that do
    not touch the field's edge."""
    comp, n = ndimage.label(mask)
    if n == 0:
        return comp, []
    area = np.bincount(comp.ravel(), minlength=n + 1)
    edge = set(np.unique(np.concatenate([comp[0], comp[-1], comp[:, 0], comp[:, -1]])).tolist())
    return comp, [k for k in range(1, n + 1) if k not in edge and area[k] >= min_px]


def equivalent_diameters(comp: np.ndarray, ids: list[int], px: float) -> list[float]:
    area = np.bincount(comp.ravel(), minlength=(max(ids) + 1) if ids else 1)
    return [float(2 * np.sqrt(area[k] / np.pi) * px) for k in ids]


def nucleus_diameters(instances: np.ndarray, nuclei: list[dict], px: float,
                      classes: tuple[str, ...] | None = None) -> list[float]:
    """Equivalent diameter (um) of every nucleus wholly in the field, of the given classes."""
    if not nuclei:
        return []
    area = np.bincount(instances.ravel(), minlength=max(d["id"] for d in nuclei) + 1)
    edge = set(np.unique(np.concatenate([instances[0], instances[-1], instances[:, 0],
                                         instances[:, -1]])).tolist())
    return [float(2 * np.sqrt(area[d["id"]] / np.pi) * px) for d in nuclei
            if (classes is None or d["class"] in classes) and d["id"] not in edge
            and area[d["id"]] > 0]


def visible_nuclei(instances: np.ndarray, nuclei: list[dict]) -> list[dict]:
    seen = set(np.unique(instances).tolist())
    return [d for d in nuclei if d["id"] in seen]


def ring_coverage(labels: np.ndarray, mask_inside: np.ndarray, ring_labels: list[int],
                  band_px: float = 3.0, n_angles: int = 180) -> float:
    """Fraction of directions round a structure (its centroid and equivalent radius from
    `mask_inside`) along which one of `ring_labels` lies within `band_px` of the outline."""
    ys, xs = np.nonzero(mask_inside)
    if len(ys) < 20:
        return 0.0
    cy, cx = ys.mean(), xs.mean()
    r_eq = np.sqrt(len(ys) / np.pi)
    hit = 0
    ring = np.isin(labels, ring_labels)
    for a in np.linspace(0, 2 * np.pi, n_angles, endpoint=False):
        rs = np.arange(max(1.0, r_eq * 0.8 - band_px), r_eq * 1.2 + band_px, 0.5)
        yy = np.clip(np.rint(cy + rs * np.sin(a)).astype(int), 0, labels.shape[0] - 1)
        xx = np.clip(np.rint(cx + rs * np.cos(a)).astype(int), 0, labels.shape[1] - 1)
        hit += bool(ring[yy, xx].any())
    return hit / n_angles


def mitoses(nuclei: list[dict], instances: np.ndarray) -> int:
    """Mitotic figures visible in the field (nuclei drawn as mitoses)."""
    return sum(1 for d in visible_nuclei(instances, nuclei) if d.get("mitosis"))
