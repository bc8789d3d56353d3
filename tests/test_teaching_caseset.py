"""Case sets: balanced plans, and written sets whose manifests, COCO masks and summary agree
with the label maps actually written."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from teaching_support import FINDINGS, PER_FINDING, SEED, SIZE, tiny_set  # noqa: F401

from imagine_med.cli import main
from imagine_med.teaching.plan import (
    AGE_BANDS,
    EXAMPLE_CHEST_FINDINGS,
    CaseSetError,
    CaseSetRequest,
    plan_caseset,
)


def test_plan_of_25_findings_is_balanced_within_one_by_finding_sex_and_age():
    plan = plan_caseset(CaseSetRequest("PA chest x-ray", EXAMPLE_CHEST_FINDINGS, 20, 0.2, seed=3))
    per = Counter(c.finding for c in plan)
    assert len(per) == 26 and per.pop("normal") == 125  # 20% of 625
    assert set(per.values()) == {20}
    for name in per:
        sel = [c for c in plan if c.finding == name]
        sexes = Counter(c.spec.sex for c in sel)
        bands = Counter(c.age_band for c in sel)
        assert max(sexes.values()) - min(sexes.values()) <= 1, (name, sexes)
        assert len(bands) == len(AGE_BANDS) and max(bands.values()) - min(bands.values()) <= 1
        for c in sel:
            lo, hi = map(int, c.age_band.split("-"))
            assert lo <= c.spec.age <= hi
    assert len({c.seed for c in plan}) == len(plan)  # every case its own patient


def test_plan_is_reproducible_from_its_seed_and_differs_across_seeds():
    req = CaseSetRequest("PA chest x-ray", ("nodule", "left pneumothorax"), 5, 0.0, seed=11)
    a, b = plan_caseset(req), plan_caseset(req)
    assert [(c.finding, c.seed, c.spec) for c in a] == [(c.finding, c.seed, c.spec) for c in b]
    other = plan_caseset(CaseSetRequest("PA chest x-ray", req.findings, 5, 0.0, seed=12))
    assert [c.seed for c in other] != [c.seed for c in a]


@pytest.mark.parametrize("findings, words", [
    (("pneumothorax", "flux capacitor"), "flux capacitor"),
    (("nodule", "nodule"), "twice"),
    (("nodule", "pulmonary nodule"), "same finding"),
])
def test_bad_findings_are_refused_before_rendering(findings, words):
    with pytest.raises(CaseSetError) as err:
        plan_caseset(CaseSetRequest("PA chest x-ray", findings, 2))
    assert words in err.value.message


def _rows(out: Path) -> list[dict]:
    with (out / "manifest.csv").open() as f:
        return list(csv.DictReader(f))


def test_set_manifest_rows_have_their_finding_in_their_label_map(tiny_set):  # noqa: F811
    rows = _rows(tiny_set)
    doc = json.loads((tiny_set / "manifest.json").read_text())
    assert len(rows) == len(doc["cases"]) == len(FINDINGS) * PER_FINDING + 2
    per = Counter(r["finding"] for r in rows)
    assert per.pop("normal") == 2 and set(per.values()) == {PER_FINDING}
    for r, c in zip(rows, doc["cases"], strict=True):
        img = Image.open(tiny_set / r["image"])
        labels = np.asarray(Image.open(tiny_set / r["labels_image"]))
        assert img.size == (SIZE, int(r["height"])) and labels.shape == (int(r["height"]), SIZE)
        assert c["engine_version"] and int(r["seed"]) == c["seed"]
        if r["finding"] == "normal":
            assert not (labels >= 100).any(), r["case_id"]  # no finding label at all
            continue
        ids = [f["label_id"] for f in c["findings"]]
        mask = np.isin(labels, ids)
        assert mask.sum() > 0, r["case_id"]
        # laterality as measured from the pixels: the patient's right is the viewer's left
        side = "right" if np.nonzero(mask)[1].mean() < SIZE / 2 else "left"
        assert r["laterality"] == side, (r["case_id"], r["finding"])
        assert r["finding"].split(" (")[0].replace(" ", "_") in {f["name"] for f in c["findings"]}


def test_set_coco_masks_decode_to_the_label_maps(tiny_set):  # noqa: F811
    from pycocotools import mask as mask_utils
    from pycocotools.coco import COCO

    coco = COCO(str(tiny_set / "coco.json"))
    rows = {r["image"]: r for r in _rows(tiny_set)}
    assert len(coco.getImgIds()) == len(rows)
    n = 0
    for img in coco.loadImgs(coco.getImgIds()):
        labels = np.asarray(Image.open(tiny_set / rows[img["file_name"]]["labels_image"]))
        for ann in coco.loadAnns(coco.getAnnIds(imgIds=img["id"])):
            rle = mask_utils.frPyObjects(ann["segmentation"], img["height"], img["width"])
            decoded = mask_utils.decode(rle).astype(bool)
            expect = labels == ann["category_id"]
            # the category's own label, plus its parts' (air bronchograms): a superset
            assert (decoded & expect).sum() == expect.sum() and decoded.sum() == ann["area"]
            x, y, w, h = ann["bbox"]
            ys, xs = np.nonzero(decoded)
            assert (xs.min(), ys.min(), xs.max() + 1 - x, ys.max() + 1 - y) == (x, y, w, h)
            n += 1
    assert n >= len(FINDINGS) * PER_FINDING
    names = {c["name"] for c in coco.loadCats(coco.getCatIds())}
    assert {"pneumothorax", "consolidation", "pleural_effusion", "mass"} <= names


def test_set_zip_summary_and_answer_key(tiny_set):  # noqa: F811
    with zipfile.ZipFile(tiny_set / "caseset.zip") as z:
        names = set(z.namelist())
        assert {"manifest.csv", "manifest.json", "coco.json", "answer_key.csv",
                "summary.csv", "summary.md"} <= names
        rows = _rows(tiny_set)
        for r in rows:
            assert {r["image"], r["labels_image"]} <= names
            png = z.read(r["image"])
            assert png == (tiny_set / r["image"]).read_bytes()
    with (tiny_set / "summary.csv").open() as f:
        summary = {s["finding"]: s for s in csv.DictReader(f)}
    got = Counter(r["finding"] for r in rows)
    for name, n in got.items():
        assert int(summary[name]["cases"]) == n
        sexes = Counter(r["sex"] for r in rows if r["finding"] == name)
        assert int(summary[name]["female"]) == sexes["female"]
    assert int(summary["all"]["cases"]) == len(rows)
    with (tiny_set / "answer_key.csv").open() as f:
        key = {k["case_id"]: k for k in csv.DictReader(f)}
    for r in rows:  # the key sentence is the engine's, measured from that image
        doc = json.loads((tiny_set / Path(r["image"]).parent / "case.json").read_text())
        assert key[r["case_id"]]["answer_key"] == doc["answer_key"] != ""


def test_set_images_keep_band_mark_and_metadata(tiny_set):  # noqa: F811
    from imagine_med.provenance.verify import verify_file

    results = [verify_file(tiny_set / r["image"]) for r in _rows(tiny_set)]
    assert all(res.claims.get("synthetic") == "yes" for res in results)
    # the mark is read back from most images at this small size (the watermark's own tests
    # cover its limits); each one read names its case's job
    marked = [res for res in results if res.marked]
    assert len(marked) >= len(results) // 2
    for r in _rows(tiny_set):
        band = np.asarray(Image.open(tiny_set / r["image"]).convert("L"))[SIZE:]
        assert band.shape[0] > 0 and (band > 200).mean() > 0.02 and (band < 30).mean() > 0.5


def test_cli_caseset_reproduces_a_set_byte_for_byte(tmp_path):
    args = ["caseset", "PA chest x-ray", "--findings", "left pneumothorax, nodule",
            "--per-finding", "1", "--normal", "0.34", "--size", "128", "--seed", str(SEED)]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    assert main([*args, "--out", str(tmp_path / "b")]) == 0

    def digest(out: Path) -> dict[str, str]:
        return {p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(out.rglob("*.png"))}

    a, b = digest(tmp_path / "a"), digest(tmp_path / "b")
    assert len(a) == 6 and a == b  # 3 cases: image + labels each
    assert (tmp_path / "a" / "manifest.csv").read_text() == \
        (tmp_path / "b" / "manifest.csv").read_text()


def test_cli_caseset_refuses_unknown_finding_with_usage(tmp_path, capsys):
    code = main(["caseset", "PA chest x-ray", "--findings", "nodule, unicorn horn",
                 "--per-finding", "2", "--out", str(tmp_path / "x")])
    assert code == 2
    assert "unicorn horn" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("study, finding, modality", [
    ("axial CT chest", "RLL consolidation", "ct"),
    ("axial T2 MRI brain", "left MCA infarct", "mri"),
    ("ultrasound gallbladder", "gallstones", "us"),
])
def test_sets_of_other_modalities_label_their_findings(study, finding, modality, tmp_path):
    from imagine_med.teaching.caseset import build_caseset

    result = build_caseset(CaseSetRequest(study, (finding,), 2, 0.0, 1, 128), tmp_path)
    assert len(result.rows) == 2
    for r in result.rows:
        assert r["modality"] == modality
        labels = np.asarray(Image.open(tmp_path / r["labels_image"]))
        for f in r["findings"]:  # the count includes its parts' labels (air bronchograms)
            assert f["label_pixels"] >= (labels == f["label_id"]).sum() > 0
        if r["laterality"] in ("left", "right") and modality in ("ct", "mri"):
            mask = np.isin(labels, [r["label_id"]])
            side = "right" if np.nonzero(mask)[1].mean() < 64 else "left"  # axial: R on left
            assert side == r["laterality"]


def test_cli_caseset_of_the_25_findings_writes_zip_and_manifests(tmp_path):
    """The issue's command with its 25 findings (one case each here, at 160 px: the bench
    renders 20 each at 512 px): balanced counts, and every row's finding in its label map."""
    out = tmp_path / "set"
    code = main(["caseset", "PA chest x-ray", "--findings", ", ".join(EXAMPLE_CHEST_FINDINGS),
                 "--per-finding", "1", "--normal", "0.2", "--size", "160", "--out", str(out)])
    assert code == 0
    with zipfile.ZipFile(out / "caseset.zip") as z:
        rows = list(csv.DictReader(io.StringIO(z.read("manifest.csv").decode())))
        per = Counter(r["finding"] for r in rows)
        assert per.pop("normal") == 6 and len(per) == 25 and set(per.values()) == {1}
        for r in rows:
            labels = np.asarray(Image.open(io.BytesIO(z.read(r["labels_image"]))))
            if r["finding"] != "normal":
                assert (labels == int(r["label_id"])).any(), r["finding"]


def test_cli_caseset_refuses_an_engine_not_configured_here(tmp_path, capsys, monkeypatch):
    from imagine_med.settings import get_settings

    monkeypatch.delenv("IMAGINE_MED_DIFFUSION_MODEL", raising=False)
    get_settings.cache_clear()
    code = main(["caseset", "PA chest x-ray --engine diffusion", "--findings", "nodule",
                 "--per-finding", "1", "--out", str(tmp_path / "x")])
    get_settings.cache_clear()
    assert code == 7  # Exit.UNAVAILABLE, before anything rendered
    assert "available" in capsys.readouterr().err
    assert not (tmp_path / "x" / "cases").exists()
