"""Limb radiographs (issue 19: wrist, hand, elbow, ankle, hip): the must-show properties,
(variant PNGs, label maps, case.json) with this file's own measurements."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from film_support import marker_letter
from PIL import Image
from scipy import ndimage

from imagine_med.case import render_case, write_case
from imagine_med.engine.base import EngineError
from imagine_med.prompt import parse
from imagine_med.prompt.spec import CaseSpec, Finding

FOOSH = ("AP radiograph of the left wrist, distal radius fracture from a fall on the "
         "outstretched hand")
RADIUS = ("radius", "fragment_distal", "radius_epiphysis", "radius_metaphysis", "radius_physis")


def _case(prompt: str, out: Path, n: int | None = None):
    spec = parse(prompt)[0]
    seeds = None
    if n is not None:
        seeds = [spec.seed + 7919 * i for i in range(n)]
    write_case(render_case(spec, seeds=seeds), out)
    doc = json.loads((out / "case.json").read_text())
    ids = {name: int(k) for k, name in doc["labels"].items()}
    return doc, ids


def _labels(out: Path, doc: dict, i: int) -> np.ndarray:
    h = doc["variants"][i - 1]["height"]
    return np.asarray(Image.open(out / f"variant-{i}.labels.png"))[:h]


def _pixels(out: Path, doc: dict, i: int) -> np.ndarray:
    h = doc["variants"][i - 1]["height"]
    return np.asarray(Image.open(out / f"variant-{i}.png").convert("L"))[:h].astype(float)


def _mask(lab: np.ndarray, ids: dict[str, int], names) -> np.ndarray:
    return np.isin(lab, [ids[n] for n in names if n in ids])


def _rotation(before: np.ndarray, after: np.ndarray) -> float:
    """Clockwise degrees that best lay `before` onto `after` (centroids matched, best
    overlap over a 0.5 degree grid)."""
    by, bx = np.nonzero(before)
    ay, ax = np.nonzero(after)
    pts = np.stack([bx - bx.mean(), by - by.mean()], 1)
    best, best_s = 0.0, -1.0
    for theta in np.arange(-60, 60.01, 0.5):
        c, s = np.cos(np.radians(theta)), np.sin(np.radians(theta))
        x = np.round(pts[:, 0] * c - pts[:, 1] * s + ax.mean()).astype(int)
        y = np.round(pts[:, 0] * s + pts[:, 1] * c + ay.mean()).astype(int)
        ok = (x >= 0) & (x < after.shape[1]) & (y >= 0) & (y < after.shape[0])
        hits = np.count_nonzero(after[y[ok], x[ok]])
        score = hits / (len(pts) + len(ay) - hits)
        if score > best_s:
            best, best_s = theta, score
    return best


@pytest.fixture(scope="module")
def foosh(tmp_path_factory):
    out = tmp_path_factory.mktemp("foosh")
    doc, ids = _case(FOOSH + ", female, age 62 --seed 31 --size 384", out)
    return out, doc, ids


def test_foosh_fracture_lies_within_3cm_of_the_distal_radial_articular_surface(foosh):
    out, doc, ids = foosh
    assert doc["spec"]["view"] == "ap" and doc["spec"]["laterality"] == "left"
    for i in range(1, 5):
        lab = _labels(out, doc, i)
        px = doc["variants"][i - 1]["pixel_spacing_mm"][0]
        line = lab == ids["fracture_line"]
        assert line.sum() > 20, f"variant {i}: no fracture line"
        radius = _mask(lab, ids, RADIUS) | line
        ys, xs = np.nonzero(line)
        # the articular surface above each column of the line: the radius' most distal pixel
        top = np.array([np.flatnonzero(radius[:, c]).min() for c in range(lab.shape[1])
                        if radius[:, c].any()])
        cols = np.flatnonzero(radius.any(axis=0))
        surface = dict(zip(cols.tolist(), top.tolist(), strict=True))
        depth = np.array([(y - surface[x]) * px for y, x in zip(ys, xs, strict=True)])
        assert np.median(depth) > 5.0, f"variant {i}: the line is at the joint"
        assert depth.max() <= 30.0, f"variant {i}: line reaches {depth.max():.1f} mm"
        assert np.isin(np.unique(xs), cols).all()


def test_foosh_key_names_the_pattern_and_code(foosh):
    _out, doc, _ids = foosh
    for v in doc["variants"]:
        key = v["answer_key"]
        assert "Colles" in key and "2R3A2.2" in key and "outstretched hand" in key
        m = v["findings"][0]["measurements"]
        assert 0 < m["distance_to_articular_mm"] <= 30


def test_foosh_dorsal_angulation_measured_on_the_lateral_view(tmp_path):
    """The same patient (seed, age, sex) on a lateral, broken and unbroken: the distal
    fragment is the unbroken radius' end turned dorsally (clockwise, dorsum on the right)
    by the angle the key gives, in the typical range for a Colles fracture."""
    frac, normal = tmp_path / "frac", tmp_path / "normal"
    tail = ", female, age 62 --seed 31 --size 384"
    dfrac, ids = _case(FOOSH.replace("AP", "lateral") + tail, frac)
    dnorm, ids_n = _case("lateral radiograph of the left wrist" + tail, normal)
    ap_doc = json.loads(json.dumps(dfrac))
    for i in (1, 2):
        lab = _labels(frac, dfrac, i)
        lab_n = _labels(normal, dnorm, i)
        frag = lab == ids["fragment_distal"]
        prox = lab == ids["radius"]
        assert frag.sum() > 200 and prox.sum() > 200
        cut_row = int(np.median([np.flatnonzero(prox[:, c]).min()
                                 for c in np.flatnonzero(prox.any(axis=0))]))
        before = lab_n == ids_n["radius"]
        before[cut_row:] = False
        angle = _rotation(before, frag)
        key = ap_doc["variants"][i - 1]["findings"][0]["measurements"]
        assert 15.0 <= angle <= 40.0, f"variant {i}: dorsal angulation {angle}"
        assert abs(angle - key["angulation_deg"]) <= 4.0
        assert key["dorsal_tilt_deg"] > 5.0  # the articular surface now faces dorsally
        assert "dorsal" in ap_doc["variants"][i - 1]["answer_key"]


SH_ROMAN = {1: "i", 2: "ii", 3: "iii", 4: "iv", 5: "v"}


def _zones(lab: np.ndarray, ids: dict[str, int]) -> tuple[set[str], float | None]:
    """Zones the line crosses (each line pixel takes its nearest non-line label; a zone
    counts from 5 % of the line) and, where the line leaves part of the plate alone, the
    plate's height under the line over its height elsewhere."""
    line = lab == ids["fracture_line"]
    _d, (iy, ix) = ndimage.distance_transform_edt(line, return_indices=True)
    under = lab[iy[line], ix[line]]
    zones = {z for z in ("epiphysis", "physis", "metaphysis")
             if np.mean(under == ids.get(f"radius_{z}", -1)) >= 0.05}
    plate = lab == ids["radius_physis"]
    cols_line = np.flatnonzero((line & ndimage.binary_dilation(plate, iterations=3)).any(0))
    cols_plate = np.setdiff1d(np.flatnonzero(plate.any(0)), cols_line)
    ratio = None
    if len(cols_line) and len(cols_plate) > 5:
        h_line = np.median([(plate[:, c] | line[:, c]).sum() for c in cols_line])
        h_else = np.median([plate[:, c].sum() for c in cols_plate])
        ratio = h_line / h_else
    return zones, ratio


def _type_from(zones: set[str], ratio: float | None) -> int | None:
    if zones == {"physis"}:
        return 5 if ratio is not None and ratio < 0.85 else 1
    return {frozenset({"physis", "metaphysis"}): 2, frozenset({"physis", "epiphysis"}): 3,
            frozenset({"physis", "metaphysis", "epiphysis"}): 4}.get(frozenset(zones))


@pytest.mark.parametrize("sh", [1, 2, 3, 4, 5])
def test_salter_harris_type_recomputed_from_the_zones_the_line_crosses(tmp_path, sh):
    doc, ids = _case(f"PA radiograph of the right wrist, Salter-Harris {SH_ROMAN[sh]} "
                     f"fracture, boy, age 11 --seed {40 + sh}", tmp_path, n=2)
    for i in (1, 2):
        lab = _labels(tmp_path, doc, i)
        zones, ratio = _zones(lab, ids)
        key = doc["variants"][i - 1]["answer_key"]
        assert f"Salter-Harris type {SH_ROMAN[sh].upper()} " in key
        assert _type_from(zones, ratio) == sh, f"variant {i}: zones {zones}, ratio {ratio}"


def test_healing_series_callus_grows_then_remodels_and_the_gap_narrows(tmp_path):
    doc, ids = _case("PA x-ray, healing series of a left Colles fracture, woman, age 60 "
                     "--seed 12 --size 320", tmp_path)
    weeks = [float(v["tags"]["weeks"]) for v in doc["variants"]]
    assert weeks == [0.0, 2.0, 6.0, 12.0]
    callus = [(_labels(tmp_path, doc, i) == ids.get("callus", -1)).sum() for i in range(1, 5)]
    gap = [(_labels(tmp_path, doc, i) == ids.get("fracture_line", -1)).sum()
           for i in range(1, 5)]
    assert callus[0] == 0 < callus[1] < callus[2]
    assert 0 < callus[3] < callus[2]  # remodelled, not gone
    assert gap[0] >= gap[1] >= gap[2] > gap[3] and gap[3] < 0.1 * gap[0]
    # one patient: the ulna is the same bone on every film
    ulna = [(_labels(tmp_path, doc, i) == ids["ulna"]).sum() for i in range(1, 5)]
    assert max(ulna) - min(ulna) <= 0.02 * max(ulna)


@pytest.mark.parametrize("side,view", [("left", "PA"), ("right", "PA"), ("left", "AP")])
def test_laterality_patient_left_on_image_right(tmp_path, side, view):
    doc, ids = _case(f"{view} x-ray of the {side} wrist, adult --seed 5 --size 256", tmp_path,
                     n=1)
    lab = _labels(tmp_path, doc, 1)
    rx = np.nonzero(lab == ids["radius"])[1].mean()
    ux = np.nonzero(lab == ids["ulna"])[1].mean()
    # the radius is the lateral (thumb) bone: the patient's left is on the image right
    assert (rx > ux) == (side == "left")
    marker = lab == ids["side_marker"]
    assert marker_letter(marker) == side[0].upper()
    assert (np.nonzero(marker)[1].mean() > lab.shape[1] / 2) == (side == "left")


def test_film_densities_and_growth_by_age(tmp_path):
    doc, ids = _case("PA x-ray of the left wrist, age 2 --seed 3 --size 256", tmp_path / "a",
                     n=1)
    doc2, ids2 = _case("PA x-ray of the left wrist, age 40 --seed 3 --size 256",
                       tmp_path / "b", n=1)
    carpals = ("scaphoid", "lunate", "triquetrum", "pisiform", "trapezium", "trapezoid",
               "capitate", "hamate")
    lab, lab2 = _labels(tmp_path / "a", doc, 1), _labels(tmp_path / "b", doc2, 1)
    young = [c for c in carpals if c in ids and (lab == ids[c]).any()]
    adult = [c for c in carpals if c in ids2 and (lab2 == ids2[c]).any()]
    assert len(young) <= 3 and len(adult) >= 6
    assert "radius_physis" in ids and "radius_physis" not in ids2  # open at 2, closed at 40
    pix = _pixels(tmp_path / "b", doc2, 1)
    bone = pix[lab2 == ids2["radius"]].mean()
    soft = pix[lab2 == ids2["soft_tissue"]].mean()
    air = pix[lab2 == 0].mean()
    assert bone > soft + 40 and soft > air + 20


def test_unmodelled_wrist_findings_are_refused_by_name():
    from imagine_med.engine.base import RenderRequest
    from imagine_med.engine.registry import get_renderer

    spec = CaseSpec(modality="xray", region="wrist", view="pa",
                    findings=(Finding(name="osteoarthritis"),))
    with pytest.raises(EngineError, match="osteoarthritis"):
        get_renderer("phantom", "xray", "wrist").render(
            RenderRequest(spec=spec, seed=1, width=128, height=128))
    adult = parse("PA wrist x-ray, Salter-Harris II fracture, age 40")[0]
    with pytest.raises(EngineError, match="growth plate"):
        get_renderer("phantom", "xray", "wrist").render(
            RenderRequest(spec=adult, seed=1, width=128, height=128))


def test_mechanism_and_eponym_words_parse_onto_the_fracture():
    f = parse(FOOSH)[0].findings[0]
    assert f.name == "fracture" and f.location == "distal_radius" and "foosh" in f.modifiers
    assert "smith" in parse("Smith's fracture of the right wrist")[0].findings[0].modifiers
    assert parse("left scaphoid waist fracture")[0].findings[0].location == "scaphoid"
    assert "oblique_fracture" in parse("PA wrist, oblique fracture of the radius")[0] \
        .findings[0].modifiers
    assert parse("oblique view of the left wrist")[0].view == "oblique"


@pytest.mark.parametrize("letter", ["A", "B", "C"])
def test_ankle_weber_level_recomputed_from_the_labels(tmp_path, letter):
    """Danis-Weber from where the fibular line lies against the tibial plafond on the
    written mortise label map (this test's own plafond: the lowest tibial row over the
    middle of the tibia): A wholly below, C wholly > 10 mm above, B across."""
    doc, ids = _case(f"mortise view of the left ankle, Weber {letter} fracture, age 45 "
                     "--seed 9 --size 320", tmp_path, n=2)
    for i in (1, 2):
        lab = _labels(tmp_path, doc, i)
        px = doc["variants"][i - 1]["pixel_spacing_mm"][0]
        tibia = lab == ids["tibia"]
        cols = np.flatnonzero(tibia.any(axis=0))
        mid = cols[int(len(cols) * 0.35):int(len(cols) * 0.55)]
        plafond = np.median([np.flatnonzero(tibia[:, c]).max() for c in mid])
        line = lab == ids["fracture_line"]
        fib_cols = np.flatnonzero(_mask(lab, ids, ("fibula", "fragment_distal")).any(axis=0))
        assert np.isin(np.flatnonzero(line.any(axis=0)), fib_cols).mean() > 0.8
        rows = np.flatnonzero(line.any(axis=1))
        top, bottom = (plafond - rows.min()) * px, (plafond - rows.max()) * px
        got = "A" if top < 2 else ("C" if bottom > 10 else "B")
        assert got == letter, f"variant {i}: line {bottom:.1f}..{top:.1f} mm above plafond"
        key = doc["variants"][i - 1]["answer_key"]
        assert f"Weber {letter}" in key and f"44{letter}" in key
    # the fibula is lateral: on the image right for a left ankle (patient's left)
    assert np.nonzero(lab == ids["fibula"])[1].mean() > np.nonzero(tibia)[1].mean()


def test_boxers_fracture_on_the_fifth_metacarpal_neck_and_its_palmar_tilt(tmp_path):
    """A punch breaks the neck of the fifth metacarpal: on the PA of the right hand the line
    lies on the little finger's metacarpal (image right: the patient's right hand shows its
    thumb on the image left) within 20 mm of its head; on the lateral the head is turned
    into the palm (its centre moved volarly, to the image left) by the key's angle. The
    head's sense comes from that shift: a near-symmetric head overlaps equally either way."""
    tail = ", man, age 25 --seed 17 --size 384"
    pa, lat, normal = tmp_path / "pa", tmp_path / "lat", tmp_path / "n"
    doc, ids = _case("PA x-ray of the right hand after a punch" + tail, pa, n=1)
    lab = _labels(pa, doc, 1)
    px = doc["variants"][0]["pixel_spacing_mm"][0]
    mc5 = _mask(lab, ids, ("metacarpal_5", "fragment_distal"))
    assert np.nonzero(mc5)[1].mean() > np.nonzero(lab == ids["metacarpal_1"])[1].mean()
    line = lab == ids["fracture_line"]
    assert np.isin(np.flatnonzero(line.any(axis=0)), np.flatnonzero(mc5.any(axis=0))).all()
    head_row = np.flatnonzero(mc5.any(axis=1)).min()
    assert (np.flatnonzero(line.any(axis=1)).max() - head_row) * px <= 20.0
    key = doc["variants"][0]["answer_key"]
    assert "boxer" in key and "77.5.3A" in key
    dl, ids_l = _case("lateral x-ray of the right hand after a punch" + tail, lat, n=1)
    dn, ids_n = _case("lateral x-ray of the right hand" + tail, normal, n=1)
    lab_l, lab_n = _labels(lat, dl, 1), _labels(normal, dn, 1)
    frag = lab_l == ids_l["fragment_distal"]
    prox = lab_l == ids_l["metacarpal_5"]
    cut_row = int(np.median([np.flatnonzero(prox[:, c]).min()
                             for c in np.flatnonzero(prox.any(axis=0))]))
    before = lab_n == ids_n["metacarpal_5"]
    before[cut_row:] = False
    into_palm = np.nonzero(frag)[1].mean() < np.nonzero(before)[1].mean()  # volar: left
    palmar = abs(_rotation(before, frag)) * (1 if into_palm else -1)
    m = dl["variants"][0]["findings"][0]["measurements"]
    assert 20.0 <= palmar <= 50.0 and abs(palmar - m["angulation_deg"]) <= 5.0


def test_supracondylar_fracture_lifts_the_posterior_fat_pad(tmp_path):
    """A child's supracondylar fracture: on the lateral the posterior fat pad shows behind
    the humerus (its label visible, not hidden by bone), where a normal elbow of the same
    child shows none; the AP shows the radius on the lateral side (image right, left elbow)."""
    tail = ", boy, age 7 --seed 8 --size 320"
    doc, ids = _case("lateral x-ray of the left elbow, supracondylar fracture" + tail,
                     tmp_path / "f", n=2)
    dn, ids_n = _case("lateral x-ray of the left elbow" + tail, tmp_path / "n", n=2)
    for i in (1, 2):
        px = doc["variants"][i - 1]["pixel_spacing_mm"][0]
        lab = _labels(tmp_path / "f", doc, i)
        pad = (lab == ids["posterior_fat_pad"]).sum() * px * px
        normal = (_labels(tmp_path / "n", dn, i) == ids_n.get("posterior_fat_pad", -1)).sum()
        assert pad >= 10.0 and normal * px * px < 3.0, (pad, normal)
        # behind the humerus: the dorsum is on the image left of a lateral (anterior right)
        hum_x = np.nonzero(lab == ids["humerus"])[1].mean()
        assert np.nonzero(lab == ids["posterior_fat_pad"])[1].mean() < hum_x
        key = doc["variants"][i - 1]["answer_key"]
        assert "Supracondylar" in key and "Gartland" in key and "fat pad" in key
        assert (lab == ids["fracture_line"]).sum() > 5
    dap, ids_ap = _case("AP x-ray of the left elbow" + tail, tmp_path / "ap", n=1)
    lab = _labels(tmp_path / "ap", dap, 1)
    assert np.nonzero(lab == ids_ap["radius"])[1].mean() > \
        np.nonzero(lab == ids_ap["ulna"])[1].mean()


def _head_offset(lab: np.ndarray, ids: dict[str, int], px: float) -> float:
    hy, hx = np.nonzero(lab == ids["femoral_head"])
    cy, cx = np.nonzero(lab == ids["acetabulum"])
    return float(np.hypot(hy.mean() - cy.mean(), hx.mean() - cx.mean()) * px)


def test_hip_posterior_dislocation_and_garden_fracture(tmp_path):
    """On the AP: a dashboard injury's femoral head lies out of the socket (its centre > 25 mm
    from the centroid of the acetabulum's visible label, above it), a normal hip's and a
    Garden III's sit in it (< 18 mm: the visible cup is a crescent, so its centroid is ~10-16
    mm off the head's even in place); the Garden line lies on the neck within 30 mm of the
    head's centre; keys name what was measured."""
    tail = ", age 70 --seed 4 --size 256"
    dd, idd = _case("AP x-ray of the left hip, dashboard injury" + tail, tmp_path / "d", n=1)
    dn, idn = _case("AP x-ray of the left hip" + tail, tmp_path / "n", n=1)
    dg, idg = _case("AP x-ray of the left hip, neck of femur fracture, Garden III" + tail,
                    tmp_path / "g", n=1)
    for i in (1,):
        px = dd["variants"][i - 1]["pixel_spacing_mm"][0]
        lab_d = _labels(tmp_path / "d", dd, i)
        off = _head_offset(lab_d, idd, px)
        hy = np.nonzero(lab_d == idd["femoral_head"])[0].mean()
        cy = np.nonzero(lab_d == idd["acetabulum"])[0].mean()
        assert off > 25.0 and hy < cy, off  # out, and above (distal is down)
        assert "Posterior dislocation" in dd["variants"][i - 1]["answer_key"]
        assert _head_offset(_labels(tmp_path / "n", dn, i), idn, px) < 18.0
        lab_g = _labels(tmp_path / "g", dg, i)
        assert _head_offset(lab_g, idg, px) < 18.0
        hy, hx = np.nonzero(lab_g == idg["femoral_head"])
        ly, lx = np.nonzero(lab_g == idg["fracture_line"])
        assert len(ly) > 10
        assert np.hypot(np.median(ly) - hy.mean(), np.median(lx) - hx.mean()) * px <= 30.0
        key = dg["variants"][i - 1]["answer_key"]
        assert "Garden III" in key and "31B1" in key


def test_shoulder_anterior_dislocation_puts_the_head_below_the_glenoid(tmp_path):
    """On the AP the dislocated humeral head lies out of the glenoid: its centre > 15 mm
    below the glenoid's (a normal head's is level with it, within 10 mm) and medial to
    where it sat. (The visible glenoid is a crescent medial to the head, so the distance
    between centroids barely changes as the head slides down and in: height is the sign.)"""
    tail = ", age 25 --seed 6 --size 256"
    dd, idd = _case("AP x-ray of the left shoulder, anterior dislocation" + tail,
                    tmp_path / "d", n=1)
    dn, idn = _case("AP x-ray of the left shoulder" + tail, tmp_path / "n", n=1)
    px = dd["variants"][0]["pixel_spacing_mm"][0]
    lab_d, lab_n = _labels(tmp_path / "d", dd, 1), _labels(tmp_path / "n", dn, 1)

    def where(lab, ids, name):
        ys, xs = np.nonzero(lab == ids[name])
        return ys.mean(), xs.mean()

    hy, hx = where(lab_d, idd, "humeral_head")
    gy, _gx = where(lab_d, idd, "glenoid")
    ny, nx = where(lab_n, idn, "humeral_head")
    ngy, _ngx = where(lab_n, idn, "glenoid")
    assert (hy - gy) * px > 15.0  # below (distal is down on the film)
    assert abs(ny - ngy) * px < 10.0
    assert hx < nx  # medial: the patient's left is on the image right, medial to the left
    assert "Anterior (subcoracoid) dislocation" in dd["variants"][0]["answer_key"]
