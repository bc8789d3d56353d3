"""Axial-skeleton radiographs (issue 19: cervical spine, lumbar spine, pelvis): each
property measured here from the written files (label PNGs, case.json) with this file's own
geometry, then compared with the request and with the key."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from film_support import marker_letter
from PIL import Image
from scipy import ndimage

from imagine_med.case import render_case, write_case
from imagine_med.prompt import parse


def _case(prompt: str, out: Path):
    spec = parse(prompt)[0]
    write_case(render_case(spec, seeds=[spec.seed]), out)
    doc = json.loads((out / "case.json").read_text())
    ids = {name: int(k) for k, name in doc["labels"].items()}
    h = doc["variants"][0]["height"]
    lab = np.asarray(Image.open(out / "variant-1.labels.png"))[:h]
    px = float(doc["variants"][0]["pixel_spacing_mm"][0])
    return doc, ids, lab, px


def _key(doc: dict) -> str:
    return doc["variants"][0]["answer_key"]


def _centroid(mask: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(mask)
    return np.array([xs.mean(), ys.mean()])


def _rectangle(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The minimum-area rectangle round a mask: (its two unit side directions, the mask's
    extent along each), by a 0.25 degree search."""
    ys, xs = np.nonzero(mask)
    pts = np.stack([xs, ys], 1).astype(float)
    best = None
    for a in np.arange(0.0, 90.0, 0.25):
        t = np.radians(a)
        u, v = np.array([np.cos(t), np.sin(t)]), np.array([-np.sin(t), np.cos(t)])
        area = np.ptp(pts @ u) * np.ptp(pts @ v)
        if best is None or area < best[0]:
            best = (area, u, v)
    return np.array([best[1], best[2]]), pts


def _genant(loss: float) -> int:
    return 0 if loss < 20 else 1 if loss < 25 else 2 if loss <= 40 else 3


@pytest.mark.parametrize(
    "words,asked",
    [
        ("moderate L1 wedge fracture", 32.0),
        ("severe L2 compression fracture", 48.0),
        ("L1 wedge fracture, 35%", 35.0),
    ],
)
def test_wedge_fracture_anterior_height_loss_and_its_genant_grade(tmp_path, words, asked):
    """Heights of the fractured body in the spine's own frame (the axis through the
    neighbouring bodies' centres), at its front and back walls."""
    doc, ids, lab, _px = _case(f"lateral lumbar spine x-ray, {words} --seed 11", tmp_path)
    level = re.search(r"\b(l[1-5])\b", words.lower()).group(1)
    order = ["t12", "l1", "l2", "l3", "l4", "l5", "s1"]
    i = order.index(level)
    up = _centroid(lab == ids[order[i - 1]]) - _centroid(lab == ids[order[i + 1]])
    up /= np.hypot(*up)
    back = np.array([-up[1], up[0]])  # clockwise from up: the image right, posterior
    ys, xs = np.nonzero(lab == ids[level])
    pts = np.stack([xs, ys], 1).astype(float)
    a, c = pts @ up, pts @ back
    # each endplate a line through the outline's top (bottom) points over the middle of the
    # depth; the heights where those lines meet the front and the back wall
    cols = np.round(c - c.min()).astype(int)
    span = cols.max()
    mids = [k for k in range(span + 1) if 0.15 * span < k < 0.85 * span and (cols == k).any()]
    top = np.polyfit(mids, [a[cols == k].max() for k in mids], 1)
    bottom = np.polyfit(mids, [a[cols == k].min() for k in mids], 1)
    ha, hp = (np.polyval(top, x) - np.polyval(bottom, x) + 1 for x in (0, span))
    loss = 100 * (1 - ha / hp)
    assert abs(loss - asked) <= 5.0, (loss, asked)
    # the posterior elements lie behind the bodies: anterior is the image left
    assert _centroid(lab == ids["spinous_process"])[0] > _centroid(lab == ids[level])[0]
    grade = int(re.search(r"Genant grade (\d)", _key(doc)).group(1))
    assert grade == _genant(loss)


@pytest.mark.parametrize("grade", [1, 2, 3])
def test_spondylolisthesis_slip_gives_the_meyerding_grade_of_the_key(tmp_path, grade):
    """The slip of L5 on S1: S1's sides from its minimum-area rectangle (its superior
    endplate the side facing up), L5's posterior-inferior corner against S1's
    posterior-superior corner, along that endplate, over its length."""
    roman = {1: "I", 2: "II", 3: "III", 4: "IV"}
    doc, ids, lab, _px = _case(
        f"lateral lumbar spine, spondylolisthesis L5/S1 grade {grade} --seed 5", tmp_path
    )
    sides, s1 = _rectangle(lab == ids["s1"])
    # the endplate: the side closer to horizontal; anterior toward the image left
    e = sides[np.argmax(np.abs(sides[:, 0]))]
    e = e if e[0] < 0 else -e
    n = np.array([e[1], -e[0]])
    n = n if n[1] < 0 else -n  # up, out of the endplate
    length = np.ptp(s1 @ e)
    p_s1 = s1[np.argmax(s1 @ n - s1 @ e)]  # posterior-superior corner
    l5 = np.stack(np.nonzero(lab == ids["l5"])[::-1], 1).astype(float)
    p_l5 = l5[np.argmax(-(l5 @ n) - l5 @ e)]  # posterior-inferior corner
    slip = 100 * float((p_l5 - p_s1) @ e) / length
    measured = min(5, int(slip // 25) + 1)
    assert measured == grade, slip
    assert f"Meyerding grade {roman[grade]}." in _key(doc)


@pytest.mark.parametrize("asked", [30.0, 45.0])
def test_open_book_symphysis_diastasis_measured_within_3mm(tmp_path, asked):
    doc, ids, lab, px = _case(
        f"pelvis x-ray, open book, symphysis diastasis {asked:g} mm --seed 3", tmp_path
    )
    gap = _symphysis_mm(lab, ids["pubis"], px)
    assert abs(gap - asked) <= 3.0, (gap, asked)
    assert "61B1" in _key(doc) and "APC II" in _key(doc)


def _symphysis_mm(lab: np.ndarray, pubis: int, px: float) -> float:
    """The narrowest gap between the two pubic bodies across the midline."""
    m = lab == pubis
    mid = lab.shape[1] / 2
    gaps = []
    for r in np.flatnonzero(m.any(axis=1)):
        c = np.flatnonzero(m[r])
        lft, rgt = c[c < mid], c[c >= mid]
        if len(lft) and len(rgt):
            gaps.append(rgt.min() - lft.max() - 1)
    return float(np.min(gaps)) * px


def test_normal_pelvis_symphysis_is_narrow(tmp_path):
    _doc, ids, lab, px = _case("AP pelvis x-ray, adult --seed 3", tmp_path)
    assert _symphysis_mm(lab, ids["pubis"], px) < 8.0
    assert len(np.unique(ndimage.label(lab == ids["femoral_head"])[0])) - 1 == 2


@pytest.mark.parametrize("kind,lo,hi", [("I", 0.0, 1 / 3), ("II", 2 / 3, 1.0), ("III", 1.0, 9.9)])
def test_dens_fracture_line_crosses_the_dens_where_its_type_says(tmp_path, kind, lo, hi):
    """On the peg view: the line's row between the dens' tip (0) and base (1; the dens label
    ends on C2's body) - type II in the lower third, I in the upper, III below the base - and
    across (types I-II) at least 80 % of the dens' width there."""
    doc, ids, lab, _px = _case(f"peg view, odontoid fracture type {kind} --seed 9", tmp_path)
    dens, line = lab == ids["dens"], lab == ids["fracture_line"]
    rows = np.flatnonzero(dens.any(axis=1))
    tip, base = rows.min(), rows.max()
    at = (np.median(np.nonzero(line)[0]) - tip) / (base - tip)
    assert lo <= at <= hi, at
    if kind != "III":
        r = int(np.median(np.nonzero(line)[0]))
        lr = np.flatnonzero(line.any(axis=1))
        near = dens[max(lr.min() - 10, 0) : lr.max() + 11]  # the dens just either side
        width = np.ptp(np.flatnonzero(near.any(axis=0)))
        assert np.ptp(np.flatnonzero(line[r - 2 : r + 3].any(axis=0))) >= 0.8 * width
    assert f"Anderson-D'Alonzo type {kind} " in _key(doc)


def _overhang_mm(lab: np.ndarray, ids: dict[str, int], px: float) -> float:
    c1, c2 = lab == ids["c1_lateral_mass"], lab == ids["c2_lateral_mass"]
    mid = _centroid(c2)[0]
    x1, x2 = np.nonzero(c1)[1], np.nonzero(c2)[1]
    right = x1[x1 > mid].max() - x2[x2 > mid].max()
    left = x2[x2 < mid].min() - x1[x1 < mid].min()
    return float(right + left) * px


def test_jefferson_overhang_on_the_peg_view(tmp_path):
    doc, ids, lab, px = _case("open mouth view, Jefferson fracture --seed 4", tmp_path / "j")
    assert _overhang_mm(lab, ids, px) > 7.0
    assert "transverse ligament is torn" in _key(doc)
    doc, ids, lab, px = _case("peg view of the c-spine, adult --seed 4", tmp_path / "n")
    assert abs(_overhang_mm(lab, ids, px)) < 2.0


def _prevertebral_mm(lab: np.ndarray, ids: dict[str, int], level: str, px: float) -> float:
    """Between the body's front and the airway's back wall at the body's middle rows (the
    lateral hangs anterior to the image left)."""
    rows = np.flatnonzero((lab == ids[level]).any(axis=1))
    vals = []
    for r in rows[len(rows) * 2 // 5 : len(rows) * 3 // 5 + 1]:
        b = np.flatnonzero(lab[r] == ids[level])
        a = np.flatnonzero(lab[r] == ids["airway"])
        a = a[a < b.min()]
        if len(a):
            vals.append(b.min() - a.max() - 1)
    return float(np.median(vals)) * px


def test_prevertebral_soft_tissue_normal_and_swollen_over_a_dens_fracture(tmp_path):
    doc, ids, lab, px = _case("lateral c-spine x-ray, adult --seed 6", tmp_path / "n")
    assert _prevertebral_mm(lab, ids, "c2", px) <= 7.0
    assert 8.0 <= _prevertebral_mm(lab, ids, "c6", px) <= 22.0
    doc, ids, lab, px = _case(
        "lateral cervical spine, odontoid fracture type II --seed 6", tmp_path / "d"
    )
    assert _prevertebral_mm(lab, ids, "c2", px) > 7.0
    assert "widened" in _key(doc)


@pytest.mark.parametrize("side", ["left", "right"])
def test_pelvis_laterality_the_injured_hip_on_the_patients_side(tmp_path, side):
    """AP: patient's left on the image right. A neck of femur fracture on the full pelvis:
    both hips shown, the fracture line on the named side, the L marker on the image right."""
    doc, ids, lab, _px = _case(f"pelvis x-ray, {side} neck of femur fracture --seed 2", tmp_path)
    x = _centroid(lab == ids["fracture_line"])[0]
    assert (x > lab.shape[1] / 2) == (side == "left")
    heads = ndimage.label(lab == ids["femoral_head"])[1]
    assert heads == 2
    marker = lab == ids["side_marker"]
    assert marker_letter(marker) == "L" and _centroid(marker)[0] > lab.shape[1] / 2
    assert f"{side} femoral neck" in _key(doc) and "Shenton" in _key(doc)


def _teardrop_mm(lab: np.ndarray, ids: dict[str, int], px: float, right: bool) -> float:
    """Across from the teardrop's lateral edge to the femoral head's medial edge, on one
    half of the film."""
    W = lab.shape[1]
    sub = lab[:, W // 2 :] if right else lab[:, : W // 2]
    t, h = np.nonzero(sub == ids["teardrop"])[1], np.nonzero(sub == ids["femoral_head"])[1]
    return float(h.min() - t.max() - 1 if right else t.min() - h.max() - 1) * px


def test_teardrop_distance_widens_on_the_dislocated_side(tmp_path):
    """Normal: the teardrop distances equal and 5-12 mm; a right posterior dislocation widens
    the right (image left) one."""
    doc, ids, lab, px = _case("AP pelvis x-ray, adult --seed 12", tmp_path / "n")
    left, right = (_teardrop_mm(lab, ids, px, r) for r in (False, True))
    assert abs(left - right) < 1.5 and 5.0 <= left <= 12.0
    doc, ids, lab, px = _case(
        "pelvis x-ray, right posterior hip dislocation --seed 12", tmp_path / "d"
    )
    # a side-to-side difference over ~2 mm is abnormal (effusion, subluxation)
    assert _teardrop_mm(lab, ids, px, False) > _teardrop_mm(lab, ids, px, True) + 3.0
    assert "teardrop distance" in _key(doc)


def test_pubic_rami_fracture_lines_cross_the_rami_of_the_named_side(tmp_path):
    doc, ids, lab, _px = _case(
        "pelvis x-ray, right pubic rami fractures, elderly woman --seed 8", tmp_path
    )
    line = lab == ids["fracture_line"]
    parts = ndimage.label(line)[1]
    assert parts >= 2  # superior and inferior ramus
    assert _centroid(line)[0] < lab.shape[1] / 2  # the right side: the image left
    near = ndimage.binary_dilation(line, iterations=2) & (lab == ids["pubis"])
    assert near.sum() > 10
    assert "61A2" in _key(doc)


def test_burst_fracture_widens_the_interpedicular_distance(tmp_path):
    """The owl's eyes on an AP: the inner gap between a level's two pedicles."""
    doc, ids, lab, px = _case("AP lumbar spine x-ray, L1 burst fracture --seed 7", tmp_path)

    def ipd(level: str) -> float:
        rows = np.flatnonzero((lab == ids[level]).any(axis=1))
        sub = lab[rows.min() : rows.max() + 1] == ids["pedicle"]
        lab2, n = ndimage.label(sub)
        sizes = ndimage.sum(sub, lab2, range(1, n + 1))
        a, b = (np.nonzero(lab2 == k)[1] for k in np.argsort(sizes)[-2:] + 1)
        lft, rgt = (a, b) if a.mean() < b.mean() else (b, a)
        return float(rgt.min() - lft.max()) * px

    assert ipd("l1") > 0.5 * (ipd("t12") + ipd("l2")) + 3.0
    assert "A4" in _key(doc)


@pytest.mark.parametrize(
    "prompt,region,view,finding,location,mod",
    [
        ("c-spine x-ray", "cervical_spine", "lateral", None, None, None),
        ("lateral cervical spine", "cervical_spine", "lateral", None, None, None),
        ("peg view", "cervical_spine", "open_mouth", None, None, None),
        ("open mouth view of the c spine", "cervical_spine", "open_mouth", None, None, None),
        (
            "c-spine, odontoid fracture type II",
            "cervical_spine",
            "lateral",
            "fracture",
            "dens",
            "type_2",
        ),
        ("Jefferson fracture", "cervical_spine", "lateral", "fracture", None, "jefferson"),
        (
            "lumbar spine x-ray, L1 wedge fracture",
            "lumbar_spine",
            "lateral",
            "fracture",
            "l1",
            "wedge",
        ),
        (
            "lumbar spine, spondylolisthesis L5/S1 grade 2",
            "lumbar_spine",
            "lateral",
            "spondylolisthesis",
            "l5",
            "grade_2",
        ),
        ("pelvis x-ray", "pelvis", "ap", None, None, None),
        ("pelvis x-ray, pubic rami fractures", "pelvis", "ap", "fracture", "pubic_rami", None),
        ("AP pelvis, open book injury", "pelvis", "ap", "fracture", None, "open_book"),
    ],
)
def test_axial_prompt_words(prompt, region, view, finding, location, mod):
    spec = parse(prompt)[0]
    assert (spec.modality, spec.region, spec.view) == ("xray", region, view)
    assert not spec.unparsed
    if finding is None:
        assert not spec.findings
    else:
        f = spec.findings[0]
        assert (f.name, f.location) == (finding, location)
        assert mod is None or mod in f.modifiers


def test_displaced_neck_fracture_on_the_full_pelvis_breaks_shentons_line(tmp_path):
    """Shenton's line, side against side: the femoral neck's lower border past the head
    (28 mm lateral of the head's centre) stands higher on the fractured side (Garden IV:
    the shaft drawn up) than on the sound side; the key's break is that difference."""
    doc, ids, lab, px = _case(
        "pelvis x-ray, left neck of femur fracture, Garden IV --seed 21", tmp_path
    )
    femur = np.isin(lab, [ids[n] for n in ("femur", "femoral_head", "fragment_distal")])
    W = lab.shape[1]
    low = {}
    for side, lo, hi, out in (("left", W // 2, W, 1), ("right", 0, W // 2, -1)):
        hy, hx = np.nonzero(lab[:, lo:hi] == ids["femoral_head"])
        col = int(hx.mean() + lo + out * round(28 / px))
        rows = np.flatnonzero(femur[: int(hy.mean() + 40 / px), col])
        low[side] = rows.max() * px  # the neck's lower border
    step = low["right"] - low["left"]
    assert step > 2.5, low
    said = float(re.search(r"broken on the left: (\d+) mm", _key(doc)).group(1))
    assert abs(said - step) <= 1.5


@pytest.mark.parametrize(
    "prompt",
    ["lateral c-spine x-ray, adult --seed 2", "lateral lumbar spine x-ray, adult --seed 2"],
)
def test_laterals_hang_anterior_to_the_image_left(tmp_path, prompt):
    """Every body lies left of its spinous processes, and (the neck) the airway left of
    the bodies; the marker of the side against the detector (L) in the upper right."""
    doc, ids, lab, _px = _case(prompt, tmp_path)
    bodies = [n for n in ("c3", "c4", "c5", "l1", "l2", "l3") if n in ids]
    spinous = _centroid(lab == ids["spinous_process"])[0]
    assert all(_centroid(lab == ids[n])[0] < spinous for n in bodies)
    if "airway" in ids:
        assert _centroid(lab == ids["airway"])[0] < _centroid(lab == ids["c4"])[0]
    marker = lab == ids["side_marker"]
    assert marker_letter(marker) == "L" and _centroid(marker)[0] > lab.shape[1] / 2
    assert "anterior to the image left" in _key(doc)


def _posterior_step_mm(lab: np.ndarray, ids: dict[str, int], level: str, px: float) -> float:
    """How far a body's back (its rightmost column at mid-height, the lateral hanging
    anterior left) stands behind (+) the line through its neighbours' backs."""
    order = ["c3", "c4", "c5", "c6", "c7"]
    i = order.index(level)
    pts = []
    for n in order[i - 1 : i + 2]:
        m = lab == ids[n]
        r = int(np.median(np.flatnonzero(m.any(axis=1))))
        pts.append((r, np.flatnonzero(m[r - 2 : r + 3].any(axis=0)).max()))
    (r0, c0), (r1, c1), (r2, c2) = pts
    return float(c1 - np.interp(r1, [r0, r2], [c0, c2])) * px


def test_flexion_teardrop_fragment_and_the_posterior_line_step(tmp_path):
    doc, ids, lab, px = _case("lateral c-spine x-ray, adult --seed 4", tmp_path / "n")
    normal = _posterior_step_mm(lab, ids, "c5", px)
    doc, ids, lab, px = _case(
        "lateral c-spine, C5 flexion teardrop fracture --seed 4", tmp_path / "t"
    )
    # the lordotic curve alone puts C5's back ~1-2 mm off its neighbours' chord; the
    # teardrop drives it a further ~3.5 mm back
    assert _posterior_step_mm(lab, ids, "c5", px) > normal + 2.5
    frag, body = _centroid(lab == ids["fragment_distal"]), _centroid(lab == ids["c5"])
    assert frag[0] < body[0] and frag[1] > body[1]  # in front of (left) and below its body
    assert "Flexion teardrop fracture of C5" in _key(doc)


def test_spondylolysis_pars_defect_on_the_oblique(tmp_path):
    """The left posterior oblique: the defect (the Scottie dog's collar) lies across the
    pars, touching the pars on both sides; a normal oblique has none."""
    doc, ids, lab, _px = _case(
        "oblique lumbar spine x-ray, L5 spondylolysis --seed 3", tmp_path / "s"
    )
    line = lab == ids["fracture_line"]
    assert line.sum() > 10
    touching = ndimage.binary_dilation(line, iterations=2) & (lab == ids["pars_interarticularis"])
    assert touching.sum() > 10
    assert "left posterior oblique" in _key(doc) and "Scottie dog" in _key(doc)
    doc, ids, lab, _px = _case("oblique lumbar spine x-ray, adult --seed 3", tmp_path / "n")
    assert "fracture_line" not in ids
