"""Histology of the kidney, colon, lymph node and skin, measured on the written files
(variant-N.png, .labels.png, .instances.png, case.json); small fields keep it fast."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from imagine_med.case import render_case, write_case
from imagine_med.engine.phantom.physics import microscopy
from imagine_med.engine.registry import check
from imagine_med.prompt import parse


def _case(prompt: str, out: Path, size: int, seed: int = 5) -> dict:
    spec = parse(prompt)[0].model_copy(update={"width": size, "height": size})
    write_case(render_case(spec, seed=seed), out)
    return json.loads((out / "case.json").read_text())


def _files(out: Path, i: int, size: int):
    rgb = np.asarray(Image.open(out / f"variant-{i}.png").convert("RGB"))[:size]
    lab = np.asarray(Image.open(out / f"variant-{i}.labels.png"))[:size]
    inst = np.asarray(Image.open(out / f"variant-{i}.instances.png"))[:size]
    return rgb, lab, inst


def _stains(rgb: np.ndarray, v: dict) -> np.ndarray:
    """Concentrations unmixed from the written RGB with the case's own vectors and white."""
    i0 = tuple(float(x) for x in v["tags"]["i0"].split(","))
    return microscopy.deconvolve(rgb, v["tags"]["stain_vectors"], i0)


def _label_ids(doc_variant: dict) -> dict[str, int]:
    return {name: int(k) for k, name in doc_variant["labels"].items()}


def _nucleus_size_check(doc: dict, out: Path, size: int, classes: tuple[str, ...]) -> None:
    """Median nucleus diameter measured in pixels on the instance map, converted with the
    stated um per pixel, matches the size case.json states for those nuclei within 15%."""
    px_um = doc["pixel_spacing_mm"][0] * 1000
    measured, stated = [], []
    for i, v in enumerate(doc["variants"], 1):
        _, _, inst = _files(out, i, size)
        area = np.bincount(inst.ravel(), minlength=65536)
        edge = set(np.unique(np.concatenate([inst[0], inst[-1], inst[:, 0], inst[:, -1]])))
        for n in v["nuclei"]:
            if n["class"] in classes and n["id"] not in edge and area[n["id"]] > 0:
                measured.append(2 * np.sqrt(area[n["id"]] / np.pi) * px_um)
                stated.append(n["diameter_um"])
    assert len(measured) >= 10, len(measured)
    assert abs(np.median(measured) - np.median(stated)) / np.median(stated) < 0.15, (
        np.median(measured), np.median(stated))


# ---------------------------------------------------------------- kidney
KIDNEY = 320  # at 10x: 320 um, a whole glomerulus (~180-200 um) and the tubules round it


def _glomeruli(lab: np.ndarray, ids: dict[str, int]) -> tuple[np.ndarray, list[int]]:
    capsule = lab == ids["bowman_capsule"]
    inside = ndimage.binary_fill_holes(capsule) & ~capsule
    comp, n = ndimage.label(inside)
    edge = set(np.unique(np.concatenate([comp[0], comp[-1], comp[:, 0], comp[:, -1]])))
    area = np.bincount(comp.ravel(), minlength=n + 1)
    return comp, [k for k in range(1, n + 1) if k not in edge and area[k] > 2000]


def test_kidney_pas_basement_membranes_round_every_glomerulus_and_brush_borders(tmp_path):
    doc = _case("PAS renal biopsy x10", tmp_path / "pas", KIDNEY)
    assert (doc["spec"]["region"], doc["spec"]["stain"], doc["spec"]["magnification"]) == (
        "kidney", "pas", 10)
    seen = 0
    for i, v in enumerate(doc["variants"], 1):
        rgb, lab, _ = _files(tmp_path / "pas", i, KIDNEY)
        ids = _label_ids(v)
        pas = _stains(rgb, v)[..., 1]
        comp, gl = _glomeruli(lab, ids)
        for k in gl:
            seen += 1
            g = comp == k
            ys, xs = np.nonzero(g)
            cy, cx, r = ys.mean(), xs.mean(), np.sqrt(g.sum() / np.pi)
            hits = 0
            for a in np.linspace(0, 2 * np.pi, 120, endpoint=False):  # walk out across the rim
                rs = np.arange(r - 4, r + 5, 0.5)
                yy = np.clip(np.rint(cy + rs * np.sin(a)).astype(int), 0, KIDNEY - 1)
                xx = np.clip(np.rint(cx + rs * np.cos(a)).astype(int), 0, KIDNEY - 1)
                hits += pas[yy, xx].max() > 0.35
            assert hits / 120 > 0.95, (i, k, hits)
            # capillary-loop basement membranes inside it are PAS-positive too
            gbm = g & (lab == ids["basement_membrane"])
            space = g & (lab == ids["bowman_space"])
            assert pas[gbm].mean() > 2.5 * max(pas[space].mean(), 0.05)
        brush = lab == ids["brush_border"]
        cyto = lab == ids["proximal_tubule"]
        assert pas[brush].mean() > 1.8 * pas[cyto].mean(), (pas[brush].mean(), pas[cyto].mean())
    assert seen >= 4
    assert "PAS outlines" in doc["answer_key"]


def test_kidney_kimmelstiel_wilson_nodules_acellular_pas_positive(tmp_path):
    doc = _case("PAS renal biopsy x10, nodular glomerulosclerosis", tmp_path / "kw", KIDNEY)
    assert doc["spec"]["findings"][0]["name"] == "glomerulosclerosis"
    for i, v in enumerate(doc["variants"], 1):
        rgb, lab, inst = _files(tmp_path / "kw", i, KIDNEY)
        ids = _label_ids(v)
        nod = lab == ids["kw_nodule"]
        _comp, n = ndimage.label(nod)
        assert n >= 2, i
        core = ndimage.binary_erosion(nod, iterations=2)
        assert not (inst[core] > 0).any()  # acellular
        pas = _stains(rgb, v)[..., 1]
        mes = lab == ids["mesangium"]
        assert pas[core].mean() > 1.5 * pas[mes].mean()
        m = v["findings"][0]["measurements"]
        assert m["kw_nodules"] >= 2 and 15 <= m["kw_nodule_diameter_um"] <= 60
    assert "Kimmelstiel-Wilson" in doc["answer_key"]
    normal = _case("PAS renal biopsy x10", tmp_path / "n", 192)
    for i in range(1, 5):
        _, lab, _ = _files(tmp_path / "n", i, 192)
        assert "kw_nodule" not in normal["variants"][i - 1]["labels"].values()


def test_kidney_crescents_fill_bowmans_space(tmp_path):
    doc = _case("renal biopsy x10, crescentic glomerulonephritis", tmp_path / "c", KIDNEY)
    assert doc["spec"]["findings"][0]["name"] == "crescents"
    for i, v in enumerate(doc["variants"], 1):
        _, lab, inst = _files(tmp_path / "c", i, KIDNEY)
        ids = _label_ids(v)
        comp, gl = _glomeruli(lab, ids)
        cres = np.isin(lab, [ids["crescent"], ids["crescent_cell"]])
        with_crescent = [k for k in gl if (cres & (comp == k)).sum() > 500]
        assert with_crescent, i
        classes = {n["id"]: n["class"] for n in v["nuclei"]}
        cells = {classes[x] for x in np.unique(inst[cres]) if x}
        assert "crescent" in cells
        m = v["findings"][0]["measurements"]
        assert m["crescent_glomeruli"] >= 1 and m["crescent_circumference_percent"] > 20
    assert "Cellular crescents" in doc["answer_key"]


def test_kidney_tubular_nucleus_sizes_at_20x_and_40x(tmp_path):
    for mag in (20, 40):
        doc = _case(f"H&E kidney biopsy {mag}x", tmp_path / str(mag), 192)
        assert doc["variants"][0]["tags"]["magnification"] == f"{mag}x"
        _nucleus_size_check(doc, tmp_path / str(mag), 192, ("tubular", "mesangial", "podocyte"))


def test_organ_vocabulary_and_registry():
    spec = parse("renal biopsy, PAS, high power")[0]
    assert (spec.modality, spec.region, spec.stain, spec.magnification) == (
        "histo", "kidney", "pas", 40)
    assert parse("glomerulus H&E x4")[0].magnification == 4
    assert parse("H&E kidney biopsy, low power")[0].magnification == 10
    for prompt, want in (
            ("renal biopsy", ("kidney", "he", None, None, ())),
            ("glomerulus, PAS, x4", ("kidney", "pas", 4, None, ())),
            ("colonic polyp, high power", ("colon", "he", 40, None, ("adenoma",))),
            ("H&E lymph node, metastatic carcinoma", ("lymph_node", "he", None, None,
                                                      ("metastases",))),
            ("lymph node biopsy CD20", ("lymph_node", "ihc", None, "cd20", ())),
            ("skin biopsy, BCC, 40x", ("skin", "he", 40, None, ("basal_cell_carcinoma",))),
            ("breast carcinoma, IHC Ki-67", ("breast", "ihc", None, "ki67", ("adenocarcinoma",))),
            ("liver biopsy, NASH with cholestasis", ("liver", "he", None, None,
                                                     ("steatohepatitis", "cholestasis")))):
        s = parse(prompt)[0]
        got = (s.region, s.stain, s.magnification, s.antibody,
               tuple(f.name for f in s.findings))
        assert (s.modality, got, s.unparsed) == ("histo", want, ()), (prompt, got, s.unparsed)
    for region in ("kidney", "colon", "lymph_node", "skin"):
        assert check(parse(f"H&E {region.replace('_', ' ')} biopsy")[0]).target.endswith(
            "renderer_organ:organ_histo_renderer")


# ---------------------------------------------------------------- colon
COLON = 320  # at 20x: 160 um; a few crypts (55-75 um across) wholly in view


def _goblets_per_crypt(lab: np.ndarray, ids: dict[str, int], epithelium: str) -> list[int]:
    ring = np.isin(lab, [ids[epithelium], ids["goblet_mucin"]] + [
        ids[k] for k in ("epithelial_nucleus", "adenoma_nucleus") if k in ids])
    crypts, n = ndimage.label(ndimage.binary_fill_holes(ring))
    edge = set(np.unique(np.concatenate([crypts[0], crypts[-1], crypts[:, 0], crypts[:, -1]])))
    cups, _ = ndimage.label(lab == ids["goblet_mucin"])
    out = []
    for k in range(1, n + 1):
        inside = crypts == k
        if k in edge or inside.sum() < 400 or not (lab[inside] == ids[epithelium]).any():
            continue
        out.append(len(np.unique(cups[inside & (cups > 0)])))
    return out


def test_colon_goblet_cells_per_crypt_and_adenoma_depletes_them(tmp_path):
    normal = _case("H&E colonic biopsy", tmp_path / "n", COLON)
    adenoma = _case("colonic polyp, tubular adenoma, H&E", tmp_path / "a", COLON)
    assert adenoma["spec"]["findings"][0]["name"] == "adenoma"
    per_n, per_a, elong = [], [], {}
    for doc, out, per, epi in ((normal, tmp_path / "n", per_n, "crypt_epithelium"),
                               (adenoma, tmp_path / "a", per_a, "adenoma_epithelium")):
        for i, v in enumerate(doc["variants"], 1):
            _, lab, _ = _files(out, i, COLON)
            ids = _label_ids(v)
            if epi in ids:
                per += _goblets_per_crypt(lab, ids, epi)
    assert len(per_n) >= 5 and np.mean(per_n) >= 5, per_n
    assert len(per_a) >= 5 and np.mean(per_a) < 0.35 * np.mean(per_n), (per_a, per_n)
    # the key's count agrees with the label map
    m = normal["variants"][0]["findings"] or None
    assert m is None and "goblet cells per crypt" in normal["answer_key"]
    for doc, out, cls in ((normal, tmp_path / "n", "epithelial"),
                          (adenoma, tmp_path / "a", "adenoma")):
        ratios = []
        for i, v in enumerate(doc["variants"], 1):
            _, _, inst = _files(out, i, COLON)
            for nuc in v["nuclei"]:
                if nuc["class"] != cls:
                    continue
                ys, xs = np.nonzero(inst == nuc["id"])
                if len(ys) < 10:
                    continue
                lam = np.linalg.eigvalsh(np.cov(np.stack([xs, ys]).astype(float)) + np.eye(2) / 12)
                ratios.append(np.sqrt(lam[1] / lam[0]))
        elong[cls] = np.median(ratios)
    assert elong["adenoma"] > 1.25 * elong["epithelial"], elong  # pencillate nuclei
    assert "Tubular adenoma" in adenoma["answer_key"]


def test_colon_pas_d_keeps_goblet_mucin_and_carcinoma_nuclei_are_large(tmp_path):
    doc = _case("PAS-D colonic biopsy", tmp_path / "d", COLON)
    for i, v in enumerate(doc["variants"], 1):
        rgb, lab, _ = _files(tmp_path / "d", i, COLON)
        ids = _label_ids(v)
        pas = _stains(rgb, v)[..., 1]
        cup = ndimage.binary_erosion(lab == ids["goblet_mucin"])
        assert pas[cup].mean() > 3 * pas[lab == ids["lamina_propria"]].mean()
    ca = _case("H&E colon biopsy, adenocarcinoma", tmp_path / "c", COLON)
    normal_d = [n["diameter_um"] for v in doc["variants"] for n in v["nuclei"]
                if n["class"] == "epithelial"]
    _nucleus_size_check(ca, tmp_path / "c", COLON, ("tumour",))
    tumour_d = [n["diameter_um"] for v in ca["variants"] for n in v["nuclei"]
                if n["class"] == "tumour"]
    assert np.median(tumour_d) > 1.4 * np.median(normal_d)
    # mitoses: drawn as dense plates (deconvolved haematoxylin above the other tumour nuclei)
    # and counted in the key as they are visible in the field
    for i, v in enumerate(ca["variants"], 1):
        rgb, lab, inst = _files(tmp_path / "c", i, COLON)
        h = _stains(rgb, v)[..., 0]
        seen = set(np.unique(inst).tolist())
        mit = [n["id"] for n in v["nuclei"] if n.get("mitosis") and n["id"] in seen]
        other = [n["id"] for n in v["nuclei"] if n["class"] == "tumour" and not n.get("mitosis")
                 and n["id"] in seen]
        assert v["findings"][0]["measurements"]["mitoses_in_field"] == len(mit)
        if mit:  # a dark plate of chromosomes in a clear halo
            peak = np.mean([h[inst == k].max() for k in mit])
            assert peak > 1.2 * np.mean([h[inst == k].max() for k in other[:50]])
            halo = np.mean([np.median(h[inst == k]) for k in mit])
            assert halo < 0.6 * np.mean([np.median(h[inst == k]) for k in other[:50]])
    assert "Invasive adenocarcinoma" in ca["answer_key"]


# ---------------------------------------------------------------- lymph node
NODE = 320  # at 10x: 320 um, capsule at the top and follicles under it


def _diam_by_class(v: dict, inst: np.ndarray, px_um: float) -> dict[str, list[float]]:
    area = np.bincount(inst.ravel(), minlength=65536)
    out: dict[str, list[float]] = {}
    for n in v["nuclei"]:
        if area[n["id"]]:
            out.setdefault(n["class"], []).append(2 * np.sqrt(area[n["id"]] / np.pi) * px_um)
    return out


def test_lymph_node_germinal_centres_inside_follicles(tmp_path):
    doc = _case("H&E lymph node biopsy", tmp_path, NODE)
    assert doc["spec"]["region"] == "lymph_node" and doc["variants"][0]["tags"][
        "magnification"] == "10x"
    px_um = doc["pixel_spacing_mm"][0] * 1000
    centres = 0
    sizes: dict[str, list[float]] = {}
    for i, v in enumerate(doc["variants"], 1):
        _, lab, inst = _files(tmp_path, i, NODE)
        ids = _label_ids(v)
        gc = ndimage.binary_closing(np.isin(lab, [ids[k] for k in (
            "germinal_centre", "centroblast", "centrocyte", "macrophage") if k in ids]),
            iterations=4)
        follicle = np.isin(lab, [ids[k] for k in ("mantle_zone", "germinal_centre",
                                                  "b_lymphocyte", "centroblast", "centrocyte",
                                                  "macrophage") if k in ids])
        comp, n = ndimage.label(gc)
        for k in range(1, n + 1):
            g = comp == k
            if g.sum() < 1600:
                continue
            centres += 1
            ring = ndimage.binary_dilation(g, iterations=3) & ~g
            ring &= (lab > 0)
            assert follicle[ring].mean() > 0.9, (i, k, follicle[ring].mean())
        for c, d in _diam_by_class(v, inst, px_um).items():
            sizes.setdefault(c, []).extend(d)
        assert v["findings"] == [] and "germinal centres" in v["answer_key"]
    assert centres >= 3
    assert np.median(sizes["centroblast"]) > 1.4 * np.median(sizes["b_lymphocyte"])
    assert 5.5 <= np.median(sizes["t_lymphocyte"]) <= 7.5  # small lymphocyte ~6.5 um


def test_lymph_node_cd20_membranous_on_b_cells_only(tmp_path):
    doc = _case("lymph node biopsy, CD20 immunohistochemistry", tmp_path, NODE)
    assert (doc["spec"]["stain"], doc["spec"]["antibody"]) == ("ihc", "cd20")
    b_ring, t_ring, b_nuc = [], [], []
    for i, v in enumerate(doc["variants"], 1):
        rgb, _, inst = _files(tmp_path, i, NODE)
        dab = _stains(rgb, v)[..., 1]
        grown = ndimage.grey_dilation(inst, size=(3, 3))
        ring = np.where((inst == 0) & (grown > 0), grown, 0)
        cls = {n["id"]: n["class"] for n in v["nuclei"]}
        ids = [k for k in np.unique(ring) if k]
        ring_dab = dict(zip(ids, ndimage.mean(dab, ring, ids), strict=True))
        nuc_dab = dict(zip(ids, ndimage.mean(dab, inst, ids), strict=True))
        for k in ids:
            if cls[k] in ("b_lymphocyte", "centroblast", "centrocyte"):
                b_ring.append(ring_dab[k])
                b_nuc.append(nuc_dab[k])
            elif cls[k] in ("t_lymphocyte", "histiocyte", "fibroblast"):
                t_ring.append(ring_dab[k])
    assert np.median(b_ring) > 0.25, np.median(b_ring)
    assert np.median(t_ring) < 0.1, np.median(t_ring)
    assert np.median(b_nuc) < 0.5 * np.median(b_ring)  # membranous, not nuclear
    m = doc["variants"][0]["findings"]
    assert m == [] and "membranous" in doc["answer_key"]


def test_lymph_node_lymphoma_effaces_and_metastasis_is_cohesive(tmp_path):
    doc = _case("lymph node biopsy, diffuse large B cell lymphoma", tmp_path / "l", NODE)
    px_um = doc["pixel_spacing_mm"][0] * 1000
    for i, v in enumerate(doc["variants"], 1):
        _, lab, inst = _files(tmp_path / "l", i, NODE)
        names = set(v["labels"].values())
        assert not {"germinal_centre", "mantle_zone"} & names
        d = _diam_by_class(v, inst, px_um)
        big = sum(x > 9.0 for x in d.get("lymphoma", []))
        assert big > 0.6 * sum(len(x) for x in d.values()), i
        assert v["findings"][0]["measurements"]["large_cell_percent"] > 60
    assert "effaced" in doc["answer_key"]
    met = _case("lymph node biopsy, metastatic carcinoma", tmp_path / "m", NODE)
    for i, v in enumerate(met["variants"], 1):
        _, lab, inst = _files(tmp_path / "m", i, NODE)
        ids = _label_ids(v)
        nest = np.isin(lab, [ids[k] for k in ("metastasis", "tumour_nucleus", "cell_membrane")])
        assert nest.mean() > 0.03
        d = _diam_by_class(v, inst, px_um)
        assert np.median(d["tumour"]) > 1.5 * np.median(d["t_lymphocyte"])
        assert "cell_membrane" in ids  # tumour cells share borders: cohesive
    assert "Metastatic carcinoma" in met["answer_key"]


# ---------------------------------------------------------------- skin
SKIN = 256  # at 10x: 256 um, the whole epidermis and the upper dermis


def test_skin_epidermal_layers_in_order(tmp_path):
    doc = _case("H&E skin biopsy", tmp_path, SKIN)
    assert doc["spec"]["modality"] == "histo" and doc["spec"]["region"] == "skin"
    order = [("stratum_corneum",), ("stratum_granulosum",), ("stratum_spinosum",),
             ("stratum_basale", "basal_nucleus"), ("basement_membrane",)]
    for i, v in enumerate(doc["variants"], 1):
        _, lab, _ = _files(tmp_path, i, SKIN)
        ids = _label_ids(v)
        good = 0
        for c in range(0, SKIN, 4):
            col = lab[:, c]
            hit = [np.isin(col, [ids[k] for k in layer]) for layer in order]
            first = [int(np.argmax(h)) if h.any() else -1 for h in hit]
            good += -1 not in first and first == sorted(first)
        assert good / (SKIN / 4) > 0.85, (i, good)
        # the basal nuclei sit against the basement membrane
        bm = ndimage.binary_dilation(lab == ids["basement_membrane"], iterations=10)
        basal = lab == ids["basal_nucleus"]
        assert bm[basal].mean() > 0.9
    _nucleus_size_check(doc, tmp_path, SKIN, ("keratinocyte", "basal"))


def _alignment(v: dict, lab: np.ndarray, inst: np.ndarray, ids: dict[str, int]):
    """(outermost, interior) fractions of BCC nuclei whose long axis is within 30 degrees
    of the normal to the nest's edge."""
    nest = np.isin(lab, [ids["bcc_nest"], ids["bcc_nucleus"]])
    inside = ndimage.distance_transform_edt(nest)
    gy, gx = np.gradient(ndimage.gaussian_filter(inside, 2.0))
    out, mid = [], []
    for n in v["nuclei"]:
        if n["class"] != "bcc":
            continue
        ys, xs = np.nonzero(inst == n["id"])
        if len(ys) < 10:
            continue
        w, vec = np.linalg.eigh(np.cov(np.stack([xs, ys]).astype(float)))
        g = np.array([gx[ys, xs].mean(), gy[ys, xs].mean()])
        if np.linalg.norm(g) < 1e-6 or w[1] < 1.3 * w[0]:
            aligned = False
        else:
            aligned = abs(vec[:, 1] @ g) / np.linalg.norm(g) > np.cos(np.radians(30))
        (out if inside[ys, xs].min() <= 3 else mid).append(aligned)
    return np.mean(out), np.mean(mid), len(out)


def test_skin_bcc_palisading_and_clefts(tmp_path):
    doc = _case("skin biopsy, basal cell carcinoma", tmp_path, SKIN)
    for i, v in enumerate(doc["variants"], 1):
        rgb, lab, inst = _files(tmp_path, i, SKIN)
        ids = _label_ids(v)
        outer, inner, n = _alignment(v, lab, inst, ids)
        assert n >= 10 and outer > 0.6 and inner < 0.45, (i, outer, inner, n)
        cleft = ndimage.binary_erosion(lab == ids["retraction_cleft"])
        assert cleft.sum() > 50 and np.median(rgb[cleft].min(axis=1)) > 190
    assert "palisading" in doc["answer_key"]


def test_skin_melanoma_breslow_pigment_and_nuclei(tmp_path):
    doc = _case("skin biopsy, melanoma", tmp_path, SKIN)
    px_um = doc["pixel_spacing_mm"][0] * 1000
    for i, v in enumerate(doc["variants"], 1):
        rgb, lab, inst = _files(tmp_path, i, SKIN)
        ids = _label_ids(v)
        tumour = np.isin(lab, [ids[k] for k in ("melanoma", "melanoma_nucleus", "melanin")
                               if k in ids])
        gran = lab == ids["stratum_granulosum"]
        depth = max((np.nonzero(tumour[:, c])[0].max() - np.nonzero(gran[:, c])[0].min() + 1)
                    * px_um / 1000 for c in range(SKIN) if tumour[:, c].any()
                    and gran[:, c].any())
        m = v["findings"][0]["measurements"]
        assert m["breslow_mm"] == pytest.approx(depth, abs=0.011)
        assert 0.05 < depth < 0.3
        mel = lab == ids["melanin"]
        r, g, b = (rgb[mel].astype(float).mean(axis=0))
        assert r > g and r > b  # brown pigment, not purple (blue absorbed most)
        d = _diam_by_class(v, inst, px_um)
        assert np.median(d["melanoma"]) > 1.3 * np.median(d["keratinocyte"])
    assert "Breslow thickness" in doc["answer_key"]


# ---------------------------------------------------------------- liver extras
LIVER = 320


def test_liver_steatohepatitis_ballooning_mallory_denk(tmp_path):
    doc = _case("H&E liver biopsy, steatohepatitis", tmp_path, LIVER)
    ratios = []
    for i, v in enumerate(doc["variants"], 1):
        rgb, lab, _ = _files(tmp_path, i, LIVER)
        ids = _label_ids(v)
        e = _stains(rgb, v)[..., 1]

        # whole cells: cytoplasm (ballooned or not), nucleus, fat; borders split them
        comp, n = ndimage.label(np.isin(lab, [ids[p] for p in (
            "hepatocyte", "ballooned_hepatocyte", "mallory_denk_body", "hepatocyte_nucleus",
            "fat_droplet") if p in ids]))
        edge = set(np.unique(np.concatenate([comp[0], comp[-1], comp[:, 0], comp[:, -1]])))
        a = np.bincount(comp.ravel(), minlength=n + 1)
        has_b = np.bincount(comp.ravel(), (lab == ids["ballooned_hepatocyte"]).ravel(), n + 1)
        whole = [k for k in range(1, n + 1) if k not in edge and a[k] > 200]
        balloon = [a[k] for k in whole if has_b[k] > 0]
        normal = [a[k] for k in whole if has_b[k] == 0]
        if balloon:
            ratios.append(np.median(balloon) / np.median(normal))
        cyto_b = lab == ids["ballooned_hepatocyte"]
        cyto_n = lab == ids["hepatocyte"]
        assert e[cyto_b].mean() < 0.6 * e[cyto_n].mean()   # rarefied cytoplasm
        if "mallory_denk_body" in ids:
            assert e[lab == ids["mallory_denk_body"]].mean() > 2 * e[cyto_b].mean()
        assert v["findings"][0]["name"] == "steatohepatitis"
    assert len(ratios) >= 3 and np.median(ratios) > 1.5, ratios
    assert "Mallory-Denk" in doc["answer_key"] and "Macrovesicular steatosis" in doc[
        "answer_key"]


def test_liver_cholestasis_bile_plugs_green_brown(tmp_path):
    doc = _case("H&E liver biopsy, cholestasis", tmp_path, LIVER)
    for i, v in enumerate(doc["variants"], 1):
        rgb, lab, _ = _files(tmp_path, i, LIVER)
        ids = _label_ids(v)
        plug = lab == ids["bile_plug"]
        _, n = ndimage.label(plug)
        assert n >= 3 and v["findings"][0]["measurements"]["bile_plugs"] == n
        r, g, b = rgb[ndimage.binary_erosion(plug) | plug].astype(float).mean(axis=0)
        cyto = rgb[lab == ids["hepatocyte"]].astype(float).mean(axis=0)
        assert b < r and b < g and g / r > cyto[1] / cyto[0]  # blue absorbed: green-brown


def test_liver_hcc_thick_trabeculae_and_mitoses(tmp_path):
    doc = _case("H&E liver biopsy, hepatocellular carcinoma", tmp_path, LIVER)
    px_um = doc["pixel_spacing_mm"][0] * 1000
    for i, v in enumerate(doc["variants"], 1):
        _, lab, inst = _files(tmp_path, i, LIVER)
        ids = _label_ids(v)
        assert "portal_tract" not in ids and "central_vein" not in ids
        tumour = np.isin(lab, [ids[k] for k in ("hcc", "hepatocyte_nucleus", "cell_border")])
        # a band of width W has a mean distance to its edge of W / 4
        dist = ndimage.distance_transform_edt(tumour)
        width_um = 4 * dist[tumour].mean() * px_um
        assert width_um > 3 * 17.0, width_um   # more than three 17 um cells across
        seen = set(np.unique(inst).tolist())
        mit = sum(1 for n in v["nuclei"] if n.get("mitosis") and n["id"] in seen)
        m = v["findings"][0]["measurements"]
        assert m["mitoses_in_field"] == mit and m["trabecular_thickness_cells"] > 3
    assert "Hepatocellular carcinoma" in doc["answer_key"]


def test_liver_at_4x_nucleus_size(tmp_path):
    doc = _case("H&E liver biopsy x4", tmp_path, 256)
    assert doc["spec"]["magnification"] == 4 and doc["pixel_spacing_mm"][0] == pytest.approx(
        0.002)
    _nucleus_size_check(doc, tmp_path, 256, ("hepatocyte",))


@pytest.mark.parametrize("prompt", ["PAS renal biopsy x20", "lymph node biopsy, CD20 x20",
                                    "skin biopsy, basal cell carcinoma"])
def test_organ_deconvolution_recovers_stain_maps(tmp_path, prompt):
    """Unmixing the written RGB with the case's vectors and white gives back the concentration
    maps that went into Beer-Lambert: mean absolute error within 5% of each map's range."""
    from imagine_med.engine.base import RenderRequest
    from imagine_med.engine.phantom.renderer_organ import PhantomOrganHisto

    size = 192
    doc = _case(prompt, tmp_path, size, seed=9)
    v = doc["variants"][0]
    rgb, _, _ = _files(tmp_path, 1, size)
    spec = parse(prompt)[0].model_copy(update={"width": size, "height": size})
    truth = PhantomOrganHisto().render(RenderRequest(spec, v["seed"], size, size)).raw
    est = _stains(rgb, v)
    for s in range(2):
        mae = np.abs(est[..., s] - truth[..., s]).mean()
        assert mae < 0.05 * np.percentile(truth[..., s], 99), (s, mae)


def test_lymph_node_ck7_marks_the_metastasis_only(tmp_path):
    doc = _case("lymph node biopsy, metastatic carcinoma, CK7", tmp_path, NODE)
    assert (doc["spec"]["stain"], doc["spec"]["antibody"]) == ("ihc", "ck7")
    for i, v in enumerate(doc["variants"], 1):
        rgb, lab, _ = _files(tmp_path, i, NODE)
        ids = _label_ids(v)
        dab = _stains(rgb, v)[..., 1]
        tumour = lab == ids["metastasis"]
        lymphoid = np.isin(lab, [ids[k] for k in ("mantle_zone", "paracortex", "b_lymphocyte",
                                                  "t_lymphocyte") if k in ids])
        assert dab[tumour].mean() > 0.3 and dab[lymphoid].mean() < 0.05, (
            dab[tumour].mean(), dab[lymphoid].mean())
    assert "CK7" in doc["answer_key"]


def test_stain_and_antibody_refused_before_queueing():
    """The registry row says which stains and antibodies an organ renders, so a request for
    another is refused by `check` (before a job is queued), naming what is available; the
    row survives the JSON a worker announces."""
    from imagine_med.engine.registry import Offer, Unavailable

    with pytest.raises(Unavailable, match="lymph node is rendered with CD20, CK7; HER2"):
        check(parse("lymph node biopsy, HER2")[0])
    with pytest.raises(Unavailable, match="rendered with H&E; PAS is not available"):
        check(parse("PAS skin biopsy")[0])
    with pytest.raises(Unavailable, match="IHC is not available"):
        check(parse("IHC kidney biopsy")[0])
    row = check(parse("lymph node CD20")[0])
    assert Offer.from_json(row.to_json()) == row and row.antibodies == ("cd20", "ck7")


def test_colon_low_power_crypts_are_test_tubes_above_the_muscularis(tmp_path):
    """At 10x the mucosa is cut perpendicular: each crypt a tall U of epithelium (height > 4x
    its width) from the surface down to just above the muscularis mucosae, goblet cells
    along both walls."""
    doc = _case("H&E colonic biopsy x10", tmp_path, 512)
    for i, v in enumerate(doc["variants"], 1):
        _, lab, _ = _files(tmp_path, i, 512)
        ids = _label_ids(v)
        wall = np.isin(lab, [ids[k] for k in ("crypt_epithelium", "goblet_mucin",
                                              "epithelial_nucleus")])
        comp, _ = ndimage.label(wall)
        mm_top = np.nonzero((lab == ids["muscularis_mucosae"]).any(axis=1))[0].min()
        tubes = 0
        for sl in ndimage.find_objects(comp):
            h, w = sl[0].stop - sl[0].start, sl[1].stop - sl[1].start
            if h * w < 2000 or sl[1].start == 0 or sl[1].stop == 512:
                continue
            assert h > 4 * w and sl[0].stop <= mm_top, (i, h, w, sl[0].stop, mm_top)
            tubes += 1
        assert tubes >= 4
        per = _goblets_per_crypt(lab, ids, "crypt_epithelium")
        assert np.mean(per) >= 20, per   # both walls of a 400 um crypt
    assert "test tubes" in doc["answer_key"]
