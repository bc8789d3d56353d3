"""The skin region's must-show properties (issue 18), measured on the written files.

ABCD is recomputed here from the written image and label map with this file's own code
(mirror overlap about the principal axes, border segments, colours by nearest palette
colour, structures by label presence); only the palette (the optics' reference colours)
is shared with the engine. Small sizes keep it fast (256 px; dots at 384 px).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from imagine_med.case import render_case, write_case
from imagine_med.engine import registry
from imagine_med.engine.phantom.physics.skin_optics import srgb_to_lab
from imagine_med.engine.phantom.regions.skin.measure import palette, skin_melanin
from imagine_med.engine.phantom.regions.skin.skin import ITA_RANGE, TYPES
from imagine_med.prompt import parse
from imagine_med.settings import Settings

SIZE = 256
EXPECTED = {"naevus": "benign", "dysplastic_naevus": "suspicious", "melanoma": "melanoma",
            "congenital_naevus": "benign"}
PROMPT = {"naevus": "dermoscopy of a common naevus", "dysplastic_naevus":
          "dermoscopy of a dysplastic naevus", "melanoma": "dermoscopy of a melanoma",
          "congenital_naevus": "dermoscopy of a congenital naevus"}


def _case(prompt: str, out: Path, seed: int, size: int = SIZE) -> dict:
    spec = parse(prompt)[0].model_copy(update={"width": size, "height": size})
    write_case(render_case(spec, seed=seed), out)
    return json.loads((out / "case.json").read_text())


def _read(out: Path, i: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    rgb = np.asarray(Image.open(out / f"variant-{i}.png").convert("RGB"))[:size]
    lab = np.asarray(Image.open(out / f"variant-{i}.labels.png"))[:size]
    return rgb, lab


def _ids(doc: dict) -> dict[str, int]:
    return {name: int(k) for k, name in doc["labels"].items()}


# ------------------------------------------------------------------ ABCD from the files


def _body(lab: np.ndarray, ids: dict[str, int]) -> np.ndarray:
    skip = {ids.get("streaks"), ids.get("vessels")}
    m = (lab >= 100) & ~np.isin(lab, [s for s in skip if s])
    m |= (lab == ids.get("hair", -1)) & ndimage.binary_closing(m, iterations=4)
    m = ndimage.binary_fill_holes(m)
    pieces, n = ndimage.label(m)
    return pieces == 1 + int(np.argmax(ndimage.sum(m, pieces, range(1, n + 1))))


def _asym(lab: np.ndarray, body: np.ndarray, ids: dict[str, int]) -> int:
    zones = [ids[k] for k in ("lesion", "pigment_network", "blue_white_veil", "regression",
                              "central_white_patch") if k in ids]
    zone = np.where(body, np.where(np.isin(lab, zones), lab, 1), 0)
    ys, xs = np.nonzero(body)
    cy, cx = ys.mean(), xs.mean()
    w, v = np.linalg.eigh(np.cov(np.vstack([xs - cx, ys - cy])))
    axis = v[:, np.argmax(w)]
    count = 0
    for ux, uy in ((axis[0], axis[1]), (-axis[1], axis[0])):
        # reflection about the line through the centroid along (ux, uy)
        dx, dy = xs - cx, ys - cy
        along = dx * ux + dy * uy
        mx = np.round(cx + 2 * along * ux - dx).astype(int)
        my = np.round(cy + 2 * along * uy - dy).astype(int)
        ok = (mx >= 0) & (my >= 0) & (mx < lab.shape[1]) & (my < lab.shape[0])
        mirror = np.zeros_like(zone)
        mirror[my[ok], mx[ok]] = zone[ys[ok], xs[ok]]
        union = (zone > 0) | (mirror > 0)
        differ = ((zone > 0) != (mirror > 0)) | ((zone > 1) & (mirror > 1) & (zone != mirror))
        count += differ[union].mean() > 0.3
    return count


def _border(L: np.ndarray, body: np.ndarray, px: float) -> int:
    ys, xs = np.nonzero(body)
    cy, cx = ys.mean(), xs.mean()
    w, v = np.linalg.eigh(np.cov(np.vstack([xs - cx, ys - cy])))
    major = np.arctan2(v[1, np.argmax(w)], v[0, np.argmax(w)])
    dist = np.where(body, -ndimage.distance_transform_edt(body),
                    ndimage.distance_transform_edt(~body)) * px
    yy, xx = np.mgrid[0:body.shape[0], 0:body.shape[1]]
    seg = (((np.arctan2(yy - cy, xx - cx) - major) % (2 * np.pi)) // (np.pi / 4)).astype(int)
    abrupt = 0
    for k in range(8):
        def med(lo, hi, k=k):
            v = L[(seg == k) & (dist >= lo) & (dist < hi)]
            return np.median(v) if v.size else np.nan
        near, far = med(0.03, 0.12) - med(-0.12, -0.03), med(0.3, 0.45) - med(-0.45, -0.3)
        abrupt += bool(far > 3.0 and near >= 0.5 * far)
    return abrupt


def _colours(lab_img: np.ndarray, body: np.ndarray, lab: np.ndarray, ids: dict[str, int],
             px: float) -> int:
    out = ndimage.distance_transform_edt(~body) * px
    ring = (lab == ids["skin"]) & (out > 1.0) & (out < 2.0)
    skin = lab_img[ring].mean(axis=0)
    pal = palette(skin_melanin(skin))
    keep: list[int] = []
    for i in range(len(pal)):
        if all(np.linalg.norm(pal[i] - pal[j]) >= 8.0 for j in keep):
            keep.append(i)
    refs = np.vstack([pal[keep], skin])
    pix = lab_img[body & (lab != ids.get("hair", -1))]
    nearest = np.argmin(((pix[:, None] - refs[None]) ** 2).sum(-1), axis=1)
    share = np.bincount(nearest, minlength=len(refs))[:-1] / len(pix)
    return int((share >= 0.03).sum())


def _structures(lab: np.ndarray, body: np.ndarray, ids: dict[str, int]) -> int:
    area = body.sum()

    def pieces(name):
        return ndimage.label(lab == ids[name])[1] if name in ids else 0

    structureless = sum((lab == ids[k]).sum() for k in
                        ("lesion", "blue_white_veil", "regression", "central_white_patch")
                        if k in ids)
    found = [(lab == ids.get("pigment_network", -1)).sum() >= 0.05 * area,
             structureless >= 0.10 * area, pieces("dots") >= 2, pieces("globules") >= 2,
             pieces("streaks") >= 2]
    return max(1, sum(found))


def _tds(rgb: np.ndarray, lab: np.ndarray, ids: dict[str, int], px: float) -> float:
    body = _body(lab, ids)
    lab_img = srgb_to_lab(rgb)
    a = _asym(lab, body, ids)
    b = _border(lab_img[..., 0], body, px)
    c = max(1, _colours(lab_img, body, lab, ids, px))
    d = _structures(lab, body, ids)
    return 1.3 * a + 0.1 * b + 0.5 * c + 0.5 * d


def _category(tds: float) -> str:
    return "benign" if tds < 4.75 else ("suspicious" if tds <= 5.45 else "melanoma")


@pytest.mark.parametrize("lesion", list(EXPECTED))
def test_abcd_recomputed_from_labels_matches_key_for_20_seeds(tmp_path, lesion):
    """5 cases x 4 variants = 20 seeds, on seeded skin types (every tone)."""
    agree, types = 0, set()
    for case in range(5):
        out = tmp_path / f"{case}"
        doc = _case(PROMPT[lesion], out, seed=100 + case)
        ids = _ids(doc)
        for i, v in enumerate(doc["variants"], 1):
            rgb, lab = _read(out, i, SIZE)
            tds = _tds(rgb, lab, ids, v["pixel_spacing_mm"][0])
            key = v["findings"][0]["measurements"]["tds"]
            types.add(v["tags"]["skin_type"])
            assert v["tags"]["tds_category"] == EXPECTED[lesion], (v["seed"], key)
            assert f"TDS {key:.2f}" in v["answer_key"]
            agree += _category(tds) == v["tags"]["tds_category"]
    assert agree == 20
    assert len(types) >= 3  # the seeds draw several skin tones


@pytest.mark.parametrize(("lesion", "size"), [("melanoma", 256), ("dysplastic_naevus", 384)])
def test_dots_under_and_globules_over_a_tenth_of_a_millimetre(tmp_path, lesion, size):
    doc = _case(PROMPT[lesion], tmp_path, seed=7, size=size)
    ids = _ids(doc)
    n_dots = n_glob = 0
    for i, v in enumerate(doc["variants"], 1):
        _, lab = _read(tmp_path, i, size)
        px = v["pixel_spacing_mm"][0]
        for name in ("dots", "globules"):
            others = [ids[k] for k in ("hair", "streaks", "dots", "globules", "vessels")
                      if k in ids and k != name]
            cut = ndimage.binary_dilation(np.isin(lab, others))
            pieces, n = ndimage.label(lab == ids[name])
            for k in range(1, n + 1):
                piece = pieces == k
                if (piece & cut).any():
                    continue  # cut by a hair or a streak: its size is not the structure's
                d = 2 * np.sqrt(piece.sum() / np.pi) * px
                if name == "dots":
                    assert d < 0.1, d
                    n_dots += 1
                else:
                    assert d > 0.1, d
                    n_glob += 1
        m = v["findings"][0]["measurements"]
        assert m["dot_max_mm"] < 0.1 < m["globule_min_mm"]
    assert n_dots >= 8 and n_glob >= 8


@pytest.mark.parametrize("skin_type", TYPES)
def test_perilesional_ita_within_5_degrees_of_the_type_range(tmp_path, skin_type):
    doc = _case(f"dermoscopy of a common naevus, Fitzpatrick {skin_type}", tmp_path, seed=3)
    ids = _ids(doc)
    lo, hi = ITA_RANGE[skin_type]
    for i, v in enumerate(doc["variants"], 1):
        assert v["tags"]["skin_type"] == skin_type
        rgb, lab = _read(tmp_path, i, SIZE)
        body = _body(lab, ids)
        out = ndimage.distance_transform_edt(~body) * v["pixel_spacing_mm"][0]
        ring = (lab == ids["skin"]) & (out > 1.0) & (out < 2.0)
        c = srgb_to_lab(rgb)[ring].mean(axis=0)
        ita = np.degrees(np.arctan2(c[0] - 50, c[2]))
        assert lo - 5 <= ita <= hi + 5, (skin_type, ita)
        assert abs(ita - v["findings"][0]["measurements"]["ita"]) < 1.0


def test_same_seed_keeps_its_structure_labels_on_types_i_and_vi(tmp_path):
    labs = []
    for t in ("I", "VI"):
        out = tmp_path / t
        doc = _case(f"dermoscopy of a melanoma, Fitzpatrick {t}", out, seed=21)
        labs.append([_read(out, i, SIZE)[1] for i in range(1, 5)])
        assert {v["tags"]["skin_type"] for v in doc["variants"]} == {t}
    for a, b in zip(*labs, strict=True):
        assert np.array_equal(a, b)
        assert len(np.unique(a[a >= 100])) >= 6


def test_prompt_words_reach_the_renderer(tmp_path):
    spec = parse("clinical photograph of a seborrhoeic keratosis on the back, dark skin")[0]
    assert (spec.modality, spec.region) == ("derm", "skin")
    f = spec.findings[0]
    assert f.name == "seborrhoeic_keratosis" and f.location == "back"
    assert set(f.modifiers) == {"clinical_photo", "dark_skin"}
    doc = _case(spec.prompt, tmp_path, seed=2)
    tags = doc["variants"][0]["tags"]
    assert (tags["view"], tags["site"], tags["skin_type"]) == ("clinical", "back", "VI")
    assert "milia-like cysts" in doc["answer_key"]
    for words, name in [("dermoscopy, atypical mole", "dysplastic_naevus"),
                        ("dermoscopy of a BCC", "basal_cell_carcinoma"),
                        ("cherry angioma, dermoscopy", "haemangioma"),
                        ("dermatofibroma on the leg, Fitzpatrick IV", "dermatofibroma"),
                        ("blue nevus, dermoscopy", "blue_naevus"),
                        ("dermoscopy of a Spitz naevus", "spitz_naevus")]:
        assert parse(words)[0].findings[0].name == name


def test_registry_offers_dermoscopy_of_skin():
    assert "dermoscopy skin" in registry.describe_available(Settings())
    spec = parse("dermoscopy of a melanoma, Fitzpatrick II")[0]
    assert registry.check(spec, settings=Settings()).target.endswith("renderer_skin:skin_renderer")


def test_a_lesion_without_a_model_is_refused_with_the_list(tmp_path):
    from imagine_med.engine.base import EngineError
    from imagine_med.prompt.spec import CaseSpec, Finding

    spec = CaseSpec(modality="derm", region="skin", width=128, height=128,
                    findings=(Finding(name="keloid"),))
    with pytest.raises(EngineError, match="melanoma"):
        render_case(spec, seed=1)
