"""The phantom liver biopsy's must-show properties, measured on the written files (small
fields: 320 px at 20x is 160 um across)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from imagine_med.case import render_case, write_case
from imagine_med.engine.base import RenderRequest
from imagine_med.engine.phantom.physics import microscopy
from imagine_med.engine.phantom.regions.liver_tissue.model import LABELS
from imagine_med.engine.phantom.renderer_histo import PhantomHisto, magnification
from imagine_med.engine.registry import Unavailable, check
from imagine_med.prompt import parse

SEED_PROMPT = ("Produce an H&E-stained liver biopsy image showing macrovesicular steatosis "
               "involving approximately 60% of hepatocytes.")
SIZE = 320
CELL = [LABELS[n] for n in ("hepatocyte", "hepatocyte_nucleus", "fat_droplet",
                            "microvesicular_fat")]


def _case(prompt: str, out: Path, seed: int = 11, size: int = SIZE):
    spec = parse(prompt)[0].model_copy(update={"width": size, "height": size})
    write_case(render_case(spec, seed=seed), out)
    return json.loads((out / "case.json").read_text())


def _files(out: Path, i: int, size: int = SIZE):
    rgb = np.asarray(Image.open(out / f"variant-{i}.png").convert("RGB"))[:size]
    lab = np.asarray(Image.open(out / f"variant-{i}.labels.png"))[:size]
    inst = np.asarray(Image.open(out / f"variant-{i}.instances.png"))[:size]
    return rgb, lab, inst


def _cells(lab: np.ndarray, px_um: float):
    """Hepatocytes wholly in the field from the label map alone: components of cytoplasm,
    nucleus and fat (cell borders split them) not touching the edge."""
    comp, n = ndimage.label(np.isin(lab, CELL))
    edge = set(np.unique(np.concatenate([comp[0], comp[-1], comp[:, 0], comp[:, -1]])))
    area = np.bincount(comp.ravel(), minlength=n + 1) * px_um ** 2
    fat = np.bincount(comp.ravel(), (lab == LABELS["fat_droplet"]).ravel(), n + 1) * px_um ** 2
    ids = [i for i in range(1, n + 1) if i not in edge and area[i] >= 60]
    return comp, ids, {i for i in ids if fat[i] >= 4}


def test_seed_prompt_steatosis_percent_white_droplets_displaced_nuclei(tmp_path):
    doc = _case(SEED_PROMPT, tmp_path, size=512)  # the size a user gets: 256 um fields
    assert doc["spec"]["modality"] == "histo" and doc["spec"]["stain"] == "he"
    percents = []
    for i, v in enumerate(doc["variants"], 1):
        px_um = v["pixel_spacing_mm"][0] * 1000
        assert v["tags"]["magnification"] == "20x" and px_um == pytest.approx(0.5)
        rgb, lab, inst = _files(tmp_path, i, 512)
        comp, ids, steatotic = _cells(lab, px_um)
        pct = 100 * len(steatotic) / len(ids)
        percents.append(pct)
        assert 53 <= pct <= 67, (i, pct, len(ids))
        assert v["findings"][0]["measurements"]["steatosis_percent"] == pytest.approx(pct, abs=0.1)
        # droplet pixels (away from their blurred rim) are near white
        core = ndimage.binary_erosion(lab == LABELS["fat_droplet"], iterations=2)
        assert core.sum() > 500
        assert rgb[core].min(axis=1).min() > 210
        # nuclei of steatotic cells sit off the cell centre, others near it
        yy, xx = np.indices(lab.shape)
        offs = {True: [], False: []}
        for c in ids:
            cell = comp == c
            nuc = cell & (inst > 0)
            if nuc.sum() < 8:
                continue
            r = np.sqrt(cell.sum() / np.pi)
            d = np.hypot(yy[nuc].mean() - yy[cell].mean(), xx[nuc].mean() - xx[cell].mean())
            offs[c in steatotic].append(d / r)
        assert np.mean(offs[True]) > 0.45 and np.mean(offs[False]) < 0.3, offs
    assert "Macrovesicular steatosis" in doc["answer_key"] and "grade S2" in doc["answer_key"]


def test_deconvolution_recovers_stain_maps(tmp_path):
    """The written RGB, unmixed with the same optical-density vectors, gives back the
    concentration maps that went into Beer-Lambert: mean absolute error within 5% of each
    map's range (its 99th percentile); within 15% of its mean, where 8-bit quantisation, scanner
    noise and the invisible watermark of the written PNG are what is left (haematoxylin's mean
    is low: most of a fatty field holds none)."""
    doc = _case(SEED_PROMPT, tmp_path, seed=3)
    v = doc["variants"][0]
    rgb, _, _ = _files(tmp_path, 1)
    spec = parse(SEED_PROMPT)[0].model_copy(update={"width": SIZE, "height": SIZE})
    truth = PhantomHisto().render(RenderRequest(spec, v["seed"], SIZE, SIZE)).raw
    i0 = tuple(float(x) for x in v["tags"]["i0"].split(","))
    est = microscopy.deconvolve(rgb, v["tags"]["stain_vectors"], i0)
    for s in range(2):
        t, e = truth[..., s], est[..., s]
        mae = np.abs(e - t).mean()
        assert mae < 0.05 * np.percentile(t, 99) and mae < 0.15 * t.mean(), (s, mae, t.mean())


@pytest.mark.parametrize("mag", [10, 20, 40])
def test_nucleus_and_red_cell_sizes_at_each_magnification(tmp_path, mag):
    doc = _case(f"H&E liver biopsy x{mag}", tmp_path, seed=4, size=256)
    px_um = doc["pixel_spacing_mm"][0] * 1000
    assert px_um == pytest.approx(microscopy.OBJECTIVES[mag][0])
    diam, rbc = [], []
    for i, v in enumerate(doc["variants"], 1):
        _, lab, inst = _files(tmp_path, i, 256)
        classes = {n["id"]: n["class"] for n in v["nuclei"]}
        area = np.bincount(inst.ravel(), minlength=max(classes) + 1)
        edge = set(np.unique(np.concatenate([inst[0], inst[-1], inst[:, 0], inst[:, -1]])))
        diam += [np.sqrt(4 * area[k] / np.pi) for k, c in classes.items()
                 if c == "hepatocyte" and k not in edge and area[k] > 0]
        rbc += _long_axes(lab == LABELS["red_cell"], px_um)
    # hepatocyte nuclei are built 7.0 um across on average (physics.md: 6-8 um)
    assert abs(np.median(diam) * px_um - 7.0) / 7.0 < 0.15, np.median(diam) * px_um
    if mag >= 20:  # lone red cells (touching ones merge in the label map)
        lone = [d for d in rbc if d < 9.0]
        assert 7.0 <= np.median(lone) <= 8.0, np.median(lone)


def _long_axes(mask: np.ndarray, px_um: float) -> list[float]:
    """Long axis (um) of each component (4 x sqrt of the larger second moment: a disc's
    diameter, however tilted)."""
    comp, n = ndimage.label(mask)
    out = []
    for sl, k in zip(ndimage.find_objects(comp), range(1, n + 1), strict=True):
        ys, xs = np.nonzero(comp[sl] == k)
        if len(ys) < 5 or 0 in (sl[0].start, sl[1].start) or sl[0].stop == mask.shape[0] \
                or sl[1].stop == mask.shape[1]:
            continue
        lam = np.linalg.eigvalsh(np.cov(np.stack([xs, ys]).astype(float)))
        out.append(4 * np.sqrt(lam[-1] + 1 / 12) * px_um)
    return out


def _pas_mean(tmp_path: Path, prompt: str):
    doc = _case(prompt, tmp_path, seed=21, size=256)
    rgb, lab, _ = _files(tmp_path, 1, 256)
    v = doc["variants"][0]
    i0 = tuple(float(x) for x in v["tags"]["i0"].split(","))
    conc = microscopy.deconvolve(rgb, v["tags"]["stain_vectors"], i0)
    cyto = lab == LABELS["hepatocyte"]
    bm = lab == LABELS["basement_membrane"]
    return rgb[cyto].mean(axis=0), conc[..., 1][cyto].mean(), conc[..., 1][bm].mean(), doc


def test_pas_glycogen_magenta_and_diastase_removes_it(tmp_path):
    rgb, glyc, bm, doc = _pas_mean(tmp_path / "pas", "PAS stain, normal liver biopsy")
    r, g, b = rgb
    assert r - g > 60 and b - g > 40, rgb  # magenta
    assert doc["variants"][0]["tags"]["stain"] == "pas"
    rgb_d, glyc_d, bm_d, doc_d = _pas_mean(tmp_path / "pasd", "PAS-D liver biopsy")
    assert doc_d["spec"]["stain"] == "pas_d"
    assert glyc_d < 0.2 * glyc, (glyc, glyc_d)
    assert rgb_d[0] - rgb_d[1] < 0.5 * (r - g)
    assert bm_d > 0.5 and bm_d > 0.8 * bm, (bm, bm_d)  # basement membranes stay


def test_vocabulary_magnification_and_registry():
    spec = parse("PAS-D liver biopsy 40x")[0]
    assert (spec.modality, spec.region, spec.stain, spec.unparsed) == ("histo", "liver",
                                                                        "pas_d", ())
    assert parse("liver biopsy, PAS with diastase")[0].stain == "pas_d"
    assert magnification(parse("H&E liver x10")[0]) == 10
    assert magnification(parse("liver biopsy, high power")[0]) == 40
    assert magnification(parse("liver biopsy")[0]) == 20
    assert check(parse(SEED_PROMPT)[0]).target.endswith("renderer_histo:histo_renderer")
    with pytest.raises(Unavailable, match="Histology prostate is not available"):
        check(parse("H&E prostate biopsy")[0])


def test_fibrosis_stages_septa_and_key(tmp_path):
    spec = parse("H&E liver biopsy, bridging fibrosis")[0]
    assert [(f.name, f.modifiers) for f in spec.findings] == [("fibrosis", ("bridging",))]
    assert parse("CT liver fibrosis")[0].findings[0].name == "cirrhosis"  # imaging unchanged
    doc = _case("H&E liver biopsy, bridging fibrosis", tmp_path / "f3", size=256)
    for i, v in enumerate(doc["variants"], 1):
        _, lab, _ = _files(tmp_path / "f3", i, 256)
        septal = np.isin(lab, [LABELS["fibrous_septum"], LABELS["lymphocyte"]])
        septum, n = ndimage.label(septal)  # collagen and the cells in it
        crossing = [k for k in range(1, n + 1)
                    if sum(bool((e == k).any()) for e in (septum[0], septum[-1], septum[:, 0],
                                                         septum[:, -1])) >= 2]
        assert crossing, i  # a bridging septum runs across the field
        m = v["findings"][0]["measurements"]
        assert m["stage"] == 3 and m["septa_crossing_field"] >= 1
        assert "Bridging fibrosis" in v["answer_key"] and "stage F3 of 4" in v["answer_key"]
    normal = _case("H&E liver biopsy, normal", tmp_path / "f0", size=192)
    for i in range(1, 5):
        _, lab, _ = _files(tmp_path / "f0", i, 192)
        assert not (lab == LABELS["fibrous_septum"]).any()
    assert "No steatosis, inflammation or fibrosis" in normal["answer_key"]


def test_small_field_key_says_the_count_is_rough():
    spec = parse(SEED_PROMPT)[0]
    res = PhantomHisto().render(RenderRequest(spec, 3, 96, 96))
    text = res.answer_key
    assert "Macrovesicular steatosis" in text
    assert "rough" in text or "no percentage" in text, text


@pytest.mark.parametrize("prompt", ["PAS liver biopsy, normal", SEED_PROMPT])
def test_a_field_inside_a_vein_or_tract_renders_and_claims_no_cells(prompt):
    """At 64 px (32 um at 20x) a field can lie wholly in a central vein or a portal tract; it
    once crashed with no hepatocyte seeds. It renders, and the key counts what is there."""
    spec = parse(prompt)[0]
    empty = 0
    for seed in range(12, 24):
        res = PhantomHisto().render(RenderRequest(spec, seed, 64, 64))
        if not (res.label_map == LABELS["hepatocyte"]).any():
            empty += 1
            assert "% of hepatocytes" not in res.answer_key, res.answer_key
    assert empty >= 1  # the case this test is for occurs among these seeds


def test_chronic_hepatitis_lymphocytes_cross_the_limiting_plate(tmp_path):
    doc = _case("H&E liver biopsy, chronic hepatitis", tmp_path / "hep", size=256)
    base = _case("H&E liver biopsy, normal", tmp_path / "normal", size=256)
    def lymphocytes(d, out):
        n = 0
        for i, v in enumerate(d["variants"], 1):
            _, _, inst = _files(out, i, 256)
            seen = set(np.unique(inst).tolist())
            n += sum(1 for x in v["nuclei"] if x["class"] == "lymphocyte" and x["id"] in seen)
        return n
    assert lymphocytes(doc, tmp_path / "hep") > 3 * max(1, lymphocytes(base, tmp_path / "normal"))
    v = doc["variants"][0]
    assert "interface hepatitis" in v["answer_key"]
    assert v["findings"][0]["measurements"]["interface_lymphocytes"] > 0
