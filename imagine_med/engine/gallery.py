"""Contact sheets of every phantom finding (PA, lateral, CT), so anyone can see the engine's
output in the repository: `python -m imagine_med.engine.gallery docs/gallery`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from imagine_med.engine.base import RenderRequest
from imagine_med.engine.phantom.labels import SUPPORTED_FINDINGS
from imagine_med.engine.registry import get_renderer
from imagine_med.engine.sheet import contact_sheet
from imagine_med.prompt.spec import CaseSpec, Finding

# one representative request per finding (the lobe/side a teaching file would use)
EXAMPLES: dict[str, Finding] = {
    "consolidation": Finding(name="consolidation", laterality="right", location="rul"),
    "pleural_effusion": Finding(name="pleural_effusion", laterality="left"),
    "pneumothorax": Finding(name="pneumothorax", laterality="right", severity="severe"),
    "nodule": Finding(name="nodule", laterality="right", location="rul", size_mm=18),
    "mass": Finding(name="mass", laterality="left", location="lul", modifiers=("spiculated",)),
    "cavity": Finding(name="cavity", laterality="right", location="rul"),
    "cardiomegaly": Finding(name="cardiomegaly", severity="severe"),
    "pulmonary_edema": Finding(name="pulmonary_edema"),
    "collapse": Finding(name="collapse", laterality="left", location="lll", severity="severe"),
    "emphysema": Finding(name="emphysema"),
    "fibrosis": Finding(name="fibrosis"),
    "miliary_nodules": Finding(name="miliary_nodules"),
    "pneumoperitoneum": Finding(name="pneumoperitoneum", severity="moderate"),
    "rib_fracture": Finding(name="rib_fracture", laterality="right", location="rib_7",
                            severity="severe"),
    "hiatus_hernia": Finding(name="hiatus_hernia", severity="severe"),
    "mediastinal_widening": Finding(name="mediastinal_widening", severity="severe"),
    "et_tube": Finding(name="et_tube"),
    "central_line": Finding(name="central_line", laterality="right"),
    "pacemaker": Finding(name="pacemaker"),
}
VIEWS = {"pa": ("xray", {"view": "pa"}), "lateral": ("xray", {"view": "lateral"}),
         "ap": ("xray", {"view": "ap"}), "ct": ("ct", {"plane": "axial"})}


def spec_for(name: str | None, sheet: str, seed: int = 11) -> CaseSpec:
    modality, extra = VIEWS[sheet]
    findings = () if name is None else (EXAMPLES[name],)
    if name == "pneumoperitoneum" and modality == "ct":
        extra = {**extra, "level": "lung_bases"}
    return CaseSpec(modality=modality, region="chest", findings=findings, seed=seed,
                    sex="male", age=52, **extra)


def tile(spec: CaseSpec, caption: str, size: int, seed: int) -> Image.Image:
    renderer = get_renderer("phantom", spec.modality, spec.region)
    res = renderer.render(RenderRequest(spec=spec, seed=seed, width=size, height=size))
    img = Image.fromarray(res.pixels).convert("L")
    d = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=max(9, size // 14))
    d.rectangle([0, size - size // 9, size, size], fill=0)
    d.text((3, size - size // 9), caption, fill=255, font=font)
    return img


def build_sheets(out_dir: Path, size: int = 176, cols: int = 5, seed: int = 11,
                 sheets: tuple[str, ...] = ("pa", "lateral", "ct")) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    names: list[str | None] = [None, *SUPPORTED_FINDINGS]
    written = []
    for sheet in sheets:
        tiles = [tile(spec_for(n, sheet, seed), (n or "normal").replace("_", " "), size, seed)
                 for n in names]
        canvas = contact_sheet(tiles, cols, mode="L")
        path = out_dir / f"phantom-{sheet}.png"
        canvas.save(path, optimize=True)
        written.append(path)
    return written


# issue 23's CT list: vertebral body and trabeculae (bone window), the crura round the aorta
# (T11, T12) and the back's outline, zoomed on the spine; then the spleen round the stomach
CT_ANATOMY_COLUMNS = (("t7", "bone", True), ("t11", "mediastinum", True),
                      ("t12", "mediastinum", True), ("t12", "mediastinum", False))


def build_ct_anatomy_sheet(out_dir: Path, size: int = 256, seeds: tuple[int, ...] = (11, 3)
                           ) -> Path:
    """Rows: two patients; columns: axial levels and windows a reader checks the anatomy
    on, the first three a 2x zoom on the spine and aorta (the slice's lower middle)."""
    tiles = []
    for seed in seeds:
        for level, window, zoom in CT_ANATOMY_COLUMNS:
            spec = CaseSpec(modality="ct", region="chest", plane="axial", level=level,
                            window=window, seed=seed, sex="male", age=52)
            n = 2 * size if zoom else size
            img = tile(spec, "", n, seed)
            if zoom:  # the spine sits in the lower middle of an axial slice
                img = img.crop((size // 2, size * 3 // 4, size * 3 // 2, size * 7 // 4))
            d = ImageDraw.Draw(img)
            d.rectangle([0, size - size // 9, size, size], fill=0)
            d.text((3, size - size // 9), f"{level.upper()} {window}{' x2' if zoom else ''}",
                   fill=255, font=ImageFont.load_default(size=max(9, size // 14)))
            tiles.append(img)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "phantom-ct-anatomy.png"
    contact_sheet(tiles, len(CT_ANATOMY_COLUMNS), mode="L").save(path, optimize=True)
    return path


HEAD_ROWS: dict[str, tuple[Finding, ...]] = {
    "normal": (),
    "hyperacute L MCA infarct": (Finding(name="infarct", laterality="left", location="mca",
                                         modifiers=("hyperacute",)),),
    "acute L MCA infarct": (Finding(name="infarct", laterality="left", location="mca",
                                    modifiers=("acute",)),),
    "R putaminal haemorrhage": (Finding(name="haemorrhage", laterality="right",
                                        modifiers=("acute",)),),
    "late subacute R haemorrhage": (Finding(name="haemorrhage", laterality="right",
                                            modifiers=("late_subacute",)),),
    "chronic R haemorrhage": (Finding(name="haemorrhage", laterality="right",
                                      modifiers=("chronic",)),),
    "acute L subdural": (Finding(name="subdural_haematoma", laterality="left",
                                 modifiers=("acute",)),),
    "R glioblastoma": (Finding(name="glioma", laterality="right", location="frontal_lobe"),),
    "L extradural + fracture": (Finding(name="extradural_haematoma", laterality="left"),),
    "subarachnoid blood": (Finding(name="subarachnoid_haemorrhage", laterality="right"),),
    "L meningioma": (Finding(name="meningioma", laterality="left"),),
    "metastases": (Finding(name="metastases", laterality="right"),),
    "MS, active": (Finding(name="ms_plaques", modifiers=("active",)),),
    "hydrocephalus": (Finding(name="hydrocephalus"),),
    "atrophy": (Finding(name="atrophy"),),
    "R abscess": (Finding(name="brain_abscess", laterality="right"),),
}
AT_BASAL_GANGLIA = ("infarct", "haemorrhage", "subdural_haematoma", "extradural_haematoma")
HEAD_COLUMNS = (("t1", "mri"), ("t2", "mri"), ("flair", "mri"), ("dwi", "mri"),
                ("t1c", "mri"), ("ct", "ct"))


def build_head_sheet(out_dir: Path, size: int = 176, seed: int = 11) -> Path:
    """Rows: normal and each head finding; columns: T1, T2, FLAIR, DWI, T1c, CT (brain
    window), axial through the basal ganglia or through the finding's own centre."""
    tiles = []
    for caption, findings in HEAD_ROWS.items():
        for seq, modality in HEAD_COLUMNS:
            level = None if findings and findings[0].name not in AT_BASAL_GANGLIA \
                else "basal_ganglia"
            spec = CaseSpec(modality=modality, region="brain", plane="axial", level=level,
                            sequence=seq if modality == "mri" else None, findings=findings,
                            seed=seed, sex="male", age=58)
            label = f"{caption} {seq.upper()}" if seq != "ct" else f"{caption} CT"
            tiles.append(tile(spec, label, size, seed))
    canvas = contact_sheet(tiles, len(HEAD_COLUMNS), mode="L")
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "phantom-head.png"
    canvas.save(path, optimize=True)
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("out_dir", nargs="?", default="docs/gallery")
    ap.add_argument("--size", type=int, default=176)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--sheets", default="pa,lateral,ct,ct_anatomy,head,us")
    args = ap.parse_args(argv)
    sheets = tuple(s for s in args.sheets.split(",")
                   if s and s not in ("head", "us", "ct_anatomy"))
    paths = build_sheets(Path(args.out_dir), args.size, seed=args.seed, sheets=sheets)
    if "ct_anatomy" in args.sheets.split(","):
        paths.append(build_ct_anatomy_sheet(Path(args.out_dir)))
    if "head" in args.sheets.split(","):
        paths.append(build_head_sheet(Path(args.out_dir), args.size, args.seed))
    if "us" in args.sheets.split(","):  # issue 16: abdominal ultrasound (gallery_us.py)
        from imagine_med.engine.phantom.gallery_us import (
            build_us_findings_sheet,
            build_us_more_sheets,
            build_us_obgyn_vessel_sheets,
            build_us_sheet,
        )

        paths.append(build_us_sheet(Path(args.out_dir), seed=args.seed))
        paths.append(build_us_findings_sheet(Path(args.out_dir), seed=args.seed))
        paths += build_us_more_sheets(Path(args.out_dir), seed=args.seed)
        paths += build_us_obgyn_vessel_sheets(Path(args.out_dir), seed=args.seed)
    for p in paths:
        print(f"{p} ({p.stat().st_size // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
