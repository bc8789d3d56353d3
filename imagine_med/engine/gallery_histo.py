"""Contact sheets of the phantom histology: the liver biopsy (stains, magnifications,
steatosis, fibrosis), breast immunohistochemistry, and one sheet per further organ (kidney,
colon, lymph node, skin) across its stains, magnifications and findings:
`python -m imagine_med.engine.gallery_histo docs/gallery` writes phantom-histo.png,
phantom-ihc.png and phantom-histo-<organ>.png."""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from imagine_med.engine.base import RenderRequest
from imagine_med.engine.registry import get_renderer
from imagine_med.engine.sheet import contact_sheet, sheet_main
from imagine_med.prompt import parse

TILES = (
    ("H&E 20x, macrovesicular steatosis 60%",
     "H&E liver biopsy x20, macrovesicular steatosis involving 60% of hepatocytes"),
    ("H&E 20x, normal", "H&E liver biopsy x20, normal"),
    ("H&E 40x, macrovesicular steatosis 60%",
     "H&E liver biopsy 40x, macrovesicular steatosis involving 60% of hepatocytes"),
    ("H&E 10x, macrovesicular steatosis 30%",
     "H&E liver biopsy x10, macrovesicular steatosis involving 30% of hepatocytes"),
    ("H&E 20x, microvesicular steatosis",
     "H&E liver biopsy x20, microvesicular steatosis involving 70% of hepatocytes"),
    ("PAS 20x, normal (glycogen)", "PAS liver biopsy x20, normal"),
    ("PAS-D 20x, normal (diastase)", "PAS-D liver biopsy x20, normal"),
    ("PAS 20x, steatosis 60%", "PAS liver biopsy x20, macrovesicular steatosis 60%"),
    ("H&E 20x, periportal fibrosis F2", "H&E liver biopsy x20, periportal fibrosis"),
    ("H&E 20x, bridging fibrosis F3", "H&E liver biopsy x20, bridging fibrosis"),
    ("H&E 20x, chronic (interface) hepatitis", "H&E liver biopsy x20, chronic hepatitis"),
    ("H&E 10x, cirrhosis + steatosis 30%",
     "H&E liver biopsy x10, cirrhosis, macrovesicular steatosis 30%"),
    ("H&E 20x, steatohepatitis", "H&E liver biopsy x20, steatohepatitis"),
    ("H&E 40x, ballooning, Mallory-Denk", "H&E liver biopsy x40, steatohepatitis"),
    ("H&E 20x, cholestasis (bile plugs)", "H&E liver biopsy x20, cholestasis"),
    ("H&E 20x, hepatocellular carcinoma", "H&E liver biopsy x20, hepatocellular carcinoma"),
    ("H&E 10x, hepatocellular carcinoma", "H&E liver biopsy x10, hepatocellular carcinoma"),
    ("H&E 4x, normal lobule", "H&E liver biopsy x4, normal"),
    ("PAS 4x, normal lobule", "PAS liver biopsy x4, normal"),
    ("PAS-D 10x, cholestasis", "PAS-D liver biopsy x10, cholestasis"),
)


IHC_TILES = (
    ("IHC HER2 3+", "breast carcinoma, IHC HER2 3+"),
    ("IHC HER2 2+", "breast carcinoma, IHC HER2 2+"),
    ("IHC HER2 1+", "breast carcinoma, IHC HER2 1+"),
    ("IHC HER2 0", "breast carcinoma, IHC HER2 score 0"),
    ("IHC ER 80%", "breast carcinoma, IHC ER 80%"),
    ("IHC PR 20%", "breast carcinoma, IHC PR 20%"),
    ("IHC Ki-67 30%", "breast carcinoma, IHC Ki-67 30%"),
    ("IHC HER2 3+, 40x", "breast carcinoma, IHC HER2 3+, 40x"),
)


ORGAN_TILES = {
    "kidney": (
        ("PAS 10x, normal cortex", "PAS renal biopsy x10"),
        ("H&E 10x, normal cortex", "H&E renal biopsy x10"),
        ("PAS 20x, glomerulus", "PAS renal biopsy x20"),
        ("PAS-D 20x, glomerulus", "PAS-D renal biopsy x20"),
        ("PAS 20x, KW nodules", "PAS renal biopsy x20, nodular glomerulosclerosis"),
        ("H&E 20x, KW nodules", "H&E renal biopsy x20, nodular glomerulosclerosis"),
        ("PAS 10x, crescents", "PAS renal biopsy x10, crescents"),
        ("PAS 40x, capillary loops", "PAS renal biopsy x40"),
    ),
    "colon": (
        ("H&E 20x, normal crypts", "H&E colonic biopsy x20"),
        ("PAS 20x, goblet mucin", "PAS colonic biopsy x20"),
        ("PAS-D 20x, mucin stays", "PAS-D colonic biopsy x20"),
        ("H&E 10x, normal mucosa", "H&E colonic biopsy x10"),
        ("H&E 20x, tubular adenoma", "colonic polyp, tubular adenoma, H&E x20"),
        ("H&E 10x, tubular adenoma", "colonic polyp, tubular adenoma, H&E x10"),
        ("PAS 4x, normal mucosa", "PAS colonic biopsy x4"),
        ("H&E 40x, tubular adenoma", "colonic polyp, tubular adenoma, H&E x40"),
        ("H&E 20x, adenocarcinoma", "H&E colon biopsy x20, adenocarcinoma"),
        ("H&E 40x, adenocarcinoma", "H&E colon biopsy x40, adenocarcinoma"),
    ),
    "lymph_node": (
        ("H&E 10x, reactive node", "H&E lymph node biopsy x10"),
        ("H&E 4x, reactive node", "H&E lymph node biopsy x4"),
        ("H&E 20x, follicle", "H&E lymph node biopsy x20"),
        ("H&E 40x, germinal centre", "H&E lymph node biopsy x40"),
        ("CD20 10x, follicles", "lymph node biopsy, CD20 x10"),
        ("CD20 20x, follicle", "lymph node biopsy, CD20 x20"),
        ("H&E 10x, metastatic carcinoma", "lymph node biopsy, metastatic carcinoma x10"),
        ("H&E 20x, metastatic carcinoma", "lymph node biopsy, metastatic carcinoma x20"),
        ("CK7 10x, metastatic carcinoma", "lymph node biopsy, metastatic carcinoma, CK7 x10"),
        ("CK7 20x, metastatic carcinoma", "lymph node biopsy, metastatic carcinoma, CK7 x20"),
        ("H&E 10x, DLBCL", "lymph node biopsy, diffuse large B cell lymphoma x10"),
        ("H&E 40x, DLBCL", "lymph node biopsy, diffuse large B cell lymphoma x40"),
        ("CD20 10x, DLBCL", "lymph node biopsy, diffuse large B cell lymphoma, CD20 x10"),
        ("CD20 40x, DLBCL", "lymph node biopsy, diffuse large B cell lymphoma, CD20 x40"),
    ),
    "skin": (
        ("H&E 10x, normal skin", "H&E skin biopsy x10"),
        ("H&E 4x, normal skin", "H&E skin biopsy x4"),
        ("H&E 20x, epidermis", "H&E skin biopsy x20"),
        ("H&E 40x, epidermis", "H&E skin biopsy x40"),
        ("H&E 10x, nodular BCC", "skin biopsy, basal cell carcinoma x10"),
        ("H&E 20x, BCC palisade", "skin biopsy, basal cell carcinoma x20"),
        ("H&E 10x, invasive melanoma", "skin biopsy, melanoma x10"),
        ("H&E 20x, melanoma", "skin biopsy, melanoma x20"),
    ),
}


def tile(prompt: str, caption: str, size: int, seed: int) -> Image.Image:
    spec = parse(prompt)[0]
    res = get_renderer("phantom", spec.modality, spec.region).render(
        RenderRequest(spec=spec, seed=seed, width=size, height=size))
    img = Image.fromarray(res.pixels).convert("RGB")
    d = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=max(10, size // 22))
    d.rectangle([0, size - size // 13, size, size], fill=(0, 0, 0))
    d.text((4, size - size // 13), caption, fill=(255, 255, 255), font=font)
    return img


def build(out_dir: Path, size: int = 320, seed: int = 11, cols: int = 4,
          tiles_of=TILES, name: str = "phantom-histo.png") -> Path:
    tiles = [tile(p, c, size, seed + i) for i, (c, p) in enumerate(tiles_of)]
    sheet = contact_sheet(tiles, cols)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / name
    sheet.quantize(256, dither=Image.Dither.FLOYDSTEINBERG).save(path, optimize=True)
    return path


def main(argv: list[str] | None = None) -> int:
    return sheet_main(argv, __doc__, 320, lambda out, size, seed: [
        build(out, size, seed),
        build(out, size, seed, tiles_of=IHC_TILES, name="phantom-ihc.png"),
        *[build(out, size, seed, tiles_of=tiles, name=f"phantom-histo-{organ}.png")
          for organ, tiles in ORGAN_TILES.items()]])

if __name__ == "__main__":
    sys.exit(main())
