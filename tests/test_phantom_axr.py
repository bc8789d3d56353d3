"""The abdominal radiograph phantom's properties, measured on the written files (issue 19).

Calibres, levels, sides and sizes are recomputed from variant-N.labels.png, variant-N.png and
case.json with this file's own code (skeletons, distance transforms, connected pieces)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage
from skimage.morphology import skeletonize

from imagine_med.case import render_case, write_case
from imagine_med.engine.registry import check
from imagine_med.prompt import parse

SIZE = 320
COLON = ("caecum", "ascending_colon", "transverse_colon", "descending_colon",
         "sigmoid_colon", "rectum")


def _case(prompt: str, out: Path, seeds=(7,), size: int = SIZE) -> tuple[dict, list]:
    spec = parse(prompt)[0].model_copy(update={"width": size, "height": size})
    check(spec)
    write_case(render_case(spec, seeds=list(seeds), seed=seeds[0]), out)
    doc = json.loads((out / "case.json").read_text())
    files = []
    for i in range(1, len(seeds) + 1):
        lab = np.asarray(Image.open(out / f"variant-{i}.labels.png"))[:size, :size]
        img = np.asarray(Image.open(out / f"variant-{i}.png").convert("L"))[:size, :size]
        files.append((lab, img, {n: int(k) for k, n in doc["variants"][i - 1]["labels"].items()},
                      doc["variants"][i - 1]["pixel_spacing_mm"][0]))
    return doc, files


def _calibre(lumen: np.ndarray, px: float) -> float:
    """Median width across the loop: 2 x distance to the wall along the lumen's skeleton."""
    if lumen.sum() < 20:
        return 0.0
    edt = ndimage.distance_transform_edt(lumen)
    return float(2 * np.median(edt[skeletonize(lumen)]) * px)


def _mask(lab: np.ndarray, inv: dict[str, int], *names: str) -> np.ndarray:
    return np.isin(lab, [inv[n] for n in names if n in inv])


def _levels(lab: np.ndarray, inv: dict[str, int], px: float) -> list[tuple[str, int, float]]:
    """(loop above, row span in pixels, width mm) of every fluid top edge with gas on it."""
    gas_ids = {v: k for k, v in inv.items() if k in ("small_bowel", "stomach", *COLON)}
    fluid = lab == inv.get("bowel_fluid", -1)
    above = np.zeros_like(fluid)
    above[1:] = np.isin(lab[:-1], list(gas_ids))
    pieces, n = ndimage.label(fluid & above, np.ones((3, 3), bool))
    out = []
    for i in range(1, n + 1):
        ys, xs = np.nonzero(pieces == i)
        width = (xs.max() - xs.min() + 1) * px
        if width >= 10:
            out.append((gas_ids[int(lab[ys[0] - 1, xs[0]])], int(ys.max() - ys.min()), width))
    return out


def test_small_bowel_obstruction_supine_and_erect(tmp_path: Path) -> None:
    _, [(lab, _img, inv, px)] = _case("supine AXR, small bowel obstruction", tmp_path / "s")
    sb = _calibre(lab == inv["small_bowel"], px)
    assert sb > 30.0, sb  # the 3 cm rule
    colon = _mask(lab, inv, *COLON)
    assert _calibre(colon, px) < 30.0  # collapsed beyond the obstruction
    assert not _levels(lab, inv, px)  # supine: no levels
    # central: the dilated loops lie between the flanks
    xs = np.nonzero(lab == inv["small_bowel"])[1]
    cols = np.nonzero((lab > 0).any(axis=0))[0]
    assert cols.min() + 0.2 * np.ptp(cols) < np.median(xs) < cols.max() - 0.2 * np.ptp(cols)
    _, [(lab, _img, inv, px)] = _case("erect AXR, small bowel obstruction", tmp_path / "e")
    levels = [lv for lv in _levels(lab, inv, px) if lv[0] == "small_bowel"]
    assert len(levels) >= 3
    assert all(span <= 1 for _, span, _ in levels)  # horizontal: a straight row of pixels


def test_normal_film_has_no_dilated_bowel_and_liver_on_the_right(tmp_path: Path) -> None:
    _, [(lab, _img, inv, px)] = _case("AXR, normal", tmp_path)
    assert _calibre(lab == inv.get("small_bowel", -1), px) < 30.0
    cols = np.nonzero((lab > 0).any(axis=0))[0]
    mid = (cols.min() + cols.max()) / 2
    # patient's right on the viewer's left: liver and right kidney left of the midline
    assert np.nonzero(lab == inv["liver"])[1].mean() < mid
    assert np.nonzero(lab == inv["kidney_right"])[1].mean() < mid
    assert np.nonzero(lab == inv["kidney_left"])[1].mean() > mid


def test_large_bowel_obstruction_and_volvulus(tmp_path: Path) -> None:
    _, [(lab, _img, inv, px)] = _case("supine AXR, large bowel obstruction", tmp_path / "l")
    colon = _mask(lab, inv, "ascending_colon", "transverse_colon", "descending_colon")
    assert _calibre(colon, px) > 60.0  # the 6 cm rule
    assert _calibre(lab == inv.get("small_bowel", -1), px) < 30.0
    _, [(lab, img, inv, px)] = _case("AXR, sigmoid volvulus", tmp_path / "v")
    sig = lab == inv["sigmoid_colon"]
    assert _calibre(sig, px) > 60.0  # each limb beyond the colon's 6 cm
    # the loop's apex points to the right upper quadrant: left of the midline, above L3
    ys, xs = np.nonzero(sig)
    top = ys.argmin()
    cols = np.nonzero((lab > 0).any(axis=0))[0]
    assert xs[top] < (cols.min() + cols.max()) / 2
    assert ys[top] < np.nonzero(lab == inv["l3"])[0].mean()
    # the apposed walls of the two limbs: a line of bowel wall between two gas limbs, brighter
    # than the gas on either side
    lumen = ndimage.binary_closing(sig, iterations=6) & ~sig
    inner = lumen & (ndimage.distance_transform_edt(~sig) < 4)
    assert inner.sum() > 10
    assert img[inner].mean() > img[sig].mean() + 10


def test_free_gas_rigler_supine_and_subdiaphragmatic_erect(tmp_path: Path) -> None:
    _, [(lab, img, inv, px)] = _case("supine AXR, pneumoperitoneum", tmp_path / "s", size=448)
    free = lab == inv["free_air"]
    bowel = _mask(lab, inv, "small_bowel", "stomach", *COLON)
    assert free.sum() * px * px > 500  # mm^2
    # Rigler's sign: the wall between a gas-filled loop and free gas shows as a line brighter
    # than the gas inside and the gas outside it
    near_b = ndimage.distance_transform_edt(~bowel) * px
    near_f = ndimage.distance_transform_edt(~free) * px
    wall = ~bowel & ~free & (near_b <= 3.0) & (near_f <= 3.0)
    assert wall.sum() > 20
    inside = bowel & (ndimage.distance_transform_edt(bowel) * px < 4) & (near_f < 8)
    outside = free & (near_b < 8)
    assert img[wall].mean() > img[inside].mean() + 4
    assert img[wall].mean() > img[outside].mean() + 4
    _, [(lab, _img, inv, px)] = _case("erect AXR, free air", tmp_path / "e")
    free = lab == inv["free_air"]
    assert free.any()
    # crescents under the diaphragm: above the liver, below the lungs
    assert np.nonzero(free)[0].mean() < np.nonzero(lab == inv["liver"])[0].mean()


def test_calculi_and_foreign_body(tmp_path: Path) -> None:
    _, [(lab, img, inv, px)] = _case(
        "AXR, 8 mm right renal stone, left ureteric stone, gallstones, swallowed coin",
        tmp_path, size=448)
    cols = np.nonzero((lab > 0).any(axis=0))[0]
    mid = (cols.min() + cols.max()) / 2
    renal = lab == inv["renal_stone"]
    ys, xs = np.nonzero(renal)
    assert xs.mean() < mid  # right kidney: viewer's left
    size = max(np.ptp(ys), np.ptp(xs)) * px + px
    assert 5.5 < size < 10.5, size
    ky, kx = np.nonzero(lab == inv["kidney_right"])  # within the right renal outline's extent
    assert kx.min() <= xs.mean() <= kx.max() and ky.min() <= ys.mean() <= ky.max()
    ur = np.nonzero(lab == inv["ureteric_stone"])
    assert ur[1].mean() > mid and ur[0].mean() > np.nonzero(lab == inv["l5"])[0].mean()
    gall = lab == inv["gallstone"]
    assert gall.any() and np.nonzero(gall)[1].mean() < mid  # right upper quadrant
    coin = lab == inv["foreign_body"]
    d = 2 * np.sqrt(coin.sum() / np.pi) * px
    assert 20 < d < 28, d  # a 24 mm coin
    # metal: brighter than the vertebral bodies and far brighter than what surrounds it
    spine = _mask(lab, inv, "l1", "l2", "l3", "l4", "l5")
    ring = ndimage.binary_dilation(coin, iterations=6) & ~ndimage.binary_dilation(coin,
                                                                                   iterations=2)
    assert img[coin].mean() > img[spine].mean()
    assert img[coin].mean() > img[ring].mean() + 40
