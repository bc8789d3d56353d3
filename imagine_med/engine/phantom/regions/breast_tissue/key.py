"""Scores measured from a rendered IHC field (labels, cell map and the DAB concentration
that went into the image), worded as a pathologist reports them."""

from __future__ import annotations

import numpy as np

from imagine_med.engine.phantom.regions.breast_tissue.model import LABELS

COMPLETE = 0.9     # stained fraction of a cell's membrane that makes the ring complete
STAINED = 0.08     # DAB OD read as staining
STRONG, MODERATE = 0.5, 0.2
NUCLEAR_POSITIVE = 0.15


def inner_cells(cells: np.ndarray) -> np.ndarray:
    edge = np.unique(np.concatenate([cells[0], cells[-1], cells[:, 0], cells[:, -1]]))
    ids = np.unique(cells[cells >= 0])
    return np.setdiff1d(ids, edge)


def her2(cells: np.ndarray, labels: np.ndarray, dab: np.ndarray) -> dict[str, float]:
    ids = inner_cells(cells)
    mem = (labels == LABELS["tumour_membrane"]) & (cells >= 0)
    c = cells[mem]
    n = int(cells.max()) + 1
    total = np.bincount(c, minlength=n).astype(float)
    stained = np.bincount(c, (dab[mem] >= STAINED).astype(float), n)
    level = np.bincount(c, np.where(dab[mem] >= STAINED, dab[mem], 0.0), n) / np.maximum(
        stained, 1)
    cover = stained[ids] / np.maximum(total[ids], 1)
    lv = level[ids]
    complete = cover >= COMPLETE
    strong = complete & (lv >= STRONG)
    weak_mod = complete & (lv >= STAINED)
    faint = (cover >= 0.2) & (lv >= STAINED)
    m = len(ids)

    def pct(x):
        return round(100.0 * float(x.sum()) / max(m, 1), 1)

    score = 3 if pct(strong) > 10 else 2 if pct(weak_mod) > 10 else 1 if pct(faint) > 10 else 0
    return {"her2_score": float(score), "tumour_cells_counted": float(m),
            "complete_strong_percent": pct(strong), "complete_percent": pct(complete),
            "any_membrane_percent": pct(faint)}


def nuclear(cells: np.ndarray, labels: np.ndarray, dab: np.ndarray) -> dict[str, float]:
    """Tumour nuclei wholly in the field, positive when their mean DAB >= 0.15."""
    nuc = (labels == LABELS["tumour_nucleus"]) & (cells >= 0)
    ids = inner_cells(np.where(nuc, cells, -1))
    c = cells[nuc]
    n = int(cells.max()) + 1
    mean = np.bincount(c, dab[nuc], n) / np.maximum(np.bincount(c, minlength=n), 1)
    has = np.bincount(c, minlength=n)[ids] > 0
    pos = (mean[ids] >= NUCLEAR_POSITIVE) & has
    return {"positive_percent": round(100.0 * pos.sum() / max(has.sum(), 1), 1),
            "tumour_cells_counted": float(has.sum())}


NAMES = {"her2": "HER2", "er": "oestrogen receptor (ER)", "pr": "progesterone receptor (PR)",
         "ki67": "Ki-67"}


def sentence(marker: str, m: dict[str, float]) -> str:
    if marker == "her2":
        s = int(m["her2_score"])
        words = {0: "no membrane staining (or faint staining in 10% or fewer)",
                 1: "faint, incomplete membrane staining",
                 2: "weak to moderate complete membrane staining",
                 3: "strong, complete circumferential membrane staining"}[s]
        call = {0: "negative", 1: "negative", 2: "equivocal", 3: "positive"}[s]
        return (f"HER2 immunohistochemistry: score {s}{'+' if s else ''} ({call}): {words}; "
                f"complete strong "
                f"rings in {m['complete_strong_percent']:.0f}% and any membrane staining in "
                f"{m['any_membrane_percent']:.0f}% of {int(m['tumour_cells_counted'])} "
                "invasive tumour cells counted.")
    p = m["positive_percent"]
    if marker == "ki67":
        return (f"Ki-67 proliferation index {p:.0f}% ({int(m['tumour_cells_counted'])} tumour "
                f"nuclei counted; nuclear staining).")
    return (f"{NAMES[marker]}: nuclear staining in {p:.0f}% of "
            f"{int(m['tumour_cells_counted'])} tumour cells ("
            f"{'positive' if p >= 1 else 'negative'}; 1% or more is positive).")
