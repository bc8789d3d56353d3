"""Render a planned case set and write it: one case folder per image, manifests, answer key,
COCO annotations, a summary of the achieved distribution, and one ZIP of it all.

Each case is one image (variant 1 of its seed), written by `case.write_case`, so every image
carries the visible band, the invisible mark and the synthetic metadata, and a case folder is
the same thing a job stores (the exports read both alike). Cases render on the render pool in
chunks: progress and cancellation are checked between chunks. A finding the image does not
show (a small lesion behind the heart on one seed) is re-drawn with the plan's fallback seeds,
so every manifest row's finding has pixels in its label map.
"""

from __future__ import annotations

import csv
import json
import time
import zipfile
from collections import Counter
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from imagine_med.case import CaseResult, write_case
from imagine_med.engine.base import (
    EngineError,
    FindingResult,
    ProgressFn,
    RenderRequest,
    RenderResult,
    no_progress,
)
from imagine_med.engine.registry import check, get_renderer
from imagine_med.provenance.dicom import write_raw_hu
from imagine_med.provenance.visible import band_height
from imagine_med.teaching import coco
from imagine_med.teaching.plan import NORMAL, CaseSetRequest, PlannedCase, plan_caseset

ZIP_NAME = "caseset.zip"
CASES_DIR = "cases"
CHUNK = 8  # cases per hand-out to the pool: progress and cancel checks come this often
CSV_FIELDS = ("case_id", "image", "labels_image", "finding", "laterality", "location", "sex",
              "age", "age_band", "seed", "engine", "engine_version", "modality", "view",
              "width", "height", "pixel_spacing_mm", "label_id", "label_pixels", "bbox",
              "measurements", "other_findings", "answer_key")


@dataclass
class CaseSetResult:
    out_dir: Path
    zip_path: Path
    rows: list[dict[str, Any]]
    summary: list[dict[str, Any]]
    seconds: float


def finding_ids(v: RenderResult, f: FindingResult) -> set[int]:
    """The label ids of a finding's pixels: its own and its parts' (a consolidation's air
    bronchogram, a cavity's lumen), as the chest's label table names them."""
    from imagine_med.engine.phantom.labels import FEATURE_OF

    ids = {f.label_id}
    ids.update(k for k, name in v.labels.items() if FEATURE_OF.get(name) == f.name)
    return ids


def finding_mask(v: RenderResult, f: FindingResult) -> np.ndarray:
    return np.isin(v.label_map, sorted(finding_ids(v, f)))


def _visible(v: RenderResult) -> bool:
    return all(finding_mask(v, f).any() for f in v.findings) and bool(v.findings)


def render_planned(case: PlannedCase, out_dir: str, renderer: Any = None) -> dict[str, Any]:
    """Render one case (module level: it runs on the render pool), write its folder and
    return its manifest row with its COCO masks. `renderer`: the caller's (so a worker's
    registered plugin renders on the pool too), else the registry's."""
    spec = case.spec
    renderer = renderer or get_renderer(spec.engine, spec.modality, spec.region)
    for seed in (case.seed, *case.attempts):
        s = spec.model_copy(update={"seed": seed})
        v = renderer.render(RenderRequest(spec=s, seed=seed, width=s.width, height=s.height))
        if case.finding == NORMAL or _visible(v):
            break
    result = CaseResult(spec=s, seed=seed, seeds=[seed], variants=[v],
                        engine=renderer.engine, engine_version=renderer.version)
    folder = Path(out_dir) / CASES_DIR / case.case_id
    write_case(result, folder)
    write_raw_hu(result, folder)  # CT HU / MR signal beside the PNG: the DICOM export needs them
    return _row(case, result, v)


def _finding_doc(v: RenderResult, f: FindingResult) -> dict[str, Any]:
    mask = finding_mask(v, f)
    return {"name": f.name, "laterality": f.laterality, "location": f.location,
            "label_id": f.label_id, "label_pixels": int(mask.sum()),
            "bbox": list(f.bbox) if f.bbox else None, "measurements": dict(f.measurements),
            "rle": coco.rle_encode(_padded(mask, v)) if mask.any() else None}


def _padded(mask: np.ndarray, v: RenderResult) -> np.ndarray:
    """A mask on the written image (label band below the picture)."""
    h, w = mask.shape
    out = np.zeros((h + band_height(w), w), dtype=bool)
    out[:h] = mask
    return out


def _row(case: PlannedCase, result: CaseResult, v: RenderResult) -> dict[str, Any]:
    h, w = v.pixels.shape[:2]
    findings = [_finding_doc(v, f) for f in v.findings]
    first = findings[0] if findings else {}
    folder = f"{CASES_DIR}/{case.case_id}"
    return {
        "case_id": case.case_id, "image": f"{folder}/variant-1.png",
        "labels_image": f"{folder}/variant-1.labels.png", "case_json": f"{folder}/case.json",
        "finding": case.finding, "laterality": first.get("laterality"),
        "location": first.get("location"), "sex": v.tags.get("sex", case.sex),
        "age": int(v.tags["age"]) if v.tags.get("age", "").isdigit() else case.age,
        "age_band": case.age_band, "seed": result.seed, "engine": result.engine,
        "engine_version": result.engine_version, "modality": result.spec.modality,
        "view": v.tags.get("view") or v.tags.get("plane") or result.spec.view,
        "width": w, "height": h + band_height(w), "pixel_spacing_mm": list(v.pixel_spacing_mm),
        "label_id": first.get("label_id"), "label_pixels": first.get("label_pixels", 0),
        "bbox": first.get("bbox"), "measurements": first.get("measurements", {}),
        "findings": findings, "answer_key": v.answer_key, "prompt": result.spec.prompt,
    }


def render_all_cases(planned: list[PlannedCase], out_dir: Path,
                     progress: ProgressFn = no_progress) -> list[dict[str, Any]]:
    """Every planned case, in order, CHUNK at a time: on the render pool for CPU engines
    that batch their variants there (the phantom), in this process for the others (a GPU
    model is loaded once, here)."""
    from imagine_med.engine.parallel import fan_out

    first = planned[0].spec
    renderer = get_renderer(first.engine, first.modality, first.region)
    fn = partial(render_planned, out_dir=str(out_dir), renderer=renderer)
    pooled = hasattr(renderer, "render_batch")
    rows: list[dict[str, Any]] = []
    n = len(planned)
    for start in range(0, n, CHUNK):
        chunk = planned[start:start + CHUNK]
        if pooled:
            rows.extend(fan_out(fn, chunk, warm=("imagine_med.teaching.caseset",)))
        else:
            rows.extend(fn(c) for c in chunk)
        progress(0.95 * len(rows) / n, f"rendered {len(rows)}/{n}")
    return rows


def summary_table(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Achieved distribution per finding (from the written rows, not the plan): cases, sex,
    age bands, laterality; a last row for the whole set."""
    bands = sorted({r["age_band"] for r in rows if r["age_band"]})
    out = []
    for name in [*sorted({r["finding"] for r in rows} - {NORMAL}), NORMAL, "all"]:
        sel = [r for r in rows if name == "all" or r["finding"] == name]
        if not sel:
            continue
        sex = Counter(r["sex"] for r in sel)
        band = Counter(r["age_band"] for r in sel)
        side = Counter(r["laterality"] or "-" for r in sel)
        ages = [r["age"] for r in sel if r["age"] is not None]
        out.append({
            "finding": name, "cases": len(sel), "female": sex.get("female", 0),
            "male": sex.get("male", 0), **{f"age {b}": band.get(b, 0) for b in bands},
            "age_mean": round(float(np.mean(ages)), 1) if ages else None,
            "left": side.get("left", 0), "right": side.get("right", 0),
            "bilateral_or_none": side.get("bilateral", 0) + side.get("-", 0),
        })
    return out


def _write_csv(path: Path, rows: list[dict[str, Any]], fields: list[str] | tuple[str, ...]
               ) -> None:
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(fields), extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({k: json.dumps(v) if isinstance(v, list | dict) else v
                        for k, v in r.items()})


def _manifest_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for r in rows:
        others = [f["name"] for f in r["findings"][1:]]
        out.append({**{k: v for k, v in r.items() if k != "findings"},
                    "other_findings": others,
                    "findings": [{k: v for k, v in f.items() if k != "rle"}
                                 for f in r["findings"]]})
    return out


def coco_document(rows: list[dict[str, Any]]) -> dict[str, Any]:
    images, anns, cats = [], [], {}
    for i, r in enumerate(rows, start=1):
        images.append({"id": i, "file_name": r["image"], "width": r["width"],
                       "height": r["height"], "case_id": r["case_id"]})
        for f in r["findings"]:
            if f["rle"] is None:
                continue
            cats[f["label_id"]] = f["name"]
            anns.append({"id": 0, "image_id": i, "category_id": f["label_id"],
                         "bbox": _xywh(f["bbox"]), "area": f["label_pixels"],
                         "segmentation": f["rle"], "iscrowd": 0,
                         "attributes": {"laterality": f["laterality"],
                                        "location": f["location"]}})
    return coco.document(images, anns, cats)


def _xywh(b: list[int]) -> list[int]:
    return [b[0], b[1], b[2] - b[0], b[3] - b[1]]


def write_tables(out: Path, request: CaseSetRequest, rows: list[dict[str, Any]]
                 ) -> list[dict[str, Any]]:
    """manifest.csv/.json, answer_key.csv, coco.json, summary.csv/.md, request.json."""
    manifest = _manifest_rows(rows)
    _write_csv(out / "manifest.csv", manifest, CSV_FIELDS)
    (out / "manifest.json").write_text(json.dumps(
        {"synthetic": True, "request": request.to_json(), "cases": manifest}, indent=1) + "\n")
    _write_csv(out / "answer_key.csv", manifest,
               ("case_id", "image", "finding", "laterality", "location", "sex", "age",
                "answer_key"))
    (out / "coco.json").write_text(json.dumps(coco_document(rows)) + "\n")
    summary = summary_table(rows)
    _write_csv(out / "summary.csv", summary, list(summary[0]))
    (out / "summary.md").write_text(summary_markdown(summary))
    (out / "request.json").write_text(json.dumps(request.to_json(), indent=2) + "\n")
    return summary


def summary_markdown(summary: list[dict[str, Any]]) -> str:
    cols = list(summary[0])
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join("" if r[c] is None else str(r[c]) for c in cols) + " |"
              for r in summary]
    counts = [r["cases"] for r in summary if r["finding"] not in (NORMAL, "all")]
    if counts:
        lines.append(f"\nCases per finding: {min(counts)} to {max(counts)} "
                     f"(differ by {max(counts) - min(counts)}).")
    return "\n".join(lines) + "\n"


def zip_set(out: Path) -> Path:
    """Everything in `out` into out/caseset.zip (PNGs stored: they are compressed already)."""
    target = out / ZIP_NAME
    with zipfile.ZipFile(target, "w") as z:
        for p in sorted(out.rglob("*")):
            if p.is_file() and p != target:
                kind = zipfile.ZIP_STORED if p.suffix == ".png" else zipfile.ZIP_DEFLATED
                z.write(p, p.relative_to(out).as_posix(), compress_type=kind)
    return target


def check_renderable(planned: list[PlannedCase]) -> None:
    """Raise registry.Unavailable (naming what is available) when a planned spec is not
    rendered here: before rendering, or before queueing."""
    for spec in {c.spec.model_copy(update={"seed": None, "sex": None, "age": None,
                                           "prompt": ""}) for c in planned}:
        check(spec)


def build_caseset(request: CaseSetRequest, out_dir: Path | str,
                  progress: ProgressFn = no_progress) -> CaseSetResult:
    """Plan, check every spec is renderable here, render, write the tables and the ZIP."""
    t0 = time.monotonic()
    planned = plan_caseset(request)
    check_renderable(planned)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    progress(0.0, "planned")
    rows = render_all_cases(planned, out, progress)
    missing = [r["case_id"] for r in rows if r["finding"] != NORMAL and not r["label_pixels"]]
    if missing:
        raise EngineError(f"{len(missing)} case(s) do not show their finding on any of their "
                          f"seeds ({', '.join(missing[:5])}); the view cannot show it.")
    summary = write_tables(out, request, rows)
    progress(0.97, "zip")
    zp = zip_set(out)
    progress(1.0, "done")
    return CaseSetResult(out, zp, rows, summary, time.monotonic() - t0)
