"""The dental panoramic phantom's must-show properties, measured on the written files (issue 19).

Counts, sides, sizes and angles are recomputed here from variant-N.labels.png, variant-N.png and
case.json with the test's own code (centroids, moments, connected pieces), not the engine's key.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from imagine_med.case import render_case, write_case
from imagine_med.engine.phantom.physics.panoramic import Trough
from imagine_med.engine.registry import check
from imagine_med.prompt import parse

W, H = 448, 224
TOOTH = re.compile(r"tooth_(\d\d)(?:_(enamel|pulp))?$")


def _case(prompt: str, out: Path, seeds=(5, 6)) -> dict:
    spec = parse(prompt)[0].model_copy(update={"width": W, "height": H})
    check(spec)
    write_case(render_case(spec, seeds=list(seeds), seed=seeds[0]), out)
    return json.loads((out / "case.json").read_text())


def _read(out: Path, i: int) -> tuple[np.ndarray, np.ndarray]:
    lab = np.asarray(Image.open(out / f"variant-{i}.labels.png"))[:H, :W]
    img = np.asarray(Image.open(out / f"variant-{i}.png").convert("L"))[:H, :W]
    return lab, img


def _teeth(lab: np.ndarray, names: dict[str, str]) -> dict[int, np.ndarray]:
    out: dict[int, np.ndarray] = {}
    for v in np.unique(lab):
        m = TOOTH.match(names.get(str(int(v)), ""))
        if m:
            fdi = int(m.group(1))
            out[fdi] = out.get(fdi, np.zeros(lab.shape, bool)) | (lab == v)
    return out


def _ids(names: dict[str, str], pattern: str) -> list[int]:
    return [int(k) for k, n in names.items() if re.fullmatch(pattern, n)]


def _field_mid(lab: np.ndarray) -> float:
    cols = np.nonzero((lab > 0).any(axis=0))[0]
    return (cols.min() + cols.max()) / 2


def test_adult_has_32_fdi_teeth_on_the_right_sides(tmp_path: Path) -> None:
    doc = _case("OPG of a 35 year old", tmp_path)
    for i in (1, 2):
        lab, _ = _read(tmp_path, i)
        teeth = _teeth(lab, doc["variants"][i - 1]["labels"])
        assert sorted(teeth) == [q * 10 + p for q in (1, 2, 3, 4) for p in range(1, 9)]
        mid = _field_mid(lab)
        cy = {f: np.nonzero(m)[0].mean() for f, m in teeth.items()}
        for f, m in teeth.items():
            x = np.nonzero(m)[1].mean()
            # patient's right (quadrants 1 and 4) on the viewer's left
            assert (x < mid) == (f // 10 in (1, 4)), f
        for p in range(1, 9):  # upper teeth above their lower partners
            assert cy[10 + p] < cy[40 + p] and cy[20 + p] < cy[30 + p]
            # teeth further back stand further from the midline
        xs = {f: np.nonzero(m)[1].mean() for f, m in teeth.items()}
        for q in (1, 4):
            assert all(xs[q * 10 + p] > xs[q * 10 + p + 1] for p in range(1, 8))
        for q in (2, 3):
            assert all(xs[q * 10 + p] < xs[q * 10 + p + 1] for p in range(1, 8))


def test_five_year_old_has_20_primary_teeth(tmp_path: Path) -> None:
    doc = _case("orthopantomogram of a 5 year old child", tmp_path)
    lab, _ = _read(tmp_path, 1)
    names = doc["variants"][0]["labels"]
    teeth = _teeth(lab, names)
    assert sorted(teeth) == [q * 10 + p for q in (5, 6, 7, 8) for p in range(1, 6)]
    mid = _field_mid(lab)
    for f, m in teeth.items():
        assert (np.nonzero(m)[1].mean() < mid) == (f // 10 in (5, 8)), f
    # the permanent successors are forming in the jaws below/above them (not yet erupted)
    germs = {int(n.split("_")[1]) for k, n in names.items() if n.startswith("germ_")}
    assert {16, 26, 36, 46} <= germs


def test_mixed_dentition_at_nine(tmp_path: Path) -> None:
    doc = _case("OPG, 9 year old", tmp_path)
    lab, _ = _read(tmp_path, 1)
    teeth = _teeth(lab, doc["variants"][0]["labels"])
    primary = {f for f in teeth if f >= 50}
    permanent = {f for f in teeth if f < 50}
    assert primary and permanent
    assert {16, 26, 36, 46} <= permanent  # first molars erupt at ~6
    # a tooth and its own predecessor are never both erupted
    assert not any((f // 10 - 4) * 10 + f % 10 in permanent for f in primary)


def test_enamel_brighter_than_dentine_brighter_than_pulp(tmp_path: Path) -> None:
    doc = _case("OPG of a 30 year old", tmp_path)
    for i in (1, 2):
        lab, img = _read(tmp_path, i)
        names = doc["variants"][i - 1]["labels"]
        enamel = img[np.isin(lab, _ids(names, r"tooth_\d\d_enamel"))].mean()
        dentine = img[np.isin(lab, _ids(names, r"tooth_\d\d"))].mean()
        pulp = img[np.isin(lab, _ids(names, r"tooth_\d\d_pulp"))].mean()
        assert enamel > dentine + 3 > pulp + 6, (enamel, dentine, pulp)


def test_findings_on_named_teeth_measured(tmp_path: Path) -> None:
    doc = _case("OPG, 40 year old, caries in the lower left first molar, 8 mm periapical "
                "lesion tooth 46, amalgam filling upper right first molar, implant tooth 35",
                tmp_path)
    lab, img = _read(tmp_path, 1)
    names = doc["variants"][0]["labels"]
    inv = {n: int(k) for k, n in names.items()}
    teeth = _teeth(lab, names)
    px = doc["variants"][0]["pixel_spacing_mm"][0]

    def nearest(mask: np.ndarray) -> int:
        ring = ndimage.binary_dilation(mask, iterations=3) & ~mask
        return max(teeth, key=lambda f: int((teeth[f] & ring).sum()))

    caries = lab == inv["caries"]
    assert caries.any() and nearest(caries) == 36
    pa = lab == inv["periapical_lesion"]
    diameter = 2 * np.sqrt(pa.sum() / np.pi) * px
    assert 5.5 < diameter < 9.0, diameter
    assert nearest(pa) == 46
    # the lesion sits at the root's end: below the tooth's own pixels on the film
    assert np.nonzero(pa)[0].mean() > np.nonzero(teeth[46])[0].mean()
    # radiolucent: darker than the bone around it
    ring = ndimage.binary_dilation(pa, iterations=4) & ~pa & (lab == inv["mandible"])
    assert img[pa].mean() < img[ring].mean() - 5
    fill = lab == inv["restoration"]
    assert nearest(fill) == 16
    implant = lab == inv["implant"]
    assert 35 not in teeth and implant.any()
    enamel = img[np.isin(lab, _ids(names, r"tooth_\d\d_enamel"))].mean()
    assert img[fill].mean() > enamel and img[implant].mean() > enamel  # metal outshines enamel
    assert doc["variants"][0]["findings"][1]["measurements"]["tooth"] == 46.0


def _axis_deg(mask: np.ndarray) -> float:
    ys, xs = np.nonzero(mask)
    _w, v = np.linalg.eigh(np.cov(np.vstack([xs - xs.mean(), ys - ys.mean()])))
    return float(np.degrees(np.arctan2(abs(v[0, -1]), abs(v[1, -1]))))


def test_impacted_third_molar_is_mesioangular(tmp_path: Path) -> None:
    doc = _case("OPG, impacted lower left third molar, 25 year old", tmp_path)
    lab, _ = _read(tmp_path, 1)
    teeth = _teeth(lab, doc["variants"][0]["labels"])
    angle = abs(_axis_deg(teeth[38]) - _axis_deg(teeth[37]))
    assert 10 < angle < 80
    # lower than the second molar on the film, and its crown tips toward the midline
    assert np.nonzero(teeth[38])[0].mean() > np.nonzero(teeth[37])[0].mean()
    key = doc["variants"][0]["answer_key"]
    assert "38" in key and "mesioangular" in key


def _crest_gap(lab: np.ndarray, names: dict[str, str], px: float) -> float:
    """Median CEJ (lowest enamel row) to crest (top mandible row beside the tooth), mm."""
    inv = {n: int(k) for k, n in names.items()}
    bone = lab == inv["mandible"]
    gaps = []
    for f in (33, 34, 35, 36, 43, 44, 45, 46):
        en = lab == inv[f"tooth_{f}_enamel"]
        tooth = np.isin(lab, [inv[f"tooth_{f}"], inv[f"tooth_{f}_enamel"]])
        xs = np.nonzero(tooth)[1]
        cej = np.nonzero(en)[0].max()
        for x in (xs.min() - 2, xs.max() + 2):
            rows = np.nonzero(bone[:, x])[0]
            rows = rows[rows > cej - 4]
            if len(rows):
                gaps.append((rows.min() - cej) * px)
    return float(np.median(gaps))


def test_bone_loss_lowers_the_crest(tmp_path: Path) -> None:
    a = _case("OPG of a 45 year old", tmp_path / "a", seeds=(9,))
    b = _case("OPG of a 45 year old, severe periodontal bone loss", tmp_path / "b", seeds=(9,))
    px = a["variants"][0]["pixel_spacing_mm"][0]
    normal = _crest_gap(_read(tmp_path / "a", 1)[0], a["variants"][0]["labels"], px)
    lost = _crest_gap(_read(tmp_path / "b", 1)[0], b["variants"][0]["labels"], px)
    assert normal < 3.0 and lost > normal + 4.0, (normal, lost)


def test_mandibular_fracture_steps_the_lower_border(tmp_path: Path) -> None:
    doc = _case("OPG, 30 year old, severe mandibular fracture", tmp_path, seeds=(4,))
    lab, _ = _read(tmp_path, 1)
    inv = {n: int(k) for k, n in doc["variants"][0]["labels"].items()}
    px = doc["variants"][0]["pixel_spacing_mm"][0]
    gap = lab == inv["fracture_line"]
    assert gap.any()
    ys, xs = np.nonzero(gap)
    x0 = int(xs[ys > ys.max() - 3 / px].mean())  # where the line meets the lower border
    bone = lab == inv["mandible"]

    def lower_border(x: int) -> float:
        return float(np.nonzero(bone[:, x])[0].max())

    left = np.median([lower_border(x0 - k) for k in range(int(3 / px), int(8 / px))])
    right = np.median([lower_border(x0 + k) for k in range(int(3 / px), int(8 / px))])
    assert abs(left - right) * px > 3.0


def test_trough_physics() -> None:
    t = Trough()
    for s in (0.0, 30.0, 70.0):
        assert t.ratio(s, 0.0) == pytest.approx(1.0)
        assert t.blur_mm(s, 0.0) == pytest.approx(0.0)
        assert t.ratio(s, -5.0) > 1.0 > t.ratio(s, 5.0)  # lingual wide, buccal narrow
        assert t.blur_mm(s, -8.0) > t.blur_mm(s, -4.0) > 0
    front, back = sum(t.half_width(0.0)), sum(t.half_width(80.0))
    assert 5.0 < front < 12.0 and back > 1.8 * front  # narrow in front, wide behind
    # a structure behind the rotation centre: reversed, magnified, blurred, lifted
    assert t.ratio(90.0, -95.0) < -1.5
    assert t.blur_mm(90.0, -95.0) > 10.0
    assert t.rise_mm(90.0, -95.0, 0.0) > 5.0
    assert t.m_v(0.0, 0.0) == pytest.approx(1.25)


def test_parser_dental_vocabulary() -> None:
    s = parse("panoramic dental x-ray, caries in the lower left first molar")[0]
    assert (s.modality, s.region, s.view) == ("xray", "teeth", "panoramic")
    assert s.findings[0].location == "tooth_36" and s.findings[0].laterality == "left"
    assert parse("orthopantomogram")[0].view == "panoramic"
    assert parse("OPG, periapical lesion tooth 46")[0].findings[0].location == "tooth_46"
    assert parse("bitewing")[0].view == "bitewing"
    assert parse("OPG, upper right primary canine caries")[0].findings[0].location == "tooth_53"


def _case_wh(prompt: str, out: Path, w: int, h: int, seeds=(5,)) -> dict:
    spec = parse(prompt)[0].model_copy(update={"width": w, "height": h})
    check(spec)
    write_case(render_case(spec, seeds=list(seeds), seed=seeds[0]), out)
    return json.loads((out / "case.json").read_text())


def test_bitewing_shows_one_sides_back_teeth_mounted_facing_the_patient(tmp_path: Path) -> None:
    for side, quads in (("right", (1, 4)), ("left", (2, 3))):
        doc = _case_wh(f"{side} bitewing, 35 year old", tmp_path / side, 320, 240)
        lab = np.asarray(Image.open(tmp_path / side / "variant-1.labels.png"))[:240, :320]
        img = np.asarray(Image.open(tmp_path / side / "variant-1.png").convert("L"))[:240, :320]
        names = doc["variants"][0]["labels"]
        teeth = _teeth(lab, names)
        assert {f // 10 for f in teeth} == set(quads)
        for q in quads:
            assert {q * 10 + p for p in (5, 6, 7)} <= set(teeth)
        x = {f: np.nonzero(m)[1].mean() for f, m in teeth.items()}
        y = {f: np.nonzero(m)[0].mean() for f, m in teeth.items()}
        # molars toward the patient's side: on the viewer's left for a right bitewing
        assert (x[quads[0] * 10 + 6] < x[quads[0] * 10 + 5]) == (side == "right")
        assert y[quads[0] * 10 + 6] < y[quads[1] * 10 + 6]  # upper above lower
        enamel = img[np.isin(lab, _ids(names, r"tooth_\d\d_enamel"))].mean()
        dentine = img[np.isin(lab, _ids(names, r"tooth_\d\d"))].mean()
        pulp = img[np.isin(lab, _ids(names, r"tooth_\d\d_pulp"))].mean()
        assert enamel > dentine > pulp, (enamel, dentine, pulp)


def test_bitewing_caries_and_periapical_lesion(tmp_path: Path) -> None:
    doc = _case_wh("bitewing, caries lower left first molar", tmp_path / "b", 320, 240)
    lab = np.asarray(Image.open(tmp_path / "b" / "variant-1.labels.png"))[:240, :320]
    names = doc["variants"][0]["labels"]
    inv = {n: int(k) for k, n in names.items()}
    teeth = _teeth(lab, names)
    caries = lab == inv["caries"]
    ring = ndimage.binary_dilation(caries, iterations=3) & ~caries
    assert max(teeth, key=lambda f: int((teeth[f] & ring).sum())) == 36
    doc = _case_wh("periapical radiograph, 6 mm periapical lesion tooth 46", tmp_path / "p",
                   240, 320)
    lab = np.asarray(Image.open(tmp_path / "p" / "variant-1.labels.png"))[:320, :240]
    names = doc["variants"][0]["labels"]
    inv = {n: int(k) for k, n in names.items()}
    px = doc["variants"][0]["pixel_spacing_mm"][0]
    teeth = _teeth(lab, names)
    assert 46 in teeth and all(f // 10 == 4 for f in teeth)  # the sensor behind one jaw
    pa = lab == inv["periapical_lesion"]
    d = 2 * np.sqrt(pa.sum() / np.pi) * px
    assert 4.0 < d < 7.0, d
    assert np.nonzero(pa)[0].mean() > np.nonzero(teeth[46])[0].mean()  # at the root's end
