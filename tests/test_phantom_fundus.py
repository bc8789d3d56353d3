"""The phantom fundus's must-show properties, measured on the written files (issue 17).

Every number is recomputed here from variant-N.labels.png and case.json with the test's
own code (moments, connected pieces, the 4-2-1 rule), not the engine's measuring code.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from imagine_med.case import render_case, write_case
from imagine_med.engine.phantom.regions.retina.labels import LABELS, VESSEL_BRIDGES
from imagine_med.engine.registry import check
from imagine_med.prompt import parse
from imagine_med.prompt.spec import CaseSpec, Finding

SIZE = 256
QUADS = ("superotemporal", "superonasal", "inferotemporal", "inferonasal")
L = LABELS


def _write(spec: CaseSpec, out: Path, seeds: list[int]) -> dict:
    write_case(render_case(spec, seeds=seeds, seed=seeds[0]), out)
    return json.loads((out / "case.json").read_text())


def _labels(out: Path, i: int, size: int = SIZE) -> np.ndarray:
    return np.asarray(Image.open(out / f"variant-{i}.labels.png"))[:size, :size]


def _moments(mask: np.ndarray) -> tuple[float, float, float, float]:
    ys, xs = np.nonzero(mask)
    return xs.mean(), ys.mean(), 4 * xs.std(), 4 * ys.std()


def _geo(lab: np.ndarray) -> dict:
    dx, dy, dw, dh = _moments(np.isin(lab, (L["optic_disc"], L["optic_cup"])))
    fx, fy, _, _ = _moments(lab == L["fovea"])
    _, _, _, ch = _moments(lab == L["optic_cup"])
    return {"dx": dx, "dy": dy, "dd": (dw + dh) / 2, "fx": fx, "fy": fy, "cdr": ch / dh}


def _table(lab: np.ndarray) -> dict[str, dict[str, int]]:
    g = _geo(lab)
    out = {}
    for kind, lid in L.items():
        if lid < 100:
            continue
        pieces, n = ndimage.label(lab == lid, np.ones((3, 3), bool))
        row = dict.fromkeys(QUADS, 0)
        for cy, cx in ndimage.center_of_mass(pieces > 0, pieces, range(1, n + 1)):
            nasal = (cx > g["fx"]) == (g["dx"] > g["fx"])
            row[("supero" if cy < g["fy"] else "infero") + ("nasal" if nasal else "temporal")] += 1
        out[kind] = row
    return out


def _grade(t: dict[str, dict[str, int]]) -> int:
    """ICDR from a lesion table, written from physics.md's definition."""
    if sum(t["neovascularisation"].values()) + sum(t["preretinal_haemorrhage"].values()):
        return 4
    heme = [t["dot_blot_haemorrhage"][q] + t["flame_haemorrhage"][q] for q in QUADS]
    beading = sum(c > 0 for c in t["venous_beading"].values())
    irma = sum(c > 0 for c in t["irma"].values())
    if min(heme) > 20 or beading >= 2 or irma >= 1:
        return 3
    if sum(heme) + sum(sum(t[k].values()) for k in ("hard_exudate", "cotton_wool_spot",
                                                        "venous_beading")):
        return 2
    return 1 if sum(t["microaneurysm"].values()) else 0


def test_disc_fovea_vessels_on_written_labels(tmp_path):
    # 768 px: the calibre ratio needs vessels several pixels wide (see docs/phantom.md)
    spec = parse("fundus photo, right eye, normal")[0].model_copy(
        update={"width": 768, "height": 768})
    doc = _write(spec, tmp_path, [1, 2, 3, 4])
    for i, v in enumerate(doc["variants"], 1):
        lab = _labels(tmp_path, i, 768)
        px = v["pixel_spacing_mm"][0]
        g = _geo(lab)
        dist = math.hypot(g["fx"] - g["dx"], g["fy"] - g["dy"]) / g["dd"]
        below = math.degrees(math.atan2(g["fy"] - g["dy"], abs(g["fx"] - g["dx"])))
        assert 2.3 <= dist <= 3.0 and 1.0 <= below <= 10.0, (i, dist, below)
        assert g["dx"] > g["fx"]  # right eye: the disc on the image right
        # no vessel pixel within 0.2 mm of the foveal centre
        ys, xs = np.nonzero(np.isin(lab, (L["artery"], L["vein"])))
        assert np.hypot(xs - g["fx"], ys - g["fy"]).min() * px > 0.2
        # every piece of the vessel tree reaches the disc
        tree = np.isin(lab, (L["artery"], L["vein"], L["optic_disc"], L["optic_cup"],
                             *(L[b] for b in VESSEL_BRIDGES)))
        pieces, _ = ndimage.label(tree, np.ones((3, 3), bool))
        on_disc = set(np.unique(pieces[np.isin(lab, (L["optic_disc"], L["optic_cup"]))]))
        vessel_pieces = set(np.unique(pieces[np.isin(lab, (L["artery"], L["vein"]))]))
        stray = vessel_pieces - on_disc
        stray_px = sum(int((pieces == s).sum()) for s in stray)
        assert stray_px <= 0.002 * (pieces > 0).sum(), (i, len(stray), stray_px)
        # the trees are trees: one root per kind, parents exist, no cycles
        rows = [r.split(",") for r in v["tags"]["vessel_tree"].split(";")]
        parent = {int(a): int(b) for a, b, _ in rows}
        kind = {int(a): k for a, _, k in rows}
        assert sorted(k for n, k in kind.items() if parent[n] == -1) == ["a", "v"]
        for n in parent:
            seen, p = {n}, parent[n]
            while p != -1:
                assert p not in seen and kind[p] == kind[n]
                seen.add(p)
                p = parent[p]
        assert 1.3 <= float(v["tags"]["va_ratio"]) <= 1.8, v["tags"]["va_ratio"]


@pytest.mark.parametrize("cdr", [0.3, 0.5, 0.7, 0.85])
def test_measured_cdr_matches_request(tmp_path, cdr):
    spec = parse(f"fundus photo OD, cup-to-disc ratio {cdr}")[0].model_copy(
        update={"width": SIZE, "height": SIZE})
    assert spec.findings[0].extent == cdr
    doc = _write(spec, tmp_path, [11, 12, 13, 14])
    for i, v in enumerate(doc["variants"], 1):
        measured = _geo(_labels(tmp_path, i))["cdr"]
        assert abs(measured - cdr) <= 0.03, (i, measured)
        assert abs(float(v["tags"]["cdr"]) - measured) < 0.005
        said = re.search(r"cup-to-disc ratio (\d\.\d\d)", v["answer_key"])
        assert said and abs(float(said[1]) - measured) <= 0.006


PROMPTS = {0: "fundus photo, normal", 1: "fundus photo, mild NPDR",
           2: "fundus photo, moderate NPDR", 3: "fundus photo, severe NPDR",
           4: "fundus photo, proliferative diabetic retinopathy"}


@pytest.mark.parametrize("grade", [0, 1, 2, 3, 4])
def test_icdr_grade_from_lesion_table_20_seeds(tmp_path, grade):
    spec = parse(PROMPTS[grade])[0].model_copy(update={"width": SIZE, "height": SIZE})
    cases = [(tmp_path / str(k), _write(spec, tmp_path / str(k), list(range(100 + 4 * k,
                                                                          104 + 4 * k))))
             for k in range(5)]  # 5 jobs of 4 variants: 20 seeds
    for out, i, v in ((o, i, v) for o, doc in cases for i, v in enumerate(doc["variants"], 1)):
        table = _table(_labels(out, i))
        assert _grade(table) == int(v["tags"]["icdr_grade"]) == grade, (i, table)
        if grade:
            meas = v["findings"][0]["measurements"]
            for kind in ("microaneurysm", "dot_blot_haemorrhage", "venous_beading"):
                assert [meas[f"{kind}_{q}"] for q in QUADS] == \
                    [table[kind][q] for q in QUADS]
            assert f"ICDR grade {grade}" in v["answer_key"]


def test_right_and_left_eyes_mirror(tmp_path):
    base = CaseSpec(modality="fundus", region="retina", width=SIZE, height=SIZE)
    right = _write(base.model_copy(update={"laterality": "right"}), tmp_path / "r", [7] * 4)
    left = _write(base.model_copy(update={"laterality": "left"}), tmp_path / "l", [7] * 4)
    assert right["variants"][0]["tags"]["laterality"] == "OD"
    assert left["variants"][0]["tags"]["laterality"] == "OS"
    lr, ll = _labels(tmp_path / "r", 1), _labels(tmp_path / "l", 1)
    gr, gl = _geo(lr), _geo(ll)
    assert gr["dx"] > SIZE / 2 > gl["dx"]  # OD: disc on the image right; OS: left
    disc_r = np.isin(lr, (L["optic_disc"], L["optic_cup"]))
    disc_l = np.isin(ll, (L["optic_disc"], L["optic_cup"]))[:, ::-1]
    assert (disc_r & disc_l).sum() / (disc_r | disc_l).sum() > 0.9


def test_vocabulary_and_registry():
    s = parse("fundus photo OS, proliferative diabetic retinopathy")[0]
    assert (s.modality, s.region, s.laterality) == ("fundus", "retina", "left")
    assert "proliferative" in s.findings[0].modifiers
    assert parse("retinal photograph OD, moderate NPDR")[0].findings[0].severity == "moderate"
    assert parse("fundus photo, CDR of 0.7")[0].findings[0].extent == 0.7
    assert check(s).target.endswith("renderer_fundus:fundus_renderer")
    with pytest.raises(Exception, match="no model of pneumothorax"):
        render_case(CaseSpec(modality="fundus", region="retina", width=64, height=64,
                             findings=(Finding(name="pneumothorax"),)), seed=1)


def test_dicom_says_which_eye(tmp_path):
    import pydicom

    from imagine_med.cli import main

    assert main(["generate", "fundus photo OS, moderate NPDR --size 128 --seed 5", "--out",
                 str(tmp_path), "--format", "both"]) == 0
    ds = pydicom.dcmread(tmp_path / "variant-1.dcm")
    assert (ds.Modality, ds.BodyPartExamined, ds.ImageLaterality) == ("XC", "EYE", "L")
    assert "Laterality" not in ds and ds.PhotometricInterpretation == "RGB"


def test_branch_vein_occlusion_stays_in_its_quadrant(tmp_path):
    spec = parse("fundus photo OS, BRVO inferotemporal")[0].model_copy(
        update={"width": SIZE, "height": SIZE})
    doc = _write(spec, tmp_path, [21, 22, 23, 24])
    for i, v in enumerate(doc["variants"], 1):
        t = _table(_labels(tmp_path, i))
        heme = {q: t["dot_blot_haemorrhage"][q] + t["flame_haemorrhage"][q] for q in QUADS}
        assert heme["inferotemporal"] >= 20 and sum(heme.values()) == heme["inferotemporal"]
        assert "branch" in v["answer_key"] and "icdr_grade" not in v["tags"]


def test_hypertension_narrows_the_arteries(tmp_path):
    seeds = [31, 32, 33, 34]
    normal = _write(CaseSpec(modality="fundus", region="retina", width=512, height=512),
                    tmp_path / "n", seeds)
    hyp = _write(parse("fundus photo, moderate hypertensive retinopathy")[0].model_copy(
        update={"width": 512, "height": 512}), tmp_path / "h", seeds)
    for vn, vh in zip(normal["variants"], hyp["variants"], strict=True):
        assert float(vh["tags"]["va_ratio"]) > 1.15 * float(vn["tags"]["va_ratio"])
        assert "arteriolar narrowing" in vh["answer_key"]


def test_glaucoma_notch_and_disc_haemorrhage(tmp_path):
    spec = parse("fundus photo OS, notched glaucomatous cupping with a disc haemorrhage")[0]
    assert {"notched", "disc_haemorrhage"} <= set(spec.findings[0].modifiers)
    doc = _write(spec.model_copy(update={"width": SIZE, "height": SIZE}), tmp_path,
                 [41, 42, 43, 44])
    for i, v in enumerate(doc["variants"], 1):
        lab = _labels(tmp_path, i)
        assert (lab == L["disc_haemorrhage"]).any()
        assert v["findings"][0]["measurements"]["rim_inferotemporal_mm"] < 0.1
        assert "notched" in v["answer_key"] and "Drance" in v["answer_key"]


def test_macular_oedema_puts_exudates_within_500_um_of_the_fovea(tmp_path):
    spec = parse("fundus photo OD, moderate NPDR with macular oedema")[0]
    doc = _write(spec.model_copy(update={"width": SIZE, "height": SIZE}), tmp_path,
                 [51, 52, 53, 54])
    for i, v in enumerate(doc["variants"], 1):
        lab = _labels(tmp_path, i)
        g = _geo(lab)
        ys, xs = np.nonzero(lab == L["hard_exudate"])
        assert np.hypot(xs - g["fx"], ys - g["fy"]).min() * v["pixel_spacing_mm"][0] <= 0.5
        assert "diabetic macular oedema" in v["answer_key"] and v["tags"]["icdr_grade"] == "2"
