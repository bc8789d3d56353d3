"""One job's worth of work: render four variants of a spec, label them, grid them, write files.

The files written by `write_case` are the public output contract (see README, "Output files"):
later work may add files or keys, never rename or remove them.
"""

from __future__ import annotations

import io
import json
import secrets
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from imagine_med import __version__
from imagine_med.engine.base import (
    ProgressFn,
    RenderRequest,
    RenderResult,
    no_progress,
    render_all,
)
from imagine_med.engine.registry import get_renderer
from imagine_med.grid import compose_grid
from imagine_med.prompt.spec import SEED_MAX, CaseSpec
from imagine_med.provenance.visible import add_label_band, band_height

VARIANTS = 4
CASE_FORMAT = 1


def random_seed() -> int:
    return secrets.randbelow(SEED_MAX + 1)


def variant_seeds(seed: int, n: int = VARIANTS) -> list[int]:
    """Seeds of the n variants of a job: distinct, deterministic, and seed i=0 is `seed` itself,
    so `--seed S` reproduces variant 1 as a single render would."""
    return [(seed + i * 0x9E3779B1) % (SEED_MAX + 1) for i in range(n)]


@dataclass
class CaseResult:
    spec: CaseSpec
    seed: int
    seeds: list[int]
    variants: list[RenderResult]
    engine: str
    engine_version: str

    def images(self) -> list[Image.Image]:
        return [Image.fromarray(v.pixels) for v in self.variants]

    def grid(self) -> Image.Image:
        return compose_grid(self.images())


def render_case(
    spec: CaseSpec,
    seed: int | None = None,
    progress: ProgressFn = no_progress,
    *,
    variation: float = 0.0,
    base_seed: int | None = None,
    init: np.ndarray | None = None,
    strength: float | None = None,
    seeds: list[int] | None = None,
) -> CaseResult:
    """Render the four variants of `spec` (seed: the spec's, else the argument, else random)."""
    seed = spec.seed if spec.seed is not None else (seed if seed is not None else random_seed())
    seeds = seeds or variant_seeds(seed)
    renderer = get_renderer(spec.engine, spec.modality, spec.region)
    requests = [
        RenderRequest(
            spec=spec, seed=s, width=spec.width, height=spec.height, variation=variation,
            base_seed=base_seed, init=init, strength=strength,
        )
        for s in seeds
    ]
    results = render_all(renderer, requests, progress)
    progress(1.0, "done")
    return CaseResult(
        spec=spec, seed=seed, seeds=seeds, variants=results,
        engine=renderer.engine, engine_version=renderer.version,
    )


def _finding_json(f: Any) -> dict[str, Any]:
    return {
        "name": f.name,
        "laterality": f.laterality,
        "location": f.location,
        "label_id": f.label_id,
        "bbox": list(f.bbox) if f.bbox is not None else None,
        "description": f.description,
        "measurements": dict(getattr(f, "measurements", {}) or {}),
    }


def _add_nuclei(doc: dict[str, Any], v: RenderResult, i: int) -> None:
    """Histology: the nucleus instance map's file and one class per nucleus id."""
    if getattr(v, "instances", None) is not None:
        doc["instances_image"] = f"variant-{i + 1}.instances.png"
        doc["nuclei"] = list(v.nuclei or [])


def _write_instances(v: RenderResult, size: tuple[int, int], path: Path) -> bool:
    """A 16-bit PNG of nucleus ids (0 = none), padded like the label map."""
    if getattr(v, "instances", None) is None:
        return False
    inst = np.zeros(size, dtype=np.uint16)
    inst[: v.instances.shape[0], : v.instances.shape[1]] = v.instances
    Image.fromarray(inst).save(path)
    return True


def write_masks(masks: dict[str, np.ndarray], path: Path) -> None:
    """Overlapping structure masks: one boolean (H, W) array per name, the image's size (the
    label band below the picture is not covered), in a compressed .npz any tool can read
    (numpy.load(path)[name])."""
    # written entry by entry with a fixed timestamp (numpy's savez stamps the current time):
    # the same case gives the same bytes
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, m in sorted(masks.items()):
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(m, dtype=bool))
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, buf.getvalue())


def read_masks(path: Path | str) -> dict[str, np.ndarray]:
    with np.load(path) as data:
        return {k: data[k] for k in data.files}


def case_document(result: CaseResult, files: dict[str, Any] | None = None) -> dict[str, Any]:
    """The case.json document (public contract)."""
    labels: dict[str, str] = {}
    variants = []
    for i, (seed, v) in enumerate(zip(result.seeds, result.variants, strict=True)):
        labels.update({str(k): name for k, name in sorted(v.labels.items())})
        h, w = v.pixels.shape[:2]
        variants.append(
            {
                "index": i + 1,
                "seed": seed,
                "image": f"variant-{i + 1}.png",
                "labels_image": f"variant-{i + 1}.labels.png",
                "width": w,
                "height": h,
                "label_band_px": band_height(w),
                "pixel_spacing_mm": list(v.pixel_spacing_mm),
                "labels": {str(k): name for k, name in sorted(v.labels.items())},
                "findings": [_finding_json(f) for f in v.findings],
                "answer_key": v.answer_key,
                "tags": v.tags,
            }
        )
        if v.masks:
            variants[-1]["masks"] = f"variant-{i + 1}.masks.npz"
        _add_nuclei(variants[-1], v, i)
    first = result.variants[0]
    doc = {
        "format": CASE_FORMAT,
        "synthetic": True,
        "notice": "Synthetic image for teaching. Not a real patient. Not for diagnosis.",
        "prompt": result.spec.prompt,
        "spec": result.spec.model_dump(mode="json"),
        "interpreted_as": result.spec.describe(),
        "engine": result.engine,
        "engine_version": result.engine_version,
        "imagine_med_version": __version__,
        "seed": result.seed,
        "size": {"width": result.spec.width, "height": result.spec.height},
        "pixel_spacing_mm": list(first.pixel_spacing_mm),
        "labels": dict(sorted(labels.items(), key=lambda kv: int(kv[0]))),
        "findings": [_finding_json(f) for f in first.findings],
        "answer_key": first.answer_key,
        "variants": variants,
    }
    if files:
        doc["files"] = files
    return doc


def write_case(
    result: CaseResult, out_dir: Path | str, job_id: str | None = None
) -> dict[str, Path]:
    """Write grid.png, variant-N.png, variant-N.labels.png (variant-N.masks.npz where the
    engine gives overlapping masks) and case.json into out_dir.

    A one-image result (an upscale) has no grid: there is nothing to grid.
    Images are stamped (invisible mark + metadata, `imagine_med.provenance.stamp`) for `job_id`;
    the default id is derived from the case, so the same prompt and seed give identical bytes."""
    from imagine_med.provenance.stamp import (
        GRID_VARIANT,
        default_job_id,
        provenance_document,
        save_stamped_png,
    )

    job_id = job_id or default_job_id(
        result.spec.model_dump(mode="json"), result.seeds, result.engine, result.engine_version
    )
    stamp = {"job_id": job_id, "engine": result.engine, "prompt": result.spec.prompt}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    images = result.images()
    for i, (img, v) in enumerate(zip(images, result.variants, strict=True)):
        labelled = add_label_band(img)
        p = out / f"variant-{i + 1}.png"
        save_stamped_png(labelled, p, variant=i + 1, **stamp)
        paths[p.name] = p
        lab = np.zeros((labelled.height, labelled.width), dtype=np.uint8)
        lab[: v.label_map.shape[0], : v.label_map.shape[1]] = v.label_map
        lp = out / f"variant-{i + 1}.labels.png"
        Image.fromarray(lab, mode="L").save(lp)
        paths[lp.name] = lp
        ip = out / f"variant-{i + 1}.instances.png"
        if _write_instances(v, lab.shape, ip):
            paths[ip.name] = ip
        if v.masks:
            mp = out / f"variant-{i + 1}.masks.npz"
            write_masks(v.masks, mp)
            paths[mp.name] = mp
    if len(images) == VARIANTS:
        gp = out / "grid.png"
        save_stamped_png(compose_grid(images), gp, variant=GRID_VARIANT, **stamp)
        paths[gp.name] = gp
    cp = out / "case.json"
    doc = case_document(result)
    doc["provenance"] = provenance_document(job_id, result.engine)
    cp.write_text(json.dumps(doc, indent=2, sort_keys=False) + "\n")
    paths[cp.name] = cp
    return paths
