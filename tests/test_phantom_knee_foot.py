"""Knee and foot radiographs (issue 19): properties measured by this file on the written
variant PNGs, label maps and case.json (tibial plateau depression and line, the
lipohaemarthrosis level, Kellgren-Lawrence from joint space and osteophytes, fifth
metatarsal zones, a segmental fracture's three pieces, Lisfranc widening, laterality)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from imagine_med.case import render_case, write_case
from imagine_med.engine.base import EngineError
from imagine_med.prompt import parse


def _case(prompt: str, out: Path, n: int | None = 1):
    spec = parse(prompt)[0]
    seeds = None if n is None else [spec.seed + 7919 * i for i in range(n)]
    write_case(render_case(spec, seeds=seeds), out)
    doc = json.loads((out / "case.json").read_text())
    ids = {name: int(k) for k, name in doc["labels"].items()}
    return doc, ids


def _labels(out: Path, doc: dict, i: int) -> np.ndarray:
    h = doc["variants"][i - 1]["height"]
    return np.asarray(Image.open(out / f"variant-{i}.labels.png"))[:h]


def _px(doc: dict, i: int) -> float:
    return float(doc["variants"][i - 1]["pixel_spacing_mm"][0])


def _mask(lab: np.ndarray, ids: dict[str, int], *names: str) -> np.ndarray:
    return np.isin(lab, [ids[n] for n in names if n in ids])


def _top(mask: np.ndarray) -> np.ndarray:
    return np.where(mask.any(axis=0), mask.argmax(axis=0), -1)


def _bottom(mask: np.ndarray) -> np.ndarray:
    return np.where(mask.any(axis=0), mask.shape[0] - 1 - mask[::-1].argmax(axis=0), -1)


def _plateau_row(lab: np.ndarray, ids: dict[str, int], px: float) -> float:
    """The intact plateau: the tibia's top rows over columns the fragment does not cover,
    within 25 mm of its highest point (not the shaft's edges), high percentile (not the
    spines)."""
    tt = _top(_mask(lab, ids, "tibia"))
    ft = _top(_mask(lab, ids, "fragment_distal"))
    top = tt[(tt >= 0) & (ft < 0)]
    top = top[top - top.min() < 25.0 / px]
    return float(np.percentile(top, 80))


# --- the tibial plateau -----------------------------------------------------------------

@pytest.mark.parametrize("prompt, depression, code", [
    ("AP x-ray of the left knee, Schatzker II tibial plateau fracture, 8 mm depression, "
     "age 45 --seed 11 --size 384", 8.0, "41B3"),
    ("AP x-ray of the right knee, Schatzker III tibial plateau fracture, 6 mm depression, "
     "age 52 --seed 12 --size 384", 6.0, "41B2"),
])
def test_plateau_depression_within_2mm_and_line_in_the_proximal_5cm(tmp_path, prompt,
                                                                     depression, code):
    doc, ids = _case(prompt, tmp_path, n=2)
    for i in (1, 2):
        lab, px = _labels(tmp_path, doc, i), _px(doc, i)
        ref = _plateau_row(lab, ids, px)
        frag = _mask(lab, ids, "fragment_distal")
        ft = _top(frag)
        surface = float(np.percentile(ft[ft >= 0], 20))
        assert abs((surface - ref) * px - depression) <= 2.0
        line = lab == ids.get("fracture_line", -1)
        if code == "41B3":  # a split-depression: its line, from the joint down
            rows = np.flatnonzero(line.any(axis=1))
            assert len(rows) and (rows.max() - ref) * px <= 50.0
            assert rows.min() - ref < 3.0 / px  # it reaches the articular surface
        key = doc["variants"][i - 1]["answer_key"]
        assert code in key
        assert "intra-articular" in key and "step-off" in key


# --- lipohaemarthrosis ---------------------------------------------------------------------

def _interface(lab: np.ndarray, ids: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """Columns where fat lies directly on blood, and the row between them (the points
    within 2 px of their median row: the ends, where the outline meets, aside)."""
    fat, blood = lab == ids["effusion_fat"], lab == ids["haemarthrosis"]
    fb, bt = _bottom(fat), _top(blood)
    ok = (fb >= 0) & (bt > fb) & (bt - fb <= 2)
    cols = np.flatnonzero(ok)
    rows = (fb[ok] + bt[ok]) / 2.0
    near = np.abs(rows - np.median(rows)) <= 2.0 if len(rows) else ok[ok]
    return cols[near].astype(float), rows[near]


def test_lipohaemarthrosis_level_is_horizontal_on_the_horizontal_beam_lateral_only(tmp_path):
    a, b = tmp_path / "xt", tmp_path / "lat"
    doc, ids = _case("cross-table lateral of the right knee, tibial plateau fracture with "
                     "lipohaemarthrosis, age 40 --seed 5 --size 384", a, n=2)
    for i in (1, 2):
        lab, px = _labels(a, doc, i), _px(doc, i)
        cols, rows = _interface(lab, ids)
        assert len(cols) * px >= 20.0  # a level at least 2 cm long
        slope = np.degrees(np.arctan(np.polyfit(cols, rows, 1)[0]))
        assert abs(slope) < 2.0
        fat_rows = np.nonzero(lab == ids["effusion_fat"])[0]
        blood_rows = np.nonzero(lab == ids["haemarthrosis"])[0]
        assert fat_rows.mean() < blood_rows.mean()  # fat floats: above on the upright film
        assert "fat-fluid level" in doc["variants"][i - 1]["answer_key"]
    doc2, ids2 = _case("lateral x-ray of the right knee, tibial plateau fracture with "
                       "lipohaemarthrosis, age 40 --seed 5 --size 384", b, n=1)
    lab = _labels(b, doc2, 1)
    assert (lab == ids2["effusion_fat"]).sum() > 100  # the effusion is there
    cols, rows = _interface(lab, ids2)  # on a vertical beam: no straight level across it
    span = np.ptp(cols) / np.ptp(np.nonzero(lab == ids2["effusion_fat"])[1]) if len(cols) else 0
    assert len(cols) * _px(doc2, 1) < 10.0 or span < 0.5 or np.sqrt(np.mean(
        (np.polyval(np.polyfit(cols, rows, 1), cols) - rows) ** 2)) >= 1.0
    assert "no fat-fluid level" in doc2["variants"][0]["answer_key"]


# --- Kellgren-Lawrence -------------------------------------------------------------------

def _kl_recomputed(lab: np.ndarray, ids: dict[str, int], px: float) -> int:
    femur = _mask(lab, ids, "femur", "femur_epiphysis")
    tibia = _mask(lab, ids, "tibia", "tibia_epiphysis", "subchondral_sclerosis")
    fib = lab == ids["fibula"]
    cols = np.flatnonzero(femur.any(axis=0))
    c0, c1 = cols.min(), cols.max()
    fib_right = np.nonzero(fib)[1].mean() > (c0 + c1) / 2
    bottom = _bottom(femur)
    widths = []
    for lateral in (False, True):
        from_right = lateral == fib_right
        a, b = (c1 - 0.35 * (c1 - c0), c1 - 0.15 * (c1 - c0)) if from_right else \
            (c0 + 0.15 * (c1 - c0), c0 + 0.35 * (c1 - c0))
        gaps = [np.flatnonzero(tibia[bottom[c] + 1:, c])[0]
                for c in range(int(np.ceil(a)), int(np.floor(b)) + 1)
                if bottom[c] >= 0 and tibia[bottom[c] + 1:, c].any()]
        widths.append(float(np.median(gaps)) * px)
    spurs, n = ndimage.label(lab == ids["osteophyte"]) if "osteophyte" in ids else (None, 0)
    size = max((np.ptp(np.nonzero(spurs == k)[1]) + 1) * px for k in range(1, n + 1)) \
        if n else 0.0
    jsw = min(widths)
    if size >= 5.0 and jsw < 1.5:
        return 4
    if size >= 2.5 and jsw < 3.0:
        return 3
    return 2 if size >= 2.5 else (1 if size > 0 else 0)


@pytest.mark.parametrize("grade", [0, 1, 2, 3, 4])
def test_kellgren_lawrence_recomputed_from_the_label_map_equals_the_key(tmp_path, grade):
    doc, ids = _case(f"AP x-ray of the left knee, Kellgren-Lawrence {grade} osteoarthritis, "
                     f"age 66 --seed {30 + grade} --size 384", tmp_path, n=1)
    lab, px = _labels(tmp_path, doc, 1), _px(doc, 1)
    key = doc["variants"][0]["answer_key"]
    keyed = int(re.search(r"Kellgren-Lawrence grade (\d)", key).group(1))
    assert _kl_recomputed(lab, ids, px) == keyed == grade


# --- the foot ----------------------------------------------------------------------------

def _line_from_mt5_tip(lab: np.ndarray, ids: dict[str, int], px: float) -> float:
    bone = _mask(lab, ids, "metatarsal_5", "fragment_distal", "fracture_line")
    line = lab == ids["fracture_line"]
    ys, xs = np.nonzero(bone)
    pts = np.stack([xs, ys], 1).astype(float)
    c = pts.mean(0)
    axis = np.linalg.svd(pts - c, full_matrices=False)[2][0]
    axis = axis if axis[1] > 0 else -axis  # toward the heel (down on a DP)
    ly, lx = np.nonzero(line)
    return float(((pts - c) @ axis).max() - np.median((np.stack([lx, ly], 1) - c) @ axis)) * px


@pytest.mark.parametrize("prompt, zone", [
    ("DP x-ray of the left foot, Jones fracture --seed 7 --size 384", 2),
    ("DP x-ray of the left foot, fifth metatarsal base avulsion fracture --seed 7 --size 384",
     1),
])
def test_fifth_metatarsal_zone_from_the_lines_distance_to_the_base(tmp_path, prompt, zone):
    doc, ids = _case(prompt, tmp_path, n=2)
    for i in (1, 2):
        d = _line_from_mt5_tip(_labels(tmp_path, doc, i), ids, _px(doc, i))
        measured = 1 if d < 15.0 else (2 if d < 27.0 else 3)
        assert measured == zone
        key = doc["variants"][i - 1]["answer_key"]
        assert f"zone {zone}" in key and "87.5" in key


def _intermetatarsal(lab: np.ndarray, ids: dict[str, int], px: float) -> float:
    m1, m2 = lab == ids["metatarsal_1"], lab == ids["metatarsal_2"]
    rows1 = np.flatnonzero(m1.any(axis=1))
    rows = np.arange(rows1.max() - int(8.0 / px), rows1.max() + 1)
    w = m1[rows].sum(axis=1)
    rows = rows[w >= 0.6 * w.max()]
    right = np.nonzero(m1)[1].mean() > np.nonzero(m2)[1].mean()
    gaps = [(np.flatnonzero(m1[r]).min() - np.flatnonzero(m2[r]).max() - 1) if right
            else (np.flatnonzero(m2[r]).min() - np.flatnonzero(m1[r]).max() - 1)
            for r in rows if m1[r].any() and m2[r].any()]
    return max(float(np.median(gaps)), 0.0) * px


def test_lisfranc_widens_the_first_intermetatarsal_space(tmp_path):
    doc, ids = _case("DP x-ray of the right foot, Lisfranc injury --seed 9 --size 384",
                     tmp_path / "l", n=2)
    ndoc, nids = _case("DP x-ray of the right foot --seed 9 --size 384", tmp_path / "n", n=2)
    for i in (1, 2):
        injured = _intermetatarsal(_labels(tmp_path / "l", doc, i), ids, _px(doc, i))
        normal = _intermetatarsal(_labels(tmp_path / "n", ndoc, i), nids, _px(ndoc, i))
        assert injured > 2.0 > normal
        assert "widened" in doc["variants"][i - 1]["answer_key"]


def test_march_fracture_grows_callus_over_weeks(tmp_path):
    doc, ids = _case("DP x-ray of the left foot, march fracture, healing series --seed 4 "
                     "--size 384", tmp_path, n=None)
    areas = [(_labels(tmp_path, doc, i) == ids.get("callus", -1)).sum() for i in (1, 2, 3, 4)]
    assert areas[0] == 0 and areas[2] > areas[1] > 0
    assert (_labels(tmp_path, doc, 1) == ids["fracture_line"]).any()  # a faint line at day 0


# --- patterns ----------------------------------------------------------------------------

@pytest.mark.parametrize("region", ["knee", "ankle"])
def test_segmental_fracture_leaves_three_pieces_of_tibia(tmp_path, region):
    doc, ids = _case(f"AP x-ray of the left {region}, segmental fracture of the tibia, age 35 "
                     "--seed 8 --size 384", tmp_path, n=2)
    for i in (1, 2):
        lab = _labels(tmp_path, doc, i)
        bone = _mask(lab, ids, "tibia", "fragment_distal", "fragment_segment")
        lo, hi = np.percentile(np.nonzero(bone)[1], [30, 70])  # the shaft's middle, clear
        bone[:, : int(lo)] = False  # of the fibula overlapping its lateral edge
        bone[:, int(hi) + 1:] = False
        pieces, _n = ndimage.label(bone)
        sizes = np.bincount(pieces.ravel())[1:]
        assert (sizes >= 0.01 * bone.sum()).sum() == 3
        assert (lab == ids["fragment_segment"]).sum() > 200
        assert "42C2" in doc["variants"][i - 1]["answer_key"]


def test_patellar_fracture_fragments_distracted_on_the_lateral(tmp_path):
    doc, ids = _case("lateral x-ray of the left knee, patellar fracture, age 50 --seed 6 "
                     "--size 384", tmp_path, n=1)
    lab, px = _labels(tmp_path, doc, 1), _px(doc, 1)
    up, lo = lab == ids["patella"], lab == ids["fragment_distal"]
    assert up.any() and lo.any()
    b, t = _bottom(up), _top(lo)
    both = (b >= 0) & (t > b)
    assert np.median(t[both] - b[both]) * px >= 3.0
    assert "34C1" in doc["variants"][0]["answer_key"]


# --- laterality and words ------------------------------------------------------------------

@pytest.mark.parametrize("side", ["left", "right"])
def test_knee_ap_shows_the_patients_left_on_the_image_right(tmp_path, side):
    doc, ids = _case(f"AP x-ray of the {side} knee --seed 2 --size 256", tmp_path, n=1)
    lab = _labels(tmp_path, doc, 1)
    w = lab.shape[1]
    fib_x = np.nonzero(lab == ids["fibula"])[1].mean()
    mark_x = np.nonzero(lab == ids["side_marker"])[1].mean()
    tib_x = np.nonzero(lab == ids["tibia"])[1].mean()
    if side == "left":  # the left knee's lateral side (the fibula) is the patient's left
        assert fib_x > tib_x and mark_x > w / 2
    else:
        assert fib_x < tib_x and mark_x < w / 2
    fdoc, fids = _case(f"DP x-ray of the {side} foot --seed 2 --size 256", tmp_path / "f",
                       n=1)
    flab = _labels(tmp_path / "f", fdoc, 1)
    mt1 = np.nonzero(flab == fids["metatarsal_1"])[1].mean()
    mt5 = np.nonzero(flab == fids["metatarsal_5"])[1].mean()
    # as the tube sees the dorsum, toes up: a left foot's great toe on the image right
    assert (mt1 > mt5) == (side == "left")


def test_knee_and_foot_words_parse():
    s = parse("knee x-ray, Schatzker II tibial plateau fracture")[0]
    assert s.region == "knee" and "schatzker_2" in s.findings[0].modifiers
    assert parse("skyline view of the knee")[0].view == "skyline"
    assert parse("horizontal beam lateral knee, lipohaemarthrosis")[0].view == "cross_table"
    assert "kl_3" in parse("knee, Kellgren-Lawrence 3")[0].findings[0].modifiers
    s = parse("left foot, Jones fracture")[0]
    assert s.region == "foot" and "jones" in s.findings[0].modifiers
    assert parse("march fracture")[0].region == "foot"
    assert "lisfranc" in parse("Lisfranc injury of the right foot")[0].findings[0].modifiers
    assert "segmental" in parse("segmental fracture of the tibia")[0].findings[0].modifiers


def test_skyline_shows_the_patella_over_the_trochlea(tmp_path):
    doc, ids = _case("skyline view of the left knee, age 40 --seed 3 --size 256", tmp_path)
    lab = _labels(tmp_path, doc, 1)
    pat, fem = np.nonzero(lab == ids["patella"]), np.nonzero(lab == ids["femur"])
    assert len(pat[0]) > 500 and len(fem[0]) > 2000
    assert pat[0].mean() < fem[0].mean()  # anterior up: the patella on top
    # the patella sits between the condyles, over the groove
    assert abs(pat[1].mean() - fem[1].mean()) < 0.1 * lab.shape[1]
    assert "skyline" in doc["variants"][0]["answer_key"]


def test_a_pattern_built_on_another_film_is_refused_not_drawn_as_a_colles():
    with pytest.raises(EngineError, match="knee"):
        render_case(parse("PA x-ray of the left wrist, segmental fracture --size 128")[0],
                    seeds=[1])
    with pytest.raises(EngineError, match="foot"):
        render_case(parse("PA x-ray of the left wrist, stress fracture --size 128")[0],
                    seeds=[1])


def test_knee_growth_plates_open_in_a_child_and_closed_in_an_adult(tmp_path):
    doc, ids = _case("AP x-ray of the left knee, age 11 --seed 4 --size 256", tmp_path / "c")
    lab = _labels(tmp_path / "c", doc, 1)
    femur_plate = np.nonzero(lab == ids["femur_physis"])
    tibia_plate = np.nonzero(lab == ids["tibia_physis"])
    assert len(femur_plate[0]) > 100 and len(tibia_plate[0]) > 100
    assert femur_plate[0].mean() < tibia_plate[0].mean()  # distal femur above, tibia below
    adoc, aids = _case("AP x-ray of the left knee, age 40 --seed 4 --size 256", tmp_path / "a")
    alab = _labels(tmp_path / "a", adoc, 1)
    assert not np.isin(alab, [aids.get("femur_physis", -1), aids.get("tibia_physis", -1)]).any()
    assert "growth plates are open" in doc["variants"][0]["answer_key"]
