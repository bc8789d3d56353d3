"""Bone disease, the shoulder's Y view and requested deformity on limb films (issue 19),
measured on the written files (variant PNGs, label maps, case.json) by this file's own
measurements."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

from imagine_med.case import render_case, write_case
from imagine_med.prompt import parse
from imagine_med.prompt.errors import PromptError
from tests.test_phantom_limb import _labels, _pixels, _rotation


def _case(prompt: str, out: Path, n: int = 1):
    spec = parse(prompt)[0]
    seeds = [spec.seed + 7919 * i for i in range(n)]
    write_case(render_case(spec, seeds=seeds), out)
    doc = json.loads((out / "case.json").read_text())
    ids = {name: int(k) for k, name in doc["labels"].items()}
    return doc, ids


def _px(doc: dict, i: int = 1) -> float:
    return doc["variants"][i - 1]["pixel_spacing_mm"][0]


def _measured(doc: dict, i: int = 1) -> dict[str, float]:
    return doc["variants"][i - 1]["findings"][0]["measurements"]


def _patches(mask: np.ndarray, px: float, min_mm2: float) -> list[np.ndarray]:
    lab, n = ndimage.label(mask, np.ones((3, 3)))
    return [lab == k for k in range(1, n + 1) if (lab == k).sum() * px * px >= min_mm2]


def _cortical_index(pix: np.ndarray, lab: np.ndarray, bone_id: int, rows) -> float:
    """A tube's combined cortex over its width across rows: the width from the label, the
    canal between the brightest points in the outer 45 % of each side (a tube's projection
    peaks where the ray grazes the canal), after taking off the soft tissue's slope."""
    img = ndimage.gaussian_filter(pix, (2.5, 0.6))
    ratios = []
    for r in rows:
        cols = np.flatnonzero(lab[r] == bone_id)
        if len(cols) < 6:
            continue
        runs = np.split(cols, np.flatnonzero(np.diff(cols) > 1) + 1)
        run = max(runs, key=len)
        lo, hi = run[0], run[-1]
        a, b = lo - 3, hi + 3
        prof = img[r, lo : hi + 1] - np.interp(np.arange(lo, hi + 1), [a, b], img[r, [a, b]])
        k = max(2, int(0.45 * (hi - lo)))
        left = lo + np.argmax(prof[:k])
        right = hi - k + np.argmax(prof[-k - 1 :])
        width = hi - lo + 1
        ratios.append((width - (right - left - 1)) / width)
    assert len(ratios) >= 3
    return float(np.median(ratios))


def test_rheumatoid_erosion_count_from_the_label_map_equals_the_key(tmp_path):
    doc, ids = _case(
        "PA x-ray of the left hand, rheumatoid arthritis --seed 8 --size 384", tmp_path, n=2
    )
    bones = [v for k, v in ids.items() if "metacarpal" in k or "phalanx" in k or k == "ulna"]
    for i in (1, 2):
        lab = _labels(tmp_path, doc, i)
        px = _px(doc, i)
        erosions = _patches(lab == ids["erosion"], px, 0.8)
        key = doc["variants"][i - 1]["answer_key"]
        said = int(re.search(r"(\d+) marginal erosions?", key).group(1))
        assert said == len(erosions) >= 2, key
        near_bone = ndimage.binary_dilation(np.isin(lab, bones), iterations=3)
        assert all((e & near_bone).any() for e in erosions)  # at a joint's bone margin
        assert "Rheumatoid arthritis" in key and "periarticular osteopenia" in key


def test_osteoporosis_lowers_the_metacarpal_cortical_index(tmp_path):
    tail = ", woman, age 75 --seed 8 --size 384"
    dn, idn = _case("PA x-ray of the left hand" + tail, tmp_path / "n")
    do, ido = _case("PA x-ray of the left hand, osteoporosis" + tail, tmp_path / "o")
    out = {}
    for name, doc, ids in (("normal", dn, idn), ("osteoporosis", do, ido)):
        d = tmp_path / name[0]
        lab, pix = _labels(d, doc, 1), _pixels(d, doc, 1)
        mc2 = lab == ids["metacarpal_2"]
        rows = np.flatnonzero(mc2.any(axis=1))
        a, b = rows.min(), rows.max()
        out[name] = _cortical_index(
            pix, lab, ids["metacarpal_2"], range(int(a + 0.4 * (b - a)), int(a + 0.6 * (b - a)))
        )
    assert out["osteoporosis"] < 0.45 < out["normal"], out
    assert out["osteoporosis"] < out["normal"] - 0.1
    key = do["variants"][0]["answer_key"]
    assert "Osteoporosis" in key
    assert abs(_measured(do)["metacarpal_cortical_index"] - out["osteoporosis"]) < 0.1


def _kl(joint_space_mm: float, osteophyte_mm: float) -> int:
    """Kellgren-Lawrence from measured features (this test's rule): bone on bone 4, definite
    narrowing 3, a definite osteophyte 2, doubtful lipping 1."""
    if joint_space_mm < 0.8:
        return 4
    if joint_space_mm < 1.7:
        return 3
    return 2 if osteophyte_mm >= 3.2 else 1 if osteophyte_mm > 0.5 else 0


@pytest.mark.parametrize("grade", [0, 1, 2, 3, 4])
def test_hip_kl_grade_recomputed_from_measured_features(tmp_path, grade):
    doc, ids = _case(
        f"AP x-ray of the left hip, osteoarthritis KL {grade} --seed 21 --size 384", tmp_path
    )
    lab = _labels(tmp_path, doc, 1)
    px = _px(doc)
    spurs = _patches(lab == ids["osteophyte"], px, 0.5) if "osteophyte" in ids else []
    # an osteophyte in profile is a half disc: its radius from its area
    size = max((np.sqrt(2 * s.sum() * px * px / np.pi) for s in spurs), default=0.0)
    js = _measured(doc)["joint_space_mm"]
    key = doc["variants"][0]["answer_key"]
    assert f"Kellgren-Lawrence grade {grade}" in key
    assert _kl(js, size) == grade, (js, size)
    cysts = _patches(lab == ids["cyst"], px, 2.0) if "cyst" in ids else []
    assert len(cysts) == {3: 1, 4: 2}.get(grade, 0)


def test_paget_cortex_thicker_and_bone_wider_than_the_same_patient(tmp_path):
    tail = ", woman, age 72 --seed 8 --size 384"
    dn, idn = _case("AP x-ray of the left hip" + tail, tmp_path / "n")
    dp, idp = _case("AP x-ray of the left hip, Paget's disease" + tail, tmp_path / "p")
    out = {}
    for name, doc, ids in (("normal", dn, idn), ("paget", dp, idp)):
        d = tmp_path / name[0]
        lab, pix = _labels(d, doc, 1), _pixels(d, doc, 1)
        px = _px(doc)
        head = np.nonzero(lab == ids["femoral_head"])[0].mean()
        rows = range(int(head + 86 / px), int(head + 98 / px))  # subtrochanteric shaft
        femur = lab == ids["femur"]
        width = np.median([femur[r].sum() for r in rows]) * px
        ci = _cortical_index(pix, lab, ids["femur"], rows)
        out[name] = (width, ci * width / 2)  # width, cortex each side (mm)
    (wn, cn), (wp, cp) = out["normal"], out["paget"]
    assert cp > 1.3 * cn, out
    assert wp > wn + 3.0, out
    assert "Paget's disease" in dp["variants"][0]["answer_key"]
    assert (_labels(tmp_path / "p", dp, 1) == idp["lytic_front"]).sum() * _px(dp) ** 2 > 50


@pytest.mark.parametrize(
    "what, where",
    [
        ("", "centred"),
        (", anterior dislocation", "anterior"),
        (", posterior dislocation", "posterior"),
    ],
)
def test_y_view_head_against_the_glenoid_matches_the_key(tmp_path, what, where):
    doc, ids = _case(
        f"scapular Y view of the left shoulder{what}, age 30 --seed 6 --size 256", tmp_path
    )
    lab = _labels(tmp_path, doc, 1)
    px = _px(doc)
    hx = np.nonzero(lab == ids["humeral_head"])[1].mean()
    gx = np.nonzero(lab == ids["glenoid"])[1].mean()
    ahead = (hx - gx) * px  # anterior on the image right
    seen = "anterior" if ahead > 8 else "posterior" if ahead < -8 else "centred"
    assert seen == where, ahead
    key = doc["variants"][0]["answer_key"]
    assert f"lies {where}" in key and "scapular Y view" in key


def test_posterior_dislocation_widens_the_glenohumeral_distance_on_the_ap(tmp_path):
    tail = ", age 30 --seed 6 --size 256"
    dd, idd = _case(
        "AP x-ray of the left shoulder, posterior shoulder dislocation" + tail, tmp_path / "d"
    )
    dn, idn = _case("AP x-ray of the left shoulder" + tail, tmp_path / "n")

    def gap(d: Path, doc: dict, ids: dict) -> float:
        lab = _labels(d, doc, 1)
        head, glen = lab == ids["humeral_head"], lab == ids["glenoid"]
        r0 = int(np.nonzero(head)[0].mean())
        px = _px(doc)
        # the patient's left on the image right: the glenoid medial (left) of the head
        g = [
            np.flatnonzero(head[r]).min() - np.flatnonzero(glen[r]).max() - 1
            for r in range(r0 - 10, r0 + 11)
            if head[r].any() and glen[r].any()
        ]
        return float(np.median(g)) * px

    assert gap(tmp_path / "d", dd, idd) > 6.0
    assert gap(tmp_path / "n", dn, idn) < 3.0
    key = dd["variants"][0]["answer_key"]
    assert "Posterior dislocation of the shoulder" in key and "light bulb" in key


@pytest.mark.parametrize("angle", [15, 35])
def test_requested_dorsal_angulation_is_built(tmp_path, angle):
    """The same patient on a lateral, broken and unbroken: the fragment is the unbroken end
    turned dorsally by the requested angle, within 5 degrees."""
    tail = ", female, age 62 --seed 31 --size 384"
    dfrac, ids = _case(
        f"lateral x-ray of the left wrist, Colles fracture with {angle} degrees "
        "of dorsal angulation" + tail,
        tmp_path / "f",
    )
    dnorm, idn = _case("lateral radiograph of the left wrist" + tail, tmp_path / "n")
    lab = _labels(tmp_path / "f", dfrac, 1)
    lab_n = _labels(tmp_path / "n", dnorm, 1)
    frag, prox = lab == ids["fragment_distal"], lab == ids["radius"]
    cut_row = int(
        np.median([np.flatnonzero(prox[:, c]).min() for c in np.flatnonzero(prox.any(axis=0))])
    )
    before = lab_n == idn["radius"]
    before[cut_row:] = False
    measured = _rotation(before, frag)
    assert abs(measured - angle) <= 5.0, measured
    assert abs(_measured(dfrac)["angulation_deg"] - angle) <= 5.0


def test_tumour_margins_and_periosteal_reactions(tmp_path):
    """Geographic giant cell tumour: a narrow zone of transition, no periosteal reaction;
    osteoid osteoma: a narrow margin under solid periosteal new bone; osteosarcoma and Ewing
    sarcoma: a wide (permeative) zone and a periosteal reaction."""
    cases = {
        "gct": "PA x-ray of the left wrist, giant cell tumour",
        "os": "AP x-ray of the left shoulder, osteosarcoma",
        "ewing": "AP x-ray of the left hip, Ewing sarcoma",
        "oo": "AP x-ray of the left hip, osteoid osteoma",
    }
    zone, reaction = {}, {}
    for name, prompt in cases.items():
        doc, ids = _case(prompt + " --seed 4 --size 384", tmp_path / name)
        lab = _labels(tmp_path / name, doc, 1)
        px = _px(doc)
        core, margin = lab == ids["tumour"], lab == ids["tumour_margin"]
        dist = ndimage.distance_transform_edt(~core)
        zone[name] = float(np.percentile(dist[margin], 90)) * px
        reaction[name] = {
            k: float((lab == ids[k]).sum()) * px * px
            for k in (
                "periosteal_solid",
                "periosteal_lamellated",
                "periosteal_sunburst",
                "codman_triangle",
            )
            if k in ids
        }
        key = doc["variants"][0]["answer_key"]
        assert ("narrow" if name in ("gct", "oo") else "wide") in key
    assert max(zone["gct"], zone["oo"]) < 2.5 < 6.0 < min(zone["os"], zone["ewing"]), zone
    assert reaction["gct"] == {}
    assert reaction["os"]["periosteal_sunburst"] > 100 and reaction["os"]["codman_triangle"] > 10
    assert set(reaction["ewing"]) == {"periosteal_lamellated"}
    assert set(reaction["oo"]) == {"periosteal_solid"}
    assert (
        min(reaction["ewing"]["periosteal_lamellated"], reaction["oo"]["periosteal_solid"]) > 100.0
    )


@pytest.mark.parametrize(
    "prompt, name, region",
    [
        ("hand x-ray, osteoporosis", "osteoporosis", "hand"),
        ("rheumatoid hands", "rheumatoid_arthritis", "hand"),
        ("PA hand x-ray, erosions", "rheumatoid_arthritis", "hand"),
        ("giant cell tumour of the distal radius", "giant_cell_tumour", "wrist"),
        ("osteosarcoma, sunburst periosteal reaction", "osteosarcoma", "shoulder"),
        ("Ewing sarcoma", "ewing_sarcoma", "hip"),
        ("Paget's disease of the hip", "paget", "hip"),
        ("hip osteoarthritis KL 3", "osteoarthritis", "hip"),
        ("Y view of the right shoulder, posterior shoulder dislocation", "dislocation", "shoulder"),
    ],
)
def test_disease_words_parse(prompt, name, region):
    spec = parse(prompt)[0]
    assert spec.findings[0].name == name and spec.region == region


def test_requested_deformity_words_and_range():
    spec = parse(
        "PA wrist x-ray, Colles fracture with 30 degrees of dorsal angulation, "
        "displaced 5 mm, shortened 1 cm"
    )[0]
    mods = spec.findings[0].modifiers
    assert {"angulation_deg_30", "displacement_mm_5", "shortening_mm_10"} <= set(mods)
    assert parse("Y view of the shoulder")[0].view == "scapular_y"
    with pytest.raises(PromptError, match="out of range"):
        parse("lateral wrist x-ray, fracture with 80 degrees of dorsal angulation")
    with pytest.raises(PromptError, match="Colles fracture is built with 0-45"):
        parse("lateral wrist x-ray, Colles fracture with 50 degrees of dorsal angulation")
    with pytest.raises(PromptError, match="boxer's fracture's displacement cannot be set"):
        parse("hand x-ray, boxer's fracture displaced 4 mm")


def test_a_fracture_through_osteoporotic_bone_keeps_both_findings(tmp_path):
    doc, ids = _case(
        "lateral x-ray of the left wrist, osteoporotic Colles fracture with 25 "
        "degrees of dorsal angulation --seed 31 --size 256",
        tmp_path,
    )
    v = doc["variants"][0]
    names = [f["name"] for f in v["findings"]]
    assert names == ["osteoporosis", "fracture"]
    assert "Colles" in v["answer_key"] and "Osteoporosis" in v["answer_key"]
    assert "no fracture" not in v["answer_key"]
    lab = _labels(tmp_path, doc, 1)
    assert (lab == ids["fragment_distal"]).sum() > 100
    assert abs(v["findings"][1]["measurements"]["angulation_deg"] - 25) <= 5


def test_anterior_dislocation_carries_a_hill_sachs_lesion(tmp_path):
    tail = ", age 30 --seed 6 --size 256"
    dd, idd = _case("AP x-ray of the left shoulder, anterior dislocation" + tail, tmp_path / "d")
    _dn, idn = _case("AP x-ray of the left shoulder" + tail, tmp_path / "n")
    px = _px(dd)
    hs = _labels(tmp_path / "d", dd, 1) == idd["hill_sachs"]
    assert hs.sum() * px * px > 20.0
    head = _labels(tmp_path / "d", dd, 1) == idd["humeral_head"]
    assert (ndimage.binary_dilation(head, iterations=2) & hs).any()  # on the head
    assert "hill_sachs" not in idn
    assert "Hill-Sachs" in dd["variants"][0]["answer_key"]
